#include "gateway/audit.h"

#include <cstdio>
#include <optional>

#include "contracts/base/files.h"

namespace itaku::gateway {

const char kAuditGenesis[] = "0000000000000000000000000000000000000000000000000000000000000000";

namespace {

constexpr char kHeadKey[] = "audit_head";  // "<seq> <hash>" of the newest event
constexpr char kAnomalyKey[] = "clock_anomaly_at";  // the time the last clock.anomaly held to

}  // namespace

std::string AuditHash(const contracts::AuditEvent& e) {
  nlohmann::json fields =
      nlohmann::json::array({e.seq, e.at, e.actor, e.action, e.subject, e.details, e.prev_hash});
  return Sha256Hex(fields.dump());
}

std::string WithAuditFailure(const std::string& refusal, const Status& audited) {
  if (audited.ok()) return refusal;
  return refusal +
         " (and this refusal could not be written to the audit trail: " + audited.message() + ")";
}

namespace {

// Seconds `now` is behind `last` (both "YYYY-MM-DDTHH:MM:SSZ"); 0 when not.
int64_t SecondsBehind(const std::string& now, const std::string& last) {
  auto n = ParseUtc(now);
  auto l = ParseUtc(last);
  if (!n || !l || *n >= *l) return 0;
  return (*l - *n).count();
}

}  // namespace

Status AuditTrail::Append(const std::string& actor, const std::string& action,
                          const std::string& subject, const nlohmann::json& details) {
  return store_.Transaction([&]() -> Status {
    auto last = store_.LastAuditEvent();
    if (!last.ok()) return last.status();
    const std::string now = clock_.NowUtc();
    std::optional<contracts::AuditEvent> prev = last.value();
    auto append = [&](const std::string& who, const std::string& what, const std::string& about,
                      const std::string& text) -> Status {
      contracts::AuditEvent e;
      e.seq = prev ? prev->seq + 1 : 1;
      e.prev_hash = prev ? prev->hash : kAuditGenesis;
      e.at = prev && now < prev->at ? prev->at : now;
      e.actor = who;
      e.action = what;
      e.subject = about;
      e.details = text;
      e.hash = AuditHash(e);
      if (Status s = store_.AppendAuditEvent(e); !s.ok()) return s;
      prev = e;
      return Status::Ok();
    };
    const int64_t behind = prev ? SecondsBehind(now, prev->at) : 0;
    if (behind > kClockSlackSeconds) {
      // Once per episode: while the clock is behind, every event carries the
      // same time, the one the anomaly names.
      auto noted = store_.GetMeta(kAnomalyKey);
      if (!noted.ok()) return noted.status();
      if (noted.value().value_or("") != prev->at) {
        const nlohmann::json anomaly = {
            {"machine_time", now}, {"newest_event_at", prev->at}, {"behind_seconds", behind}};
        if (Status s = append("itaku", "clock.anomaly", "clock", anomaly.dump()); !s.ok()) {
          return s;
        }
        if (Status s = store_.SetMeta(kAnomalyKey, prev->at); !s.ok()) return s;
      }
    }
    if (Status s = append(actor, action, subject, details.is_null() ? "{}" : details.dump());
        !s.ok()) {
      return s;
    }
    return store_.SetMeta(kHeadKey, std::to_string(prev->seq) + " " + prev->hash);
  });
}

Result<std::string> AuditTrail::ClockBehind() {
  auto last = store_.LastAuditEvent();
  if (!last.ok()) return last.status();
  if (!last.value()) return std::string();
  const std::string now = clock_.NowUtc();
  const int64_t behind = SecondsBehind(now, last.value()->at);
  if (behind <= kClockSlackSeconds) return std::string();
  return "the machine's clock (" + now + ") is " + std::to_string(behind) +
         " s behind the newest audit event (" + last.value()->at +
         "); deliveries wait until the clock is right again (clock.anomaly recorded)";
}

Result<AuditVerification> AuditTrail::Verify() {
  AuditVerification v;
  std::string prev_hash = kAuditGenesis;
  int64_t expected_seq = 1;
  Status walked = store_.ForEachAuditEvent([&](const contracts::AuditEvent& e) {
    const std::string where = "audit event " + std::to_string(e.seq) + " (" + e.action + ")";
    if (e.seq != expected_seq) {
      v.problem = e.seq > expected_seq
                      ? where + ": events " + std::to_string(expected_seq) + " to " +
                            std::to_string(e.seq - 1) + " are missing (deleted)"
                      : where + ": out of sequence (inserted)";
    } else if (e.prev_hash != prev_hash) {
      v.problem = where + ": does not link to the event before it (inserted or replaced)";
    } else if (AuditHash(e) != e.hash) {
      v.problem = where + ": contents do not match its hash (edited)";
    }
    if (!v.problem.empty()) return false;
    prev_hash = e.hash;
    ++expected_seq;
    ++v.events;
    return true;
  });
  if (!walked.ok()) return walked;
  if (v.problem.empty()) {
    // The head kept beside the chain catches deletion of the newest events.
    auto head = store_.GetMeta(kHeadKey);
    if (!head.ok()) return head.status();
    const std::string expect =
        v.events == 0 ? std::string() : std::to_string(v.events) + " " + prev_hash;
    const std::string have = head.value().value_or("");
    if (have != expect) {
      long long head_seq = 0;
      std::sscanf(have.c_str(), "%lld", &head_seq);
      v.problem = head_seq > v.events
                      ? "audit event " + std::to_string(v.events + 1) +
                            ": missing at the end of the chain (deleted; the head names event " +
                            std::to_string(head_seq) + ")"
                      : "audit chain head does not match the newest event (edited)";
    }
  }
  v.intact = v.problem.empty();
  return v;
}

}  // namespace itaku::gateway
