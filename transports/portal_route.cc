#include "transports/portal_route.h"

#include <algorithm>
#include <charconv>
#include <iterator>
#include <nlohmann/json.hpp>
#include <vector>

#include "contracts/base/date.h"

namespace itaku::transports {
namespace {

// A package id is opaque to the server; this only keeps odd bytes out of
// the backend and the audit trail.
bool PlausibleId(std::string_view id) {
  if (id.empty() || id.size() > 128) return false;
  for (char c : id) {
    const bool ok = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                    c == '-' || c == '_';
    if (!ok) return false;
  }
  return true;
}

PortalResponse Answer(PortalResponse r, int status, const std::string& error,
                      const std::string& outcome) {
  r.status = status;
  r.body = PortalErrorBody(error);
  r.outcome = outcome;
  return r;
}

std::string ListBody(const std::vector<PortalPackage>& packages) {
  nlohmann::json out = nlohmann::json::array();
  for (const PortalPackage& p : packages) {
    out.push_back({{"id", p.id},
                   {"file_name", p.file_name},
                   {"size", p.size},
                   {"sha256", p.sha256},
                   {"expires_at", IsoJst(p.expires_at)},  // the operator's time, with offset
                   {"downloads_left", p.downloads_left()}});
  }
  return out.dump();
}

// A delivery id in a path: a positive decimal number without leading
// zeros, as the registry numbers deliveries.
std::optional<int64_t> DeliveryId(std::string_view text) {
  if (text.empty() || text.size() > 18 || text[0] < '1' || text[0] > '9') return std::nullopt;
  int64_t id = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), id);
  if (ec != std::errc() || end != text.data() + text.size()) return std::nullopt;
  return id;
}

// "application/pdf; charset=x" -> "application/pdf" (media types are
// case-insensitive).
std::string MediaType(std::string_view content_type) {
  content_type = content_type.substr(0, content_type.find(';'));
  while (!content_type.empty() && (content_type.back() == ' ' || content_type.back() == '\t')) {
    content_type.remove_suffix(1);
  }
  while (!content_type.empty() && (content_type.front() == ' ' || content_type.front() == '\t')) {
    content_type.remove_prefix(1);
  }
  std::string out(content_type);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

// The certificate's kinds, with the name a file of that kind gets when the
// contractor names none.
struct CertificateType {
  std::string_view media_type, default_name, name;
};
constexpr CertificateType kCertificateTypes[] = {
    {"application/pdf", "certificate.pdf", "a PDF"},
    {"image/png", "certificate.png", "a PNG image"},
    {"image/jpeg", "certificate.jpg", "a JPEG image"},
};
const CertificateType* FindType(std::string_view media_type) {
  for (const CertificateType& t : kCertificateTypes) {
    if (t.media_type == media_type) return &t;
  }
  return nullptr;
}
std::string TypeName(std::string_view media_type) {
  const CertificateType* t = FindType(media_type);
  return t == nullptr ? std::string(media_type) : std::string(t->name);
}

constexpr std::string_view kDisposalMethods[] = {"shredded", "erased", "returned", "dissolved"};

// Why a name to keep a file under is refused; empty when it is fine: 1 to
// 255 bytes of UTF-8, no '/' or '\\' (no folder, on any system), no control
// characters (C0, DEL, C1), not "." or "..". The error never repeats the
// name: it may hold personal data.
std::string FileNameRefusal(std::string_view name) {
  if (name.empty()) return "X-Itaku-File-Name is empty";
  if (name.size() > 255) return "X-Itaku-File-Name is longer than 255 bytes";
  if (name == "." || name == "..") return "X-Itaku-File-Name must name a file";
  for (std::size_t i = 0; i < name.size();) {
    const auto c = static_cast<unsigned char>(name[i]);
    if (c == '/' || c == '\\') return "X-Itaku-File-Name must not contain '/' or '\\'";
    if (c < 0x20 || c == 0x7f) return "X-Itaku-File-Name must not contain control characters";
    if (c < 0x80) {
      ++i;
      continue;
    }
    // One UTF-8 sequence: its length from the lead byte, continuation bytes
    // after it, and no overlong form, surrogate or value past U+10FFFF.
    const std::size_t n = c >= 0xc2 && c <= 0xdf   ? 2
                          : c >= 0xe0 && c <= 0xef ? 3
                          : c >= 0xf0 && c <= 0xf4 ? 4
                                                   : 0;
    bool ok = n != 0 && i + n <= name.size();
    for (std::size_t k = 1; ok && k < n; ++k) {
      ok = (static_cast<unsigned char>(name[i + k]) & 0xc0) == 0x80;
    }
    if (ok && n > 2) {
      const auto c1 = static_cast<unsigned char>(name[i + 1]);
      ok = !(c == 0xe0 && c1 < 0xa0) && !(c == 0xed && c1 >= 0xa0) && !(c == 0xf0 && c1 < 0x90) &&
           !(c == 0xf4 && c1 >= 0x90);
    }
    if (!ok) return "X-Itaku-File-Name must be UTF-8";
    if (n == 2 && c == 0xc2 && static_cast<unsigned char>(name[i + 1]) < 0xa0) {
      return "X-Itaku-File-Name must not contain control characters";  // U+0080..U+009F
    }
    i += n;
  }
  return "";
}

// The checks on an upload's head, before a byte of its body is read.
// `r.close` is already set when a body follows.
PortalResponse RouteUpload(const PortalRequest& request, int64_t delivery_id,
                           std::string_view query, uint64_t max_upload_bytes, PortalResponse r) {
  if (request.chunked || !request.content_length) {
    return Answer(std::move(r), 411, "Content-Length is required (no chunked uploads)",
                  "length required");
  }
  const uint64_t length = *request.content_length;
  if (length > max_upload_bytes) {
    const std::string limit = max_upload_bytes % (1 << 20) == 0
                                  ? std::to_string(max_upload_bytes >> 20) + " MiB"
                                  : std::to_string(max_upload_bytes) + " bytes";
    return Answer(std::move(r), 413, "the certificate is larger than the limit of " + limit,
                  "too large");
  }
  if (length == 0) return Answer(std::move(r), 400, "the certificate file is empty", "empty");
  const std::string media_type = MediaType(request.content_type);
  const CertificateType* type = FindType(media_type);
  if (type == nullptr) {
    return Answer(std::move(r), 415,
                  "Content-Type must be application/pdf, image/png or image/jpeg",
                  "unsupported type");
  }
  std::optional<std::string_view> method, on;
  while (!query.empty()) {
    const std::string_view pair = query.substr(0, query.find('&'));
    query.remove_prefix(std::min(query.size(), pair.size() + 1));
    const auto eq = pair.find('=');
    const std::string_view key = pair.substr(0, eq);
    const std::string_view value = eq == std::string_view::npos ? "" : pair.substr(eq + 1);
    std::optional<std::string_view>* slot = key == "method" ? &method : key == "on" ? &on : nullptr;
    if (slot == nullptr) continue;  // unknown parameters are ignored
    if (*slot) {
      return Answer(std::move(r), 400, std::string(key) + " is given more than once",
                    "bad request");
    }
    *slot = value;
  }
  auto known = [](std::string_view m) {
    return std::find(std::begin(kDisposalMethods), std::end(kDisposalMethods), m) !=
           std::end(kDisposalMethods);
  };
  if (!method || !known(*method)) {
    return Answer(std::move(r), 400, "method must be shredded, erased, returned or dissolved",
                  "bad request: method");
  }
  if (!on || on->size() != 10 || !ParseDate(*on)) {
    return Answer(std::move(r), 400, "on must be a day, YYYY-MM-DD", "bad request: day");
  }
  if (request.file_name_repeated) {
    return Answer(std::move(r), 400, "X-Itaku-File-Name is given more than once",
                  "bad request: file name");
  }
  std::string file_name(type->default_name);
  if (request.file_name) {
    if (std::string why = FileNameRefusal(*request.file_name); !why.empty()) {
      return Answer(std::move(r), 400, why, "bad request: file name");
    }
    file_name = *request.file_name;
  }
  r.status = 201;
  r.close = false;  // the body is read next
  r.upload = PortalUpload{delivery_id, std::string(*method), std::string(*on),
                          media_type,  std::move(file_name), length};
  return r;
}

}  // namespace

std::string PortalErrorBody(const std::string& message) {
  return nlohmann::json{{"error", message}}.dump();
}

PortalResponse Route(const PortalRequest& request, const PortalCaller& caller,
                     const std::string& refused_why, PortalBackend& backend,
                     uint64_t max_upload_bytes) {
  PortalResponse r;
  if (caller.contractor_id.empty()) {
    r.close = true;
    return Answer(std::move(r), 403,
                  "this client certificate is not registered to an active contractor",
                  refused_why.empty() ? "refused" : refused_why);
  }
  // A body not read leaves the connection unable to carry another request.
  r.close = request.has_body;
  std::string_view path = request.target;
  std::string_view query;
  if (const auto q = path.find('?'); q != std::string_view::npos) {
    query = path.substr(q + 1);
    path = path.substr(0, q);
  }
  const std::string_view disposals = kPortalDisposalsPath;
  if (path.size() > disposals.size() + 1 && path.substr(0, disposals.size()) == disposals &&
      path[disposals.size()] == '/') {
    const std::optional<int64_t> delivery = DeliveryId(path.substr(disposals.size() + 1));
    if (!delivery) return Answer(std::move(r), 404, "not found", "unknown path");
    if (request.method != "POST") {
      r.allow = "POST";
      return Answer(std::move(r), 405, "only POST is allowed", "method not allowed");
    }
    return RouteUpload(request, *delivery, query, max_upload_bytes, std::move(r));
  }
  const std::string_view base = kPortalPackagesPath;
  const bool list = path == base;
  const bool one = !list && path.size() > base.size() + 1 && path.substr(0, base.size()) == base &&
                   path[base.size()] == '/' && PlausibleId(path.substr(base.size() + 1));
  if (one) r.package_id = std::string(path.substr(base.size() + 1));
  if (!list && !one) return Answer(std::move(r), 404, "not found", "unknown path");
  if (request.method != "GET") {
    r.allow = "GET";
    return Answer(std::move(r), 405, "only GET is allowed", "method not allowed");
  }
  if (request.has_body) {
    return Answer(std::move(r), 413, "requests here carry no body", "bad request");
  }
  if (list) {
    r.body = ListBody(backend.Available(caller.contractor_id));
    r.outcome = "listed";
    return r;
  }
  PortalPackage pkg;
  switch (backend.Find(caller.contractor_id, r.package_id, &pkg)) {
    case PortalBackend::Access::kNotFound:
      return Answer(std::move(r), 404, "no such package", "not found");
    case PortalBackend::Access::kGone:
      return Answer(std::move(r), 410, kPortalGoneMessage, "gone");
    case PortalBackend::Access::kOk:
      break;
  }
  r.download = std::move(pkg);
  return r;
}

PortalResponse FinishUpload(const PortalUpload& upload, const std::string& file,
                            std::string_view first_bytes, const PortalCaller& caller,
                            PortalBackend& backend) {
  PortalResponse r;
  if (!BodyMatchesType(upload.content_type, first_bytes)) {
    return Answer(std::move(r), 415, "the file is not " + TypeName(upload.content_type),
                  "unsupported type: content is not " + upload.content_type);
  }
  const UploadAnswer a = backend.AcceptDisposalCertificate(
      caller, upload.delivery_id, upload.method, upload.disposed_on, file, upload.file_name);
  const std::string why = a.message.empty() ? "" : ": " + a.message;
  switch (a.kind) {
    case UploadAnswer::Kind::kAccepted:
      r.status = 201;
      r.body = nlohmann::json{{"delivery", upload.delivery_id},
                              {"certificate_sha256", a.certificate_sha256},
                              {"method", a.method.empty() ? upload.method : a.method},
                              {"disposed_on",
                               a.disposed_on.empty() ? upload.disposed_on : a.disposed_on}}
                   .dump();
      r.outcome = "certificate accepted";
      return r;
    case UploadAnswer::Kind::kNotFound:
      return Answer(std::move(r), 404, "no such delivery", "not found" + why);
    case UploadAnswer::Kind::kConflict:
      return Answer(std::move(r), 409, "a disposal is already recorded for this delivery",
                    "already recorded" + why);
    case UploadAnswer::Kind::kInvalid:
      return Answer(std::move(r), 400,
                    a.message.empty() ? "the registry refused this certificate" : a.message,
                    "refused" + why);
    case UploadAnswer::Kind::kFailed:
      break;
  }
  return Answer(std::move(r), 500, "the certificate could not be recorded; try again later",
                "upload failed" + why);
}

bool BodyMatchesType(std::string_view content_type, std::string_view first_bytes) {
  auto starts = [&](std::string_view magic) {
    return first_bytes.substr(0, magic.size()) == magic;
  };
  if (content_type == "application/pdf") return starts("%PDF-");
  if (content_type == "image/png") return starts("\x89PNG\r\n\x1a\n");
  if (content_type == "image/jpeg") return starts("\xff\xd8\xff");
  return false;
}

std::optional<ByteRange> ParseRange(std::string_view header, uint64_t size) {
  constexpr std::string_view kUnit = "bytes=";
  if (header.substr(0, kUnit.size()) != kUnit) return std::nullopt;
  std::string_view spec = header.substr(kUnit.size());
  if (spec.find(',') != std::string_view::npos) return std::nullopt;
  const auto dash = spec.find('-');
  if (dash == std::string_view::npos) return std::nullopt;
  auto number = [](std::string_view s, uint64_t* out) {
    if (s.empty()) return false;
    auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), *out);
    return ec == std::errc() && end == s.data() + s.size();
  };
  std::string_view a = spec.substr(0, dash), b = spec.substr(dash + 1);
  uint64_t first = 0, last = 0;
  if (a.empty()) {  // bytes=-n: the last n bytes
    if (!number(b, &last)) return std::nullopt;
    if (last == 0 || size == 0) return ByteRange{0, 0};
    const uint64_t n = std::min(last, size);
    return ByteRange{size - n, n};
  }
  if (!number(a, &first)) return std::nullopt;
  if (b.empty()) {
    last = size == 0 ? 0 : size - 1;
  } else if (!number(b, &last) || last < first) {
    return std::nullopt;
  }
  if (first >= size) return ByteRange{0, 0};
  last = std::min(last, size - 1);
  return ByteRange{first, last - first + 1};
}

DownloadPlan PlanDownload(const PortalPackage& pkg, uint64_t size, const std::string& range,
                          const std::string& if_range) {
  DownloadPlan plan;
  plan.etag = "\"" + pkg.sha256 + "\"";
  plan.range = ByteRange{0, size};
  if (range.empty() || (!if_range.empty() && if_range != plan.etag)) return plan;
  std::optional<ByteRange> wanted = ParseRange(range, size);
  if (!wanted) return plan;
  plan.status = wanted->length == 0 ? 416 : 206;
  plan.range = *wanted;
  return plan;
}

DownloadCoverage::DownloadCoverage(uint64_t size) : size_(size), missing_(size) { level_[0] = 0; }

// A step starts at `at` (unless `at` is the end of the file).
void DownloadCoverage::SplitAt(uint64_t at) {
  if (at >= size_) return;
  auto it = level_.upper_bound(at);
  --it;  // level_ always holds 0, so some step starts at or before `at`
  if (it->first != at) level_.emplace_hint(std::next(it), at, it->second);
}

// The step at `at` joins the one before when they have the same level.
void DownloadCoverage::MergeAt(uint64_t at) {
  auto it = level_.find(at);
  if (it == level_.end() || it == level_.begin()) return;
  if (std::prev(it)->second == it->second) level_.erase(it);
}

bool DownloadCoverage::Add(uint64_t first, uint64_t length) {
  if (size_ == 0) return true;
  if (first >= size_ || length == 0) return false;
  const uint64_t end = length > size_ - first ? size_ : first + length;
  SplitAt(first);
  SplitAt(end);
  for (auto it = level_.find(first); it != level_.end() && it->first < end; ++it) {
    const auto next = std::next(it);
    const uint64_t step_end = next == level_.end() ? size_ : next->first;
    if (it->second == 0) missing_ -= step_end - it->first;
    ++it->second;
  }
  if (missing_ > 0) {
    MergeAt(end);
    MergeAt(first);
    return false;
  }
  // One more copy: every byte was at 1 or more, and (at 0 before this
  // call) at most 1 more than the lowest. Drop a level and merge.
  std::map<uint64_t, uint32_t> lower;
  for (auto it = level_.begin(); it != level_.end(); ++it) {
    const uint32_t level = it->second - 1;
    if (level == 0) {
      const auto next = std::next(it);
      missing_ += (next == level_.end() ? size_ : next->first) - it->first;
    }
    if (lower.empty() || std::prev(lower.end())->second != level) {
      lower.emplace_hint(lower.end(), it->first, level);
    }
  }
  level_ = std::move(lower);
  return true;
}

std::string QuotedFileName(const std::string& name) {
  std::string out = "\"";
  for (unsigned char c : name) {
    out.push_back(c < 0x20 || c >= 0x7f || c == '"' || c == '\\' ? '_' : static_cast<char>(c));
  }
  return out + "\"";
}

}  // namespace itaku::transports
