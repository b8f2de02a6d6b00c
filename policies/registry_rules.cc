#include "policies/registry_rules.h"

#include <cstdint>

namespace itaku::policies {
namespace {

// The code point of the UTF-8 sequence at text[at] and its length; 0 for a
// byte that starts no valid sequence (overlong forms, surrogates and code
// points past U+10FFFF included).
size_t DecodeUtf8(std::string_view text, size_t at, char32_t* cp) {
  const auto byte = [&](size_t i) { return static_cast<unsigned char>(text[i]); };
  const unsigned char lead = byte(at);
  if (lead < 0x80) {
    *cp = lead;
    return 1;
  }
  size_t length = 0;
  if ((lead & 0xe0) == 0xc0) {
    length = 2;
  } else if ((lead & 0xf0) == 0xe0) {
    length = 3;
  } else if ((lead & 0xf8) == 0xf0) {
    length = 4;
  } else {
    return 0;  // a continuation byte, or no lead byte at all
  }
  constexpr char32_t kLeast[] = {0, 0, 0x80, 0x800, 0x10000};  // by length
  const char32_t least = kLeast[length];
  char32_t value = static_cast<char32_t>(lead & (0x7f >> length));
  if (at + length > text.size()) return 0;
  for (size_t i = 1; i < length; ++i) {
    if ((byte(at + i) & 0xc0) != 0x80) return 0;
    value = (value << 6) | static_cast<char32_t>(byte(at + i) & 0x3f);
  }
  if (value < least || value > 0x10ffff || (value >= 0xd800 && value <= 0xdfff)) return 0;
  *cp = value;
  return length;
}

// Characters that move the cursor, start terminal escapes, break a line or
// reorder what a reader sees (U+202E shows what follows right to left).
bool IsControl(char32_t cp) {
  return cp < 0x20 || cp == 0x7f || (cp >= 0x80 && cp <= 0x9f) || cp == 0x061c || cp == 0x200e ||
         cp == 0x200f || cp == 0x2028 || cp == 0x2029 || (cp >= 0x202a && cp <= 0x202e) ||
         (cp >= 0x2066 && cp <= 0x2069);
}

// `value` in `digits` hex digits, lowercase ("1b") or uppercase ("202E").
std::string Hex(uint32_t value, int digits, bool upper) {
  const char* hex = upper ? "0123456789ABCDEF" : "0123456789abcdef";
  std::string out(static_cast<size_t>(digits), '0');
  for (int i = digits - 1; i >= 0; --i, value >>= 4) out[static_cast<size_t>(i)] = hex[value & 15];
  return out;
}

// Printable without the "…": *cut says whether text was longer.
std::string Escaped(std::string_view text, bool ascii_only, size_t max_chars, bool* cut) {
  std::string out;
  size_t at = 0;
  for (size_t chars = 0; at < text.size() && chars < max_chars; ++chars) {
    char32_t cp = 0;
    const size_t length = DecodeUtf8(text, at, &cp);
    if (length == 0) {
      out += "\\x" + Hex(static_cast<unsigned char>(text[at]), 2, false);
      at += 1;
      continue;
    }
    if (cp == '\n') {
      out += "\\n";
    } else if (cp == '\r') {
      out += "\\r";
    } else if (cp == '\t') {
      out += "\\t";
    } else if (cp == '"' || cp == '\\') {
      out += '\\';
      out += static_cast<char>(cp);
    } else if (cp < 0x80 && IsControl(cp)) {
      out += "\\x" + Hex(static_cast<uint32_t>(cp), 2, false);
    } else if (cp >= 0x80 && (ascii_only || IsControl(cp))) {
      out += "\\u{" + Hex(static_cast<uint32_t>(cp), cp > 0xffff ? 6 : 4, true) + "}";
    } else {
      out.append(text.substr(at, length));
    }
    at += length;
  }
  *cut = at < text.size();
  return out;
}

// `text` quoted as a refusal shows it: "../x", or "aaaa…" (5000 bytes).
std::string Quoted(std::string_view text, bool ascii_only) {
  bool cut = false;
  const std::string shown = Escaped(text, ascii_only, 40, &cut);
  if (!cut) return "\"" + shown + "\"";
  return "\"" + shown + "…\" (" + std::to_string(text.size()) + " bytes)";
}

bool IdCharacter(char c) {
  return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.';
}

std::string IdRefusal(std::string_view what, std::string_view id) {
  bool ok = !id.empty() && id.size() <= 64 && id.find("..") == std::string_view::npos;
  for (char c : id) ok = ok && IdCharacter(c);
  const char first = id.empty() ? '\0' : id.front();
  ok = ok && ((first >= 'a' && first <= 'z') || (first >= '0' && first <= '9'));
  if (ok) return "";
  return std::string(what) +
         " must be 1 to 64 characters of a-z, 0-9, '-', '_' and '.', starting with a letter or "
         "digit, without \"..\": got " +
         Quoted(id, true);
}

}  // namespace

std::string Printable(std::string_view text, bool ascii_only, size_t max_chars) {
  bool cut = false;
  std::string out = Escaped(text, ascii_only, max_chars, &cut);
  return cut ? out + "…" : out;
}

std::string ContractorIdRefusal(std::string_view id) { return IdRefusal("contractor id", id); }

std::string ProfileIdRefusal(std::string_view id) { return IdRefusal("profile id", id); }

std::string DisplayNameRefusal(std::string_view what, std::string_view name) {
  const std::string who(what);
  if (name.empty()) return who + " must not be empty";
  size_t chars = 0;
  bool control = false;
  for (size_t at = 0; at < name.size(); ++chars) {
    char32_t cp = 0;
    const size_t length = DecodeUtf8(name, at, &cp);
    if (length == 0) return who + " is not UTF-8 text: got " + Quoted(name, false);
    control = control || IsControl(cp);
    at += length;
  }
  if (control) {
    return who +
           " must not hold control characters (line breaks, terminal escapes) or bidirectional "
           "controls: got " +
           Quoted(name, false);
  }
  if (chars > 100) {
    return who + " is longer than 100 characters (" + std::to_string(chars) + ")";
  }
  return "";
}

std::string NdaRefusal(const contracts::Nda& n) {
  const std::string who = "NDA for " + n.contractor_id + ": ";
  if (n.in_force_until < n.in_force_from) {
    return who + "--until " + FormatDate(n.in_force_until) + " is before --from " +
           FormatDate(n.in_force_from);
  }
  if (n.signatories.empty()) return who + "at least one --signatory is required";
  return "";
}

std::string PortalCertificateRefusal(const std::string& contractor_id,
                                     const std::string& fingerprint,
                                     const std::optional<std::string>& owner) {
  if (!owner || *owner == contractor_id) return "";
  return "contractor " + contractor_id + ": portal certificate " + fingerprint +
         " is already registered for contractor " + *owner;
}

std::optional<std::string> NormalisedHostKeyPin(std::string pin) {
  while (!pin.empty() && pin.back() == '=') pin.pop_back();
  constexpr std::string_view kPrefix = "SHA256:";
  constexpr std::string_view kBase64 =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  const bool shaped = pin.rfind(kPrefix, 0) == 0 && pin.size() == kPrefix.size() + 43 &&
                      pin.find_first_not_of(kBase64, kPrefix.size()) == std::string::npos;
  if (!shaped) return std::nullopt;
  return pin;
}

std::string PinAfterChange(const std::string& old_pin, const std::string& new_pin,
                           bool server_moved) {
  if (!new_pin.empty()) return new_pin;
  return server_moved ? "" : old_pin;
}

std::optional<PassphraseSource> ParsePassphraseSource(std::string_view stored) {
  using Kind = PassphraseSource::Kind;
  if (stored.empty()) return PassphraseSource{};
  for (auto [prefix, kind] : {std::pair{std::string_view("env:"), Kind::kEnv},
                              std::pair{std::string_view("file:"), Kind::kFile}}) {
    if (stored.substr(0, prefix.size()) == prefix && stored.size() > prefix.size()) {
      return PassphraseSource{kind, std::string(stored.substr(prefix.size()))};
    }
  }
  return std::nullopt;
}

std::string ToString(const PassphraseSource& source) {
  switch (source.kind) {
    case PassphraseSource::Kind::kNone:
      return "";
    case PassphraseSource::Kind::kEnv:
      return "env:" + source.name;
    case PassphraseSource::Kind::kFile:
      return "file:" + source.name;
  }
  return "";
}

PassphraseChoice ChoosePassphraseSource(const PassphraseSource& current,
                                        const std::string& env_name,
                                        const std::string& absolute_file) {
  using Kind = PassphraseSource::Kind;
  if (!env_name.empty() && !absolute_file.empty()) {
    return {current, "give --key-passphrase-env or --key-passphrase-file, not both"};
  }
  if (!env_name.empty()) return {{Kind::kEnv, env_name}, ""};
  if (!absolute_file.empty()) return {{Kind::kFile, absolute_file}, ""};
  return {current, ""};
}

std::string KeySourceRefusal(bool encrypted, const PassphraseSource& source) {
  if (!encrypted || source.kind != PassphraseSource::Kind::kNone) return "";
  return "is protected by a passphrase: say where it comes from with "
         "--key-passphrase-env NAME or --key-passphrase-file PATH";
}

bool KeepsPassphraseSource(bool encrypted, bool key_replaced, bool source_named) {
  return encrypted || !key_replaced || source_named;
}

}  // namespace itaku::policies
