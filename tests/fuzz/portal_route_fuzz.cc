// libFuzzer target for what the contractor portal does with a request before
// any byte of a file is sent (transports/portal_route.h): Route() on a fuzzed
// request target, ParseRange() and PlanDownload() on a fuzzed Range and
// If-Range against files of several sizes, and QuotedFileName().
//
// The input is one mode byte, then lines: the request target, the Range
// header, the If-Range header, a file size in decimal (absent lines are
// empty). Mode bits 0-2 pick the method, bit 3 says the request has a body,
// bit 4 that no contractor signed in, bits 5-6 the package's expiry as
// stored. Each request is routed three times, the backend answering "ok",
// "not found" and "gone".
//
// Traps when an invariant below does not hold, among them: a range is inside
// the file, and a well-formed single range (`bytes=first-last`,
// `bytes=first-`, `bytes=-suffix`) gives exactly what RFC 9110 says.
// Built by the `fuzz` preset (clang); run ops/fuzz.
#include <charconv>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "transports/portal_backend.h"
#include "transports/portal_route.h"

namespace {

namespace t = itaku::transports;
using Access = t::PortalBackend::Access;

constexpr char kContractor[] = "builder-b";
constexpr uint64_t kMax = std::numeric_limits<uint64_t>::max();

void Check(bool holds) {
  if (!holds) __builtin_trap();
}

// Answers Route() with one package, and notes what it was asked. Route()
// must ask nothing but Available() or Find().
class FuzzBackend : public t::PortalBackend {
 public:
  FuzzBackend(Access answer, t::PortalPackage package)
      : answer_(answer), package_(std::move(package)) {}

  std::optional<std::string> Authenticate(const std::string&, std::string*) override {
    __builtin_trap();
  }
  std::vector<t::PortalPackage> Available(const std::string& contractor_id) override {
    ++available_calls;
    Check(contractor_id == kContractor);
    return {package_};
  }
  Access Find(const std::string& contractor_id, const std::string& package_id,
              t::PortalPackage* out) override {
    ++find_calls;
    Check(contractor_id == kContractor);
    found_id = package_id;
    if (answer_ != Access::kNotFound) {
      *out = package_;
      out->id = package_id;
    }
    return answer_;
  }
  void RecordDownload(const t::PortalCaller&, const std::string&, uint64_t, uint64_t,
                      bool) override {
    __builtin_trap();
  }
  void Audit(const t::PortalCaller&, const std::string&, const std::string&, const std::string&,
             uint64_t, int, const std::string&) override {
    __builtin_trap();
  }

  int available_calls = 0;
  int find_calls = 0;
  std::string found_id;

 private:
  const Access answer_;
  const t::PortalPackage package_;
};

bool PlainId(std::string_view id) {
  if (id.empty() || id.size() > 128) return false;
  for (char c : id) {
    const bool ok = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                    c == '-' || c == '_';
    if (!ok) return false;
  }
  return true;
}

// {"error": "<text>"} and nothing else.
void CheckErrorBody(const std::string& body) {
  const nlohmann::json json = nlohmann::json::parse(body, nullptr, /*allow_exceptions=*/false);
  Check(!json.is_discarded() && json.is_object() && json.size() == 1 && json.contains("error") &&
        json["error"].is_string());
}

void CheckRoute(const t::PortalRequest& request, bool signed_in, Access answer,
                const t::PortalPackage& package) {
  FuzzBackend backend(answer, package);
  const t::PortalCaller caller{signed_in ? kContractor : "", "SHA256:AA", "127.0.0.1:5"};
  const t::PortalResponse r = t::Route(
      request, caller, signed_in ? "" : "no contractor has certificate SHA256:AA", backend);
  Check(r.download || !r.outcome.empty());  // the record says what happened
  if (!signed_in) {
    // Refused and closed before the backend is asked anything.
    Check(r.status == 403 && r.close && !r.download);
    Check(backend.available_calls == 0 && backend.find_calls == 0);
    CheckErrorBody(r.body);
    return;
  }
  if (request.has_body) Check(r.close);
  // A package id is exactly what follows the packages path, and plain.
  const std::string_view target = request.target;
  const std::string_view path = target.substr(0, target.find('?'));
  if (!r.package_id.empty()) {
    Check(PlainId(r.package_id));
    Check(path == std::string(t::kPortalPackagesPath) + "/" + r.package_id);
  }
  const bool get = request.method == "GET" && !request.has_body;
  Check(backend.available_calls + backend.find_calls <= 1);
  if (backend.available_calls == 1) Check(get && r.package_id.empty());
  if (backend.find_calls == 1) {
    Check(get && !r.package_id.empty() && backend.found_id == r.package_id);
  }
  switch (r.status) {
    case 200:
      if (r.download) {
        Check(backend.find_calls == 1 && answer == Access::kOk && r.body.empty());
      } else {
        Check(backend.available_calls == 1);
        const nlohmann::json list = nlohmann::json::parse(r.body, nullptr, false);
        Check(!list.is_discarded() && list.is_array() && list.size() == 1);
      }
      break;
    case 404:
    case 405:
    case 410:
    case 413:
      Check(!r.download);
      CheckErrorBody(r.body);
      break;
    default:
      Check(false);
  }
  if (r.status == 405) Check(request.method != "GET");
  if (r.status == 410) Check(answer == Access::kGone && backend.find_calls == 1);
  if (r.status == 413) Check(request.has_body);
}

// Digits only, at least one; saturates at kMax and says so in *huge.
bool Digits(std::string_view s, uint64_t* out, bool* huge) {
  if (s.empty()) return false;
  uint64_t n = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
    const auto d = static_cast<uint64_t>(c - '0');
    if (n > (kMax - d) / 10) {
      n = kMax;
      *huge = true;
    } else {
      n = n * 10 + d;
    }
  }
  *out = n;
  return true;
}

// What RFC 9110 (14.1.2) gives for a Range header of one range against a
// file of `size` bytes, written independently of ParseRange().
struct Expected {
  bool single = false;  // one well-formed byte range; otherwise the header may be ignored
  bool huge = false;    // a number past 2^64-1: a server may ignore it too
  t::ByteRange range;   // length 0: unsatisfiable
};

Expected Expect(std::string_view header, uint64_t size) {
  Expected e;
  constexpr std::string_view kUnit = "bytes=";
  if (header.substr(0, kUnit.size()) != kUnit) return e;
  const std::string_view spec = header.substr(kUnit.size());
  const size_t dash = spec.find('-');
  if (dash == std::string_view::npos) return e;
  const std::string_view a = spec.substr(0, dash), b = spec.substr(dash + 1);
  uint64_t first = 0, last = 0;
  if (a.empty()) {  // suffix-range: the last `last` bytes
    if (!Digits(b, &last, &e.huge)) return e;
    e.single = true;
    if (last > 0 && size > 0) {
      const uint64_t n = last < size ? last : size;
      e.range = {size - n, n};
    }
    return e;
  }
  if (!Digits(a, &first, &e.huge)) return e;
  if (b.empty()) {
    last = kMax;
  } else if (!Digits(b, &last, &e.huge)) {
    return e;
  }
  if (last < first) return e;  // invalid range-spec
  e.single = true;
  if (first < size) e.range = {first, (last < size - 1 ? last : size - 1) - first + 1};
  return e;
}

bool Inside(const t::ByteRange& range, uint64_t size) {
  return range.length > 0 && range.first < size && range.length <= size - range.first;
}

void CheckRange(const std::string& range, const std::string& if_range, uint64_t size,
                const t::PortalPackage& package) {
  const std::optional<t::ByteRange> got = t::ParseRange(range, size);
  const Expected want = Expect(range, size);
  if (got) {
    Check(want.single && got->first == want.range.first && got->length == want.range.length);
    Check(got->length == 0 || Inside(*got, size));
  } else {
    Check(!want.single || want.huge);  // only a malformed or multiple range is ignored
  }

  const t::DownloadPlan plan = t::PlanDownload(package, size, range, if_range);
  Check(plan.etag == "\"" + package.sha256 + "\"");
  switch (plan.status) {
    case 200:
      Check(plan.range.first == 0 && plan.range.length == size);
      break;
    case 206:
      Check(Inside(plan.range, size));
      break;
    case 416:
      Check(plan.range.length == 0);
      break;
    default:
      Check(false);
  }
  // A Range applies only when If-Range is absent or names the package's ETag.
  if (range.empty() || (!if_range.empty() && if_range != plan.etag)) Check(plan.status == 200);
}

// For Content-Disposition: quoted, and nothing inside can end the quote or
// the header line.
void CheckQuoted(const std::string& name) {
  const std::string quoted = t::QuotedFileName(name);
  Check(quoted.size() == name.size() + 2 && quoted.front() == '"' && quoted.back() == '"');
  for (size_t i = 1; i + 1 < quoted.size(); ++i) {
    const auto c = static_cast<unsigned char>(quoted[i]);
    Check(c >= 0x20 && c < 0x7f && c != '"' && c != '\\');
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const uint8_t mode = data[0];
  std::vector<std::string> lines;
  std::string_view rest(reinterpret_cast<const char*>(data + 1), size - 1);
  while (lines.size() < 3) {
    const size_t eol = rest.find('\n');
    if (eol == std::string_view::npos) break;
    lines.emplace_back(rest.substr(0, eol));
    rest.remove_prefix(eol + 1);
  }
  lines.emplace_back(rest);
  lines.resize(4);
  const std::string& target = lines[0];
  const std::string& range = lines[1];
  const std::string& if_range = lines[2];

  static const char* const kMethods[] = {"GET", "HEAD", "POST", "DELETE",
                                         "get", "GET ", "",     "OPTIONS"};
  static const char* const kExpiries[] = {"2030-01-01T00:00:00Z", "", "2026-02-30T25:61:61Z",
                                          "9999-12-31T23:59:59Z"};
  t::PortalPackage package;
  package.id = "0123456789abcdef0123456789abcdef";
  package.delivery_id = 12;
  package.contractor_id = kContractor;
  package.file_name = "builder-b-12.zip.p7m";
  package.path = "/nonexistent/builder-b-12.zip.p7m";
  package.size = 1000;
  package.sha256 = "5f70bf18a086007016e948b04aed3b82103a36bea41755b6cddfaf10ace3c6ef";
  package.expires_at = kExpiries[(mode >> 5) & 3];
  package.max_downloads = 3;
  package.downloads = 1;

  const t::PortalRequest request{kMethods[mode & 7], target, (mode & 8) != 0};
  const bool signed_in = (mode & 16) == 0;
  for (Access answer : {Access::kOk, Access::kNotFound, Access::kGone}) {
    CheckRoute(request, signed_in, answer, package);
  }

  std::vector<uint64_t> sizes = {0, 1, 10, 1000, kMax};
  uint64_t fuzzed_size = 0;
  const std::string& size_line = lines[3];
  const auto [end, ec] =
      std::from_chars(size_line.data(), size_line.data() + size_line.size(), fuzzed_size);
  if (ec == std::errc() && end == size_line.data() + size_line.size()) {
    sizes.push_back(fuzzed_size);
  }
  for (uint64_t file_size : sizes) CheckRange(range, if_range, file_size, package);
  CheckQuoted(target);
  return 0;
}
