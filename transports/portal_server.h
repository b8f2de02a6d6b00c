// The contractor portal's HTTPS listener (policy 6(2) サーバへのアクセス).
//
// TLS 1.2/1.3 with forward-secret AEAD ciphers only; a client certificate is
// required at the handshake, and any certificate within its validity is
// accepted there (self-signed is fine; one before its notBefore or past its
// notAfter is refused with a certificate_expired alert, and the refusal is
// audited with status 0): the caller is whoever PortalBackend::Authenticate
// says the certificate's SHA-256 fingerprint belongs to, asked again on
// every request and every status_recheck_ms during a download, so a
// suspension (or the certificate's expiry) takes effect at once. Serves
// exactly three things (the details in transports/portal_route.h):
//
//   GET  /portal/v1/packages       200, JSON array of the caller's packages
//   GET  /portal/v1/packages/{id}  200/206 the file (single Range), 404, 410, 416, 429
//   POST /portal/v1/disposals/{delivery_id}?method=M&on=YYYY-MM-DD
//        a certificate of return or destruction (廃棄証明書), PDF, PNG or
//        JPEG: 201, 400, 404, 409, 411, 413, 415
//
// Anything else: 404 (unknown path) or 405 (another method), JSON body
// {"error": "..."}. A refused certificate gets 403 and the connection is
// closed; so does a malformed request (400), a head over 8 KiB (431), a GET
// with a body (413), and any request refused before its body was read.
// Every request is passed to PortalBackend::Audit exactly once; every
// download holds a slot from BeginDownload (410 or 429 when none is left)
// and is passed, finished or broken, to RecordDownload.
//
// Uploads: the head is judged first (Route()), so a body that is too
// large, of the wrong type or for a bad method or day is refused before a
// byte of it is read (and "Expect: 100-continue" is answered only for an
// upload taken). The body then goes, a buffer at a time, into a new file
// (0600, O_EXCL) in upload_dir, with io_timeout_ms on every read; the
// caller is authenticated again once it is in, and the file is passed to
// PortalBackend::AcceptDisposalCertificate and removed when that returns,
// or when the upload breaks off, whatever happens.
//
// Hostile networks: a connection is accepted and closed at once, before any
// TLS, when its address already has max_connections_per_address open (IPv4
// by address, IPv6 by /64) or the server max_connections; one that has not
// finished its TLS handshake and sent its first request head within
// handshake_timeout_ms of being accepted is closed. So idle or slow
// connections from one address cannot lock out contractors elsewhere, and
// those from the contractor's own address go within a few seconds.
//
// Threading: Run() serves on `threads` threads (itself and threads it
// starts and joins). The backend is called from one thread at a time: every
// call is serialized under one mutex, but successive calls may come from
// different threads. Stop() may be called from any thread.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "contracts/base/status.h"
#include "transports/portal_backend.h"

namespace itaku::transports {

struct PortalServerOptions {
  std::string listen = "127.0.0.1:8443";  // "ADDR:PORT" ("[::1]:8443"); port 0 picks a free one
  std::string cert_file, key_file;        // the portal's own certificate (chain) and key, PEM
  // From accept: the TLS handshake and the first request head within this
  // (and within header_timeout_ms, when that is shorter).
  int handshake_timeout_ms = 5000;
  // On a kept-alive connection: the next request head within this (the idle
  // keep-alive timeout).
  int header_timeout_ms = 10000;
  int io_timeout_ms = 30000;  // any other read or write making no progress
  // Open connections, in all and from one address (IPv6: one /64); more
  // are accepted and closed at once.
  int max_connections = 256;
  int max_connections_per_address = 32;
  int shutdown_grace_ms = 30000;  // on stop: in-flight responses may finish within this
  int status_recheck_ms = 1000;   // during a download, re-authenticate this often
  int threads = 0;                // threads serving; 0: one per core (hardware_concurrency)
  // Uploads (certificates of disposal): the largest body taken (larger:
  // 413 before it is read), and the folder the bodies are written to while
  // they are handled: the daemon's own, mode 0700 (Create() refuses one
  // open to group or others). Empty: uploads are answered 503.
  uint64_t max_upload_bytes = uint64_t{10} << 20;
  std::string upload_dir;
};

class PortalServer {
 public:
  // Loads the certificate and key and binds the listening socket; does not
  // accept yet. Errors, one line each:
  //   "portal certificate FILE: <reason>"
  //   "portal key FILE: <reason>"
  //   "portal key FILE does not match certificate FILE"
  //   "portal upload folder DIR: <reason>"
  //   "portal upload folder DIR is open to group or others; it must be mode 0700"
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
