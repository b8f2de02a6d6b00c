// A real OpenSSH server for SFTP tests: /usr/sbin/sshd, run as root on
// 127.0.0.1 on a free port, from a temporary folder holding a fresh ed25519
// host key, an authorized client key, a second key the server does not know,
// an "inbox" folder and the log. Public-key authentication only,
// `Subsystem sftp internal-sftp`, `StrictModes no` (the folder is under
// /tmp).
//
// The listener runs in the foreground (-D) as a child of the test; Stop()
// and the destructor kill it together with every connection process it
// forked (which sshd detaches with setsid(), so they are found through
// /proc, not a process group).
#pragma once

#include <sys/types.h>

#include <memory>
#include <set>
#include <string>

#include "tests/transports/test_util.h"

namespace itaku::transports::test_util {

class SshdFixture {
 public:
  // Null, with *error set, when sshd cannot be started (not root, no sshd).
  static std::unique_ptr<SshdFixture> Start(std::string* error);

  SshdFixture(const SshdFixture&) = delete;
  SshdFixture& operator=(const SshdFixture&) = delete;
  ~SshdFixture();

  // SIGSTOPs the listener and all its descendants: a server that stops
  // answering without closing anything. KillAll() or the destructor ends it.
  void Freeze();
  // SIGKILLs the listener and all its descendants at once, the way a
  // crashing server or a power cut ends them mid-transfer.
  void KillAll();
  // Starts sshd again on the same port with the same keys (after KillAll).
  bool Restart(std::string* error);

  int port() const { return port_; }
  const std::string& user() const { return user_; }
  std::string dir() const { return dir_.path(); }
  std::string inbox() const { return dir_ / "inbox"; }
  std::string client_key() const { return dir_ / "client_key"; }
  std::string stranger_key() const { return dir_ / "stranger_key"; }
  std::string host_key_pub() const { return dir_ / "hostkey.pub"; }
  std::string log_path() const { return dir_ / "sshd.log"; }
  // Field 2 of `ssh-keygen -lf hostkey.pub`: "SHA256:...".
  const std::string& host_key_fingerprint() const { return fingerprint_; }

 private:
  SshdFixture() = default;
  bool Launch(std::string* error);
  // The listener and its descendants, all stopped.
  std::set<pid_t> StopTree();

  TempDir dir_;
  std::string user_;
  std::string fingerprint_;
  int port_ = 0;
  pid_t pid_ = -1;
};

}  // namespace itaku::transports::test_util
