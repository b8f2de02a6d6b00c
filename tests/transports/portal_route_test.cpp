#include "transports/portal_route.h"

#include <gtest/gtest.h>

#include <map>
#include <nlohmann/json.hpp>
#include <vector>

#include "tests/transports/package_shelf.h"

namespace itaku::transports {
namespace {

// Records what Route() asked for; answers from a map.
class FakeBackend : public PortalBackend {
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
    return Route({method, target, body}, PortalCaller{who, "SHA256:AA", "127.0.0.1:5"},
                 "no contractor has certificate SHA256:AA", backend_);
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
