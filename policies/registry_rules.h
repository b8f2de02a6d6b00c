// Rules of the registry itself (who may be registered, and how): pure
// functions returning the refusal a person reads, or empty.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

#include "contracts/types.h"

namespace itaku::policies {

// `text` as it may be shown on a terminal or in a one-line message: control
// characters (C0, DEL, C1: line breaks, terminal escapes), bidirectional and
// line-separator controls (U+061C, U+200E, U+200F, U+2028, U+2029,
// U+202A-U+202E, U+2066-U+2069) and bytes that are not UTF-8 are written as
// escapes ("\n", "\x1b", "\u{202E}", "\xff"), as are '"' and '\'; with
// `ascii_only`, every other non-ASCII character too. Past `max_chars`
// characters it is cut and ends in "…". (The refusals below quote it and add
// the length of what was cut: got "aaaa…" (5000 bytes).)
std::string Printable(std::string_view text, bool ascii_only = false, size_t max_chars = 40);

// Contractor ids and profile ids name files, URL paths and audit subjects:
// 1 to 64 characters of a-z, 0-9, '-', '_' and '.', starting with a letter
// or a digit, and no "..". The refusal names the rule and shows the id
// escaped (Printable, ASCII only), e.g.
//   profile id must be 1 to 64 characters of a-z, 0-9, '-', '_' and '.',
//   starting with a letter or digit, without "..": got "../x"
std::string ContractorIdRefusal(std::string_view id);
std::string ProfileIdRefusal(std::string_view id);

// A staff member's or contractor's name is printed on terminals, in the
// console, in the audit trail and in letters: valid UTF-8, 1 to 100
// characters, without control characters (line breaks, terminal escapes)
// or bidirectional controls (see Printable). `what` names it in the
// refusal ("staff name", "name of contractor agency-a"):
//   staff name must not hold control characters (line breaks, terminal
//   escapes) or bidirectional controls: got "a\nb"
std::string DisplayNameRefusal(std::string_view what, std::string_view name);

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
