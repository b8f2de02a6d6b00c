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

}  // namespace

std::string PortalErrorBody(const std::string& message) {
  return nlohmann::json{{"error", message}}.dump();
}

PortalResponse Route(const PortalRequest& request, const PortalCaller& caller,
                     const std::string& refused_why, PortalBackend& backend) {
  PortalResponse r;
  if (caller.contractor_id.empty()) {
    r.close = true;
    return Answer(std::move(r), 403,
                  "this client certificate is not registered to an active contractor",
                  refused_why.empty() ? "refused" : refused_why);
  }
  // A body is never read: the connection cannot carry another request.
  r.close = request.has_body;
  std::string_view path = request.target;
  if (path.find('?') != std::string_view::npos) path = path.substr(0, path.find('?'));
  const std::string_view base = kPortalPackagesPath;
  const bool list = path == base;
  const bool one = !list && path.size() > base.size() + 1 && path.substr(0, base.size()) == base &&
                   path[base.size()] == '/' && PlausibleId(path.substr(base.size() + 1));
  if (one) r.package_id = std::string(path.substr(base.size() + 1));
  if (!list && !one) return Answer(std::move(r), 404, "not found", "unknown path");
  if (request.method != "GET") {
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
