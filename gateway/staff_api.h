// The staff API: HTTP/1.1 + JSON on a local Unix socket, served by
// `itaku serve` (docs/staff-api.yaml). The caller is the staff member
// registered for the uid the kernel reports for the socket (SO_PEERCRED);
// nothing a request says changes who it is. Every command runs here, in the
// daemon, through the same functions and with the role each needs
// (policies/access_rules.h); files the caller reads travel in the request
// and files it receives travel back.
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "contracts/base/status.h"

#include "gateway/audit_keys.h"
#include "policies/subscriber_id.h"

namespace itaku::gateway {

struct StaffApiOptions {
  std::string socket_path;  // created 0666: anyone may ask, the uid decides
  std::string db_path;      // the store; its "<db>.d/spool" holds uploads in flight
  std::string config_file;  // serve --config: the daemon's [smtp] and [requests]
  AuditKeys audit_keys;     // the daemon's, loaded once at start
  // [records] subscriber_id_pattern, compiled at start; unset: the default.
  std::optional<policies::SubscriberIdPattern> subscriber_id_pattern;
  size_t max_json_bytes = 1 << 20;                   // a command's JSON body (else 413)
  uint64_t max_upload_bytes = uint64_t{64} << 30;    // one uploaded file (else 413)
  int max_connections = 32;                          // in flight at once (else 503)
  int idle_timeout_ms = 120000;                      // between requests on one connection
};

class StaffApiServer {
 public:
  static Result<std::unique_ptr<StaffApiServer>> Create(const StaffApiOptions& options);
  ~StaffApiServer();
  // Accepts and serves until Stop() (from another thread).
  void Run();
  void Stop();
  // Commands that change anything run one at a time under this mutex; the
  // console's sessions share it.
  std::mutex* writer();

  struct Impl;  // staff_api.cc

 private:
  explicit StaffApiServer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// The socket the CLI talks to: --socket, else $ITAKU_SOCKET, else this.
constexpr char kDefaultSocket[] = "/run/itaku/itaku.sock";

}  // namespace itaku::gateway
