// The words Itaku stores and prints for an enum, as one array indexed by the
// enum's value (so the enum's values must run 0, 1, 2, ... in the array's
// order). NameOf and FromName read the same array: a word cannot be spelled
// two ways.
#pragma once

#include <cstddef>
#include <optional>
#include <string_view>

namespace itaku {

template <typename E, std::size_t N>
constexpr std::string_view NameOf(const std::string_view (&names)[N], E value) {
  const auto i = static_cast<std::size_t>(value);
  return i < N ? names[i] : "unknown";
}

template <typename E, std::size_t N>
constexpr std::optional<E> FromName(const std::string_view (&names)[N], std::string_view name) {
  for (std::size_t i = 0; i < N; ++i) {
    if (names[i] == name) return static_cast<E>(i);
  }
  return std::nullopt;
}

}  // namespace itaku
