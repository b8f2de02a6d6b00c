#include "gateway/console/credentials.h"

#include <fcntl.h>
#include <liboath/oath.h>
#include <qrencode.h>
#include <sodium.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <memory>
#include <utility>
#include <vector>

#include "contracts/base/atomic_file.h"
#include "contracts/base/files.h"
#include "contracts/base/hex.h"

namespace itaku::gateway::console {
namespace {

namespace fs = std::filesystem;

static_assert(ConsoleKey::kKeyBytes == crypto_secretbox_KEYBYTES);
static_assert(ConsoleKey::kKeyBytes == crypto_auth_hmacsha256_KEYBYTES);

constexpr char kKeyFile[] = "console.key";
constexpr char kDoesNotOpen[] =
    "console: a sealed value does not open with this machine's console key";
constexpr char kCrockford[] = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";
constexpr char kRfc4648[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
constexpr int kTotpStep = 30;
constexpr unsigned kTotpDigits = 6;
constexpr int kQuietModules = 4;
constexpr int kPixelsPerModule = 4;

// sodium_init picks the fastest implementations and seeds randombytes;
// oath_init sets up liboath's crypto. Both must finish before any other call
// into them, and a function-local static gives exactly-once under threads.
bool LibrariesReady() {
  static const bool ready = sodium_init() >= 0 && oath_init() == OATH_OK;
  return ready;
}

Status NotReady() {
  return Status::Internal("console: libsodium or liboath cannot be initialised");
}

std::string RandomBytes(std::size_t size) {
  std::string out(size, '\0');
  randombytes_buf(out.data(), out.size());
  return out;
}

// 5 bits at a time, most significant first, the last group padded with zero
// bits; RFC 4648 base32 and Crockford's differ only in the alphabet.
std::string EncodeBase32(const std::string& raw, const char* alphabet) {
  std::string out;
  out.reserve((raw.size() * 8 + 4) / 5);
  uint32_t buffer = 0;
  int bits = 0;
  for (const char c : raw) {
    buffer = (buffer << 8) | static_cast<unsigned char>(c);
    bits += 8;
    while (bits >= 5) {
      out += alphabet[(buffer >> (bits - 5)) & 31];
      bits -= 5;
    }
  }
  if (bits > 0) out += alphabet[(buffer << (5 - bits)) & 31];
  return out;
}

// The code point starting at s[*i], moving *i past it. A byte that does not
// start a well-formed, shortest-form sequence comes back as -1 and is skipped
// alone, so that an overlong "0" cannot pose as a digit.
int32_t NextCodePoint(const std::string& s, std::size_t* i) {
  const auto byte = [&](std::size_t k) { return static_cast<unsigned char>(s[k]); };
  const unsigned char lead = byte(*i);
  int length = 0;
  int32_t cp = 0;
  int32_t least = 0;
  if (lead < 0x80) {
    ++*i;
    return lead;
  } else if ((lead & 0xE0) == 0xC0) {
    length = 2, cp = lead & 0x1F, least = 0x80;
  } else if ((lead & 0xF0) == 0xE0) {
    length = 3, cp = lead & 0x0F, least = 0x800;
  } else if ((lead & 0xF8) == 0xF0) {
    length = 4, cp = lead & 0x07, least = 0x10000;
  } else {
    ++*i;
    return -1;
  }
  if (*i + length > s.size()) {
    ++*i;
    return -1;
  }
  for (int k = 1; k < length; ++k) {
    if ((byte(*i + k) & 0xC0) != 0x80) {
      ++*i;
      return -1;
    }
    cp = (cp << 6) | (byte(*i + k) & 0x3F);
  }
  if (cp < least || cp > 0x10FFFF) {
    ++*i;
    return -1;
  }
  *i += length;
  return cp;
}

// Full-width ASCII (全角英数字) as the IME types it, folded to ASCII.
int32_t FoldFullWidth(int32_t cp) { return cp >= 0xFF01 && cp <= 0xFF5E ? cp - 0xFEE0 : cp; }

char LowerAscii(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; }

std::string LowerAscii(const std::string& s) {
  std::string out = s;
  for (char& c : out) c = LowerAscii(c);
  return out;
}

// Unreserved characters (RFC 3986 section 2.3) stay; every other byte of the
// UTF-8 text becomes %XX.
std::string PercentEncode(const std::string& text) {
  std::string out;
  for (const char c : text) {
    const auto b = static_cast<unsigned char>(c);
    if ((b >= 'A' && b <= 'Z') || (b >= 'a' && b <= 'z') || (b >= '0' && b <= '9') || b == '-' ||
        b == '.' || b == '_' || b == '~') {
      out += c;
    } else {
      out += '%';
      AppendHex(&out, &b, 1, /*upper=*/true);
    }
  }
  return out;
}

// The 6 ASCII digits in what was typed, or "" when it is not 6 digits.
std::string TotpDigits(const std::string& typed) {
  std::string digits;
  for (std::size_t i = 0; i < typed.size();) {
    const int32_t cp = FoldFullWidth(NextCodePoint(typed, &i));
    if (cp == ' ' || cp == 0x3000) continue;
    if (cp < '0' || cp > '9' || digits.size() == kTotpDigits) return "";
    digits += static_cast<char>(cp);
  }
  return digits.size() == kTotpDigits ? digits : "";
}

Result<std::string> ReadKeyFile(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ELOOP) {
      return Status::Refused("console: the console key " + path +
                             " is a symbolic link; it must be a plain file");
    }
    return Status::Io("console: cannot read the console key " + path + ": " + std::strerror(errno));
  }
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    const int err = errno;
    ::close(fd);
    return Status::Io("console: cannot read the console key " + path + ": " + std::strerror(err));
  }
  if (!S_ISREG(st.st_mode) || st.st_uid != ::geteuid()) {
    ::close(fd);
    return Status::Refused("console: the console key " + path +
                           " must be a plain file owned by the service account");
  }
  if ((st.st_mode & 077) != 0) {
    ::close(fd);
    return Status::Refused("console: the console key " + path +
                           " is open to group or others; it must be mode 0600");
  }
  // One byte more than a key, so that a longer file is seen to be longer
  // even if it grew after fstat.
  std::string key(ConsoleKey::kKeyBytes + 1, '\0');
  std::size_t got = 0;
  while (got < key.size()) {
    const ssize_t n = ::read(fd, key.data() + got, key.size() - got);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      const int err = errno;
      ::close(fd);
      sodium_memzero(key.data(), key.size());
      return Status::Io("console: cannot read the console key " + path + ": " + std::strerror(err));
    }
    if (n == 0) break;
    got += static_cast<std::size_t>(n);
  }
  ::close(fd);
  if (got != ConsoleKey::kKeyBytes) {
    sodium_memzero(key.data(), key.size());
    const std::string size = got > ConsoleKey::kKeyBytes ? "more than 32" : std::to_string(got);
    return Status::Error("console: the console key " + path + " is " + size +
                         " bytes, not 32; restore it from the backup");
  }
  key.resize(ConsoleKey::kKeyBytes);
  return key;
}

}  // namespace

// --- Passwords ---------------------------------------------------------------

Result<std::string> HashPassword(const std::string& password) {
  if (!LibrariesReady()) return NotReady();
  char hash[crypto_pwhash_STRBYTES];
  if (crypto_pwhash_str_alg(hash, password.data(), password.size(),
                            crypto_pwhash_OPSLIMIT_INTERACTIVE, crypto_pwhash_MEMLIMIT_INTERACTIVE,
                            crypto_pwhash_ALG_ARGON2ID13) != 0) {
    return Status::Internal("console: cannot hash a password (argon2id needs 64 MiB of memory)");
  }
  return std::string(hash);
}

bool VerifyPassword(const std::string& hash, const std::string& password) {
  // libsodium reads the hash as a C string of at most STRBYTES - 1 bytes; a
  // longer one, or one with a NUL inside, is not a hash HashPassword made.
  if (!LibrariesReady() || hash.empty() || hash.size() >= crypto_pwhash_STRBYTES ||
      hash.find('\0') != std::string::npos) {
    return false;
  }
  return crypto_pwhash_str_verify(hash.c_str(), password.data(), password.size()) == 0;
}

std::string PasswordProblem(const std::string& password, const std::string& staff_name) {
  std::size_t code_points = 0;
  for (const char c : password) code_points += (static_cast<unsigned char>(c) & 0xC0) != 0x80;
  if (code_points < 12) return "パスワードは12文字以上にしてください";
  if (password.size() > 256) return "パスワードは256バイト以内にしてください";
  if (!staff_name.empty() &&
      LowerAscii(password).find(LowerAscii(staff_name)) != std::string::npos) {
    return "パスワードに職員名を含めないでください";
  }
  return "";
}

// --- TOTP --------------------------------------------------------------------

Result<std::string> NewTotpSecret() {
  if (!LibrariesReady()) return NotReady();
  return RandomBytes(20);
}

std::string Base32(const std::string& raw) { return EncodeBase32(raw, kRfc4648); }

std::string TotpCode(const std::string& secret_raw, int64_t unix_time) {
  if (!LibrariesReady() || secret_raw.empty() || unix_time < 0) return "";
  char code[kTotpDigits + 1] = {};
  if (oath_totp_generate(secret_raw.data(), secret_raw.size(), static_cast<time_t>(unix_time),
                         kTotpStep, OATH_TOTP_DEFAULT_START_TIME, kTotpDigits, code) != OATH_OK) {
    return "";
  }
  return code;
}

std::optional<int64_t> MatchTotp(const std::string& secret_raw, const std::string& code,
                                 int64_t now_unix, int64_t last_used_step) {
  const std::string digits = TotpDigits(code);
  if (digits.empty() || secret_raw.empty() || now_unix < 0) return std::nullopt;
  const int64_t now_step = now_unix / kTotpStep;
  // Not oath_totp_validate2: it stops at the first step that matches, and a
  // code that (by chance) is also the code of an already used step must still
  // be accepted for the newer one. Oldest first, so drift is spent slowly.
  for (int64_t step = now_step - 1; step <= now_step + 1; ++step) {
    if (step < 0 || step <= last_used_step) continue;
    const std::string expected = TotpCode(secret_raw, step * kTotpStep);
    if (expected.size() == kTotpDigits &&
        sodium_memcmp(expected.data(), digits.data(), kTotpDigits) == 0) {
      return step;
    }
  }
  return std::nullopt;
}

std::string OtpauthUri(const std::string& issuer, const std::string& account,
                       const std::string& secret_raw) {
  const std::string encoded_issuer = PercentEncode(issuer);
  return "otpauth://totp/" + encoded_issuer + ":" + PercentEncode(account) +
         "?secret=" + Base32(secret_raw) + "&issuer=" + encoded_issuer +
         "&algorithm=SHA1&digits=6&period=30";
}

Result<std::string> QrSvg(const std::string& text) {
  if (text.empty() || text.find('\0') != std::string::npos) {
    return Status::Error("console: a QR code needs text without NUL bytes");
  }
  errno = 0;
  std::unique_ptr<QRcode, decltype(&QRcode_free)> qr(
      QRcode_encodeString(text.c_str(), 0, QR_ECLEVEL_M, QR_MODE_8, 1), QRcode_free);
  if (qr == nullptr) {
    if (errno == ERANGE) {
      return Status::Error("console: " + std::to_string(text.size()) +
                           " bytes are too many for a QR code");
    }
    return Status::Internal(std::string("console: libqrencode cannot encode the QR code: ") +
                            std::strerror(errno));
  }
  const int width = qr->width;
  const int size = width + 2 * kQuietModules;
  const std::string n = std::to_string(size);
  const std::string px = std::to_string(size * kPixelsPerModule);
  std::string path;
  // One subpath per horizontal run of dark modules keeps the document small
  // (a version 7 code is about 2,000 modules).
  for (int y = 0; y < width; ++y) {
    for (int x = 0; x < width;) {
      if ((qr->data[y * width + x] & 1) == 0) {
        ++x;
        continue;
      }
      int run = 1;
      while (x + run < width && (qr->data[y * width + x + run] & 1) != 0) ++run;
      const std::string k = std::to_string(run);
      path += "M" + std::to_string(x + kQuietModules) + " " + std::to_string(y + kQuietModules) +
              "h" + k + "v1h-" + k + "z";
      x += run;
    }
  }
  return "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 " + n + " " + n + "\" width=\"" +
         px + "\" height=\"" + px +
         "\" role=\"img\" aria-label=\"二要素認証の登録用QRコード\">"
         "<rect width=\"" +
         n + "\" height=\"" + n + "\" fill=\"#fff\"/><path fill=\"#000\" d=\"" + path +
         "\"/></svg>";
}

// --- The console key ---------------------------------------------------------

Result<ConsoleKey> ConsoleKey::LoadOrCreate(const std::string& dir) {
  if (!LibrariesReady()) return NotReady();
  const std::string path = dir + "/" + kKeyFile;
  struct stat st {};
  if (::lstat(path.c_str(), &st) != 0) {
    if (errno != ENOENT) {
      return Status::Io("console: cannot read the console key " + path + ": " +
                        std::strerror(errno));
    }
    std::error_code ec;
    if (fs::create_directories(dir, ec)) {
      fs::permissions(dir, fs::perms::owner_all, fs::perm_options::replace, ec);
    }
    if (ec) return Status::Io("console: cannot create the folder " + dir + ": " + ec.message());
    std::string fresh = RandomBytes(kKeyBytes);
    // Through a temporary file and a rename that refuses to replace: a crash
    // never leaves a short key behind, and of two processes starting at once
    // both end up with the one key that won.
    const Status written = WriteFileAtomically(path, fresh, AtomicFile::Overwrite::kRefuse);
    sodium_memzero(fresh.data(), fresh.size());
    if (!written.ok() && written.kind() != ErrorKind::kConflict) {
      return written.WithMessage("console: cannot create the console key " + path + ": " +
                                 written.message());
    }
  }
  auto bytes = ReadKeyFile(path);
  if (!bytes.ok()) return bytes.status();
  ConsoleKey key;
  std::memcpy(key.key_.data(), bytes->data(), kKeyBytes);
  sodium_memzero(bytes->data(), bytes->size());
  return key;
}

ConsoleKey::ConsoleKey(ConsoleKey&& other) noexcept : key_(other.key_) {
  sodium_memzero(other.key_.data(), other.key_.size());
}

ConsoleKey& ConsoleKey::operator=(ConsoleKey&& other) noexcept {
  if (this != &other) {
    key_ = other.key_;
    sodium_memzero(other.key_.data(), other.key_.size());
  }
  return *this;
}

ConsoleKey::~ConsoleKey() { sodium_memzero(key_.data(), key_.size()); }

std::string ConsoleKey::Seal(const std::string& plain) const {
  std::vector<unsigned char> box(crypto_secretbox_NONCEBYTES + crypto_secretbox_MACBYTES +
                                 plain.size());
  randombytes_buf(box.data(), crypto_secretbox_NONCEBYTES);
  crypto_secretbox_easy(box.data() + crypto_secretbox_NONCEBYTES,
                        reinterpret_cast<const unsigned char*>(plain.data()), plain.size(),
                        box.data(), key_.data());
  return Hex(box.data(), box.size());
}

Result<std::string> ConsoleKey::Open(const std::string& sealed_hex) const {
  constexpr std::size_t kOverhead = crypto_secretbox_NONCEBYTES + crypto_secretbox_MACBYTES;
  // Length first: sodium_hex2bin must not be handed an empty buffer.
  if (sealed_hex.size() % 2 != 0 || sealed_hex.size() < 2 * kOverhead) {
    return Status::Error(kDoesNotOpen);
  }
  std::vector<unsigned char> box(sealed_hex.size() / 2);
  std::size_t size = 0;
  const char* end = nullptr;
  if (sodium_hex2bin(box.data(), box.size(), sealed_hex.data(), sealed_hex.size(), nullptr, &size,
                     &end) != 0 ||
      end != sealed_hex.data() + sealed_hex.size() || size != box.size()) {
    return Status::Error(kDoesNotOpen);
  }
  const std::size_t cipher_size = size - crypto_secretbox_NONCEBYTES;
  std::string plain(cipher_size - crypto_secretbox_MACBYTES, '\0');
  if (crypto_secretbox_open_easy(reinterpret_cast<unsigned char*>(plain.data()),
                                 box.data() + crypto_secretbox_NONCEBYTES, cipher_size, box.data(),
                                 key_.data()) != 0) {
    return Status::Error(kDoesNotOpen);
  }
  return plain;
}

std::string ConsoleKey::Mac(const std::string& data) const {
  unsigned char mac[crypto_auth_hmacsha256_BYTES];
  crypto_auth_hmacsha256(mac, reinterpret_cast<const unsigned char*>(data.data()), data.size(),
                         key_.data());
  return Hex(mac, sizeof mac);
}

// --- Sessions ----------------------------------------------------------------

Result<std::string> NewSessionId() {
  if (!LibrariesReady()) return NotReady();
  unsigned char raw[32];
  randombytes_buf(raw, sizeof raw);
  constexpr int kVariant = sodium_base64_VARIANT_URLSAFE_NO_PADDING;
  char text[sodium_base64_ENCODED_LEN(sizeof raw, kVariant)];
  sodium_bin2base64(text, sizeof text, raw, sizeof raw, kVariant);
  return std::string(text);
}

std::string SessionIdHash(const std::string& id) { return Sha256Hex(id); }

// --- Enrolment codes ---------------------------------------------------------

Result<std::string> NewEnrolmentCode() {
  if (!LibrariesReady()) return NotReady();
  const std::string chars = EncodeBase32(RandomBytes(10), kCrockford);  // 80 bits, 16 chars
  return chars.substr(0, 4) + "-" + chars.substr(4, 4) + "-" + chars.substr(8, 4) + "-" +
         chars.substr(12, 4);
}

std::string NormaliseEnrolmentCode(const std::string& typed) {
  // Kept per character (not per byte), so that the hyphens never split a
  // multi-byte character someone typed by mistake.
  std::vector<std::string> chars;
  for (std::size_t i = 0; i < typed.size();) {
    const std::size_t start = i;
    const int32_t cp = FoldFullWidth(NextCodePoint(typed, &i));
    if (cp == ' ' || cp == 0x3000 || cp == '-' || (cp >= 0x2010 && cp <= 0x2015) || cp == 0x2212 ||
        cp == 0x30FC) {
      continue;
    }
    if (cp < 0 || cp >= 0x80) {
      chars.push_back(typed.substr(start, i - start));
      continue;
    }
    char c = static_cast<char>(cp);
    if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
    if (c == 'O') c = '0';
    if (c == 'I' || c == 'L') c = '1';
    chars.emplace_back(1, c);
  }
  std::string out;
  for (std::size_t k = 0; k < chars.size(); ++k) {
    if (k > 0 && k % 4 == 0) out += '-';
    out += chars[k];
  }
  return out;
}

std::string EnrolmentCodeHash(const std::string& code) {
  return Sha256Hex(NormaliseEnrolmentCode(code));
}

// --- Lock-out ----------------------------------------------------------------

int LockoutSeconds(int consecutive_failures) {
  constexpr int kFirst = 5, kBase = 60, kCap = 3600;
  if (consecutive_failures < kFirst) return 0;
  // Stops doubling at the cap, so no count of failures can overflow.
  int seconds = kBase;
  for (int n = kFirst; n < consecutive_failures && seconds < kCap; ++n) seconds *= 2;
  return seconds < kCap ? seconds : kCap;
}

}  // namespace itaku::gateway::console
