// What the contractor portal answers, as plain functions of the request and
// the backend: no sockets, no files, no TLS. The session (portal_server.cc)
// reads the request, asks Route(), and sends what it says; a download's
// bytes are the session's, planned here by PlanDownload(); an upload's body
// is the session's to stream into a file, and FinishUpload() answers it.
//
//   GET  /portal/v1/packages       200, JSON array of the caller's packages
//   GET  /portal/v1/packages/{id}  the file (PlanDownload), 404, 410
//   POST /portal/v1/disposals/{delivery_id}?method=M&on=YYYY-MM-DD
//        the delivery's certificate of return or destruction (廃棄証明書) as
//        the body: M is shredded|erased|returned|dissolved, `on` the day.
//        Content-Length required (411; chunked is refused), at most
//        max_upload_bytes (413 before the body is read); Content-Type
//        application/pdf, image/png or image/jpeg (415, also when the bytes
//        are not of that type); X-Itaku-File-Name optional, the name to keep
//        (default certificate.pdf|.png|.jpg; 400 with '/', '\' or control
//        characters). 201 {"delivery", "certificate_sha256", "method",
//        "disposed_on"}; 404 an unknown delivery or another contractor's
//        (not revealed); 409 a disposal is already recorded; 400 a bad
//        method, day or name, or one the registry refuses.
//
// Anything else: 404 (unknown path) or 405 (another method; Allow: GET on
// the packages, POST on a disposal); a GET with a body 413; a caller no
// active contractor owns 403. A request answered without its body being
// read closes the connection. Bodies are JSON {"error": "..."}.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "transports/portal_backend.h"

namespace itaku::transports {

inline constexpr char kPortalPackagesPath[] = "/portal/v1/packages";
inline constexpr char kPortalDisposalsPath[] = "/portal/v1/disposals";
// PortalServerOptions::max_upload_bytes unless told.
inline constexpr uint64_t kPortalDefaultMaxUploadBytes = uint64_t{10} << 20;
// The 410 answer's error, to a package that can no longer be downloaded.
inline constexpr char kPortalGoneMessage[] =
    "package expired, used up or withdrawn; ask the operator to publish it again";

struct PortalRequest {
  std::string method;     // as received: "GET"
  std::string target;     // as received: "/portal/v1/packages/ab12?x=1"
  bool has_body = false;  // a Content-Length above 0, or chunked
  // From the head, for an upload.
  std::optional<uint64_t> content_length;
  bool chunked = false;
  std::string content_type;              // as received, parameters and all
  std::optional<std::string> file_name;  // X-Itaku-File-Name, when sent
  bool file_name_repeated = false;       // X-Itaku-File-Name sent more than once
};

// An upload Route() accepts: the session reads `length` bytes of body into
// a file and hands it to FinishUpload().
struct PortalUpload {
  int64_t delivery_id = 0;
  std::string method;        // shredded|erased|returned|dissolved
  std::string disposed_on;   // YYYY-MM-DD, a real day
  std::string content_type;  // application/pdf, image/png or image/jpeg
  std::string file_name;     // the name to keep: safe, never empty
  uint64_t length = 0;       // the Content-Length, above 0 and within the limit
};

struct PortalResponse {
  int status = 200;
  std::string body;                       // JSON; empty for a download (the file follows)
  std::string outcome;                    // for the record: "listed", "not found", "gone", ...
  bool close = false;                     // a refusal: answer, then close the connection
  std::string package_id;                 // the package the target named, if plausible
  std::string allow;                      // with 405: the methods the path takes
  std::optional<PortalPackage> download;  // set with status 200: send this file
  std::optional<PortalUpload> upload;     // set with status 201: read the body, FinishUpload()
};

// `caller.contractor_id` is who the backend authenticated, or empty with
// `refused_why` saying why (for the record). Calls backend.Available() or
// backend.Find() as the request needs; nothing else (an upload reaches the
// backend through FinishUpload()). `max_upload_bytes`: the largest upload
// body taken.
PortalResponse Route(const PortalRequest& request, const PortalCaller& caller,
                     const std::string& refused_why, PortalBackend& backend,
                     uint64_t max_upload_bytes = kPortalDefaultMaxUploadBytes);

// The answer to `upload` once its body is in `file`, whole: 415 when
// `first_bytes` (the body's first bytes, up to 8) are not of the declared
// type; else what backend.AcceptDisposalCertificate() says, as 201, 404,
// 409, 400 or 500. The connection may carry another request.
PortalResponse FinishUpload(const PortalUpload& upload, const std::string& file,
                            std::string_view first_bytes, const PortalCaller& caller,
                            PortalBackend& backend);

// Whether a body starting with `first_bytes` (up to 8 bytes) is a file of
// `content_type`: "%PDF-", the PNG signature, or a JPEG's SOI marker.
bool BodyMatchesType(std::string_view content_type, std::string_view first_bytes);

struct ByteRange {
  uint64_t first = 0;
  uint64_t length = 0;
};

// One `Range: bytes=…` against a file of `size` bytes. nullopt: serve the
// whole file (no Range, or one this server ignores as RFC 9110 allows: a
// malformed one or several ranges). A range with length 0: unsatisfiable.
std::optional<ByteRange> ParseRange(std::string_view header, uint64_t size);

struct DownloadPlan {
  int status = 200;  // 200, 206, or 416 (range not satisfiable)
  ByteRange range;   // what to send; the whole file for 200
  std::string etag;  // "\"<sha256>\""
};

// The answer to a download of `pkg` whose file has `size` bytes, given the
// request's Range and If-Range headers (empty when absent). A Range applies
// only when If-Range is absent or names the package's ETag.
DownloadPlan PlanDownload(const PortalPackage& pkg, uint64_t size, const std::string& range,
                          const std::string& if_range);

// Which bytes of a package of `size` bytes one contractor has been sent,
// and so how many whole copies it holds: a download counts when every byte
// of the file has been sent once more than at the last count. Each range
// sent (a whole file, a Range, the part of a broken download that went
// out) adds one to every byte it covers. The number of counts is always
// the fewest times any one byte has been sent: so a 10-byte tail counts
// nothing, a broken download resumed with Range counts once, and no
// overlap of ranges gives a whole copy that is not counted.
//
// Kept as a step function of what was sent beyond the counted copies:
// pieces() grows only with partial ranges (a whole-file download adds
// none), so a caller can refuse more partial ranges past a bound. Not
// thread-safe.
class DownloadCoverage {
 public:
  explicit DownloadCoverage(uint64_t size);

  // Adds [first, first + length), clipped to the file. True when this
  // made one more whole copy (at most one per call). A 0-byte file counts
  // every call.
  bool Add(uint64_t first, uint64_t length);

  // How many steps the function has (1 when every byte was sent equally often).
  std::size_t pieces() const { return level_.size(); }
  // Bytes not yet sent since the last copy: the file's size when none.
  uint64_t missing() const { return missing_; }

 private:
  void SplitAt(uint64_t at);
  void MergeAt(uint64_t at);

  const uint64_t size_;
  std::map<uint64_t, uint32_t> level_;  // [start, next start): times sent since the last copy
  uint64_t missing_;                    // bytes at level 0
};

// For Content-Disposition: a quoted-string that cannot break out.
std::string QuotedFileName(const std::string& name);

// {"error": message}
std::string PortalErrorBody(const std::string& message);

}  // namespace itaku::transports
