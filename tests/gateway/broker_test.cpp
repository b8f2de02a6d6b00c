#include "gateway/broker.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <nlohmann/json.hpp>
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
  SetClock(std::make_unique<FixedClock>(
      FormatUtc(std::chrono::system_clock::now() - std::chrono::hours(1))));
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
  ASSERT_EQ(result->reasons.size(), 3u);
  EXPECT_EQ(result->reasons[0],
            "contractor agency-a has no NDA in force on 2100-01-02 (its last NDA ended "
            "2099-12-31) (policy 4(3): 機密保持契約)");
  // The outsourcing contract ended the same day (policy 6).
  EXPECT_EQ(result->reasons[2],
            "contractor agency-a has no outsourcing contract in force on 2100-01-02 covering "
            "purpose billing (contract #1 ended 2099-12-31) (policy 6: 業務委託契約)");
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

// House drawings (issue 14, finding 3): regular files only, within the
// daemon's limits, judged alike by the dry run and the real run; and the
// formula guard on record in the manifest and the audit trail.
class BrokerDrawingsTest : public BrokerTest {
 protected:
  void Register() override {
    BrokerTest::Register();
    fs::create_directories(dir_ / "drawings");
    Write("orders.csv",
          "subscriber_id,name,address,phone,house_drawing\n"
          "S1,山田太郎,=1+2,0312345678,S1.pdf\n"
          "S2,佐藤花子,大阪府2-2,0612345678,S2.pdf\n"
          "S3,鈴木一郎,京都府3-3,0751234567,\n");
    Write("drawings/S1.pdf", "%PDF drawing of S1\n");
    Write("drawings/S2.pdf", "%PDF drawing of S2\n");
    MakeCertificate("builder-b");
    ContractorArgs c;
    c.id = "builder-b";
    c.name = "夢前工務店";
    c.cert_file = Path("builder-b.crt");
    AddContractor(c);
    SignNdaAndImportProfile("builder-b", Profile(true));
  }

  static std::string Profile(bool formula_guard) {
    return std::string(R"(id = "builder-installation"
contractor = "builder-b"
purpose = "installation"
fields = ["subscriber_id", "name", "address", "phone", "house_drawing"]
transports = ["media"]
valid_from = 2026-01-01
valid_until = 2099-12-31
retention_days = 30
[output]
format = "csv"
encoding = "utf-8"
formula_guard = )") +
           (formula_guard ? "true" : "false") + "\n";
  }

  DeliverRequest Orders(bool dry_run) const {
    DeliverRequest r;
    r.profile_id = "builder-installation";
    r.input_path = Path("orders.csv");
    r.attachments_dir = Path("drawings");
    r.transport = contracts::Transport::kMedia;
    r.out_dir = Path("usb");
    r.dry_run = dry_run;
    return r;
  }

  // The same request as a dry run and for real: both must fail, with one
  // message; the real run leaves nothing on the medium. The message.
  std::string RefusedAlike(DeliverRequest r) {
    r.dry_run = true;
    auto dry = Deliver(ctx_, r);
    EXPECT_FALSE(dry.ok()) << "the dry run allowed it";
    r.dry_run = false;
    auto real = Deliver(ctx_, r);
    EXPECT_FALSE(real.ok()) << "the real run delivered it";
    EXPECT_EQ(dry.message(), real.message());
    EXPECT_TRUE(fs::is_empty(dir_ / "usb"));  // not even a hidden temporary file
    return real.message();
  }

  void Sparse(const std::string& name, off_t size) const {
    const int fd = ::open(Path(name).c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    ASSERT_GE(fd, 0);
    ASSERT_EQ(::ftruncate(fd, size), 0);
    ::close(fd);
  }

  // The daemon's config file (serve --config) with `text`.
  void Config(const std::string& text) {
    Write("itaku.toml", text);
    ctx_.daemon_config = Path("itaku.toml");
  }

  nlohmann::json Details(const std::string& action) const {
    auto events = AuditEvents(action);
    if (events.empty()) return nlohmann::json();
    return nlohmann::json::parse(events.back().details);
  }
};

TEST_F(BrokerDrawingsTest, DrawingsTravelWithTheirRecordsAndTheFormulaGuardIsOnRecord) {
  auto dry = Deliver(ctx_, Orders(true));
  ASSERT_TRUE(dry.ok()) << dry.message();
  EXPECT_EQ(dry->formula_guarded, 1);
  EXPECT_EQ(Details("delivery.dry-run")["formula_guard"], true);
  EXPECT_EQ(Details("delivery.dry-run")["formula_guarded_cells"], 1);

  auto result = Deliver(ctx_, Orders(false));
  ASSERT_TRUE(result.ok()) << result.message();
  EXPECT_EQ(result->record.outcome, contracts::DeliveryOutcome::kDelivered);
  EXPECT_EQ(result->formula_guarded, 1);
  ASSERT_EQ(transports::test_util::RunCommand(
                "openssl cms -decrypt -binary -inform DER -in " + result->package_path +
                " -recip " + Path("builder-b.crt") + " -inkey " + Path("builder-b.key") + " -out " +
                Path("p.zip") + " && unzip -q -o " + Path("p.zip") + " -d " + Path("open")),
            0);
  EXPECT_EQ(ReadFile("open/drawings/S1.pdf"), "%PDF drawing of S1\n");
  EXPECT_EQ(ReadFile("open/drawings/S2.pdf"), "%PDF drawing of S2\n");
  // The formula went out neutralised, not as it was.
  const std::string data = ReadFile("open/data.csv");
  ASSERT_NE(data.find("'=1+2"), std::string::npos) << data;
  EXPECT_EQ(data.find("=1+2"), data.find("'=1+2") + 1);
  const auto manifest = nlohmann::json::parse(ReadFile("open/manifest.json"));
  EXPECT_EQ(manifest["formula_guard"], true);
  EXPECT_EQ(manifest["formula_guarded_cells"], 1);
  EXPECT_EQ(manifest["files"].size(), 3u);
  EXPECT_EQ(Details("delivery.media")["formula_guard"], true);
  EXPECT_EQ(Details("delivery.media")["formula_guarded_cells"], 1);
  EXPECT_EQ(Details("delivery.media")["drawings"], 2);
}

TEST_F(BrokerDrawingsTest, FormulaGuardOffIsOnRecordToo) {
  Write("profile2.toml", Profile(false));
  auto imported = ProfileImport(ctx_, Path("profile2.toml"));
  ASSERT_TRUE(imported.ok()) << imported.message();
  auto result = Deliver(ctx_, Orders(false));
  ASSERT_TRUE(result.ok()) << result.message();
  EXPECT_EQ(result->formula_guarded, 0);
  EXPECT_EQ(Details("delivery.media")["formula_guard"], false);
  EXPECT_EQ(Details("delivery.media")["formula_guarded_cells"], 0);
}

// Issue 14, finding 3: a link named like a drawing, to the store's own
// 0600 file, was packed into the construction firm's package.
TEST_F(BrokerDrawingsTest, SymlinkedDrawingIsRefusedAndNoPackageIsLeft) {
  fs::remove(dir_ / "drawings/S2.pdf");
  fs::create_symlink(ctx_.db_path, dir_ / "drawings/S2.pdf");
  EXPECT_EQ(RefusedAlike(Orders(false)),
            "subscriber S2: house drawing is not a regular file (symlinks are not "
            "followed)");
  auto failed = AuditEvents("delivery.failed");
  ASSERT_EQ(failed.size(), 2u);  // the dry run and the real run, each on record
  auto stored = ctx_.store->FindDelivery(
      nlohmann::json::parse(failed.back().details)["delivery_id"].get<int64_t>());
  ASSERT_TRUE(stored.ok() && stored.value().has_value());
  EXPECT_EQ(stored.value()->outcome, contracts::DeliveryOutcome::kFailed);
  EXPECT_EQ(stored.value()->reason,
            "subscriber S2: house drawing is not a regular file (symlinks are not "
            "followed)");
}

// The dry run said "allowed" where the real run said "--attachments must
// name their folder".
TEST_F(BrokerDrawingsTest, DryRunJudgesTheAttachmentsFolderAsTheRealRunDoes) {
  DeliverRequest r = Orders(false);
  r.attachments_dir = Path("drawngs");
  EXPECT_EQ(RefusedAlike(r),
            "profile builder-installation sends house drawings: --attachments must name their "
            "folder (" +
                Path("drawngs") + " does not exist)");
  r.attachments_dir = "";
  EXPECT_EQ(RefusedAlike(r),
            "profile builder-installation sends house drawings: --attachments must name their "
            "folder");
  fs::create_directory_symlink(dir_ / "drawings", dir_ / "linked");
  r.attachments_dir = Path("linked");
  EXPECT_EQ(RefusedAlike(r),
            "profile builder-installation sends house drawings: --attachments must name their "
            "folder (" +
                Path("linked") + " is not a folder (symlinks are not followed))");
  fs::remove(dir_ / "drawings/S1.pdf");
  EXPECT_EQ(RefusedAlike(Orders(false)),
            "subscriber S1: house drawing is not in " + Path("drawings"));
}

// Issue 14, finding 3: a 5 GB drawing was read until something killed the
// run. Now it is refused from its size alone, at once.
TEST_F(BrokerDrawingsTest, OversizedDrawingIsRefusedWithoutBeingRead) {
  Sparse("drawings/S2.pdf", off_t{5} << 30);
  const auto started = std::chrono::steady_clock::now();
  EXPECT_EQ(RefusedAlike(Orders(false)),
            "subscriber S2: house drawing is 5120 MiB, over the 50 MiB limit per file "
            "([attachments] max_file_mb)");
  EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::seconds(5));
}

TEST_F(BrokerDrawingsTest, ConfiguredLimitsApplyPerFileAndPerDelivery) {
  Config("[attachments]\nmax_file_mb = 1\n");
  Write("drawings/S1.pdf", std::string(2 << 20, 'x'));
  EXPECT_EQ(RefusedAlike(Orders(false)),
            "subscriber S1: house drawing is 2 MiB, over the 1 MiB limit per file "
            "([attachments] max_file_mb)");

  Config("[attachments]\nmax_file_mb = 1\nmax_delivery_mb = 1\n");
  Write("drawings/S1.pdf", std::string(600 << 10, 'x'));
  Write("drawings/S2.pdf", std::string(600 << 10, 'y'));
  EXPECT_EQ(RefusedAlike(Orders(false)),
            "subscriber S2: house drawing brings the drawings of this delivery to 2 MiB, "
            "over the 1 MiB limit per delivery ([attachments] max_delivery_mb)");

  Config("[attachments]\nmax_file_mb = 1\nmax_delivery_mb = 2\n");
  auto result = Deliver(ctx_, Orders(false));
  ASSERT_TRUE(result.ok()) << result.message();
  EXPECT_EQ(result->record.outcome, contracts::DeliveryOutcome::kDelivered);
}

TEST_F(BrokerDrawingsTest, ALimitThatIsNotAWholeNumberOfMebibytesIsAnError) {
  Config("[attachments]\nmax_file_mb = 0\n");
  EXPECT_EQ(RefusedAlike(Orders(false)),
            Path("itaku.toml") + ": [attachments] max_file_mb must be 1 to 1048576 (MiB)");
  Config("[attachments]\nmax_delivery_mb = \"2G\"\n");
  EXPECT_EQ(RefusedAlike(Orders(false)),
            Path("itaku.toml") + ": [attachments] max_delivery_mb must be a whole number");
}

TEST_F(BrokerDrawingsTest, TwoRecordsNamingOneDrawingAreRefusedAlike) {
  Write("orders.csv",
        "subscriber_id,name,address,phone,house_drawing\n"
        "S1,山田太郎,東京都1-1,0312345678,S1.pdf\n"
        "S2,佐藤花子,大阪府2-2,0612345678,S1.pdf\n");
  EXPECT_EQ(RefusedAlike(Orders(false)),
            "subscriber S2: house drawing is named by an earlier record too (a package "
            "holds each drawing once)");
}

// A plain CSV for SFTP carries no files: a dry run says so, as the real run
// does, instead of "allowed".
TEST_F(BrokerDrawingsTest, DryRunRefusesDrawingsAPlainCsvCannotCarry) {
  Write("csv.toml", R"(id = "builder-csv"
contractor = "builder-b"
purpose = "installation"
fields = ["subscriber_id", "name", "address", "phone", "house_drawing"]
transports = ["sftp"]
valid_from = 2026-01-01
valid_until = 2099-12-31
retention_days = 30
[output]
format = "csv"
encoding = "utf-8"
package = "csv"
)");
  auto imported = ProfileImport(ctx_, Path("csv.toml"));
  ASSERT_TRUE(imported.ok()) << imported.message();
  DeliverRequest r = Orders(true);
  r.profile_id = "builder-csv";
  r.transport = contracts::Transport::kSftp;
  auto dry = Deliver(ctx_, r);
  ASSERT_TRUE(dry.ok()) << dry.message();
  EXPECT_EQ(dry->reasons, (std::vector<std::string>{"profile builder-csv sends house drawings, "
                                                    "which a plain CSV package cannot carry"}));
}

// Issue 14, finding 6: every CSV error started "entry data.csv:", which
// reads like a broken ZIP entry, not the operator's export.
TEST_F(BrokerDrawingsTest, ExportErrorsNameTheExportNotAZipEntry) {
  Write("orders.csv",
        "subscriber_id,name,address,phone,house_drawing\n"
        "S1,\"山田太郎,東京都1-1,0312345678,S1.pdf\n");
  auto dry = Deliver(ctx_, Orders(true));
  auto real = Deliver(ctx_, Orders(false));
  ASSERT_FALSE(real.ok());
  EXPECT_EQ(real.message().rfind("orders.csv:", 0), 0u) << real.message();
  EXPECT_EQ(real.message().find("entry"), std::string::npos) << real.message();
  EXPECT_EQ(dry.message(), real.message());
  EXPECT_TRUE(fs::is_empty(dir_ / "usb"));
}

}  // namespace
}  // namespace itaku::gateway
