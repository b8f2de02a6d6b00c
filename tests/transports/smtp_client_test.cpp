#include "transports/smtp_client.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <poll.h>

#include <atomic>
#include <functional>
#include <mutex>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "tests/transports/smtp_fixture.h"

namespace itaku::transports {
namespace {

using test_util::SmtpFixture;
using ::testing::HasSubstr;
using ::testing::Not;

const std::string kSubject = "【ご連絡】個人情報の取扱いに関するお申し出への対応結果のお知らせ";
const std::string kBody =
    "山田 太郎 様\n\n"
    "お申し出いただいた件につきまして、委託先に改善を指示いたしました。\n"
    ".\n"  // a lone dot would end DATA early without dot-stuffing
    "以上\n";

constexpr char kDesk[] = "desk@yumesaki-cable.example.jp";

MailMessage JapaneseMessage() {
  return MailMessage{"taro.yamada@example.jp", "山田 太郎", kSubject, kBody};
}

SmtpFixture::Options StartTlsOptions() {
  SmtpFixture::Options o;
  o.mode = SmtpFixture::Mode::kStartTls;
  return o;
}

SmtpFixture::Options AuthOptions(const std::string& user, const std::string& password) {
  SmtpFixture::Options o = StartTlsOptions();
  o.auth_user = user;
  o.auth_password = password;
  return o;
}

SmtpFixture::Options SizeLimitOptions(int max_size) {
  SmtpFixture::Options o;
  o.max_size = max_size;
  return o;
}

class MailTest : public ::testing::Test {
 protected:
  std::unique_ptr<SmtpFixture> StartServer(SmtpFixture::Options options) {
    std::string error;
    auto server = SmtpFixture::Start(options, &error);
    EXPECT_NE(server, nullptr) << error;
    return server;
  }
  SmtpSettings Settings(const SmtpFixture& server) {
    SmtpSettings s;
    s.host = server.host();
    s.port = server.port();
    s.from = "privacy@yumesaki-cable.example.jp";
    s.from_name = "夢前ケーブル 個人情報窓口";
    s.timeout_ms = 5000;
    return s;
  }
  // As the desk's user with `password`, over STARTTLS to the fixture's
  // certificate.
  SmtpSettings AuthSettings(const SmtpFixture& server, const std::string& password) {
    SmtpSettings s = Settings(server);
    s.ca_file = server.cert();
    s.user = kDesk;
    s.password = password;
    return s;
  }
  std::string Server(const SmtpFixture& server) {
    return "SMTP 127.0.0.1:" + std::to_string(server.port());
  }
};

TEST_F(MailTest, PlainServerReceivesJapaneseSubjectAndBodyIntact) {
  auto server = StartServer({});
  ASSERT_NE(server, nullptr);
  auto sent = SendMail(Settings(*server), JapaneseMessage());
  ASSERT_TRUE(sent.ok()) << sent.message() << "\n" << server->log();
  EXPECT_THAT(*sent, HasSubstr("accepted by 127.0.0.1:" + std::to_string(server->port()) +
                               " (no TLS): 250"));

  const auto messages = server->Messages();
  ASSERT_EQ(messages.size(), 1u);
  const std::string decoded = test_util::DecodeMessage(messages[0]);
  ASSERT_FALSE(decoded.empty()) << transports::test_util::ReadFile(messages[0]);
  const auto m = nlohmann::json::parse(decoded);
  EXPECT_EQ(m["envelope_to"], "taro.yamada@example.jp");
  EXPECT_EQ(m["to"], "taro.yamada@example.jp");
  EXPECT_EQ(m["to_name"], "山田 太郎");
  EXPECT_EQ(m["from"], "privacy@yumesaki-cable.example.jp");
  EXPECT_EQ(m["from_name"], "夢前ケーブル 個人情報窓口");
  EXPECT_EQ(m["subject"], kSubject);
  EXPECT_EQ(m["content_type"], "text/plain");
  EXPECT_EQ(m["charset"], "utf-8");
  EXPECT_EQ(m["transfer_encoding"], "base64");
  EXPECT_THAT(m["body"].get<std::string>(),
              HasSubstr("委託先に改善を指示いたしました。\r\n.\r\n以上"));
  EXPECT_NE(m["date"], "");
  EXPECT_THAT(m["message_id"].get<std::string>(), HasSubstr("@yumesaki-cable.example.jp>"));
}

TEST_F(MailTest, SubjectIsAsciiOnTheWireInEncodedWordsOfAtMost75Characters) {
  auto server = StartServer({});
  ASSERT_NE(server, nullptr);
  ASSERT_TRUE(SendMail(Settings(*server), JapaneseMessage()).ok());
  ASSERT_EQ(server->Messages().size(), 1u);
  const std::string raw = transports::test_util::ReadFile(server->Messages()[0]);
  const size_t headers_end = raw.find("\n\n");
  ASSERT_NE(headers_end, std::string::npos);
  for (size_t i = 0; i < headers_end; ++i) {
    ASSERT_LT(static_cast<unsigned char>(raw[i]), 0x80) << "8-bit header byte at " << i;
  }
  EXPECT_THAT(raw, HasSubstr("Subject: =?UTF-8?B?"));
  for (size_t at = raw.find("=?UTF-8?B?"); at < headers_end; at = raw.find("=?UTF-8?B?", at + 1)) {
    EXPECT_LE(raw.find("?=", at + 10) + 2 - at, 75u);
  }
}

TEST_F(MailTest, StartTlsServerVerifiedAgainstItsCertificate) {
  auto server = StartServer(StartTlsOptions());
  ASSERT_NE(server, nullptr);
  SmtpSettings settings = Settings(*server);
  settings.ca_file = server->cert();
  settings.require_tls = true;
  auto sent = SendMail(settings, JapaneseMessage());
  ASSERT_TRUE(sent.ok()) << sent.message() << "\n" << server->log();
  EXPECT_THAT(*sent,
              HasSubstr("accepted by 127.0.0.1:" + std::to_string(server->port()) + " (STARTTLS)"));
  ASSERT_EQ(server->Messages().size(), 1u);
  const auto m = nlohmann::json::parse(test_util::DecodeMessage(server->Messages()[0]));
  EXPECT_EQ(m["subject"], kSubject);
}

TEST_F(MailTest, RequireTlsAgainstPlainServerSendsNothing) {
  auto server = StartServer({});
  ASSERT_NE(server, nullptr);
  SmtpSettings settings = Settings(*server);
  settings.require_tls = true;
  auto sent = SendMail(settings, JapaneseMessage());
  ASSERT_FALSE(sent.ok());
  EXPECT_EQ(sent.message(),
            Server(*server) + ": server offers no STARTTLS and TLS is required; nothing sent");
  EXPECT_TRUE(server->Messages().empty());
}

TEST_F(MailTest, WrongCaFileIsAnErrorNeverAFallbackToPlain) {
  auto server = StartServer(StartTlsOptions());
  ASSERT_NE(server, nullptr);
  test_util::TempDir other;
  std::string error;
  ASSERT_TRUE(test_util::MakeSelfSignedCertificate(other / "cert.pem", other / "key.pem", &error))
      << error;
  SmtpSettings settings = Settings(*server);
  settings.ca_file = other / "cert.pem";  // require_tls stays false
  auto sent = SendMail(settings, JapaneseMessage());
  ASSERT_FALSE(sent.ok());
  EXPECT_THAT(sent.message(), HasSubstr(Server(*server) + ": TLS handshake failed: "));
  EXPECT_THAT(sent.message(), HasSubstr("certificate verify failed"));
  EXPECT_TRUE(server->Messages().empty());
}

TEST_F(MailTest, SystemCaStoreDoesNotTrustASelfSignedServer) {
  auto server = StartServer(StartTlsOptions());
  ASSERT_NE(server, nullptr);
  auto sent = SendMail(Settings(*server), JapaneseMessage());  // ca_file empty
  ASSERT_FALSE(sent.ok());
  EXPECT_THAT(sent.message(), HasSubstr(": TLS handshake failed: "));
  EXPECT_TRUE(server->Messages().empty());
}

TEST_F(MailTest, MissingCaFileIsNamed) {
  auto server = StartServer(StartTlsOptions());
  ASSERT_NE(server, nullptr);
  SmtpSettings settings = Settings(*server);
  settings.ca_file = "/nonexistent/itaku-ca.pem";
  auto sent = SendMail(settings, JapaneseMessage());
  ASSERT_FALSE(sent.ok());
  EXPECT_THAT(sent.message(), HasSubstr(Server(*server) +
                                        ": TLS set-up failed (CA file /nonexistent/itaku-ca.pem)"));
  EXPECT_TRUE(server->Messages().empty());
}

TEST_F(MailTest, PasswordIsNeverSentWithoutTls) {
  auto server = StartServer({});
  ASSERT_NE(server, nullptr);
  SmtpSettings settings = Settings(*server);
  settings.user = "desk";
  settings.password = "s3cret-pass";
  auto sent = SendMail(settings, JapaneseMessage());
  ASSERT_FALSE(sent.ok());
  EXPECT_EQ(
      sent.message(),
      Server(*server) + ": refusing to send the password without TLS (server offers no STARTTLS)");
  EXPECT_THAT(sent.message(), Not(HasSubstr("s3cret-pass")));
  EXPECT_TRUE(server->Messages().empty());
}

TEST_F(MailTest, AuthenticatesOverStartTls) {
  auto server = StartServer(AuthOptions(kDesk, "correct horse"));
  ASSERT_NE(server, nullptr);
  auto sent = SendMail(AuthSettings(*server, "correct horse"), JapaneseMessage());
  ASSERT_TRUE(sent.ok()) << sent.message() << "\n" << server->log();
  EXPECT_THAT(*sent, HasSubstr(" (STARTTLS, AUTH): 250"));
  EXPECT_EQ(server->Messages().size(), 1u);
}

TEST_F(MailTest, WrongPasswordIsRefusedAndNotRepeated) {
  auto server = StartServer(AuthOptions(kDesk, "correct horse"));
  ASSERT_NE(server, nullptr);
  auto sent = SendMail(AuthSettings(*server, "wrong horse"), JapaneseMessage());
  ASSERT_FALSE(sent.ok());
  EXPECT_EQ(
      sent.message(),
      Server(*server) + ": authentication failed (535 5.7.8 Authentication credentials invalid)");
  EXPECT_TRUE(server->Messages().empty());
}

TEST_F(MailTest, ServerDownIsAClearError) {
  const int port = test_util::FreePort();
  ASSERT_NE(port, 0);
  SmtpSettings settings;
  settings.host = "127.0.0.1";
  settings.port = port;
  settings.from = "privacy@yumesaki-cable.example.jp";
  auto sent = SendMail(settings, JapaneseMessage());
  ASSERT_FALSE(sent.ok());
  EXPECT_EQ(sent.message(),
            "SMTP 127.0.0.1:" + std::to_string(port) + ": cannot connect: Connection refused");
}

TEST_F(MailTest, FailedSendSucceedsOnRetryAfterServerRestart) {
  auto server = StartServer({});
  ASSERT_NE(server, nullptr);
  server->Stop();
  auto first = SendMail(Settings(*server), JapaneseMessage());
  ASSERT_FALSE(first.ok());
  EXPECT_EQ(first.message(), Server(*server) + ": cannot connect: Connection refused");
  std::string error;
  ASSERT_TRUE(server->Restart(&error)) << error;
  auto retry = SendMail(Settings(*server), JapaneseMessage());
  ASSERT_TRUE(retry.ok()) << retry.message();
  EXPECT_EQ(server->Messages().size(), 1u);
}

TEST_F(MailTest, ServerThatNeverGreetsTimesOut) {
  // A listening socket that is never accepted: the connection completes in
  // the kernel's backlog, and no greeting ever comes.
  test_util::SilentListener silent;
  ASSERT_NE(silent.port(), 0);
  SmtpSettings settings;
  settings.host = "127.0.0.1";
  settings.port = silent.port();
  settings.from = "privacy@yumesaki-cable.example.jp";
  settings.timeout_ms = 300;
  auto sent = SendMail(settings, JapaneseMessage());
  ASSERT_FALSE(sent.ok());
  EXPECT_EQ(sent.message(), "SMTP 127.0.0.1:" + std::to_string(settings.port) +
                                ": greeting: no reply within 300 ms");
}

TEST_F(MailTest, MessageRefusedAtEndOfDataNamesTheStepButNoPersonalData) {
  auto server = StartServer(SizeLimitOptions(200));
  ASSERT_NE(server, nullptr);
  auto sent = SendMail(Settings(*server), JapaneseMessage());
  ASSERT_FALSE(sent.ok());
  EXPECT_THAT(sent.message(), HasSubstr(Server(*server) + ": message refused (552 "));
  EXPECT_THAT(sent.message(), Not(HasSubstr("yamada")));
  EXPECT_THAT(sent.message(), Not(HasSubstr("山田")));
  EXPECT_TRUE(server->Messages().empty());
}

TEST_F(MailTest, HeaderInjectionThroughTheRecipientIsRefused) {
  SmtpSettings settings;
  settings.host = "127.0.0.1";
  settings.from = "privacy@yumesaki-cable.example.jp";
  MailMessage message = JapaneseMessage();
  message.to = "taro@example.jp>\r\nBcc: <all@example.jp";
  auto sent = SendMail(settings, message);
  ASSERT_FALSE(sent.ok());
  EXPECT_EQ(sent.message(), "SMTP 127.0.0.1:25: invalid recipient address");
}

// ---- SmtpSession: many messages over one connection ------------------------

MailMessage NumberedMessage(int i) {
  return MailMessage{"person" + std::to_string(i) + "@example.jp", "加入者 " + std::to_string(i),
                     kSubject, kBody};
}

TEST_F(MailTest, SessionSendsManyMessagesOverOneConnection) {
  auto server = StartServer({});
  ASSERT_NE(server, nullptr);
  SmtpSession session(Settings(*server));
  constexpr int kMessages = 30;
  for (int i = 0; i < kMessages; ++i) {
    auto sent = session.Send(NumberedMessage(i));
    ASSERT_TRUE(sent.ok()) << i << ": " << sent.message() << "\n" << server->log();
    EXPECT_THAT(*sent, HasSubstr("accepted by 127.0.0.1:" + std::to_string(server->port()) +
                                 " (no TLS): 250"));
    EXPECT_EQ(session.last_failure(), SmtpFailure::kNone);
  }
  EXPECT_EQ(session.connections(), 1);
  EXPECT_TRUE(session.connected());
  session.Close();
  EXPECT_FALSE(session.connected());

  const auto messages = server->Messages();
  ASSERT_EQ(messages.size(), static_cast<size_t>(kMessages));
  std::multiset<std::string> recipients;
  for (const auto& path : messages) {
    const auto m = nlohmann::json::parse(test_util::DecodeMessage(path));
    recipients.insert(m["envelope_to"].get<std::string>());
    EXPECT_EQ(m["subject"], kSubject);
    EXPECT_EQ(m["to_name"].get<std::string>().rfind("加入者 ", 0), 0u);
  }
  for (int i = 0; i < kMessages; ++i) {
    EXPECT_EQ(recipients.count(NumberedMessage(i).to), 1u) << i;
  }
}

TEST_F(MailTest, SessionOverStartTlsAuthenticatesOnce) {
  auto server = StartServer(AuthOptions(kDesk, "correct horse"));
  ASSERT_NE(server, nullptr);
  SmtpSession session(AuthSettings(*server, "correct horse"));
  for (int i = 0; i < 3; ++i) {
    auto sent = session.Send(NumberedMessage(i));
    ASSERT_TRUE(sent.ok()) << sent.message() << "\n" << server->log();
    EXPECT_THAT(*sent, HasSubstr(" (STARTTLS, AUTH): 250"));
  }
  EXPECT_EQ(session.connections(), 1);
  EXPECT_EQ(server->Messages().size(), 3u);
}

TEST_F(MailTest, SessionReconnectsWhenTheServerRestartedBetweenMessages) {
  auto server = StartServer({});
  ASSERT_NE(server, nullptr);
  SmtpSession session(Settings(*server));
  ASSERT_TRUE(session.Send(NumberedMessage(1)).ok());
  std::string error;
  ASSERT_TRUE(server->Restart(&error)) << error;
  // The kept connection is dead; the message goes over a fresh one, once.
  auto sent = session.Send(NumberedMessage(2));
  ASSERT_TRUE(sent.ok()) << sent.message();
  EXPECT_EQ(session.last_failure(), SmtpFailure::kNone);
  EXPECT_EQ(session.connections(), 2);
  EXPECT_EQ(server->Messages().size(), 2u);
}

TEST_F(MailTest, SessionWithTheServerDownFailsOnConnectionAndRecoversWhenItIsBack) {
  auto server = StartServer({});
  ASSERT_NE(server, nullptr);
  SmtpSession session(Settings(*server));
  ASSERT_TRUE(session.Send(NumberedMessage(1)).ok());
  server->Stop();
  for (int i = 2; i <= 3; ++i) {
    auto sent = session.Send(NumberedMessage(i));
    ASSERT_FALSE(sent.ok());
    EXPECT_EQ(sent.message(), Server(*server) + ": cannot connect: Connection refused");
    EXPECT_EQ(sent.kind(), ErrorKind::kNetwork);
    EXPECT_EQ(session.last_failure(), SmtpFailure::kConnection);
    EXPECT_FALSE(session.connected());
  }
  std::string error;
  ASSERT_TRUE(server->Restart(&error)) << error;
  auto sent = session.Send(NumberedMessage(4));
  ASSERT_TRUE(sent.ok()) << sent.message();
  EXPECT_EQ(server->Messages().size(), 2u);
}

TEST_F(MailTest, SessionMessageRefusedAtEndOfDataKeepsTheConnectionForTheNext) {
  auto server = StartServer(SizeLimitOptions(4000));
  ASSERT_NE(server, nullptr);
  SmtpSession session(Settings(*server));
  MailMessage large = NumberedMessage(1);
  large.body = std::string(6000, 'x');
  auto refused = session.Send(large);
  ASSERT_FALSE(refused.ok());
  EXPECT_THAT(refused.message(), HasSubstr(Server(*server) + ": message refused (552 "));
  EXPECT_EQ(session.last_failure(), SmtpFailure::kRefused);
  EXPECT_TRUE(session.connected());
  auto sent = session.Send(NumberedMessage(2));
  ASSERT_TRUE(sent.ok()) << sent.message() << "\n" << server->log();
  EXPECT_EQ(session.connections(), 1);
  EXPECT_EQ(server->Messages().size(), 1u);
}

TEST_F(MailTest, SessionInvalidRecipientConnectsNowhere) {
  SmtpSettings settings;
  settings.host = "127.0.0.1";
  settings.port = test_util::FreePort();
  settings.from = "privacy@yumesaki-cable.example.jp";
  SmtpSession session(settings);
  MailMessage message = JapaneseMessage();
  message.to = "taro@example.jp>\r\nBcc: <all@example.jp";
  auto sent = session.Send(message);
  ASSERT_FALSE(sent.ok());
  EXPECT_EQ(sent.message(),
            "SMTP 127.0.0.1:" + std::to_string(settings.port) + ": invalid recipient address");
  EXPECT_EQ(session.last_failure(), SmtpFailure::kInvalid);
  EXPECT_EQ(session.connections(), 0);
}

// A scripted SMTP peer on loopback, for what a real server does not do on
// demand: refuse one recipient, close mid-session with 421, or never give
// its verdict on a message. Connections are served one at a time; every
// command line is logged as "N: LINE" (N counting connections from 1), the
// end of a message's data as "N: <data>". `script(connection, line)` gives
// the reply ("250 OK"), "" for no reply ever, or "close" to hang up.
class ScriptedPeer {
 public:
  using Script = std::function<std::string(int connection, const std::string& line)>;
  explicit ScriptedPeer(Script script) : script_(std::move(script)) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    port_ = test_util::BindLoopback(fd_);
    if (port_ != 0 && ::listen(fd_, 4) != 0) port_ = 0;
    if (port_ != 0) thread_ = std::thread([this] { Serve(); });
  }
  ~ScriptedPeer() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
    ::close(fd_);
  }
  ScriptedPeer(const ScriptedPeer&) = delete;
  ScriptedPeer& operator=(const ScriptedPeer&) = delete;

  int port() const { return port_; }
  std::vector<std::string> log() const {
    std::lock_guard<std::mutex> lock(mu_);
    return log_;
  }

 private:
  // Waits for `fd` to be readable, checking stop_ every 50 ms.
  bool Readable(int fd) {
    while (!stop_) {
      pollfd p{fd, POLLIN, 0};
      if (::poll(&p, 1, 50) > 0) return true;
    }
    return false;
  }
  // One line without its CRLF; false when the peer went away.
  bool ReadLine(int fd, std::string* buffer, std::string* line) {
    for (;;) {
      const size_t end = buffer->find("\r\n");
      if (end != std::string::npos) {
        *line = buffer->substr(0, end);
        buffer->erase(0, end + 2);
        return true;
      }
      if (!Readable(fd)) return false;
      char chunk[4096];
      const ssize_t n = ::recv(fd, chunk, sizeof chunk, 0);
      if (n <= 0) return false;
      buffer->append(chunk, static_cast<size_t>(n));
    }
  }
  void Record(int connection, const std::string& line) {
    std::lock_guard<std::mutex> lock(mu_);
    log_.push_back(std::to_string(connection) + ": " + line);
  }
  // Sends the script's reply; false to end the connection.
  bool Reply(int fd, const std::string& reply) {
    if (reply == "close") return false;
    if (reply.empty()) {  // silence: wait until the client gives up
      std::string ignored, line;
      while (ReadLine(fd, &ignored, &line)) {
      }
      return false;
    }
    const std::string out = reply + "\r\n";
    return ::send(fd, out.data(), out.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(out.size());
  }
  void Converse(int fd, int connection) {
    if (!Reply(fd, "220 scripted ESMTP")) return;
    std::string buffer, line;
    while (ReadLine(fd, &buffer, &line)) {
      Record(connection, line);
      std::string reply = script_(connection, line);
      if (line.rfind("EHLO", 0) == 0 && reply.empty()) reply = "250 scripted";
      if (line == "QUIT") {
        Reply(fd, "221 bye");
        return;
      }
      if (!Reply(fd, reply)) return;
      if (line == "DATA" && reply.rfind("354", 0) == 0) {
        while (ReadLine(fd, &buffer, &line) && line != ".") {
        }
        Record(connection, "<data>");
        if (!Reply(fd, script_(connection, "<data>"))) return;
      }
    }
  }
  void Serve() {
    int connection = 0;
    while (Readable(fd_)) {
      const int client = ::accept(fd_, nullptr, nullptr);
      if (client < 0) continue;
      Converse(client, ++connection);
      ::close(client);
    }
  }

  Script script_;
  int fd_ = -1;
  int port_ = 0;
  std::atomic<bool> stop_{false};
  std::thread thread_;
  mutable std::mutex mu_;
  std::vector<std::string> log_;
};

// "250 OK" to everything (QUIT and a silent EHLO are the peer's own).
std::string Accept(const std::string& line) {
  if (line == "DATA") return "354 go ahead";
  return "250 OK";
}

SmtpSettings ScriptedSettings(const ScriptedPeer& peer, int timeout_ms = 5000) {
  SmtpSettings s;
  s.host = "127.0.0.1";
  s.port = peer.port();
  s.from = "privacy@yumesaki-cable.example.jp";
  s.timeout_ms = timeout_ms;
  return s;
}

TEST(SmtpSessionScriptedTest, RefusedRecipientIsResetBeforeTheNextMessage) {
  ScriptedPeer peer([](int, const std::string& line) -> std::string {
    if (line.find("RCPT TO:") == 0 && line.find("person1@") != std::string::npos) {
      return "550 5.1.1 <person1@example.jp>: no such user";
    }
    return Accept(line);
  });
  ASSERT_NE(peer.port(), 0);
  SmtpSession session(ScriptedSettings(peer));
  auto refused = session.Send(NumberedMessage(1));
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.message(), "SMTP 127.0.0.1:" + std::to_string(peer.port()) +
                                   ": recipient refused (550 5.1.1 <<recipient>>: no such user)");
  EXPECT_EQ(session.last_failure(), SmtpFailure::kRefused);
  auto sent = session.Send(NumberedMessage(2));
  ASSERT_TRUE(sent.ok()) << sent.message();
  session.Close();
  const auto log = peer.log();
  std::vector<std::string> commands;
  for (const auto& l : log) commands.push_back(l.substr(0, l.find(' ', 3)));  // "1: MAIL"
  EXPECT_THAT(commands,
              ::testing::ElementsAre("1: EHLO", "1: MAIL", "1: RCPT", "1: RSET", "1: MAIL",
                                     "1: RCPT", "1: DATA", "1: <data>", "1: QUIT"))
      << ::testing::PrintToString(log);
}

TEST(SmtpSessionScriptedTest, NoVerdictAfterTheWholeMessageIsUncertain) {
  ScriptedPeer peer([](int, const std::string& line) -> std::string {
    if (line == "<data>") return "";  // took it all, says nothing
    return Accept(line);
  });
  ASSERT_NE(peer.port(), 0);
  SmtpSession session(ScriptedSettings(peer, 300));
  auto sent = session.Send(NumberedMessage(1));
  ASSERT_FALSE(sent.ok());
  EXPECT_EQ(sent.message(), "SMTP 127.0.0.1:" + std::to_string(peer.port()) +
                                ": end of DATA: no reply within 300 ms");
  EXPECT_EQ(session.last_failure(), SmtpFailure::kUncertain);
  EXPECT_FALSE(session.connected());
  // Not sent again behind the caller's back.
  int data = 0;
  for (const auto& l : peer.log()) data += l.find("<data>") != std::string::npos;
  EXPECT_EQ(data, 1);
}

TEST(SmtpSessionScriptedTest, ClosingAtMailFromOnAKeptConnectionIsRetriedOnAFreshOne) {
  std::atomic<int> mail_from{0};
  ScriptedPeer peer([&](int connection, const std::string& line) -> std::string {
    if (connection == 1 && line.rfind("MAIL FROM:", 0) == 0 && ++mail_from == 2) {
      return "421 4.3.2 service shutting down";
    }
    return Accept(line);
  });
  ASSERT_NE(peer.port(), 0);
  SmtpSession session(ScriptedSettings(peer));
  ASSERT_TRUE(session.Send(NumberedMessage(1)).ok());
  auto sent = session.Send(NumberedMessage(2));
  ASSERT_TRUE(sent.ok()) << sent.message();
  EXPECT_EQ(session.connections(), 2);
  std::vector<std::string> data;
  for (const auto& l : peer.log()) {
    if (l.find("<data>") != std::string::npos) data.push_back(l);
  }
  EXPECT_THAT(data, ::testing::ElementsAre("1: <data>", "2: <data>"));
}

TEST(SmtpSessionScriptedTest, ClosingOnAFreshConnectionIsAConnectionFailure) {
  ScriptedPeer peer([](int, const std::string& line) -> std::string {
    if (line.rfind("MAIL FROM:", 0) == 0) return "421 4.3.2 service shutting down";
    return Accept(line);
  });
  ASSERT_NE(peer.port(), 0);
  SmtpSession session(ScriptedSettings(peer));
  auto sent = session.Send(NumberedMessage(1));
  ASSERT_FALSE(sent.ok());
  EXPECT_EQ(sent.message(), "SMTP 127.0.0.1:" + std::to_string(peer.port()) +
                                ": sender refused (421 4.3.2 service shutting down)");
  EXPECT_EQ(session.last_failure(), SmtpFailure::kConnection);
  EXPECT_FALSE(session.connected());
  EXPECT_EQ(session.connections(), 1);
}

TEST(MailHeaderEncodingTest, SplitsOnCharacterBoundaries) {
  EXPECT_EQ(EncodeHeaderText("Notice 42"), "Notice 42");
  EXPECT_EQ(EncodeHeaderText("個人"), "=?UTF-8?B?5YCL5Lq6?=");
  // 16 three-byte characters: 45 bytes fit the first word, 3 the second.
  const std::string text = "あいうえおかきくけこさしすせそた";
  EXPECT_EQ(EncodeHeaderText(text).find("\r\n "),
            std::string("=?UTF-8?B?").size() + 60 + std::string("?=").size());
}

TEST(MailParseSmtpUrlTest, HostAndDefaultPort) {
  auto s = ParseSmtpUrl("smtp://mail.example.jp");
  ASSERT_TRUE(s.ok()) << s.message();
  EXPECT_EQ(s->host, "mail.example.jp");
  EXPECT_EQ(s->port, 25);
  EXPECT_EQ(s->user, "");
  EXPECT_FALSE(s->require_tls);
}

TEST(MailParseSmtpUrlTest, UserHostPortAndStartTls) {
  auto s = ParseSmtpUrl("smtp+starttls://desk%40yumesaki.example.jp@mail.example.jp:587/");
  ASSERT_TRUE(s.ok()) << s.message();
  EXPECT_EQ(s->user, "desk@yumesaki.example.jp");
  EXPECT_EQ(s->host, "mail.example.jp");
  EXPECT_EQ(s->port, 587);
  EXPECT_TRUE(s->require_tls);
}

TEST(MailParseSmtpUrlTest, BracketedIpv6) {
  auto s = ParseSmtpUrl("smtp://[::1]:2525");
  ASSERT_TRUE(s.ok()) << s.message();
  EXPECT_EQ(s->host, "::1");
  EXPECT_EQ(s->port, 2525);
}

TEST(MailParseSmtpUrlTest, PasswordIsRefusedAndNotRepeated) {
  auto s = ParseSmtpUrl("smtp://desk:hunter2@mail.example.jp:587");
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.message(), "SMTP URL must not contain a password");
}

TEST(MailParseSmtpUrlTest, MalformedUrls) {
  // {URL, what is wrong with it}
  const std::vector<std::pair<std::string, std::string>> refusals = {
      {"smtps://mail.example.jp", "unknown scheme"},
      {"smtp://", "no host"},
      {"smtp://mail.example.jp:0", "port out of range"},
      {"smtp://mail.example.jp:70000", "port out of range"},
      {"smtp://mail.example.jp:25x", "port is not a number"},
      {"smtp://mail.example.jp:", "empty port"},
      {"smtp://mail.example.jp/inbox", "no path or query allowed"},
  };
  for (const auto& [url, why] : refusals) {
    EXPECT_EQ(ParseSmtpUrl(url).message(),
              "invalid SMTP URL: " + why + " (expected smtp://[user@]host[:port])");
  }
}

}  // namespace
}  // namespace itaku::transports
