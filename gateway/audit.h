// The audit trail: a keyed, hash-chained record of every registry change,
// decision and delivery, anchored by signed checkpoints that leave the
// machine.
//
// Each event's hash is an HMAC (the daemon's audit key, outside the store)
// over seq, at, actor, action, subject, details and the previous event's
// hash, so an edit, insertion or deletion of any row breaks the chain, and
// recomputing it needs the key. The newest event is also named by a keyed
// head beside the chain (catches deleting the newest events). A checkpoint
// is the daemon's Ed25519 signature over (seq, head hash, time): it travels
// in every package's manifest.json, goes to the privacy officers daily, and
// prints as a short code for a paper ledger. Someone who holds this
// machine's keys can rewrite the store consistently; a checkpoint kept
// elsewhere still catches any rewrite of what came before it.
//
// Events about a delivery ("delivery:N") or a portal package ("portal:ID")
// also commit to the records as they are after the change: the delivery
// row (which carries its receipts' count and digest), its media row and
// its portal packages. Verify() checks every such record against the
// newest commitment, and the receipts against the delivery row, so
// deleting or changing a delivery or a receipt is caught.
//
// Details are canonical JSON (keys sorted, no whitespace) and never hold
// personal data: subscriber ids at most, never names, addresses, phones or
// account numbers.
#pragma once

#include <openssl/evp.h>

#include <cstdint>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "contracts/base/status.h"
#include "contracts/store.h"
#include "gateway/audit_keys.h"
#include "gateway/clock.h"

namespace itaku::gateway {

// The prev_hash of the first event.
extern const char kAuditGenesis[];

// The canonical text an event's hash covers: the JSON array of seq, at,
// actor, action, subject, details and prev_hash.
std::string AuditHashInput(const contracts::AuditEvent& event);
// SHA-256 of that text: the unkeyed scheme of stores before schema 7.
std::string AuditHash(const contracts::AuditEvent& event);

// SHA-256 over a delivery's receipts, one "id\tcarried\n" line each, in
// the order they were stored.
class ReceiptsDigest {
 public:
  ReceiptsDigest();
  ~ReceiptsDigest();
  ReceiptsDigest(ReceiptsDigest&&) noexcept;
  ReceiptsDigest& operator=(ReceiptsDigest&&) noexcept;
  void Add(std::string_view subscriber_id, int64_t carried);
  int64_t count() const { return count_; }
  // The hex digest; the digest may not be added to afterwards.
  std::string Finish();

 private:
  EVP_MD_CTX* ctx_;
  int64_t count_ = 0;
};
// The digest of the receipts stored for one delivery.
Result<std::pair<int64_t, std::string>> StoredReceiptsDigest(contracts::Store& store,
                                                             int64_t delivery_id);

// A checkpoint as it leaves the machine: signed, with the public key that
// checks it, and its short code.
struct SignedCheckpoint {
  contracts::AuditCheckpoint checkpoint;
  std::string public_key;  // hex, raw Ed25519
  std::string code;        // "<seq>-XXXX-XXXX-XXXX-XXXX"
  nlohmann::json ToJson() const;
};
// The text a checkpoint's signature covers.
std::string CheckpointMessage(const contracts::AuditCheckpoint& checkpoint);
// "<seq>-" and the first 80 bits of `head` in Crockford base32, by fours.
std::string CheckpointCode(int64_t seq, const std::string& head);

// What someone brings to `audit verify`: a checkpoint file's contents, or a
// code from the paper ledger.
struct CheckpointClaim {
  std::string source;              // the file's name, or "code <CODE>"
  std::optional<nlohmann::json> file;  // a checkpoint file's JSON
  std::string code;                // a code, when no file
};

struct AuditVerification {
  int64_t events = 0;
  bool intact = true;
  std::string problem;                 // the first problem; empty when intact
  std::vector<std::string> problems;   // every problem found, one line each
  std::vector<std::string> checked;    // what was checked and held, one line each
  std::vector<std::string> not_ruled_out;  // what could not be ruled out
  nlohmann::json ToJson() const;
};

class AuditTrail {
 public:
  // Borrows the store and the clock; they must outlive the trail.
  AuditTrail(contracts::Store& store, Clock& clock, AuditKeys keys)
      : store_(store), clock_(clock), keys_(std::move(keys)) {}

  // Appends one event inside its own transaction (or the caller's, when one
  // is open), with its commitments when it is about a delivery or a portal
  // package, and moves the keyed head.
  Status Append(const std::string& actor, const std::string& action, const std::string& subject,
                const nlohmann::json& details);

  // Walks the whole chain, checks the head, the stored checkpoints and the
  // `claims`, and the records against their commitments.
  Result<AuditVerification> Verify(const std::vector<CheckpointClaim>& claims = {});

  // Signs the newest event, keeps the checkpoint and appends
  // "audit.checkpoint" (after it, naming it).
  Result<SignedCheckpoint> Checkpoint(const std::string& actor);
  // The newest stored checkpoint, signed; nullopt when there is none.
  Result<std::optional<SignedCheckpoint>> LatestCheckpoint();

  // An event is never dated before the one it follows: when the machine's
  // clock reads earlier than the newest event, the new event takes the
  // newest event's time, and if the clock is more than kClockSlack behind,
  // a "clock.anomaly" event (with the machine's reading) goes first, once
  // per episode. ClockBehind() says why deliveries wait meanwhile: empty
  // when the clock is right.
  Result<std::string> ClockBehind();
  static constexpr int kClockSlackSeconds = 60;

  const AuditKeys& keys() const { return keys_; }

 private:
  std::string Hash(const contracts::AuditEvent& e) const;
  // The commitments of the records a subject names; null when none.
  Result<nlohmann::json> Commitments(const std::string& subject);

  contracts::Store& store_;
  Clock& clock_;
  const AuditKeys keys_;
};

// A refusal's one line, extended when its audit event could not be written,
// so that a refusal missing from the record never passes silently.
std::string WithAuditFailure(const std::string& refusal, const Status& audited);

}  // namespace itaku::gateway
