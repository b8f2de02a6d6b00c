// The hash-chained audit trail. Every registry change, decision and delivery
// appends an event whose hash covers the previous event's hash, so an edit,
// insertion or deletion of any row is found by Verify().
//
// Details are canonical JSON (keys sorted, no whitespace) and never hold
// personal data: subscriber ids at most, never names, addresses, phones or
// account numbers.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>

#include "contracts/base/status.h"
#include "contracts/store.h"
#include "gateway/clock.h"

namespace itaku::gateway {

// SHA-256 (lowercase hex) over seq, at, actor, action, subject, details and
// prev_hash, as the canonical JSON array of those seven values.
std::string AuditHash(const contracts::AuditEvent& event);

// The prev_hash of the first event.
extern const char kAuditGenesis[];

struct AuditVerification {
  int64_t events = 0;
  bool intact = true;
  std::string problem;  // first bad event, one line; empty when intact
};

class AuditTrail {
 public:
  // Borrows both; they must outlive the trail.
  AuditTrail(contracts::Store& store, Clock& clock) : store_(store), clock_(clock) {}

  // Appends one event inside its own transaction (or the caller's, when one
  // is open), and moves the chain head recorded in the store's meta table.
  Status Append(const std::string& actor, const std::string& action, const std::string& subject,
                const nlohmann::json& details);

  // Walks the whole chain.
  Result<AuditVerification> Verify();

  // An event is never dated before the one it follows: when the machine's
  // clock reads earlier than the newest event, the new event takes the
  // newest event's time, and if the clock is more than kClockSlack behind,
  // a "clock.anomaly" event (with the machine's reading) goes first, once
  // per episode. ClockBehind() says why deliveries wait meanwhile: empty
  // when the clock is right.
  Result<std::string> ClockBehind();
  static constexpr int kClockSlackSeconds = 60;

 private:
  contracts::Store& store_;
  Clock& clock_;
};

// A refusal's one line, extended when its audit event could not be written,
// so that a refusal missing from the record never passes silently.
std::string WithAuditFailure(const std::string& refusal, const Status& audited);

}  // namespace itaku::gateway
