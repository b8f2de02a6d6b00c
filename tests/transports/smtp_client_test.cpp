#include "transports/smtp_client.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>
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
