#include "policies/delivery_rules.h"

#include <algorithm>

namespace itaku::policies {

bool SendsDrawings(const contracts::ContractProfile& p) {
  if (std::find(p.fields.begin(), p.fields.end(), "house_drawing") == p.fields.end()) return false;
  auto m = p.masks.find("house_drawing");
  return m == p.masks.end() || m->second == "none";
}

bool PlainDrawingName(std::string_view name) {
  if (name.empty() || name == "." || name == "..") return false;
  for (char c : name) {
    if (c < 0x21 || c > 0x7e || c == '/' || c == '\\') return false;
  }
  return true;
}

std::string PortalGoneReason(const contracts::PortalPackageRecord& r, const std::string& now) {
  if (!r.revoked_at.empty()) return "revoked";
  if (r.expires_at <= now) return "expired";  // UTC timestamps compare as text
  if (r.downloads >= r.max_downloads) return "used up";
  return "";
}

std::optional<std::chrono::seconds> ParsePortalLifetime(const std::string& text) {
  if (text.size() < 2) return std::nullopt;
  const char unit = text.back();
  const std::string digits = text.substr(0, text.size() - 1);
  if (digits.find_first_not_of("0123456789") != std::string::npos || digits.size() > 6) {
    return std::nullopt;
  }
  const long n = std::stol(digits);
  long seconds = 0;
  if (unit == 'd') seconds = n * 86400;
  if (unit == 'h') seconds = n * 3600;
  if (unit == 'm') seconds = n * 60;
  if (seconds <= 0 || seconds > 90L * 86400) return std::nullopt;
  return std::chrono::seconds(seconds);
}

}  // namespace itaku::policies
