#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "gateway/portal_commands.h"
#include "tests/gateway/gateway_fixture.h"
#include "tests/transports/test_util.h"
#include "transports/portal_route.h"

namespace itaku::gateway {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;
using transports::test_util::CertificateFingerprint;
using Access = transports::PortalBackend::Access;
using Json = nlohmann::json;

// The store-backed portal backend (policy 6(2) サーバへのアクセス): packages
// published by real portal deliveries (encrypted to builder-b's certificate
// made by the openssl CLI), asked for as the portal server asks, with
// contractors known by their portal certificates' fingerprints as openssl
// prints them. The clock stands still from just after the registration.
class PortalBackendTest : public gateway_test::StoreFixture {
 protected:
  PortalBackendTest() : StoreFixture("portal", "2026-12-01T01:00:00Z") {}

  void Register() override {
    for (const char* name : {"builder-b", "builder-b-portal", "builder-c-portal"}) {
      MakeCertificate(name);
      ASSERT_FALSE(HasFatalFailure());
      fingerprint_[name] = CertificateFingerprint(Path(std::string(name) + ".crt"));
      ASSERT_EQ(fingerprint_[name].rfind("SHA256:", 0), 0u) << fingerprint_[name];
    }
    Write("export.csv",
          "subscriber_id,name,address,phone\n"
          "S1,山田太郎,兵庫県姫路市1-1,0792000001\n"
          "S2,佐藤花子,兵庫県姫路市2-2,0792000002\n");
    // The certificates are judged against the real time they were made at.
    SetClock(std::make_unique<SystemClock>());
    for (const std::string id : {"builder-b", "builder-c"}) {
      ContractorArgs c;
      c.id = id;
      c.name = id + " 工務店";
      if (id == "builder-b") c.cert_file = Path("builder-b.crt");
      c.portal_cert_file = Path(id + "-portal.crt");
      AddContractor(c);
    }
    SignNdaAndImportProfile("builder-b", R"(id = "builder-installation"
contractor = "builder-b"
purpose = "installation"
fields = ["subscriber_id", "name", "address"]
transports = ["portal"]
valid_from = 2026-01-01
valid_until = 2099-12-31
retention_days = 30
)");
    SetClock(std::make_unique<FixedClock>(SystemClock().NowUtc()));
  }

  // Publishes the export to builder-b; the package's id.
  std::string Publish(const std::string& expires_in = "7d", int max_downloads = 3) {
    DeliverRequest r;
    r.profile_id = "builder-installation";
    r.input_path = Path("export.csv");
    r.transport = contracts::Transport::kPortal;
    r.expires_in = expires_in;
    r.max_downloads = max_downloads;
    auto result = Deliver(ctx_, r);
    EXPECT_TRUE(result.ok()) << result.message();
    if (!result.ok()) return "";
    EXPECT_TRUE(result->allowed()) << ::testing::PrintToString(result->reasons);
    return result->portal_package_id;
  }

  // Who the portal server would say is calling, with builder-b's (or
  // another) portal certificate.
  transports::PortalCaller Caller(const std::string& contractor = "builder-b") {
    return {contractor, fingerprint_[contractor + "-portal"], "127.0.0.1:50001"};
  }

  contracts::PortalPackageRecord Stored(const std::string& id) {
    auto found = ctx_.store->FindPortalPackage(id);
    EXPECT_TRUE(found.ok() && found.value()) << found.message();
    return found.ok() && found.value() ? *found.value() : contracts::PortalPackageRecord{};
  }

  // The package's state as `itaku portal list` shows it to staff.
  std::string StateOf(const std::string& id) {
    auto list = PortalList(ctx_, std::nullopt);
    EXPECT_TRUE(list.ok()) << list.message();
    for (const Json& p : list->json) {
      if (p["id"] == id) return p["state"];
    }
    return "not listed";
  }

  // What the portal answers a GET of the package.
  transports::PortalResponse Get(const std::string& id, const std::string& who = "builder-b") {
    return transports::Route({"GET", "/portal/v1/packages/" + id, false}, Caller(who), "",
                             backend_);
  }

  std::map<std::string, std::string> fingerprint_;
  StorePortalBackend backend_{ctx_};
};

TEST_F(PortalBackendTest, PublishedPackageIsOfferedToItsContractorOnly) {
  const std::string id = Publish();
  ASSERT_EQ(id.size(), 32u);
  const contracts::PortalPackageRecord stored = Stored(id);
  EXPECT_EQ(stored.contractor_id, "builder-b");
  EXPECT_EQ(stored.size, static_cast<int64_t>(fs::file_size(stored.path)));
  EXPECT_EQ(stored.expires_at, FormatUtc(ctx_.clock->Now() + std::chrono::hours(7 * 24)));
  EXPECT_EQ(AuditCount("delivery.portal"), 1);

  std::vector<transports::PortalPackage> offered = backend_.Available("builder-b");
  ASSERT_EQ(offered.size(), 1u);
  EXPECT_EQ(offered[0].id, id);
  EXPECT_EQ(offered[0].path, stored.path);
  EXPECT_EQ(offered[0].sha256, stored.sha256);
  EXPECT_EQ(offered[0].size, static_cast<uint64_t>(stored.size));
  EXPECT_EQ(offered[0].downloads_left(), 3);
  EXPECT_TRUE(backend_.Available("builder-c").empty());
  EXPECT_EQ(StateOf(id), "available");
  transports::PortalResponse got = Get(id);
  EXPECT_EQ(got.status, 200);
  ASSERT_TRUE(got.download.has_value());
  EXPECT_EQ(got.download->path, stored.path);
}

TEST_F(PortalBackendTest, ACompleteDownloadByItsContractorIsCountedAndAudited) {
  const std::string id = Publish();
  const uint64_t size = static_cast<uint64_t>(Stored(id).size);
  backend_.RecordDownload(Caller(), id, 0, size, /*complete=*/true);

  EXPECT_EQ(Stored(id).downloads, 1);
  EXPECT_EQ(backend_.Available("builder-b")[0].downloads_left(), 2);
  auto downloads = ctx_.store->ListPortalDownloads(id);
  ASSERT_TRUE(downloads.ok()) << downloads.message();
  ASSERT_EQ(downloads->size(), 1u);
  EXPECT_EQ((*downloads)[0].contractor_id, "builder-b");
  EXPECT_EQ((*downloads)[0].fingerprint, fingerprint_["builder-b-portal"]);
  EXPECT_EQ((*downloads)[0].address, "127.0.0.1:50001");
  EXPECT_EQ((*downloads)[0].bytes, static_cast<int64_t>(size));
  EXPECT_TRUE((*downloads)[0].counted);
  const auto events = AuditEvents("portal.download");
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].actor, "builder-b");
  EXPECT_EQ(events[0].subject, "portal:" + id);
  const Json details = Json::parse(events[0].details);
  EXPECT_EQ(details["fingerprint"], fingerprint_["builder-b-portal"]);
  EXPECT_EQ(details["bytes"], size);
  EXPECT_EQ(details["counted"], true);

  // Every request is on record too, with what the portal answered.
  backend_.Audit(Caller(), "GET", "/portal/v1/packages/" + id, id, size, 200, "downloaded");
  const auto requests = AuditEvents("portal.request");
  ASSERT_EQ(requests.size(), 1u);
  EXPECT_EQ(Json::parse(requests[0].details)["outcome"], "downloaded");
  EXPECT_EQ(Json::parse(requests[0].details)["status"], 200);
  auto list = PortalList(ctx_, std::string("builder-b"));
  ASSERT_TRUE(list.ok()) << list.message();
  EXPECT_THAT(list->text, HasSubstr("\t1/3 downloads\n    "));
  EXPECT_THAT(list->text, HasSubstr(" builder-b from 127.0.0.1:50001: " + std::to_string(size) +
                                    " bytes from 0, complete"));
  ExpectAuditIntact();
}

TEST_F(PortalBackendTest, AnotherContractorsCertificateIsRefused) {
  const std::string id = Publish();
  std::string why;
  EXPECT_EQ(backend_.Authenticate(fingerprint_["builder-b-portal"], &why),
            std::optional<std::string>("builder-b"));
  // builder-c signs in as itself, and builder-b's package is not there for
  // it: not found, as if it never was.
  EXPECT_EQ(backend_.Authenticate(fingerprint_["builder-c-portal"], &why),
            std::optional<std::string>("builder-c"));
  transports::PortalPackage out;
  EXPECT_EQ(backend_.Find("builder-c", id, &out), Access::kNotFound);
  EXPECT_EQ(Get(id, "builder-c").status, 404);
  // A package certificate is not a portal certificate.
  EXPECT_FALSE(backend_.Authenticate(fingerprint_["builder-b"], &why).has_value());
  EXPECT_EQ(why, "no contractor has certificate " + fingerprint_["builder-b"]);
  // A suspended contractor's certificate opens nothing.
  ASSERT_TRUE(ContractorSetStatus(ctx_, "builder-b", "suspended", "audit").ok());
  EXPECT_FALSE(backend_.Authenticate(fingerprint_["builder-b-portal"], &why).has_value());
  EXPECT_EQ(why, "contractor builder-b is suspended");
  EXPECT_EQ(Stored(id).downloads, 0);
  EXPECT_EQ(AuditCount("portal.download"), 0);
}

TEST_F(PortalBackendTest, ExpiredRevokedOrUsedUpPackageIsGoneWithTheReason) {
  const std::string expiring = Publish("1d");
  const std::string revoked = Publish();
  const std::string used_up = Publish("7d", 1);
  const std::string kept = Publish();
  backend_.RecordDownload(Caller(), used_up, 0, static_cast<uint64_t>(Stored(used_up).size), true);
  auto revoke = PortalRevoke(ctx_, revoked);
  ASSERT_TRUE(revoke.ok()) << revoke.message();
  EXPECT_FALSE(fs::exists(Stored(revoked).path));
  EXPECT_THAT(PortalRevoke(ctx_, revoked).message(),
              HasSubstr("portal package " + revoked + " was already revoked on "));
  SetClock(std::make_unique<FixedClock>(FormatUtc(ctx_.clock->Now() + std::chrono::hours(25))));

  for (const auto& [id, reason] : {std::pair{expiring, "expired"}, std::pair{revoked, "revoked"},
                                   std::pair{used_up, "used up"}}) {
    SCOPED_TRACE(reason);
    transports::PortalPackage out;
    EXPECT_EQ(backend_.Find("builder-b", id, &out), Access::kGone);
    EXPECT_EQ(out.id, id);
    EXPECT_EQ(StateOf(id), reason);
    transports::PortalResponse got = Get(id);
    EXPECT_EQ(got.status, 410);
    EXPECT_EQ(got.outcome, "gone");
    EXPECT_FALSE(got.download.has_value());
  }
  std::vector<transports::PortalPackage> offered = backend_.Available("builder-b");
  ASSERT_EQ(offered.size(), 1u);
  EXPECT_EQ(offered[0].id, kept);
  EXPECT_EQ(StateOf(kept), "available");
  EXPECT_EQ(AuditCount("portal.revoke"), 1);
}

TEST_F(PortalBackendTest, PartialDownloadsAreNotCounted) {
  const std::string id = Publish("7d", 1);
  const uint64_t size = static_cast<uint64_t>(Stored(id).size);
  ASSERT_GT(size, 100u);
  backend_.RecordDownload(Caller(), id, 0, size, /*complete=*/false);  // broken off
  backend_.RecordDownload(Caller(), id, 0, 100, /*complete=*/true);    // the first part
  EXPECT_EQ(Stored(id).downloads, 0);
  transports::PortalPackage out;
  EXPECT_EQ(backend_.Find("builder-b", id, &out), Access::kOk);
  // The rest, resumed: the file's last byte reached, one download.
  backend_.RecordDownload(Caller(), id, 100, size - 100, /*complete=*/true);
  EXPECT_EQ(Stored(id).downloads, 1);
  EXPECT_EQ(backend_.Find("builder-b", id, &out), Access::kGone);

  auto downloads = ctx_.store->ListPortalDownloads(id);
  ASSERT_TRUE(downloads.ok()) << downloads.message();
  std::vector<bool> counted;
  for (const auto& d : *downloads) counted.push_back(d.counted);
  EXPECT_EQ(counted, (std::vector<bool>{false, false, true}));
  EXPECT_EQ(AuditCount("portal.download"), 3);
  EXPECT_EQ(StateOf(id), "used up");
}

}  // namespace
}  // namespace itaku::gateway
