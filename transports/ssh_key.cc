#include "transports/ssh_key.h"

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/sha.h>

#include <cstdint>
#include <optional>
#include <string_view>

#include "transports/detail/openssl_handles.h"
#include "transports/detail/ssh_handles.h"

namespace itaku::transports {
namespace {

using R = Result<SshKeyInfo>;

constexpr std::string_view kOpenSshBegin = "-----BEGIN OPENSSH PRIVATE KEY-----";
constexpr std::string_view kOpenSshEnd = "-----END OPENSSH PRIVATE KEY-----";
constexpr std::string_view kOpenSshMagic{"openssh-key-v1\0", 15};

// Reads the SSH wire format (RFC 4251): uint32 and length-prefixed strings.
class WireReader {
 public:
  explicit WireReader(std::string_view data) : data_(data) {}

  std::optional<uint32_t> U32() {
    if (data_.size() < 4) return std::nullopt;
    uint32_t v = 0;
    for (int i = 0; i < 4; ++i) v = (v << 8) | static_cast<unsigned char>(data_[i]);
    data_.remove_prefix(4);
    return v;
  }

  std::optional<std::string_view> String() {
    auto n = U32();
    if (!n || data_.size() < *n) return std::nullopt;
    std::string_view s = data_.substr(0, *n);
    data_.remove_prefix(*n);
    return s;
  }

  std::string_view rest() const { return data_; }
  bool Skip(size_t n) {
    if (data_.size() < n) return false;
    data_.remove_prefix(n);
    return true;
  }

 private:
  std::string_view data_;
};

// Bits of an SSH mpint (big-endian, a leading zero byte for positive
// numbers whose top bit is set).
int MpintBits(std::string_view m) {
  while (!m.empty() && m.front() == '\0') m.remove_prefix(1);
  if (m.empty()) return 0;
  int bits = static_cast<int>(m.size()) * 8;
  for (auto top = static_cast<unsigned char>(m.front()); (top & 0x80) == 0; top <<= 1) --bits;
  return bits;
}

std::optional<std::string> Base64Decode(std::string_view text) {
  std::string clean;
  for (char c : text) {
    if (c != '\n' && c != '\r' && c != ' ' && c != '\t') clean.push_back(c);
  }
  if (clean.size() % 4 != 0) return std::nullopt;
  std::string out(clean.size() / 4 * 3, '\0');
  const int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                reinterpret_cast<const unsigned char*>(clean.data()),
                                static_cast<int>(clean.size()));
  if (n < 0) return std::nullopt;
  size_t padding = 0;
  if (!clean.empty() && clean.back() == '=') ++padding;
  if (clean.size() > 1 && clean[clean.size() - 2] == '=') ++padding;
  out.resize(static_cast<size_t>(n) - padding);
  return out;
}

R Judge(const std::string& type, int bits) {
  if (type == "rsa" && bits < 2048) {
    return R::Error("RSA key is " + std::to_string(bits) + " bits; at least 2048 required");
  }
  SshKeyInfo info;
  info.type = type;
  info.bits = bits;
  return info;
}

R InspectOpenSsh(std::string_view text) {
  const size_t begin = text.find(kOpenSshBegin) + kOpenSshBegin.size();
  const size_t end = text.find(kOpenSshEnd, begin);
  if (end == std::string_view::npos) return R::Error("damaged OpenSSH key");
  auto blob = Base64Decode(text.substr(begin, end - begin));
  if (!blob || blob->compare(0, kOpenSshMagic.size(), kOpenSshMagic) != 0) {
    return R::Error("damaged OpenSSH key");
  }
  WireReader r(std::string_view(*blob).substr(kOpenSshMagic.size()));
  auto cipher = r.String();
  auto kdf = r.String();
  auto kdf_options = r.String();
  auto count = r.U32();
  if (!cipher || !kdf || !kdf_options || !count || *count != 1) {
    return R::Error("damaged OpenSSH key");
  }
  auto public_key = r.String();
  if (!public_key) return R::Error("damaged OpenSSH key");
  // The private section must be whole; a cut-off key still has its public
  // half. Unencrypted, it starts with two equal check words and the type.
  auto private_section = r.String();
  if (!private_section || private_section->empty() || private_section->size() % 8 != 0) {
    return R::Error("damaged OpenSSH key");
  }
  if (*cipher == "none") {
    WireReader priv(*private_section);
    auto check1 = priv.U32();
    auto check2 = priv.U32();
    auto inner_type = priv.String();
    WireReader outer(*public_key);
    if (!check1 || !check2 || *check1 != *check2 || !inner_type ||
        *inner_type != outer.String().value_or("") || !r.rest().empty()) {
      return R::Error("damaged OpenSSH key");
    }
  }

  WireReader pk(*public_key);
  auto type = pk.String();
  if (!type) return R::Error("damaged OpenSSH key");
  R judged = R::Error("key type " + std::string(*type) +
                      " is not accepted; use ed25519, ECDSA or RSA >= 2048");
  if (*type == "ssh-ed25519") {
    judged = Judge("ed25519", 256);
  } else if (*type == "ssh-rsa") {
    auto e = pk.String();
    auto n = pk.String();
    if (!e || !n) return R::Error("damaged OpenSSH key");
    judged = Judge("rsa", MpintBits(*n));
  } else if (type->rfind("ecdsa-sha2-nistp", 0) == 0) {
    const std::string_view curve = type->substr(16);
    const int bits = curve == "256" ? 256 : curve == "384" ? 384 : curve == "521" ? 521 : 0;
    if (bits == 0) return judged;
    judged = Judge("ecdsa", bits);
  }
  if (!judged.ok()) return judged;
  SshKeyInfo info = std::move(judged).value();
  info.encrypted = *cipher != "none";
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(public_key->data()), public_key->size(), digest);
  info.fingerprint = detail::OpenSshFingerprint(digest);
  return info;
}

int PassphraseCallback(char* buf, int size, int /*rwflag*/, void* user) {
  const auto* phrase = static_cast<const std::string*>(user);
  if (phrase == nullptr || phrase->empty()) return -1;
  if (phrase->size() > static_cast<size_t>(size)) return -1;
  phrase->copy(buf, phrase->size());
  return static_cast<int>(phrase->size());
}

R InspectPem(const std::string& text, const std::string& passphrase) {
  const bool encrypted = text.find("ENCRYPTED") != std::string::npos;
  if (encrypted && passphrase.empty()) {
    return R::Error("key is protected by a passphrase that was not given");
  }
  detail::BioPtr bio(BIO_new_mem_buf(text.data(), static_cast<int>(text.size())));
  if (!bio) return R::Error("not an SSH private key (OpenSSH or PEM)");
  std::string phrase = passphrase;
  EVP_PKEY* raw = PEM_read_bio_PrivateKey(bio.get(), nullptr, PassphraseCallback, &phrase);
  OPENSSL_cleanse(phrase.data(), phrase.size());
  if (raw == nullptr) {
    return R::Error(encrypted ? "cannot open the key: wrong passphrase or damaged key"
                              : "not an SSH private key (OpenSSH or PEM)");
  }
  std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)> key(raw, EVP_PKEY_free);
  const int bits = EVP_PKEY_get_bits(key.get());
  const char* type_name = EVP_PKEY_get0_type_name(key.get());
  R judged = R::Error("key type " + std::string(type_name ? type_name : "unknown") +
                      " is not accepted; use ed25519, ECDSA or RSA >= 2048");
  switch (EVP_PKEY_get_base_id(key.get())) {
    case EVP_PKEY_RSA:
      judged = Judge("rsa", bits);
      break;
    case EVP_PKEY_EC:
      judged = Judge("ecdsa", bits);
      break;
    case EVP_PKEY_ED25519:
      judged = Judge("ed25519", 256);
      break;
    default:
      break;
  }
  if (judged.ok()) judged.value().encrypted = encrypted;
  return judged;
}

}  // namespace

Result<SshKeyInfo> InspectPrivateKey(const std::string& text, const std::string& passphrase) {
  if (text.find(kOpenSshBegin) != std::string::npos) return InspectOpenSsh(text);
  if (text.find("-----BEGIN ") != std::string::npos &&
      text.find("PRIVATE KEY-----") != std::string::npos) {
    return InspectPem(text, passphrase);
  }
  return R::Error("not an SSH private key (OpenSSH or PEM)");
}

}  // namespace itaku::transports
