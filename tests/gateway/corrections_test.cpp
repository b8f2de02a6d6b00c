// Corrections, never deletions (issue 12): a media package never handed
// over is cancelled, a returned medium's destruction is recorded later, an
// NDA entered in error is withdrawn. Nothing is deleted, each correction
// says why, and each is an audit event naming what it corrects.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>

#include "gateway/broker.h"
#include "gateway/commands.h"
#include "gateway/requests.h"
#include "tests/gateway/gateway_fixture.h"

namespace itaku::gateway {
namespace {

namespace fs = std::filesystem;
using Json = nlohmann::json;
using policies::MediaStep;
using ::testing::HasSubstr;
using ::testing::StartsWith;

constexpr char kOperator[] = "窓口担当";
constexpr char kOfficer[] = "root";  // the fixture's first privacy officer

// agency-a with a real certificate (openssl), its NDA (#1, 2026 through
// 2099) and a billing profile; an operator acts unless a test says
// otherwise. The clock is the machine's: the certificate is judged against
// the time it was made at.
class CorrectionsTest : public gateway_test::StoreFixture {
 protected:
  CorrectionsTest() : StoreFixture("corrections", "2026-11-28T01:00:00Z") {}

  void Register() override {
    fs::create_directories(dir_ / "usb");
    Write("export.csv",
          "subscriber_id,name,address,phone,account_number,account_holder,services\n"
          "S1,山田太郎,東京都1-1,0312345678,1234567,ヤマダタロウ,TV\n"
          "S2,佐藤花子,大阪府2-2,0612345678,7654321,サトウハナコ,NET\n");
    MakeCertificate("agency-a");
    ContractorArgs c;
    c.id = "agency-a";
    c.name = "夢前収納サービス";
    c.cert_file = Path("agency-a.crt");
    SetClock(std::make_unique<SystemClock>());
    AddContractor(c);
    SignNdaAndImportProfile("agency-a", R"(id = "agency-billing"
contractor = "agency-a"
purpose = "billing"
fields = ["subscriber_id", "name", "address", "phone", "account_number", "account_holder", "services"]
transports = ["media", "sftp"]
valid_from = 2026-04-01
valid_until = 2099-12-31
retention_days = 60
[output]
format = "csv"
encoding = "utf-8"
)");
    // Debian's system account stands in for the operator's OS user.
    auto added = StaffAdd(ctx_, kOperator, "daemon", "operator");
    ASSERT_TRUE(added.ok()) << added.message();
    ctx_.actor = kOperator;
  }

  DeliverRequest Request(bool dry_run = false) const {
    DeliverRequest r;
    r.profile_id = "agency-billing";
    r.input_path = Path("export.csv");
    r.transport = contracts::Transport::kMedia;
    r.out_dir = Path("usb");
    r.dry_run = dry_run;
    return r;
  }
  // A media delivery of both subscribers, which must succeed; its record.
  contracts::DeliveryRecord DeliverMedia() {
    auto result = Deliver(ctx_, Request());
    EXPECT_TRUE(result.ok()) << result.message();
    if (!result.ok()) return {};
    EXPECT_EQ(result->record.outcome, contracts::DeliveryOutcome::kDelivered);
    return result->record;
  }
  contracts::DeliveryRecord Stored(int64_t id) {
    auto found = ctx_.store->FindDelivery(id);
    EXPECT_TRUE(found.ok() && found.value().has_value()) << found.message();
    return found.ok() && found.value() ? *found.value() : contracts::DeliveryRecord{};
  }
  size_t Receipts(const std::string& subscriber) {
    auto history = ctx_.store->History(subscriber);
    EXPECT_TRUE(history.ok()) << history.message();
    return history.ok() ? history->size() : 0;
  }
};

// Regression: a package written but never handed over could not be
// cancelled (`media destroyed` said "medium is written, not handed over"),
// stayed outstanding forever and counted as received.
TEST_F(CorrectionsTest, APackageNeverHandedOverIsCancelledAndNoLongerCountsAsReceived) {
  const contracts::DeliveryRecord d = DeliverMedia();
  ASSERT_GT(d.id, 0);
  const std::string name = "delivery " + std::to_string(d.id);
  const std::string subject = "delivery:" + std::to_string(d.id);
  const std::string package = "agency-a-" + std::to_string(d.id) + ".zip.p7m";
  ASSERT_EQ(Receipts("S1"), 1u);
  EXPECT_EQ(MediaClose(ctx_, d.id, MediaStep::kDestroy).message(),
            name + ": medium is written, not handed over (cancel it with: itaku media cancel)");
  EXPECT_EQ(MediaCancel(ctx_, d.id, "").message(), "media cancel needs --reason");
  EXPECT_EQ(MediaCancel(ctx_, 99, "x").message(), "delivery 99 has no media package on record");
  EXPECT_EQ(AuditCount("media.cancelled"), 0);

  auto cancelled = MediaCancel(ctx_, d.id, "USB を取り違えた");
  ASSERT_TRUE(cancelled.ok()) << cancelled.message();
  EXPECT_EQ(cancelled->text,
            name + ": " + package + " cancelled (never handed over): USB を取り違えた");
  EXPECT_EQ(cancelled->json["state"], "cancelled");
  EXPECT_EQ(cancelled->json["outcome"], "cancelled");
  EXPECT_EQ(cancelled->json["reason"], "USB を取り違えた");

  // The records say what happened; nothing is deleted.
  auto medium = ctx_.store->FindMediaRecord(d.id);
  ASSERT_TRUE(medium.ok() && medium.value().has_value());
  EXPECT_EQ(medium.value()->state, contracts::MediaState::kCancelled);
  EXPECT_EQ(medium.value()->closed_by, kOperator);
  EXPECT_FALSE(medium.value()->closed_at.empty());
  const contracts::DeliveryRecord after = Stored(d.id);
  EXPECT_EQ(after.outcome, contracts::DeliveryOutcome::kCancelled);
  EXPECT_EQ(after.reason, "cancelled by 窓口担当: USB を取り違えた");
  EXPECT_EQ(after.record_count, 2);
  EXPECT_EQ(after.package_sha256, d.package_sha256);
  // No longer received, no longer outstanding.
  EXPECT_EQ(Receipts("S1"), 0u);
  EXPECT_EQ(Receipts("S2"), 0u);
  EXPECT_TRUE(ctx_.store->ListMediaRecords(true)->empty());

  auto events = AuditEvents("media.cancelled");
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].actor, kOperator);
  EXPECT_EQ(events[0].subject, subject);
  const Json details = Json::parse(events[0].details);
  EXPECT_EQ(details["corrects"], subject);
  EXPECT_EQ(details["reason"], "USB を取り違えた");
  EXPECT_EQ(details["package"], package);
  EXPECT_EQ(details["state"], "cancelled");

  // Once.
  auto again = MediaCancel(ctx_, d.id, "again");
  EXPECT_EQ(again.message(), name + ": medium is already cancelled");
  EXPECT_EQ(again.kind(), ErrorKind::kConflict);
  EXPECT_EQ(AuditCount("media.cancelled"), 1);
  ExpectAuditIntact();
}

// A medium handed over has reached the contractor: it is never cancelled.
// Regression: a returned stick could not later be recorded as wiped.
TEST_F(CorrectionsTest, AMediumHandedOverIsNotCancelledAndAReturnedOneIsDestroyedLater) {
  const contracts::DeliveryRecord d = DeliverMedia();
  ASSERT_GT(d.id, 0);
  const std::string name = "delivery " + std::to_string(d.id);
  ASSERT_TRUE(MediaHandover(ctx_, d.id, "USB serial 4C530001", "収納 太郎").ok());
  auto refused = MediaCancel(ctx_, d.id, "x");
  EXPECT_EQ(refused.message(), name + ": medium is handed-over; record its return instead");
  EXPECT_EQ(refused.kind(), ErrorKind::kConflict);
  ASSERT_TRUE(MediaClose(ctx_, d.id, MediaStep::kReturn).ok());
  EXPECT_EQ(MediaCancel(ctx_, d.id, "x").message(),
            name + ": medium is returned; only a package never handed over is cancelled");

  auto destroyed = MediaClose(ctx_, d.id, MediaStep::kDestroy);
  ASSERT_TRUE(destroyed.ok()) << destroyed.message();
  EXPECT_EQ(destroyed->text, name + ": medium destroyed");
  EXPECT_EQ(AuditCount("media.returned"), 1);
  EXPECT_EQ(AuditCount("media.destroyed"), 1);
  EXPECT_EQ(MediaClose(ctx_, d.id, MediaStep::kDestroy).message(),
            name + ": medium is already destroyed");
  // It was received all the same.
  EXPECT_EQ(Stored(d.id).outcome, contracts::DeliveryOutcome::kDelivered);
  EXPECT_EQ(Receipts("S1"), 1u);
  EXPECT_EQ(AuditCount("media.cancelled"), 0);
  ExpectAuditIntact();
}

// Regression: an NDA entered with wrong dates could not be withdrawn.
TEST_F(CorrectionsTest, AnNdaEnteredInErrorIsWithdrawnListingTheDeliveriesThatReliedOnIt) {
  const contracts::DeliveryRecord first = DeliverMedia();
  const contracts::DeliveryRecord second = DeliverMedia();
  ASSERT_GT(second.id, first.id);
  ASSERT_EQ(first.nda_id, 1);

  EXPECT_EQ(NdaWithdraw(ctx_, 1, "日付の入力誤り").message(),
            "only a privacy officer withdraws an NDA (窓口担当 is operator)");
  ctx_.actor = kOfficer;
  EXPECT_EQ(NdaWithdraw(ctx_, 1, "").message(), "nda withdraw needs --reason");
  auto unknown = NdaWithdraw(ctx_, 9, "x");
  EXPECT_EQ(unknown.message(), "unknown NDA 9");
  EXPECT_EQ(unknown.kind(), ErrorKind::kNotFound);
  EXPECT_EQ(AuditCount("nda.withdraw"), 0);

  auto withdrawn = NdaWithdraw(ctx_, 1, "日付の入力誤り");
  ASSERT_TRUE(withdrawn.ok()) << withdrawn.message();
  EXPECT_EQ(withdrawn->text,
            "NDA 1 of agency-a withdrawn: 日付の入力誤り\n"
            "deliveries that relied on it: " +
                std::to_string(first.id) + ", " + std::to_string(second.id));
  EXPECT_EQ(withdrawn->json["deliveries"], Json::array({first.id, second.id}));
  EXPECT_EQ(withdrawn->json["withdrawn_by"], kOfficer);
  EXPECT_EQ(withdrawn->json["withdrawn_reason"], "日付の入力誤り");
  EXPECT_EQ(withdrawn->json["contractor"], "agency-a");

  auto events = AuditEvents("nda.withdraw");
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].subject, "nda:1");
  EXPECT_EQ(Json::parse(events[0].details),
            (Json{{"corrects", "nda:1"},
                  {"contractor", "agency-a"},
                  {"reason", "日付の入力誤り"},
                  {"deliveries", Json::array({first.id, second.id})}}));

  // Nothing deleted: the deliveries still name it, and they still count.
  EXPECT_EQ(Stored(first.id).nda_id, 1);
  EXPECT_EQ(Receipts("S1"), 2u);
  // It covers nothing from now on.
  ctx_.actor = kOperator;
  auto refused = Deliver(ctx_, Request(/*dry_run=*/true));
  ASSERT_TRUE(refused.ok()) << refused.message();
  ASSERT_EQ(refused->reasons.size(), 1u);
  EXPECT_THAT(refused->reasons[0], StartsWith("contractor agency-a has no NDA in force on "));
  EXPECT_THAT(refused->reasons[0], HasSubstr("(policy 4(3): 機密保持契約)"));

  // Listed, marked, and out of the expiry warnings.
  auto listed = NdaList(ctx_, std::nullopt, std::nullopt);
  ASSERT_TRUE(listed.ok()) << listed.message();
  EXPECT_EQ(listed->text,
            "#1\tagency-a\t2026-01-01 to 2099-12-31\tnot in force (withdrawn: 日付の入力誤り)");
  EXPECT_EQ(listed->json[0]["in_force"], false);
  EXPECT_EQ(listed->json[0]["withdrawn_reason"], "日付の入力誤り");
  EXPECT_EQ(NdaList(ctx_, std::nullopt, 100000)->text, "no NDA ends within 100000 days");

  // Once.
  ctx_.actor = kOfficer;
  auto again = NdaWithdraw(ctx_, 1, "again");
  EXPECT_THAT(again.message(), StartsWith("NDA 1 was already withdrawn on "));
  EXPECT_EQ(again.kind(), ErrorKind::kConflict);
  EXPECT_EQ(AuditCount("nda.withdraw"), 1);
  ExpectAuditIntact();
}

TEST_F(CorrectionsTest, AnNdaNoDeliveryReliedOnIsWithdrawnSayingSo) {
  ctx_.actor = kOfficer;
  auto withdrawn = NdaWithdraw(ctx_, 1, "二重登録");
  ASSERT_TRUE(withdrawn.ok()) << withdrawn.message();
  EXPECT_EQ(withdrawn->text, "NDA 1 of agency-a withdrawn: 二重登録\nno delivery relied on it");
  EXPECT_EQ(withdrawn->json["deliveries"], Json::array());
  EXPECT_EQ(Json::parse(AuditEvents("nda.withdraw").at(0).details)["deliveries"], Json::array());
}

}  // namespace
}  // namespace itaku::gateway
