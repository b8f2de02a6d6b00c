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

// What the registry made of a certificate of return or destruction
// (廃棄証明書) a contractor uploaded (PortalBackend::AcceptDisposalCertificate).
struct UploadAnswer {
  enum class Kind {
    kAccepted,  // recorded (201)
    kNotFound,  // no such delivery, or another contractor's (404, not revealed)
    kConflict,  // a disposal is already recorded for it (409)
    kInvalid,   // the registry refuses it: a bad method or day, a delivery not handed over (400)
    kFailed,    // the registry could not record it now (500; the contractor may try again)
  };
  Kind kind = Kind::kNotFound;
  // One line, no personal data. kInvalid: shown to the contractor; the
  // others: for the record only.
  std::string message;
  // kAccepted: what the 201 answer says.
  std::string certificate_sha256;  // lowercase hex of the file as received
  std::string method;              // shredded|erased|returned|dissolved
  std::string disposed_on;         // YYYY-MM-DD
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

  // A download of `length` bytes from `first_byte` of `package` (as Find()
  // gave it) is about to be sent. kGranted holds one of the package's
  // download slots until the matching RecordDownload(), so that
  // max_downloads holds however many downloads run at once (every response
  // being sent holds one, a Range as much as the whole file: whether it
  // completes a copy is known only at its end). kGone: used up, expired or
  // revoked since Find() (410). kBusy: the slots left are held by downloads
  // under way, or the request cannot be taken now (429, *why says why; the
  // client may try again). The default grants every download: a backend
  // without limits.
  enum class Slot { kGranted, kGone, kBusy };
  virtual Slot BeginDownload(const PortalCaller& /*caller*/, const PortalPackage& /*package*/,
                             uint64_t /*first_byte*/, uint64_t /*length*/, std::string* /*why*/) {
    return Slot::kGranted;
  }

  // A download ended, and with it the slot BeginDownload() granted (exactly
  // one call per grant): `bytes` sent from `first_byte`; `complete` when the
  // response body was sent to the end. It counts as one download against
  // the limit when, with what the contractor was sent before, every byte of
  // the package has now been sent once more than at the last count (so a
  // 10-byte tail counts nothing, and a broken download resumed with Range
  // counts once when its last part ends).
  virtual void RecordDownload(const PortalCaller& caller, const std::string& package_id,
                              uint64_t first_byte, uint64_t bytes, bool complete) = 0;

  // The caller uploaded a certificate of return or destruction of
  // `delivery_id`'s data (POST /portal/v1/disposals/{id}): `method` is one
  // of shredded|erased|returned|dissolved and `disposed_on` a real day
  // (YYYY-MM-DD), both checked by the server; `file` is the upload, whole,
  // in a file the server owns and removes once this returns (copy what is
  // kept); `file_name` the name to keep it under, with no '/' or control
  // characters. The default answers kNotFound ("not supported"): a backend
  // without disposals.
  virtual UploadAnswer AcceptDisposalCertificate(const PortalCaller& /*caller*/,
                                                 int64_t /*delivery_id*/,
                                                 const std::string& /*method*/,
                                                 const std::string& /*disposed_on*/,
                                                 const std::string& /*file*/,
                                                 const std::string& /*file_name*/) {
    return {UploadAnswer::Kind::kNotFound, "not supported", "", "", ""};
  }

  // Every request, whatever its outcome: method and target as received
  // (never a body), the package when one was named, bytes sent (for an
  // upload: bytes received), the HTTP status, and a short outcome
  // ("listed", "downloaded", "not found", "gone", "certificate accepted",
  // "too large", "unregistered certificate", "suspended", "bad request",
  // ...). An upload broken off before it was answered comes here with the
  // status 0 (408 when it timed out).
  // A client certificate refused at the TLS handshake (outside its
  // validity) comes here too, with status 0, no method or target, and the
  // certificate's dates as the outcome.
  virtual void Audit(const PortalCaller& caller, const std::string& method,
                     const std::string& target, const std::string& package_id, uint64_t bytes,
                     int status, const std::string& outcome) = 0;
};

}  // namespace itaku::transports
