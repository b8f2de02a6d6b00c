#include "transports/detail/ssh_handles.h"

#include <openssl/evp.h>
#include <unistd.h>

#include <mutex>

namespace itaku::transports::detail {

UniqueFd& UniqueFd::operator=(UniqueFd&& other) noexcept {
  if (this != &other) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = other.release();
  }
  return *this;
}

UniqueFd::~UniqueFd() {
  if (fd_ >= 0) ::close(fd_);
}

int UniqueFd::release() {
  int fd = fd_;
  fd_ = -1;
  return fd;
}

void SessionFree::operator()(LIBSSH2_SESSION* s) const {
  libssh2_session_disconnect(s, "bye");
  libssh2_session_free(s);
}

int InitLibssh2() {
  static std::once_flag once;
  static int rc = 0;
  std::call_once(once, [] { rc = libssh2_init(0); });
  return rc;
}

std::string LastSessionError(LIBSSH2_SESSION* session) {
  char* msg = nullptr;
  int len = 0;
  libssh2_session_last_error(session, &msg, &len, 0);
  if (msg == nullptr || len <= 0) return "unknown libssh2 error";
  return std::string(msg, static_cast<size_t>(len));
}

std::string SftpStatusText(unsigned long status) {
  static const char* const kNames[] = {
      "ok",                      // 0
      "end of file",             // 1
      "no such file",            // 2
      "permission denied",       // 3
      "failure",                 // 4
      "bad message",             // 5
      "no connection",           // 6
      "connection lost",         // 7
      "operation unsupported",   // 8
      "invalid handle",          // 9
      "no such path",            // 10
      "file already exists",     // 11
      "write protected",         // 12
      "no media",                // 13
      "no space on filesystem",  // 14
      "quota exceeded",          // 15
      "unknown principal",       // 16
      "lock conflict",           // 17
      "folder not empty",        // 18
      "not a folder",            // 19
      "invalid file name",       // 20
      "link loop",               // 21
  };
  std::string name = status < std::size(kNames) ? kNames[status] : "unknown status";
  return name + " (SFTP status " + std::to_string(status) + ")";
}

bool IsConnectionError(int rc) {
  switch (rc) {
    case LIBSSH2_ERROR_SOCKET_NONE:
    case LIBSSH2_ERROR_BANNER_RECV:
    case LIBSSH2_ERROR_BANNER_SEND:
    case LIBSSH2_ERROR_INVALID_MAC:
    case LIBSSH2_ERROR_SOCKET_SEND:
    case LIBSSH2_ERROR_TIMEOUT:
    case LIBSSH2_ERROR_DECRYPT:
    case LIBSSH2_ERROR_SOCKET_DISCONNECT:
    case LIBSSH2_ERROR_PROTO:
    case LIBSSH2_ERROR_CHANNEL_CLOSED:
    case LIBSSH2_ERROR_CHANNEL_EOF_SENT:
    case LIBSSH2_ERROR_SOCKET_TIMEOUT:
    case LIBSSH2_ERROR_EAGAIN:
    case LIBSSH2_ERROR_SOCKET_RECV:
    case LIBSSH2_ERROR_ENCRYPT:
    case LIBSSH2_ERROR_BAD_SOCKET:
      return true;
    default:
      return false;
  }
}

std::string OpenSshFingerprint(const unsigned char* sha256) {
  unsigned char out[64] = {};
  int n = EVP_EncodeBlock(out, sha256, 32);
  std::string b64(reinterpret_cast<const char*>(out), n > 0 ? static_cast<size_t>(n) : 0);
  while (!b64.empty() && b64.back() == '=') b64.pop_back();
  return "SHA256:" + b64;
}

}  // namespace itaku::transports::detail
