#include "gateway/broker.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "gateway/commands.h"
#include "tests/transports/test_util.h"

namespace itaku::gateway {
namespace {

namespace fs = std::filesystem;

// The broker as a service against a real SQLite store in a temporary
// folder, with the registry filled in through the same services the CLI
// uses, and a real certificate made by the openssl CLI. The clock is fixed:
// these tests are about the pipeline, not the calendar.
class BrokerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("itaku-broker-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_ / "usb");
    ctx_.db_path = (dir_ / "itaku.db").string();
    ctx_.actor = "tester";
    ctx_.clock = std::make_unique<FixedClock>("2026-11-28T01:00:00Z");
    auto store = contracts::Store::OpenSqlite(ctx_.db_path);
    ASSERT_TRUE(store.ok()) << store.message();
    ctx_.store = std::move(store).value();
    ctx_.audit = std::make_unique<AuditTrail>(*ctx_.store, *ctx_.clock);
    ASSERT_TRUE(Init(ctx_).ok());

    Write("nda.pdf", "signed NDA scan\n");
    Write("billing.toml", std::string(R"(id = "agency-billing"
contractor = "agency-a"
purpose = "billing"
fields = ["subscriber_id", "name", "address", "phone", "account_number", "account_holder", "services"]
transports = ["media", "sftp"]
valid_from = 2026-04-01
valid_until = 2027-03-31
retention_days = 60
[output]
format = "csv"
encoding = "utf-8"
)"));
    Write("export.csv",
          "subscriber_id,name,address,phone,email,account_number,account_holder,services,"
          "birth_date\n"
          "S1,山田太郎,東京都1-1,0312345678,CANARY-MAIL-1,1234567,ヤマダタロウ,TV,CANARY-1970\n"
          "S2,佐藤花子,大阪府2-2,0612345678,CANARY-MAIL-2,7654321,サトウハナコ,NET,CANARY-1980\n");
    ASSERT_EQ(transports::test_util::RunCommand(
                  "openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "
                  "/CN=agency-a -keyout " +
                  Path("agency.key") + " -out " + Path("agency.crt") + " 2>/dev/null"),
              0);
    ContractorArgs c;
    c.id = "agency-a";
    c.name = "夢前収納サービス";
    c.cert_file = Path("agency.crt");
    // The certificate is judged against the real time it was made at.
    ctx_.clock = std::make_unique<SystemClock>();
    ctx_.audit = std::make_unique<AuditTrail>(*ctx_.store, *ctx_.clock);
    auto added = ContractorAdd(ctx_, c);
    ASSERT_TRUE(added.ok()) << added.message();
    auto nda = NdaAdd(
        ctx_, {"agency-a", "2026-01-10", "2026-01-01", "2099-12-31", Path("nda.pdf"), {"担当 者"}});
    ASSERT_TRUE(nda.ok()) << nda.message();
    Write("billing.toml",
          ReadFile("billing.toml")
              .replace(ReadFile("billing.toml").find("2027-03-31"), 10, "2099-12-31"));
    auto profile = ProfileImport(ctx_, Path("billing.toml"));
    ASSERT_TRUE(profile.ok()) << profile.message();
  }
  void TearDown() override {
    ctx_.audit.reset();
    ctx_.store.reset();
    fs::remove_all(dir_);
  }

  std::string Path(const std::string& name) const { return (dir_ / name).string(); }
  void Write(const std::string& name, const std::string& text) {
    std::ofstream(dir_ / name, std::ios::binary) << text;
  }
  std::string ReadFile(const std::string& name) const {
    std::ifstream in(dir_ / name, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(in), {});
  }
  DeliverRequest Request(const std::string& via) const {
    DeliverRequest r;
    r.profile_id = "agency-billing";
    r.input_path = Path("export.csv");
    r.transport = via;
    r.out_dir = Path("usb");
    return r;
  }
  int64_t AuditCount(const std::string& action) {
    int64_t n = 0;
    ctx_.store->ForEachAuditEvent([&](const contracts::AuditEvent& e) {
      if (e.action == action) ++n;
      return true;
    });
    return n;
  }

  fs::path dir_;
  Context ctx_;
};

TEST_F(BrokerTest, DryRunRecordsWhatWouldBeSentAndNothingElse) {
  DeliverRequest r = Request("media");
  r.dry_run = true;
  auto result = Deliver(ctx_, r);
  ASSERT_TRUE(result.ok()) << result.message();
  EXPECT_TRUE(result->allowed());
  EXPECT_EQ(result->record.outcome, "dry-run");
  EXPECT_EQ(result->record.record_count, 2);
  EXPECT_EQ(result->withheld, (std::vector<std::string>{"email", "birth_date"}));
  EXPECT_TRUE(fs::is_empty(dir_ / "usb"));
  EXPECT_EQ(AuditCount("delivery.dry-run"), 1);
}

TEST_F(BrokerTest, MediaPackageIsWrittenRecordedAndCarriesNoWithheldField) {
  auto result = Deliver(ctx_, Request("media"));
  ASSERT_TRUE(result.ok()) << result.message();
  EXPECT_EQ(result->record.outcome, "delivered");
  EXPECT_EQ(result->package_path,
            Path("usb") + "/agency-a-" + std::to_string(result->record.id) + ".zip.p7m");
  ASSERT_TRUE(fs::exists(result->package_path));
  ASSERT_EQ(
      transports::test_util::RunCommand(
          "openssl cms -decrypt -binary -inform DER -in " + result->package_path + " -recip " +
          Path("agency.crt") + " -inkey " + Path("agency.key") + " -out " + Path("p.zip") +
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

TEST_F(BrokerTest, RefusalIsRecordedWithEveryReason) {
  ctx_.clock = std::make_unique<FixedClock>("2100-01-02T01:00:00Z");
  ctx_.audit = std::make_unique<AuditTrail>(*ctx_.store, *ctx_.clock);
  DeliverRequest r = Request("media");
  r.dry_run = true;
  auto result = Deliver(ctx_, r);
  ASSERT_TRUE(result.ok()) << result.message();
  EXPECT_FALSE(result->allowed());
  EXPECT_EQ(result->record.outcome, "refused");
  ASSERT_EQ(result->reasons.size(), 2u);
  EXPECT_EQ(result->reasons[0],
            "contractor agency-a has no NDA in force on 2100-01-02 (its last NDA ended "
            "2099-12-31) (policy 4(3): 機密保持契約)");
  auto stored = ctx_.store->FindDelivery(result->record.id);
  ASSERT_TRUE(stored.ok() && stored.value().has_value());
  EXPECT_EQ(stored.value()->outcome, "refused");
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
