#include "tests/transports/sshd_fixture.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pwd.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>
#include <vector>

extern char** environ;

namespace itaku::transports::test_util {
namespace {

constexpr const char* kSshd = "/usr/sbin/sshd";

// Parent pid of every process, from /proc/<pid>/stat.
std::vector<std::pair<pid_t, pid_t>> ProcessParents() {
  std::vector<std::pair<pid_t, pid_t>> out;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator("/proc", ec)) {
    const std::string name = entry.path().filename();
    if (name.find_first_not_of("0123456789") != std::string::npos) continue;
    std::ifstream in(entry.path() / "stat");
    std::string stat((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    // "pid (comm) state ppid ...": comm may hold spaces, so start after ')'.
    const size_t close = stat.rfind(')');
    if (close == std::string::npos) continue;
    std::istringstream rest(stat.substr(close + 1));
    std::string state;
    pid_t ppid = 0;
    rest >> state >> ppid;
    out.emplace_back(static_cast<pid_t>(std::stoi(name)), ppid);
  }
  return out;
}

}  // namespace

std::unique_ptr<SshdFixture> SshdFixture::Start(std::string* error) {
  if (::geteuid() != 0) {
    *error = "sshd tests need root";
    return nullptr;
  }
  if (::access(kSshd, X_OK) != 0) {
    *error = std::string(kSshd) + " is missing (apt-get install openssh-server)";
    return nullptr;
  }
  std::error_code ec;
  std::filesystem::create_directories("/run/sshd", ec);  // privilege separation folder

  std::unique_ptr<SshdFixture> s(new SshdFixture());
  const passwd* pw = ::getpwuid(::geteuid());
  s->user_ = pw != nullptr ? pw->pw_name : "root";
  std::filesystem::create_directories(s->inbox());
  for (const char* key : {"hostkey", "client_key", "stranger_key"}) {
    if (RunCommand("ssh-keygen -q -t ed25519 -N '' -C itaku-test -f " + (s->dir_ / key)) != 0) {
      *error = "ssh-keygen failed";
      return nullptr;
    }
  }
  std::filesystem::copy_file(s->dir_ / "client_key.pub", s->dir_ / "authorized_keys");
  std::istringstream fields(Output("ssh-keygen -lf " + s->host_key_pub()));
  std::string bits;
  fields >> bits >> s->fingerprint_;
  if (s->fingerprint_.rfind("SHA256:", 0) != 0) {
    *error = "ssh-keygen -lf printed no SHA256 fingerprint";
    return nullptr;
  }
  if (!LaunchOnAFreePort(&s->port_, [&] { return s->Launch(error); })) return nullptr;
  return s;
}

bool SshdFixture::Launch(std::string* error) {
  const std::string config = dir_ / "sshd_config";
  {
    std::ofstream out(config);
    out << "Port " << port_ << "\n"
        << "ListenAddress 127.0.0.1\n"
        << "HostKey " << (dir_ / "hostkey") << "\n"
        << "AuthorizedKeysFile " << (dir_ / "authorized_keys") << "\n"
        << "PubkeyAuthentication yes\n"
        << "PasswordAuthentication no\n"
        << "KbdInteractiveAuthentication no\n"
        << "PermitRootLogin prohibit-password\n"
        << "UsePAM no\n"
        << "StrictModes no\n"
        << "Subsystem sftp internal-sftp\n"
        << "PidFile " << (dir_ / "sshd.pid") << "\n"
        << "LogLevel VERBOSE\n";
  }
  std::filesystem::remove(dir_ / "sshd.pid");
  const std::string log = log_path();
  std::vector<std::string> args = {kSshd, "-D", "-f", config, "-E", log};
  // Ready once the listener accepts connections (it writes its PidFile
  // after binding); gone if it could not bind.
  const pid_t pid = SpawnUntilReady(
      "sshd", args, "", std::chrono::seconds(10),
      [&] { return std::filesystem::exists(dir_ / "sshd.pid") && Accepts(port_); }, error);
  if (pid < 0) {
    *error += ": " + ReadFile(log);
    return false;
  }
  pid_ = pid;
  return true;
}

std::set<pid_t> SshdFixture::StopTree() {
  // Stop the tree top-down so that nothing forks while it is collected.
  std::set<pid_t> tree = {pid_};
  ::kill(pid_, SIGSTOP);
  for (bool grew = true; grew;) {
    grew = false;
    for (const auto& [pid, ppid] : ProcessParents()) {
      if (tree.count(ppid) != 0 && tree.insert(pid).second) {
        ::kill(pid, SIGSTOP);
        grew = true;
      }
    }
  }
  return tree;
}

void SshdFixture::Freeze() {
  if (pid_ >= 0) StopTree();
}

void SshdFixture::KillAll() {
  if (pid_ < 0) return;
  for (pid_t pid : StopTree()) ::kill(pid, SIGKILL);
  ::waitpid(pid_, nullptr, 0);
  pid_ = -1;
}

bool SshdFixture::Restart(std::string* error) {
  KillAll();
  return Launch(error);
}

SshdFixture::~SshdFixture() { KillAll(); }

}  // namespace itaku::transports::test_util
