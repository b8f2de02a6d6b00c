#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
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
using Slot = transports::PortalBackend::Slot;
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
    transports::PortalRequest request;
    request.method = "GET";
    request.target = "/portal/v1/packages/" + id;
    return transports::Route(request, Caller(who), "", backend_);
  }

  // The package as the portal server holds it after Find().
  transports::PortalPackage Package(const std::string& id) {
    transports::PortalPackage p;
    EXPECT_EQ(backend_.Find("builder-b", id, &p), Access::kOk);
    return p;
  }
  // The portal server about to send [first, first + length) of the package
  // (the whole file when length is 0).
  Slot Begin(const std::string& id, uint64_t first = 0, uint64_t length = 0,
             std::string* why = nullptr) {
    transports::PortalPackage p = Package(id);
    std::string ignored;
    return backend_.BeginDownload(Caller(), p, first, length == 0 ? p.size - first : length,
                                  why != nullptr ? why : &ignored);
  }
  int DownloadsOf(const std::string& id) { return Stored(id).downloads; }
  std::vector<bool> Counted(const std::string& id) {
    std::vector<bool> out;
    auto downloads = ctx_.store->ListPortalDownloads(id);
    EXPECT_TRUE(downloads.ok()) << downloads.message();
    if (downloads.ok()) {
      for (const auto& d : *downloads) out.push_back(d.counted);
    }
    return out;
  }
  // The reasons of the "portal.package-removed" events, in order.
  std::vector<std::string> Removals() {
    std::vector<std::string> out;
    for (const auto& e : AuditEvents("portal.package-removed")) {
      out.push_back(e.subject + " " + Json::parse(e.details)["reason"].get<std::string>());
    }
    return out;
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
  EXPECT_FALSE(fs::exists(Stored(used_up).path));  // its one download deleted it
  auto revoke = PortalRevoke(ctx_, revoked);
  ASSERT_TRUE(revoke.ok()) << revoke.message();
  EXPECT_FALSE(fs::exists(Stored(revoked).path));
  EXPECT_EQ(Removals(), (std::vector<std::string>{"portal:" + used_up + " used up",
                                                  "portal:" + revoked + " revoked"}));
  EXPECT_EQ(AuditEvents("portal.package-removed")[1].actor, "tester");
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
  ASSERT_GT(size, 200u);
  backend_.RecordDownload(Caller(), id, 0, size / 2, /*complete=*/false);  // broken off
  backend_.RecordDownload(Caller(), id, 0, 100, /*complete=*/true);        // a first part
  EXPECT_EQ(Stored(id).downloads, 0);
  transports::PortalPackage out;
  EXPECT_EQ(backend_.Find("builder-b", id, &out), Access::kOk);
  // The rest, resumed where the broken one ended: every byte sent, one download.
  backend_.RecordDownload(Caller(), id, size / 2, size - size / 2, /*complete=*/true);
  EXPECT_EQ(Stored(id).downloads, 1);
  EXPECT_EQ(backend_.Find("builder-b", id, &out), Access::kGone);
  EXPECT_EQ(Counted(id), (std::vector<bool>{false, false, true}));
  EXPECT_EQ(AuditCount("portal.download"), 3);
  EXPECT_EQ(StateOf(id), "used up");
}

// A 10-byte tail Range counted as a full download.
TEST_F(PortalBackendTest, ATailRangeCountsNothingRangesCoveringThePackageCountOnce) {
  const std::string id = Publish("7d", 3);
  const uint64_t size = static_cast<uint64_t>(Stored(id).size);
  ASSERT_GT(size, 1000u);
  ASSERT_EQ(Begin(id, size - 10, 10), Slot::kGranted);
  backend_.RecordDownload(Caller(), id, size - 10, 10, true);
  EXPECT_EQ(DownloadsOf(id), 0);
  ASSERT_EQ(Begin(id, 0, 1000), Slot::kGranted);
  backend_.RecordDownload(Caller(), id, 0, 1000, true);
  EXPECT_EQ(DownloadsOf(id), 0);
  ASSERT_EQ(Begin(id, 1000, size - 1010), Slot::kGranted);
  backend_.RecordDownload(Caller(), id, 1000, size - 1010, true);  // the gap: now whole
  EXPECT_EQ(DownloadsOf(id), 1);
  // The same tail again is not a second download.
  ASSERT_EQ(Begin(id, size - 10, 10), Slot::kGranted);
  backend_.RecordDownload(Caller(), id, size - 10, 10, true);
  EXPECT_EQ(DownloadsOf(id), 1);
  EXPECT_EQ(Counted(id), (std::vector<bool>{false, false, true, false}));
  const auto events = AuditEvents("portal.download");
  ASSERT_EQ(events.size(), 4u);
  EXPECT_EQ(Json::parse(events[2].details)["counted"], true);
  EXPECT_EQ(Json::parse(events[3].details)["counted"], false);
  ExpectAuditIntact();
}

// --max-downloads 2 allowed 4 complete downloads under 12 parallel
// clients: a slot is now reserved in the store before a byte is sent.
TEST_F(PortalBackendTest, SlotsKeepMaxDownloadsExactAndTheLastDownloadDeletesTheFile) {
  const std::string id = Publish("7d", 2);
  const contracts::PortalPackageRecord stored = Stored(id);
  const uint64_t size = static_cast<uint64_t>(stored.size);
  std::string why;
  EXPECT_EQ(Begin(id, 0, 0, &why), Slot::kGranted);
  EXPECT_EQ(Begin(id, 0, 0, &why), Slot::kGranted);
  EXPECT_EQ(Begin(id, 0, 0, &why), Slot::kBusy);
  EXPECT_EQ(why, "every download left of this package is under way; try again when one ends");
  // One breaks off: its slot comes back, and a new client takes it.
  backend_.RecordDownload(Caller(), id, 0, 100, /*complete=*/false);
  EXPECT_EQ(DownloadsOf(id), 0);
  EXPECT_EQ(Begin(id, 0, 0, &why), Slot::kGranted);
  EXPECT_EQ(Begin(id, 0, 0, &why), Slot::kBusy);
  backend_.RecordDownload(Caller(), id, 0, size, true);
  EXPECT_EQ(DownloadsOf(id), 1);
  EXPECT_TRUE(fs::exists(stored.path));
  backend_.RecordDownload(Caller(), id, 0, size, true);
  EXPECT_EQ(DownloadsOf(id), 2);
  // The last one allowed: the file goes at once, on record; the record stays.
  EXPECT_FALSE(fs::exists(stored.path));
  EXPECT_EQ(Removals(), std::vector<std::string>{"portal:" + id + " used up"});
  EXPECT_EQ(AuditEvents("portal.package-removed")[0].actor, "itaku");
  EXPECT_EQ(StateOf(id), "used up");
  transports::PortalPackage pkg;
  pkg.id = id;
  pkg.size = size;
  EXPECT_EQ(backend_.BeginDownload(Caller(), pkg, 0, size, &why), Slot::kGone);
  EXPECT_EQ(why, "used up");
  EXPECT_EQ(Counted(id), (std::vector<bool>{false, true, true}));
  ExpectAuditIntact();
}

TEST_F(PortalBackendTest, ExpiredOrRevokedPackageGetsNoSlot) {
  const std::string expiring = Publish("1d");
  const std::string revoked = Publish();
  const transports::PortalPackage a = Package(expiring), b = Package(revoked);
  ASSERT_TRUE(PortalRevoke(ctx_, revoked).ok());
  SetClock(std::make_unique<FixedClock>(FormatUtc(ctx_.clock->Now() + std::chrono::hours(25))));
  std::string why;
  EXPECT_EQ(backend_.BeginDownload(Caller(), a, 0, a.size, &why), Slot::kGone);
  EXPECT_EQ(why, "expired");
  EXPECT_EQ(backend_.BeginDownload(Caller(), b, 0, b.size, &why), Slot::kGone);
  EXPECT_EQ(why, "revoked");
}

// A daemon killed during downloads left their slots reserved: `serve`
// gives them back before the portal opens.
TEST_F(PortalBackendTest, SlotsLeftByAStoppedDaemonAreReleased) {
  const std::string id = Publish("7d", 2);
  ASSERT_EQ(Begin(id), Slot::kGranted);
  ASSERT_EQ(Begin(id), Slot::kGranted);
  ASSERT_EQ(Begin(id), Slot::kBusy);
  auto released = ctx_.store->ReleasePortalReservations();
  ASSERT_TRUE(released.ok()) << released.message();
  EXPECT_EQ(released.value(), 2);
  EXPECT_EQ(ctx_.store->ReleasePortalReservations().value(), 0);
  EXPECT_EQ(Begin(id), Slot::kGranted);
  EXPECT_EQ(DownloadsOf(id), 0);
  ExpectAuditIntact();  // slots are not part of the record
}

// What a contractor was sent survives a restart: the next daemon reads it
// from the download log.
TEST_F(PortalBackendTest, PartsSentBeforeARestartStillCount) {
  const std::string id = Publish();
  const uint64_t size = static_cast<uint64_t>(Stored(id).size);
  backend_.RecordDownload(Caller(), id, 0, 500, true);
  StorePortalBackend restarted(ctx_);
  restarted.RecordDownload(Caller(), id, 500, size - 500, true);
  EXPECT_EQ(DownloadsOf(id), 1);
  StorePortalBackend again(ctx_);
  again.RecordDownload(Caller(), id, 500, size - 500, true);  // [0, 500) only once
  EXPECT_EQ(DownloadsOf(id), 1);
}

TEST_F(PortalBackendTest, TooManySeparatePartsTakeOnlyWholeDownloads) {
  std::string csv = "subscriber_id,name,address,phone\n";  // a package of a few KiB
  for (int i = 0; i < 400; ++i) {
    csv += "S" + std::to_string(i) + ",山田" + std::to_string(i * 7919 % 10007) + ",兵庫県姫路市" +
           std::to_string(i * 104729 % 99991) + ",079" +
           std::to_string(1000000 + int64_t{i} * 15485863 % 8999999) + "\n";
  }
  Write("export.csv", csv);
  const std::string id = Publish("7d", 1000);
  const uint64_t size = static_cast<uint64_t>(Stored(id).size);
  const uint64_t parts = StorePortalBackend::kMaxCoveragePieces / 2;
  ASSERT_GT(size, 2 * parts + 10);
  for (uint64_t i = 0; i < parts; ++i) {
    ASSERT_EQ(Begin(id, 2 * i + 1, 1), Slot::kGranted) << i;
    backend_.RecordDownload(Caller(), id, 2 * i + 1, 1, true);
  }
  std::string why;
  EXPECT_EQ(Begin(id, size - 5, 5, &why), Slot::kBusy);
  EXPECT_EQ(why, "this package was sent in too many separate parts; download it whole");
  // The whole file is still served, and counts; the parts sent beyond it
  // stay on the count, so parts stay refused.
  EXPECT_EQ(Begin(id), Slot::kGranted);
  backend_.RecordDownload(Caller(), id, 0, size, true);
  EXPECT_EQ(DownloadsOf(id), 1);
  EXPECT_EQ(Begin(id, size - 5, 5), Slot::kBusy);
}

// Expired, used-up and revoked packages stayed on disk until revoked.
TEST_F(PortalBackendTest, SweepDeletesTheFilesOfGonePackagesOnceKeepingTheRecords) {
  const std::string expiring = Publish("1d");
  const std::string kept = Publish();
  const std::string revoked = Publish();
  const std::string used_up = Publish("7d", 1);
  // Gone while no daemon deleted them: revoked in a store of an older
  // version, used up by a download recorded elsewhere.
  ASSERT_TRUE(ctx_.store->RevokePortalPackage(revoked, "tester", ctx_.clock->NowUtc()).ok());
  contracts::PortalDownload d;
  d.package_id = used_up;
  d.at = ctx_.clock->NowUtc();
  d.contractor_id = "builder-b";
  d.bytes = Stored(used_up).size;
  d.complete = d.counted = true;
  ASSERT_TRUE(ctx_.store->AddPortalDownload(d).ok());
  SetClock(std::make_unique<FixedClock>(FormatUtc(ctx_.clock->Now() + std::chrono::hours(25))));
  ctx_.actor = "itaku";

  auto swept = SweepPortalPackages(ctx_);
  ASSERT_TRUE(swept.ok()) << swept.message();
  EXPECT_EQ(swept.value(), 3);
  for (const std::string& id : {expiring, revoked, used_up}) {
    EXPECT_FALSE(fs::exists(Stored(id).path)) << id;
    EXPECT_EQ(Stored(id).id, id);  // the record stays
  }
  EXPECT_TRUE(fs::exists(Stored(kept).path));
  auto removals = Removals();
  std::sort(removals.begin(), removals.end());
  std::vector<std::string> expected = {"portal:" + expiring + " expired",
                                       "portal:" + revoked + " revoked",
                                       "portal:" + used_up + " used up"};
  std::sort(expected.begin(), expected.end());
  EXPECT_EQ(removals, expected);
  // Nothing left to delete: nothing more on record.
  EXPECT_EQ(SweepPortalPackages(ctx_).value(), 0);
  EXPECT_EQ(AuditCount("portal.package-removed"), 3);
  ExpectAuditIntact();
}

}  // namespace
}  // namespace itaku::gateway
