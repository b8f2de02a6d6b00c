#include "transports/portal_route.h"

#include <gtest/gtest.h>

#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <vector>

#include "tests/transports/package_shelf.h"

namespace itaku::transports {
namespace {

// Records what Route() asked for; answers from a map. Knows nothing of
// disposals: AcceptDisposalCertificate() is the interface's default.
class DownloadsOnlyBackend : public PortalBackend {
 public:
  std::optional<std::string> Authenticate(const std::string&, std::string*) override {
    return std::nullopt;
  }
  std::vector<PortalPackage> Available(const std::string& contractor_id) override {
    asked.push_back("available " + contractor_id);
    return shelf.Available(contractor_id);
  }
  Access Find(const std::string& contractor_id, const std::string& package_id,
              PortalPackage* out) override {
    asked.push_back("find " + contractor_id + " " + package_id);
    return shelf.Find(contractor_id, package_id, out);
  }
  void RecordDownload(const PortalCaller&, const std::string&, uint64_t, uint64_t, bool) override {}
  void Audit(const PortalCaller&, const std::string&, const std::string&, const std::string&,
             uint64_t, int, const std::string&) override {}

  test_util::PackageShelf shelf;
  std::vector<std::string> asked;
};

// The same, answering uploads with `answer`.
class FakeBackend : public DownloadsOnlyBackend {
 public:
  UploadAnswer AcceptDisposalCertificate(const PortalCaller& caller, int64_t delivery_id,
                                         const std::string& method, const std::string& disposed_on,
                                         const std::string& file,
                                         const std::string& file_name) override {
    asked.push_back("accept " + caller.contractor_id + " " + std::to_string(delivery_id) + " " +
                    method + " " + disposed_on + " " + file + " " + file_name);
    return answer;
  }

  UploadAnswer answer;
};

class PortalRouteTest : public ::testing::Test {
 protected:
  void SetUp() override {
    PortalPackage p;
    p.id = "p1";
    p.contractor_id = "builder-b";
    p.file_name = "builder-b-1.zip.p7m";
    p.size = 1000;
    p.sha256 = "abc";
    p.expires_at = "2030-01-01T00:00:00Z";
    p.max_downloads = 3;
    backend_.shelf.Put(p);
    p.id = "p2";
    backend_.shelf.Put(p, /*is_gone=*/true);
  }
  PortalResponse Get(const std::string& target, const std::string& who = "builder-b",
                     const std::string& method = "GET", bool body = false) {
    PortalRequest request;
    request.method = method;
    request.target = target;
    request.has_body = body;
    if (body) request.content_length = 10;
    return Route(request, Caller(who), "no contractor has certificate SHA256:AA", backend_);
  }
  static PortalCaller Caller(const std::string& who = "builder-b") {
    return PortalCaller{who, "SHA256:AA", "127.0.0.1:5"};
  }
  // A certificate upload's head: 1000 bytes of PDF unless changed.
  static PortalRequest Upload(const std::string& query = "?method=shredded&on=2026-12-01") {
    PortalRequest request;
    request.method = "POST";
    request.target = "/portal/v1/disposals/12" + query;
    request.has_body = true;
    request.content_length = 1000;
    request.content_type = "application/pdf";
    return request;
  }
  PortalResponse Post(const PortalRequest& request, uint64_t max = 4096) {
    return Route(request, Caller(), "", backend_, max);
  }
  FakeBackend backend_;
};

TEST_F(PortalRouteTest, ListsOnlyTheCallersAvailablePackages) {
  PortalResponse r = Get("/portal/v1/packages?x=1");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.outcome, "listed");
  EXPECT_FALSE(r.close);
  auto list = nlohmann::json::parse(r.body);
  ASSERT_EQ(list.size(), 1u);
  EXPECT_EQ(list[0]["id"], "p1");
  EXPECT_EQ(list[0]["downloads_left"], 3);
  EXPECT_EQ(backend_.asked, std::vector<std::string>{"available builder-b"});
}

TEST_F(PortalRouteTest, UnauthenticatedCallerIsRefusedAndClosedBeforeTheBackendIsAsked) {
  PortalResponse r = Get("/portal/v1/packages", "");
  EXPECT_EQ(r.status, 403);
  EXPECT_TRUE(r.close);
  EXPECT_EQ(r.outcome, "no contractor has certificate SHA256:AA");
  EXPECT_TRUE(backend_.asked.empty());
}

TEST_F(PortalRouteTest, DownloadNamesThePackage) {
  PortalResponse r = Get("/portal/v1/packages/p1");
  ASSERT_TRUE(r.download.has_value());
  EXPECT_EQ(r.download->file_name, "builder-b-1.zip.p7m");
  EXPECT_EQ(r.package_id, "p1");
  EXPECT_TRUE(r.body.empty());
}

TEST_F(PortalRouteTest, AnotherContractorsPackageIsNotFoundAndAGoneOneIsGone) {
  EXPECT_EQ(Get("/portal/v1/packages/p1", "agency-a").status, 404);
  PortalResponse gone = Get("/portal/v1/packages/p2");
  EXPECT_EQ(gone.status, 410);
  EXPECT_EQ(gone.outcome, "gone");
  EXPECT_FALSE(gone.download.has_value());
}

TEST_F(PortalRouteTest, UnknownPathsOddIdsOtherMethodsAndBodies) {
  EXPECT_EQ(Get("/admin").status, 404);
  PortalResponse odd = Get("/portal/v1/packages/..%2f");
  EXPECT_EQ(odd.status, 404);
  EXPECT_EQ(odd.outcome, "unknown path");
  EXPECT_EQ(odd.package_id, "");
  EXPECT_EQ(Get("/portal/v1/packages", "builder-b", "DELETE").status, 405);
  PortalResponse body = Get("/portal/v1/packages", "builder-b", "GET", true);
  EXPECT_EQ(body.status, 413);
  EXPECT_TRUE(body.close);
  EXPECT_EQ(body.body, R"({"error":"requests here carry no body"})");
  EXPECT_TRUE(backend_.asked.empty());
}

TEST_F(PortalRouteTest, AnUploadTakenNamesWhatTheSessionReadsAndAsksNothing) {
  PortalRequest request = Upload();
  request.content_type = "Application/PDF ; x=y";
  PortalResponse r = Post(request);
  ASSERT_TRUE(r.upload.has_value());
  EXPECT_EQ(r.status, 201);
  EXPECT_FALSE(r.close);
  EXPECT_EQ(r.upload->delivery_id, 12);
  EXPECT_EQ(r.upload->method, "shredded");
  EXPECT_EQ(r.upload->disposed_on, "2026-12-01");
  EXPECT_EQ(r.upload->content_type, "application/pdf");
  EXPECT_EQ(r.upload->file_name, "certificate.pdf");
  EXPECT_EQ(r.upload->length, 1000u);
  request = Upload("?on=2026-02-28&x=1&method=dissolved");
  request.content_type = "image/jpeg";
  request.file_name = "廃棄証明書 2026.jpg";
  r = Post(request);
  ASSERT_TRUE(r.upload.has_value());
  EXPECT_EQ(r.upload->method, "dissolved");
  EXPECT_EQ(r.upload->file_name, "廃棄証明書 2026.jpg");
  request.file_name.reset();
  request.content_type = "image/png";
  EXPECT_EQ(Post(request).upload->file_name, "certificate.png");
  EXPECT_TRUE(backend_.asked.empty());
}

// Each refusal is decided from the head: the body is never read, so the
// connection closes (unless no body follows).
TEST_F(PortalRouteTest, AnUploadHeadIsRefusedBeforeItsBody) {
  struct Case {
    std::string name;
    std::function<void(PortalRequest&)> change;
    int status;
    std::string error, outcome;
    bool close = true;
  };
  const std::vector<Case> cases = {
      {"chunked", [](PortalRequest& r) { r.chunked = true; }, 411,
       "Content-Length is required (no chunked uploads)", "length required"},
      {"no length",
       [](PortalRequest& r) {
         r.content_length.reset();
         r.has_body = false;
       },
       411, "Content-Length is required (no chunked uploads)", "length required", false},
      {"too large", [](PortalRequest& r) { r.content_length = 4097; }, 413,
       "the certificate is larger than the limit of 4096 bytes", "too large"},
      {"empty",
       [](PortalRequest& r) {
         r.content_length = 0;
         r.has_body = false;
       },
       400, "the certificate file is empty", "empty", false},
      {"no type", [](PortalRequest& r) { r.content_type = ""; }, 415,
       "Content-Type must be application/pdf, image/png or image/jpeg", "unsupported type"},
      {"zip", [](PortalRequest& r) { r.content_type = "application/zip"; }, 415,
       "Content-Type must be application/pdf, image/png or image/jpeg", "unsupported type"},
      {"method",
       [](PortalRequest& r) { r.target = "/portal/v1/disposals/12?method=burnt&on=2026-12-01"; },
       400, "method must be shredded, erased, returned or dissolved", "bad request: method"},
      {"no method", [](PortalRequest& r) { r.target = "/portal/v1/disposals/12?on=2026-12-01"; },
       400, "method must be shredded, erased, returned or dissolved", "bad request: method"},
      {"twice", [](PortalRequest& r) { r.target += "&method=erased"; }, 400,
       "method is given more than once", "bad request"},
      {"no day", [](PortalRequest& r) { r.target = "/portal/v1/disposals/12?method=erased"; }, 400,
       "on must be a day, YYYY-MM-DD", "bad request: day"},
      {"not a day",
       [](PortalRequest& r) { r.target = "/portal/v1/disposals/12?method=erased&on=2026-02-30"; },
       400, "on must be a day, YYYY-MM-DD", "bad request: day"},
      {"short day",
       [](PortalRequest& r) { r.target = "/portal/v1/disposals/12?method=erased&on=2026-2-3"; },
       400, "on must be a day, YYYY-MM-DD", "bad request: day"},
      {"slash", [](PortalRequest& r) { r.file_name = "../../etc/passwd"; }, 400,
       "X-Itaku-File-Name must not contain '/' or '\\'", "bad request: file name"},
      {"backslash", [](PortalRequest& r) { r.file_name = "a\\b.pdf"; }, 400,
       "X-Itaku-File-Name must not contain '/' or '\\'", "bad request: file name"},
      {"newline", [](PortalRequest& r) { r.file_name = "a\nb.pdf"; }, 400,
       "X-Itaku-File-Name must not contain control characters", "bad request: file name"},
      {"c1", [](PortalRequest& r) { r.file_name = "a\xc2\x85.pdf"; }, 400,
       "X-Itaku-File-Name must not contain control characters", "bad request: file name"},
      {"latin1", [](PortalRequest& r) { r.file_name = "caf\xe9.pdf"; }, 400,
       "X-Itaku-File-Name must be UTF-8", "bad request: file name"},
      {"dots", [](PortalRequest& r) { r.file_name = ".."; }, 400,
       "X-Itaku-File-Name must name a file", "bad request: file name"},
      {"blank", [](PortalRequest& r) { r.file_name = ""; }, 400, "X-Itaku-File-Name is empty",
       "bad request: file name"},
      {"long", [](PortalRequest& r) { r.file_name = std::string(256, 'a'); }, 400,
       "X-Itaku-File-Name is longer than 255 bytes", "bad request: file name"},
      {"two names",
       [](PortalRequest& r) {
         r.file_name = "a.pdf";
         r.file_name_repeated = true;
       },
       400, "X-Itaku-File-Name is given more than once", "bad request: file name"},
  };
  for (const Case& c : cases) {
    PortalRequest request = Upload();
    c.change(request);
    PortalResponse r = Post(request);
    EXPECT_EQ(r.status, c.status) << c.name;
    EXPECT_EQ(r.body, PortalErrorBody(c.error)) << c.name;
    EXPECT_EQ(r.outcome, c.outcome) << c.name;
    EXPECT_EQ(r.close, c.close) << c.name;
    EXPECT_FALSE(r.upload.has_value()) << c.name;
  }
  // The limit is named in MiB when it is whole MiB.
  PortalRequest big = Upload();
  big.content_length = (uint64_t{10} << 20) + 1;
  EXPECT_EQ(Route(big, Caller(), "", backend_).body,
            PortalErrorBody("the certificate is larger than the limit of 10 MiB"));
  EXPECT_TRUE(backend_.asked.empty());
}

TEST_F(PortalRouteTest, TheDisposalPathTakesOnlyPostByAnAuthenticatedCaller) {
  PortalResponse get = Get("/portal/v1/disposals/12");
  EXPECT_EQ(get.status, 405);
  EXPECT_EQ(get.allow, "POST");
  EXPECT_EQ(get.body, R"({"error":"only POST is allowed"})");
  EXPECT_EQ(Get("/portal/v1/packages", "builder-b", "POST").allow, "GET");
  PortalResponse put = Get("/portal/v1/disposals/12", "builder-b", "PUT", true);
  EXPECT_EQ(put.status, 405);
  EXPECT_TRUE(put.close);  // its body is not read
  for (std::string odd : {"/portal/v1/disposals/012", "/portal/v1/disposals/-1",
                          "/portal/v1/disposals/1x", "/portal/v1/disposals/",
                          "/portal/v1/disposals/1234567890123456789", "/portal/v1/disposals"}) {
    PortalRequest request = Upload();
    request.target = odd + "?method=erased&on=2026-12-01";
    PortalResponse r = Post(request);
    EXPECT_EQ(r.status, 404) << odd;
    EXPECT_EQ(r.outcome, "unknown path") << odd;
    EXPECT_TRUE(r.close) << odd;
  }
  PortalResponse stranger =
      Route(Upload(), Caller(""), "contractor builder-b is suspended", backend_);
  EXPECT_EQ(stranger.status, 403);
  EXPECT_TRUE(stranger.close);
  EXPECT_EQ(stranger.outcome, "contractor builder-b is suspended");
  EXPECT_TRUE(backend_.asked.empty());
}

TEST_F(PortalRouteTest, FinishUploadAnswersWhatTheRegistrySays) {
  PortalRequest request = Upload();
  request.file_name = "証明書.pdf";
  const PortalUpload upload = *Post(request).upload;
  backend_.answer = {UploadAnswer::Kind::kAccepted, "", "ab12", "shredded", "2026-12-01"};
  PortalResponse r = FinishUpload(upload, "/spool/u1", "%PDF-1.7", Caller(), backend_);
  EXPECT_EQ(r.status, 201);
  EXPECT_EQ(
      r.body,
      R"({"certificate_sha256":"ab12","delivery":12,"disposed_on":"2026-12-01","method":"shredded"})");
  EXPECT_EQ(r.outcome, "certificate accepted");
  EXPECT_FALSE(r.close);
  EXPECT_EQ(backend_.asked, std::vector<std::string>{
                                "accept builder-b 12 shredded 2026-12-01 /spool/u1 証明書.pdf"});

  struct Case {
    UploadAnswer answer;
    int status;
    std::string error, outcome;
  };
  const std::vector<Case> cases = {
      {{UploadAnswer::Kind::kNotFound, "delivery 12 is builder-a's", "", "", ""},
       404,
       "no such delivery",
       "not found: delivery 12 is builder-a's"},
      {{UploadAnswer::Kind::kConflict, "recorded on 2026-11-30", "", "", ""},
       409,
       "a disposal is already recorded for this delivery",
       "already recorded: recorded on 2026-11-30"},
      {{UploadAnswer::Kind::kInvalid, "the day is before the delivery", "", "", ""},
       400,
       "the day is before the delivery",
       "refused: the day is before the delivery"},
      {{UploadAnswer::Kind::kFailed, "database is locked", "", "", ""},
       500,
       "the certificate could not be recorded; try again later",
       "upload failed: database is locked"},
  };
  for (const Case& c : cases) {
    backend_.answer = c.answer;
    PortalResponse refused = FinishUpload(upload, "/spool/u1", "%PDF-1.7", Caller(), backend_);
    EXPECT_EQ(refused.status, c.status) << c.outcome;
    EXPECT_EQ(refused.body, PortalErrorBody(c.error)) << c.outcome;
    EXPECT_EQ(refused.outcome, c.outcome);
  }
  // A backend without disposals compiles, and takes nothing.
  DownloadsOnlyBackend none;
  PortalResponse unsupported = FinishUpload(upload, "/spool/u1", "%PDF-1.7", Caller(), none);
  EXPECT_EQ(unsupported.status, 404);
  EXPECT_EQ(unsupported.outcome, "not found: not supported");
}

TEST_F(PortalRouteTest, ABodyNotOfItsDeclaredTypeIsRefusedBeforeTheRegistry) {
  const PortalUpload upload = *Post(Upload()).upload;
  PortalResponse r = FinishUpload(upload, "/spool/u1", "MZ\x90\0", Caller(), backend_);
  EXPECT_EQ(r.status, 415);
  EXPECT_EQ(r.body, R"({"error":"the file is not a PDF"})");
  EXPECT_EQ(r.outcome, "unsupported type: content is not application/pdf");
  EXPECT_TRUE(backend_.asked.empty());
  EXPECT_TRUE(BodyMatchesType("image/png", "\x89PNG\r\n\x1a\n"));
  EXPECT_FALSE(BodyMatchesType("image/png", "\x89PNG"));
  EXPECT_TRUE(BodyMatchesType("image/jpeg", "\xff\xd8\xff\xe0"));
  EXPECT_FALSE(BodyMatchesType("image/jpeg", "%PDF-1.4"));
  EXPECT_FALSE(BodyMatchesType("text/plain", "%PDF-1.4"));
}

TEST(PlanDownloadTest, RangesAndIfRange) {
  PortalPackage p;
  p.sha256 = "abc";
  DownloadPlan whole = PlanDownload(p, 1000, "", "");
  EXPECT_EQ(whole.status, 200);
  EXPECT_EQ(whole.range.length, 1000u);
  EXPECT_EQ(whole.etag, "\"abc\"");
  DownloadPlan tail = PlanDownload(p, 1000, "bytes=900-", "\"abc\"");
  EXPECT_EQ(tail.status, 206);
  EXPECT_EQ(tail.range.first, 900u);
  EXPECT_EQ(tail.range.length, 100u);
  EXPECT_EQ(PlanDownload(p, 1000, "bytes=-10", "").range.first, 990u);
  EXPECT_EQ(PlanDownload(p, 1000, "bytes=900-", "\"other\"").status, 200);
  EXPECT_EQ(PlanDownload(p, 1000, "bytes=1000-", "").status, 416);
  EXPECT_EQ(PlanDownload(p, 1000, "bytes=1-2,5-6", "").status, 200);
  EXPECT_EQ(PlanDownload(p, 1000, "bytes=x-", "").status, 200);
}

// A 10-byte tail Range counted as a full download.
TEST(DownloadCoverageTest, ATailCountsNothingRangesThatJoinCountOnce) {
  DownloadCoverage c(1000);
  EXPECT_FALSE(c.Add(990, 10));
  EXPECT_EQ(c.missing(), 990u);
  EXPECT_FALSE(c.Add(0, 500));
  EXPECT_EQ(c.missing(), 490u);
  EXPECT_TRUE(c.Add(500, 490));  // the gap: every byte once
  EXPECT_EQ(c.missing(), 1000u);
  EXPECT_EQ(c.pieces(), 1u);
  // A broken download resumed: counted when its last part ends.
  EXPECT_FALSE(c.Add(0, 600));
  EXPECT_EQ(c.pieces(), 2u);
  EXPECT_FALSE(c.Add(0, 600));  // sent again: still one part copy
  EXPECT_TRUE(c.Add(600, 400));
  EXPECT_EQ(c.missing(), 400u);  // [0, 600) went out once more than counted
  EXPECT_TRUE(c.Add(600, 400));
  EXPECT_EQ(c.missing(), 1000u);
}

TEST(DownloadCoverageTest, WholeDownloadsCountEachAndOverlapsNeverCountACopyNotSent) {
  DownloadCoverage c(100);
  EXPECT_TRUE(c.Add(0, 100));
  EXPECT_TRUE(c.Add(0, 100));
  EXPECT_EQ(c.pieces(), 1u);
  // All but the last byte three times: nothing yet. Each last byte then
  // completes one of those copies, and a fourth has none to complete. (A
  // rule of "the union since the last count" would count the first and
  // forget the other two: three copies for one count.)
  EXPECT_FALSE(c.Add(0, 99));
  EXPECT_FALSE(c.Add(0, 99));
  EXPECT_FALSE(c.Add(0, 99));
  EXPECT_TRUE(c.Add(99, 1));
  EXPECT_TRUE(c.Add(99, 1));
  EXPECT_TRUE(c.Add(99, 1));
  EXPECT_FALSE(c.Add(99, 1));
  EXPECT_EQ(c.missing(), 99u);
}

TEST(DownloadCoverageTest, RangesAreClippedToTheFile) {
  DownloadCoverage c(10);
  EXPECT_FALSE(c.Add(10, 5));  // wholly past the end
  EXPECT_FALSE(c.Add(3, 0));
  EXPECT_EQ(c.missing(), 10u);
  EXPECT_FALSE(c.Add(5, UINT64_MAX));  // no overflow
  EXPECT_EQ(c.missing(), 5u);
  EXPECT_TRUE(c.Add(0, 5));
  DownloadCoverage empty(0);
  EXPECT_TRUE(empty.Add(0, 0));  // a 0-byte file: every complete response is a copy
}

TEST(QuotedFileNameTest, CannotBreakOut) {
  EXPECT_EQ(QuotedFileName("a\"b\\c\r\n.zip"), "\"a_b_c__.zip\"");
}

}  // namespace
}  // namespace itaku::transports
