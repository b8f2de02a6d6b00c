// Electronic transmission of policy 6(2) (電子データの伝送): a finished file
// is uploaded to a contractor's SFTP server, e.g. the monthly billing file
// to a collection agency. Bytes, files, endpoints and keys only; which
// contractor and why is the caller's business.
//
// Safety, in order:
//   1. The server's host key is checked against the pinned fingerprint right
//      after the key exchange, BEFORE authentication: a mismatch sends
//      neither the user name nor a signature nor a byte of the file.
//   2. The file is written as "<final>.part" (an old .part is truncated),
//      fsync'ed (fsync@openssh.com, when the server supports it), its size
//      checked, and only then renamed to "<final>" WITHOUT overwriting. A
//      reader on the server never sees a half file under the final name.
//   3. An existing "<final>" is never replaced. If it holds exactly our
//      bytes (an earlier attempt whose answer was lost) the upload counts as
//      done (already_there); otherwise it is refused.
// A connection that dies mid-way leaves at most "<final>.part" behind; the
// next attempt replaces it.
//
// Errors: one line each, never containing file contents, plus a kind that
// tells the caller whether to retry (see SftpErrorKind). Nothing throws.
// Every wait is bounded: TCP connect, the SSH handshake, authentication and
// starting SFTP by connect_ms; every later read or write that makes no
// progress by io_ms.
//
// Thread safety: the functions share no state; call them from any thread.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <variant>

#include "contracts/base/status.h"

namespace itaku::transports {

struct SftpEndpoint {
  std::string host;
  int port = 22;
  std::string user;
  // Where files go. Relative to the login folder unless it starts with '/';
  // empty means the login folder itself.
  std::string remote_dir;
  // "SHA256:<base64 without padding>", exactly as `ssh-keygen -lf KEY.pub`
  // prints it (field 2). Required by SftpUpload.
  std::string pinned_host_key;
  std::string private_key_file;  // OpenSSH or PEM format; ed25519, ecdsa or rsa
  std::string passphrase;        // of private_key_file; empty when it has none
};

// Parses "sftp://user@host[:port][/path]" as OpenSSH's sftp(1) does: the
// path after the host's '/' is relative to the login folder, so
// "sftp://agency@files.example.jp/inbox" means "inbox" and
// "sftp://agency@files.example.jp//srv/inbox" means "/srv/inbox". IPv6
// hosts go in brackets ("[::1]"). %XX escapes are decoded in user and path.
// Fills host, port, user and remote_dir. Refuses, with one of:
//   "not an sftp:// URL: <url>"
//   "sftp URL has no user name: <url>"
//   "sftp URL has no host: <url>"
//   "sftp URL has a bad port: <url>"
//   "sftp URL must not contain a password"       (the URL is not repeated)
//   "sftp URL must not contain '?', '#' or ';': <url>"
//   "sftp URL has a bad %-escape: <url>"
Result<SftpEndpoint> ParseSftpUrl(const std::string& url);

struct SftpTimeouts {
  int connect_ms = 10000;  // TCP connect, handshake, authentication, SFTP start
  int io_ms = 30000;       // any later read or write that makes no progress
};

// Whether retrying the same call later may succeed.
enum class SftpErrorKind {
  // The network or the server failed: no route, refused or silent port,
  // timeout, connection lost mid-way, a server-side failure (disk full).
  // Retrying later may succeed.
  kNetwork,
  // Refused, and refused again until a person changes something: host key
  // does not match the pin, authentication failed, the server denies the
  // folder, a different file already has the final name, the local file or
  // key cannot be read, a bad argument.
  kRefused,
};

struct SftpError {
  SftpErrorKind kind = SftpErrorKind::kNetwork;
  std::string message;  // one line
};

// A value or an SftpError: Result<T> with the error's kind alongside.
template <typename T>
class SftpResult {
 public:
  SftpResult(T value) : v_(std::move(value)) {}          // NOLINT: implicit by design
  SftpResult(SftpError error) : v_(std::move(error)) {}  // NOLINT: implicit by design

  bool ok() const { return std::holds_alternative<T>(v_); }
  const T& value() const& { return std::get<T>(v_); }
  T& value() & { return std::get<T>(v_); }
  const T* operator->() const { return &std::get<T>(v_); }
  const T& operator*() const& { return value(); }

  // Only when !ok().
  const SftpError& error() const { return std::get<SftpError>(v_); }
  SftpErrorKind kind() const { return error().kind; }
  bool retryable() const { return !ok() && kind() == SftpErrorKind::kNetwork; }
  // Empty when ok().
  const std::string& message() const {
    static const std::string kEmpty;
    return ok() ? kEmpty : error().message;
  }
  Status status() const { return ok() ? Status::Ok() : Status::Error(error().message); }

 private:
  std::variant<T, SftpError> v_;
};

// Connects, completes the key exchange and returns the fingerprint of the
// host key the server presented, "SHA256:<base64 without padding>" as
// OpenSSH prints it; does not authenticate. For pinning on first contact,
// after a person has compared it with what the contractor sent on paper.
// Errors:
//   kNetwork "cannot resolve HOST: <reason>"
//   kNetwork "cannot connect to HOST:PORT: <strerror>"     ("Connection refused")
//   kNetwork "cannot connect to HOST:PORT: no answer within N ms"
//   kNetwork "SSH handshake with HOST:PORT failed: no answer within N ms"
//   kNetwork "SSH handshake with HOST:PORT failed: connection lost (<libssh2 reason>)"
//   kNetwork "SSH handshake with HOST:PORT failed: <libssh2 reason>"
//   kRefused "no host to connect to", "bad port in HOST:PORT"
SftpResult<std::string> ProbeHostKey(const SftpEndpoint& endpoint, const SftpTimeouts& timeouts);

struct UploadResult {
  bool already_there = false;  // the final name already held these exact bytes
  uint64_t bytes = 0;          // size of the file now under the final name
};

// Uploads `local_file` as `<remote_dir>/<final_name>` (see the top of this
// file). Besides the errors of ProbeHostKey, returns (each on one line):
//   kRefused "final name must be a plain file name: NAME"
//   kRefused "no pinned host key for HOST:PORT; pin the SHA256: fingerprint first"
//   kRefused "pinned host key for HOST:PORT must read SHA256:<base64>, as ssh-keygen -lf
//             prints it"
//   kRefused "no user name for HOST:PORT"
//   kRefused "cannot read LOCAL: <strerror>"                 (or "not a regular file")
//   kRefused "cannot read private key FILE: <strerror>"
//   kRefused "host key SHA256:X does not match the pinned SHA256:Y"
//   kRefused "cannot use private key FILE: <libssh2 reason>" (format, wrong passphrase)
//   kRefused "public-key authentication as USER at HOST:PORT failed: the server did not
//             accept key FILE"
//   kRefused "NAME already exists on the server and differs from this package; refusing to
//             overwrite"
//   kRefused "LOCAL changed during the upload: M bytes expected, N read"
//   kNetwork "upload of NAME to HOST:PORT stopped after N of M bytes: <reason>"
//   kNetwork "PATH.part on HOST:PORT holds N bytes after the upload, expected M"
//   either   "cannot <create|look up|open|read back|fsync|close|rename> PATH [to NAME] on
//             HOST:PORT: <reason>"
// A <reason> is "no answer within N ms" (connect_ms or io_ms), "connection lost (<libssh2
// reason>)" or an SFTP status such as "permission denied (SFTP status 3)".
// Denials, missing files or folders and unsupported operations are kRefused;
// every other status (failure, no space, quota) and every connection error
// kNetwork. N counts bytes the server acknowledged.
SftpResult<UploadResult> SftpUpload(const SftpEndpoint& endpoint, const std::string& local_file,
                                    const std::string& final_name, const SftpTimeouts& timeouts);

struct RemoteFile {
  bool exists = false;       // a regular file under the final name
  uint64_t size = 0;         // bytes read back and hashed; 0 when !exists
  std::string sha256;        // lowercase hex of those bytes; empty when !exists
  bool part_exists = false;  // "<final>.part" (an upload cut off) is there
};

// What the server holds under `<remote_dir>/<final_name>`, for settling an
// upload whose answer was never recorded (the daemon stopped mid-way): the
// final name holding the bytes that were sent means delivered. Checks the
// arguments, the pin (before authenticating) and logs in exactly as
// SftpUpload does, looks up the final name and the "<final>.part" SftpUpload
// writes, and when the final name is a regular file reads it back to its end
// and hashes it (SHA-256, streamed: memory stays flat whatever its size).
// Changes nothing on the server. Anything other than a regular file under
// the final name (a folder) counts as !exists, and so does a missing
// remote_dir: the server answers "no such file" for both.
// Errors, each on one line and worded as SftpUpload's:
//   the errors of ProbeHostKey
//   kRefused "final name must be a plain file name: NAME"
//   kRefused "no pinned host key for HOST:PORT; pin the SHA256: fingerprint first"
//   kRefused "pinned host key for HOST:PORT must read SHA256:<base64>, as ssh-keygen -lf
//             prints it"
//   kRefused "no user name for HOST:PORT"
//   kRefused "cannot read private key FILE: <strerror>"
//   kRefused "host key SHA256:X does not match the pinned SHA256:Y"
//   kRefused "cannot use private key FILE: <libssh2 reason>"
//   kRefused "public-key authentication as USER at HOST:PORT failed: the server did not
//             accept key FILE"
//   either   "cannot <look up|open|read back> PATH on HOST:PORT: <reason>"
//   kRefused "cannot <start|finish> SHA-256 for PATH on HOST:PORT"   (OpenSSL failed)
// with <reason> and the kinds as for SftpUpload.
SftpResult<RemoteFile> SftpInspect(const SftpEndpoint& endpoint, const std::string& final_name,
                                   const SftpTimeouts& timeouts);

}  // namespace itaku::transports
