// The portal listener: Beast's async SSL server pattern (one session object
// per connection owning itself through shared_from_this, on its own strand,
// a deadline on every operation), run on several threads. The backend is
// not thread-safe: every call into it goes through one mutex
// (SerializedBackend). Server-wide state (the acceptor, the grace timer, the
// signals) lives on the server's strand; the session registry under its own
// mutex.
#include "transports/portal_server.h"

#include <fcntl.h>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <csignal>
#include <cstring>
#include <exception>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <thread>
#include <unordered_map>
#include <utility>
#include <vector>

#include "transports/certificate.h"
#include "transports/detail/tls_chunk_encrypter.h"
#include "transports/portal_route.h"

namespace itaku::transports {
namespace {

namespace beast = boost::beast;
namespace http = beast::http;
namespace net = boost::asio;
namespace ssl = net::ssl;
using tcp = net::ip::tcp;
using beast::error_code;

constexpr std::uint32_t kMaxHeadBytes = 8192;
// A download goes out in chunks of this much of the file, each encrypted
// as a whole (detail::TlsChunkEncrypter) and handed to the socket with one
// write (and one deadline).
constexpr std::size_t kChunkBytes = 1024 * 1024;

// TLS 1.2 suites with ECDHE key exchange and an AEAD cipher; TLS 1.3 suites
// are all of that kind already and keep OpenSSL's defaults.
constexpr char kTls12Ciphers[] =
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"
    "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"
    "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305";

std::chrono::milliseconds Ms(int ms) { return std::chrono::milliseconds(ms > 0 ? ms : 1); }

// "SHA256:AB:CD:…", as `openssl x509 -noout -fingerprint -sha256` prints it
// after "=" (and as transports::CertificateInfo::fingerprint holds it).
std::string PeerFingerprint(SSL* ssl) {
  X509* cert = SSL_get1_peer_certificate(ssl);
  if (cert == nullptr) return "";
  std::string fingerprint = CertificateFingerprint(cert);
  X509_free(cert);
  return fingerprint;
}

std::string EndpointText(const tcp::endpoint& ep) {
  const std::string ip = ep.address().to_string();
  const std::string port = std::to_string(ep.port());
  return ep.address().is_v6() ? "[" + ip + "]:" + port : ip + ":" + port;
}

std::optional<tcp::endpoint> ParseListen(const std::string& text) {
  const auto colon = text.rfind(':');
  if (colon == std::string::npos || colon == 0 || colon + 1 == text.size()) return std::nullopt;
  std::string host = text.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  unsigned port = 0;
  const char* first = text.data() + colon + 1;
  const char* last = text.data() + text.size();
  auto [end, ec] = std::from_chars(first, last, port);
  if (ec != std::errc() || end != last || port > 65535) return std::nullopt;
  error_code aec;
  auto address = net::ip::make_address(host, aec);
  if (aec) return std::nullopt;
  return tcp::endpoint(address, static_cast<unsigned short>(port));
}

class Fd {
 public:
  Fd() = default;
  explicit Fd(int fd) : fd_(fd) {}
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  ~Fd() { Reset(); }
  int get() const { return fd_; }
  void Reset(int fd = -1) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = fd;
  }

 private:
  int fd_ = -1;
};

// The backend as the sessions see it: every call, from whichever thread,
// under one mutex, so the real backend is called by one thread at a time.
class SerializedBackend : public PortalBackend {
 public:
  explicit SerializedBackend(PortalBackend& inner) : inner_(inner) {}

  std::optional<std::string> Authenticate(const std::string& fingerprint,
                                          std::string* why) override {
    std::lock_guard lock(mu_);
    return inner_.Authenticate(fingerprint, why);
  }
  std::vector<PortalPackage> Available(const std::string& contractor_id) override {
    std::lock_guard lock(mu_);
    return inner_.Available(contractor_id);
  }
  Access Find(const std::string& contractor_id, const std::string& package_id,
              PortalPackage* out) override {
    std::lock_guard lock(mu_);
    return inner_.Find(contractor_id, package_id, out);
  }
  void RecordDownload(const PortalCaller& caller, const std::string& package_id,
                      uint64_t first_byte, uint64_t bytes, bool complete) override {
    std::lock_guard lock(mu_);
    inner_.RecordDownload(caller, package_id, first_byte, bytes, complete);
  }
  void Audit(const PortalCaller& caller, const std::string& method, const std::string& target,
             const std::string& package_id, uint64_t bytes, int status,
             const std::string& outcome) override {
    std::lock_guard lock(mu_);
    inner_.Audit(caller, method, target, package_id, bytes, status, outcome);
  }

 private:
  PortalBackend& inner_;
  std::mutex mu_;
};

int ThreadCount(const PortalServerOptions& options) {
  if (options.threads > 0) return options.threads;
  return std::max(1, static_cast<int>(std::thread::hardware_concurrency()));
}

class Session;

}  // namespace

class PortalServer::Impl {
 public:
  Impl(const PortalServerOptions& options, PortalBackend& backend)
      : options_(options),
        backend_(backend),
        threads_(ThreadCount(options)),
        ioc_(threads_),
        strand_(net::make_strand(ioc_)),
        ssl_(ssl::context::tls_server),
        acceptor_(strand_),
        grace_timer_(strand_) {}

  Status Configure();
  Status Run(bool handle_signals);
  void Stop() {
    net::post(strand_, [this] { BeginShutdown(); });
  }
  int port() const { return port_; }

  // For sessions, from any thread.
  const PortalServerOptions& options() const { return options_; }
  PortalBackend& backend() { return backend_; }
  bool stopping() const { return stopping_.load(std::memory_order_acquire); }
  void Register(Session* s, std::weak_ptr<Session> w) {
    std::lock_guard lock(sessions_mu_);
    sessions_.emplace(s, std::move(w));
  }
  void Unregister(Session* s);

 private:
  void Accept();
  void OnAccept(error_code ec, tcp::socket socket);
  void BeginShutdown();
  void CloseAll(bool in_flight_too);
  std::size_t SessionCount() {
    std::lock_guard lock(sessions_mu_);
    return sessions_.size();
  }

  const PortalServerOptions options_;
  SerializedBackend backend_;
  const int threads_;
  // Before ioc_: sessions unregister even as the io_context destroys them.
  std::mutex sessions_mu_;  // guards sessions_; set together with stopping_
  std::unordered_map<Session*, std::weak_ptr<Session>> sessions_;
  std::atomic<bool> stopping_{false};
  net::io_context ioc_;
  // The acceptor, the grace timer and the signals: their handlers, and
  // BeginShutdown(), run here one at a time.
  net::strand<net::io_context::executor_type> strand_;
  ssl::context ssl_;
  tcp::acceptor acceptor_;
  net::steady_timer grace_timer_;
  std::optional<net::signal_set> signals_;
  int port_ = 0;
};

namespace {

// One TLS connection: handshake, then requests one after another
// (keep-alive) until the client leaves, a refusal closes it, or the server
// stops.
class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(PortalServer::Impl& server, tcp::socket&& socket, ssl::context& ctx, std::string address)
      : server_(server),
        stream_(std::move(socket), ctx),
        recheck_timer_(stream_.get_executor()),
        address_(std::move(address)) {}
  ~Session() { server_.Unregister(this); }

  void Start() {
    server_.Register(this, weak_from_this());
    Lowest().expires_after(Ms(options().header_timeout_ms));
    stream_.async_handshake(ssl::stream_base::server,
                            beast::bind_front_handler(&Session::OnHandshake, shared_from_this()));
  }

  // The server is stopping: an idle connection goes now, a response in
  // flight finishes first (ReadRequest() then sees stopping()).
  void OnServerStop() {
    if (!responding_) Lowest().close();
  }
  // The grace period is over.
  void Cut() { Lowest().close(); }
  auto executor() { return stream_.get_executor(); }

 private:
  const PortalServerOptions& options() const { return server_.options(); }
  PortalBackend& backend() { return server_.backend(); }
  beast::tcp_stream& Lowest() { return beast::get_lowest_layer(stream_); }
  PortalCaller Caller() const { return PortalCaller{contractor_id_, fingerprint_, address_}; }

  void OnHandshake(error_code ec) {
    if (ec) return;  // no certificate, old protocol, timeout: nothing was asked
    fingerprint_ = PeerFingerprint(stream_.native_handle());
    if (fingerprint_.empty()) return Lowest().close();
    ReadRequest();
  }

  void ReadRequest() {
    responding_ = false;
    contractor_id_.clear();
    package_id_.clear();
    method_.clear();
    target_.clear();
    if (server_.stopping()) return Close();
    parser_.emplace();
    parser_->header_limit(kMaxHeadBytes);
    Lowest().expires_after(Ms(options().header_timeout_ms));
    http::async_read_header(stream_, buffer_, *parser_,
                            beast::bind_front_handler(&Session::OnHead, shared_from_this()));
  }

  // For the record of a request refused before it was understood: who sent
  // it, when the certificate still belongs to an active contractor.
  void IdentifyForRecord() {
    std::string why;
    contractor_id_ = backend().Authenticate(fingerprint_, &why).value_or("");
  }

  void OnHead(error_code ec, std::size_t) {
    if (ec == http::error::header_limit) {
      IdentifyForRecord();
      return Refuse(http::status::request_header_fields_too_large, "request head larger than 8 KiB",
                    "bad request");
    }
    if (ec == beast::error::timeout) {
      // Only a request that had begun is on record; an idle kept-alive
      // connection simply ends.
      if (buffer_.size() > 0) {
        IdentifyForRecord();
        backend().Audit(Caller(), "", "", "", 0, 408, "request head timed out");
      }
      return;  // the stream closed itself
    }
    if (ec && &ec.category() == &http::make_error_code(http::error::need_more).category() &&
        ec != http::error::end_of_stream && ec != http::error::partial_message) {
      IdentifyForRecord();
      return Refuse(http::status::bad_request, "malformed request", "bad request");
    }
    if (ec) return Lowest().close();  // client left, or the server is cutting
    responding_ = true;
    Handle();
  }

  void Handle() {
    const auto& req = parser_->get();
    method_ = std::string(req.method_string());
    target_ = std::string(req.target());
    keep_alive_ = req.keep_alive();
    contractor_id_.clear();
    package_id_.clear();
    std::string why;
    contractor_id_ = backend().Authenticate(fingerprint_, &why).value_or("");
    const bool has_body =
        (parser_->content_length() && *parser_->content_length() > 0) || parser_->chunked();
    PortalResponse r = Route({method_, target_, has_body}, Caller(), why, backend());
    package_id_ = r.package_id;
    if (r.close) keep_alive_ = false;
    if (r.download) {
      return Download(*r.download, std::string(req[http::field::range]),
                      std::string(req[http::field::if_range]));
    }
    Reply(static_cast<http::status>(r.status), std::move(r.body), r.outcome);
  }

  template <class Body>
  void SecurityHeaders(http::response<Body>& res) {
    res.set(http::field::cache_control, "no-store");
    res.set("X-Content-Type-Options", "nosniff");
  }

  // A refusal: answer, put it on record, close.
  void Refuse(http::status status, const std::string& message, const std::string& outcome) {
    keep_alive_ = false;
    Reply(status, PortalErrorBody(message), outcome);
  }

  // A small JSON answer. The decision is on record before it is sent, so
  // the record does not wait on a slow client.
  void Reply(http::status status, std::string body, const std::string& outcome,
             std::optional<uint64_t> size_for_416 = std::nullopt) {
    responding_ = true;
    backend().Audit(Caller(), method_, target_, package_id_, 0, static_cast<int>(status), outcome);
    auto res = std::make_shared<http::response<http::string_body>>(status, 11);
    res->set(http::field::content_type, "application/json");
    SecurityHeaders(*res);
    if (status == http::status::method_not_allowed) res->set(http::field::allow, "GET");
    if (size_for_416) {
      res->set(http::field::content_range, "bytes */" + std::to_string(*size_for_416));
    }
    if (method_ == "HEAD") {
      body.clear();  // a HEAD answer has no body; only GET is served anyway
      keep_alive_ = false;
    }
    res->body() = std::move(body);
    res->keep_alive(keep_alive_ && !server_.stopping());
    res->prepare_payload();
    Lowest().expires_after(Ms(options().io_timeout_ms));
    http::async_write(stream_, *res, [self = shared_from_this(), res](error_code ec, std::size_t) {
      if (ec) return self->Lowest().close();
      if (!res->keep_alive()) return self->Close();
      self->ReadRequest();
    });
  }

  void Download(const PortalPackage& pkg, const std::string& range, const std::string& if_range) {
    file_.Reset(::open(pkg.path.c_str(), O_RDONLY | O_CLOEXEC));
    struct stat st {};
    if (file_.get() < 0 || ::fstat(file_.get(), &st) != 0) {
      file_.Reset();
      return Reply(http::status::internal_server_error, PortalErrorBody("package file unavailable"),
                   "package file unavailable: " + pkg.path);
    }
    const auto size = static_cast<uint64_t>(st.st_size);
    if (size != pkg.size) {
      file_.Reset();
      return Reply(http::status::internal_server_error, PortalErrorBody("package file unavailable"),
                   "package file size " + std::to_string(size) + " differs from the record's " +
                       std::to_string(pkg.size) + ": " + pkg.path);
    }
    const DownloadPlan plan = PlanDownload(pkg, size, range, if_range);
    if (plan.status == 416) {
      file_.Reset();
      return Reply(http::status::range_not_satisfiable, PortalErrorBody("range not satisfiable"),
                   "range not satisfiable", size);
    }
    first_byte_ = plan.range.first;
    remaining_ = plan.range.length;
    offset_ = first_byte_;
    sent_ = 0;
    download_status_ = static_cast<http::status>(plan.status);
    suspended_ = false;
    suspended_why_.clear();
    read_error_.clear();

    head_.emplace(download_status_, 11);
    head_->set(http::field::content_type, "application/octet-stream");
    head_->set(http::field::content_disposition,
               "attachment; filename=" + QuotedFileName(pkg.file_name));
    head_->set(http::field::etag, plan.etag);
    head_->set(http::field::accept_ranges, "bytes");
    SecurityHeaders(*head_);
    if (plan.status == 206) {
      head_->set(http::field::content_range,
                 "bytes " + std::to_string(plan.range.first) + "-" +
                     std::to_string(plan.range.first + plan.range.length - 1) + "/" +
                     std::to_string(size));
    }
    head_->content_length(remaining_);
    head_->keep_alive(keep_alive_ && !server_.stopping());
    serializer_.emplace(*head_);
    downloading_ = true;
    ArmRecheck();
    Lowest().expires_after(Ms(options().io_timeout_ms));
    http::async_write_header(
        stream_, *serializer_,
        beast::bind_front_handler(&Session::OnHeadWritten, shared_from_this()));
  }

  void OnHeadWritten(error_code ec, std::size_t) {
    if (ec) return EndDownload(false);
    WriteChunk();
  }

  // The body bypasses asio's ssl::stream (detail/tls_chunk_encrypter.h).
  void WriteChunk() {
    if (remaining_ == 0) return EndDownload(true);
    if (!encrypter_.Encrypt(stream_.native_handle(), file_.get(), offset_,
                            std::min<uint64_t>(remaining_, kChunkBytes), &cipher_, &chunk_plain_,
                            &read_error_)) {
      return EndDownload(false);
    }
    cipher_sent_ = 0;
    WriteCipher();
  }

  // Each socket write (as much of the chunk as the socket takes) within
  // io_timeout_ms: a client that stops reading is cut, a slow one is not.
  void WriteCipher() {
    Lowest().expires_after(Ms(options().io_timeout_ms));
    Lowest().async_write_some(
        net::buffer(cipher_) + cipher_sent_,
        beast::bind_front_handler(&Session::OnCipherWritten, shared_from_this()));
  }

  void OnCipherWritten(error_code ec, std::size_t n) {
    cipher_sent_ += n;
    if (!ec && cipher_sent_ < cipher_.size()) return WriteCipher();
    OnChunkWritten(ec, cipher_sent_);
  }

  // `n` bytes of cipher_ went out: the whole chunk, or on an error a part,
  // counted as the same share of the chunk's file bytes.
  void OnChunkWritten(error_code ec, std::size_t n) {
    const uint64_t plain = n >= cipher_.size()
                               ? chunk_plain_
                               : chunk_plain_ * n / std::max<std::size_t>(cipher_.size(), 1);
    sent_ += plain;
    offset_ += plain;
    remaining_ -= std::min<uint64_t>(plain, remaining_);
    if (ec || !read_error_.empty()) return EndDownload(false);
    WriteChunk();
  }

  // During a download the caller may be suspended: ask again now and then,
  // and cut the connection when the answer changes.
  void ArmRecheck() {
    recheck_timer_.expires_after(Ms(options().status_recheck_ms));
    recheck_timer_.async_wait([self = shared_from_this()](error_code ec) {
      if (ec || !self->downloading_) return;
      std::string why;
      if (!self->backend().Authenticate(self->fingerprint_, &why)) {
        self->suspended_ = true;
        self->suspended_why_ = why;
        self->Lowest().close();  // the pending write fails; EndDownload follows
        return;
      }
      self->ArmRecheck();
    });
  }

  void EndDownload(bool complete) {
    downloading_ = false;
    recheck_timer_.cancel();
    file_.Reset();
    // An idle connection keeps no chunk buffers.
    std::string().swap(cipher_);
    encrypter_.Release();
    backend().RecordDownload(Caller(), package_id_, first_byte_, sent_, complete);
    std::string outcome = "downloaded";
    if (!complete) {
      if (suspended_) {
        outcome =
            "cut off during download: " + (suspended_why_.empty() ? "refused" : suspended_why_);
      } else if (!read_error_.empty()) {
        outcome = "package file read error: " + read_error_;
      } else if (server_.stopping()) {
        outcome = "download cut off at shutdown";
      } else {
        outcome = "download interrupted";
      }
    }
    backend().Audit(Caller(), method_, target_, package_id_, sent_,
                    static_cast<int>(download_status_), outcome);
    const bool keep = complete && head_->keep_alive();
    serializer_.reset();
    head_.reset();
    if (!complete) return Lowest().close();
    if (!keep) return Close();
    ReadRequest();
  }

  // TLS close_notify, bounded; then the socket goes with the session.
  void Close() {
    responding_ = false;
    Lowest().expires_after(Ms(std::min(options().io_timeout_ms, 5000)));
    stream_.async_shutdown([self = shared_from_this()](error_code) { self->Lowest().close(); });
  }

  PortalServer::Impl& server_;
  beast::ssl_stream<beast::tcp_stream> stream_;
  net::steady_timer recheck_timer_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::empty_body>> parser_;
  const std::string address_;
  std::string fingerprint_;
  bool responding_ = false;

  // The request being answered.
  std::string contractor_id_, method_, target_, package_id_;
  bool keep_alive_ = false;

  // The download being sent.
  Fd file_;
  std::optional<http::response<http::empty_body>> head_;
  std::optional<http::response_serializer<http::empty_body>> serializer_;
  detail::TlsChunkEncrypter encrypter_;
  std::string cipher_;           // the chunk being written, as TLS records
  uint64_t chunk_plain_ = 0;     // file bytes in cipher_
  std::size_t cipher_sent_ = 0;  // bytes of cipher_ written
  http::status download_status_ = http::status::ok;
  uint64_t first_byte_ = 0, offset_ = 0, remaining_ = 0, sent_ = 0;
  bool downloading_ = false;
  bool suspended_ = false;
  std::string suspended_why_, read_error_;
};

}  // namespace

Status PortalServer::Impl::Configure() {
  error_code ec;
  ssl_.set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 |
                       ssl::context::no_sslv3 | ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1 |
                       ssl::context::single_dh_use,
                   ec);
  SSL_CTX* ctx = ssl_.native_handle();
  SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
  SSL_CTX_set_options(
      ctx, SSL_OP_CIPHER_SERVER_PREFERENCE | SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_COMPRESSION);
  if (SSL_CTX_set_cipher_list(ctx, kTls12Ciphers) != 1) {
    return Status::Error("portal TLS: the cipher list is not supported by this OpenSSL");
  }
  // Client certificates are required, but not judged here: the registry
  // decides, by fingerprint, after the handshake. Without a CA to verify
  // against, every chain "fails" pre-verification; accept it anyway.
  ssl_.set_verify_mode(ssl::verify_peer | ssl::verify_fail_if_no_peer_cert);
  ssl_.set_verify_callback([](bool, ssl::verify_context&) { return true; });
  static const unsigned char kSessionContext[] = "itaku-portal";
  SSL_CTX_set_session_id_context(ctx, kSessionContext, sizeof kSessionContext - 1);

  if (::access(options_.cert_file.c_str(), R_OK) != 0) {
    return Status::Error("portal certificate " + options_.cert_file + ": " + std::strerror(errno));
  }
  ssl_.use_certificate_chain_file(options_.cert_file, ec);
  if (ec) return Status::Error("portal certificate " + options_.cert_file + ": " + ec.message());
  if (::access(options_.key_file.c_str(), R_OK) != 0) {
    return Status::Error("portal key " + options_.key_file + ": " + std::strerror(errno));
  }
  ssl_.use_private_key_file(options_.key_file, ssl::context::pem, ec);
  if (ec) {
    if (ERR_GET_REASON(static_cast<unsigned long>(ec.value())) == X509_R_KEY_VALUES_MISMATCH) {
      return Status::Error("portal key " + options_.key_file + " does not match certificate " +
                           options_.cert_file);
    }
    return Status::Error("portal key " + options_.key_file + ": " + ec.message());
  }
  if (SSL_CTX_check_private_key(ctx) != 1) {
    return Status::Error("portal key " + options_.key_file + " does not match certificate " +
                         options_.cert_file);
  }

  std::optional<tcp::endpoint> endpoint = ParseListen(options_.listen);
  if (!endpoint) {
    return Status::Error("portal listen address \"" + options_.listen + "\": expected ADDR:PORT");
  }
  auto fail = [&](const error_code& e) {
    return Status::Error("cannot listen on " + options_.listen + ": " + e.message());
  };
  if (acceptor_.open(endpoint->protocol(), ec); ec) return fail(ec);
  if (acceptor_.set_option(net::socket_base::reuse_address(true), ec); ec) return fail(ec);
  if (acceptor_.bind(*endpoint, ec); ec) return fail(ec);
  if (acceptor_.listen(net::socket_base::max_listen_connections, ec); ec) return fail(ec);
  // A child process (an `itaku serve` job, a test's curl) must not inherit
  // the listener: it would keep the port open after Stop().
  ::fcntl(acceptor_.native_handle(), F_SETFD, FD_CLOEXEC);
  port_ = acceptor_.local_endpoint().port();
  return Status::Ok();
}

Status PortalServer::Impl::Run(bool handle_signals) {
  // Nothing runs on the io_context yet: these need not be on strand_.
  if (handle_signals) {
    signals_.emplace(strand_, SIGTERM, SIGINT);
    signals_->async_wait([this](error_code ec, int) {
      if (!ec) BeginShutdown();
    });
  }
  Accept();
  // A handler that throws (it should not) stops every thread, and the
  // exception leaves Run() as it would with one thread.
  std::mutex error_mu;
  std::exception_ptr error;
  auto run = [&] {
    try {
      ioc_.run();
    } catch (...) {
      {
        std::lock_guard lock(error_mu);
        if (!error) error = std::current_exception();
      }
      ioc_.stop();
    }
  };
  std::vector<std::thread> pool;
  pool.reserve(static_cast<std::size_t>(threads_ - 1));
  for (int i = 1; i < threads_; ++i) pool.emplace_back(run);
  run();
  for (std::thread& t : pool) t.join();
  if (error) std::rethrow_exception(error);
  return Status::Ok();
}

void PortalServer::Impl::Accept() {
  acceptor_.async_accept(net::make_strand(ioc_), beast::bind_front_handler(&Impl::OnAccept, this));
}

// On strand_ (the acceptor's executor), so one at a time, and never
// alongside BeginShutdown(). Only this adds sessions, so the count cannot
// grow between the check and Start()'s Register().
void PortalServer::Impl::OnAccept(error_code ec, tcp::socket socket) {
  if (stopping() || !acceptor_.is_open()) return;
  if (!ec) {
    if (static_cast<int>(SessionCount()) >= options_.max_connections) {
      socket.close(ec);
    } else {
      ::fcntl(socket.native_handle(), F_SETFD, FD_CLOEXEC);
      tcp::endpoint peer = socket.remote_endpoint(ec);
      if (!ec) {
        std::make_shared<Session>(*this, std::move(socket), ssl_, EndpointText(peer))->Start();
      }
    }
  }
  // Accept errors (a connection reset before accept, EMFILE) concern one
  // connection; keep listening.
  Accept();
}

// From a session's destructor, on any thread.
void PortalServer::Impl::Unregister(Session* s) {
  bool last = false;
  {
    std::lock_guard lock(sessions_mu_);
    sessions_.erase(s);
    last = stopping() && sessions_.empty();
  }
  // The grace timer belongs to strand_. A cancel that lands before
  // BeginShutdown() has armed it (BeginShutdown() then saw no session
  // either) finds nothing to cancel. (A stopped io_context is one Run() gave
  // up on after a throwing handler: it runs nothing more.)
  if (last && !ioc_.stopped()) net::post(strand_, [this] { grace_timer_.cancel(); });
}

// On strand_.
void PortalServer::Impl::CloseAll(bool in_flight_too) {
  std::vector<std::shared_ptr<Session>> live;  // released after the lock
  {
    std::lock_guard lock(sessions_mu_);
    for (auto& [raw, weak] : sessions_) {
      if (auto s = weak.lock()) live.push_back(std::move(s));
    }
  }
  for (auto& s : live) {
    net::post(s->executor(), [s, in_flight_too] {
      if (in_flight_too) {
        s->Cut();
      } else {
        s->OnServerStop();
      }
    });
  }
}

// On strand_.
void PortalServer::Impl::BeginShutdown() {
  {
    std::lock_guard lock(sessions_mu_);
    if (stopping()) return;
    stopping_.store(true, std::memory_order_release);
  }
  error_code ec;
  acceptor_.close(ec);
  if (signals_) signals_->cancel(ec);
  CloseAll(false);
  if (SessionCount() == 0) return;
  grace_timer_.expires_after(Ms(options_.shutdown_grace_ms));
  grace_timer_.async_wait([this](error_code e) {
    if (!e) CloseAll(true);
  });
}

Result<std::unique_ptr<PortalServer>> PortalServer::Create(const PortalServerOptions& options,
                                                           PortalBackend& backend) {
  auto impl = std::make_unique<Impl>(options, backend);
  if (Status s = impl->Configure(); !s.ok()) return s;
  return std::unique_ptr<PortalServer>(new PortalServer(std::move(impl)));
}

PortalServer::PortalServer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
PortalServer::~PortalServer() = default;
int PortalServer::port() const { return impl_->port(); }
Status PortalServer::Run(bool handle_signals) { return impl_->Run(handle_signals); }
void PortalServer::Stop() { impl_->Stop(); }

}  // namespace itaku::transports
