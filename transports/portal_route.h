// What the contractor portal answers, as plain functions of the request and
// the backend: no sockets, no files, no TLS. The session (portal_server.cc)
// reads the request, asks Route(), and sends what it says; a download's
// bytes are the session's, planned here by PlanDownload().
//
//   GET /portal/v1/packages       200, JSON array of the caller's packages
//   GET /portal/v1/packages/{id}  the file (PlanDownload), 404, 410
//
// Anything else: 404 (unknown path) or 405 (another method); a request with
// a body 413 and the connection closes; a caller no active contractor owns
// 403 and the connection closes. Bodies are JSON {"error": "..."}.
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
// The 410 answer's error, to a package that can no longer be downloaded.
inline constexpr char kPortalGoneMessage[] =
    "package expired, used up or withdrawn; ask the operator to publish it again";

struct PortalRequest {
  std::string method;  // as received: "GET"
  std::string target;  // as received: "/portal/v1/packages/ab12?x=1"
  bool has_body = false;
};

struct PortalResponse {
  int status = 200;
  std::string body;                       // JSON; empty for a download (the file follows)
  std::string outcome;                    // for the record: "listed", "not found", "gone", ...
  bool close = false;                     // a refusal: answer, then close the connection
  std::string package_id;                 // the package the target named, if plausible
  std::optional<PortalPackage> download;  // set with status 200: send this file
};

// `caller.contractor_id` is who the backend authenticated, or empty with
// `refused_why` saying why (for the record). Calls backend.Available() or
// backend.Find() as the request needs; nothing else.
PortalResponse Route(const PortalRequest& request, const PortalCaller& caller,
                     const std::string& refused_why, PortalBackend& backend);

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
