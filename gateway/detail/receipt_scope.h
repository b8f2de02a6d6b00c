// What a contractor received in a period, read from the receipts once: who,
// in which deliveries, and which fields of each. Shared by breach-scope and
// incidents (policy 7).
#pragma once

#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "contracts/base/status.h"
#include "gateway/context.h"

namespace itaku::gateway::detail {

struct Affected {
  uint64_t fields = 0;  // bits over ReceiptScope::names
  std::vector<int64_t> deliveries;
};

// Subscriber ids looked up by string_view: no string is made for a
// receipt of a person already met.
struct IdHash {
  using is_transparent = void;
  size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
};
using AffectedById = std::unordered_map<std::string, Affected, IdHash, std::equal_to<>>;

struct ReceiptScope {
  // Field names get one bit each, in the order first met.
  std::vector<std::string> names;
  AffectedById subscribers;
  // Each delivery as records_json prints a receipt of it (no subscriber).
  std::map<int64_t, nlohmann::json> deliveries;
  std::map<int64_t, uint64_t> delivery_fields;  // union of what its receipts carried
  std::vector<std::string> NamesOf(uint64_t bits) const;
};

// Every receipt of `contractor` with ordered_at in [from_utc, to_utc).
// Without `per_person_deliveries`, Affected::deliveries stays empty (a
// million persons in 24 deliveries need not carry 24 ids each).
Result<ReceiptScope> ScanReceipts(Context& ctx, const std::string& contractor,
                                  const std::string& from_utc, const std::string& to_utc,
                                  bool per_person_deliveries = true);

}  // namespace itaku::gateway::detail
