// The portal server's inside, shared by its two files: the listener
// (portal_server.cc: TLS setup, accepting, the graceful stop) and the
// sessions (portal_session.cc: one TLS connection each).
#pragma once

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

#include "transports/portal_server.h"

namespace itaku::transports {
namespace detail {

namespace beast = boost::beast;
namespace http = beast::http;
namespace net = boost::asio;
namespace ssl = net::ssl;
using tcp = net::ip::tcp;
using beast::error_code;

inline std::chrono::milliseconds Ms(int ms) { return std::chrono::milliseconds(ms > 0 ? ms : 1); }

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
  Slot BeginDownload(const PortalCaller& caller, const PortalPackage& package, uint64_t first_byte,
                     uint64_t length, std::string* why) override {
    std::lock_guard lock(mu_);
    return inner_.BeginDownload(caller, package, first_byte, length, why);
  }
  void RecordDownload(const PortalCaller& caller, const std::string& package_id,
                      uint64_t first_byte, uint64_t bytes, bool complete) override {
    std::lock_guard lock(mu_);
    inner_.RecordDownload(caller, package_id, first_byte, bytes, complete);
  }
  // Held while the registry copies the certificate (at most
  // max_upload_bytes, from local disk): other requests wait that long.
  UploadAnswer AcceptDisposalCertificate(const PortalCaller& caller, int64_t delivery_id,
                                         const std::string& method, const std::string& disposed_on,
                                         const std::string& file,
                                         const std::string& file_name) override {
    std::lock_guard lock(mu_);
    return inner_.AcceptDisposalCertificate(caller, delivery_id, method, disposed_on, file,
                                            file_name);
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

// Whose connections count together against max_connections_per_address:
// an IPv4 address (also when it comes IPv4-mapped), or an IPv6 /64 (one
// subscriber line usually holds a whole /64).
inline std::string AddressKey(const net::ip::address& address) {
  if (address.is_v6() && address.to_v6().is_v4_mapped()) {
    return net::ip::make_address_v4(net::ip::v4_mapped, address.to_v6()).to_string();
  }
  if (address.is_v6()) {
    net::ip::address_v6::bytes_type bytes = address.to_v6().to_bytes();
    std::fill(bytes.begin() + 8, bytes.end(), 0);
    return net::ip::address_v6(bytes).to_string() + "/64";
  }
  return address.to_string();
}

inline int ThreadCount(const PortalServerOptions& options) {
  if (options.threads > 0) return options.threads;
  return std::max(1, static_cast<int>(std::thread::hardware_concurrency()));
}

// What the listener asks of a session, from its own strand.
class PortalSessionBase {
 public:
  virtual ~PortalSessionBase() = default;
  // The server is stopping: an idle connection goes now, a response in
  // flight finishes first.
  virtual void OnServerStop() = 0;
  // The grace period is over.
  virtual void Cut() = 0;
  virtual net::any_io_executor executor() = 0;
};

}  // namespace detail

using namespace detail;

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
        accept_retry_(strand_),
        grace_timer_(strand_) {}

  Status Configure();
  Status Run(bool handle_signals);
  void Stop() {
    net::post(strand_, [this] { BeginShutdown(); });
  }
  int port() const { return port_; }

  // For sessions, from any thread.
  ssl::context& ssl() { return ssl_; }
  const PortalServerOptions& options() const { return options_; }
  PortalBackend& backend() { return backend_; }
  bool stopping() const { return stopping_.load(std::memory_order_acquire); }
  // `key`: the session's AddressKey(), counted against
  // max_connections_per_address until Unregister().
  void Register(PortalSessionBase* s, std::weak_ptr<PortalSessionBase> w, const std::string& key) {
    std::lock_guard lock(sessions_mu_);
    sessions_.emplace(s, Entry{std::move(w), key});
    ++per_address_[key];
  }
  void Unregister(PortalSessionBase* s);

 private:
  struct Entry {
    std::weak_ptr<PortalSessionBase> session;
    std::string address_key;
  };

  void Accept();
  void OnAccept(error_code ec, tcp::socket socket);
  void BeginShutdown();
  void CloseAll(bool in_flight_too);
  std::size_t SessionCount() {
    std::lock_guard lock(sessions_mu_);
    return sessions_.size();
  }
  // Whether one more connection from `key` stays within both limits.
  bool Admits(const std::string& key) {
    std::lock_guard lock(sessions_mu_);
    if (static_cast<int>(sessions_.size()) >= options_.max_connections) return false;
    auto it = per_address_.find(key);
    return it == per_address_.end() || it->second < options_.max_connections_per_address;
  }

  const PortalServerOptions options_;
  SerializedBackend backend_;
  const int threads_;
  // Before ioc_: sessions unregister even as the io_context destroys them.
  // sessions_mu_ guards sessions_ and per_address_; stopping_ is set under it.
  std::mutex sessions_mu_;
  std::unordered_map<PortalSessionBase*, Entry> sessions_;
  std::unordered_map<std::string, int> per_address_;  // open sessions by AddressKey()
  std::atomic<bool> stopping_{false};
  net::io_context ioc_;
  // The acceptor, the grace timer and the signals: their handlers, and
  // BeginShutdown(), run here one at a time.
  net::strand<net::io_context::executor_type> strand_;
  ssl::context ssl_;
  tcp::acceptor acceptor_;
  net::steady_timer accept_retry_;  // out of file descriptors: accept again after a pause
  net::steady_timer grace_timer_;
  std::optional<net::signal_set> signals_;
  int port_ = 0;
};

namespace detail {

// Starts serving one accepted connection; it owns itself from here on.
// `address` is the client's "ip:port" (for the record), `address_key` its
// AddressKey().
void StartPortalSession(PortalServer::Impl& server, tcp::socket&& socket, std::string address,
                        std::string address_key);

}  // namespace detail
}  // namespace itaku::transports
