// E-mail over SMTP for the notices of policy 6(3)-(4): the instruction to a
// contractor and the outcome notice to the subscriber who asked.
//
// SendMail() speaks to one server synchronously: EHLO, STARTTLS when the
// server offers it (the certificate is verified; a bad one is an error, never
// a fall-back to plain text), AUTH when a user is configured (over TLS only),
// then MAIL FROM / RCPT TO / DATA. It reports success only when the server
// answered 2xx to the end of DATA, i.e. took responsibility for the message,
// so a caller may mark a request "notified" exactly when SendMail() is ok.
//
// Errors are one line naming the server and the SMTP step, e.g.
//   "SMTP 127.0.0.1:2525: cannot connect: Connection refused"
//   "SMTP mail.example.jp:587: recipient refused (550 5.1.1 mailbox unavailable)"
// They never carry the message's subject, body, the recipient's name or
// address (the recipient's address is blanked out of server replies), nor
// the password. Thread-safe: each call uses its own connection and TLS
// context.
//
// SmtpSession sends many messages over one connection (a run of thousands
// of notices), with the same errors and descriptions, and says of each
// failure whether the server may have taken the message (SmtpFailure).
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "contracts/base/status.h"

namespace itaku::transports {

struct SmtpSettings {
  std::string host;
  int port = 25;
  std::string user;       // empty: no AUTH
  std::string password;   // never logged or printed
  std::string from;       // envelope sender and From: address
  std::string from_name;  // UTF-8 display name, e.g. "夢前ケーブル 個人情報窓口"
  std::string ca_file;    // PEM CA/cert to verify the server's TLS certificate; empty: system CAs
  bool require_tls = false;  // refuse to send if the server offers no STARTTLS
  int timeout_ms = 10000;    // connect, and each reply from the server
};

// Parses "smtp://[user@]host[:port]" (port 25 when absent) and
// "smtp+starttls://..." (the same with require_tls = true). The user may be
// percent-encoded ("desk%40example.jp@mail.example.jp"); an IPv6 host is
// written in brackets. A password in the URL is refused ("SMTP URL must not
// contain a password"): it would end up in shell history and process lists.
// Error messages never repeat the URL.
Result<SmtpSettings> ParseSmtpUrl(const std::string& url);

// One message, all fields UTF-8. `to_name` may be empty.
struct MailMessage {
  std::string to;
  std::string to_name;
  std::string subject;
  std::string body;
};

// Sends `message` as text/plain; charset=UTF-8 (base64), with the subject and
// display names encoded per RFC 2047 and Date and Message-ID headers. On
// success returns a short description for the record, e.g.
// "accepted by 127.0.0.1:2525 (STARTTLS, AUTH): 250 OK" ("no TLS" without
// STARTTLS; ", AUTH" after authentication).
Result<std::string> SendMail(const SmtpSettings& settings, const MailMessage& message);

// Why SmtpSession::Send() did not get a message accepted. Only kUncertain
// leaves it open whether the recipient has the message: a caller keeping
// "exactly once" must not send it again without asking a person.
enum class SmtpFailure {
  kNone,        // the last Send() was accepted
  kInvalid,     // unusable settings or recipient address: nothing was sent,
                // and trying again will not help
  kConnection,  // no usable connection: cannot connect, TLS, greeting, EHLO,
                // AUTH, or the connection broke or timed out before the whole
                // message was sent, or the server answered 421 (closing). The
                // server did not take the message.
  kRefused,     // the server refused this message (4xx/5xx other than 421 to
                // MAIL FROM, RCPT TO, DATA or the end of DATA); the connection
                // stays open for the next message
  kUncertain,   // the connection broke or timed out after the whole message
                // was sent and before the server's verdict: it may have
                // accepted it
};

// One SMTP connection for many messages: the greeting, EHLO, STARTTLS and
// AUTH once, then MAIL FROM / RCPT TO / DATA per message, with RSET before
// the next message after a refused one. Send() connects when there is no
// connection (the first message, or after a failure dropped it). A
// connection the server closed since the previous message (an idle
// timeout, a restart) is found out before the message is complete and
// replaced once within the same Send(): the server had not taken the
// message, so sending it again cannot duplicate it.
//
// Each Send() is what SendMail() is for one message: ok only when the
// server answered 2xx to the end of DATA; the same descriptions and
// one-line errors (status kind network), never carrying the subject, body,
// recipient's name or address, nor the password. last_failure() says what
// the error means for the message. Not thread-safe: one session per thread.
class SmtpSession {
 public:
  explicit SmtpSession(SmtpSettings settings);
  ~SmtpSession();  // Close()
  SmtpSession(const SmtpSession&) = delete;
  SmtpSession& operator=(const SmtpSession&) = delete;

  // Connects and greets (EHLO, STARTTLS, AUTH) unless already connected; a
  // failure is kInvalid or kConnection (last_failure()).
  Status Open();
  Result<std::string> Send(const MailMessage& message);
  // What the last Open() or Send() came to.
  SmtpFailure last_failure() const;
  // QUIT and disconnect; nothing when not connected. Send() may connect again.
  void Close();
  bool connected() const;
  // Connections made so far (each Open() that got as far as the greeting
  // and the dialogue after it).
  int64_t connections() const;

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

// RFC 2047 "B" encoding of a UTF-8 header text, split into encoded words of
// at most 75 characters on character boundaries and folded with CRLF SP.
// ASCII text without specials is returned as is. Exposed for tests.
std::string EncodeHeaderText(const std::string& utf8);

}  // namespace itaku::transports
