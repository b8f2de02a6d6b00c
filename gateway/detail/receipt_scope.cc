#include "gateway/detail/receipt_scope.h"

#include <algorithm>

#include "gateway/records_json.h"

namespace itaku::gateway::detail {

std::vector<std::string> ReceiptScope::NamesOf(uint64_t bits) const {
  std::vector<std::string> out;
  for (size_t i = 0; i < names.size() && i < 64; ++i) {
    if ((bits >> i) & 1) out.push_back(names[i]);
  }
  return out;
}

Result<ReceiptScope> ScanReceipts(Context& ctx, const std::string& contractor,
                                  const std::string& from_utc, const std::string& to_utc,
                                  bool per_person_deliveries) {
  ReceiptScope scope;
  // Each delivery's columns map onto the name bits once.
  auto bit_of = [&](const std::string& f) -> size_t {
    for (size_t i = 0; i < scope.names.size(); ++i) {
      if (scope.names[i] == f) return i;
    }
    scope.names.push_back(f);
    return scope.names.size() - 1;
  };
  int64_t current = -1;
  uint64_t* current_fields = nullptr;  // scope.delivery_fields[current]
  std::vector<size_t> column_bits;     // the current delivery's columns -> name bits
  Status s = ctx.store->ForEachReceiptFast(
      contractor, from_utc, to_utc,
      [&](const contracts::DeliveryRecord& d) {
        current = d.id;
        column_bits.clear();
        for (const auto& f : d.fields) column_bits.push_back(bit_of(f));
        for (const auto& f : d.extra_fields) column_bits.push_back(bit_of(f));
        // As records_json prints a receipt of it, without the subscriber.
        contracts::Receipt r;
        r.delivery_id = d.id;
        r.delivered_at = d.ordered_at;
        r.contractor_id = d.contractor_id;
        r.profile_id = d.profile_id;
        r.profile_version = d.profile_version;
        r.transport = d.transport;
        nlohmann::json j = ToJson(r);
        j.erase("subscriber_id");
        scope.deliveries[current] = j;
        current_fields = &scope.delivery_fields[current];
        // Most deliveries of a period reach the same persons: room for the
        // largest at once instead of rehashing as they come.
        const auto want = static_cast<size_t>(std::max<int64_t>(d.record_count, 0));
        if (want > scope.subscribers.bucket_count()) scope.subscribers.reserve(want);
      },
      [&](std::string_view subscriber_id, int64_t carried) {
        uint64_t bits = 0;
        const auto carried_bits = static_cast<uint64_t>(carried);
        for (size_t i = 0; i < column_bits.size() && i < 64; ++i) {
          // -1: recorded before schema 7, every field of the delivery.
          const bool sent = carried == -1 || ((carried_bits >> i) & 1);
          if (sent && column_bits[i] < 64) bits |= uint64_t{1} << column_bits[i];
        }
        auto it = scope.subscribers.find(subscriber_id);
        if (it == scope.subscribers.end()) {
          it = scope.subscribers.emplace(std::string(subscriber_id), Affected{}).first;
        }
        Affected& a = it->second;
        a.fields |= bits;
        if (per_person_deliveries && (a.deliveries.empty() || a.deliveries.back() != current)) {
          a.deliveries.push_back(current);
        }
        *current_fields |= bits;
      });
  if (!s.ok()) return s;
  return scope;
}

}  // namespace itaku::gateway::detail
