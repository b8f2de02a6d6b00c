// One portal connection: Beast's async SSL session (owning itself through
// shared_from_this, on its own strand, a deadline on every operation).
// Route() (portal_route.h) decides every answer; this file only reads
// requests (and upload bodies, into files) and writes answers and files.
#include <limits>

#include "contracts/base/files.h"
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
// An upload's body is read from the socket into a buffer of this size and
// written to its file; no more of it is held.
constexpr std::size_t kUploadBufferBytes = 64 * 1024;
// The name the contractor keeps an upload under (portal_route.h).
constexpr char kFileNameHeader[] = "X-Itaku-File-Name";
constexpr char kContinue[] = "HTTP/1.1 100 Continue\r\n\r\n";
// Linger(): at most this long, reading this much at a time.
constexpr int kLingerMs = 5000;
constexpr std::size_t kLingerBufferBytes = 16 * 1024;
constexpr char kNotStored[] = "the certificate could not be stored; try again later";

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

// The file an upload's body goes to: new (O_EXCL, 0600, never through a
// symbolic link) under a random name in the upload folder, and removed by
// Remove() or with this object, however the upload ends.
class UploadFile {
 public:
  UploadFile() = default;
  UploadFile(const UploadFile&) = delete;
  UploadFile& operator=(const UploadFile&) = delete;
  ~UploadFile() { Remove(); }

  // Empty, or why the file could not be made.
  std::string Create(const std::string& dir) {
    Remove();
    Result<std::string> name = RandomHex32();
    if (!name.ok()) return name.message();
    const std::string path = dir + "/upload-" + name->substr(0, 32) + ".part";
    fd_ = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd_ < 0) return std::strerror(errno);
    path_ = path;
    return "";
  }
  // All of it, or false with *why.
  bool Write(const char* data, std::size_t size, std::string* why) {
    for (std::size_t done = 0; done < size;) {
      const ssize_t n = ::write(fd_, data + done, size - done);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) {
        *why = n < 0 ? std::strerror(errno) : "nothing written";
        return false;
      }
      done += static_cast<std::size_t>(n);
    }
    return true;
  }
  // The last write's error may come only here (a full disk over NFS).
  bool Close(std::string* why) {
    const int fd = fd_;
    fd_ = -1;
    if (fd >= 0 && ::close(fd) != 0) {
      *why = std::strerror(errno);
      return false;
    }
    return true;
  }
  void Remove() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
    if (!path_.empty()) ::unlink(path_.c_str());
    path_.clear();
  }
  const std::string& path() const { return path_; }

 private:
  int fd_ = -1;
  std::string path_;
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
    allow_.clear();
    received_ = 0;
    unread_body_ = false;
    if (server_.stopping()) return Close();
    parser_.emplace();
    parser_->header_limit(kMaxHeadBytes);
    // Beast would refuse a Content-Length over its default limit (1 MiB)
    // as it reads the head; Route() judges a body's size, with the head in
    // hand, and an upload's body parser has its own limit.
    parser_->body_limit(std::numeric_limits<std::uint64_t>::max());
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
    PortalRequest request;
    request.method = method_;
    request.target = target_;
    if (const auto length = parser_->content_length()) request.content_length = *length;
    request.chunked = parser_->chunked();
    request.has_body = request.chunked || request.content_length.value_or(0) > 0;
    request.content_type = std::string(req[http::field::content_type]);
    unread_body_ = request.has_body;
    if (const std::size_t names = req.count(kFileNameHeader); names > 0) {
      request.file_name = std::string(req[kFileNameHeader]);
      request.file_name_repeated = names > 1;
    }
    PortalResponse r = Route(request, Caller(), why, backend(), options().max_upload_bytes);
    package_id_ = r.package_id;
    allow_ = r.allow;
    if (r.close) keep_alive_ = false;
    if (r.download) {
      return Download(*r.download, std::string(req[http::field::range]),
                      std::string(req[http::field::if_range]));
    }
    if (r.upload) {
      return Upload(std::move(*r.upload), beast::iequals(req[http::field::expect], "100-continue"));
    }
    Reply(static_cast<http::status>(r.status), std::move(r.body), r.outcome);
  }

  // The body of an upload Route() took: into a new file, a buffer at a
  // time, each read within io_timeout_ms; then FinishUpload() answers, and
  // the file goes.
  void Upload(PortalUpload upload, bool expect_continue) {
    if (options().upload_dir.empty()) {
      keep_alive_ = false;  // the body stays unread
      return Reply(http::status::service_unavailable,
                   PortalErrorBody("this portal takes no uploads"), "uploads not configured");
    }
    if (std::string why = upload_file_.Create(options().upload_dir); !why.empty()) {
      keep_alive_ = false;
      return Reply(http::status::internal_server_error, PortalErrorBody(kNotStored),
                   "upload file not created: " + why);
    }
    upload_ = std::move(upload);
    upload_head_.clear();
    upload_error_.clear();
    body_parser_.emplace(std::move(*parser_));
    body_parser_->body_limit(upload_->length);  // Route() held it to max_upload_bytes
    upload_buffer_.resize(kUploadBufferBytes);
    if (!expect_continue) return ReadUpload();
    // The client waits for this before it sends the body.
    Lowest().expires_after(Ms(options().io_timeout_ms));
    net::async_write(stream_, net::buffer(kContinue, sizeof kContinue - 1),
                     beast::bind_front_handler(&Session::OnContinueWritten, shared_from_this()));
  }

  void OnContinueWritten(error_code ec, std::size_t) {
    if (ec) return UploadBrokenOff(ec);
    ReadUpload();
  }

  void ReadUpload() {
    auto& body = body_parser_->get().body();
    body.data = upload_buffer_.data();
    body.size = upload_buffer_.size();
    Lowest().expires_after(Ms(options().io_timeout_ms));
    http::async_read_some(stream_, buffer_, *body_parser_,
                          beast::bind_front_handler(&Session::OnUploadRead, shared_from_this()));
  }

  void OnUploadRead(error_code ec, std::size_t) {
    if (ec == http::error::need_buffer) ec = {};  // the buffer is full: write it out
    const std::size_t n = upload_buffer_.size() - body_parser_->get().body().size;
    if (n > 0) {
      if (upload_head_.size() < 8) {
        upload_head_.append(upload_buffer_.data(), std::min(n, 8 - upload_head_.size()));
      }
      received_ += n;
      if (!upload_file_.Write(upload_buffer_.data(), n, &upload_error_)) {
        EndUpload();
        keep_alive_ = false;  // the rest of the body stays unread
        return Reply(http::status::internal_server_error, PortalErrorBody(kNotStored),
                     "upload file not written: " + upload_error_);
      }
    }
    if (ec) return UploadBrokenOff(ec);
    if (!body_parser_->is_done()) return ReadUpload();
    unread_body_ = false;

    if (!upload_file_.Close(&upload_error_)) {
      EndUpload();
      return Reply(http::status::internal_server_error, PortalErrorBody(kNotStored),
                   "upload file not written: " + upload_error_);
    }
    // The upload may have taken a while: a contractor suspended meanwhile
    // records nothing.
    std::string why;
    contractor_id_ = Authenticate(&why).value_or("");
    if (contractor_id_.empty()) {
      EndUpload();
      IdentifyForRecord();
      return Refuse(http::status::forbidden,
                    "this client certificate is not registered to an active contractor",
                    why.empty() ? "refused" : why);
    }
    PortalResponse r =
        FinishUpload(*upload_, upload_file_.path(), upload_head_, Caller(), backend());
    EndUpload();
    if (r.close) keep_alive_ = false;
    Reply(static_cast<http::status>(r.status), std::move(r.body), r.outcome);
  }

  // The client left, stopped sending, or the server cut it: nothing to
  // answer, but on record.
  void UploadBrokenOff(error_code ec) {
    int status = 0;
    std::string outcome = "upload interrupted";
    if (ec == beast::error::timeout) {
      status = 408;
      outcome = "upload timed out";
    } else if (server_.stopping()) {
      outcome = "upload cut off at shutdown";
    }
    EndUpload();
    backend().Audit(Caller(), method_, target_, package_id_, received_, status, outcome);
    Lowest().close();
  }

  // The file goes, whatever happened, and so do the buffers.
  void EndUpload() {
    upload_file_.Remove();
    upload_.reset();
    body_parser_.reset();
    std::vector<char>().swap(upload_buffer_);
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
    backend().Audit(Caller(), method_, target_, package_id_, received_, static_cast<int>(status),
                    outcome);
    auto res = std::make_shared<http::response<http::string_body>>(status, 11);
    res->set(http::field::content_type, "application/json");
    SecurityHeaders(*res);
    if (!allow_.empty()) res->set(http::field::allow, allow_);
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
      if (!res->keep_alive()) return self->unread_body_ ? self->Linger() : self->Close();
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

  // An answer went out while the client may still be sending a body it
  // was not asked for (413 before the body, say). Closing now would reset
  // the connection over the unread bytes, and the client could lose the
  // answer before reading it (OpenSSL also refuses a TLS shutdown while
  // data still comes). So what comes is read and dropped, never kept,
  // until the client closes or kLingerMs have passed; then the connection
  // closes.
  void Linger() {
    responding_ = false;
    buffer_.consume(buffer_.size());
    linger_buffer_.resize(kLingerBufferBytes);
    Lowest().expires_after(Ms(std::min(options().io_timeout_ms, kLingerMs)));
    DrainSome();
  }

  void DrainSome() {
    stream_.async_read_some(net::buffer(linger_buffer_),
                            [self = shared_from_this()](error_code ec, std::size_t) {
                              if (!ec) return self->DrainSome();
                              // The client said close_notify: answer it.
                              if (ec == net::error::eof) return self->Close();
                              self->Lowest().close();  // left, or the time is up
                            });
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
  std::string allow_;         // with 405: the methods the path takes
  uint64_t received_ = 0;     // body bytes read (an upload's), for the record
  bool unread_body_ = false;  // a body follows the head that was not (all) read
  bool keep_alive_ = false;
  std::vector<char> linger_buffer_;  // what Linger() drops passes through here

  // The upload being read.
  std::optional<PortalUpload> upload_;
  std::optional<http::request_parser<http::buffer_body>> body_parser_;
  UploadFile upload_file_;
  std::vector<char> upload_buffer_;  // kUploadBufferBytes while reading, else empty
  std::string upload_head_;          // the body's first bytes (up to 8), for its type
  std::string upload_error_;

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
