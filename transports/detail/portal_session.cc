// One portal connection: Beast's async SSL session (owning itself through
// shared_from_this, on its own strand, a deadline on every operation).
// Route() (portal_route.h) decides every answer; this file only reads
// requests and writes answers and files.
#include "transports/certificate.h"
#include "transports/detail/portal_server_impl.h"
#include "transports/detail/tls_chunk_encrypter.h"
#include "transports/portal_route.h"

namespace itaku::transports::detail {
namespace {

constexpr std::uint32_t kMaxHeadBytes = 8192;
// A download goes out in chunks of this much of the file, each encrypted
// as a whole (detail::TlsChunkEncrypter) and handed to the socket with one
// write (and one deadline).
constexpr std::size_t kChunkBytes = 1024 * 1024;

using std::chrono::system_clock;

// The client certificate: its fingerprint ("SHA256:AB:CD:…", as `openssl
// x509 -noout -fingerprint -sha256` prints it after "=", and as
// transports::CertificateInfo::fingerprint holds it) and validity.
struct PeerCertificate {
  std::string fingerprint;  // empty: none, or unreadable
  system_clock::time_point not_before, not_after;
};
PeerCertificate ReadPeerCertificate(SSL* ssl) {
  PeerCertificate peer;
  X509* cert = SSL_get1_peer_certificate(ssl);
  if (cert == nullptr) return peer;
  if (CertificateValidity(cert, &peer.not_before, &peer.not_after)) {
    peer.fingerprint = CertificateFingerprint(cert);
  }
  X509_free(cert);
  return peer;
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

// One TLS connection: handshake, then requests one after another
// (keep-alive) until the client leaves, a refusal closes it, or the server
// stops.
class Session : public PortalSessionBase, public std::enable_shared_from_this<Session> {
 public:
  Session(PortalServer::Impl& server, tcp::socket&& socket, ssl::context& ctx, std::string address,
          std::string address_key)
      : server_(server),
        stream_(std::move(socket), ctx),
        recheck_timer_(stream_.get_executor()),
        address_(std::move(address)),
        address_key_(std::move(address_key)) {}
  ~Session() { server_.Unregister(this); }

  void Start() {
    server_.Register(this, weak_from_this(), address_key_);
    // One deadline from accept to the first request head: a connection
    // that sends nothing, or a ClientHello a byte at a time, is gone by then.
    first_deadline_ = std::chrono::steady_clock::now() +
                      Ms(std::min(options().handshake_timeout_ms, options().header_timeout_ms));
    Lowest().expires_at(first_deadline_);
    // Called during the handshake only, while the handshake (and so this
    // session) is under way.
    stream_.set_verify_callback(
        [this](bool, ssl::verify_context& ctx) { return VerifyValidity(ctx.native_handle()); });
    stream_.async_handshake(ssl::stream_base::server,
                            beast::bind_front_handler(&Session::OnHandshake, shared_from_this()));
  }

  // The server is stopping: an idle connection goes now, a response in
  // flight finishes first (ReadRequest() then sees stopping()).
  void OnServerStop() override {
    if (!responding_) Lowest().close();
  }
  // The grace period is over.
  void Cut() override { Lowest().close(); }
  net::any_io_executor executor() override { return stream_.get_executor(); }

 private:
  const PortalServerOptions& options() const { return server_.options(); }
  PortalBackend& backend() { return server_.backend(); }
  beast::tcp_stream& Lowest() { return beast::get_lowest_layer(stream_); }
  PortalCaller Caller() const { return PortalCaller{contractor_id_, fingerprint_, address_}; }

  // Any certificate is accepted at the handshake, but only within its
  // validity: OpenSSL checks the dates of a chain it can verify, and a
  // self-signed one it cannot verify is otherwise accepted whatever its
  // dates. The client then gets a certificate_expired alert, and the
  // refusal goes on record (OnHandshake). Asked once per handshake, for the
  // client's own certificate.
  bool VerifyValidity(X509_STORE_CTX* ctx) {
    if (validity_checked_) return validity_refusal_.empty();
    X509* leaf = X509_STORE_CTX_get0_cert(ctx);
    if (leaf == nullptr) return true;
    validity_checked_ = true;
    system_clock::time_point not_before, not_after;
    if (!CertificateValidity(leaf, &not_before, &not_after)) {
      validity_refusal_ = "certificate dates unreadable";
    } else {
      validity_refusal_ = CertificateValidityRefusal(not_before, not_after, system_clock::now());
    }
    if (validity_refusal_.empty()) return true;
    fingerprint_ = CertificateFingerprint(leaf);
    X509_STORE_CTX_set_error(ctx, system_clock::now() < not_before ? X509_V_ERR_CERT_NOT_YET_VALID
                                                                   : X509_V_ERR_CERT_HAS_EXPIRED);
    return false;
  }

  void OnHandshake(error_code ec) {
    if (ec) {
      // No certificate, old protocol, timeout: nothing was asked. A
      // certificate refused for its dates is a contractor (or someone with
      // a contractor's old key) trying to sign in: on record.
      if (!validity_refusal_.empty() && !fingerprint_.empty()) {
        IdentifyForRecord();
        backend().Audit(Caller(), "", "", "", 0, 0, validity_refusal_);
      }
      return;
    }
    // A resumed TLS session skips the verify callback: the dates are asked
    // again on every request (Handle) from what the certificate says.
    PeerCertificate peer = ReadPeerCertificate(stream_.native_handle());
    if (peer.fingerprint.empty()) return Lowest().close();
    fingerprint_ = peer.fingerprint;
    not_before_ = peer.not_before;
    not_after_ = peer.not_after;
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
    if (first_request_) {
      first_request_ = false;
      Lowest().expires_at(first_deadline_);
    } else {
      Lowest().expires_after(Ms(options().header_timeout_ms));
    }
    http::async_read_header(stream_, buffer_, *parser_,
                            beast::bind_front_handler(&Session::OnHead, shared_from_this()));
  }

  // Who the certificate belongs to now, or nullopt with *why: its owner is
  // not active, or it has expired since the handshake.
  std::optional<std::string> Authenticate(std::string* why) {
    std::string refusal = CertificateValidityRefusal(not_before_, not_after_, system_clock::now());
    if (!refusal.empty()) {
      *why = std::move(refusal);
      return std::nullopt;
    }
    return backend().Authenticate(fingerprint_, why);
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
    contractor_id_ = Authenticate(&why).value_or("");
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

  // The plan (200, 206, 416) comes from the record's size, and a slot is
  // taken before the file is opened: a package used up meanwhile, whose
  // file is then deleted, answers 410 rather than a missing file.
  void Download(const PortalPackage& pkg, const std::string& range, const std::string& if_range) {
    const DownloadPlan plan = PlanDownload(pkg, pkg.size, range, if_range);
    if (plan.status == 416) {
      return Reply(http::status::range_not_satisfiable, PortalErrorBody("range not satisfiable"),
                   "range not satisfiable", pkg.size);
    }
    std::string why;
    switch (backend().BeginDownload(Caller(), pkg, plan.range.first, plan.range.length, &why)) {
      case PortalBackend::Slot::kGone:
        return Reply(http::status::gone, PortalErrorBody(kPortalGoneMessage),
                     why.empty() ? "gone" : "gone: " + why);
      case PortalBackend::Slot::kBusy:
        return Reply(http::status::too_many_requests,
                     PortalErrorBody(why.empty() ? "try again later" : why),
                     why.empty() ? "busy" : why);
      case PortalBackend::Slot::kGranted:
        break;
    }
    file_.Reset(::open(pkg.path.c_str(), O_RDONLY | O_CLOEXEC));
    struct stat st {};
    std::string unavailable;
    if (file_.get() < 0 || ::fstat(file_.get(), &st) != 0) {
      unavailable = "package file unavailable: " + pkg.path;
    } else if (static_cast<uint64_t>(st.st_size) != pkg.size) {
      unavailable = "package file size " + std::to_string(st.st_size) +
                    " differs from the record's " + std::to_string(pkg.size) + ": " + pkg.path;
    }
    if (!unavailable.empty()) {
      file_.Reset();
      backend().RecordDownload(Caller(), package_id_, plan.range.first, 0, false);  // the slot back
      return Reply(http::status::internal_server_error, PortalErrorBody("package file unavailable"),
                   unavailable);
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
                     std::to_string(pkg.size));
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
      if (!self->Authenticate(&why)) {
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
  const std::string address_key_;                         // AddressKey(), for the per-address count
  std::chrono::steady_clock::time_point first_deadline_;  // handshake + first head by then
  bool first_request_ = true;
  std::string fingerprint_;
  system_clock::time_point not_before_, not_after_;  // the client certificate's validity
  bool validity_checked_ = false;
  std::string validity_refusal_;  // why the handshake refused the certificate
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

void StartPortalSession(PortalServer::Impl& server, tcp::socket&& socket, std::string address,
                        std::string address_key) {
  std::make_shared<Session>(server, std::move(socket), server.ssl(), std::move(address),
                            std::move(address_key))
      ->Start();
}

}  // namespace itaku::transports::detail
