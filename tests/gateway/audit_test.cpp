#include "gateway/audit.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <string>

#include "tests/gateway/gateway_fixture.h"

namespace itaku::gateway {
namespace {

namespace fs = std::filesystem;

// Tampering is done the way an intruder would: with the sqlite3 tool on the
// store file, while Itaku has it closed.
class AuditTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = gateway_test::TestFolder("audit");
    db_ = (dir_ / "itaku.db").string();
    Open();
    for (int i = 1; i <= 5; ++i) {
      ASSERT_TRUE(
          trail_->Append("yamada", "contractor.add", "contractor:c" + std::to_string(i), {{"n", i}})
              .ok());
    }
  }
  void TearDown() override {
    trail_.reset();
    store_.reset();
    fs::remove_all(dir_);
  }
  void Open() {
    auto s = contracts::Store::OpenSqlite(db_);
    ASSERT_TRUE(s.ok()) << s.message();
    store_ = std::move(s).value();
    trail_ = std::make_unique<AuditTrail>(*store_, clock_);
  }
  void Sql(const std::string& sql) {
    trail_.reset();
    store_.reset();
    const std::string cmd = "sqlite3 '" + db_ + "' \"" + sql + "\"";
    ASSERT_EQ(std::system(cmd.c_str()), 0) << cmd;
    Open();
  }
  AuditVerification Verify() {
    auto v = trail_->Verify();
    EXPECT_TRUE(v.ok()) << v.message();
    return v.ok() ? v.value() : AuditVerification{};
  }
  // What Verify() finds after `sql` ran on the closed store; the chain must
  // no longer be intact.
  std::string ProblemAfter(const std::string& sql) {
    Sql(sql);
    AuditVerification v = Verify();
    EXPECT_FALSE(v.intact);
    return v.problem;
  }

  fs::path dir_;
  std::string db_;
  FixedClock clock_{"2026-11-28T01:00:00Z"};
  std::unique_ptr<contracts::Store> store_;
  std::unique_ptr<AuditTrail> trail_;
};

TEST_F(AuditTest, IntactChainVerifies) {
  AuditVerification v = Verify();
  EXPECT_TRUE(v.intact) << v.problem;
  EXPECT_EQ(v.events, 5);
}

TEST_F(AuditTest, EventsLinkToTheirPredecessor) {
  std::vector<contracts::AuditEvent> events;
  ASSERT_TRUE(store_
                  ->ForEachAuditEvent([&](const contracts::AuditEvent& e) {
                    events.push_back(e);
                    return true;
                  })
                  .ok());
  ASSERT_EQ(events.size(), 5u);
  EXPECT_EQ(events[0].prev_hash, kAuditGenesis);
  EXPECT_EQ(events[3].prev_hash, events[2].hash);
  EXPECT_EQ(events[1].details, "{\"n\":2}");
  EXPECT_EQ(events[1].hash, AuditHash(events[1]));
}

TEST_F(AuditTest, DetectsAnEditedRow) {
  EXPECT_EQ(ProblemAfter("UPDATE audit_event SET actor='suzuki' WHERE seq=3"),
            "audit event 3 (contractor.add): contents do not match its hash (edited)");
}

TEST_F(AuditTest, DetectsAnEditThatAlsoRecomputedTheHash) {
  contracts::AuditEvent forged;
  ASSERT_TRUE(store_
                  ->ForEachAuditEvent([&](const contracts::AuditEvent& e) {
                    if (e.seq == 2) forged = e;
                    return true;
                  })
                  .ok());
  forged.details = "{\"n\":99}";
  forged.hash = AuditHash(forged);
  EXPECT_EQ(ProblemAfter("UPDATE audit_event SET details='{\\\"n\\\":99}', hash='" + forged.hash +
                         "' WHERE seq=2"),
            "audit event 3 (contractor.add): does not link to the event before it (inserted or "
            "replaced)");
}

TEST_F(AuditTest, DetectsADeletedRow) {
  EXPECT_EQ(ProblemAfter("DELETE FROM audit_event WHERE seq=2"),
            "audit event 3 (contractor.add): events 2 to 2 are missing (deleted)");
}

TEST_F(AuditTest, DetectsTheNewestRowDeleted) {
  EXPECT_EQ(ProblemAfter("DELETE FROM audit_event WHERE seq=5"),
            "audit event 5: missing at the end of the chain (deleted; the head names event 5)");
}

TEST_F(AuditTest, DetectsAnInsertedRow) {
  EXPECT_EQ(
      ProblemAfter(
          "INSERT INTO audit_event(seq, at, actor, action, subject, details, prev_hash, hash) "
          "VALUES (6, '2026-11-28T02:00:00Z', 'x', 'delivery.dry-run', 'd', '{}', 'abc', 'def')"),
      "audit event 6 (delivery.dry-run): does not link to the event before it (inserted "
      "or replaced)");
}

TEST_F(AuditTest, AppendAfterReopenContinuesTheChain) {
  Sql("SELECT 1");
  ASSERT_TRUE(trail_->Append("yamada", "nda.add", "nda:1", nlohmann::json::object()).ok());
  AuditVerification v = Verify();
  EXPECT_TRUE(v.intact) << v.problem;
  EXPECT_EQ(v.events, 6);
}

// The clock gone back an hour: one clock.anomaly, events never dated
// before their predecessor, and ClockBehind() says why deliveries wait;
// once the clock is right again, events carry its time.
TEST_F(AuditTest, ClockGoneBackIsRecordedOnceAndNothingIsDatedEarlier) {
  FixedClock back{"2026-11-28T00:00:00Z"};
  AuditTrail trail(*store_, back);
  EXPECT_EQ(trail.ClockBehind().value(),
            "the machine's clock (2026-11-28T00:00:00Z) is 3600 s behind the newest audit event "
            "(2026-11-28T01:00:00Z); deliveries wait until the clock is right again "
            "(clock.anomaly recorded)");
  ASSERT_TRUE(trail.Append("yamada", "nda.add", "nda:1", nlohmann::json::object()).ok());
  ASSERT_TRUE(trail.Append("yamada", "nda.add", "nda:2", nlohmann::json::object()).ok());
  std::vector<contracts::AuditEvent> events;
  ASSERT_TRUE(store_
                  ->ForEachAuditEvent([&](const contracts::AuditEvent& e) {
                    events.push_back(e);
                    return true;
                  })
                  .ok());
  ASSERT_EQ(events.size(), 8u);
  EXPECT_EQ(events[5].action, "clock.anomaly");
  EXPECT_EQ(events[5].details,
            R"({"behind_seconds":3600,"machine_time":"2026-11-28T00:00:00Z",)"
            R"("newest_event_at":"2026-11-28T01:00:00Z"})");
  for (size_t i = 1; i < events.size(); ++i) EXPECT_LE(events[i - 1].at, events[i].at);
  EXPECT_EQ(events[7].at, "2026-11-28T01:00:00Z");

  FixedClock right{"2026-11-28T01:00:30Z"};
  AuditTrail fixed(*store_, right);
  EXPECT_EQ(fixed.ClockBehind().value(), "");
  ASSERT_TRUE(fixed.Append("yamada", "nda.add", "nda:3", nlohmann::json::object()).ok());
  EXPECT_TRUE(Verify().intact);
  EXPECT_EQ(Verify().events, 9);
  // Thirty seconds back is within the slack: no anomaly, the time held.
  FixedClock slightly{"2026-11-28T01:00:00Z"};
  AuditTrail slack(*store_, slightly);
  EXPECT_EQ(slack.ClockBehind().value(), "");
  ASSERT_TRUE(slack.Append("yamada", "nda.add", "nda:4", nlohmann::json::object()).ok());
  EXPECT_EQ(store_->LastAuditEvent().value()->at, "2026-11-28T01:00:30Z");
  EXPECT_EQ(store_->LastAuditEvent().value()->action, "nda.add");
}

}  // namespace
}  // namespace itaku::gateway
