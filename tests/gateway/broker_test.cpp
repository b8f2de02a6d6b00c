#include "gateway/broker.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <string>

#include "tests/gateway/gateway_fixture.h"
#include "tests/transports/test_util.h"

namespace itaku::gateway {
namespace {

namespace fs = std::filesystem;

// The broker as a service against a real SQLite store in a temporary
// folder, with the registry filled in through the same services the CLI
// uses, and a real certificate made by the openssl CLI. The clock is fixed:
// these tests are about the pipeline, not the calendar.
class BrokerTest : public gateway_test::StoreFixture {
 protected:
  BrokerTest() : StoreFixture("broker", "2026-11-28T01:00:00Z") {}

  void Register() override {
    fs::create_directories(dir_ / "usb");
    Write("export.csv",
          "subscriber_id,name,address,phone,email,account_number,account_holder,services,"
          "birth_date\n"
          "S1,山田太郎,東京都1-1,0312345678,CANARY-MAIL-1,1234567,ヤマダタロウ,TV,CANARY-1970\n"
          "S2,佐藤花子,大阪府2-2,0612345678,CANARY-MAIL-2,7654321,サトウハナコ,NET,CANARY-1980\n");
    MakeCertificate("agency-a");
    ContractorArgs c;
    c.id = "agency-a";
    c.name = "夢前収納サービス";
    c.cert_file = Path("agency-a.crt");
    // The certificate is judged against the real time it was made at.
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
  }

  // A dry run of the media delivery.
  Result<DeliverResult> DryRun() {
    DeliverRequest r = Request("media");
    r.dry_run = true;
    return Deliver(ctx_, r);
  }
  DeliverRequest Request(const std::string& via) const {
    DeliverRequest r;
    r.profile_id = "agency-billing";
    r.input_path = Path("export.csv");
    r.transport = *contracts::Parse<contracts::Transport>(via);
    r.out_dir = Path("usb");
    return r;
  }
};

TEST_F(BrokerTest, DryRunRecordsWhatWouldBeSentAndNothingElse) {
  auto result = DryRun();
  ASSERT_TRUE(result.ok()) << result.message();
  EXPECT_TRUE(result->allowed());
  EXPECT_EQ(result->record.outcome, contracts::DeliveryOutcome::kDryRun);
  EXPECT_EQ(result->record.record_count, 2);
  EXPECT_EQ(result->withheld, (std::vector<std::string>{"email", "birth_date"}));
  EXPECT_TRUE(fs::is_empty(dir_ / "usb"));
  EXPECT_EQ(AuditCount("delivery.dry-run"), 1);
}

TEST_F(BrokerTest, MediaPackageIsWrittenRecordedAndCarriesNoWithheldField) {
  auto result = Deliver(ctx_, Request("media"));
  ASSERT_TRUE(result.ok()) << result.message();
  EXPECT_EQ(result->record.outcome, contracts::DeliveryOutcome::kDelivered);
  EXPECT_EQ(result->package_path,
            Path("usb") + "/agency-a-" + std::to_string(result->record.id) + ".zip.p7m");
  ASSERT_TRUE(fs::exists(result->package_path));
  ASSERT_EQ(
      transports::test_util::RunCommand(
          "openssl cms -decrypt -binary -inform DER -in " + result->package_path + " -recip " +
          Path("agency-a.crt") + " -inkey " + Path("agency-a.key") + " -out " + Path("p.zip") +
          " 2>/dev/null && unzip -q -o " + Path("p.zip") + " -d " + Path("open")),
      0);
  const std::string data = ReadFile("open/data.csv");
  EXPECT_NE(data.find("山田太郎"), std::string::npos);
  EXPECT_EQ(data.find("CANARY-"), std::string::npos);
  auto media = ctx_.store->FindMediaRecord(result->record.id);
  ASSERT_TRUE(media.ok() && media.value().has_value());
  EXPECT_EQ(AuditCount("delivery.media"), 1);
}

TEST_F(BrokerTest, UnknownProfileIsRefusedBeforeAnythingIsRecorded) {
  DeliverRequest r = Request("media");
  r.profile_id = "no-such-profile";
  auto result = Deliver(ctx_, r);
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.message(), "unknown profile no-such-profile");
  EXPECT_EQ(AuditCount("delivery.refused"), 1);
}

// The machine's clock an hour behind the record: the delivery waits (an NDA
// that ended could look in force), and the anomaly is on record.
TEST_F(BrokerTest, AClockGoneBackRefusesDeliveriesUntilItIsRight) {
  SetClock(std::make_unique<FixedClock>(FormatUtc(std::chrono::system_clock::now() -
                                                  std::chrono::hours(1))));
  auto result = Deliver(ctx_, Request("media"));
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.kind(), ErrorKind::kRefused);
  EXPECT_NE(result.message().find("deliveries wait until the clock is right again"),
            std::string::npos)
      << result.message();
  EXPECT_TRUE(fs::is_empty(dir_ / "usb"));
  EXPECT_EQ(AuditCount("clock.anomaly"), 1);
  EXPECT_EQ(AuditCount("delivery.refused"), 1);
  SetClock(std::make_unique<SystemClock>());
  auto later = Deliver(ctx_, Request("media"));
  ASSERT_TRUE(later.ok()) << later.message();
  EXPECT_EQ(later->record.outcome, contracts::DeliveryOutcome::kDelivered);
}

TEST_F(BrokerTest, RefusalIsRecordedWithEveryReason) {
  SetClock(std::make_unique<FixedClock>("2100-01-02T01:00:00Z"));
  auto result = DryRun();
  ASSERT_TRUE(result.ok()) << result.message();
  EXPECT_FALSE(result->allowed());
  EXPECT_EQ(result->record.outcome, contracts::DeliveryOutcome::kRefused);
  ASSERT_EQ(result->reasons.size(), 2u);
  EXPECT_EQ(result->reasons[0],
            "contractor agency-a has no NDA in force on 2100-01-02 (its last NDA ended "
            "2099-12-31) (policy 4(3): 機密保持契約)");
  auto stored = ctx_.store->FindDelivery(result->record.id);
  ASSERT_TRUE(stored.ok() && stored.value().has_value());
  EXPECT_EQ(stored.value()->outcome, contracts::DeliveryOutcome::kRefused);
  EXPECT_EQ(AuditCount("delivery.refused"), 1);
}

TEST_F(BrokerTest, AMediaPackageWithoutItsFolderFailsAndLeavesNothing) {
  DeliverRequest r = Request("media");
  r.out_dir = Path("no-such-medium");
  auto result = Deliver(ctx_, r);
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.message(),
            "--out " + Path("no-such-medium") + " is not a folder (the medium's mount point)");
  EXPECT_FALSE(fs::exists(Path("no-such-medium")));
}

}  // namespace
}  // namespace itaku::gateway
