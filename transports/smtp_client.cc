#include "transports/smtp_client.h"

#include <Poco/Base64Encoder.h>
#include <Poco/Environment.h>
#include <Poco/Exception.h>
#include <Poco/Net/Context.h>
#include <Poco/Net/IPAddress.h>
#include <Poco/Net/MailMessage.h>
#include <Poco/Net/MailStream.h>
#include <Poco/Net/NetException.h>
#include <Poco/Net/SMTPClientSession.h>
#include <Poco/Net/SSLException.h>
#include <Poco/Net/SecureStreamSocket.h>
#include <Poco/Net/SocketAddress.h>
#include <Poco/Net/StreamSocket.h>
#include <Poco/Timespan.h>
#include <Poco/Timestamp.h>
#include <Poco/UUIDGenerator.h>
#include <openssl/ssl.h>
#include <openssl/x509_vfy.h>
#include <openssl/x509v3.h>

#include <algorithm>
#include <cctype>
#include <exception>
#include <memory>
#include <sstream>
#include <string_view>
#include <vector>

namespace itaku::transports {
namespace {

// Longest server reply quoted in an error or a description.
constexpr size_t kMaxReplyQuote = 200;

bool IsAsciiDigits(std::string_view s) {
  return !s.empty() &&
         std::all_of(s.begin(), s.end(), [](unsigned char c) { return std::isdigit(c) != 0; });
}

std::string Lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

// "%40" -> "@"; false on a malformed escape.
bool PercentDecode(std::string_view in, std::string* out) {
  out->clear();
  for (size_t i = 0; i < in.size(); ++i) {
    if (in[i] != '%') {
      out->push_back(in[i]);
      continue;
    }
    if (i + 2 >= in.size() || !std::isxdigit(static_cast<unsigned char>(in[i + 1])) ||
        !std::isxdigit(static_cast<unsigned char>(in[i + 2]))) {
      return false;
    }
    out->push_back(static_cast<char>(std::stoi(std::string(in.substr(i + 1, 2)), nullptr, 16)));
    i += 2;
  }
  return true;
}

// An address we are willing to put into an SMTP command and a header: one
// '@', no spaces, controls, brackets or quotes (which could inject commands
// or headers).
bool PlausibleAddress(const std::string& a) {
  if (a.empty() || a.size() > 254) return false;
  const size_t at = a.find('@');
  if (at == std::string::npos || at == 0 || at + 1 == a.size() || a.find('@', at + 1) != a.npos) {
    return false;
  }
  return std::none_of(a.begin(), a.end(), [](unsigned char c) {
    return c <= 0x20 || c == 0x7f || c == '<' || c == '>' || c == '"' || c == '(' || c == ')' ||
           c == ',' || c == ';' || c == ':' || c == '\\' || c == '[' || c == ']';
  });
}

std::string Base64(std::string_view bytes) {
  std::ostringstream out;
  Poco::Base64Encoder encoder(out);
  encoder.rdbuf()->setLineLength(0);
  encoder.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  encoder.close();
  return out.str();
}

// Length of the UTF-8 sequence that starts with `lead` (1 for stray bytes,
// so that invalid input still advances).
size_t Utf8SequenceLength(unsigned char lead) {
  if (lead >= 0xf0 && lead <= 0xf7) return 4;
  if (lead >= 0xe0) return lead <= 0xef ? 3 : 1;
  if (lead >= 0xc0) return 2;
  return 1;
}

// "250-SIZE 1000\n250 STARTTLS" -> does any line announce `keyword`?
// Returns the rest of that line (e.g. the AUTH mechanisms) through *args.
bool Announces(const std::string& ehlo_reply, const std::string& keyword, std::string* args) {
  std::istringstream lines(ehlo_reply);
  std::string line;
  while (std::getline(lines, line)) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.size() < 4) continue;
    std::string ext = line.substr(4);
    const size_t space = ext.find(' ');
    if (Lower(ext.substr(0, space)) != Lower(keyword)) continue;
    if (args != nullptr) args->assign(space == std::string::npos ? "" : ext.substr(space + 1));
    return true;
  }
  return false;
}

bool HasWord(const std::string& words, const std::string& word) {
  std::istringstream in(Lower(words));
  std::string w;
  while (in >> w) {
    if (w == Lower(word)) return true;
  }
  return false;
}

// An SMTP session over a socket connected by us (with a connect timeout) that
// can switch to TLS: Poco's SecureSMTPClientSession can only for sessions it
// connected itself, without a timeout. Also exposes the protected helpers.
class Session : public Poco::Net::SMTPClientSession {
 public:
  explicit Session(const Poco::Net::StreamSocket& socket) : SMTPClientSession(socket) {}
  using SMTPClientSession::isPositiveCompletion;
  using SMTPClientSession::isPositiveIntermediate;

  void StartTls(const std::string& host, Poco::Net::Context::Ptr context) {
    Poco::Net::SecureStreamSocket tls =
        Poco::Net::SecureStreamSocket::attach(socket(), host, std::move(context));
    socket() = tls;
  }
  // Writes the message with dot-stuffing and the final "." (the verdict is
  // read by ReadVerdict: a failure in between is the one that leaves it
  // open whether the server took the message).
  // The message goes out in one piece: written in small pieces, Nagle's
  // algorithm holds the last one back until the server acknowledges the
  // previous, which it delays (40 ms a message on Linux).
  void WriteData(const Poco::Net::MailMessage& message) {
    std::ostringstream data;
    Poco::Net::MailOutputStream mail_stream(data);
    message.write(mail_stream);
    mail_stream.close();
    const std::string bytes = data.str();
    for (size_t sent = 0; sent < bytes.size();) {
      const int n = socket().sendBytes(bytes.data() + sent, static_cast<int>(bytes.size() - sent));
      if (n <= 0) throw Poco::IOException("cannot write the message");
      sent += static_cast<size_t>(n);
    }
  }
  int ReadVerdict(std::string* reply) { return socket().receiveStatusMessage(*reply); }
  // Drops the connection without QUIT, for when the dialogue is out of step.
  void Abort() { socket().close(); }
  void SetTimeouts(const Poco::Timespan& timeout) {
    setTimeout(timeout);
    socket().setSendTimeout(timeout);
  }
};

std::string FormatServer(const std::string& host, int port) {
  const bool v6 = host.find(':') != std::string::npos;
  return (v6 ? "[" + host + "]" : host) + ":" + std::to_string(port);
}

// The first line of a reply, without the recipient's address `to`,
// shortened.
std::string QuoteReply(const std::string& reply, const std::string& to) {
  std::string line = reply.substr(0, reply.find('\n'));
  if (!line.empty() && line.back() == '\r') line.pop_back();
  if (!to.empty()) {
    const std::string lower_to = Lower(to);
    for (size_t at = Lower(line).find(lower_to); at != std::string::npos;
         at = Lower(line).find(lower_to, at + 11)) {
      line.replace(at, to.size(), "<recipient>");
    }
  }
  for (char& c : line) {
    if (static_cast<unsigned char>(c) < 0x20) c = ' ';
  }
  if (line.size() > kMaxReplyQuote) line = line.substr(0, kMaxReplyQuote) + "...";
  return line;
}

void BuildMime(const SmtpSettings& settings, const MailMessage& message,
               Poco::Net::MailMessage* out) {
  Poco::Net::MailMessage& mime = *out;
  const std::string from_name = EncodeHeaderText(settings.from_name);
  mime.setSender(from_name.empty() ? settings.from : from_name + " <" + settings.from + ">");
  // The To: header is written here rather than through addRecipient(), which
  // would put the encoded name in quotes where readers do not decode it.
  const std::string to_name = EncodeHeaderText(message.to_name);
  mime.set(Poco::Net::MailMessage::HEADER_TO,
           to_name.empty() ? message.to : to_name + " <" + message.to + ">");
  mime.setSubject(EncodeHeaderText(message.subject));
  mime.setDate(Poco::Timestamp());
  const std::string domain = settings.from.substr(settings.from.find('@') + 1);
  mime.set("Message-ID", "<" + Poco::UUIDGenerator::defaultGenerator().createRandom().toString() +
                             "@" + domain + ">");
  mime.set(Poco::Net::MailMessage::HEADER_MIME_VERSION, "1.0");
  mime.setContentType("text/plain; charset=UTF-8");
  // Text is CRLF-delimited on the wire (RFC 2046 4.1.1), also inside base64.
  std::string body;
  body.reserve(message.body.size() + message.body.size() / 32);
  for (size_t i = 0; i < message.body.size(); ++i) {
    const char c = message.body[i];
    if (c == '\n' && (i == 0 || message.body[i - 1] != '\r')) body.push_back('\r');
    body.push_back(c);
  }
  mime.setContent(body, Poco::Net::MailMessage::ENCODING_BASE64);
}

// 421: the server is closing the connection (RFC 5321 3.8), whatever the
// command; the message was not taken.
constexpr int kClosing = 421;

}  // namespace

// The connection and its dialogue; every failure becomes a one-line Status
// naming the server and the step, and a SmtpFailure.
class SmtpSession::Impl {
 public:
  explicit Impl(SmtpSettings settings)
      : settings_(std::move(settings)),
        server_(FormatServer(settings_.host, settings_.port)),
        timeout_(static_cast<Poco::Timespan::TimeDiff>(settings_.timeout_ms) * 1000) {}
  ~Impl() { Close(); }

  Status Open() {
    if (session_ != nullptr) {
      failure_ = SmtpFailure::kNone;
      return Status::Ok();
    }
    if (auto checked = CheckSettings(); !checked.ok()) return checked.status();
    return Connect().status();
  }

  Result<std::string> Send(const MailMessage& message) {
    if (auto checked = CheckSettings(); !checked.ok()) return checked;
    if (!PlausibleAddress(message.to)) {
      return Fail(SmtpFailure::kInvalid, "invalid recipient address");
    }
    const bool reused = session_ != nullptr;
    if (!reused) {
      if (auto connected = Connect(); !connected.ok()) return connected;
    }
    Result<std::string> sent = Guarded([&] { return Transaction(message); });
    // A connection kept from an earlier message may have been closed by the
    // server meanwhile; the message was not taken, so one fresh connection
    // may carry it.
    if (!sent.ok() && reused && failure_ == SmtpFailure::kConnection) {
      if (auto connected = Connect(); !connected.ok()) return connected;
      sent = Guarded([&] { return Transaction(message); });
    }
    return sent;
  }

  void Close() {
    if (session_ == nullptr) return;
    try {
      session_->close();  // QUIT
    } catch (...) {       // the outcome of every message is already decided
    }
    session_.reset();
  }

  // An exception none of the steps expected: the connection is dropped,
  // and a message whose data went out is uncertain.
  Status Unexpected() {
    failure_ = data_written_ ? SmtpFailure::kUncertain : SmtpFailure::kConnection;
    Drop();
    return Status::Internal("SMTP " + server_ + ": unexpected error");
  }

  SmtpFailure last_failure() const { return failure_; }
  bool connected() const { return session_ != nullptr; }
  int64_t connections() const { return connections_; }

 private:
  Result<std::string> Fail(SmtpFailure why, const std::string& what) {
    failure_ = why;
    return Status::Network("SMTP " + server_ + ": " + what);
  }

  Result<std::string> Refused(SmtpFailure why, const std::string& what, const std::string& reply) {
    return Fail(why, what + " (" + QuoteReply(reply, to_) + ")");
  }

  Result<std::string> CheckSettings() {
    if (settings_.host.empty()) return Fail(SmtpFailure::kInvalid, "no SMTP host configured");
    if (settings_.port <= 0 || settings_.port > 65535) {
      return Fail(SmtpFailure::kInvalid, "invalid port");
    }
    if (!PlausibleAddress(settings_.from)) {
      return Fail(SmtpFailure::kInvalid, "invalid sender address");
    }
    if (settings_.timeout_ms <= 0) return Fail(SmtpFailure::kInvalid, "invalid timeout");
    return std::string();
  }

  // Drops the connection without QUIT, for when the dialogue is out of step.
  void Drop() {
    if (session_ == nullptr) return;
    try {
      session_->Abort();
    } catch (...) {  // already closed
    }
    session_.reset();
  }

  // Runs one part of the dialogue; Poco's exceptions are caught here, once:
  // each step records what it was doing in step_ so that the message names
  // it, and any failure drops the connection. An exception after the whole
  // message went out leaves its fate open (kUncertain).
  template <typename F>
  Result<std::string> Guarded(F&& part) {
    data_written_ = false;
    auto broken = [&](const std::string& what) {
      Drop();
      return Fail(data_written_ ? SmtpFailure::kUncertain : SmtpFailure::kConnection,
                  step_ + ": " + what);
    };
    try {
      return part();
    } catch (const Poco::TimeoutException&) {
      return broken("no reply within " + std::to_string(settings_.timeout_ms) + " ms");
    } catch (const Poco::Exception& e) {
      return broken(e.displayText());
    } catch (const std::exception& e) {
      return broken(e.what());
    }
  }

  // A fresh connection up to AUTH; a failure leaves none.
  Result<std::string> Connect() {
    Drop();
    to_.clear();
    step_ = "cannot connect";
    Poco::Net::StreamSocket socket;
    try {
      socket.connect(
          Poco::Net::SocketAddress(settings_.host, static_cast<uint16_t>(settings_.port)),
          timeout_);
    } catch (const Poco::Net::ConnectionRefusedException&) {
      return Fail(SmtpFailure::kConnection, "cannot connect: Connection refused");
    } catch (const Poco::TimeoutException&) {
      return Fail(SmtpFailure::kConnection, "cannot connect: timed out");
    } catch (const Poco::Net::HostNotFoundException&) {
      return Fail(SmtpFailure::kConnection, "cannot connect: host not found");
    } catch (const Poco::Net::NoAddressFoundException&) {
      return Fail(SmtpFailure::kConnection, "cannot connect: host has no address");
    } catch (const Poco::Exception& e) {
      return Fail(SmtpFailure::kConnection, "cannot connect: " + e.displayText());
    }
    // Commands are single lines answered before the next: nothing to
    // gain from Nagle's algorithm, a delayed acknowledgement to lose.
    try {
      socket.setNoDelay(true);
    } catch (const Poco::Exception&) {  // an optimisation only
    }
    session_ = std::make_unique<Session>(socket);
    ++connections_;
    needs_reset_ = false;
    Result<std::string> greeted = Guarded([&] { return Greet(); });
    if (!greeted.ok()) {
      // Out of step or refused: no QUIT on a connection that said no.
      Drop();
      return greeted;
    }
    failure_ = SmtpFailure::kNone;
    return greeted;
  }

  Result<Poco::Net::Context::Ptr> MakeTlsContext() {
    Poco::Net::Context::Params params;
    params.caLocation = settings_.ca_file;
    params.loadDefaultCAs = settings_.ca_file.empty();
    params.verificationMode = Poco::Net::Context::VERIFY_RELAXED;
    params.verificationDepth = 9;
    Poco::Net::Context::Ptr context;
    try {
      context = new Poco::Net::Context(Poco::Net::Context::TLS_CLIENT_USE, params);
      context->requireMinimumProtocol(Poco::Net::Context::PROTO_TLSV1_2);
    } catch (const Poco::Exception& e) {
      return Fail(SmtpFailure::kConnection,
                  "TLS set-up failed" +
                      (settings_.ca_file.empty() ? "" : " (CA file " + settings_.ca_file + ")") +
                      ": " + e.displayText())
          .status();
    }
    // Poco skips its own host-name check for loopback peers; OpenSSL's check
    // does not, and runs inside the handshake.
    X509_VERIFY_PARAM* param = SSL_CTX_get0_param(context->sslContext());
    X509_VERIFY_PARAM_set_hostflags(param, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
    Poco::Net::IPAddress ip;
    const bool is_ip = Poco::Net::IPAddress::tryParse(settings_.host, ip);
    const int rc = is_ip ? X509_VERIFY_PARAM_set1_ip_asc(param, settings_.host.c_str())
                         : X509_VERIFY_PARAM_set1_host(param, settings_.host.c_str(), 0);
    if (rc != 1) {
      return Fail(SmtpFailure::kConnection, "TLS set-up failed: cannot set host name").status();
    }
    return context;
  }

  Result<std::string> Ehlo(std::string* reply) {
    step_ = "EHLO";
    std::string name = Poco::Environment::nodeName();
    if (name.empty()) name = "localhost";
    const int status = session_->sendCommand("EHLO", name, *reply);
    if (!Session::isPositiveCompletion(status)) {
      return Refused(SmtpFailure::kConnection, "EHLO refused", *reply);
    }
    return std::string();
  }

  // The greeting, EHLO, STARTTLS and AUTH.
  Result<std::string> Greet() {
    std::string reply;
    step_ = "greeting";
    session_->SetTimeouts(timeout_);
    session_->open();  // reads the greeting; throws SMTPException when not 2xx
    if (auto r = Ehlo(&reply); !r.ok()) return r;

    tls_ = false;
    authenticated_ = false;
    if (Announces(reply, "STARTTLS", nullptr)) {
      auto context = MakeTlsContext();
      if (!context.ok()) return context.status();
      step_ = "STARTTLS";
      const int status = session_->sendCommand("STARTTLS", reply);
      if (!Session::isPositiveCompletion(status)) {
        return Refused(SmtpFailure::kConnection, "STARTTLS refused", reply);
      }
      step_ = "TLS handshake failed";
      session_->StartTls(settings_.host, context.value());
      session_->SetTimeouts(timeout_);
      tls_ = true;
      if (auto r = Ehlo(&reply); !r.ok()) return r;  // the pre-TLS answer no longer counts
    } else if (settings_.require_tls) {
      return Fail(SmtpFailure::kConnection,
                  "server offers no STARTTLS and TLS is required; nothing sent");
    }

    if (!settings_.user.empty()) {
      if (!tls_) {
        return Fail(SmtpFailure::kConnection,
                    "refusing to send the password without TLS (server offers no STARTTLS)");
      }
      std::string mechanisms;
      if (!Announces(reply, "AUTH", &mechanisms)) {
        return Fail(SmtpFailure::kConnection, "server offers no AUTH");
      }
      step_ = "AUTH";
      if (HasWord(mechanisms, "PLAIN")) {
        // RFC 4616: authzid (empty) NUL authcid NUL password.
        const std::string credentials =
            Base64(std::string(1, '\0') + settings_.user + '\0' + settings_.password);
        const int status = session_->sendCommand("AUTH PLAIN", credentials, reply);
        if (status != 235) return Refused(SmtpFailure::kConnection, "authentication failed", reply);
      } else if (HasWord(mechanisms, "LOGIN")) {
        int status = session_->sendCommand("AUTH LOGIN", reply);
        if (status == 334) status = session_->sendCommand(Base64(settings_.user), reply);
        if (status == 334) status = session_->sendCommand(Base64(settings_.password), reply);
        if (status != 235) return Refused(SmtpFailure::kConnection, "authentication failed", reply);
      } else {
        return Fail(SmtpFailure::kConnection, "server offers neither AUTH PLAIN nor AUTH LOGIN");
      }
      authenticated_ = true;
    }
    return std::string();
  }

  // A refusal of the message itself: the connection goes on, reset first;
  // 421 means the server is closing it.
  Result<std::string> MessageRefused(int status, const std::string& what,
                                     const std::string& reply) {
    if (status < 200) {
      // No reply at all: the server closed the connection (Poco reads the
      // end of the stream as status 0). After the whole message went out,
      // the server may have taken it before going.
      Result<std::string> r =
          Fail(data_written_ ? SmtpFailure::kUncertain : SmtpFailure::kConnection,
               step_ + ": connection closed by the server");
      Drop();
      return r;
    }
    if (status == kClosing) {
      Result<std::string> r = Refused(SmtpFailure::kConnection, what, reply);
      Drop();
      return r;
    }
    needs_reset_ = true;
    return Refused(SmtpFailure::kRefused, what, reply);
  }

  // One message: MAIL FROM, RCPT TO, DATA (after RSET when the previous
  // message was refused part-way).
  Result<std::string> Transaction(const MailMessage& message) {
    to_ = message.to;
    std::string reply;
    int status = 0;
    if (needs_reset_) {
      step_ = "RSET";
      status = session_->sendCommand("RSET", reply);
      if (status < 200) return MessageRefused(status, "RSET refused", reply);
      if (!Session::isPositiveCompletion(status)) {
        // Out of step: a fresh connection is the only clean state.
        Result<std::string> r = Refused(SmtpFailure::kConnection, "RSET refused", reply);
        Drop();
        return r;
      }
      needs_reset_ = false;
    }
    Poco::Net::MailMessage mime;
    BuildMime(settings_, message, &mime);
    step_ = "MAIL FROM";
    status = session_->sendCommand("MAIL FROM:", "<" + settings_.from + ">", reply);
    if (!Session::isPositiveCompletion(status)) {
      return MessageRefused(status, "sender refused", reply);
    }
    step_ = "RCPT TO";
    status = session_->sendCommand("RCPT TO:", "<" + message.to + ">", reply);
    if (!Session::isPositiveCompletion(status)) {
      return MessageRefused(status, "recipient refused", reply);
    }
    step_ = "DATA";
    status = session_->sendCommand("DATA", reply);
    if (!Session::isPositiveIntermediate(status)) {
      return MessageRefused(status, "DATA refused", reply);
    }
    step_ = "end of DATA";
    session_->WriteData(mime);
    data_written_ = true;
    status = session_->ReadVerdict(&reply);
    if (!Session::isPositiveCompletion(status)) {
      Result<std::string> r = MessageRefused(status, "message refused", reply);
      data_written_ = false;
      return r;
    }
    data_written_ = false;
    failure_ = SmtpFailure::kNone;
    return "accepted by " + server_ + (tls_ ? " (STARTTLS" : " (no TLS") +
           (authenticated_ ? ", AUTH)" : ")") + ": " + QuoteReply(reply, to_);
  }

  const SmtpSettings settings_;
  const std::string server_;
  const Poco::Timespan timeout_;
  std::unique_ptr<Session> session_;
  std::string step_;
  std::string to_;  // the current message's recipient, blanked out of replies
  bool tls_ = false;
  bool authenticated_ = false;
  bool needs_reset_ = false;   // a message was refused part-way
  bool data_written_ = false;  // the whole message went out; no verdict yet
  SmtpFailure failure_ = SmtpFailure::kNone;
  int64_t connections_ = 0;
};

std::string EncodeHeaderText(const std::string& utf8) {
  const bool plain = std::all_of(utf8.begin(), utf8.end(), [](unsigned char c) {
    return std::isalnum(c) != 0 || c == ' ' || c == '.' || c == '-' || c == '_';
  });
  if (plain) return utf8;
  // 45 bytes make 60 base64 characters: "=?UTF-8?B?" + 60 + "?=" = 72 <= 75.
  constexpr size_t kMaxChunk = 45;
  std::vector<std::string> words;
  size_t start = 0;
  while (start < utf8.size()) {
    size_t end = start;
    while (end < utf8.size()) {
      const size_t n = Utf8SequenceLength(static_cast<unsigned char>(utf8[end]));
      if (end + n - start > kMaxChunk) break;
      end = std::min(end + n, utf8.size());
    }
    if (end == start) end = std::min(start + kMaxChunk, utf8.size());
    words.push_back("=?UTF-8?B?" + Base64(std::string_view(utf8).substr(start, end - start)) +
                    "?=");
    start = end;
  }
  std::string out;
  for (size_t i = 0; i < words.size(); ++i) {
    if (i > 0) out += "\r\n ";
    out += words[i];
  }
  return out;
}

Result<SmtpSettings> ParseSmtpUrl(const std::string& url) {
  auto error = [](const std::string& what) {
    return Result<SmtpSettings>::Error("invalid SMTP URL: " + what +
                                       " (expected smtp://[user@]host[:port])");
  };
  SmtpSettings s;
  std::string_view rest(url);
  constexpr std::string_view kPlain = "smtp://";
  constexpr std::string_view kStartTls = "smtp+starttls://";
  const std::string lower = Lower(url.substr(0, kStartTls.size()));
  if (lower.rfind(kPlain, 0) == 0) {
    rest.remove_prefix(kPlain.size());
  } else if (lower.rfind(kStartTls, 0) == 0) {
    rest.remove_prefix(kStartTls.size());
    s.require_tls = true;
  } else {
    return error("unknown scheme");
  }
  if (!rest.empty() && rest.back() == '/') rest.remove_suffix(1);
  if (rest.find_first_of("/?#") != std::string_view::npos) {
    return error("no path or query allowed");
  }
  const size_t at = rest.rfind('@');
  if (at != std::string_view::npos) {
    const std::string_view userinfo = rest.substr(0, at);
    if (userinfo.find(':') != std::string_view::npos) {
      return Result<SmtpSettings>::Error("SMTP URL must not contain a password");
    }
    if (userinfo.empty()) return error("empty user");
    if (!PercentDecode(userinfo, &s.user)) return error("bad %-escape in the user");
    rest.remove_prefix(at + 1);
  }
  std::string_view port;
  if (!rest.empty() && rest.front() == '[') {
    const size_t close = rest.find(']');
    if (close == std::string_view::npos) return error("unclosed [ in the host");
    s.host = std::string(rest.substr(1, close - 1));
    rest.remove_prefix(close + 1);
    if (!rest.empty()) {
      if (rest.front() != ':') return error("junk after the host");
      port = rest.substr(1);
      if (port.empty()) return error("empty port");
    }
  } else {
    const size_t colon = rest.find(':');
    s.host = std::string(rest.substr(0, colon));
    if (colon != std::string_view::npos) {
      port = rest.substr(colon + 1);
      if (port.empty()) return error("empty port");
    }
  }
  if (s.host.empty()) return error("no host");
  if (s.host.find_first_of(" \t\r\n@") != std::string::npos) return error("bad host");
  if (!port.empty()) {
    if (!IsAsciiDigits(port) || port.size() > 5) return error("port is not a number");
    s.port = std::stoi(std::string(port));
    if (s.port < 1 || s.port > 65535) return error("port out of range");
  }
  return s;
}

Result<std::string> SendMail(const SmtpSettings& settings, const MailMessage& message) {
  try {
    // QUIT as the session goes.
    SmtpSession session(settings);
    return session.Send(message);
  } catch (...) {  // nothing escapes: a failed notice stays "not yet notified"
    return Status::Internal("SMTP " + settings.host + ":" + std::to_string(settings.port) +
                            ": unexpected error");
  }
}

SmtpSession::SmtpSession(SmtpSettings settings)
    : impl_(std::make_unique<Impl>(std::move(settings))) {}
SmtpSession::~SmtpSession() = default;

Status SmtpSession::Open() {
  try {
    return impl_->Open();
  } catch (...) {  // nothing escapes, as from SendMail()
    return impl_->Unexpected();
  }
}

Result<std::string> SmtpSession::Send(const MailMessage& message) {
  try {
    return impl_->Send(message);
  } catch (...) {
    return impl_->Unexpected();
  }
}

void SmtpSession::Close() { impl_->Close(); }
SmtpFailure SmtpSession::last_failure() const { return impl_->last_failure(); }
bool SmtpSession::connected() const { return impl_->connected(); }
int64_t SmtpSession::connections() const { return impl_->connections(); }

}  // namespace itaku::transports
