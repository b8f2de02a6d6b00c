#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "contracts/base/files.h"
#include "tests/transports/sshd_fixture.h"
#include "tests/transports/test_util.h"
#include "transports/sftp_transport.h"

namespace itaku::transports {
namespace {

namespace fs = std::filesystem;
using test_util::FreePort;
using test_util::Output;
using test_util::ReadFile;
using test_util::RunCommand;
using test_util::SilentListener;
using test_util::SshdFixture;
using test_util::TempDir;
using test_util::WriteFile;
using Clock = std::chrono::steady_clock;

// Deterministic incompressible bytes, fast enough for hundreds of MB.
void WritePseudoRandomFile(const std::string& path, uint64_t size, uint64_t seed) {
  std::ofstream out(path, std::ios::binary);
  std::vector<uint64_t> block(1 << 16);
  uint64_t x = seed * 0x9E3779B97F4A7C15ULL + 1;
  while (size > 0) {
    for (auto& word : block) {  // xorshift64*
      x ^= x >> 12;
      x ^= x << 25;
      x ^= x >> 27;
      word = x * 0x2545F4914F6CDD1DULL;
    }
    const uint64_t n = std::min<uint64_t>(size, block.size() * sizeof(uint64_t));
    out.write(reinterpret_cast<const char*>(block.data()), static_cast<std::streamsize>(n));
    size -= n;
  }
}

std::set<std::string> Names(const std::string& dir) {
  std::set<std::string> names;
  for (const auto& entry : fs::directory_iterator(dir)) names.insert(entry.path().filename());
  return names;
}

long long MillisSince(Clock::time_point start) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start).count();
}

// The upload succeeded: `bytes` sent, or found already there.
void ExpectSent(const SftpResult<UploadResult>& r, uint64_t bytes, bool already_there) {
  ASSERT_TRUE(r.ok()) << r.message();
  EXPECT_EQ(r->bytes, bytes);
  EXPECT_EQ(r->already_there, already_there);
}

// ---- ParseSftpUrl ----------------------------------------------------------

// ParseSftpUrl reads `url` as this user, host, port and folder.
void ExpectParsed(const std::string& url, const std::string& user, const std::string& host,
                  int port, const std::string& remote_dir) {
  auto e = ParseSftpUrl(url);
  ASSERT_TRUE(e.ok()) << e.message();
  EXPECT_EQ(e->user, user) << url;
  EXPECT_EQ(e->host, host) << url;
  EXPECT_EQ(e->port, port) << url;
  EXPECT_EQ(e->remote_dir, remote_dir) << url;
}

TEST(SftpUrlTest, ReadsUserHostPortAndAFolderRelativeToTheLogin) {
  ExpectParsed("sftp://agency@127.0.0.1:2222/inbox", "agency", "127.0.0.1", 2222, "inbox");
}

TEST(SftpUrlTest, DefaultsThePortAndTakesADoubleSlashAsAnAbsoluteFolder) {
  ExpectParsed("SFTP://collect%2Da@files.example.jp//srv/in%20box/", "collect-a",
               "files.example.jp", 22, "/srv/in box/");
}

TEST(SftpUrlTest, ReadsBracketedIpv6AndAnEmptyOrHomePath) {
  ExpectParsed("sftp://u@[::1]:2200", "u", "::1", 2200, "");
  ExpectParsed("sftp://u@h/~/drop", "u", "h", 22, "drop");
}

TEST(SftpUrlTest, RefusesWithOneLineEach) {
  // {URL, what is wrong with it}: the refusal names both.
  const std::vector<std::pair<std::string, std::string>> refusals = {
      {"https://h/x", "not an sftp:// URL"},
      {"h/x", "not an sftp:// URL"},
      {"sftp://h/x", "sftp URL has no user name"},
      {"sftp://u@:22/x", "sftp URL has no host"},
      {"sftp://u@h:0/x", "sftp URL has a bad port"},
      {"sftp://u@h:/x", "sftp URL has a bad port"},
      {"sftp://u@h:99999/x", "sftp URL has a bad port"},
      {"sftp://u@h/x?y", "sftp URL must not contain '?', '#' or ';'"},
      {"sftp://u@h/x%2", "sftp URL has a bad %-escape"},
  };
  for (const auto& [url, why] : refusals) EXPECT_EQ(ParseSftpUrl(url).message(), why + ": " + url);
}

TEST(SftpUrlTest, NeverRepeatsAPassword) {
  EXPECT_EQ(ParseSftpUrl("sftp://u:hunter2@h/x").message(), "sftp URL must not contain a password");
  EXPECT_EQ(ParseSftpUrl("ftp://u:hunter2@h/x").message(), "sftp URL must not contain a password");
}

// ---- Failures before any server answers ------------------------------------

TEST(SftpNetworkTest, ClosedPortIsANetworkErrorWithinTheTimeout) {
  TempDir dir;
  WriteFile(dir / "f", "data");
  WriteFile(dir / "key", "not used");
  const int port = FreePort();
  SftpEndpoint e{.host = "127.0.0.1",
                 .port = port,
                 .user = "u",
                 .remote_dir = "",
                 .pinned_host_key = "SHA256:" + std::string(43, 'A'),
                 .private_key_file = dir / "key",
                 .passphrase = ""};
  const auto start = Clock::now();
  auto r = SftpUpload(e, dir / "f", "f", SftpTimeouts{.connect_ms = 2000, .io_ms = 2000});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.kind(), SftpErrorKind::kNetwork);
  EXPECT_TRUE(r.retryable());
  EXPECT_EQ(r.message(),
            "cannot connect to 127.0.0.1:" + std::to_string(port) + ": Connection refused");
  EXPECT_LT(MillisSince(start), 2000);
}

TEST(SftpNetworkTest, SilentServerTimesOutTheHandshake) {
  // Listens (the kernel completes the TCP handshake) but never speaks SSH.
  SilentListener silent;
  const int port = silent.port();
  ASSERT_NE(port, 0);

  const auto start = Clock::now();
  SftpEndpoint e;
  e.host = "127.0.0.1";
  e.port = port;
  auto r = ProbeHostKey(e, SftpTimeouts{.connect_ms = 500, .io_ms = 60000});
  const auto elapsed = MillisSince(start);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.kind(), SftpErrorKind::kNetwork);
  EXPECT_EQ(r.message(), "SSH handshake with 127.0.0.1:" + std::to_string(port) +
                             " failed: no answer within 500 ms");
  EXPECT_GE(elapsed, 450);
  EXPECT_LT(elapsed, 2000);
}

TEST(SftpNetworkTest, RefusesBadArgumentsBeforeConnecting) {
  TempDir dir;
  WriteFile(dir / "f", "data");
  SftpEndpoint e;
  e.host = "127.0.0.1";
  e.port = FreePort();
  e.user = "u";
  const SftpTimeouts t;
  auto r = SftpUpload(e, dir / "f", "../f", t);
  EXPECT_EQ(r.kind(), SftpErrorKind::kRefused);
  EXPECT_EQ(r.message(), "final name must be a plain file name: ../f");
  r = SftpUpload(e, dir / "f", "f", t);
  EXPECT_EQ(r.message(), "no pinned host key for 127.0.0.1:" + std::to_string(e.port) +
                             "; pin the SHA256: fingerprint first");
  e.pinned_host_key = "MD5:aa:bb";
  r = SftpUpload(e, dir / "f", "f", t);
  EXPECT_EQ(r.message(), "pinned host key for 127.0.0.1:" + std::to_string(e.port) +
                             " must read SHA256:<base64>, as ssh-keygen -lf prints it");
  e.pinned_host_key = "SHA256:" + std::string(43, 'A');
  r = SftpUpload(e, dir / "missing", "f", t);
  EXPECT_EQ(r.kind(), SftpErrorKind::kRefused);
  EXPECT_EQ(r.message(), "cannot read " + (dir / "missing") + ": No such file or directory");
  e.private_key_file = dir / "no_key";
  r = SftpUpload(e, dir / "f", "f", t);
  EXPECT_EQ(r.message(),
            "cannot read private key " + (dir / "no_key") + ": No such file or directory");
}

TEST(SftpNetworkTest, InspectRefusesANonPlainNameAsUploadDoes) {
  SftpEndpoint e;
  e.host = "127.0.0.1";
  e.port = FreePort();
  e.user = "u";
  e.pinned_host_key = "SHA256:" + std::string(43, 'A');
  auto r = SftpInspect(e, "../f", SftpTimeouts{});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.kind(), SftpErrorKind::kRefused);
  EXPECT_EQ(r.message(), "final name must be a plain file name: ../f");
  e.pinned_host_key.clear();
  r = SftpInspect(e, "f", SftpTimeouts{});
  EXPECT_EQ(r.kind(), SftpErrorKind::kRefused);
  EXPECT_EQ(r.message(), "no pinned host key for 127.0.0.1:" + std::to_string(e.port) +
                             "; pin the SHA256: fingerprint first");
}

// ---- Against a real sshd -----------------------------------------------------

class SftpTest : public testing::Test {
 protected:
  void SetUp() override {
    std::string error;
    sshd_ = SshdFixture::Start(&error);
    ASSERT_TRUE(sshd_) << error;
  }

  SftpEndpoint Endpoint() const {
    return SftpEndpoint{.host = "127.0.0.1",
                        .port = sshd_->port(),
                        .user = sshd_->user(),
                        .remote_dir = sshd_->inbox(),
                        .pinned_host_key = sshd_->host_key_fingerprint(),
                        .private_key_file = sshd_->client_key(),
                        .passphrase = ""};
  }
  std::string Where() const { return "127.0.0.1:" + std::to_string(sshd_->port()); }
  std::string Remote(const std::string& name) const { return sshd_->inbox() + "/" + name; }
  // local_/`file` uploaded as `name`, to the server as it is pinned.
  SftpResult<UploadResult> Upload(const std::string& file, const std::string& name) {
    return SftpUpload(Endpoint(), local_ / file, name, timeouts_);
  }
  // The inbox holds `name` only, byte for byte the local file `local`.
  void ExpectOnlyInTheInbox(const std::string& name, const std::string& local) const {
    EXPECT_EQ(Names(sshd_->inbox()), std::set<std::string>{name});
    EXPECT_TRUE(ReadFile(Remote(name)) == ReadFile(local)) << name << " differs from " << local;
  }

  TempDir local_;
  std::unique_ptr<SshdFixture> sshd_;
  SftpTimeouts timeouts_{.connect_ms = 5000, .io_ms = 10000};
};

TEST_F(SftpTest, UploadsExactBytesUnderTheFinalNameAndLeavesNoPart) {
  // Not a multiple of the 960,000-byte chunk nor of the 30,000-byte packet.
  WritePseudoRandomFile(local_ / "billing.p7m", 3'000'001, 1);
  ExpectSent(Upload("billing.p7m", "billing-2026-01.p7m"), 3'000'001u, /*already_there=*/false);
  ExpectOnlyInTheInbox("billing-2026-01.p7m", local_ / "billing.p7m");
}

TEST_F(SftpTest, UploadsAnEmptyFile) {
  WriteFile(local_ / "empty.csv", "");
  ExpectSent(Upload("empty.csv", "empty.csv"), 0u, /*already_there=*/false);
  EXPECT_EQ(Names(sshd_->inbox()), std::set<std::string>{"empty.csv"});
  EXPECT_EQ(fs::file_size(Remote("empty.csv")), 0u);
}

TEST_F(SftpTest, ProbeHostKeyPrintsWhatSshKeygenPrints) {
  auto fingerprint = ProbeHostKey(Endpoint(), timeouts_);
  ASSERT_TRUE(fingerprint.ok()) << fingerprint.message();
  EXPECT_EQ(*fingerprint, sshd_->host_key_fingerprint());
}

TEST_F(SftpTest, WrongPinIsRefusedBeforeAuthenticationAndNothingIsSent) {
  WritePseudoRandomFile(local_ / "f.p7m", 100'000, 2);
  std::istringstream fields(Output("ssh-keygen -lf " + sshd_->stranger_key() + ".pub"));
  std::string bits, other;
  fields >> bits >> other;
  SftpEndpoint e = Endpoint();
  e.pinned_host_key = other;
  auto r = SftpUpload(e, local_ / "f.p7m", "f.p7m", timeouts_);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.kind(), SftpErrorKind::kRefused);
  EXPECT_FALSE(r.retryable());
  EXPECT_EQ(r.message(),
            "host key " + sshd_->host_key_fingerprint() + " does not match the pinned " + other);
  EXPECT_TRUE(Names(sshd_->inbox()).empty());
  // sshd logs "Accepted publickey ..." or "Failed publickey ..." for every
  // key offered; the upload must not have got that far.
  EXPECT_EQ(ReadFile(sshd_->log_path()).find("publickey"), std::string::npos);
}

TEST_F(SftpTest, UnknownClientKeyIsRefusedAsAnAuthenticationFailure) {
  WritePseudoRandomFile(local_ / "f.p7m", 100'000, 3);
  SftpEndpoint e = Endpoint();
  e.private_key_file = sshd_->stranger_key();
  auto r = SftpUpload(e, local_ / "f.p7m", "f.p7m", timeouts_);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.kind(), SftpErrorKind::kRefused);
  EXPECT_EQ(r.message(), "public-key authentication as " + sshd_->user() + " at " + Where() +
                             " failed: the server did not accept key " + sshd_->stranger_key());
  EXPECT_TRUE(Names(sshd_->inbox()).empty());
}

TEST_F(SftpTest, PassphraseProtectedKeyWorksAndAWrongPassphraseIsRefused) {
  const std::string key = local_ / "locked_key";
  ASSERT_EQ(RunCommand("ssh-keygen -q -t ed25519 -N 'open sesame' -f " + key), 0);
  std::ofstream(sshd_->dir() + "/authorized_keys", std::ios::app) << ReadFile(key + ".pub");
  WriteFile(local_ / "f.p7m", "data");
  SftpEndpoint e = Endpoint();
  e.private_key_file = key;
  e.passphrase = "open sesame";
  auto r = SftpUpload(e, local_ / "f.p7m", "f.p7m", timeouts_);
  ASSERT_TRUE(r.ok()) << r.message();

  e.passphrase = "wrong";
  r = SftpUpload(e, local_ / "f.p7m", "g.p7m", timeouts_);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.kind(), SftpErrorKind::kRefused);
  EXPECT_EQ(r.message().rfind("cannot use private key " + key + ": ", 0), 0u) << r.message();
  std::printf("wrong passphrase: %s\n", r.message().c_str());
  EXPECT_EQ(Names(sshd_->inbox()), std::set<std::string>{"f.p7m"});
}

TEST_F(SftpTest, MissingFolderIsRefused) {
  WriteFile(local_ / "f.p7m", "x");
  SftpEndpoint e = Endpoint();
  e.remote_dir = sshd_->dir() + "/no-such-folder";
  auto r = SftpUpload(e, local_ / "f.p7m", "f.p7m", timeouts_);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.kind(), SftpErrorKind::kRefused);
  EXPECT_EQ(r.message(), "cannot create " + e.remote_dir + "/f.p7m.part on " + Where() +
                             ": no such file (SFTP status 2)");
}

TEST_F(SftpTest, DifferentFileAtTheFinalNameIsRefusedAndLeftUntouched) {
  // Same size, one byte apart: only a byte-for-byte comparison tells.
  WritePseudoRandomFile(local_ / "f.p7m", 2'000'000, 4);
  std::string theirs = ReadFile(local_ / "f.p7m");
  theirs[1'999'999] ^= 1;
  WriteFile(Remote("f.p7m"), theirs);
  WriteFile(Remote("short.p7m"), "someone else's file");

  for (const std::string name : {"f.p7m", "short.p7m"}) {
    auto r = Upload("f.p7m", name);
    ASSERT_FALSE(r.ok()) << name;
    EXPECT_EQ(r.kind(), SftpErrorKind::kRefused);
    EXPECT_EQ(r.message(), name +
                               " already exists on the server and differs from this package; "
                               "refusing to overwrite");
  }
  EXPECT_EQ(Names(sshd_->inbox()), (std::set<std::string>{"f.p7m", "short.p7m"}));
  EXPECT_TRUE(ReadFile(Remote("f.p7m")) == theirs);
  EXPECT_EQ(ReadFile(Remote("short.p7m")), "someone else's file");
}

TEST_F(SftpTest, SameFileAlreadyThereCountsAsDelivered) {
  WritePseudoRandomFile(local_ / "f.p7m", 2'500'000, 5);
  ExpectSent(Upload("f.p7m", "f.p7m"), 2'500'000u, /*already_there=*/false);
  WriteFile(Remote("f.p7m.part"), "left over by a lost attempt");

  ExpectSent(Upload("f.p7m", "f.p7m"), 2'500'000u, /*already_there=*/true);
  ExpectOnlyInTheInbox("f.p7m", local_ / "f.p7m");
}

TEST_F(SftpTest, LongerStalePartIsTruncatedNotAppendedTo) {
  WritePseudoRandomFile(Remote("f.p7m.part"), 5'000'000, 6);
  WritePseudoRandomFile(local_ / "f.p7m", 1'000'000, 7);
  auto r = Upload("f.p7m", "f.p7m");
  ASSERT_TRUE(r.ok()) << r.message();
  ExpectOnlyInTheInbox("f.p7m", local_ / "f.p7m");
}

// The final name is checked before the upload; a file that appears there
// during the upload must still not be replaced by the rename.
TEST_F(SftpTest, FinalNameTakenDuringTheUploadIsNotOverwritten) {
  WritePseudoRandomFile(local_ / "big.p7m", 150'000'000, 8);
  SftpResult<UploadResult> r = SftpError{};
  std::thread upload([&] { r = Upload("big.p7m", "big.p7m"); });
  const auto deadline = Clock::now() + std::chrono::seconds(30);
  while (!fs::exists(Remote("big.p7m.part")) && Clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  WriteFile(Remote("big.p7m"), "placed by the agency meanwhile");
  upload.join();
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.kind(), SftpErrorKind::kRefused);
  EXPECT_EQ(r.message(),
            "big.p7m already exists on the server and differs from this package; refusing to "
            "overwrite");
  EXPECT_EQ(Names(sshd_->inbox()), std::set<std::string>{"big.p7m"});
  EXPECT_EQ(ReadFile(Remote("big.p7m")), "placed by the agency meanwhile");
}

TEST_F(SftpTest, ServerKilledMidUploadLeavesAtMostAPartAndARetryCompletes) {
  const uint64_t size = 200'000'000;
  WritePseudoRandomFile(local_ / "big.p7m", size, 9);
  SftpResult<UploadResult> r = SftpError{};
  std::thread upload([&] { r = Upload("big.p7m", "big.p7m"); });
  const auto deadline = Clock::now() + std::chrono::seconds(30);
  std::error_code ec;
  while (Clock::now() < deadline) {
    auto part_size = fs::file_size(Remote("big.p7m.part"), ec);
    if (!ec && part_size > 20'000'000) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  sshd_->KillAll();
  const auto killed = Clock::now();
  upload.join();
  EXPECT_LT(MillisSince(killed), 5000);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.kind(), SftpErrorKind::kNetwork) << r.message();
  EXPECT_TRUE(r.retryable());
  EXPECT_EQ(r.message().rfind("upload of big.p7m to " + Where() + " stopped after ", 0), 0u)
      << r.message();
  std::printf("after the kill: %s\n", r.message().c_str());
  EXPECT_EQ(Names(sshd_->inbox()), std::set<std::string>{"big.p7m.part"});
  EXPECT_LT(fs::file_size(Remote("big.p7m.part")), size);

  std::string error;
  ASSERT_TRUE(sshd_->Restart(&error)) << error;
  ExpectSent(Upload("big.p7m", "big.p7m"), size, /*already_there=*/false);
  EXPECT_EQ(Names(sshd_->inbox()), std::set<std::string>{"big.p7m"});
  EXPECT_EQ(RunCommand("cmp " + (local_ / "big.p7m") + " " + Remote("big.p7m")), 0);
}

TEST_F(SftpTest, StalledServerTimesOutTheUpload) {
  WritePseudoRandomFile(local_ / "big.p7m", 200'000'000, 11);
  SftpResult<UploadResult> r = SftpError{};
  std::atomic<bool> finished = false;
  std::thread upload([&] {
    r = SftpUpload(Endpoint(), local_ / "big.p7m", "big.p7m",
                   SftpTimeouts{.connect_ms = 10000, .io_ms = 1000});
    finished = true;
  });
  const auto deadline = Clock::now() + std::chrono::seconds(30);
  std::error_code ec;
  while (Clock::now() < deadline && !finished) {
    auto part_size = fs::file_size(Remote("big.p7m.part"), ec);
    if (!ec && part_size > 20'000'000) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  // Setting up the session has connect_ms; only a transfer under way can
  // stall here.
  if (finished) {
    upload.join();
    FAIL() << "the upload ended before the server was frozen: " << r.message();
  }
  sshd_->Freeze();
  const auto frozen = Clock::now();
  upload.join();
  const auto waited = MillisSince(frozen);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.kind(), SftpErrorKind::kNetwork);
  EXPECT_NE(r.message().find(" stopped after "), std::string::npos) << r.message();
  EXPECT_NE(r.message().find(": no answer within 1000 ms"), std::string::npos) << r.message();
  EXPECT_GE(waited, 900);
  EXPECT_LT(waited, 4000);  // one timeout, not one per cleanup call
  std::printf("stalled: %s (after %lld ms)\n", r.message().c_str(), waited);
}

// ---- SftpInspect -------------------------------------------------------------

// SftpInspect found nothing under the final name and, per `part_exists`,
// a .part or none.
void ExpectNoFinalFile(const SftpResult<RemoteFile>& r, bool part_exists) {
  ASSERT_TRUE(r.ok()) << r.message();
  EXPECT_FALSE(r->exists);
  EXPECT_EQ(r->size, 0u);
  EXPECT_EQ(r->sha256, "");
  EXPECT_EQ(r->part_exists, part_exists);
}

TEST_F(SftpTest, InspectAfterAnUploadReportsItsSizeAndHash) {
  // Several read-back chunks, the last one short.
  WritePseudoRandomFile(local_ / "billing.p7m", 3'000'001, 12);
  ExpectSent(Upload("billing.p7m", "billing-2026-01.p7m"), 3'000'001u, /*already_there=*/false);
  auto local_sha256 = Sha256File(local_ / "billing.p7m");
  ASSERT_TRUE(local_sha256.ok()) << local_sha256.message();

  auto r = SftpInspect(Endpoint(), "billing-2026-01.p7m", timeouts_);
  ASSERT_TRUE(r.ok()) << r.message();
  EXPECT_TRUE(r->exists);
  EXPECT_EQ(r->size, 3'000'001u);
  EXPECT_EQ(r->sha256, *local_sha256);
  EXPECT_FALSE(r->part_exists);
  ExpectOnlyInTheInbox("billing-2026-01.p7m", local_ / "billing.p7m");
}

TEST_F(SftpTest, InspectOfAnEmptyUploadHashesNoBytes) {
  WriteFile(local_ / "empty.csv", "");
  ExpectSent(Upload("empty.csv", "empty.csv"), 0u, /*already_there=*/false);
  auto r = SftpInspect(Endpoint(), "empty.csv", timeouts_);
  ASSERT_TRUE(r.ok()) << r.message();
  EXPECT_TRUE(r->exists);
  EXPECT_EQ(r->size, 0u);
  EXPECT_EQ(r->sha256, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_FALSE(r->part_exists);
}

TEST_F(SftpTest, InspectOfANameNeverUploadedFindsNothing) {
  WriteFile(Remote("other.p7m"), "another delivery");
  ExpectNoFinalFile(SftpInspect(Endpoint(), "never.p7m", timeouts_), /*part_exists=*/false);
  EXPECT_EQ(Names(sshd_->inbox()), std::set<std::string>{"other.p7m"});
}

TEST_F(SftpTest, InspectSeesAPartLeftByAnUploadCutOff) {
  WriteFile(Remote("f.p7m.part"), "half an upload");
  ExpectNoFinalFile(SftpInspect(Endpoint(), "f.p7m", timeouts_), /*part_exists=*/true);

  // Both: the final name is hashed, the .part still reported.
  WriteFile(Remote("f.p7m"), "abc");
  auto r = SftpInspect(Endpoint(), "f.p7m", timeouts_);
  ASSERT_TRUE(r.ok()) << r.message();
  EXPECT_TRUE(r->exists);
  EXPECT_EQ(r->size, 3u);
  EXPECT_EQ(r->sha256, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_TRUE(r->part_exists);
  // Inspecting changes nothing.
  EXPECT_EQ(Names(sshd_->inbox()), (std::set<std::string>{"f.p7m", "f.p7m.part"}));
  EXPECT_EQ(ReadFile(Remote("f.p7m.part")), "half an upload");
}

TEST_F(SftpTest, InspectDoesNotCountAFolderUnderTheFinalName) {
  fs::create_directory(Remote("f.p7m"));
  ExpectNoFinalFile(SftpInspect(Endpoint(), "f.p7m", timeouts_), /*part_exists=*/false);
}

TEST_F(SftpTest, InspectWithAWrongPinIsRefusedAsUploadIsBeforeAuthentication) {
  WriteFile(local_ / "f.p7m", "data");
  WriteFile(Remote("f.p7m"), "data");
  std::istringstream fields(Output("ssh-keygen -lf " + sshd_->stranger_key() + ".pub"));
  std::string bits, other;
  fields >> bits >> other;
  SftpEndpoint e = Endpoint();
  e.pinned_host_key = other;

  auto r = SftpInspect(e, "f.p7m", timeouts_);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.kind(), SftpErrorKind::kRefused);
  EXPECT_FALSE(r.retryable());
  const std::string refusal =
      "host key " + sshd_->host_key_fingerprint() + " does not match the pinned " + other;
  EXPECT_EQ(r.message(), refusal);
  EXPECT_EQ(SftpUpload(e, local_ / "f.p7m", "g.p7m", timeouts_).message(), refusal);
  // As in WrongPinIsRefusedBeforeAuthenticationAndNothingIsSent: no key was offered.
  EXPECT_EQ(ReadFile(sshd_->log_path()).find("publickey"), std::string::npos);
}

}  // namespace
}  // namespace itaku::transports
