// Rules of the registry itself (who may be registered, and how): pure
// functions returning the refusal a person reads, or empty.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "contracts/types.h"

namespace itaku::policies {

// A contractor id names files and URL paths: non-empty, no spaces, slashes
// or colons.
std::string ContractorIdRefusal(const std::string& id);

// An NDA (機密保持契約, policy 4(3)) runs forwards and has a signatory. The
// refusal names the contractor: "NDA for agency-a: --until … is before
// --from …".
std::string NdaRefusal(const contracts::Nda& nda);

// One portal certificate, one contractor: its fingerprint is the portal's
// identity of the contractor. `owner` is whoever holds `fingerprint` now.
std::string PortalCertificateRefusal(const std::string& contractor_id,
                                     const std::string& fingerprint,
                                     const std::optional<std::string>& owner);

// ---- SFTP endpoints ------------------------------------------------------------

// A host-key pin as OpenSSH prints it: "SHA256:" and 43 base64 characters
// (a trailing '=' is accepted and dropped). The pin to store, or nullopt.
std::optional<std::string> NormalisedHostKeyPin(std::string pin);

// The pin after a change of the endpoint: a new pin wins; otherwise a pin
// belongs to one host and port, and is dropped ("") when the server moved,
// so that nothing is delivered until the new server is pinned.
std::string PinAfterChange(const std::string& old_pin, const std::string& new_pin,
                           bool server_moved);

// Where a client key's passphrase comes from. Stored as "env:NAME" or
// "file:PATH"; "" when the key has none. The passphrase itself is never
// stored.
struct PassphraseSource {
  enum class Kind { kNone, kEnv, kFile };
  Kind kind = Kind::kNone;
  std::string name;  // the variable or the file
};
std::optional<PassphraseSource> ParsePassphraseSource(std::string_view stored);
std::string ToString(const PassphraseSource& source);

// What a registration's --key-passphrase-env / --key-passphrase-file leave
// as the source: the one named, else `current`. Naming both is refused.
struct PassphraseChoice {
  PassphraseSource source;
  std::string refusal;
};
PassphraseChoice ChoosePassphraseSource(const PassphraseSource& current,
                                        const std::string& env_name,
                                        const std::string& absolute_file);

// After the key is read: a key protected by a passphrase needs a source
// (the refusal says how to give one), and a new key without one drops an old
// source nobody named again (deliveries would wait for a variable nobody
// sets any more).
std::string KeySourceRefusal(bool encrypted, const PassphraseSource& source);
bool KeepsPassphraseSource(bool encrypted, bool key_replaced, bool source_named);

}  // namespace itaku::policies
