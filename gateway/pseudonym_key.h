// The pseudonym key: the HMAC-SHA256 key of the `pseudonym` mask (policy
// 2(3)[6], statistics that identify no one). Whoever holds it can reverse a
// pseudonym by trying every subscriber id, so it lives beside the other
// daemon keys, never in the store:
//
//   <db>.d/pseudonym-keys/pseudonym.key                  64 hex digits + "\n", 0600
//   <db>.d/pseudonym-keys/pseudonym.key.<UTC>.retired    a key rotated out, 0600
//
// The key is the 64-digit text itself (its ASCII bytes are the HMAC key), as
// it was when it lived in the store's meta table, so pseudonyms made before
// the move stay what they were. The store keeps only the key's fingerprint
// (meta "pseudonym_key_fingerprint": the first 8 hex digits of the SHA-256
// of the key text), which names a key without revealing it and tells a lost
// or foreign key file from a store that never had one.
//
// Every function here may write the store and the audit trail (a key still
// in the store is moved out first); none is thread-safe (one Context per
// thread, as everywhere). Errors are one line naming the file.
#pragma once

#include <functional>
#include <string>

#include "contracts/base/status.h"
#include "gateway/context.h"

namespace itaku::gateway {

// "<db>.d/pseudonym-keys" and the key file in it.
std::string PseudonymKeyDir(const std::string& db_path);
std::string PseudonymKeyPath(const std::string& db_path);

// The first 8 hex digits of the SHA-256 of `key`: how output and the audit
// trail name a key.
std::string PseudonymKeyFingerprint(const std::string& key);

// The key as ProjectionSpec::pseudonym_key takes it (64 lowercase hex
// digits). Moves a key still in the store out of it first
// (MovePseudonymKeyOutOfStore). Then reads the key file, which must be a
// plain file of the service account's, mode 0600 (nothing for group or
// others), holding 64 lowercase hex digits and at most a newline:
//   Error   "store has no pseudonym key: run itaku init"
//   Refused "the pseudonym key PATH is missing: restore it from the backup (…)"
//   Refused "the pseudonym key PATH is a symbolic link; it must be a plain file"
//   Refused "the pseudonym key PATH must be a plain file owned by the service account"
//   Refused "the pseudonym key PATH is open to group or others (mode 0644); it must be mode 0600"
//   Error   "the pseudonym key PATH is not 64 hex digits: restore it from the backup"
//   Refused "the pseudonym key PATH (fingerprint F) is not the one this store uses (G): …"
//   Io      when it cannot be read.
Result<std::string> LoadPseudonymKey(Context& ctx);

// Stores made before the key moved out hold it in meta "pseudonym_key".
// Writes it to PseudonymKeyPath (0600, temporary file, fsync, rename that
// refuses to replace; a file already holding the same key is kept), then in
// one transaction deletes the meta row, records the fingerprint and audits
// `pseudonym.key-moved` ({fingerprint, file}). Returns whether a key moved.
// Conflict when the key file holds another key than the store's.
Result<bool> MovePseudonymKeyOutOfStore(Context& ctx);

// `itaku init`'s part. Moves a key still in the store out of it. When the
// store has no key yet, writes a new one (32 random bytes as hex; a valid
// key file already there, from an init that stopped half-way, is kept) and
// records its fingerprint, running `also(fingerprint)` (init's own audit
// event) in the same transaction. Returns whether the store got its key now
// (false: it already had one).
Result<bool> InitPseudonymKey(Context& ctx,
                              const std::function<Status(const std::string& fingerprint)>& also);

// `itaku keys rotate-pseudonym --reason R` (privacy officers). A new key
// replaces the current one, which is kept as
// "pseudonym.key.<UTC, 20260501T120000Z>.retired" (0600; the same file,
// hard-linked before the replacement). Deliveries from now on carry new
// pseudonyms, so a contractor cannot link a subscriber's records across the
// rotation; earlier deliveries are unchanged; the retired key still
// re-identifies their pseudonyms until someone deletes it. The new
// fingerprint is recorded and audited as `pseudonym.key-rotated`
// ({fingerprint, previous, retired_file, reason}); never the key. A missing
// key file is no obstacle (this is how a lost key is replaced on purpose);
// an unsafe one is refused as LoadPseudonymKey refuses it.
Result<Output> RotatePseudonymKey(Context& ctx, const std::string& reason);

}  // namespace itaku::gateway
