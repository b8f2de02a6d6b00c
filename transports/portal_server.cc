// The portal listener: Beast's async SSL server pattern (one session object
// per connection owning itself through shared_from_this, on its own strand,
// a deadline on every operation), run on several threads. The backend is
// not thread-safe: every call into it goes through one mutex
// (SerializedBackend). Server-wide state (the acceptor, the grace timer, the
// signals) lives on the server's strand; the session registry under its own
// mutex.
#include "transports/portal_server.h"

#include "transports/detail/portal_server_impl.h"
#include "transports/listen_address.h"

namespace itaku::transports {
namespace {

std::string EndpointText(const tcp::endpoint& ep) {
  const std::string ip = ep.address().to_string();
  const std::string port = std::to_string(ep.port());
  return ep.address().is_v6() ? "[" + ip + "]:" + port : ip + ":" + port;
}

// TLS 1.2 suites with ECDHE key exchange and an AEAD cipher; TLS 1.3 suites
// are all of that kind already and keep OpenSSL's defaults.
constexpr char kTls12Ciphers[] =
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"
    "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"
    "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305";

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
  // against, every chain "fails" pre-verification; accept it anyway. Each
  // session puts its own callback over this one, which refuses a
  // certificate outside its validity (portal_session.cc).
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

  // Uploads are written there before the backend sees them: nobody else
  // may read them, or put a file in their way.
  if (!options_.upload_dir.empty()) {
    struct stat st {};
    const std::string& dir = options_.upload_dir;
    if (::stat(dir.c_str(), &st) != 0) {
      return Status::Error("portal upload folder " + dir + ": " + std::strerror(errno));
    }
    if (!S_ISDIR(st.st_mode))
      return Status::Error("portal upload folder " + dir + ": not a folder");
    if ((st.st_mode & 077) != 0) {
      return Status::Error("portal upload folder " + dir +
                           " is open to group or others; it must be mode 0700");
    }
    if (::access(dir.c_str(), W_OK | X_OK) != 0) {
      return Status::Error("portal upload folder " + dir + ": " + std::strerror(errno));
    }
  }

  std::optional<tcp::endpoint> endpoint = ParseListenAddress(options_.listen);
  if (!endpoint) {
    return Status::Error("portal listen address \"" + options_.listen + "\": expected ADDR:PORT");
  }
  auto fail = [&](const error_code& e) {
    return Status::Io("cannot listen on " + options_.listen + ": " + e.message());
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
// alongside BeginShutdown(). Only this adds sessions, so the counts cannot
// grow between Admits() and Start()'s Register(). A connection over a limit
// is closed before any TLS: it costs one accept and one close.
void PortalServer::Impl::OnAccept(error_code ec, tcp::socket socket) {
  if (stopping() || !acceptor_.is_open()) return;
  if (!ec) {
    tcp::endpoint peer = socket.remote_endpoint(ec);
    std::string key = ec ? "" : AddressKey(peer.address());
    if (ec || !Admits(key)) {
      socket.close(ec);
    } else {
      ::fcntl(socket.native_handle(), F_SETFD, FD_CLOEXEC);
      StartPortalSession(*this, std::move(socket), EndpointText(peer), std::move(key));
    }
  } else if (ec.category() == boost::system::system_category() &&
             (ec.value() == EMFILE || ec.value() == ENFILE || ec.value() == ENOBUFS ||
              ec.value() == ENOMEM)) {
    // Out of descriptors or memory: the connection waits in the backlog, and
    // accepting again at once would fail again at once. Pause; the sessions
    // that end meanwhile (handshake deadlines) give some back.
    accept_retry_.expires_after(std::chrono::milliseconds(100));
    accept_retry_.async_wait([this](error_code e) {
      if (!e && !stopping()) Accept();
    });
    return;
  }
  // Other accept errors (a connection reset before accept) concern one
  // connection; keep listening.
  Accept();
}

// From a session's destructor, on any thread.
void PortalServer::Impl::Unregister(PortalSessionBase* s) {
  bool last = false;
  {
    std::lock_guard lock(sessions_mu_);
    auto it = sessions_.find(s);
    if (it != sessions_.end()) {
      auto count = per_address_.find(it->second.address_key);
      if (count != per_address_.end() && --count->second <= 0) per_address_.erase(count);
      sessions_.erase(it);
    }
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
  std::vector<std::shared_ptr<PortalSessionBase>> live;  // released after the lock
  {
    std::lock_guard lock(sessions_mu_);
    for (auto& [raw, entry] : sessions_) {
      if (auto s = entry.session.lock()) live.push_back(std::move(s));
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
  accept_retry_.cancel();
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
