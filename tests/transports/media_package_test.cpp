#include "transports/media_package.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <regex>
#include <set>
#include <stdexcept>
#include <thread>

#include "tests/transports/test_util.h"

extern char** environ;

namespace itaku::transports {
namespace {

namespace fs = std::filesystem;
using test_util::Output;
using test_util::ReadFile;
using test_util::RunCommand;
using test_util::TempDir;
using test_util::WriteFile;

// Throwaway keys and certificates, made once with the openssl CLI.
class MediaPackageTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    keys_ = new TempDir();
    ASSERT_EQ(MakeCert("rsa", "-newkey rsa:2048"), 0);
    ASSERT_EQ(MakeCert("ec", "-newkey ec -pkeyopt ec_paramgen_curve:P-256"), 0);
    ASSERT_EQ(MakeCert("other", "-newkey rsa:2048"), 0);
  }
  static void TearDownTestSuite() {
    delete keys_;
    keys_ = nullptr;
  }
  static int MakeCert(const std::string& name, const std::string& key_spec) {
    return RunCommand("openssl req -x509 " + key_spec + " -nodes -days 2 -subj /CN=" + name +
                      " -keyout " + Key(name) + " -out " + Cert(name));
  }
  static std::string Key(const std::string& name) { return *keys_ / (name + ".key"); }
  static std::string Cert(const std::string& name) { return *keys_ / (name + ".crt"); }
  static Recipient CertRecipient(const std::string& name) { return {ReadFile(Cert(name)), ""}; }

  // Names in the output folder, hidden ones included.
  std::set<std::string> Listing() const {
    std::set<std::string> names;
    for (const auto& e : fs::directory_iterator(out_.path())) names.insert(e.path().filename());
    return names;
  }
  static int DecryptWithKey(const std::string& package, const std::string& key_name,
                            const std::string& zip) {
    return RunCommand("openssl cms -decrypt -binary -inform DER -in " + package + " -recip " +
                      Cert(key_name) + " -inkey " + Key(key_name) + " -out " + zip);
  }
  static int DecryptWithPassword(const std::string& package, const std::string& pass,
                                 const std::string& zip) {
    return RunCommand("openssl cms -decrypt -binary -inform DER -in " + package +
                      " -pwri_password '" + pass + "' -out " + zip);
  }
  static std::string Sha256Of(const std::string& path) {
    return Output("sha256sum " + path).substr(0, 64);
  }

  static TempDir* keys_;
  TempDir out_;
  TempDir work_;
};

TempDir* MediaPackageTest::keys_ = nullptr;

const char kCsv[] =
    "subscriber_id,name,address,phone\n"
    "1001,山田 太郎,東京都千代田区1-1,03-0000-0001\n"
    "1002,佐藤 花子,大阪府大阪市2-2,06-0000-0002\n";

Status WriteCsv(std::ostream& out) {
  out << kCsv;
  return Status::Ok();
}

// p.zip.p7m in `out_dir` for `recipient`, holding billing.csv (kCsv).
Result<PackageFile> WriteCsvPackage(const std::string& out_dir, const Recipient& recipient) {
  auto writer = MediaPackageWriter::Create(out_dir, "p.zip.p7m", recipient);
  if (!writer.ok()) return writer.status();
  auto added = (*writer)->AddStream("billing.csv", WriteCsv);
  if (!added.ok()) return added.status();
  return (*writer)->Finish();
}

TEST_F(MediaPackageTest, CertificateRecipientOpensWithStockOpensslAndUnzip) {
  std::string drawing(300000, '\0');
  for (size_t i = 0; i < drawing.size(); ++i) drawing[i] = static_cast<char>(i * 7919 % 256);
  WriteFile(work_ / "drawing.pdf", drawing);

  auto writer =
      MediaPackageWriter::Create(out_.path(), "agency-a-42.zip.p7m", CertRecipient("rsa"));
  ASSERT_TRUE(writer.ok()) << writer.message();
  EXPECT_EQ((*writer)->final_path(), out_ / "agency-a-42.zip.p7m");
  EXPECT_EQ((*writer)->temp_path().rfind(out_ / ".agency-a-42.zip.p7m.partial-", 0), 0u);
  struct stat st;
  ASSERT_EQ(::stat((*writer)->temp_path().c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);

  auto csv = (*writer)->AddStream("billing.csv", WriteCsv);
  ASSERT_TRUE(csv.ok()) << csv.message();
  auto pdf = (*writer)->AddFile("drawings/1001.pdf", work_ / "drawing.pdf");
  ASSERT_TRUE(pdf.ok()) << pdf.message();
  auto empty = (*writer)->AddStream("empty.txt", [](std::ostream&) { return Status::Ok(); });
  ASSERT_TRUE(empty.ok()) << empty.message();
  EXPECT_EQ(Listing().count("agency-a-42.zip.p7m"), 0u);  // not before Finish()
  auto done = (*writer)->Finish();
  ASSERT_TRUE(done.ok()) << done.message();

  EXPECT_EQ(Listing(), std::set<std::string>{"agency-a-42.zip.p7m"});
  EXPECT_EQ(done->name, out_ / "agency-a-42.zip.p7m");
  EXPECT_EQ(done->size, fs::file_size(done->name));
  EXPECT_EQ(done->sha256, Sha256Of(done->name));
  EXPECT_EQ(csv->size, sizeof kCsv - 1);
  EXPECT_EQ(pdf->size, drawing.size());
  EXPECT_EQ(empty->size, 0u);
  EXPECT_EQ(empty->sha256, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");

  // The stock tools open it: the envelope, then the ZIP.
  ASSERT_EQ(DecryptWithKey(done->name, "rsa", work_ / "x.zip"), 0);
  ASSERT_EQ(RunCommand("unzip -t " + (work_ / "x.zip")), 0);
  ASSERT_EQ(RunCommand("unzip -o -d " + (work_ / "x") + " " + (work_ / "x.zip")), 0);
  EXPECT_EQ(ReadFile(work_ / "x/billing.csv"), kCsv);
  EXPECT_EQ(ReadFile(work_ / "x/drawings/1001.pdf"), drawing);
  EXPECT_EQ(ReadFile(work_ / "x/empty.txt"), "");
  EXPECT_EQ(csv->sha256, Sha256Of(work_ / "x/billing.csv"));
  EXPECT_EQ(pdf->sha256, Sha256Of(work_ / "x/drawings/1001.pdf"));
  // The certificate case is AES-256-GCM authEnvelopedData.
  EXPECT_NE(
      Output("openssl cms -cmsout -print -inform DER -in " + done->name).find("authEnvelopedData"),
      std::string::npos);
}

TEST_F(MediaPackageTest, EcCertificateRecipientOpens) {
  auto done = WriteCsvPackage(out_.path(), CertRecipient("ec"));
  ASSERT_TRUE(done.ok()) << done.message();
  ASSERT_EQ(DecryptWithKey(done->name, "ec", work_ / "x.zip"), 0);
  EXPECT_EQ(Output("unzip -p " + (work_ / "x.zip") + " billing.csv"), kCsv);
}

TEST_F(MediaPackageTest, WrongKeyFailsToDecrypt) {
  auto done = WriteCsvPackage(out_.path(), CertRecipient("rsa"));
  ASSERT_TRUE(done.ok()) << done.message();
  EXPECT_NE(DecryptWithKey(done->name, "other", work_ / "x.zip"), 0);
  EXPECT_EQ(ReadFile(done->name).find("山田"), std::string::npos);
}

TEST_F(MediaPackageTest, PassphraseRecipientOpensWithPwriPasswordOnly) {
  auto pass = GeneratePassphrase();
  ASSERT_TRUE(pass.ok()) << pass.message();
  auto done = WriteCsvPackage(out_.path(), {"", *pass});
  ASSERT_TRUE(done.ok()) << done.message();

  // GCM here too, with a password recipient the stock CLI cannot create.
  EXPECT_NE(Output("openssl cms -cmsout -print -inform DER -in " + done->name).find("d.pwri:"),
            std::string::npos);
  EXPECT_NE(
      Output("openssl cms -cmsout -print -inform DER -in " + done->name).find("authEnvelopedData"),
      std::string::npos);
  EXPECT_NE(DecryptWithPassword(done->name, "WRONG-WRONG-WRONG-WRONG", work_ / "bad.zip"), 0);
  ASSERT_EQ(DecryptWithPassword(done->name, *pass, work_ / "x.zip"), 0);
  ASSERT_EQ(RunCommand("unzip -t " + (work_ / "x.zip")), 0);
  EXPECT_EQ(Output("unzip -p " + (work_ / "x.zip") + " billing.csv"), kCsv);
}

TEST_F(MediaPackageTest, GeneratedPassphrasesAreSixGroupsOfFourUnambiguousCharacters) {
  auto a = GeneratePassphrase();
  auto b = GeneratePassphrase();
  ASSERT_TRUE(a.ok() && b.ok());
  const std::regex shape("([2-9A-HJ-NP-Z]{4}-){5}[2-9A-HJ-NP-Z]{4}");
  EXPECT_TRUE(std::regex_match(*a, shape)) << *a;
  EXPECT_TRUE(std::regex_match(*b, shape)) << *b;
  EXPECT_NE(*a, *b);
}

TEST_F(MediaPackageTest, ProduceErrorAbandonsPackageAndLeavesNothing) {
  auto writer = MediaPackageWriter::Create(out_.path(), "p.zip.p7m", CertRecipient("rsa"));
  ASSERT_TRUE(writer.ok()) << writer.message();
  ASSERT_TRUE((*writer)->AddStream("first.csv", WriteCsv).ok());
  auto failed = (*writer)->AddStream("billing.csv", [](std::ostream& out) {
    for (int i = 0; i < 100000; ++i) out << i << ",row\n";
    return Status::Error("export.csv line 7: unknown column 'mobile'");
  });
  ASSERT_FALSE(failed.ok());
  EXPECT_EQ(failed.message(), "entry billing.csv: export.csv line 7: unknown column 'mobile'");
  EXPECT_TRUE(Listing().empty());  // removed at once, not only on destruction

  auto more = (*writer)->AddStream("more.csv", WriteCsv);
  EXPECT_EQ(more.message(),
            "package " + (out_ / "p.zip.p7m") + " was abandoned after an earlier error");
  auto done = (*writer)->Finish();
  EXPECT_EQ(done.message(),
            "package " + (out_ / "p.zip.p7m") + " was abandoned after an earlier error");
  writer->reset();
  EXPECT_TRUE(Listing().empty());
}

TEST_F(MediaPackageTest, ProduceExceptionAbandonsPackage) {
  auto writer = MediaPackageWriter::Create(out_.path(), "p.zip.p7m", CertRecipient("rsa"));
  ASSERT_TRUE(writer.ok()) << writer.message();
  auto failed = (*writer)->AddStream("billing.csv", [](std::ostream& out) -> Status {
    out << "partial";
    throw std::runtime_error("disk gone");
  });
  EXPECT_EQ(failed.message(), "entry billing.csv: threw disk gone");
  EXPECT_TRUE(Listing().empty());
}

TEST_F(MediaPackageTest, DestroyedWithoutFinishRemovesTemporaryFile) {
  {
    auto writer = MediaPackageWriter::Create(out_.path(), "p.zip.p7m", CertRecipient("rsa"));
    ASSERT_TRUE(writer.ok()) << writer.message();
    ASSERT_TRUE((*writer)->AddStream("billing.csv", WriteCsv).ok());
    EXPECT_EQ(Listing().size(), 1u);
  }
  EXPECT_TRUE(Listing().empty());
}

TEST_F(MediaPackageTest, ExistingFinalNameIsRefusedAndUntouched) {
  WriteFile(out_ / "p.zip.p7m", "earlier delivery");
  auto writer = MediaPackageWriter::Create(out_.path(), "p.zip.p7m", CertRecipient("rsa"));
  ASSERT_FALSE(writer.ok());
  EXPECT_EQ(writer.message(),
            "package " + (out_ / "p.zip.p7m") + " already exists; refusing to overwrite");
  EXPECT_EQ(ReadFile(out_ / "p.zip.p7m"), "earlier delivery");
  EXPECT_EQ(Listing(), std::set<std::string>{"p.zip.p7m"});
}

TEST_F(MediaPackageTest, FinalNameAppearingBeforeFinishIsNotOverwritten) {
  auto writer = MediaPackageWriter::Create(out_.path(), "p.zip.p7m", CertRecipient("rsa"));
  ASSERT_TRUE(writer.ok()) << writer.message();
  ASSERT_TRUE((*writer)->AddStream("billing.csv", WriteCsv).ok());
  WriteFile(out_ / "p.zip.p7m", "someone else");
  auto done = (*writer)->Finish();
  EXPECT_EQ(done.message(),
            "package " + (out_ / "p.zip.p7m") + " already exists; refusing to overwrite");
  EXPECT_EQ(ReadFile(out_ / "p.zip.p7m"), "someone else");
  EXPECT_EQ(Listing(), std::set<std::string>{"p.zip.p7m"});
}

TEST_F(MediaPackageTest, RefusesBadArguments) {
  auto cert = CertRecipient("rsa");
  EXPECT_EQ(MediaPackageWriter::Create(out_.path(), "p", {cert.cert_pem, "long-enough-passphrase"})
                .message(),
            "package recipient needs exactly one of a certificate or a passphrase");
  EXPECT_EQ(MediaPackageWriter::Create(out_.path(), "p", {}).message(),
            "package recipient needs exactly one of a certificate or a passphrase");
  EXPECT_EQ(MediaPackageWriter::Create(out_.path(), "p", {"", "short"}).message(),
            "package passphrase must be at least 16 characters");
  EXPECT_EQ(MediaPackageWriter::Create(out_.path(), "p", {"garbage", ""}).message(),
            "recipient certificate is not a PEM certificate");
  EXPECT_EQ(MediaPackageWriter::Create(out_.path(), "../p", cert).message(),
            "package name '../p' must be a plain file name");
  EXPECT_EQ(MediaPackageWriter::Create(out_ / "missing", "p", cert).message(),
            "package folder " + (out_ / "missing") + " does not exist or is not a folder");
  EXPECT_TRUE(Listing().empty());

  auto writer = MediaPackageWriter::Create(out_.path(), "p.zip.p7m", cert);
  ASSERT_TRUE(writer.ok()) << writer.message();
  for (const char* bad : {"../x.csv", "/etc/passwd", "a/../../x", "dir/", "a\\b", ""}) {
    EXPECT_EQ(
        (*writer)->AddStream(bad, WriteCsv).message(),
        std::string("entry name '") + bad + "' must be a relative path without '.', '..' or '\\'");
  }
  EXPECT_EQ((*writer)->AddStream("住宅の図面.pdf", WriteCsv).message(),
            "entry name '住宅の図面.pdf' must be printable ASCII");
  EXPECT_EQ((*writer)->AddStream("a\tb", WriteCsv).message(),
            "entry name 'a\tb' must be printable ASCII");
  ASSERT_TRUE((*writer)->AddStream("billing.csv", WriteCsv).ok());
  EXPECT_EQ((*writer)->AddStream("billing.csv", WriteCsv).message(),
            "entry billing.csv is already in the package");
  EXPECT_EQ((*writer)->AddFile("x", work_ / "nope").message(),
            "cannot read " + (work_ / "nope") + ": No such file or directory");
  // Refusals of arguments do not abandon the package.
  EXPECT_TRUE((*writer)->Finish().ok());
}

long PeakRssKb() {
  std::string status = ReadFile("/proc/self/status");
  auto at = status.find("VmHWM:");
  return at == std::string::npos ? -1 : std::stol(status.substr(at + 6));
}

TEST_F(MediaPackageTest, LargeStreamedEntryKeepsPeakMemoryBounded) {
  // Reset the peak so earlier tests do not hide growth (Linux >= 4.0).
  WriteFile("/proc/self/clear_refs", "5");
  const long before_kb = PeakRssKb();
  ASSERT_GT(before_kb, 0);

  constexpr uint64_t kTarget = 200ull * 1024 * 1024;
  auto writer = MediaPackageWriter::Create(out_.path(), "big.zip.p7m", CertRecipient("rsa"));
  ASSERT_TRUE(writer.ok()) << writer.message();
  auto started = std::chrono::steady_clock::now();
  auto big = (*writer)->AddStream("export.csv", [&](std::ostream& out) {
    // CSV-like rows: compressible, but not trivially.
    char row[160];
    uint64_t written = 0;
    uint64_t x = 0x9E3779B97F4A7C15ull;
    for (uint64_t i = 0; written < kTarget; ++i) {
      x ^= x << 13;
      x ^= x >> 7;
      x ^= x << 17;
      int n = std::snprintf(
          row, sizeof row, "%09llu,山田 太郎%llu,東京都千代田区%llu-%llu,03-%04llu-%04llu,%llu\n",
          static_cast<unsigned long long>(i), static_cast<unsigned long long>(x % 1000),
          static_cast<unsigned long long>(x % 50), static_cast<unsigned long long>((x >> 8) % 30),
          static_cast<unsigned long long>((x >> 16) % 10000),
          static_cast<unsigned long long>((x >> 32) % 10000),
          static_cast<unsigned long long>(x >> 40));
      out.write(row, n);
      written += static_cast<uint64_t>(n);
    }
    return Status::Ok();
  });
  ASSERT_TRUE(big.ok()) << big.message();
  auto done = (*writer)->Finish();
  ASSERT_TRUE(done.ok()) << done.message();
  double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  const long after_kb = PeakRssKb();
  std::printf("[ info ] %llu bytes -> %llu byte package in %.2f s; peak RSS %ld -> %ld kB\n",
              static_cast<unsigned long long>(big->size),
              static_cast<unsigned long long>(done->size), seconds, before_kb, after_kb);
  EXPECT_LT(after_kb - before_kb, 64 * 1024);
  EXPECT_GE(big->size, kTarget);

  ASSERT_EQ(DecryptWithKey(done->name, "rsa", work_ / "x.zip"), 0);
  ASSERT_EQ(RunCommand("unzip -t " + (work_ / "x.zip")), 0);
  EXPECT_EQ(Output("unzip -p " + (work_ / "x.zip") + " export.csv | sha256sum").substr(0, 64),
            big->sha256);
}

TEST_F(MediaPackageTest, KilledWriterLeavesNoFinalName) {
  std::string tool = ITAKU_TEST_PACKAGE_WRITER;
  std::string out_dir = out_.path();
  std::string cert = Cert("rsa");
  std::vector<char*> argv = {tool.data(), out_dir.data(), const_cast<char*>("p.zip.p7m"),
                             cert.data(), nullptr};
  pid_t pid = 0;
  ASSERT_EQ(::posix_spawn(&pid, tool.c_str(), nullptr, nullptr, argv.data(), environ), 0);

  // Wait until the temporary file holds a few MiB, i.e. mid-way.
  std::string partial;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (std::chrono::steady_clock::now() < deadline) {
    for (const auto& e : fs::directory_iterator(out_dir)) {
      if (e.path().filename().string().find(".partial-") != std::string::npos &&
          fs::file_size(e.path()) >= 3 * 1024 * 1024) {
        partial = e.path();
      }
    }
    if (!partial.empty()) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  ::kill(pid, SIGKILL);
  int status = 0;
  ASSERT_EQ(::waitpid(pid, &status, 0), pid);
  ASSERT_FALSE(partial.empty()) << "the writer never got going";
  EXPECT_TRUE(WIFSIGNALED(status));

  EXPECT_FALSE(fs::exists(out_ / "p.zip.p7m"));
  // Only the hidden temporary file remains, for the gateway to sweep.
  auto names = Listing();
  ASSERT_EQ(names.size(), 1u);
  EXPECT_EQ(names.begin()->rfind(".p.zip.p7m.partial-", 0), 0u);
}

}  // namespace
}  // namespace itaku::transports
