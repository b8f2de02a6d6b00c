// A real SMTP server for the mail tests: aiosmtpd (Debian's
// python3-aiosmtpd, run by /usr/bin/python3) on 127.0.0.1 on a free port,
// storing every accepted message in a Maildir, so that tests read back what
// the server actually received. In STARTTLS mode it presents a fresh
// self-signed certificate for 127.0.0.1/localhost and refuses mail before
// STARTTLS (aiosmtpd's require_starttls); with a user configured it also
// offers AUTH PLAIN and LOGIN after STARTTLS and accepts only that user and
// password (run through aiosmtpd's Controller, as its command line has no
// authentication options).
//
// The server runs as a child of the test; Stop() and the destructor kill it.
#pragma once

#include <sys/types.h>

#include <memory>
#include <string>
#include <vector>

#include "tests/transports/test_util.h"

namespace itaku::transports::test_util {

using transports::test_util::TempDir;

// The interpreter that has Debian's aiosmtpd (a pyenv python3 may be first
// on PATH and lack it).
inline constexpr const char* kPython = "/usr/bin/python3";

// Writes a self-signed certificate and key for CN=localhost with
// subjectAltName IP:127.0.0.1, DNS:localhost (openssl req -x509).
bool MakeSelfSignedCertificate(const std::string& cert, const std::string& key, std::string* error);

// The fields of a stored message as Python's email package (policy.default)
// decodes them, as one JSON object: to, to_name, from, from_name, subject,
// content_type, charset, transfer_encoding, body, date, message_id,
// envelope_to (aiosmtpd's X-RcptTo). Empty on failure.
std::string DecodeMessage(const std::string& path);

class SmtpFixture {
 public:
  enum class Mode { kPlain, kStartTls };
  struct Options {
    Mode mode = Mode::kPlain;
    int max_size = 0;       // aiosmtpd --size; 0: its default (32 MiB)
    std::string auth_user;  // STARTTLS mode only; empty: AUTH offered but always refused
    std::string auth_password;
  };

  // Null, with *error set, when the server cannot be started.
  static std::unique_ptr<SmtpFixture> Start(const Options& options, std::string* error);

  SmtpFixture(const SmtpFixture&) = delete;
  SmtpFixture& operator=(const SmtpFixture&) = delete;
  ~SmtpFixture();

  // Kills the server; the port then refuses connections.
  void Stop();
  // Starts it again on the same port, with the same certificate and Maildir.
  bool Restart(std::string* error);

  int port() const { return port_; }
  std::string host() const { return "127.0.0.1"; }
  // The server's certificate (STARTTLS mode): the CA file a client needs.
  std::string cert() const { return dir_ / "cert.pem"; }
  std::string maildir() const { return dir_ / "maildir"; }
  std::string log() const;
  // Paths of the stored messages, oldest first by name.
  std::vector<std::string> Messages() const;

 private:
  explicit SmtpFixture(const Options& options) : options_(options) {}
  bool Launch(std::string* error);

  const Options options_;
  TempDir dir_;
  int port_ = 0;
  pid_t pid_ = -1;
};

}  // namespace itaku::transports::test_util
