// The gateway's services against a real SQLite store in a temporary folder
// named after the running test, filled in through the same services the CLI
// uses, with a clock the test sets: the fixture of the broker, request,
// portal and audit tests.
#pragma once

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "gateway/commands.h"
#include "gateway/supervision.h"
#include "policies/catalog.h"
#include "tests/transports/test_util.h"

namespace itaku::gateway::gateway_test {

namespace fs = std::filesystem;

// A fresh, empty folder for the running test:
// <tmp>/itaku-<prefix>-<pid>-<test name>.
inline fs::path TestFolder(const std::string& prefix) {
  const fs::path dir =
      fs::temp_directory_path() / ("itaku-" + prefix + "-" + std::to_string(::getpid()) + "-" +
                                   ::testing::UnitTest::GetInstance()->current_test_info()->name());
  fs::remove_all(dir);
  fs::create_directories(dir);
  return dir;
}

class StoreFixture : public ::testing::Test {
 protected:
  // `prefix` names the folder; `now_utc` is where the clock stands.
  StoreFixture(std::string prefix, std::string now_utc)
      : prefix_(std::move(prefix)), now_utc_(std::move(now_utc)) {}

  void SetUp() override {
    keys_ = AuditKeys::Generate().value();
    dir_ = TestFolder(prefix_);
    ctx_.db_path = (dir_ / "itaku.db").string();
    ctx_.actor = "tester";
    auto store = contracts::Store::OpenSqlite(ctx_.db_path);
    ASSERT_TRUE(store.ok()) << store.message();
    ctx_.store = std::move(store).value();
    SetClock(std::make_unique<FixedClock>(now_utc_));
    ASSERT_TRUE(Init(ctx_, "root").ok());  // root: the first privacy officer
    Register();
  }
  // What a fixture puts in the initialised store before each test.
  virtual void Register() {}
  void TearDown() override {
    ctx_.audit.reset();
    ctx_.store.reset();
    fs::remove_all(dir_);
  }

  // Moves the clock (and the audit trail, which reads it).
  void SetClock(std::unique_ptr<Clock> clock) {
    ctx_.clock = std::move(clock);
    ctx_.audit = std::make_unique<AuditTrail>(*ctx_.store, *ctx_.clock, keys_);
  }

  AuditKeys keys_;  // the daemon's audit keys, fresh per test

  std::string Path(const std::string& name) const { return (dir_ / name).string(); }
  void Write(const std::string& name, const std::string& text) const {
    std::ofstream(dir_ / name, std::ios::binary) << text;
  }
  std::string ReadFile(const std::string& name) const {
    return transports::test_util::ReadFile(Path(name));
  }

  // A self-signed certificate and its key, <name>.crt and <name>.key, made
  // by the openssl CLI and valid from now for two days.
  void MakeCertificate(const std::string& name) const {
    ASSERT_EQ(transports::test_util::RunCommand(
                  "openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=" + name +
                  " -keyout " + Path(name + ".key") + " -out " + Path(name + ".crt")),
              0);
  }

  void AddContractor(const ContractorArgs& contractor) {
    auto added = ContractorAdd(ctx_, contractor);
    ASSERT_TRUE(added.ok()) << added.message();
  }
  // An NDA for `contractor` in force from 2026 through 2099, and the
  // contract profile `toml`, imported from a file as `itaku profile import`
  // does.
  void SignNdaAndImportProfile(const std::string& contractor, const std::string& toml) {
    Write("nda.pdf", "signed NDA scan\n");
    auto nda = NdaAdd(
        ctx_, {contractor, "2026-01-10", "2026-01-01", "2099-12-31", Path("nda.pdf"), {"担当 者"}});
    ASSERT_TRUE(nda.ok()) << nda.message();
    // The outsourcing contract (policy 6) covering every purpose, for the
    // same years.
    Write("contract.pdf", "signed contract scan\n");
    ContractArgs contract{contractor,           "2026-01-10",
                          "2026-01-01",         "2099-12-31",
                          Path("contract.pdf"), "情報セキュリティ窓口 03-0000-0000",
                          "forbidden",          {}};
    for (const auto& purpose : policies::Purposes()) contract.purposes.emplace_back(purpose.id);
    auto signed_contract = ContractAdd(ctx_, contract);
    ASSERT_TRUE(signed_contract.ok()) << signed_contract.message();
    Write("profile.toml", toml);
    auto profile = ProfileImport(ctx_, Path("profile.toml"));
    ASSERT_TRUE(profile.ok()) << profile.message();
  }

  // The audit events with this action, in order.
  std::vector<contracts::AuditEvent> AuditEvents(const std::string& action) const {
    std::vector<contracts::AuditEvent> out;
    EXPECT_TRUE(ctx_.store
                    ->ForEachAuditEvent([&](const contracts::AuditEvent& e) {
                      if (e.action == action) out.push_back(e);
                      return true;
                    })
                    .ok());
    return out;
  }
  int64_t AuditCount(const std::string& action) const {
    return static_cast<int64_t>(AuditEvents(action).size());
  }
  // Every audit event, whatever its action.
  int64_t AuditTotal() const {
    int64_t n = 0;
    EXPECT_TRUE(ctx_.store
                    ->ForEachAuditEvent([&](const contracts::AuditEvent&) {
                      ++n;
                      return true;
                    })
                    .ok());
    return n;
  }
  // The chain is whole: AuditTrail::Verify finds nothing.
  void ExpectAuditIntact() {
    auto v = ctx_.audit->Verify();
    ASSERT_TRUE(v.ok()) << v.message();
    EXPECT_TRUE(v->intact) << v->problem;
  }

  const std::string prefix_;
  const std::string now_utc_;
  fs::path dir_;
  Context ctx_;
};

}  // namespace itaku::gateway::gateway_test
