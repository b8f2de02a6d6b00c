#include "gateway/detail/receipt_scope.h"

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
  std::vector<size_t> column_bits;  // the current delivery's columns -> name bits
  Status failed;
  Status s =
      ctx.store->ForEachReceipt(contractor, from_utc, to_utc, [&](const contracts::Receipt& r) {
        if (!failed.ok()) return;
        if (r.delivery_id != current) {
          current = r.delivery_id;
          auto d = ctx.store->FindDelivery(current);
          if (!d.ok() || !d.value()) {
            failed = d.ok() ? Status::NotFound("delivery " + std::to_string(current)) : d.status();
            return;
          }
          column_bits.clear();
          for (const auto& f : d.value()->fields) column_bits.push_back(bit_of(f));
          for (const auto& f : d.value()->extra_fields) column_bits.push_back(bit_of(f));
          nlohmann::json j = ToJson(r);
          j.erase("subscriber_id");
          scope.deliveries[current] = j;
        }
        uint64_t bits = 0;
        const auto carried = static_cast<uint64_t>(r.carried);
        for (size_t i = 0; i < column_bits.size() && i < 64; ++i) {
          // -1: recorded before schema 7, every field of the delivery.
          const bool sent = r.carried == -1 || ((carried >> i) & 1);
          if (sent && column_bits[i] < 64) bits |= uint64_t{1} << column_bits[i];
        }
        Affected& a = scope.subscribers[r.subscriber_id];
        a.fields |= bits;
        if (per_person_deliveries && (a.deliveries.empty() || a.deliveries.back() != current)) {
          a.deliveries.push_back(current);
        }
        scope.delivery_fields[current] |= bits;
      });
  if (!s.ok()) return s;
  if (!failed.ok()) return failed;
  return scope;
}

}  // namespace itaku::gateway::detail
