#include "transports/sftp_transport.h"

#include <fcntl.h>
#include <netdb.h>
#include <openssl/evp.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <memory>
#include <string_view>
#include <system_error>
#include <thread>
#include <vector>

#include "contracts/base/hex.h"
#include "transports/detail/ssh_handles.h"

namespace itaku::transports {
namespace {

using detail::SessionPtr;
using detail::SftpHandlePtr;
using detail::SftpPtr;
using detail::UniqueFd;

// 32 × the 30,000-byte SFTP write packet libssh2 cuts a buffer into: the
// fastest size measured against OpenSSH (NOTES.md; 3 MB was slower).
constexpr size_t kChunk = 960000;
// From this size on, an upload uses two connections (see SftpUpload).
constexpr uint64_t kTwoConnectionsFrom = 64ull << 20;

SftpError Refused(std::string message) { return {SftpErrorKind::kRefused, std::move(message)}; }
SftpError Network(std::string message) { return {SftpErrorKind::kNetwork, std::move(message)}; }

std::string ErrnoText(int err) { return std::error_code(err, std::generic_category()).message(); }

std::string HostPort(const SftpEndpoint& e) {
  const bool v6 = e.host.find(':') != std::string::npos;
  return (v6 ? "[" + e.host + "]" : e.host) + ":" + std::to_string(e.port);
}

bool IsPlainFileName(const std::string& name) {
  if (name.empty() || name == "." || name == ".." || name.size() > 255) return false;
  for (unsigned char ch : name) {
    if (ch == '/' || ch < 0x20 || ch == 0x7f) return false;
  }
  return true;
}

// Statuses that will come back the same on every retry until a person acts.
bool IsRefusalStatus(unsigned long status) {
  switch (status) {
    case LIBSSH2_FX_NO_SUCH_FILE:
    case LIBSSH2_FX_PERMISSION_DENIED:
    case LIBSSH2_FX_OP_UNSUPPORTED:
    case LIBSSH2_FX_NO_SUCH_PATH:
    case LIBSSH2_FX_FILE_ALREADY_EXISTS:
    case LIBSSH2_FX_WRITE_PROTECT:
    case LIBSSH2_FX_NOT_A_DIRECTORY:
    case LIBSSH2_FX_INVALID_FILENAME:
    case LIBSSH2_FX_LINK_LOOP:
      return true;
    default:
      return false;
  }
}

// One TCP connection with its SSH session and, once authenticated, its SFTP
// channel. Members are destroyed in reverse order: SFTP, session, socket.
struct Connection {
  std::string where;  // "host:port", for messages
  int wait_ms = 0;    // the libssh2 timeout now in force
  UniqueFd fd;
  SessionPtr session;
  SftpPtr sftp;

  // Shuts the socket down so that every later libssh2 call (including the
  // closes in the destructors) fails at once instead of waiting wait_ms for
  // a peer that has stopped answering.
  void Break() {
    if (fd.get() >= 0) ::shutdown(fd.get(), SHUT_RDWR);
  }

  bool SftpStatusIs(int rc, unsigned long status) const {
    return rc == LIBSSH2_ERROR_SFTP_PROTOCOL && sftp &&
           libssh2_sftp_last_error(sftp.get()) == status;
  }

  // The error for libssh2 result `rc` of the step described by `what`.
  SftpError Fail(int rc, const std::string& what) {
    if (rc == LIBSSH2_ERROR_SFTP_PROTOCOL && sftp) {
      const unsigned long status = libssh2_sftp_last_error(sftp.get());
      if (status != LIBSSH2_FX_OK) {
        if (status == LIBSSH2_FX_NO_CONNECTION || status == LIBSSH2_FX_CONNECTION_LOST) Break();
        return {IsRefusalStatus(status) ? SftpErrorKind::kRefused : SftpErrorKind::kNetwork,
                what + ": " + detail::SftpStatusText(status)};
      }
    }
    if (rc == LIBSSH2_ERROR_TIMEOUT || rc == LIBSSH2_ERROR_SOCKET_TIMEOUT) {
      Break();
      return Network(what + ": no answer within " + std::to_string(wait_ms) + " ms");
    }
    std::string reason = detail::LastSessionError(session.get());
    if (detail::IsConnectionError(rc)) {
      Break();
      return Network(what + ": connection lost (" + reason + ")");
    }
    return Network(what + ": " + reason);
  }
};

constexpr const char* kMacPreference = "hmac-sha2-512,hmac-sha2-256";
constexpr const char* kCipherPreference = "aes128-ctr,aes256-ctr,aes192-ctr";

// TCP connect with a deadline over all of the host's addresses.
SftpResult<UniqueFd> ConnectTcp(const SftpEndpoint& e, int connect_ms, const std::string& where) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_NUMERICSERV;
  addrinfo* found = nullptr;
  const int gai = ::getaddrinfo(e.host.c_str(), std::to_string(e.port).c_str(), &hints, &found);
  if (gai != 0) return Network("cannot resolve " + e.host + ": " + ::gai_strerror(gai));
  std::unique_ptr<addrinfo, decltype(&::freeaddrinfo)> addresses(found, ::freeaddrinfo);

  using Clock = std::chrono::steady_clock;
  const auto deadline = Clock::now() + std::chrono::milliseconds(connect_ms);
  std::string last_error = "no address";
  bool timed_out = false;
  for (addrinfo* ai = found; ai != nullptr && !timed_out; ai = ai->ai_next) {
    UniqueFd fd(
        ::socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, ai->ai_protocol));
    if (fd.get() < 0) {
      last_error = ErrnoText(errno);
      continue;
    }
    if (::connect(fd.get(), ai->ai_addr, ai->ai_addrlen) != 0) {
      if (errno != EINPROGRESS) {
        last_error = ErrnoText(errno);
        continue;
      }
      int ready = 0;
      for (;;) {
        const auto left =
            std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
        if (left <= 0) break;
        pollfd p{fd.get(), POLLOUT, 0};
        ready = ::poll(&p, 1, static_cast<int>(left));
        if (ready >= 0 || errno != EINTR) break;
      }
      if (ready == 0) {
        timed_out = true;
        continue;
      }
      if (ready < 0) {
        last_error = ErrnoText(errno);
        continue;
      }
      int err = 0;
      socklen_t len = sizeof err;
      ::getsockopt(fd.get(), SOL_SOCKET, SO_ERROR, &err, &len);
      if (err != 0) {
        last_error = ErrnoText(err);
        continue;
      }
    }
    return fd;
  }
  return Network(
      "cannot connect to " + where + ": " +
      (timed_out ? "no answer within " + std::to_string(connect_ms) + " ms" : last_error));
}

// TCP connect (ConnectTcp), then the SSH handshake. The session is blocking with a timeout: libssh2
// polls the (non-blocking) socket and gives up after wait_ms without progress.
SftpResult<std::unique_ptr<Connection>> Connect(const SftpEndpoint& e, const SftpTimeouts& t) {
  if (detail::InitLibssh2() != 0) return Network("cannot initialise libssh2");
  if (e.host.empty()) return Refused("no host to connect to");
  auto c = std::make_unique<Connection>();
  c->where = HostPort(e);
  if (e.port < 1 || e.port > 65535) return Refused("bad port in " + c->where);

  auto fd = ConnectTcp(e, t.connect_ms, c->where);
  if (!fd.ok()) return fd.error();
  c->fd = std::move(fd.value());

  c->session.reset(libssh2_session_init());
  if (!c->session) return Network("cannot create an SSH session for " + c->where);
  libssh2_session_set_blocking(c->session.get(), 1);
  // The MAC costs more CPU than AES here: SHA-512 runs about half again as
  // fast as SHA-256 on 64-bit CPUs without SHA instructions, so it goes
  // first. Ciphers: libssh2 1.10 knows no AES-GCM or chacha20; AES-CTR
  // (AES-NI) is cheapest of what it has.
  for (int method : {LIBSSH2_METHOD_MAC_CS, LIBSSH2_METHOD_MAC_SC}) {
    libssh2_session_method_pref(c->session.get(), method, kMacPreference);
  }
  for (int method : {LIBSSH2_METHOD_CRYPT_CS, LIBSSH2_METHOD_CRYPT_SC}) {
    libssh2_session_method_pref(c->session.get(), method, kCipherPreference);
  }
  c->wait_ms = t.connect_ms;
  libssh2_session_set_timeout(c->session.get(), t.connect_ms);
  const int rc = libssh2_session_handshake(c->session.get(), c->fd.get());
  if (rc != 0) return c->Fail(rc, "SSH handshake with " + c->where + " failed");
  // Authentication and starting SFTP still belong to setting up the session
  // and keep connect_ms; the caller switches to io_ms for the transfer.
  return c;
}

std::string HostKeyFingerprint(LIBSSH2_SESSION* session) {
  const char* hash = libssh2_hostkey_hash(session, LIBSSH2_HOSTKEY_HASH_SHA256);
  if (hash == nullptr) return "";
  return detail::OpenSshFingerprint(reinterpret_cast<const unsigned char*>(hash));
}

// Reads up to `size` bytes at `offset`, retrying short reads; false on error
// (errno set) or early end of file.
bool PreadFull(int fd, char* out, size_t size, uint64_t offset) {
  while (size > 0) {
    const ssize_t n = ::pread(fd, out, size, static_cast<off_t>(offset));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      if (n == 0) errno = EIO;
      return false;
    }
    out += n;
    size -= static_cast<size_t>(n);
    offset += static_cast<uint64_t>(n);
  }
  return true;
}

// Does the remote file `path` hold exactly the `size` bytes of local_fd?
SftpResult<bool> SameContent(Connection& c, const std::string& path, int local_fd,
                             const std::string& local_file, uint64_t size) {
  const std::string on = " on " + c.where;
  LIBSSH2_SFTP_ATTRIBUTES attrs{};
  int rc = libssh2_sftp_stat_ex(c.sftp.get(), path.c_str(), static_cast<unsigned>(path.size()),
                                LIBSSH2_SFTP_STAT, &attrs);
  if (rc != 0) return c.Fail(rc, "cannot look up " + path + on);
  if ((attrs.flags & LIBSSH2_SFTP_ATTR_PERMISSIONS) && !LIBSSH2_SFTP_S_ISREG(attrs.permissions)) {
    return false;
  }
  if ((attrs.flags & LIBSSH2_SFTP_ATTR_SIZE) && attrs.filesize != size) return false;

  SftpHandlePtr h(libssh2_sftp_open_ex(c.sftp.get(), path.c_str(),
                                       static_cast<unsigned>(path.size()), LIBSSH2_FXF_READ, 0,
                                       LIBSSH2_SFTP_OPENFILE));
  if (!h) return c.Fail(libssh2_session_last_errno(c.session.get()), "cannot open " + path + on);
  std::vector<char> remote(kChunk);
  std::vector<char> local(kChunk);
  uint64_t offset = 0;
  for (;;) {
    const ssize_t n = libssh2_sftp_read(h.get(), remote.data(), remote.size());
    if (n < 0) return c.Fail(static_cast<int>(n), "cannot read back " + path + on);
    if (n == 0) break;
    const auto got = static_cast<size_t>(n);
    if (offset + got > size) return false;
    if (!PreadFull(local_fd, local.data(), got, offset)) {
      return Refused("cannot read " + local_file + ": " + ErrnoText(errno));
    }
    if (std::memcmp(remote.data(), local.data(), got) != 0) return false;
    offset += got;
  }
  return offset == size;
}

// `final_path` exists: it is either this very file (an earlier attempt whose
// answer was lost) or something we must not touch. Either way our .part,
// whose name only we derive, goes (best effort: the next attempt truncates
// it anyway).
SftpResult<UploadResult> SettleExisting(Connection& c, const std::string& final_path,
                                        const std::string& part_path, const std::string& final_name,
                                        int local_fd, const std::string& local_file,
                                        uint64_t size) {
  SftpResult<bool> same = SameContent(c, final_path, local_fd, local_file, size);
  if (!same.ok()) return same.error();
  libssh2_sftp_unlink_ex(c.sftp.get(), part_path.c_str(), static_cast<unsigned>(part_path.size()));
  if (*same) return UploadResult{.already_there = true, .bytes = size};
  return Refused(final_name +
                 " already exists on the server and differs from this package; refusing to "
                 "overwrite");
}

// Connects, checks the host key against the pin before authenticating,
// logs in with the client key and starts SFTP; the session then waits
// io_ms for any stalled read or write.
SftpResult<std::unique_ptr<Connection>> Login(const SftpEndpoint& endpoint,
                                              const SftpTimeouts& timeouts, const std::string& pin,
                                              const std::string& where) {
  SftpResult<std::unique_ptr<Connection>> connected = Connect(endpoint, timeouts);
  if (!connected.ok()) return connected.error();
  Connection& c = *connected.value();
  LIBSSH2_SESSION* session = c.session.get();

  // Before authentication: a server that is not the pinned one learns
  // neither our user name nor a signature, let alone the file.
  const std::string fingerprint = HostKeyFingerprint(session);
  if (fingerprint != pin) {
    return Refused("host key " + fingerprint + " does not match the pinned " + pin);
  }

  int rc = libssh2_userauth_publickey_fromfile_ex(
      session, endpoint.user.c_str(), static_cast<unsigned>(endpoint.user.size()), nullptr,
      endpoint.private_key_file.c_str(),
      endpoint.passphrase.empty() ? nullptr : endpoint.passphrase.c_str());
  if (rc != 0) {
    const std::string what = "public-key authentication as " + endpoint.user + " at " + where;
    if (detail::IsConnectionError(rc)) return c.Fail(rc, what + " failed");
    if (rc == LIBSSH2_ERROR_FILE) {
      return Refused("cannot use private key " + endpoint.private_key_file + ": " +
                     detail::LastSessionError(session));
    }
    return Refused(what + " failed: the server did not accept key " + endpoint.private_key_file);
  }

  c.sftp.reset(libssh2_sftp_init(session));
  if (!c.sftp) return c.Fail(libssh2_session_last_errno(session), "cannot start SFTP on " + where);
  c.wait_ms = timeouts.io_ms;
  libssh2_session_set_timeout(session, timeouts.io_ms);
  return connected;
}

// Sends bytes [begin, end) of local_fd through `h` at the handle's current
// offset. libssh2 splits each write into 30,000-byte packets and keeps them
// in flight; a short return means the rest is sent but not yet
// acknowledged, and the next call must pass exactly those bytes again. So
// the buffer is refilled only once libssh2 has taken all of it. Returns the
// libssh2 error (0 = all sent); *sent counts what was acknowledged; a local
// read error sets *read_errno.
int WriteRange(LIBSSH2_SFTP_HANDLE* h, int local_fd, uint64_t begin, uint64_t end, uint64_t* sent,
               int* read_errno) {
  std::vector<char> buffer(kChunk);
  uint64_t offset = begin;
  while (offset < end) {
    const size_t want = static_cast<size_t>(std::min<uint64_t>(buffer.size(), end - offset));
    if (!PreadFull(local_fd, buffer.data(), want, offset)) {
      *read_errno = errno;
      return 0;
    }
    const char* data = buffer.data();
    size_t left = want;
    while (left > 0) {
      const ssize_t n = libssh2_sftp_write(h, data, left);
      if (n < 0) return static_cast<int>(n);
      data += n;
      left -= static_cast<size_t>(n);
      *sent += static_cast<uint64_t>(n);
    }
    offset += want;
  }
  return 0;
}

}  // namespace

SftpResult<std::string> ProbeHostKey(const SftpEndpoint& endpoint, const SftpTimeouts& timeouts) {
  SftpResult<std::unique_ptr<Connection>> connected = Connect(endpoint, timeouts);
  if (!connected.ok()) return connected.error();
  Connection& c = *connected.value();
  std::string fingerprint = HostKeyFingerprint(c.session.get());
  if (fingerprint.empty()) return Network("SSH handshake with " + c.where + " gave no host key");
  return fingerprint;
}

namespace {

// What one upload sends, checked before any connection is made.
struct UploadSource {
  std::string where;  // "host:port"
  std::string pin;    // SHA256:<43 base64>, padding dropped
  UniqueFd local;
  uint64_t size = 0;
};

// Where it goes on the server.
struct UploadPaths {
  std::string final_name, final_path, part_path;
  std::string on;  // " on host:port", for messages
};

// The checks SftpUpload and SftpInspect make before any connection: a
// plain final name, a well-formed pin, a user name.
struct Target {
  std::string where;  // "host:port"
  std::string pin;    // SHA256:<43 base64>, padding dropped
};

SftpResult<Target> CheckTarget(const SftpEndpoint& endpoint, const std::string& final_name) {
  Target t;
  t.where = HostPort(endpoint);
  if (!IsPlainFileName(final_name)) {
    return Refused("final name must be a plain file name: " + final_name);
  }
  t.pin = endpoint.pinned_host_key;
  while (!t.pin.empty() && t.pin.back() == '=') t.pin.pop_back();
  if (t.pin.empty()) {
    return Refused("no pinned host key for " + t.where + "; pin the SHA256: fingerprint first");
  }
  if (t.pin.rfind("SHA256:", 0) != 0 || t.pin.size() != 7 + 43) {
    return Refused("pinned host key for " + t.where +
                   " must read SHA256:<base64>, as ssh-keygen -lf prints it");
  }
  if (endpoint.user.empty()) return Refused("no user name for " + t.where);
  return t;
}

// Opened before any connection so that a missing or unreadable key is
// named with its errno, and the server never sees an attempt with it.
SftpResult<bool> CheckPrivateKey(const SftpEndpoint& endpoint) {
  if (UniqueFd key(::open(endpoint.private_key_file.c_str(), O_RDONLY | O_CLOEXEC));
      key.get() < 0) {
    return Refused("cannot read private key " + endpoint.private_key_file + ": " +
                   ErrnoText(errno));
  }
  return true;
}

// The final name and its .part inside remote_dir. Only this function
// derives the .part name: SftpInspect must look for exactly what
// SftpUpload leaves behind.
UploadPaths PathsOf(const SftpEndpoint& endpoint, const std::string& final_name,
                    const std::string& where) {
  UploadPaths p;
  std::string prefix = endpoint.remote_dir;
  if (!prefix.empty() && prefix.back() != '/') prefix += '/';
  p.final_name = final_name;
  p.final_path = prefix + final_name;
  p.part_path = p.final_path + ".part";
  p.on = " on " + where;
  return p;
}

SftpResult<UploadSource> OpenSource(const SftpEndpoint& endpoint, const std::string& local_file,
                                    const std::string& final_name) {
  SftpResult<Target> target = CheckTarget(endpoint, final_name);
  if (!target.ok()) return target.error();
  UploadSource src;
  src.where = target->where;
  src.pin = target->pin;
  src.local = UniqueFd(::open(local_file.c_str(), O_RDONLY | O_CLOEXEC));
  if (src.local.get() < 0) return Refused("cannot read " + local_file + ": " + ErrnoText(errno));
  struct stat st {};
  if (::fstat(src.local.get(), &st) != 0) {
    return Refused("cannot read " + local_file + ": " + ErrnoText(errno));
  }
  if (!S_ISREG(st.st_mode)) return Refused("cannot read " + local_file + ": not a regular file");
  src.size = static_cast<uint64_t>(st.st_size);
  SftpResult<bool> key = CheckPrivateKey(endpoint);
  if (!key.ok()) return key.error();
  return src;
}

// Writes the local file into the open .part `h`. Large files go over two
// SSH connections at once, each writing its half: libssh2 1.10 encrypts and
// MACs on the calling thread, so one connection is bound to one core. A
// second connection that cannot be had (a server limiting sessions) is no
// error: one carries it all.
SftpResult<bool> WriteParts(Connection& c, LIBSSH2_SFTP_HANDLE* h, const SftpEndpoint& endpoint,
                            const SftpTimeouts& timeouts, UploadSource& src, const UploadPaths& p,
                            const std::string& local_file) {
  const uint64_t size = src.size;
  uint64_t half = size;
  std::unique_ptr<Connection> second;
  SftpHandlePtr h2;
  if (size >= kTwoConnectionsFrom) {
    SftpResult<std::unique_ptr<Connection>> other = Login(endpoint, timeouts, src.pin, src.where);
    if (other.ok()) {
      second = std::move(other.value());
      h2.reset(libssh2_sftp_open_ex(second->sftp.get(), p.part_path.c_str(),
                                    static_cast<unsigned>(p.part_path.size()), LIBSSH2_FXF_WRITE, 0,
                                    LIBSSH2_SFTP_OPENFILE));
      if (h2) {
        half = size / 2 / kChunk * kChunk;
        libssh2_sftp_seek64(h2.get(), half);
      } else {
        second.reset();
      }
    }
  }
  uint64_t sent_first = 0, sent_second = 0;
  int read_errno = 0, read_errno_second = 0, rc_second = 0;
  std::thread second_half;
  if (h2) {
    second_half = std::thread([&] {
      rc_second =
          WriteRange(h2.get(), src.local.get(), half, size, &sent_second, &read_errno_second);
    });
  }
  const int rc_first = WriteRange(h, src.local.get(), 0, half, &sent_first, &read_errno);
  if (second_half.joinable()) second_half.join();
  const uint64_t sent = sent_first + sent_second;
  if (rc_first != 0 || rc_second != 0) {
    const bool first_failed = rc_first != 0;
    const int failed_rc = first_failed ? rc_first : rc_second;
    SftpError stopped =
        (first_failed ? c : *second)
            .Fail(failed_rc, "upload of " + p.final_name + " to " + src.where + " stopped after " +
                                 std::to_string(sent) + " of " + std::to_string(size) + " bytes");
    // The server refused more (disk full, quota) but still answers: take
    // the partial file back rather than leave data lying there. A lost
    // connection leaves the .part for the next attempt to replace; both
    // connections are cut so that closing them does not wait again.
    if (!detail::IsConnectionError(failed_rc) && rc_first == 0) {
      libssh2_sftp_unlink_ex(c.sftp.get(), p.part_path.c_str(),
                             static_cast<unsigned>(p.part_path.size()));
    }
    c.Break();
    if (second) second->Break();
    return stopped;
  }
  if (read_errno != 0 || read_errno_second != 0) {
    return Refused(local_file + " changed during the upload: " + std::to_string(size) +
                   " bytes expected, fewer could be read");
  }
  if (h2) {
    const int rc = libssh2_sftp_close_handle(h2.release());
    if (rc != 0) return second->Fail(rc, "cannot close " + p.part_path + p.on);
  }
  struct stat after {};
  if (::fstat(src.local.get(), &after) != 0 || static_cast<uint64_t>(after.st_size) != size) {
    return Refused(local_file + " changed during the upload: " + std::to_string(size) +
                   " bytes expected, " + std::to_string(after.st_size) + " now");
  }
  if (sent != size) {
    return Refused(local_file + " changed during the upload: " + std::to_string(size) +
                   " bytes expected, " + std::to_string(sent) + " read");
  }
  return true;
}

// The written .part made durable, checked and renamed to its final name
// (never over another file).
SftpResult<UploadResult> CommitPart(Connection& c, SftpHandlePtr h, UploadSource& src,
                                    const UploadPaths& p, const std::string& local_file) {
  LIBSSH2_SFTP* sftp = c.sftp.get();
  int rc = libssh2_sftp_fsync(h.get());
  if (rc != 0 && !c.SftpStatusIs(rc, LIBSSH2_FX_OP_UNSUPPORTED)) {
    return c.Fail(rc, "cannot fsync " + p.part_path + p.on);
  }
  LIBSSH2_SFTP_ATTRIBUTES attrs{};
  rc = libssh2_sftp_fstat_ex(h.get(), &attrs, 0);
  if (rc != 0) return c.Fail(rc, "cannot look up " + p.part_path + p.on);
  if (!(attrs.flags & LIBSSH2_SFTP_ATTR_SIZE) || attrs.filesize != src.size) {
    return Network(p.part_path + p.on + " holds " + std::to_string(attrs.filesize) +
                   " bytes after the upload, expected " + std::to_string(src.size));
  }
  rc = libssh2_sftp_close_handle(h.release());
  if (rc != 0) return c.Fail(rc, "cannot close " + p.part_path + p.on);

  // Without OVERWRITE: OpenSSH's server link()s, which never replaces.
  rc = libssh2_sftp_rename_ex(sftp, p.part_path.c_str(), static_cast<unsigned>(p.part_path.size()),
                              p.final_path.c_str(), static_cast<unsigned>(p.final_path.size()),
                              LIBSSH2_SFTP_RENAME_ATOMIC | LIBSSH2_SFTP_RENAME_NATIVE);
  if (rc == 0) return UploadResult{.already_there = false, .bytes = src.size};
  SftpError rename_error =
      c.Fail(rc, "cannot rename " + p.part_path + " to " + p.final_name + p.on);
  if (detail::IsConnectionError(rc)) return rename_error;
  attrs = {};
  if (libssh2_sftp_stat_ex(sftp, p.final_path.c_str(), static_cast<unsigned>(p.final_path.size()),
                           LIBSSH2_SFTP_STAT, &attrs) == 0) {
    return SettleExisting(c, p.final_path, p.part_path, p.final_name, src.local.get(), local_file,
                          src.size);
  }
  // Refused: the complete file must not stay under its .part name.
  libssh2_sftp_unlink_ex(sftp, p.part_path.c_str(), static_cast<unsigned>(p.part_path.size()));
  return rename_error;
}

struct MdCtxFree {
  void operator()(EVP_MD_CTX* ctx) const { EVP_MD_CTX_free(ctx); }
};

// Reads the remote file `path` to its end through one kChunk buffer,
// hashing as it goes: memory stays flat whatever the file's size.
SftpResult<RemoteFile> HashRemote(Connection& c, const std::string& path, const std::string& on) {
  std::unique_ptr<EVP_MD_CTX, MdCtxFree> md(EVP_MD_CTX_new());
  if (!md || EVP_DigestInit_ex(md.get(), EVP_sha256(), nullptr) != 1) {
    return Refused("cannot start SHA-256 for " + path + on);
  }
  SftpHandlePtr h(libssh2_sftp_open_ex(c.sftp.get(), path.c_str(),
                                       static_cast<unsigned>(path.size()), LIBSSH2_FXF_READ, 0,
                                       LIBSSH2_SFTP_OPENFILE));
  if (!h) return c.Fail(libssh2_session_last_errno(c.session.get()), "cannot open " + path + on);
  RemoteFile file;
  file.exists = true;
  std::vector<char> buffer(kChunk);
  for (;;) {
    const ssize_t n = libssh2_sftp_read(h.get(), buffer.data(), buffer.size());
    if (n < 0) return c.Fail(static_cast<int>(n), "cannot read back " + path + on);
    if (n == 0) break;
    EVP_DigestUpdate(md.get(), buffer.data(), static_cast<size_t>(n));
    file.size += static_cast<uint64_t>(n);
  }
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  if (EVP_DigestFinal_ex(md.get(), digest, &length) != 1) {
    return Refused("cannot finish SHA-256 for " + path + on);
  }
  file.sha256 = Hex(digest, length);
  return file;
}

// Whether `path` is there: true, false for "no such file", or the error.
// `regular` (optional) is set to whether it is a regular file; a server
// that sends no permissions is taken at its word that a file is there.
SftpResult<bool> LookUp(Connection& c, const std::string& path, const std::string& on,
                        bool* regular) {
  LIBSSH2_SFTP_ATTRIBUTES attrs{};
  const int rc = libssh2_sftp_stat_ex(
      c.sftp.get(), path.c_str(), static_cast<unsigned>(path.size()), LIBSSH2_SFTP_STAT, &attrs);
  if (rc != 0) {
    if (c.SftpStatusIs(rc, LIBSSH2_FX_NO_SUCH_FILE)) return false;
    return c.Fail(rc, "cannot look up " + path + on);
  }
  if (regular != nullptr) {
    *regular =
        !(attrs.flags & LIBSSH2_SFTP_ATTR_PERMISSIONS) || LIBSSH2_SFTP_S_ISREG(attrs.permissions);
  }
  return true;
}

}  // namespace

SftpResult<UploadResult> SftpUpload(const SftpEndpoint& endpoint, const std::string& local_file,
                                    const std::string& final_name, const SftpTimeouts& timeouts) {
  SftpResult<UploadSource> opened = OpenSource(endpoint, local_file, final_name);
  if (!opened.ok()) return opened.error();
  UploadSource& src = opened.value();
  SftpResult<std::unique_ptr<Connection>> connected = Login(endpoint, timeouts, src.pin, src.where);
  if (!connected.ok()) return connected.error();
  Connection& c = *connected.value();
  LIBSSH2_SFTP* sftp = c.sftp.get();

  const UploadPaths p = PathsOf(endpoint, final_name, src.where);

  // Already delivered (say the answer to an earlier rename was lost)? Then
  // there is nothing to send.
  LIBSSH2_SFTP_ATTRIBUTES attrs{};
  int rc =
      libssh2_sftp_stat_ex(sftp, p.final_path.c_str(), static_cast<unsigned>(p.final_path.size()),
                           LIBSSH2_SFTP_STAT, &attrs);
  if (rc == 0) {
    return SettleExisting(c, p.final_path, p.part_path, final_name, src.local.get(), local_file,
                          src.size);
  }
  if (!c.SftpStatusIs(rc, LIBSSH2_FX_NO_SUCH_FILE)) {
    return c.Fail(rc, "cannot look up " + p.final_path + p.on);
  }
  SftpHandlePtr h(libssh2_sftp_open_ex(
      sftp, p.part_path.c_str(), static_cast<unsigned>(p.part_path.size()),
      LIBSSH2_FXF_WRITE | LIBSSH2_FXF_CREAT | LIBSSH2_FXF_TRUNC,
      LIBSSH2_SFTP_S_IRUSR | LIBSSH2_SFTP_S_IWUSR | LIBSSH2_SFTP_S_IRGRP, LIBSSH2_SFTP_OPENFILE));
  if (!h) {
    return c.Fail(libssh2_session_last_errno(c.session.get()),
                  "cannot create " + p.part_path + p.on);
  }
  SftpResult<bool> written = WriteParts(c, h.get(), endpoint, timeouts, src, p, local_file);
  if (!written.ok()) return written.error();
  return CommitPart(c, std::move(h), src, p, local_file);
}

SftpResult<RemoteFile> SftpInspect(const SftpEndpoint& endpoint, const std::string& final_name,
                                   const SftpTimeouts& timeouts) {
  SftpResult<Target> target = CheckTarget(endpoint, final_name);
  if (!target.ok()) return target.error();
  SftpResult<bool> key = CheckPrivateKey(endpoint);
  if (!key.ok()) return key.error();
  SftpResult<std::unique_ptr<Connection>> connected =
      Login(endpoint, timeouts, target->pin, target->where);
  if (!connected.ok()) return connected.error();
  Connection& c = *connected.value();
  const UploadPaths p = PathsOf(endpoint, final_name, target->where);

  SftpResult<bool> part = LookUp(c, p.part_path, p.on, nullptr);
  if (!part.ok()) return part.error();
  bool regular = false;
  SftpResult<bool> final_there = LookUp(c, p.final_path, p.on, &regular);
  if (!final_there.ok()) return final_there.error();

  RemoteFile found;
  // A folder or device under the final name is no delivery; SftpUpload
  // would refuse to replace it.
  if (*final_there && regular) {
    SftpResult<RemoteFile> hashed = HashRemote(c, p.final_path, p.on);
    if (!hashed.ok()) return hashed.error();
    found = std::move(hashed.value());
  }
  found.part_exists = *part;
  return found;
}

}  // namespace itaku::transports
