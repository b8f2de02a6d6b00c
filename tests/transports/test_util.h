// Shared helpers for transports tests: a temporary folder, running the real
// openssl/unzip command-line tools, reading files.
#pragma once

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

extern char** environ;

namespace itaku::transports::test_util {

class TempDir {
 public:
  TempDir() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "itaku-transports-XXXXXX");
    path_ = ::mkdtemp(tmpl.data());
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  const std::string& path() const { return path_; }
  std::string operator/(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

// Runs a shell command with output discarded; returns its exit status.
inline int RunCommand(const std::string& command) {
  int rc = std::system((command + " >/dev/null 2>&1").c_str());
  return WIFEXITED(rc) ? WEXITSTATUS(rc) : 128 + WTERMSIG(rc);
}

// Runs a shell command and returns its standard output.
inline std::string Output(const std::string& command) {
  std::string out;
  FILE* p = ::popen((command + " 2>/dev/null").c_str(), "r");
  if (p == nullptr) return out;
  char buf[4096];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
  ::pclose(p);
  return out;
}

inline std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

inline void WriteFile(const std::string& path, const std::string& data) {
  std::ofstream(path, std::ios::binary) << data;
}

// The SHA-256 fingerprint of a PEM certificate as `openssl x509 -fingerprint
// -sha256` prints it, "SHA256:AB:CD:…"; empty when openssl says nothing.
inline std::string CertificateFingerprint(const std::string& pem_file) {
  std::string out = Output("openssl x509 -noout -fingerprint -sha256 -in " + pem_file);
  const size_t eq = out.find('=');
  if (eq == std::string::npos) return "";
  out = out.substr(eq + 1);
  while (!out.empty() && (out.back() == '\n' || out.back() == '\r')) out.pop_back();
  return "SHA256:" + out;
}

// Binds `fd` to a port of the kernel's choice on 127.0.0.1; the port, or 0.
inline int BindLoopback(int fd) {
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof a;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) != 0) {
    return 0;
  }
  return ntohs(a.sin_port);
}

// A loopback port nobody listens on right now (the kernel's pick).
inline int FreePort() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  const int port = BindLoopback(fd);
  ::close(fd);
  return port;
}

// A server that never says a word: it listens on a loopback port but never
// accepts, so a connection completes in the kernel's backlog and then hears
// nothing. Closed when it goes out of scope.
class SilentListener {
 public:
  SilentListener() : fd_(::socket(AF_INET, SOCK_STREAM, 0)) {
    port_ = BindLoopback(fd_);
    if (port_ != 0 && ::listen(fd_, 4) != 0) port_ = 0;
  }
  ~SilentListener() { ::close(fd_); }
  SilentListener(const SilentListener&) = delete;
  SilentListener& operator=(const SilentListener&) = delete;
  // 0 when it could not listen.
  int port() const { return port_; }

 private:
  const int fd_;
  int port_ = 0;
};

// Runs `launch`, which starts a peer listening on *port, with *port set to
// a free loopback port; tries again on another port when it fails, as
// another process may take one between FreePort() and the peer's bind.
// Whether a launch succeeded.
inline bool LaunchOnAFreePort(int* port, const std::function<bool()>& launch) {
  for (int attempt = 0; attempt < 5; ++attempt) {
    *port = FreePort();
    if (launch()) return true;
  }
  return false;
}

// Whether something accepts TCP connections on 127.0.0.1:port.
inline bool Accepts(int port) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = htons(static_cast<uint16_t>(port));
  bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
  ::close(fd);
  return ok;
}

// The one way tests start a real peer (sshd, aiosmtpd): `args` (args[0] the
// program) with stdin from /dev/null and, when `log_file` is given, stdout
// and stderr appended to it; then waits up to `within` for `ready()`. The
// pid, or -1 with *error naming `name` (the peer exited, or never got ready;
// then it is killed).
inline pid_t SpawnUntilReady(const std::string& name, std::vector<std::string> args,
                             const std::string& log_file, std::chrono::milliseconds within,
                             const std::function<bool()>& ready, std::string* error) {
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  if (!log_file.empty()) {
    posix_spawn_file_actions_addopen(&actions, 1, log_file.c_str(), O_WRONLY | O_CREAT | O_APPEND,
                                     0644);
    posix_spawn_file_actions_adddup2(&actions, 1, 2);
  }
  pid_t pid = -1;
  const int rc = ::posix_spawn(&pid, argv[0], &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  if (rc != 0) {
    *error = "cannot start " + name;
    return -1;
  }
  const auto deadline = std::chrono::steady_clock::now() + within;
  while (std::chrono::steady_clock::now() < deadline) {
    int status = 0;
    if (::waitpid(pid, &status, WNOHANG) == pid) {
      *error = name + " exited at start";
      return -1;
    }
    if (ready()) return pid;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  ::kill(pid, SIGKILL);
  ::waitpid(pid, nullptr, 0);
  *error = name + " did not start listening within " +
           std::to_string(std::chrono::duration_cast<std::chrono::seconds>(within).count()) + " s";
  return -1;
}

}  // namespace itaku::transports::test_util
