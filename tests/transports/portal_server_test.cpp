#include "transports/portal_server.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/write.hpp>
#include <chrono>
#include <filesystem>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <random>
#include <set>
#include <thread>

#include "tests/transports/test_util.h"

namespace itaku::transports {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;
using transports::test_util::Output;
using transports::test_util::ReadFile;
using transports::test_util::RunCommand;
using transports::test_util::TempDir;
using transports::test_util::WriteFile;
using Clock = std::chrono::steady_clock;

// Stands in for the store: contractors by certificate fingerprint,
// packages, and a record of every call the server made.
class MemoryBackend : public PortalBackend {
 public:
  struct AuditRow {
    PortalCaller caller;
    std::string method, target, package_id;
    uint64_t bytes;
    int status;
    std::string outcome;
  };
  struct DownloadRow {
    std::string contractor_id, package_id;
    uint64_t first_byte, bytes;
    bool complete;
  };

  void AddContractor(const std::string& fingerprint, const std::string& id) {
    std::lock_guard lock(mu_);
    contractors_[fingerprint] = id;
  }
  void Suspend(const std::string& id) {
    std::lock_guard lock(mu_);
    suspended_.insert(id);
  }
  void AddPackage(const PortalPackage& p, bool gone = false) {
    std::lock_guard lock(mu_);
    packages_[p.id] = p;
    if (gone) gone_.insert(p.id);
  }
  std::vector<AuditRow> audits() {
    std::lock_guard lock(mu_);
    return audits_;
  }
  std::vector<DownloadRow> downloads() {
    std::lock_guard lock(mu_);
    return downloads_;
  }

  std::optional<std::string> Authenticate(const std::string& fingerprint,
                                          std::string* why) override {
    std::lock_guard lock(mu_);
    auto it = contractors_.find(fingerprint);
    if (it == contractors_.end()) {
      *why = "no contractor has certificate " + fingerprint;
      return std::nullopt;
    }
    if (suspended_.count(it->second)) {
      *why = "contractor " + it->second + " is suspended";
      return std::nullopt;
    }
    return it->second;
  }
  std::vector<PortalPackage> Available(const std::string& contractor_id) override {
    std::lock_guard lock(mu_);
    std::vector<PortalPackage> out;
    for (const auto& [id, p] : packages_) {
      if (p.contractor_id == contractor_id && !gone_.count(id)) out.push_back(p);
    }
    return out;
  }
  Access Find(const std::string& contractor_id, const std::string& package_id,
              PortalPackage* out) override {
    std::lock_guard lock(mu_);
    auto it = packages_.find(package_id);
    if (it == packages_.end() || it->second.contractor_id != contractor_id) {
      return Access::kNotFound;
    }
    *out = it->second;
    return gone_.count(package_id) ? Access::kGone : Access::kOk;
  }
  void RecordDownload(const PortalCaller& caller, const std::string& package_id,
                      uint64_t first_byte, uint64_t bytes, bool complete) override {
    std::lock_guard lock(mu_);
    downloads_.push_back({caller.contractor_id, package_id, first_byte, bytes, complete});
  }
  void Audit(const PortalCaller& caller, const std::string& method, const std::string& target,
             const std::string& package_id, uint64_t bytes, int status,
             const std::string& outcome) override {
    std::lock_guard lock(mu_);
    audits_.push_back({caller, method, target, package_id, bytes, status, outcome});
  }

 private:
  std::mutex mu_;
  std::map<std::string, std::string> contractors_;
  std::set<std::string> suspended_;
  std::map<std::string, PortalPackage> packages_;
  std::set<std::string> gone_;
  std::vector<AuditRow> audits_;
  std::vector<DownloadRow> downloads_;
};

// Certificates made once per test process with the openssl CLI: the
// portal's own (for 127.0.0.1) and three self-signed client certificates.
struct Certs {
  TempDir dir;
  std::map<std::string, std::string> fingerprint;  // "A", "B", "U" -> "SHA256:…"

  std::string cert(const std::string& who) const { return dir / (who + ".pem"); }
  std::string key(const std::string& who) const { return dir / (who + ".key"); }

  static bool Make(const std::string& cert, const std::string& key, const std::string& cn,
                   bool server) {
    std::string cmd =
        "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes "
        "-days 2 -keyout " +
        key + " -out " + cert + " -subj /CN=" + cn;
    if (server) cmd += " -addext subjectAltName=IP:127.0.0.1";
    return RunCommand(cmd) == 0;
  }
};

Certs* certs = nullptr;

constexpr char kIdA[] = "0123456789abcdef0123456789abcdef";
constexpr char kIdA2[] = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";   // A's, expired
constexpr char kIdBig[] = "cccccccccccccccccccccccccccccccc";  // A's, 16 MiB
constexpr char kIdB[] = "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb";

std::string RandomBytes(size_t n, unsigned seed) {
  std::mt19937 gen(seed);
  std::string s(n, '\0');
  for (auto& c : s) c = static_cast<char>(gen());
  return s;
}

struct CurlResult {
  int exit = -1;
  int http = 0;
  std::string out;      // the file the body went to
  std::string headers;  // response headers as received
  std::string error;    // curl's stderr
  std::string body() const { return ReadFile(out); }
};

class PortalServerTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    certs = new Certs;
    ASSERT_TRUE(Certs::Make(certs->cert("server"), certs->key("server"), "127.0.0.1", true));
    for (std::string who : {"A", "B", "U"}) {
      ASSERT_TRUE(Certs::Make(certs->cert(who), certs->key(who), "builder-" + who, false));
      // The format the server must produce, straight from openssl.
      std::string out = Output("openssl x509 -noout -fingerprint -sha256 -in " + certs->cert(who));
      ASSERT_NE(out.find('='), std::string::npos) << out;
      out = out.substr(out.find('=') + 1);
      while (!out.empty() && (out.back() == '\n' || out.back() == '\r')) out.pop_back();
      certs->fingerprint[who] = "SHA256:" + out;
    }
  }
  static void TearDownTestSuite() {
    delete certs;
    certs = nullptr;
  }

  void SetUp() override {
    backend_.AddContractor(certs->fingerprint["A"], "builder-a");
    backend_.AddContractor(certs->fingerprint["B"], "builder-b");
    content_a_ = RandomBytes(3 * 1024 * 1024 + 17, 1);
    AddPackage(kIdA, "builder-a", "builder-a-12.zip.p7m", content_a_);
    AddPackage(kIdA2, "builder-a", "builder-a-11.zip.p7m", RandomBytes(5000, 2), /*gone=*/true);
    AddPackage(kIdB, "builder-b", "builder-b-12.zip.p7m", RandomBytes(4000, 3));
    options_.cert_file = certs->cert("server");
    options_.key_file = certs->key("server");
    options_.listen = "127.0.0.1:0";
  }

  void TearDown() override { StopServer(); }

  void AddPackage(const std::string& id, const std::string& contractor, const std::string& name,
                  const std::string& content, bool gone = false) {
    PortalPackage p;
    p.id = id;
    p.contractor_id = contractor;
    p.file_name = name;
    p.path = dir_ / (id + ".bin");
    p.size = content.size();
    p.sha256 = "5ha" + id;  // opaque to the server; only echoed as ETag and in the list
    p.expires_at = "2030-01-31T00:00:00Z";
    p.max_downloads = 3;
    WriteFile(p.path, content);
    backend_.AddPackage(p, gone);
  }

  void StartServer(bool handle_signals = false) {
    auto server = PortalServer::Create(options_, backend_);
    ASSERT_TRUE(server.ok()) << server.message();
    server_ = std::move(server.value());
    thread_ = std::thread([this, handle_signals] {
      run_status_ = server_->Run(handle_signals);
      returned_ = true;
    });
  }

  void StopServer() {
    if (!server_) return;
    server_->Stop();
    if (thread_.joinable()) thread_.join();
    server_.reset();
  }

  std::string Url(const std::string& path) const {
    return "https://127.0.0.1:" + std::to_string(server_->port()) + path;
  }

  // Real curl as the contractor: `who` names the client certificate ("" for
  // none); the body goes to `out` (a fresh file when empty).
  CurlResult Curl(const std::string& who, const std::string& path, const std::string& extra = "",
                  std::string out = "") {
    const int n = ++curl_count_;
    CurlResult r;
    r.out = out.empty() ? dir_ / ("body-" + std::to_string(n)) : out;
    const std::string headers = dir_ / ("headers-" + std::to_string(n));
    const std::string code = dir_ / ("code-" + std::to_string(n));
    const std::string err = dir_ / ("err-" + std::to_string(n));
    std::string cmd = "curl -sS --max-time 60 --cacert " + certs->cert("server");
    if (!who.empty()) cmd += " --cert " + certs->cert(who) + " --key " + certs->key(who);
    cmd += " " + extra + " -D " + headers + " -o " + r.out + " -w '%{http_code}' '" + Url(path) +
           "' >" + code + " 2>" + err;
    const int rc = std::system(cmd.c_str());
    r.exit = WIFEXITED(rc) ? WEXITSTATUS(rc) : 128 + WTERMSIG(rc);
    r.http = std::atoi(ReadFile(code).c_str());
    r.headers = ReadFile(headers);
    r.error = ReadFile(err);
    return r;
  }

  // The server records after it has sent, so a row may land just after
  // curl is done: wait (a little) for at least n rows.
  std::vector<MemoryBackend::AuditRow> Audits(size_t n) {
    for (int i = 0; i < 100 && backend_.audits().size() < n; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    return backend_.audits();
  }
  std::vector<MemoryBackend::DownloadRow> Downloads(size_t n) {
    for (int i = 0; i < 100 && backend_.downloads().size() < n; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    return backend_.downloads();
  }
  // A's big package for the tests that need a download to last. Loopback
  // socket buffers here can hide tens of MiB (tcp_rmem max 32 MiB), so the
  // server may be done sending long before curl is done receiving.
  void AddBigPackage(size_t mib = 16) {
    big_ = RandomBytes(mib * 1024 * 1024, 4);
    AddPackage(kIdBig, "builder-a", "builder-a-big.zip.p7m", big_);
  }

  // Starts curl on A's big package in the background and returns once its
  // first MiB has arrived, so the download is surely under way (a fixed
  // sleep is not enough on a busy machine).
  std::thread StartBigDownload(CurlResult* result, const std::string& rate,
                               Clock::time_point* done = nullptr) {
    const std::string out = dir_ / "big-download";
    std::thread t([this, result, rate, out, done] {
      *result =
          Curl("A", "/portal/v1/packages/" + std::string(kIdBig), "--limit-rate " + rate, out);
      if (done != nullptr) *done = Clock::now();
    });
    auto received = [&out] {
      std::error_code ec;
      auto n = std::filesystem::file_size(out, ec);
      return ec ? 0 : n;  // (file_size answers -1 on error)
    };
    for (int i = 0; i < 800 && received() < (1u << 20); ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(25));
    }
    if (received() < (1u << 20)) ADD_FAILURE() << "download did not start";
    return t;
  }

  std::vector<MemoryBackend::AuditRow> AuditsWithStatus(int status) {
    std::vector<MemoryBackend::AuditRow> out;
    for (auto& a : backend_.audits()) {
      if (a.status == status) out.push_back(a);
    }
    return out;
  }

  TempDir dir_;
  MemoryBackend backend_;
  PortalServerOptions options_;
  std::string content_a_;
  std::string big_;
  std::unique_ptr<PortalServer> server_;
  std::thread thread_;
  Status run_status_ = Status::Error("Run() has not returned");
  std::atomic<bool> returned_{false};
  std::atomic<int> curl_count_{0};
};

TEST_F(PortalServerTest, DownloadsOwnPackageByteForByte) {
  StartServer();
  CurlResult r = Curl("A", "/portal/v1/packages/" + std::string(kIdA));
  ASSERT_EQ(r.exit, 0) << r.error;
  EXPECT_EQ(r.http, 200);
  EXPECT_TRUE(r.body() == content_a_) << "body differs from the package file";
  EXPECT_THAT(r.headers, HasSubstr("Content-Type: application/octet-stream"));
  EXPECT_THAT(r.headers,
              HasSubstr("Content-Disposition: attachment; filename=\"builder-a-12.zip.p7m\""));
  EXPECT_THAT(r.headers, HasSubstr("ETag: \"5ha" + std::string(kIdA) + "\""));
  EXPECT_THAT(r.headers, HasSubstr("Accept-Ranges: bytes"));
  EXPECT_THAT(r.headers, HasSubstr("Cache-Control: no-store"));
  EXPECT_THAT(r.headers, HasSubstr("X-Content-Type-Options: nosniff"));

  auto downloads = Downloads(1u);
  ASSERT_EQ(downloads.size(), 1u);
  EXPECT_EQ(downloads[0].contractor_id, "builder-a");
  EXPECT_EQ(downloads[0].package_id, kIdA);
  EXPECT_EQ(downloads[0].first_byte, 0u);
  EXPECT_EQ(downloads[0].bytes, content_a_.size());
  EXPECT_TRUE(downloads[0].complete);
  auto audits = Audits(1u);
  ASSERT_EQ(audits.size(), 1u);
  EXPECT_EQ(audits[0].caller.contractor_id, "builder-a");
  EXPECT_EQ(audits[0].caller.fingerprint, certs->fingerprint["A"]);
  EXPECT_THAT(audits[0].caller.address, StartsWith("127.0.0.1:"));
  EXPECT_EQ(audits[0].method, "GET");
  EXPECT_EQ(audits[0].target, "/portal/v1/packages/" + std::string(kIdA));
  EXPECT_EQ(audits[0].package_id, kIdA);
  EXPECT_EQ(audits[0].bytes, content_a_.size());
  EXPECT_EQ(audits[0].status, 200);
  EXPECT_EQ(audits[0].outcome, "downloaded");
}

// The body is encrypted outside asio's ssl::stream, which then reads the
// next request on the same connection: both TLS versions, and a second
// download over the kept-alive connection.
TEST_F(PortalServerTest, DownloadsIdenticalOverTls12And13AndKeepAlive) {
  StartServer();
  const std::string path = "/portal/v1/packages/" + std::string(kIdA);
  for (std::string tls :
       {"--tlsv1.2 --tls-max 1.2 --ciphers ECDHE-ECDSA-AES128-GCM-SHA256",
        "--tlsv1.2 --tls-max 1.2 --ciphers ECDHE-ECDSA-CHACHA20-POLY1305", "--tlsv1.3"}) {
    CurlResult r = Curl("A", path, tls);
    ASSERT_EQ(r.exit, 0) << tls << ": " << r.error;
    EXPECT_EQ(r.http, 200) << tls;
    EXPECT_TRUE(r.body() == content_a_) << tls << ": body differs from the package file";
  }
  const std::string first = dir_ / "keep-1", second = dir_ / "keep-2", err = dir_ / "keep-err";
  const std::string cmd = "curl -sS --max-time 60 --cacert " + certs->cert("server") + " --cert " +
                          certs->cert("A") + " --key " + certs->key("A") + " -o " + first + " '" +
                          Url(path) + "' -o " + second + " '" + Url(path) + "' 2>" + err;
  ASSERT_EQ(std::system(cmd.c_str()), 0) << ReadFile(err);
  EXPECT_TRUE(ReadFile(first) == content_a_);
  EXPECT_TRUE(ReadFile(second) == content_a_);
  auto downloads = Downloads(5u);
  ASSERT_EQ(downloads.size(), 5u);
  std::set<std::string> ports;
  for (const auto& a : Audits(5u)) {
    EXPECT_EQ(a.bytes, content_a_.size());
    EXPECT_EQ(a.outcome, "downloaded");
    ports.insert(a.caller.address);
  }
  EXPECT_EQ(ports.size(), 4u) << "the last two downloads shared a connection";
}

// Several threads serve at once; the backend still sees one call at a time.
TEST_F(PortalServerTest, ManyThreadsServeConcurrentDownloads) {
  options_.threads = 4;
  StartServer();
  constexpr int kClients = 8;
  std::vector<CurlResult> results(kClients);
  std::vector<std::thread> clients;
  for (int i = 0; i < kClients; ++i) {
    clients.emplace_back([this, i, &results] {
      results[i] =
          Curl(i % 2 ? "A" : "B", "/portal/v1/packages/" + std::string(i % 2 ? kIdA : kIdB));
    });
  }
  for (auto& t : clients) t.join();
  for (int i = 0; i < kClients; ++i) {
    ASSERT_EQ(results[i].exit, 0) << results[i].error;
    EXPECT_EQ(results[i].http, 200);
    EXPECT_TRUE(results[i].body() == (i % 2 ? content_a_ : RandomBytes(4000, 3))) << i;
  }
  auto downloads = Downloads(kClients);
  EXPECT_EQ(downloads.size(), static_cast<size_t>(kClients));
  for (const auto& d : downloads) EXPECT_TRUE(d.complete);
}

TEST_F(PortalServerTest, ListShowsOnlyOwnAvailablePackages) {
  StartServer();
  CurlResult r = Curl("A", "/portal/v1/packages");
  ASSERT_EQ(r.exit, 0) << r.error;
  EXPECT_EQ(r.http, 200);
  EXPECT_THAT(r.headers, HasSubstr("Content-Type: application/json"));
  auto list = nlohmann::json::parse(r.body());
  ASSERT_TRUE(list.is_array());
  ASSERT_EQ(list.size(), 1u) << list.dump();
  EXPECT_EQ(list[0]["id"], kIdA);
  EXPECT_EQ(list[0]["file_name"], "builder-a-12.zip.p7m");
  EXPECT_EQ(list[0]["size"], content_a_.size());
  EXPECT_EQ(list[0]["sha256"], "5ha" + std::string(kIdA));
  EXPECT_EQ(list[0]["expires_at"], "2030-01-31T00:00:00Z");
  EXPECT_EQ(list[0]["downloads_left"], 3);
  auto audits = Audits(1u);
  ASSERT_EQ(audits.size(), 1u);
  EXPECT_EQ(audits[0].outcome, "listed");
  EXPECT_EQ(audits[0].status, 200);
}

TEST_F(PortalServerTest, AnotherContractorsPackageIsNotFound) {
  StartServer();
  CurlResult r = Curl("B", "/portal/v1/packages/" + std::string(kIdA));
  ASSERT_EQ(r.exit, 0) << r.error;
  EXPECT_EQ(r.http, 404);
  EXPECT_EQ(r.body(), R"({"error":"no such package"})");
  EXPECT_TRUE(backend_.downloads().empty());
  auto audits = Audits(1u);
  ASSERT_EQ(audits.size(), 1u);
  EXPECT_EQ(audits[0].caller.contractor_id, "builder-b");
  EXPECT_EQ(audits[0].package_id, kIdA);
  EXPECT_EQ(audits[0].status, 404);
  EXPECT_EQ(audits[0].outcome, "not found");
}

TEST_F(PortalServerTest, NoClientCertificateIsRefusedAtHandshake) {
  StartServer();
  CurlResult r = Curl("", "/portal/v1/packages/" + std::string(kIdA));
  EXPECT_NE(r.exit, 0);
  EXPECT_EQ(r.http, 0);
  EXPECT_TRUE(r.body().empty());
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  EXPECT_TRUE(backend_.audits().empty());  // no request ever reached the portal
  EXPECT_TRUE(backend_.downloads().empty());
}

TEST_F(PortalServerTest, UnregisteredCertificateIsForbiddenAndClosed) {
  StartServer();
  CurlResult r = Curl("U", "/portal/v1/packages");
  ASSERT_EQ(r.exit, 0) << r.error;
  EXPECT_EQ(r.http, 403);
  EXPECT_THAT(r.headers, HasSubstr("Connection: close"));
  EXPECT_EQ(r.body(),
            R"({"error":"this client certificate is not registered to an active contractor"})");
  auto audits = Audits(1u);
  ASSERT_EQ(audits.size(), 1u);
  EXPECT_EQ(audits[0].caller.contractor_id, "");
  EXPECT_EQ(audits[0].caller.fingerprint, certs->fingerprint["U"]);
  EXPECT_EQ(audits[0].status, 403);
  EXPECT_EQ(audits[0].outcome, "no contractor has certificate " + certs->fingerprint["U"]);
}

TEST_F(PortalServerTest, SuspendedContractorIsForbidden) {
  backend_.Suspend("builder-a");
  StartServer();
  CurlResult r = Curl("A", "/portal/v1/packages/" + std::string(kIdA));
  ASSERT_EQ(r.exit, 0) << r.error;
  EXPECT_EQ(r.http, 403);
  EXPECT_TRUE(backend_.downloads().empty());
  ASSERT_EQ(Audits(1).size(), 1u);
  EXPECT_EQ(backend_.audits()[0].outcome, "contractor builder-a is suspended");
}

TEST_F(PortalServerTest, ExpiredPackageIsGone) {
  StartServer();
  CurlResult r = Curl("A", "/portal/v1/packages/" + std::string(kIdA2));
  ASSERT_EQ(r.exit, 0) << r.error;
  EXPECT_EQ(r.http, 410);
  EXPECT_THAT(r.body(), HasSubstr("expired"));
  EXPECT_TRUE(backend_.downloads().empty());
  ASSERT_EQ(Audits(1).size(), 1u);
  EXPECT_EQ(backend_.audits()[0].outcome, "gone");
  EXPECT_EQ(backend_.audits()[0].status, 410);
}

TEST_F(PortalServerTest, RangeResumeRebuildsTheIdenticalFile) {
  StartServer();
  const std::string path = "/portal/v1/packages/" + std::string(kIdA);
  const std::string file = dir_ / "resumed";
  CurlResult first = Curl("A", path, "-r 0-999", file);
  ASSERT_EQ(first.exit, 0) << first.error;
  EXPECT_EQ(first.http, 206);
  EXPECT_THAT(first.headers,
              HasSubstr("Content-Range: bytes 0-999/" + std::to_string(content_a_.size())));
  ASSERT_EQ(std::filesystem::file_size(file), 1000u);

  // curl -C - asks for "bytes=1000-" and appends.
  CurlResult rest = Curl("A", path, "-C -", file);
  ASSERT_EQ(rest.exit, 0) << rest.error;
  EXPECT_EQ(rest.http, 206);
  EXPECT_TRUE(ReadFile(file) == content_a_) << "resumed file differs";

  CurlResult tail = Curl("A", path, "-r -10");
  EXPECT_EQ(tail.http, 206);
  EXPECT_EQ(tail.body(), content_a_.substr(content_a_.size() - 10));

  CurlResult beyond = Curl("A", path, "-r 99999999-");
  EXPECT_EQ(beyond.http, 416);
  EXPECT_THAT(beyond.headers,
              HasSubstr("Content-Range: bytes */" + std::to_string(content_a_.size())));

  auto downloads = Downloads(3u);
  ASSERT_EQ(downloads.size(), 3u);
  EXPECT_EQ(downloads[0].first_byte, 0u);
  EXPECT_EQ(downloads[0].bytes, 1000u);
  EXPECT_EQ(downloads[1].first_byte, 1000u);
  EXPECT_EQ(downloads[1].bytes, content_a_.size() - 1000);
  EXPECT_TRUE(downloads[1].complete);
  EXPECT_EQ(downloads[2].first_byte, content_a_.size() - 10);
  ASSERT_EQ(Audits(4).size(), 4u);
  ASSERT_EQ(AuditsWithStatus(416).size(), 1u);
  EXPECT_EQ(AuditsWithStatus(416)[0].outcome, "range not satisfiable");
}

TEST_F(PortalServerTest, Tls10And11AreRefusedTls12And13Accepted) {
  StartServer();
  const std::string path = "/portal/v1/packages";
  // SECLEVEL=0 so that curl's own OpenSSL really offers the old protocol;
  // the refusal must then come from the server, as a protocol_version alert.
  for (std::string old : {"--tlsv1.0 --tls-max 1.0", "--tlsv1.1 --tls-max 1.1"}) {
    CurlResult r = Curl("A", path, old + " --ciphers DEFAULT@SECLEVEL=0");
    EXPECT_NE(r.exit, 0) << old;
    EXPECT_EQ(r.http, 0) << old;
    EXPECT_THAT(r.error, HasSubstr("protocol version")) << old;
  }
  EXPECT_TRUE(backend_.audits().empty());
  CurlResult v12 = Curl("A", path, "--tlsv1.2 --tls-max 1.2 --ciphers DEFAULT@SECLEVEL=0");
  EXPECT_EQ(v12.exit, 0) << v12.error;
  EXPECT_EQ(v12.http, 200);
  CurlResult v13 = Curl("A", path, "--tlsv1.3");
  EXPECT_EQ(v13.exit, 0) << v13.error;
  EXPECT_EQ(v13.http, 200);
  // A TLS 1.2 client offering only non-forward-secret or non-AEAD suites.
  CurlResult weak =
      Curl("A", path, "--tlsv1.2 --tls-max 1.2 --ciphers AES128-SHA256:AES128-GCM-SHA256");
  EXPECT_NE(weak.exit, 0);
}

TEST_F(PortalServerTest, OnlyGetOnThePortalPathsIsServed) {
  StartServer();
  EXPECT_EQ(Curl("A", "/").http, 404);
  EXPECT_EQ(Curl("A", "/portal/v1/packages/../../etc/passwd", "--path-as-is").http, 404);
  EXPECT_EQ(Curl("A", "/portal/v1/packagesX").http, 404);
  CurlResult del = Curl("A", "/portal/v1/packages/" + std::string(kIdA), "-X DELETE");
  EXPECT_EQ(del.http, 405);
  EXPECT_THAT(del.headers, HasSubstr("Allow: GET"));
  CurlResult post = Curl("A", "/portal/v1/packages", "--data x=1");
  EXPECT_EQ(post.http, 405);
  CurlResult body = Curl("A", "/portal/v1/packages", "-X GET --data x=1");
  EXPECT_EQ(body.http, 413);
  CurlResult huge = Curl("A", "/portal/v1/packages", "-H 'X-Pad: " + std::string(9000, 'a') + "'");
  EXPECT_EQ(huge.http, 431);
  EXPECT_TRUE(backend_.downloads().empty());
  // Each request audited exactly once.
  EXPECT_EQ(Audits(7).size(), 7u);
  EXPECT_EQ(AuditsWithStatus(431).size(), 1u);
}

TEST_F(PortalServerTest, CreateNamesTheFileThatFails) {
  options_.cert_file = dir_ / "missing.pem";
  auto r = PortalServer::Create(options_, backend_);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.message(),
            "portal certificate " + options_.cert_file + ": No such file or directory");

  options_.cert_file = dir_ / "garbage.pem";
  WriteFile(options_.cert_file, "not a certificate\n");
  r = PortalServer::Create(options_, backend_);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.message(), "portal certificate " + options_.cert_file + ": no start line");

  options_.cert_file = certs->cert("server");
  options_.key_file = certs->key("A");
  r = PortalServer::Create(options_, backend_);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.message(), "portal key " + options_.key_file + " does not match certificate " +
                             options_.cert_file);

  options_.key_file = certs->key("server");
  options_.listen = "localhost";
  r = PortalServer::Create(options_, backend_);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.message(), "portal listen address \"localhost\": expected ADDR:PORT");
}

// A TLS connection with client certificate `who`, handshake done.
struct RawClient {
  boost::asio::io_context ioc;
  boost::asio::ssl::context ctx{boost::asio::ssl::context::tls_client};
  std::unique_ptr<boost::asio::ssl::stream<boost::asio::ip::tcp::socket>> stream;

  RawClient(int port, const std::string& who) {
    namespace net = boost::asio;
    ctx.use_certificate_file(certs->cert(who), net::ssl::context::pem);
    ctx.use_private_key_file(certs->key(who), net::ssl::context::pem);
    ctx.set_verify_mode(net::ssl::verify_none);
    stream = std::make_unique<net::ssl::stream<net::ip::tcp::socket>>(ioc, ctx);
    stream->next_layer().connect({net::ip::make_address("127.0.0.1"), static_cast<uint16_t>(port)});
    stream->handshake(net::ssl::stream_base::client);
  }
};

TEST_F(PortalServerTest, ConnectionsOverTheCapAreClosedAtOnce) {
  options_.max_connections = 1;
  StartServer();
  {
    RawClient idle(server_->port(), "A");  // holds the only slot
    CurlResult refused = Curl("A", "/portal/v1/packages");
    EXPECT_NE(refused.exit, 0);
    EXPECT_EQ(refused.http, 0);
  }
  // The slot is free again once the idle connection is gone.
  CurlResult ok;
  for (int i = 0; i < 20; ++i) {
    ok = Curl("A", "/portal/v1/packages");
    if (ok.http == 200) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  EXPECT_EQ(ok.http, 200);
}

// A client that completes the TLS handshake, then sends its request head
// one byte at a time; returns how long the server let it trickle.
std::chrono::milliseconds TrickleUntilCut(int port, const std::string& who,
                                          std::chrono::milliseconds per_byte) {
  namespace net = boost::asio;
  namespace ssl = net::ssl;
  net::io_context ioc;
  ssl::context ctx(ssl::context::tls_client);
  ctx.use_certificate_file(certs->cert(who), ssl::context::pem);
  ctx.use_private_key_file(certs->key(who), ssl::context::pem);
  ctx.set_verify_mode(ssl::verify_none);
  ssl::stream<net::ip::tcp::socket> stream(ioc, ctx);
  stream.next_layer().connect({net::ip::make_address("127.0.0.1"), static_cast<uint16_t>(port)});
  stream.handshake(ssl::stream_base::client);
  const std::string head =
      "GET /portal/v1/packages HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: " + std::string(500, 'z') +
      "\r\n\r\n";
  const auto start = Clock::now();
  for (char c : head) {
    boost::system::error_code ec;
    net::write(stream, net::buffer(&c, 1), ec);
    if (ec) break;
    std::this_thread::sleep_for(per_byte);
  }
  return std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start);
}

TEST_F(PortalServerTest, SlowHeaderClientIsCutWhileADownloadCarriesOn) {
  options_.header_timeout_ms = 1500;
  AddBigPackage();
  StartServer();
  CurlResult download;
  Clock::time_point download_done;
  std::thread downloader = StartBigDownload(&download, "4M", &download_done);
  const auto trickled = TrickleUntilCut(server_->port(), "B", std::chrono::milliseconds(100));
  const auto cut_at = Clock::now();
  downloader.join();

  // Cut at the header timeout (the write that notices may come a byte or
  // two later), not at the end of its 600-byte head (60 s).
  EXPECT_GE(trickled.count(), 1300);
  EXPECT_LE(trickled.count(), 3000);
  ASSERT_EQ(download.exit, 0) << download.error;
  EXPECT_EQ(download.http, 200);
  EXPECT_TRUE(download.body() == big_);
  EXPECT_GT(download_done, cut_at);  // the download was still running when the slow client went
  Audits(2);
  auto timed_out = AuditsWithStatus(408);
  ASSERT_EQ(timed_out.size(), 1u);
  EXPECT_EQ(timed_out[0].caller.fingerprint, certs->fingerprint["B"]);
  EXPECT_EQ(timed_out[0].caller.contractor_id, "builder-b");
  EXPECT_EQ(timed_out[0].outcome, "request head timed out");
}

TEST_F(PortalServerTest, SuspensionCutsADownloadInProgress) {
  options_.status_recheck_ms = 200;
  AddBigPackage();
  StartServer();
  CurlResult download;
  std::thread downloader = StartBigDownload(&download, "2M");
  backend_.Suspend("builder-a");
  const auto suspended_at = Clock::now();
  downloader.join();
  // Not the 7 s the rest would take; what loopback buffers already hold
  // (a few MiB) still arrives before the cut shows.
  EXPECT_LT(Clock::now() - suspended_at, std::chrono::seconds(5));
  EXPECT_NE(download.exit, 0) << download.http << " " << download.error << download.headers;
  EXPECT_LT(download.body().size(), big_.size());

  auto downloads = Downloads(1);
  ASSERT_EQ(downloads.size(), 1u);
  EXPECT_FALSE(downloads[0].complete);
  EXPECT_LT(downloads[0].bytes, big_.size());
  auto audits = Audits(1);
  ASSERT_EQ(audits.size(), 1u);
  EXPECT_EQ(audits[0].status, 200);
  EXPECT_EQ(audits[0].outcome, "cut off during download: contractor builder-a is suspended");
  EXPECT_EQ(audits[0].bytes, downloads[0].bytes);
}

TEST_F(PortalServerTest, SigtermLetsAnInFlightDownloadFinish) {
  AddBigPackage(64);
  StartServer(/*handle_signals=*/true);
  const int port = server_->port();
  CurlResult download;
  std::thread downloader = StartBigDownload(&download, "16M");
  EXPECT_FALSE(returned_);
  EXPECT_TRUE(backend_.downloads().empty());  // the server is still sending
  ASSERT_EQ(::kill(::getpid(), SIGTERM), 0);
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  // No longer accepting: refused (curl 7), even though the curl still
  // downloading was forked while the listener was open (it must not have
  // inherited the listening socket).
  EXPECT_EQ(
      RunCommand("curl -sk --max-time 5 --cert " + certs->cert("A") + " --key " + certs->key("A") +
                 " https://127.0.0.1:" + std::to_string(port) + "/portal/v1/packages"),
      7);
  EXPECT_FALSE(returned_);  // ...but still serving the download.
  downloader.join();
  ASSERT_EQ(download.exit, 0) << download.error;
  EXPECT_TRUE(download.body() == big_);
  thread_.join();
  EXPECT_TRUE(returned_);
  EXPECT_TRUE(run_status_.ok()) << run_status_.message();
  auto downloads = Downloads(1);
  ASSERT_EQ(downloads.size(), 1u);
  EXPECT_TRUE(downloads[0].complete);
  EXPECT_EQ(downloads[0].bytes, big_.size());
}

TEST_F(PortalServerTest, StopCutsDownloadsStillRunningAfterTheGracePeriod) {
  options_.shutdown_grace_ms = 500;
  AddBigPackage();
  StartServer();
  CurlResult download;
  std::thread downloader = StartBigDownload(&download, "4M");
  const auto stop_at = Clock::now();
  server_->Stop();
  thread_.join();
  const auto stopped_after = Clock::now() - stop_at;
  EXPECT_GE(stopped_after, std::chrono::milliseconds(450));  // the grace period was given
  EXPECT_LT(stopped_after, std::chrono::seconds(2));
  EXPECT_TRUE(run_status_.ok());
  downloader.join();
  EXPECT_NE(download.exit, 0);
  auto downloads = Downloads(1);
  ASSERT_EQ(downloads.size(), 1u);
  EXPECT_FALSE(downloads[0].complete);
  auto audits = Audits(1);
  ASSERT_EQ(audits.size(), 1u);
  EXPECT_EQ(audits[0].outcome, "download cut off at shutdown");
}

}  // namespace
}  // namespace itaku::transports
