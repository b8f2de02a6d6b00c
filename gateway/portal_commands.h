// The portal's side in the registry: the store-backed PortalBackend,
// `itaku portal list|revoke` and `itaku serve`.
#pragma once

#include <cstddef>
#include <map>
#include <optional>
#include <string>

#include "contracts/base/status.h"
#include "gateway/context.h"
#include "transports/portal_backend.h"
#include "transports/portal_route.h"
#include "transports/portal_server.h"

namespace itaku::gateway {

using transports::PortalBackend;
using transports::PortalCaller;
using transports::PortalPackage;
using transports::PortalServer;
using transports::PortalServerOptions;

// Answers the portal server from the store: contractors by their portal
// certificate's fingerprint (active ones only), their packages by expiry,
// download count and revocation, certificates of disposal into the
// register (DisposalRecord, gateway/supervision.h), every request into the
// audit trail.
//
// Downloads: each one holds a slot reserved in the store while it is sent
// (Store::ReservePortalDownload), so max_downloads is exact under any
// concurrency; it counts when the contractor has been sent every byte of
// the package once more (transports::DownloadCoverage, kept here per
// package and rebuilt from the download log the first time a package is
// downloaded in this process, so a restart loses nothing). A package's
// contractor is fixed, so per package is per contractor. The download that
// uses a package up deletes its file ("portal.package-removed").
class StorePortalBackend : public PortalBackend {
 public:
  // A package sent in more separate parts than this (partial ranges that
  // joined into no copy) takes only whole-file downloads from then on: the
  // coverage's memory and time stay bounded. An honest client resuming a
  // broken download makes a few.
  static constexpr std::size_t kMaxCoveragePieces = 1024;

  explicit StorePortalBackend(Context& ctx);
  std::optional<std::string> Authenticate(const std::string& fingerprint,
                                          std::string* why) override;
  std::vector<PortalPackage> Available(const std::string& contractor_id) override;
  Access Find(const std::string& contractor_id, const std::string& package_id,
              PortalPackage* out) override;
  Slot BeginDownload(const PortalCaller& caller, const PortalPackage& package, uint64_t first_byte,
                     uint64_t length, std::string* why) override;
  void RecordDownload(const PortalCaller& caller, const std::string& package_id,
                      uint64_t first_byte, uint64_t bytes, bool complete) override;
  // DisposalRecord with the caller as the portal contractor: not found
  // (another contractor's delivery too) 404, conflict 409, a refusal or
  // invalid input 400, anything else (the store, a file) 500.
  transports::UploadAnswer AcceptDisposalCertificate(const PortalCaller& caller,
                                                     int64_t delivery_id, const std::string& method,
                                                     const std::string& disposed_on,
                                                     const std::string& file,
                                                     const std::string& file_name) override;
  void Audit(const PortalCaller& caller, const std::string& method, const std::string& target,
             const std::string& package_id, uint64_t bytes, int status,
             const std::string& outcome) override;

 private:
  // The package's coverage, from the download log the first time; null
  // when the store cannot be read.
  transports::DownloadCoverage* CoverageOf(const std::string& package_id, uint64_t size);

  Context& ctx_;
  std::map<std::string, transports::DownloadCoverage> coverage_;  // by package id
};

// Every portal package (or one contractor's) with who downloaded what, when.
Result<Output> PortalList(Context& ctx, const std::optional<std::string>& contractor);
// Withdraws a package at once (410 from then on) and deletes its file.
Result<Output> PortalRevoke(Context& ctx, const std::string& package_id);

// Deletes the files of portal packages that can no longer be downloaded
// (expired, used up, revoked), each deletion audited as
// "portal.package-removed" by ctx.actor with the reason; the records stay.
// How many files were deleted; a package whose file is already gone is
// passed over. The daemon runs this at start and every [portal]
// sweep_seconds.
Result<int> SweepPortalPackages(Context& ctx);

struct ServeArgs {
  // TOML: [portal] listen, cert, key, max_connections,
  // max_connections_per_address, handshake_timeout_ms, header_timeout_ms,
  // io_timeout_ms, shutdown_grace_ms, sweep_seconds, max_upload_mb (the
  // largest certificate a contractor may upload, default 10); [staff_api],
  // [console], ...
  std::string config_file;
  std::string listen;  // flags win over the config file
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
