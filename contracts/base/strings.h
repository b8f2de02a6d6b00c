// Small string helpers every layer uses.
#pragma once

#include <string>
#include <vector>

namespace itaku {

// "a, b, c" (or with another separator).
inline std::string Join(const std::vector<std::string>& parts, const char* sep = ", ") {
  std::string out;
  for (const auto& p : parts) {
    if (!out.empty()) out += sep;
    out += p;
  }
  return out;
}

}  // namespace itaku
