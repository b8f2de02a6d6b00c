// The audit trail's two keys, kept by the daemon outside the store: an
// HMAC-SHA256 key that links each event to the one before (so the chain
// cannot be recomputed from the public scheme alone) and an Ed25519 key
// that signs checkpoints (so a checkpoint that left the machine proves what
// the chain held). Someone who can read both files can still rewrite the
// store consistently; only a checkpoint kept elsewhere catches that.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "contracts/base/status.h"

namespace itaku::gateway {

class AuditKeys {
 public:
  // Fresh keys in memory (unit tests; LoadOrCreate for the daemon).
  static Result<AuditKeys> Generate();
  // Reads "<dir>/audit-hmac.key" and "<dir>/audit-signing.pem", creating
  // both (folder 0700, files 0600) when neither exists. Refuses when only
  // one exists, when either is a link, not the caller's, or readable by
  // anyone else.
  static Result<AuditKeys> LoadOrCreate(const std::string& dir);

  // HMAC-SHA256 of `text`, lowercase hex.
  std::string Mac(std::string_view text) const;
  // Ed25519 signature of `text`, lowercase hex.
  std::string Sign(std::string_view text) const;
  // The raw public key (hex) and its id: the first 16 hex digits of its
  // SHA-256.
  const std::string& public_key() const { return public_key_hex_; }
  const std::string& key_id() const { return key_id_; }

 private:
  std::string hmac_key_;
  std::shared_ptr<void> signing_;  // EVP_PKEY, freed with EVP_PKEY_free
  std::string public_key_hex_;
  std::string key_id_;
};

// Whether `signature_hex` is an Ed25519 signature of `text` by the raw
// public key `public_key_hex`.
bool VerifySignature(const std::string& public_key_hex, std::string_view text,
                     const std::string& signature_hex);
// The id of a raw public key (hex), as AuditKeys::key_id().
std::string KeyIdOf(const std::string& public_key_hex);

}  // namespace itaku::gateway
