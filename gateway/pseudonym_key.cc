#include "gateway/pseudonym_key.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>

#include "contracts/base/atomic_file.h"
#include "contracts/base/files.h"
#include "contracts/base/layout.h"

namespace itaku::gateway {
namespace {

namespace fs = std::filesystem;
using Json = nlohmann::json;

constexpr char kKeyDir[] = "/pseudonym-keys";
constexpr char kKeyFile[] = "pseudonym.key";
constexpr char kStoreKeyMeta[] = "pseudonym_key";  // where stores before the move kept it
constexpr char kFingerprintMeta[] = "pseudonym_key_fingerprint";
constexpr char kSubject[] = "pseudonym-key";
constexpr size_t kKeyChars = 64;  // 32 random bytes as lowercase hex

bool IsKeyText(const std::string& text) {
  if (text.size() != kKeyChars) return false;
  for (char c : text) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

std::string Octal(mode_t mode) {
  char buffer[16];
  std::snprintf(buffer, sizeof buffer, "%04o", static_cast<unsigned>(mode & 07777));
  return buffer;
}

// "2026-05-01T12:00:00Z" -> "20260501T120000Z": a file name without colons.
std::string Compact(const std::string& utc) {
  std::string out;
  for (char c : utc) {
    if (c != '-' && c != ':') out += c;
  }
  return out;
}

// The key file, read the way every daemon key is (audit_keys.cc,
// console/credentials.cc): never through a link, only when it is the
// service account's alone. NotFound when there is no file.
Result<std::string> ReadKeyFile(const std::string& path) {
  const std::string name = "the pseudonym key " + path;
  // O_NONBLOCK: a FIFO put in its place must not hang the daemon (fstat
  // refuses it below).
  const int fd = ::open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0) {
    const int err = errno;
    if (err == ENOENT) return Status::NotFound(name + " is missing");
    if (err == ELOOP) return Status::Refused(name + " is a symbolic link; it must be a plain file");
    return Status::Io("cannot read " + name + ": " + std::strerror(err));
  }
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    const int err = errno;
    ::close(fd);
    return Status::Io("cannot read " + name + ": " + std::strerror(err));
  }
  if (!S_ISREG(st.st_mode) || st.st_uid != ::geteuid()) {
    ::close(fd);
    return Status::Refused(name + " must be a plain file owned by the service account");
  }
  if ((st.st_mode & 077) != 0) {
    ::close(fd);
    return Status::Refused(name + " is open to group or others (mode " + Octal(st.st_mode) +
                           "); it must be mode 0600");
  }
  // Two bytes more than a key: the newline, and one to see a longer file
  // as longer even if it grew after fstat.
  std::string text(kKeyChars + 2, '\0');
  size_t got = 0;
  while (got < text.size()) {
    const ssize_t n = ::read(fd, text.data() + got, text.size() - got);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      const int err = errno;
      ::close(fd);
      return Status::Io("cannot read " + name + ": " + std::strerror(err));
    }
    if (n == 0) break;
    got += static_cast<size_t>(n);
  }
  ::close(fd);
  text.resize(got);
  if (!text.empty() && text.back() == '\n') text.pop_back();
  if (!IsKeyText(text)) {
    return Status::Error(name + " is not 64 hex digits: restore it from the backup");
  }
  return text;
}

Status MakeKeyDir(const std::string& dir) {
  std::error_code ec;
  if (fs::create_directories(dir, ec)) {
    fs::permissions(dir, fs::perms::owner_all, fs::perm_options::replace, ec);
  }
  if (ec) return Status::Io("cannot create the pseudonym key folder " + dir + ": " + ec.message());
  return Status::Ok();
}

}  // namespace

std::string PseudonymKeyDir(const std::string& db_path) {
  return StoreLayout(db_path).Root() + kKeyDir;
}

std::string PseudonymKeyPath(const std::string& db_path) {
  return PseudonymKeyDir(db_path) + "/" + kKeyFile;
}

std::string PseudonymKeyFingerprint(const std::string& key) { return Sha256Hex(key).substr(0, 8); }

Result<bool> MovePseudonymKeyOutOfStore(Context& ctx) {
  auto in_store = ctx.store->GetMeta(kStoreKeyMeta);
  if (!in_store.ok()) return in_store.status();
  if (!in_store->has_value()) return false;
  const std::string key = **in_store;
  if (!IsKeyText(key)) {
    return Status::Error(
        "the store's pseudonym key (meta pseudonym_key) is not 64 hex digits; it was left where "
        "it is");
  }
  const std::string path = PseudonymKeyPath(ctx.db_path);
  if (Status d = MakeKeyDir(PseudonymKeyDir(ctx.db_path)); !d.ok()) return d;
  const std::string fingerprint = PseudonymKeyFingerprint(key);
  Status written = WriteFileAtomically(path, key + "\n", AtomicFile::Overwrite::kRefuse);
  if (!written.ok()) {
    if (written.kind() != ErrorKind::kConflict) {
      return written.WithMessage("cannot move the pseudonym key out of the store: " +
                                 written.message());
    }
    // A move that stopped after writing the file left the same key; any
    // other key there is not the one earlier pseudonyms were made with.
    auto there = ReadKeyFile(path);
    if (!there.ok()) return there.status();
    if (there.value() != key) {
      return Status::Conflict("the store still holds a pseudonym key (fingerprint " + fingerprint +
                              ") and " + path + " holds another (" +
                              PseudonymKeyFingerprint(there.value()) +
                              "): move that file away and try again (earlier pseudonyms were "
                              "made with the store's key)");
    }
  }
  Status moved = ctx.store->Transaction([&]() -> Status {
    if (Status d = ctx.store->DeleteMeta(kStoreKeyMeta); !d.ok()) return d;
    if (Status m = ctx.store->SetMeta(kFingerprintMeta, fingerprint); !m.ok()) return m;
    return ctx.audit->Append(ctx.actor, "pseudonym.key-moved", kSubject,
                             {{"fingerprint", fingerprint}, {"file", path}});
  });
  if (!moved.ok()) return moved;
  return true;
}

Result<std::string> LoadPseudonymKey(Context& ctx) {
  if (auto moved = MovePseudonymKeyOutOfStore(ctx); !moved.ok()) return moved.status();
  auto recorded = ctx.store->GetMeta(kFingerprintMeta);
  if (!recorded.ok()) return recorded.status();
  if (!recorded->has_value()) {
    return Result<std::string>::Error("store has no pseudonym key: run itaku init");
  }
  const std::string path = PseudonymKeyPath(ctx.db_path);
  auto key = ReadKeyFile(path);
  if (!key.ok()) {
    if (key.kind() != ErrorKind::kNotFound) return key.status();
    return Status::Refused("the pseudonym key " + path +
                           " is missing: restore it from the backup (a new key gives every "
                           "subscriber a new pseudonym; to start one on purpose, a privacy "
                           "officer runs itaku keys rotate-pseudonym)");
  }
  const std::string fingerprint = PseudonymKeyFingerprint(key.value());
  if (fingerprint != **recorded) {
    return Status::Refused("the pseudonym key " + path + " (fingerprint " + fingerprint +
                           ") is not the one this store uses (" + **recorded +
                           "): restore that one from the backup, or start a new one on purpose "
                           "with itaku keys rotate-pseudonym");
  }
  return key;
}

Result<bool> InitPseudonymKey(Context& ctx,
                              const std::function<Status(const std::string& fingerprint)>& also) {
  if (auto moved = MovePseudonymKeyOutOfStore(ctx); !moved.ok()) return moved.status();
  auto recorded = ctx.store->GetMeta(kFingerprintMeta);
  if (!recorded.ok()) return recorded.status();
  if (recorded->has_value()) return false;
  const std::string path = PseudonymKeyPath(ctx.db_path);
  if (Status d = MakeKeyDir(PseudonymKeyDir(ctx.db_path)); !d.ok()) return d;
  auto fresh = RandomHex32();
  if (!fresh.ok()) return fresh.status();
  Status written = WriteFileAtomically(path, fresh.value() + "\n", AtomicFile::Overwrite::kRefuse);
  if (!written.ok() && written.kind() != ErrorKind::kConflict) {
    return written.WithMessage("cannot create the pseudonym key: " + written.message());
  }
  // Ours, or the key an init that stopped half-way left: read back through
  // the checks every use makes.
  auto key = ReadKeyFile(path);
  if (!key.ok()) return key.status();
  const std::string fingerprint = PseudonymKeyFingerprint(key.value());
  Status recorded_now = ctx.store->Transaction([&]() -> Status {
    if (Status m = ctx.store->SetMeta(kFingerprintMeta, fingerprint); !m.ok()) return m;
    return also(fingerprint);
  });
  if (!recorded_now.ok()) return recorded_now;
  return true;
}

Result<Output> RotatePseudonymKey(Context& ctx, const std::string& reason) {
  if (reason.empty()) {
    return Result<Output>::Error(
        "keys rotate-pseudonym: --reason must say why (it is kept in the audit trail)");
  }
  // A key still in the store is the current one: it moves out, then retires.
  if (auto moved = MovePseudonymKeyOutOfStore(ctx); !moved.ok()) return moved.status();
  const std::string path = PseudonymKeyPath(ctx.db_path);
  auto current = ReadKeyFile(path);
  if (!current.ok() && current.kind() != ErrorKind::kNotFound) return current.status();
  const bool had_key = current.ok();
  const std::string previous = had_key ? PseudonymKeyFingerprint(current.value()) : "";
  if (Status d = MakeKeyDir(PseudonymKeyDir(ctx.db_path)); !d.ok()) return d;
  auto fresh = RandomHex32();
  if (!fresh.ok()) return fresh.status();
  const std::string fingerprint = PseudonymKeyFingerprint(fresh.value());
  const std::string now = ctx.clock->NowUtc();
  const std::string retired = had_key ? path + "." + Compact(now) + ".retired" : "";
  bool replaced = false;
  Status rotated = ctx.store->Transaction([&]() -> Status {
    if (Status m = ctx.store->SetMeta(kFingerprintMeta, fingerprint); !m.ok()) return m;
    const Json details = {
        {"fingerprint", fingerprint},
        {"previous", had_key ? Json(previous) : Json()},
        {"retired_file", had_key ? Json(fs::path(retired).filename().string()) : Json()},
        {"reason", reason}};
    if (Status a = ctx.audit->Append(ctx.actor, "pseudonym.key-rotated", kSubject, details);
        !a.ok()) {
      return a;
    }
    // The files last, inside the transaction: when they cannot be written,
    // nothing is recorded either. The retired key is the same file, linked
    // under its new name before the new key takes the old name.
    if (had_key && ::link(path.c_str(), retired.c_str()) != 0) {
      const int err = errno;
      if (err == EEXIST) {
        return Status::Conflict(retired + " already exists; rotate again in a second");
      }
      return Status::Io("cannot keep the retired pseudonym key as " + retired + ": " +
                        std::strerror(err));
    }
    Status written =
        WriteFileAtomically(path, fresh.value() + "\n", AtomicFile::Overwrite::kReplace);
    if (!written.ok()) {
      if (had_key) ::unlink(retired.c_str());
      return written;
    }
    replaced = true;
    return Status::Ok();
  });
  if (!rotated.ok()) {
    // The store still records the previous key: so must the file.
    if (replaced) {
      if (had_key) {
        ::rename(retired.c_str(), path.c_str());
      } else {
        ::unlink(path.c_str());
      }
    }
    return rotated;
  }
  Output out;
  out.json = {{"fingerprint", fingerprint},
              {"previous", had_key ? Json(previous) : Json()},
              {"retired_file", had_key ? Json(retired) : Json()},
              {"rotated_at", now}};
  out.text = "rotated the pseudonym key: now " + fingerprint +
             (had_key ? " (was " + previous + ", kept as " + retired + ")"
                      : " (there was no key file to keep)") +
             "\ndeliveries from now on carry new pseudonyms: a subscriber's pseudonym differs "
             "from the one in earlier deliveries, so a contractor cannot link records across "
             "the rotation; earlier deliveries are unchanged";
  if (had_key) {
    out.text += "\nthe retired key still re-identifies earlier pseudonyms here; delete " + retired +
                " to make that impossible";
  }
  return out;
}

}  // namespace itaku::gateway
