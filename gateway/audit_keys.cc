#include "gateway/audit_keys.h"

#include <fcntl.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <vector>

#include "contracts/base/files.h"

namespace itaku::gateway {
namespace {

namespace fs = std::filesystem;

constexpr char kHmacFile[] = "audit-hmac.key";
constexpr char kSigningFile[] = "audit-signing.pem";

std::string Hex(const unsigned char* data, size_t size) {
  static const char kDigits[] = "0123456789abcdef";
  std::string out;
  out.reserve(size * 2);
  for (size_t i = 0; i < size; ++i) {
    out += kDigits[data[i] >> 4];
    out += kDigits[data[i] & 15];
  }
  return out;
}

bool Unhex(const std::string& hex, std::vector<unsigned char>* out) {
  if (hex.size() % 2 != 0) return false;
  out->clear();
  for (size_t i = 0; i < hex.size(); i += 2) {
    auto nibble = [](char c) -> int {
      if (c >= '0' && c <= '9') return c - '0';
      if (c >= 'a' && c <= 'f') return c - 'a' + 10;
      return -1;
    };
    const int hi = nibble(hex[i]), lo = nibble(hex[i + 1]);
    if (hi < 0 || lo < 0) return false;
    out->push_back(static_cast<unsigned char>(hi * 16 + lo));
  }
  return true;
}

using Pkey = std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)>;

std::string RawPublicHex(EVP_PKEY* key) {
  unsigned char raw[64];
  size_t size = sizeof raw;
  if (EVP_PKEY_get_raw_public_key(key, raw, &size) != 1) return "";
  return Hex(raw, size);
}

// Reads a key file the daemon must keep to itself.
Result<std::string> ReadPrivateFile(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) return Status::Io("cannot read the audit key " + path + ": " + std::strerror(errno));
  struct stat st{};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_uid != ::geteuid() ||
      (st.st_mode & 077) != 0) {
    ::close(fd);
    return Status::Refused("the audit key " + path +
                           " must be a file of the service account's, readable by it alone");
  }
  std::string text;
  char buffer[4096];
  for (;;) {
    const ssize_t got = ::read(fd, buffer, sizeof buffer);
    if (got <= 0) break;
    text.append(buffer, static_cast<size_t>(got));
  }
  ::close(fd);
  return text;
}

Status WritePrivateFile(const std::string& path, const std::string& text) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (fd < 0) return Status::Io("cannot create the audit key " + path + ": " + std::strerror(errno));
  const bool written = ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size());
  const bool synced = ::fsync(fd) == 0;
  ::close(fd);
  if (!written || !synced) return Status::Io("cannot write the audit key " + path);
  return Status::Ok();
}

}  // namespace

std::string KeyIdOf(const std::string& public_key_hex) {
  std::vector<unsigned char> raw;
  if (!Unhex(public_key_hex, &raw)) return "";
  return Sha256Hex(std::string(raw.begin(), raw.end())).substr(0, 16);
}

Result<AuditKeys> AuditKeys::Generate() {
  AuditKeys keys;
  unsigned char secret[32];
  if (RAND_bytes(secret, sizeof secret) != 1) {
    return Status::Error("cannot draw random bytes for the audit key");
  }
  keys.hmac_key_.assign(reinterpret_cast<const char*>(secret), sizeof secret);
  EVP_PKEY* pkey = EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519");
  if (pkey == nullptr) return Status::Error("cannot generate the audit signing key (Ed25519)");
  keys.signing_ = std::shared_ptr<void>(pkey, [](void* p) { EVP_PKEY_free(static_cast<EVP_PKEY*>(p)); });
  keys.public_key_hex_ = RawPublicHex(pkey);
  keys.key_id_ = KeyIdOf(keys.public_key_hex_);
  return keys;
}

Result<AuditKeys> AuditKeys::LoadOrCreate(const std::string& dir) {
  const std::string hmac_path = (fs::path(dir) / kHmacFile).string();
  const std::string signing_path = (fs::path(dir) / kSigningFile).string();
  std::error_code ec;
  const bool has_hmac = fs::exists(fs::symlink_status(hmac_path, ec));
  const bool has_signing = fs::exists(fs::symlink_status(signing_path, ec));
  if (!has_hmac && !has_signing) {
    fs::create_directories(dir, ec);
    if (ec) return Status::Io("cannot create the audit key folder " + dir);
    fs::permissions(dir, fs::perms::owner_all, fs::perm_options::replace, ec);
    auto fresh = Generate();
    if (!fresh.ok()) return fresh.status();
    if (Status s = WritePrivateFile(hmac_path, Hex(reinterpret_cast<const unsigned char*>(
                                                       fresh->hmac_key_.data()),
                                                   fresh->hmac_key_.size()) +
                                                   "\n");
        !s.ok()) {
      return s;
    }
    BIO* bio = BIO_new(BIO_s_mem());
    PEM_write_bio_PrivateKey(bio, static_cast<EVP_PKEY*>(fresh->signing_.get()), nullptr, nullptr,
                             0, nullptr, nullptr);
    char* pem = nullptr;
    const long size = BIO_get_mem_data(bio, &pem);
    std::string text(pem, static_cast<size_t>(size));
    BIO_free(bio);
    if (Status s = WritePrivateFile(signing_path, text); !s.ok()) return s;
    return fresh;
  }
  if (!has_hmac || !has_signing) {
    return Status::Refused("the audit keys in " + dir + " are incomplete (" +
                           (has_hmac ? kSigningFile : kHmacFile) +
                           " is missing); restore it from the backup, never make a new one "
                           "beside the old");
  }
  auto hmac_text = ReadPrivateFile(hmac_path);
  if (!hmac_text.ok()) return hmac_text.status();
  auto pem_text = ReadPrivateFile(signing_path);
  if (!pem_text.ok()) return pem_text.status();
  AuditKeys keys;
  std::string hex = hmac_text.value();
  while (!hex.empty() && (hex.back() == '\n' || hex.back() == '\r')) hex.pop_back();
  std::vector<unsigned char> secret;
  if (!Unhex(hex, &secret) || secret.size() != 32) {
    return Status::Error("the audit key " + hmac_path + " is not 32 bytes of hex");
  }
  keys.hmac_key_.assign(secret.begin(), secret.end());
  BIO* bio = BIO_new_mem_buf(pem_text->data(), static_cast<int>(pem_text->size()));
  EVP_PKEY* pkey = PEM_read_bio_PrivateKey(bio, nullptr, nullptr, nullptr);
  BIO_free(bio);
  if (pkey == nullptr || EVP_PKEY_get_id(pkey) != EVP_PKEY_ED25519) {
    if (pkey != nullptr) EVP_PKEY_free(pkey);
    return Status::Error("the audit signing key " + signing_path + " is not an Ed25519 key");
  }
  keys.signing_ = std::shared_ptr<void>(pkey, [](void* p) { EVP_PKEY_free(static_cast<EVP_PKEY*>(p)); });
  keys.public_key_hex_ = RawPublicHex(pkey);
  keys.key_id_ = KeyIdOf(keys.public_key_hex_);
  return keys;
}

std::string AuditKeys::Mac(std::string_view text) const {
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int size = 0;
  HMAC(EVP_sha256(), hmac_key_.data(), static_cast<int>(hmac_key_.size()),
       reinterpret_cast<const unsigned char*>(text.data()), text.size(), mac, &size);
  return Hex(mac, size);
}

std::string AuditKeys::Sign(std::string_view text) const {
  EVP_MD_CTX* md = EVP_MD_CTX_new();
  unsigned char signature[64];
  size_t size = sizeof signature;
  std::string out;
  if (EVP_DigestSignInit(md, nullptr, nullptr, nullptr, static_cast<EVP_PKEY*>(signing_.get())) ==
          1 &&
      EVP_DigestSign(md, signature, &size, reinterpret_cast<const unsigned char*>(text.data()),
                     text.size()) == 1) {
    out = Hex(signature, size);
  }
  EVP_MD_CTX_free(md);
  return out;
}

bool VerifySignature(const std::string& public_key_hex, std::string_view text,
                     const std::string& signature_hex) {
  std::vector<unsigned char> raw, signature;
  if (!Unhex(public_key_hex, &raw) || !Unhex(signature_hex, &signature)) return false;
  Pkey key(EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, nullptr, raw.data(), raw.size()),
           EVP_PKEY_free);
  if (!key) return false;
  EVP_MD_CTX* md = EVP_MD_CTX_new();
  const bool ok =
      EVP_DigestVerifyInit(md, nullptr, nullptr, nullptr, key.get()) == 1 &&
      EVP_DigestVerify(md, signature.data(), signature.size(),
                       reinterpret_cast<const unsigned char*>(text.data()), text.size()) == 1;
  EVP_MD_CTX_free(md);
  return ok;
}

}  // namespace itaku::gateway
