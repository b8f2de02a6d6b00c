#include "tests/transports/smtp_fixture.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <thread>

extern char** environ;

namespace itaku::transports::test_util {
namespace {

using transports::test_util::Output;
using transports::test_util::ReadFile;
using transports::test_util::RunCommand;
using transports::test_util::WriteFile;

// Reads one message file with the same library a mail client would use.
constexpr const char* kDecodeScript = R"PY(
import email, email.policy, json, sys
with open(sys.argv[1], 'rb') as f:
    m = email.message_from_binary_file(f, policy=email.policy.default)
to = m['To'].addresses[0]
sender = m['From'].addresses[0]
print(json.dumps({
    'to': to.addr_spec, 'to_name': to.display_name,
    'from': sender.addr_spec, 'from_name': sender.display_name,
    'subject': str(m['Subject']),
    'content_type': m.get_content_type(), 'charset': m.get_content_charset(),
    'transfer_encoding': str(m['Content-Transfer-Encoding']),
    'body': m.get_content(),
    'date': str(m['Date'] or ''), 'message_id': str(m['Message-ID'] or ''),
    'envelope_to': str(m['X-RcptTo'] or ''),
}, ensure_ascii=False))
)PY";

// aiosmtpd with an authenticator; argv: port cert key maildir user password.
constexpr const char* kAuthServerScript = R"PY(
import signal, ssl, sys
from aiosmtpd.controller import Controller
from aiosmtpd.handlers import Mailbox
from aiosmtpd.smtp import AuthResult, LoginPassword
port, cert, key, maildir, user, password = sys.argv[1:7]
def authenticate(server, session, envelope, mechanism, data):
    ok = (isinstance(data, LoginPassword) and data.login == user.encode()
          and data.password == password.encode())
    return AuthResult(success=ok, handled=False)  # handled=False: aiosmtpd answers 535
context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
context.load_cert_chain(cert, key)
controller = Controller(Mailbox(maildir), hostname='127.0.0.1', port=int(port),
                        tls_context=context, require_starttls=True,
                        authenticator=authenticate, auth_require_tls=True)
controller.start()
signal.sigwait([signal.SIGTERM, signal.SIGINT])
controller.stop()
)PY";

}  // namespace

bool MakeSelfSignedCertificate(const std::string& cert, const std::string& key,
                               std::string* error) {
  const std::string command =
      "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2"
      " -subj /CN=localhost -addext subjectAltName=IP:127.0.0.1,DNS:localhost -keyout '" +
      key + "' -out '" + cert + "'";
  if (RunCommand(command) != 0) {
    *error = "openssl req -x509 failed";
    return false;
  }
  return true;
}

std::string DecodeMessage(const std::string& path) {
  TempDir dir;
  const std::string script = dir / "decode.py";
  WriteFile(script, kDecodeScript);
  return Output(std::string(kPython) + " '" + script + "' '" + path + "'");
}

std::unique_ptr<SmtpFixture> SmtpFixture::Start(const Options& options, std::string* error) {
  if (RunCommand(std::string(kPython) + " -c 'import aiosmtpd'") != 0) {
    *error = "aiosmtpd is missing (apt-get install python3-aiosmtpd)";
    return nullptr;
  }
  std::unique_ptr<SmtpFixture> s(new SmtpFixture(options));
  if (!options.auth_user.empty() && options.mode != Mode::kStartTls) {
    *error = "the fixture offers AUTH only in STARTTLS mode";
    return nullptr;
  }
  if (options.mode == Mode::kStartTls &&
      !MakeSelfSignedCertificate(s->cert(), s->dir_ / "key.pem", error)) {
    return nullptr;
  }
  if (!LaunchOnAFreePort(&s->port_, [&] { return s->Launch(error); })) return nullptr;
  return s;
}

bool SmtpFixture::Launch(std::string* error) {
  std::vector<std::string> args;
  if (!options_.auth_user.empty()) {
    WriteFile(dir_ / "auth_server.py", kAuthServerScript);
    args = {kPython,   dir_ / "auth_server.py", std::to_string(port_), cert(), dir_ / "key.pem",
            maildir(), options_.auth_user,      options_.auth_password};
  } else {
    args = {kPython, "-m", "aiosmtpd", "-n", "-l", "127.0.0.1:" + std::to_string(port_)};
    if (options_.mode == Mode::kStartTls) {
      args.insert(args.end(), {"--tlscert", cert(), "--tlskey", dir_ / "key.pem"});
    }
    if (options_.max_size > 0) args.insert(args.end(), {"-s", std::to_string(options_.max_size)});
    args.insert(args.end(), {"-c", "aiosmtpd.handlers.Mailbox", maildir()});
  }
  // Python takes a moment to import; a busy machine, several.
  const pid_t pid = SpawnUntilReady(
      "aiosmtpd", args, dir_ / "aiosmtpd.log", std::chrono::seconds(30),
      [&] { return Accepts(port_); }, error);
  if (pid < 0) {
    *error += ": " + log();
    return false;
  }
  pid_ = pid;
  return true;
}

void SmtpFixture::Stop() {
  if (pid_ < 0) return;
  ::kill(pid_, SIGKILL);
  ::waitpid(pid_, nullptr, 0);
  pid_ = -1;
}

bool SmtpFixture::Restart(std::string* error) {
  Stop();
  // The old socket may linger briefly; retry the bind for a while.
  for (int attempt = 0; attempt < 20; ++attempt) {
    if (Launch(error)) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  return false;
}

SmtpFixture::~SmtpFixture() { Stop(); }

std::string SmtpFixture::log() const { return ReadFile(dir_ / "aiosmtpd.log"); }

std::vector<std::string> SmtpFixture::Messages() const {
  std::vector<std::string> out;
  for (const char* sub : {"new", "cur"}) {
    std::error_code ec;
    for (const auto& e : std::filesystem::directory_iterator(maildir() + "/" + sub, ec)) {
      if (e.is_regular_file()) out.push_back(e.path().string());
    }
  }
  // Maildir names start with the delivery time in seconds.
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace itaku::transports::test_util
