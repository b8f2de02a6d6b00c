#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "tests/transports/portal_fixture.h"
#include "transports/portal_route.h"

namespace itaku::transports::portal_test {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;

TEST_F(PortalServerTest, DownloadsOwnPackageByteForByte) {
  StartServer();
  CurlResult r = Curl("A", "/portal/v1/packages/" + std::string(kIdA));
  ASSERT_TRUE(Answered(r, 200));
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
  // A slot was asked for the whole file first, and given back by the record.
  auto begun = backend_.begun();
  ASSERT_EQ(begun.size(), 1u);
  EXPECT_EQ(begun[0].contractor_id, "builder-a");
  EXPECT_EQ(begun[0].package_id, kIdA);
  EXPECT_EQ(begun[0].first_byte, 0u);
  EXPECT_EQ(begun[0].length, content_a_.size());
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
    ASSERT_TRUE(Answered(r, 200)) << tls;
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
    ASSERT_TRUE(Answered(results[i], 200));
    EXPECT_TRUE(results[i].body() == (i % 2 ? content_a_ : RandomBytes(4000, 3))) << i;
  }
  auto downloads = Downloads(kClients);
  EXPECT_EQ(downloads.size(), static_cast<size_t>(kClients));
  for (const auto& d : downloads) EXPECT_TRUE(d.complete);
}

TEST_F(PortalServerTest, ListShowsOnlyOwnAvailablePackages) {
  StartServer();
  CurlResult r = Curl("A", "/portal/v1/packages");
  ASSERT_TRUE(Answered(r, 200));
  EXPECT_THAT(r.headers, HasSubstr("Content-Type: application/json"));
  auto list = nlohmann::json::parse(r.body());
  ASSERT_TRUE(list.is_array());
  ASSERT_EQ(list.size(), 1u) << list.dump();
  EXPECT_EQ(list[0]["id"], kIdA);
  EXPECT_EQ(list[0]["file_name"], "builder-a-12.zip.p7m");
  EXPECT_EQ(list[0]["size"], content_a_.size());
  EXPECT_EQ(list[0]["sha256"], "5ha" + std::string(kIdA));
  EXPECT_EQ(list[0]["expires_at"], "2030-01-31T09:00:00+09:00");  // stored 00:00 UTC
  EXPECT_EQ(list[0]["downloads_left"], 3);
  auto audits = Audits(1u);
  ASSERT_EQ(audits.size(), 1u);
  EXPECT_EQ(audits[0].outcome, "listed");
  EXPECT_EQ(audits[0].status, 200);
}

TEST_F(PortalServerTest, AnotherContractorsPackageIsNotFound) {
  StartServer();
  CurlResult r = Curl("B", "/portal/v1/packages/" + std::string(kIdA));
  ASSERT_TRUE(Answered(r, 404));
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
  ASSERT_TRUE(Answered(r, 403));
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
  ASSERT_TRUE(Answered(r, 403));
  EXPECT_TRUE(backend_.downloads().empty());
  ASSERT_EQ(Audits(1).size(), 1u);
  EXPECT_EQ(backend_.audits()[0].outcome, "contractor builder-a is suspended");
}

TEST_F(PortalServerTest, ExpiredPackageIsGone) {
  StartServer();
  CurlResult r = Curl("A", "/portal/v1/packages/" + std::string(kIdA2));
  ASSERT_TRUE(Answered(r, 410));
  EXPECT_THAT(r.body(), HasSubstr("expired"));
  EXPECT_TRUE(backend_.downloads().empty());
  ASSERT_EQ(Audits(1).size(), 1u);
  EXPECT_EQ(backend_.audits()[0].outcome, "gone");
  EXPECT_EQ(backend_.audits()[0].status, 410);
}

// --max-downloads 2 let 4 of 12 parallel clients through: the slot is now
// taken before a byte is sent, and a download without one is not sent.
TEST_F(PortalServerTest, ADownloadWithoutASlotIsRefusedBeforeAByteIsSent) {
  StartServer();
  const std::string path = "/portal/v1/packages/" + std::string(kIdA);
  const std::string busy = "every download left of this package is under way; try again later";
  backend_.AnswerSlots(PortalBackend::Slot::kBusy, busy);
  CurlResult r = Curl("A", path);
  ASSERT_TRUE(Answered(r, 429));
  EXPECT_EQ(r.body(), nlohmann::json({{"error", busy}}).dump());
  backend_.AnswerSlots(PortalBackend::Slot::kGone, "used up");
  CurlResult gone = Curl("A", path, "-r 0-99");
  ASSERT_TRUE(Answered(gone, 410));
  EXPECT_EQ(gone.body(), PortalErrorBody(kPortalGoneMessage));

  EXPECT_EQ(backend_.begun().size(), 2u);
  EXPECT_EQ(backend_.begun()[1].length, 100u);  // asked with the range it would send
  auto audits = Audits(2);
  ASSERT_EQ(audits.size(), 2u);
  EXPECT_EQ(audits[0].status, 429);
  EXPECT_EQ(audits[0].outcome, busy);
  EXPECT_EQ(audits[1].status, 410);
  EXPECT_EQ(audits[1].outcome, "gone: used up");
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  EXPECT_TRUE(backend_.downloads().empty());  // no slot, nothing to give back
}

TEST_F(PortalServerTest, AMissingPackageFileGivesItsSlotBack) {
  StartServer();
  std::filesystem::remove(dir_ / (std::string(kIdA) + ".bin"));
  CurlResult r = Curl("A", "/portal/v1/packages/" + std::string(kIdA));
  ASSERT_TRUE(Answered(r, 500));
  EXPECT_EQ(r.body(), R"({"error":"package file unavailable"})");
  ASSERT_EQ(backend_.begun().size(), 1u);
  auto downloads = Downloads(1);
  ASSERT_EQ(downloads.size(), 1u);  // the slot's end: nothing sent
  EXPECT_EQ(downloads[0].bytes, 0u);
  EXPECT_FALSE(downloads[0].complete);
  ASSERT_EQ(Audits(1).size(), 1u);
  EXPECT_THAT(backend_.audits()[0].outcome, StartsWith("package file unavailable: "));
}

// An expired client certificate signed in (registered while valid, or by
// moving the clock): OpenSSL does not check the dates of a self-signed
// certificate it cannot verify. Refused at the handshake now, over TLS 1.2
// and 1.3, and on record with the certificate's dates.
TEST_F(PortalServerTest, ClientCertificateOutsideItsValidityIsRefusedAtTheHandshake) {
  StartServer();
  const std::string e_valid =
      " (valid " + certs->Day("E", "startdate") + " to " + certs->Day("E", "enddate") + ")";
  const std::string f_valid =
      " (valid " + certs->Day("F", "startdate") + " to " + certs->Day("F", "enddate") + ")";
  size_t audited = 0;
  for (std::string tls : {"--tlsv1.3", "--tlsv1.2 --tls-max 1.2"}) {
    CurlResult expired = Curl("E", "/portal/v1/packages/" + std::string(kIdA), tls);
    EXPECT_NE(expired.exit, 0) << tls;
    EXPECT_EQ(expired.http, 0) << tls;
    EXPECT_TRUE(expired.body().empty()) << tls;
    ++audited;
    EXPECT_EQ(Audits(audited).size(), audited) << tls;  // each on record once, in turn
  }
  CurlResult early = Curl("F", "/portal/v1/packages");
  EXPECT_NE(early.exit, 0);
  EXPECT_EQ(early.http, 0);
  ++audited;
  EXPECT_EQ(Audits(audited).size(), audited);
  // A valid certificate still gets in.
  EXPECT_TRUE(Answered(Curl("A", "/portal/v1/packages"), 200));

  auto audits = Audits(4);
  ASSERT_EQ(audits.size(), 4u);
  for (int i = 0; i < 2; ++i) {
    EXPECT_EQ(audits[i].caller.fingerprint, certs->fingerprint["E"]);
    EXPECT_EQ(audits[i].caller.contractor_id, "builder-e");
    EXPECT_EQ(audits[i].status, 0);
    EXPECT_EQ(audits[i].method, "");
    EXPECT_EQ(audits[i].outcome, "certificate expired on " + certs->Day("E", "enddate") + e_valid);
  }
  EXPECT_EQ(audits[2].caller.fingerprint, certs->fingerprint["F"]);
  EXPECT_EQ(audits[2].caller.contractor_id, "builder-f");
  EXPECT_EQ(audits[2].outcome,
            "certificate is not valid until " + certs->Day("F", "startdate") + f_valid);
  EXPECT_EQ(audits[3].outcome, "listed");
  EXPECT_TRUE(backend_.begun().empty());
  EXPECT_TRUE(backend_.downloads().empty());
}

TEST_F(PortalServerTest, RangeResumeRebuildsTheIdenticalFile) {
  StartServer();
  const std::string path = "/portal/v1/packages/" + std::string(kIdA);
  const std::string file = dir_ / "resumed";
  CurlResult first = Curl("A", path, "-r 0-999", file);
  ASSERT_TRUE(Answered(first, 206));
  EXPECT_THAT(first.headers,
              HasSubstr("Content-Range: bytes 0-999/" + std::to_string(content_a_.size())));
  ASSERT_EQ(std::filesystem::file_size(file), 1000u);

  // curl -C - asks for "bytes=1000-" and appends.
  CurlResult rest = Curl("A", path, "-C -", file);
  ASSERT_TRUE(Answered(rest, 206));
  EXPECT_TRUE(ReadFile(file) == content_a_) << "resumed file differs";

  CurlResult tail = Curl("A", path, "-r -10");
  EXPECT_EQ(tail.http, 206);
  EXPECT_EQ(tail.body(), content_a_.substr(content_a_.size() - 10));

  CurlResult beyond = Curl("A", path, "-r 99999999-");
  EXPECT_EQ(beyond.http, 416);
  EXPECT_THAT(beyond.headers,
              HasSubstr("Content-Range: bytes */" + std::to_string(content_a_.size())));

  // 416 is decided before a slot is asked for.
  EXPECT_EQ(backend_.begun().size(), 3u);
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

}  // namespace
}  // namespace itaku::transports::portal_test
