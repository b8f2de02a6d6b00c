// How office staff prove who they are to the staff console (職員コンソール):
// a password kept as an argon2id hash, a TOTP second factor (二要素認証) whose
// secret is stored sealed under a key that never enters the store, session
// ids kept only as hashes, one-time enrolment codes handed out on paper, and
// the back-off after repeated failures.
//
// Everything here is a plain function of its inputs or of random bytes
// (libsodium's randombytes); no clock is read: the caller hands in the time.
// Every function and every const member of ConsoleKey may be called from
// several threads at once. Errors follow contracts/base/status.h: a one-line
// message in English for the operator; PasswordProblem's reasons are in
// Japanese because the staff member reads them on the sign-in page.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>

#include "contracts/base/status.h"

namespace itaku::gateway::console {

// --- Passwords ---------------------------------------------------------------

// The argon2id hash of `password` in libsodium's self-describing string form
// ("$argon2id$v=19$m=...,t=...,p=...$salt$hash"), with the interactive limits
// (about 64 MiB and a tenth of a second). Internal when libsodium cannot be
// initialised or the memory cannot be had.
Result<std::string> HashPassword(const std::string& password);

// Whether `password` is the one `hash` (from HashPassword) was made from.
// False for an empty, truncated or otherwise garbled hash.
bool VerifyPassword(const std::string& hash, const std::string& password);

// "" when `password` may be used by the staff member `staff_name`; otherwise
// the first reason it may not, as one Japanese line to show them:
//   fewer than 12 characters (Unicode code points, so 12 kana are enough)
//     → "パスワードは12文字以上にしてください"
//   more than 256 bytes of UTF-8
//     → "パスワードは256バイト以内にしてください"
//   contains `staff_name` (ASCII letters compared without case); an empty
//   name is not checked
//     → "パスワードに職員名を含めないでください"
std::string PasswordProblem(const std::string& password, const std::string& staff_name);

// --- TOTP (RFC 6238: HMAC-SHA-1, 6 digits, 30-second steps from the epoch) ---

// A fresh 20-byte TOTP secret, raw bytes (not text). Internal when libsodium
// cannot be initialised.
Result<std::string> NewTotpSecret();

// `raw` in RFC 4648 base32: uppercase A-Z and 2-7, without "=" padding (the
// form authenticator apps and `oathtool -b` take).
std::string Base32(const std::string& raw);

// The 6-digit code for `secret_raw` at `unix_time`; "" when the secret is
// empty or liboath fails. For tests and tools; sign-in uses MatchTotp.
std::string TotpCode(const std::string& secret_raw, int64_t unix_time);

// The time step (unix time / 30) at which `code` is the code of `secret_raw`,
// looking at the step of `now_unix` and one step either side (clocks drift
// and people type slowly). `code` is 6 digits, ASCII or full-width (０-９,
// as a Japanese IME types them), with ASCII or ideographic spaces anywhere
// ignored. nullopt when the code is malformed, matches none of the three
// steps, or matches only steps <= `last_used_step`: a code once accepted is
// never accepted again (the caller stores the returned step as the new
// `last_used_step`; pass -1 before the first sign-in).
std::optional<int64_t> MatchTotp(const std::string& secret_raw, const std::string& code,
                                 int64_t now_unix, int64_t last_used_step);

// The key URI authenticator apps read from the enrolment QR code:
// otpauth://totp/ISSUER:ACCOUNT?secret=BASE32&issuer=ISSUER&algorithm=SHA1&digits=6&period=30
// with ISSUER and ACCOUNT percent-encoded byte by byte (UTF-8, uppercase hex;
// only A-Z a-z 0-9 - . _ ~ are left as they are, so a space is %20).
std::string OtpauthUri(const std::string& issuer, const std::string& account,
                       const std::string& secret_raw);

// `text` as a QR code (error correction M, 8-bit mode) in a standalone SVG
// document: <svg xmlns=... viewBox="0 0 N N" width=.. height=.. role="img"
// aria-label="二要素認証の登録用QRコード">, a white background and one black
// <path>, with a 4-module quiet zone and 4 px per module. It has no style
// attributes and no scripts, so the console's Content-Security-Policy can
// forbid both. Error when `text` is empty, holds a NUL byte or is too long
// for a QR code; Internal when libqrencode fails otherwise.
Result<std::string> QrSvg(const std::string& text);

// --- The console key ---------------------------------------------------------

// The machine's console key: 32 random bytes in "<dir>/console.key", kept
// outside the store, so that a copy of the store alone holds no usable TOTP
// secret. Seal/Open use it as a libsodium secretbox key (XSalsa20-Poly1305);
// Mac as an HMAC-SHA-256 key. Move-only; the key bytes are wiped when an
// object is destroyed.
class ConsoleKey {
 public:
  static constexpr std::size_t kKeyBytes = 32;

  // Reads "<dir>/console.key". When the file does not exist, creates `dir`
  // (mode 0700 if this call creates it) and the key file (mode 0600, written
  // under a temporary name and renamed without replacing, so it appears
  // complete or not at all; if another process creates it first, that key is
  // read). Refused when the file is a symbolic link, not a regular file, not
  // the caller's, or readable or writable by group or others; Error when it
  // is not exactly 32 bytes (never replaced: a new key would make every sealed
  // secret unreadable); Io when it cannot be read or written. Every message
  // names the file.
  static Result<ConsoleKey> LoadOrCreate(const std::string& dir);

  ConsoleKey(ConsoleKey&& other) noexcept;
  ConsoleKey& operator=(ConsoleKey&& other) noexcept;
  ConsoleKey(const ConsoleKey&) = delete;
  ConsoleKey& operator=(const ConsoleKey&) = delete;
  ~ConsoleKey();

  // `plain` encrypted and authenticated under a fresh random nonce: lowercase
  // hex of nonce (24 bytes) || ciphertext (plain + 16 bytes).
  std::string Seal(const std::string& plain) const;
  // The plain text Seal was given. Error "console: a sealed value does not
  // open with this machine's console key" when `sealed_hex` is not hex, too
  // short, altered, or sealed under another key.
  Result<std::string> Open(const std::string& sealed_hex) const;
  // HMAC-SHA-256 of `data` under the key, lowercase hex (64 characters); the
  // console derives CSRF tokens from session ids with it.
  std::string Mac(const std::string& data) const;

 private:
  ConsoleKey() = default;
  std::array<unsigned char, kKeyBytes> key_{};
};

// --- Sessions ----------------------------------------------------------------

// A fresh session id: 32 random bytes as base64url without padding (43
// characters of A-Z a-z 0-9 - _), for the session cookie. Internal when
// libsodium cannot be initialised.
Result<std::string> NewSessionId();

// What the store keeps of a session id: its SHA-256, lowercase hex.
std::string SessionIdHash(const std::string& id);

// --- Enrolment codes ---------------------------------------------------------

// A fresh one-time enrolment code: 80 random bits as 16 Crockford base32
// characters (0-9 and A-Z without I, L, O, U), grouped "XXXX-XXXX-XXXX-XXXX".
// Internal when libsodium cannot be initialised.
Result<std::string> NewEnrolmentCode();

// A typed enrolment code in the form NewEnrolmentCode gives, so that what a
// person copies from paper matches: full-width ASCII (U+FF01..U+FF5E) becomes
// ASCII; spaces (ASCII and U+3000) and hyphens (ASCII, U+2010..U+2015,
// U+2212, U+30FC "ー") are dropped; letters are uppercased; O becomes 0, I
// and L become 1; then a hyphen goes after every 4 characters. Any other
// character is kept, so a wrong code stays wrong.
std::string NormaliseEnrolmentCode(const std::string& typed);

// What the store keeps of an enrolment code: the SHA-256 (lowercase hex) of
// NormaliseEnrolmentCode(code).
std::string EnrolmentCodeHash(const std::string& code);

// --- Lock-out ----------------------------------------------------------------

// How long sign-in stays closed after `consecutive_failures` failed attempts
// in a row: 0 below 5; 60 s at 5, doubling with each further failure (120 at
// 6, 240 at 7, ...), at most 3600 s.
int LockoutSeconds(int consecutive_failures);

}  // namespace itaku::gateway::console
