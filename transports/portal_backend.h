// The contractor portal (policy 6(2) サーバへのアクセス): what the HTTPS
// server (transports/portal_server.h) asks of the registry. The server knows
// nothing of the store; the store-backed implementation is
// gateway/portal_commands.h.
//
// Threading: the server calls a backend from one thread at a time.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace itaku::transports {

// A package published to one contractor.
struct PortalPackage {
  std::string id;  // opaque, 32 hex characters; the URL names it
  int64_t delivery_id = 0;
  std::string contractor_id;
  std::string file_name;  // "builder-b-12.zip.p7m"
  std::string path;       // the file on disk
  uint64_t size = 0;
  std::string sha256;      // lowercase hex
  std::string expires_at;  // UTC "YYYY-MM-DDTHH:MM:SSZ"
  int max_downloads = 0;
  int downloads = 0;  // completed downloads so far
  bool revoked = false;
  int downloads_left() const { return max_downloads > downloads ? max_downloads - downloads : 0; }
};

// Who is asking: the contractor its client certificate belongs to.
struct PortalCaller {
  std::string contractor_id;
  std::string fingerprint;  // "SHA256:AB:CD:..." of the client certificate
  std::string address;      // client "ip:port"
};

class PortalBackend {
 public:
  virtual ~PortalBackend() = default;

  // The contractor whose registered portal certificate has this fingerprint
  // and who is active now; nullopt otherwise, with the reason in *why (for
  // the audit trail: "no contractor has certificate SHA256:…", "contractor
  // builder-b is suspended").
  virtual std::optional<std::string> Authenticate(const std::string& fingerprint,
                                                  std::string* why) = 0;

  // The caller's packages that can still be downloaded (not expired, not
  // used up, not revoked), by id.
  virtual std::vector<PortalPackage> Available(const std::string& contractor_id) = 0;

  enum class Access {
    kOk,        // *out filled
    kNotFound,  // no such package, or another contractor's (not revealed)
    kGone,      // the caller's, but expired, used up or revoked (*out filled)
  };
  virtual Access Find(const std::string& contractor_id, const std::string& package_id,
                      PortalPackage* out) = 0;

  // A download ended: `bytes` sent of the requested range; `complete` when
  // the response body was sent to the end. A complete response that covers
  // the file's last byte counts as one download against the limit.
  virtual void RecordDownload(const PortalCaller& caller, const std::string& package_id,
                              uint64_t first_byte, uint64_t bytes, bool complete) = 0;

  // Every request, whatever its outcome: method and target as received
  // (never a body), the package when one was named, bytes sent, the HTTP
  // status, and a short outcome ("listed", "downloaded", "not found",
  // "gone", "unregistered certificate", "suspended", "bad request", ...).
  virtual void Audit(const PortalCaller& caller, const std::string& method,
                     const std::string& target, const std::string& package_id, uint64_t bytes,
                     int status, const std::string& outcome) = 0;
};

}  // namespace itaku::transports
