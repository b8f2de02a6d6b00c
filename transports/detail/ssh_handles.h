// RAII owners for the socket and the libssh2 handles the SFTP transport
// uses, and the few helpers that turn libssh2's error state into words.
#pragma once

#include <libssh2.h>
#include <libssh2_sftp.h>

#include <memory>
#include <string>

namespace itaku::transports::detail {

// Owns a file descriptor; closes it on destruction.
class UniqueFd {
 public:
  UniqueFd() = default;
  explicit UniqueFd(int fd) : fd_(fd) {}
  UniqueFd(UniqueFd&& other) noexcept : fd_(other.release()) {}
  UniqueFd& operator=(UniqueFd&& other) noexcept;
  UniqueFd(const UniqueFd&) = delete;
  UniqueFd& operator=(const UniqueFd&) = delete;
  ~UniqueFd();

  int get() const { return fd_; }
  int release();

 private:
  int fd_ = -1;
};

// Sends SSH_MSG_DISCONNECT (best effort), then frees the session.
struct SessionFree {
  void operator()(LIBSSH2_SESSION* s) const;
};
struct SftpFree {
  void operator()(LIBSSH2_SFTP* s) const { libssh2_sftp_shutdown(s); }
};
struct SftpHandleFree {
  void operator()(LIBSSH2_SFTP_HANDLE* h) const { libssh2_sftp_close_handle(h); }
};

using SessionPtr = std::unique_ptr<LIBSSH2_SESSION, SessionFree>;
using SftpPtr = std::unique_ptr<LIBSSH2_SFTP, SftpFree>;
using SftpHandlePtr = std::unique_ptr<LIBSSH2_SFTP_HANDLE, SftpHandleFree>;

// libssh2_init(0), once per process. Returns its result (0 on success).
int InitLibssh2();

// The session's last error message, "unknown libssh2 error" when empty.
std::string LastSessionError(LIBSSH2_SESSION* session);

// "permission denied (SFTP status 3)".
std::string SftpStatusText(unsigned long status);

// True for the libssh2 codes that mean the connection itself failed
// (socket errors, timeouts, disconnects, a broken transport).
bool IsConnectionError(int rc);

// The 32-byte SHA-256 of the host key as OpenSSH prints it:
// "SHA256:" + base64 without '=' padding.
std::string OpenSshFingerprint(const unsigned char* sha256);

}  // namespace itaku::transports::detail
