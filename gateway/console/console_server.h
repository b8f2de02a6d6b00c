// The console's HTTPS listener (`itaku serve --console-listen`): TLS 1.2+
// with forward-secret AEAD ciphers, no client certificate (staff sign in),
// one thread per connection up to max_connections. Reads each request whole
// before handing it on: a urlencoded body up to max_form_bytes, a
// multipart/form-data body streamed part by part (multipart.h) with each
// file written straight to disk, so memory stays flat for a 1 GB
// export. A watchdog closes a connection whose request head does not
// arrive within header_timeout_ms, or that makes no progress for
// io_timeout_ms.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <variant>

#include "contracts/base/status.h"
#include "gateway/console/web.h"

namespace itaku::gateway::console {

// What the listener serves. Called from many threads at once.
class ConsoleHandler {
 public:
  virtual ~ConsoleHandler() = default;
  // Before a multipart body is read (only the head is known): the folder
  // its files are written into, or the response that refuses it (no
  // session, an endpoint that takes no files).
  virtual std::variant<std::string, WebResponse> UploadFolder(const WebRequest& head) = 0;
  virtual WebResponse Handle(WebRequest& request) = 0;
};

struct ConsoleServerOptions {
  std::string listen = "127.0.0.1:8444";  // "ADDR:PORT"; port 0 picks a free one
  std::string cert_file, key_file;        // PEM
  int max_connections = 64;
  int header_timeout_ms = 10000;
  int io_timeout_ms = 60000;
  uint64_t max_form_bytes = 1 << 20;              // a urlencoded form
  uint64_t max_upload_bytes = uint64_t{4} << 30;  // one multipart request (else 413)
};

class ConsoleServer {
 public:
  // Loads the certificate and key and binds; errors name the file or address:
  //   "console certificate FILE: <reason>", "console key FILE: <reason>",
  //   "console listen address "X": expected ADDR:PORT", "cannot listen on X: <reason>"
  static Result<std::unique_ptr<ConsoleServer>> Create(const ConsoleServerOptions& options,
                                                       ConsoleHandler& handler);
  ~ConsoleServer();
  ConsoleServer(const ConsoleServer&) = delete;
  ConsoleServer& operator=(const ConsoleServer&) = delete;

  int port() const;
  // Accepts and serves until Stop() (from another thread); returns when
  // connections in flight have finished.
  void Run();
  void Stop();

  struct Impl;

 private:
  explicit ConsoleServer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace itaku::gateway::console
