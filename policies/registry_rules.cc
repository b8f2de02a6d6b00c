#include "policies/registry_rules.h"

namespace itaku::policies {

std::string ContractorIdRefusal(const std::string& id) {
  if (id.empty() || id.find_first_of(" /\\:") != std::string::npos) {
    return "contractor id must be non-empty without spaces, slashes or colons";
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
