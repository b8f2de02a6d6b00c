// The portal's side in the registry: the store-backed PortalBackend,
// `itaku portal list|revoke` and `itaku serve`.
#pragma once

#include <optional>
#include <string>

#include "contracts/base/status.h"
#include "gateway/context.h"
#include "transports/portal_backend.h"
#include "transports/portal_server.h"

namespace itaku::gateway {

using transports::PortalBackend;
using transports::PortalCaller;
using transports::PortalPackage;
using transports::PortalServer;
using transports::PortalServerOptions;

// Answers the portal server from the store: contractors by their portal
// certificate's fingerprint (active ones only), their packages by expiry,
// download count and revocation, every request into the audit trail.
class StorePortalBackend : public PortalBackend {
 public:
  explicit StorePortalBackend(Context& ctx);
  std::optional<std::string> Authenticate(const std::string& fingerprint,
                                          std::string* why) override;
  std::vector<PortalPackage> Available(const std::string& contractor_id) override;
  Access Find(const std::string& contractor_id, const std::string& package_id,
              PortalPackage* out) override;
  void RecordDownload(const PortalCaller& caller, const std::string& package_id,
                      uint64_t first_byte, uint64_t bytes, bool complete) override;
  void Audit(const PortalCaller& caller, const std::string& method, const std::string& target,
             const std::string& package_id, uint64_t bytes, int status,
             const std::string& outcome) override;

 private:
  Context& ctx_;
};

// Every portal package (or one contractor's) with who downloaded what, when.
Result<Output> PortalList(Context& ctx, const std::optional<std::string>& contractor);
// Withdraws a package at once (410 from then on) and deletes its file.
Result<Output> PortalRevoke(Context& ctx, const std::string& package_id);

struct ServeArgs {
  std::string config_file;  // TOML: [portal] listen, cert, key, max_connections, ...
  std::string listen;       // flags win over the config file
  std::string cert_file;
  std::string key_file;
  int header_timeout_ms = 0;  // 0: the default
  std::string socket_path;    // the staff API's Unix socket
  // The staff console (gateway/console): served when a certificate and key
  // are given here or as [console] cert and key; listen defaults to
  // 127.0.0.1:8444 ([console] listen).
  std::string console_listen, console_cert, console_key;
};
// Runs the staff API on its Unix socket, and the contractor portal when a
// certificate and key are configured, until SIGTERM or SIGINT.
Result<Output> Serve(Context& ctx, const ServeArgs& args);

}  // namespace itaku::gateway
