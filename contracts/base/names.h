// One table per enum that Itaku stores or prints: the enum value and the
// word the store, the audit trail and JSON use for it. NameOf and FromName
// read the same table, so a word cannot be spelled two ways.
#pragma once

#include <cstddef>
#include <optional>
#include <string_view>

namespace itaku {

template <typename E>
struct Named {
  E value;
  std::string_view name;
};

template <typename E, std::size_t N>
constexpr std::string_view NameOf(const Named<E> (&table)[N], E value) {
  for (const auto& entry : table) {
    if (entry.value == value) return entry.name;
  }
  return "unknown";
}

template <typename E, std::size_t N>
constexpr std::optional<E> FromName(const Named<E> (&table)[N], std::string_view name) {
  for (const auto& entry : table) {
    if (entry.name == name) return entry.value;
  }
  return std::nullopt;
}

}  // namespace itaku
