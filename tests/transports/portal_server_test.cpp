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

// Certificate uploads (POST /portal/v1/disposals/{id}).

std::string DisposalPath(int64_t delivery,
                         const std::string& query = "?method=shredded&on=2026-12-01") {
  return "/portal/v1/disposals/" + std::to_string(delivery) + query;
}

std::string PdfBytes(size_t n, unsigned seed) { return "%PDF-1.7\n" + RandomBytes(n, seed); }

class PortalUploadTest : public PortalServerTest {
 protected:
  void SetUp() override {
    PortalServerTest::SetUp();
    backend_.AddDelivery(12, "builder-a");
    backend_.AddDelivery(13, "builder-b");
  }
  // curl uploading `content` (from a file) with these extra options.
  CurlResult Upload(const std::string& who, const std::string& path, const std::string& content,
                    const std::string& extra = "-H 'Content-Type: application/pdf'") {
    const std::string file = dir_ / ("upload-" + std::to_string(++uploads_made_));
    WriteFile(file, content);
    return Curl(who, path, "--data-binary @" + file + " " + extra);
  }
  // What is left in the upload folder: nothing, once each upload is answered.
  std::vector<std::string> UploadFolder() {
    std::vector<std::string> names;
    for (const auto& e : std::filesystem::directory_iterator(options_.upload_dir)) {
      names.push_back(e.path().filename());
    }
    return names;
  }
  int uploads_made_ = 0;
};

TEST_F(PortalUploadTest, ACertificateReachesTheBackendByteForByteAndItsFileIsGone) {
  StartServer();
  const std::string pdf = PdfBytes(3 * 1024 * 1024 + 5, 7);  // many buffers
  CurlResult r =
      Upload("A", DisposalPath(12), pdf,
             "-H 'Content-Type: application/pdf' -H 'X-Itaku-File-Name: 廃棄証明書.pdf'");
  ASSERT_TRUE(Answered(r, 201)) << r.body();
  EXPECT_THAT(r.headers, HasSubstr("Content-Type: application/json"));
  EXPECT_EQ(r.uploaded, pdf.size());
  EXPECT_EQ(nlohmann::json::parse(r.body()), nlohmann::json({{"delivery", 12},
                                                             {"certificate_sha256", Sha256Hex(pdf)},
                                                             {"method", "shredded"},
                                                             {"disposed_on", "2026-12-01"}}));
  auto uploads = backend_.uploads();
  ASSERT_EQ(uploads.size(), 1u);
  EXPECT_EQ(uploads[0].contractor_id, "builder-a");
  EXPECT_EQ(uploads[0].delivery_id, 12);
  EXPECT_EQ(uploads[0].method, "shredded");
  EXPECT_EQ(uploads[0].disposed_on, "2026-12-01");
  EXPECT_EQ(uploads[0].file_name, "廃棄証明書.pdf");
  EXPECT_EQ(uploads[0].sha256, Sha256Hex(pdf));  // the exact bytes
  EXPECT_EQ(uploads[0].size, pdf.size());
  EXPECT_EQ(uploads[0].mode, 0600u);
  EXPECT_EQ(std::filesystem::path(uploads[0].file).parent_path(), options_.upload_dir);
  EXPECT_FALSE(std::filesystem::exists(uploads[0].file));
  EXPECT_TRUE(UploadFolder().empty());
  auto audits = Audits(1);
  ASSERT_EQ(audits.size(), 1u);
  EXPECT_EQ(audits[0].caller.contractor_id, "builder-a");
  EXPECT_EQ(audits[0].method, "POST");
  EXPECT_EQ(audits[0].target, DisposalPath(12));
  EXPECT_EQ(audits[0].bytes, pdf.size());
  EXPECT_EQ(audits[0].status, 201);
  EXPECT_EQ(audits[0].outcome, "certificate accepted");

  // A small one without a name (and without Expect: 100-continue), then a
  // listing on the same kept-alive connection: the body was read to its
  // end, and no further.
  const std::string png = std::string("\x89PNG\r\n\x1a\n") + RandomBytes(2000, 8);
  const std::string file = dir_ / "small.png", first = dir_ / "keep-1", second = dir_ / "keep-2";
  WriteFile(file, png);
  const std::string tls = " --cacert " + certs->cert("server") + " --cert " + certs->cert("B") +
                          " --key " + certs->key("B");
  const std::string cmd = "curl -sS --max-time 60" + tls +
                          " -H 'Content-Type: image/png' -H 'Expect:' --data-binary @" + file +
                          " -o " + first + " '" +
                          Url(DisposalPath(13, "?method=erased&on=2026-11-30")) + "' --next" + tls +
                          " -o " + second + " '" + Url("/portal/v1/packages") + "' 2>/dev/null";
  ASSERT_EQ(std::system(cmd.c_str()), 0);
  EXPECT_EQ(nlohmann::json::parse(ReadFile(first))["certificate_sha256"], Sha256Hex(png));
  EXPECT_EQ(nlohmann::json::parse(ReadFile(second)).size(), 1u);
  uploads = backend_.uploads();
  ASSERT_EQ(uploads.size(), 2u);
  EXPECT_EQ(uploads[1].file_name, "certificate.png");
  EXPECT_EQ(uploads[1].sha256, Sha256Hex(png));
  audits = Audits(3);
  ASSERT_EQ(audits.size(), 3u);
  EXPECT_EQ(audits[1].outcome, "certificate accepted");
  EXPECT_EQ(audits[2].outcome, "listed");
  EXPECT_EQ(audits[1].caller.address, audits[2].caller.address) << "not one connection";
  EXPECT_TRUE(UploadFolder().empty());
}

// 10 MiB was the limit and a 4 GiB Content-Length was read to its end
// before anything was said: now the head alone is answered.
TEST_F(PortalUploadTest, AnUploadOverTheLimitIsRefusedBeforeItsBodyIsRead) {
  options_.max_upload_bytes = 1 << 20;
  StartServer();
  const std::string big = PdfBytes(4 << 20, 9);
  // curl asks "Expect: 100-continue" for a body this large and waits: it
  // is told 413 instead, and sends nothing.
  CurlResult r = Upload("A", DisposalPath(12), big);
  ASSERT_TRUE(Answered(r, 413));
  EXPECT_EQ(r.body(), R"({"error":"the certificate is larger than the limit of 1 MiB"})");
  EXPECT_THAT(r.headers, HasSubstr("Connection: close"));
  EXPECT_EQ(r.uploaded, 0u) << "the body was sent";
  // One byte over, sent at once without asking: refused all the same, and
  // the connection (with the body unread on it) is closed.
  CurlResult eager = Upload("A", DisposalPath(12), PdfBytes((1 << 20) - 8, 10),
                            "-H 'Content-Type: application/pdf' -H 'Expect:'");
  EXPECT_EQ(eager.http, 413) << eager.error;
  EXPECT_TRUE(backend_.uploads().empty());
  auto audits = Audits(2);
  ASSERT_EQ(audits.size(), 2u);
  for (const auto& a : audits) {
    EXPECT_EQ(a.status, 413);
    EXPECT_EQ(a.outcome, "too large");
    EXPECT_EQ(a.bytes, 0u);
  }
  EXPECT_TRUE(UploadFolder().empty());
  // Exactly the limit is taken.
  EXPECT_TRUE(Answered(Upload("A", DisposalPath(12), PdfBytes((1 << 20) - 9, 11)), 201));
}

TEST_F(PortalUploadTest, AnUploadWithoutALengthOrOfAnotherTypeIsRefused) {
  StartServer();
  const std::string pdf = PdfBytes(5000, 12);
  CurlResult chunked = Upload("A", DisposalPath(12), pdf,
                              "-H 'Content-Type: application/pdf' -H 'Transfer-Encoding: chunked'");
  ASSERT_TRUE(Answered(chunked, 411));
  EXPECT_EQ(chunked.body(), PortalErrorBody("Content-Length is required (no chunked uploads)"));
  EXPECT_THAT(chunked.headers, HasSubstr("Connection: close"));
  CurlResult text = Upload("A", DisposalPath(12), pdf, "-H 'Content-Type: text/plain'");
  ASSERT_TRUE(Answered(text, 415));
  EXPECT_EQ(text.body(),
            R"({"error":"Content-Type must be application/pdf, image/png or image/jpeg"})");
  // Said to be a JPEG, but a PDF: read, found out, and never handed on.
  CurlResult liar = Upload("A", DisposalPath(12), pdf, "-H 'Content-Type: image/jpeg'");
  ASSERT_TRUE(Answered(liar, 415));
  EXPECT_EQ(liar.body(), R"({"error":"the file is not a JPEG image"})");
  CurlResult day = Upload("A", DisposalPath(12, "?method=shredded&on=2026-13-01"), pdf);
  ASSERT_TRUE(Answered(day, 400));
  EXPECT_EQ(day.body(), R"({"error":"on must be a day, YYYY-MM-DD"})");
  CurlResult name = Upload("A", DisposalPath(12), pdf,
                           "-H 'Content-Type: application/pdf' -H 'X-Itaku-File-Name: ../x.pdf'");
  ASSERT_TRUE(Answered(name, 400));
  CurlResult get = Curl("A", DisposalPath(12));
  ASSERT_TRUE(Answered(get, 405));
  EXPECT_THAT(get.headers, HasSubstr("Allow: POST"));
  EXPECT_TRUE(backend_.uploads().empty());
  EXPECT_TRUE(UploadFolder().empty());
  auto audits = Audits(6);
  ASSERT_EQ(audits.size(), 6u);
  EXPECT_EQ(audits[0].outcome, "length required");
  EXPECT_EQ(audits[1].outcome, "unsupported type");
  EXPECT_EQ(audits[2].outcome, "unsupported type: content is not image/jpeg");
  EXPECT_EQ(audits[2].bytes, pdf.size());
  EXPECT_EQ(audits[3].outcome, "bad request: day");
  EXPECT_EQ(audits[4].outcome, "bad request: file name");
  EXPECT_EQ(audits[5].outcome, "method not allowed");
}

TEST_F(PortalUploadTest, AnotherContractorsDeliveryIsNotFoundAndASecondCertificateConflicts) {
  StartServer();
  const std::string pdf = PdfBytes(5000, 13);
  CurlResult other = Upload("B", DisposalPath(12), pdf);
  ASSERT_TRUE(Answered(other, 404));
  EXPECT_EQ(other.body(), R"({"error":"no such delivery"})");
  CurlResult unknown = Upload("B", DisposalPath(99), pdf);
  ASSERT_TRUE(Answered(unknown, 404));
  EXPECT_EQ(unknown.body(), other.body());  // nothing tells the two apart
  EXPECT_TRUE(Answered(Upload("A", DisposalPath(12), pdf), 201));
  CurlResult again = Upload("A", DisposalPath(12), pdf);
  ASSERT_TRUE(Answered(again, 409));
  EXPECT_EQ(again.body(), R"({"error":"a disposal is already recorded for this delivery"})");
  CurlResult stranger = Upload("U", DisposalPath(12), pdf);
  ASSERT_TRUE(Answered(stranger, 403));
  EXPECT_EQ(backend_.uploads().size(), 4u);  // the stranger's never reached it
  EXPECT_TRUE(UploadFolder().empty());
  auto audits = Audits(5);
  ASSERT_EQ(audits.size(), 5u);
  EXPECT_EQ(audits[0].caller.contractor_id, "builder-b");
  EXPECT_EQ(audits[0].status, 404);
  EXPECT_EQ(audits[0].outcome, "not found: no delivery 12");
  EXPECT_EQ(audits[3].status, 409);
  EXPECT_EQ(audits[3].outcome, "already recorded: already recorded");
  EXPECT_EQ(audits[4].status, 403);
}

// The upload file goes whatever happens: a registry that fails, a client
// that leaves half-way, a folder that cannot take the file.
TEST_F(PortalUploadTest, TheUploadFileIsGoneWhateverHappens) {
  StartServer();
  backend_.AnswerUploads({UploadAnswer::Kind::kFailed, "database is locked", "", "", ""});
  CurlResult failed = Upload("A", DisposalPath(12), PdfBytes(5000, 14));
  ASSERT_TRUE(Answered(failed, 500));
  EXPECT_EQ(failed.body(), R"({"error":"the certificate could not be recorded; try again later"})");
  ASSERT_EQ(backend_.uploads().size(), 1u);
  EXPECT_FALSE(std::filesystem::exists(backend_.uploads()[0].file));

  // 8 MiB at 1 MiB/s, given up after a second.
  CurlResult left = Upload("A", DisposalPath(12), PdfBytes(8 << 20, 15),
                           "-H 'Content-Type: application/pdf' --limit-rate 1M --max-time 1");
  EXPECT_NE(left.exit, 0);
  auto audits = Audits(2);
  ASSERT_EQ(audits.size(), 2u);
  EXPECT_EQ(audits[1].status, 0);
  EXPECT_EQ(audits[1].outcome, "upload interrupted");
  EXPECT_GT(audits[1].bytes, 0u);
  EXPECT_LT(audits[1].bytes, 8u << 20);
  EXPECT_EQ(backend_.uploads().size(), 1u);
  EXPECT_TRUE(UploadFolder().empty());

  std::filesystem::remove(options_.upload_dir);
  CurlResult nowhere = Upload("A", DisposalPath(12), PdfBytes(5000, 16));
  ASSERT_TRUE(Answered(nowhere, 500));
  EXPECT_EQ(nowhere.body(), R"({"error":"the certificate could not be stored; try again later"})");
  audits = Audits(3);
  ASSERT_EQ(audits.size(), 3u);
  EXPECT_EQ(audits[2].outcome, "upload file not created: No such file or directory");
}

TEST_F(PortalUploadTest, ASlowUploadTimesOutAndOnlyAConfiguredFolderTakesUploads) {
  options_.io_timeout_ms = 300;
  StartServer();
  // Sends the head and a few bytes of body, then nothing.
  const std::string pdf = PdfBytes(100, 17);
  const std::string cmd =
      "(printf 'POST " + DisposalPath(12) +
      " HTTP/1.1\r\nHost: x\r\nContent-Type: application/pdf\r\nContent-Length: 5000\r\n\r\n"
      "%%PDF-1.7'; sleep 3) | timeout 10 openssl s_client -quiet -connect 127.0.0.1:" +
      std::to_string(server_->port()) + " -cert " + certs->cert("A") + " -key " + certs->key("A") +
      " >/dev/null 2>&1";
  std::system(cmd.c_str());
  auto audits = Audits(1);
  ASSERT_EQ(audits.size(), 1u);
  EXPECT_EQ(audits[0].status, 408);
  EXPECT_EQ(audits[0].outcome, "upload timed out");
  EXPECT_EQ(audits[0].bytes, 8u);  // "%PDF-1.7"
  EXPECT_TRUE(backend_.uploads().empty());
  EXPECT_TRUE(UploadFolder().empty());
  StopServer();

  options_.upload_dir.clear();
  StartServer();
  CurlResult r = Upload("A", DisposalPath(12), pdf);
  ASSERT_TRUE(Answered(r, 503));
  EXPECT_EQ(r.body(), R"({"error":"this portal takes no uploads"})");
}

TEST_F(PortalUploadTest, CreateRefusesAnUploadFolderOthersCanOpen) {
  std::filesystem::permissions(options_.upload_dir, std::filesystem::perms::group_exec,
                               std::filesystem::perm_options::add);
  auto r = PortalServer::Create(options_, backend_);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.message(), "portal upload folder " + options_.upload_dir +
                             " is open to group or others; it must be mode 0700");
  options_.upload_dir = dir_ / "missing";
  r = PortalServer::Create(options_, backend_);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.message(),
            "portal upload folder " + options_.upload_dir + ": No such file or directory");
}

}  // namespace
}  // namespace itaku::transports::portal_test
