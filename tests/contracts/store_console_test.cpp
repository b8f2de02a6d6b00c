// The store's side of the console: sign-in credentials, sessions kept only
// as hashes, and the audit events and deliveries listed by period.
#include <gtest/gtest.h>

#include "contracts/store.h"
#include "tests/contracts/store_fixture.h"

namespace itaku::contracts::store_test {
namespace {

using ConsoleStoreTest = StoreTest;

TEST_F(ConsoleStoreTest, CredentialRoundTripsAndIsReplacedWhole) {
  EXPECT_FALSE(store_->FindCredential("sato").value().has_value());
  StaffCredential c;
  c.staff = "sato";
  c.password_hash = "$argon2id$v=19$...";
  c.totp_sealed = "abcd";
  c.failures = 3;
  c.locked_until = "2026-12-02T10:00:00Z";
  c.last_totp_step = 12345;
  c.enrol_code_hash = "ff";
  ASSERT_TRUE(store_->PutCredential(c).ok());
  auto found = store_->FindCredential("sato");
  ASSERT_TRUE(found.ok() && found.value());
  EXPECT_EQ(found.value()->password_hash, c.password_hash);
  EXPECT_EQ(found.value()->totp_sealed, "abcd");
  EXPECT_EQ(found.value()->failures, 3);
  EXPECT_EQ(found.value()->locked_until, c.locked_until);
  EXPECT_EQ(found.value()->last_totp_step, 12345);
  c.failures = 0;
  c.locked_until.clear();
  ASSERT_TRUE(store_->PutCredential(c).ok());
  EXPECT_EQ(store_->FindCredential("sato").value()->failures, 0);
  EXPECT_EQ(store_->FindCredential("sato").value()->locked_until, "");
}

TEST_F(ConsoleStoreTest, SessionsEndOneOrAllAndArePrunedByIdleAndAge) {
  ASSERT_TRUE(
      store_->AddConsoleSession({"h1", "sato", "2026-12-02T00:00:00Z", "2026-12-02T07:00:00Z"})
          .ok());
  ASSERT_TRUE(
      store_->AddConsoleSession({"h2", "sato", "2026-12-02T06:00:00Z", "2026-12-02T06:10:00Z"})
          .ok());
  ASSERT_TRUE(
      store_->AddConsoleSession({"h3", "ito", "2026-12-02T06:00:00Z", "2026-12-02T07:00:00Z"})
          .ok());
  ASSERT_TRUE(store_->TouchConsoleSession("h2", "2026-12-02T07:01:00Z").ok());
  EXPECT_EQ(store_->FindConsoleSession("h2").value()->last_seen_at, "2026-12-02T07:01:00Z");
  // Idle before 06:50 or made before 01:00: h1 is too old; h2 was touched.
  ASSERT_TRUE(store_->PruneConsoleSessions("2026-12-02T06:50:00Z", "2026-12-02T01:00:00Z").ok());
  EXPECT_FALSE(store_->FindConsoleSession("h1").value().has_value());
  EXPECT_TRUE(store_->FindConsoleSession("h2").value().has_value());
  ASSERT_TRUE(store_->EndConsoleSessions("sato").ok());
  EXPECT_FALSE(store_->FindConsoleSession("h2").value().has_value());
  EXPECT_TRUE(store_->FindConsoleSession("h3").value().has_value());
  ASSERT_TRUE(store_->EndConsoleSession("h3").ok());
  EXPECT_FALSE(store_->FindConsoleSession("h3").value().has_value());
}

TEST_F(ConsoleStoreTest, RemovingStaffEndsTheirSessionsAndSignIn) {
  ASSERT_TRUE(
      store_->AddStaff({"ito", StaffRole::kOperator, "sato", "2026-12-01T00:00:00Z", "ito", 4001})
          .ok());
  StaffCredential c;
  c.staff = "ito";
  c.password_hash = "x";
  ASSERT_TRUE(store_->PutCredential(c).ok());
  ASSERT_TRUE(
      store_->AddConsoleSession({"h", "ito", "2026-12-02T00:00:00Z", "2026-12-02T00:00:00Z"}).ok());
  ASSERT_TRUE(store_->RemoveStaff("ito").ok());
  EXPECT_FALSE(store_->FindCredential("ito").value().has_value());
  EXPECT_FALSE(store_->FindConsoleSession("h").value().has_value());
}

AuditEvent Event(int64_t seq, const std::string& at, const std::string& actor,
                 const std::string& action, const std::string& subject,
                 const std::string& details) {
  AuditEvent e;
  e.seq = seq;
  e.at = at;
  e.actor = actor;
  e.action = action;
  e.subject = subject;
  e.details = details;
  e.prev_hash = "p";
  e.hash = "h" + std::to_string(seq);
  return e;
}

TEST_F(ConsoleStoreTest, AuditEventsFilterByPeriodActorActionAndContractor) {
  ASSERT_TRUE(store_
                  ->AppendAuditEvent(Event(1, "2026-11-30T00:00:00Z", "sato", "nda.add",
                                           "contractor:agency-a", "{}"))
                  .ok());
  ASSERT_TRUE(store_
                  ->AppendAuditEvent(Event(2, "2026-12-01T00:00:00Z", "ito", "deliver.refused",
                                           "profile:p", R"({"contractor":"agency-a"})"))
                  .ok());
  ASSERT_TRUE(store_
                  ->AppendAuditEvent(Event(3, "2026-12-01T01:00:00Z", "ito", "deliver",
                                           "delivery:1", R"({"contractor":"builder_b"})"))
                  .ok());
  ASSERT_TRUE(store_
                  ->AppendAuditEvent(Event(4, "2026-12-02T00:00:00Z", "sato", "console.signin",
                                           "staff:sato", "{}"))
                  .ok());
  auto seqs = [&](const std::string& from, const std::string& to, const std::string& actor,
                  const std::string& action, const std::string& contractor, int limit = 100) {
    std::vector<int64_t> out;
    auto events = store_->ListAuditEvents(from, to, actor, action, contractor, limit);
    EXPECT_TRUE(events.ok()) << events.message();
    for (const auto& e : events.value()) out.push_back(e.seq);
    return out;
  };
  const std::string all_from = "2026-01-01T00:00:00Z", all_to = "2027-01-01T00:00:00Z";
  EXPECT_EQ(seqs(all_from, all_to, "", "", ""), (std::vector<int64_t>{4, 3, 2, 1}));
  EXPECT_EQ(seqs("2026-12-01T00:00:00Z", "2026-12-02T00:00:00Z", "", "", ""),
            (std::vector<int64_t>{3, 2}));
  EXPECT_EQ(seqs(all_from, all_to, "ito", "", ""), (std::vector<int64_t>{3, 2}));
  EXPECT_EQ(seqs(all_from, all_to, "", "deliver", ""), (std::vector<int64_t>{3}));
  EXPECT_EQ(seqs(all_from, all_to, "", "deliver.", ""), (std::vector<int64_t>{2}));
  EXPECT_EQ(seqs(all_from, all_to, "", ".refused", ""), (std::vector<int64_t>{2}));
  EXPECT_EQ(seqs(all_from, all_to, "", "", "agency-a"), (std::vector<int64_t>{2, 1}));
  // '_' is a LIKE wildcard; the filter means the character itself.
  EXPECT_EQ(seqs(all_from, all_to, "", "", "builder_b"), (std::vector<int64_t>{3}));
  EXPECT_EQ(seqs(all_from, all_to, "", "", "builderxb"), (std::vector<int64_t>{}));
  EXPECT_EQ(seqs(all_from, all_to, "", "", "", 2), (std::vector<int64_t>{4, 3}));
}

}  // namespace
}  // namespace itaku::contracts::store_test
