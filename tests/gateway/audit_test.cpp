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
    trail_ = std::make_unique<AuditTrail>(*store_, clock_, keys_);
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
  AuditKeys keys_ = AuditKeys::Generate().value();
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
  // Keyed: the public scheme alone does not give the hash.
  EXPECT_EQ(events[1].hash, keys_.Mac(AuditHashInput(events[1])));
  EXPECT_NE(events[1].hash, AuditHash(events[1]));
}

TEST_F(AuditTest, DetectsAnEditedRow) {
  EXPECT_EQ(ProblemAfter("UPDATE audit_event SET actor='suzuki' WHERE seq=3"),
            "audit event 3 (contractor.add): contents do not match its keyed hash (edited, or the "
            "chain was recomputed without this machine's audit key)");
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
            "audit event 2 (contractor.add): contents do not match its keyed hash (edited, or the "
            "chain was recomputed without this machine's audit key)");
}

TEST_F(AuditTest, DetectsADeletedRow) {
  EXPECT_EQ(ProblemAfter("DELETE FROM audit_event WHERE seq=2"),
            "audit event 3 (contractor.add): events 2 to 2 are missing (deleted)");
}

TEST_F(AuditTest, DetectsTheNewestRowDeleted) {
  EXPECT_EQ(ProblemAfter("DELETE FROM audit_event WHERE seq=5"),
            "audit event 5: missing at the end of the chain (events 5 to 5 deleted; the head names "
            "event 5)");
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
  AuditTrail trail(*store_, back, keys_);
  EXPECT_EQ(trail.ClockBehind().value(),
            "the machine's clock (2026-11-28T09:00:00+09:00) is 3600 s behind the newest audit "
            "event (2026-11-28T10:00:00+09:00); deliveries wait until the clock is right again "
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
  AuditTrail fixed(*store_, right, keys_);
  EXPECT_EQ(fixed.ClockBehind().value(), "");
  ASSERT_TRUE(fixed.Append("yamada", "nda.add", "nda:3", nlohmann::json::object()).ok());
  EXPECT_TRUE(Verify().intact);
  EXPECT_EQ(Verify().events, 9);
  // Thirty seconds back is within the slack: no anomaly, the time held.
  FixedClock slightly{"2026-11-28T01:00:00Z"};
  AuditTrail slack(*store_, slightly, keys_);
  EXPECT_EQ(slack.ClockBehind().value(), "");
  ASSERT_TRUE(slack.Append("yamada", "nda.add", "nda:4", nlohmann::json::object()).ok());
  EXPECT_EQ(store_->LastAuditEvent().value()->at, "2026-11-28T01:00:30Z");
  EXPECT_EQ(store_->LastAuditEvent().value()->action, "nda.add");
}

// ---- Issue 12: truncation, rewrites, checkpoints, records ----------------

class AuditRecordTest : public AuditTest {
 protected:
  std::vector<contracts::AuditEvent> Events() {
    std::vector<contracts::AuditEvent> out;
    EXPECT_TRUE(store_
                    ->ForEachAuditEvent([&](const contracts::AuditEvent& e) {
                      out.push_back(e);
                      return true;
                    })
                    .ok());
    return out;
  }
  // What an intruder holding this machine's keys does: replaces the chain
  // by `events` re-linked and re-keyed, with a head that matches.
  void RewriteWithTheKeys(std::vector<contracts::AuditEvent> events) {
    Sql("DELETE FROM audit_event; DELETE FROM audit_checkpoint");
    std::string prev = kAuditGenesis;
    int64_t seq = 0;
    for (auto& e : events) {
      e.seq = ++seq;
      e.prev_hash = prev;
      e.hash = keys_.Mac(AuditHashInput(e));
      ASSERT_TRUE(store_->AppendAuditEvent(e).ok());
      prev = e.hash;
    }
    ASSERT_TRUE(store_
                    ->SetMeta("audit_head", std::to_string(seq) + " " + prev + " " +
                                                keys_.Mac("head " + std::to_string(seq) + " " + prev))
                    .ok());
  }
  CheckpointClaim FileClaim(const SignedCheckpoint& c) {
    return {"checkpoint cp.json", c.ToJson(), ""};
  }
  CheckpointClaim CodeClaim(const SignedCheckpoint& c) { return {"code " + c.code, {}, c.code}; }
  AuditVerification VerifyWith(const std::vector<CheckpointClaim>& claims) {
    auto v = trail_->Verify(claims);
    EXPECT_TRUE(v.ok()) << v.message();
    return v.ok() ? v.value() : AuditVerification{};
  }
  // A delivery of three subscribers, recorded as the broker records one.
  int64_t Delivery() {
    contracts::DeliveryRecord d;
    d.ordered_by = "yamada";
    d.ordered_at = "2026-11-28T01:00:00Z";
    d.contractor_id = "agency-a";
    d.profile_id = "billing";
    d.profile_version = 1;
    d.outcome = contracts::DeliveryOutcome::kDelivered;
    d.fields = {"subscriber_id", "name", "phone"};
    d.record_count = 3;
    d.id = store_->AddDelivery(d).value();
    const std::vector<contracts::ReceiptEntry> receipts = {
        {"S1", 0b111}, {"S2", 0b011}, {"S3", 0b101}};
    EXPECT_TRUE(store_->AddDeliveryReceipts(d.id, receipts).ok());
    ReceiptsDigest digest;
    for (const auto& r : receipts) digest.Add(r.subscriber_id, r.carried);
    d.receipts_count = 3;
    d.receipts_sha256 = digest.Finish();
    EXPECT_TRUE(store_->UpdateDelivery(d).ok());
    EXPECT_TRUE(trail_->Append("yamada", "delivery.media", "delivery:" + std::to_string(d.id), {})
                    .ok());
    return d.id;
  }
};

TEST_F(AuditRecordTest, TruncationWithTheHeadResetWithoutTheKeyIsCaught) {
  const auto events = Events();
  EXPECT_EQ(ProblemAfter("DELETE FROM audit_event WHERE seq >= 3; UPDATE meta SET value = '2 " +
                         events[1].hash + " 00' WHERE key = 'audit_head'"),
            "the chain head was changed without the audit key (the newest events may have been "
            "deleted)");
}

TEST_F(AuditRecordTest, DeletingEveryEventIsCaught) {
  EXPECT_EQ(ProblemAfter("DELETE FROM audit_event"),
            "audit event 1: missing at the end of the chain (events 1 to 5 deleted; the head "
            "names event 5)");
  EXPECT_EQ(ProblemAfter("DELETE FROM meta WHERE key = 'audit_head'"),
            "the audit trail is empty and its head is gone (every event deleted)");
}

TEST_F(AuditRecordTest, AConsistentRewriteWithThePublicSchemeIsCaught) {
  auto events = Events();
  events[3].details = "{\"n\":99}";
  std::string prev = kAuditGenesis;
  for (auto& e : events) {
    e.prev_hash = prev;
    e.hash = AuditHash(e);  // the unkeyed scheme anyone can compute
    prev = e.hash;
  }
  Sql("DELETE FROM audit_event");
  for (const auto& e : events) ASSERT_TRUE(store_->AppendAuditEvent(e).ok());
  AuditVerification v = Verify();
  EXPECT_FALSE(v.intact);
  EXPECT_EQ(v.problem,
            "audit event 1 (contractor.add): contents do not match its keyed hash (edited, or the "
            "chain was recomputed without this machine's audit key)");
}

TEST_F(AuditRecordTest, ARewriteWithTheKeysPassesOnlyWithoutACheckpointAndSaysSo) {
  auto events = Events();
  events[2].details = "{\"n\":99}";
  events.resize(4);
  RewriteWithTheKeys(events);
  AuditVerification v = Verify();
  EXPECT_TRUE(v.intact) << v.problem;
  EXPECT_EQ(v.events, 4);
  ASSERT_EQ(v.not_ruled_out.size(), 1u);
  EXPECT_EQ(v.not_ruled_out[0],
            "no checkpoint from outside this machine was given: a consistent rewrite by someone "
            "holding this machine's audit keys cannot be ruled out (give the newest with "
            "--checkpoint FILE|CODE)");
}

TEST_F(AuditRecordTest, ACheckpointCatchesARewriteOfWhatCameBeforeIt) {
  auto signed_cp = trail_->Checkpoint("yamada");
  ASSERT_TRUE(signed_cp.ok()) << signed_cp.message();
  EXPECT_EQ(signed_cp->checkpoint.seq, 5);
  EXPECT_EQ(signed_cp->code, CheckpointCode(5, signed_cp->checkpoint.head));
  EXPECT_TRUE(VerifyWith({FileClaim(*signed_cp), CodeClaim(*signed_cp)}).intact);

  auto events = Events();  // 5 events, the checkpoint's own event 6
  events[2].details = "{\"n\":99}";
  RewriteWithTheKeys(events);
  AuditVerification v = VerifyWith({FileClaim(*signed_cp)});
  EXPECT_FALSE(v.intact);
  EXPECT_EQ(v.problem,
            "checkpoint cp.json: event 5 is not what was signed on 2026-11-28 10:00 JST (events 1 "
            "to 5 were rewritten)");
  v = VerifyWith({CodeClaim(*signed_cp)});
  EXPECT_EQ(v.problem, "code " + signed_cp->code +
                           ": event 5 is not what was signed (events 1 to 5 were rewritten)");
}

TEST_F(AuditRecordTest, ACheckpointCatchesATruncationBelowIt) {
  auto signed_cp = trail_->Checkpoint("yamada");
  ASSERT_TRUE(signed_cp.ok());
  auto events = Events();
  events.resize(3);
  RewriteWithTheKeys(events);
  AuditVerification v = VerifyWith({FileClaim(*signed_cp)});
  EXPECT_EQ(v.problem,
            "checkpoint cp.json names event 5, but the chain ends at event 3 (events 4 to 5 "
            "deleted: truncated)");
}

TEST_F(AuditRecordTest, AnAlteredCheckpointFileIsRefused) {
  auto signed_cp = trail_->Checkpoint("yamada");
  ASSERT_TRUE(signed_cp.ok());
  CheckpointClaim claim = FileClaim(*signed_cp);
  (*claim.file)["seq"] = 3;
  EXPECT_EQ(VerifyWith({claim}).problem,
            "checkpoint cp.json: its signature does not match (the checkpoint was altered)");
}

TEST_F(AuditRecordTest, EventsAfterTheNewestCheckpointAreNamedAsNotRuledOut) {
  auto signed_cp = trail_->Checkpoint("yamada");
  ASSERT_TRUE(signed_cp.ok());
  ASSERT_TRUE(trail_->Append("yamada", "nda.add", "nda:1", {}).ok());
  AuditVerification v = VerifyWith({FileClaim(*signed_cp)});
  EXPECT_TRUE(v.intact) << v.problem;
  ASSERT_EQ(v.not_ruled_out.size(), 1u);
  EXPECT_EQ(v.not_ruled_out[0],
            "events 6 to 7 come after the newest checkpoint given: a consistent rewrite of them "
            "by someone holding this machine's audit keys cannot be ruled out");
}

TEST_F(AuditRecordTest, DeletingADeliveryAndItsReceiptsIsCaught) {
  const int64_t id = Delivery();
  EXPECT_TRUE(Verify().intact) << Verify().problem;
  Sql("DELETE FROM delivery_subscriber WHERE delivery_id = " + std::to_string(id) +
      "; DELETE FROM delivery WHERE id = " + std::to_string(id));
  AuditVerification v = Verify();
  EXPECT_FALSE(v.intact);
  EXPECT_EQ(v.problems, (std::vector<std::string>{
                            "delivery " + std::to_string(id) +
                            " is missing (deleted); audit event 6 recorded it"}));
}

TEST_F(AuditRecordTest, DeletingOrChangingAReceiptIsCaught) {
  const int64_t id = Delivery();
  EXPECT_EQ(ProblemAfter("DELETE FROM delivery_subscriber WHERE subscriber_id = 'S2'"),
            "delivery " + std::to_string(id) +
                ": its receipts differ from the 3 recorded (2 now; receipts deleted, added or "
                "changed outside Itaku)");
}

TEST_F(AuditRecordTest, ChangingWhatAReceiptCarriedIsCaught) {
  const int64_t id = Delivery();
  EXPECT_EQ(ProblemAfter("UPDATE delivery_subscriber SET carried = 1 WHERE subscriber_id = 'S1'"),
            "delivery " + std::to_string(id) +
                ": its receipts differ from the 3 recorded (3 now; receipts deleted, added or "
                "changed outside Itaku)");
}

TEST_F(AuditRecordTest, AnEditedOrInsertedDeliveryRowIsCaught) {
  const int64_t id = Delivery();
  EXPECT_EQ(ProblemAfter("UPDATE delivery SET contractor_id = 'agency-b' WHERE id = " +
                         std::to_string(id)),
            "delivery " + std::to_string(id) +
                " differs from what audit event 6 recorded (changed outside Itaku)");
  Sql("UPDATE delivery SET contractor_id = 'agency-a'");
  EXPECT_TRUE(Verify().intact);
  EXPECT_EQ(ProblemAfter("INSERT INTO delivery (ordered_by, ordered_at, contractor_id, profile_id,"
                         " profile_version, transport, outcome, reason, fields, record_count,"
                         " input_name, package_sha256) VALUES ('x', '2026-11-28T02:00:00Z',"
                         " 'agency-a', 'billing', 1, 'media', 'delivered', '', '[]', 0, 'e.csv', '')"),
            "delivery " + std::to_string(id + 1) + " is not in the audit trail (added outside Itaku)");
}

}  // namespace
}  // namespace itaku::gateway
