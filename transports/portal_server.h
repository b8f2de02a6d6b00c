// The contractor portal's HTTPS listener (policy 6(2) サーバへのアクセス).
//
// TLS 1.2/1.3 with forward-secret AEAD ciphers only; a client certificate is
// required at the handshake, but any certificate is accepted there (self-
// signed is fine): the caller is whoever PortalBackend::Authenticate says the
// certificate's SHA-256 fingerprint belongs to, asked again on every request
// and every status_recheck_ms during a download, so a suspension takes effect
// at once. Serves exactly two things:
//
//   GET /portal/v1/packages       200, JSON array of the caller's packages
//   GET /portal/v1/packages/{id}  200/206 the file (single Range), 404, 410, 416
//
// Anything else: 404 (unknown path) or 405 (another method), JSON body
// {"error": "..."}. A refused certificate gets 403 and the connection is
// closed; so does a malformed request (400), a head over 8 KiB (431) and a
// request with a body (413). Every request is passed to PortalBackend::Audit
// exactly once; every download, finished or broken, to RecordDownload.
//
// Threading: Run() serves on `threads` threads (itself and threads it
// starts and joins). The backend is called from one thread at a time: every
// call is serialized under one mutex, but successive calls may come from
// different threads. Stop() may be called from any thread.
#pragma once

#include <memory>
#include <string>

#include "contracts/base/status.h"
#include "transports/portal_backend.h"

namespace itaku::transports {

struct PortalServerOptions {
  std::string listen = "127.0.0.1:8443";  // "ADDR:PORT" ("[::1]:8443"); port 0 picks a free one
  std::string cert_file, key_file;        // the portal's own certificate (chain) and key, PEM
  int header_timeout_ms = 10000;          // TLS handshake, and each request head, within this
  int io_timeout_ms = 30000;              // any other read or write making no progress
  int max_connections = 256;              // more are accepted and closed at once
  int shutdown_grace_ms = 30000;          // on stop: in-flight responses may finish within this
  int status_recheck_ms = 1000;           // during a download, re-authenticate this often
  int threads = 0;                        // threads serving; 0: one per core (hardware_concurrency)
};

class PortalServer {
 public:
  // Loads the certificate and key and binds the listening socket; does not
  // accept yet. Errors, one line each:
  //   "portal certificate FILE: <reason>"
  //   "portal key FILE: <reason>"
  //   "portal key FILE does not match certificate FILE"
  //   "portal listen address "X": expected ADDR:PORT"
  //   "cannot listen on X: <reason>"
  // `backend` must outlive the server.
  static Result<std::unique_ptr<PortalServer>> Create(const PortalServerOptions& options,
                                                      PortalBackend& backend);
  ~PortalServer();
  PortalServer(const PortalServer&) = delete;
  PortalServer& operator=(const PortalServer&) = delete;

  // The bound port (the chosen one when the options said 0).
  int port() const;

  // Accepts and serves until Stop(), or SIGTERM/SIGINT when handle_signals.
  // Stopping closes the listener and idle connections at once, lets
  // responses in flight finish for up to shutdown_grace_ms, then cuts the
  // rest. Returns Ok once every connection is gone. Call at most once.
  Status Run(bool handle_signals);

  // Begins the graceful stop described at Run(). Thread-safe; may come
  // before Run(), which then returns at once.
  void Stop();

  class Impl;

 private:
  explicit PortalServer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace itaku::transports
