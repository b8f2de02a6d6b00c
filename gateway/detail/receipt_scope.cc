#include "gateway/detail/receipt_scope.h"

#include <algorithm>
#include <bit>
#include <functional>
#include <limits>
#include <numeric>
#include <optional>
#include <thread>

#include "gateway/records_json.h"

namespace itaku::gateway::detail {

namespace {

uint64_t HashId(std::string_view id) { return std::hash<std::string_view>{}(id); }

}  // namespace

void PersonTable::Reserve(size_t persons) {
  const size_t want = std::bit_ceil(std::max<size_t>(persons * 2, 16));
  if (want > slots_.size()) Rehash(want);
  fields_.reserve(persons);
  offsets_.reserve(persons + 1);
  if (with_deliveries_) deliveries_.reserve(persons);
}

void PersonTable::Rehash(size_t slots) {
  slots_.assign(slots, Slot{});
  mask_ = slots - 1;
  for (uint32_t e = 0; e < size(); ++e) {
    const uint64_t hash = HashId(Id(e));
    size_t i = hash & mask_;
    while (slots_[i].entry != 0) i = (i + 1) & mask_;
    slots_[i] = Slot{static_cast<uint32_t>(hash >> 32), e + 1};
  }
}

uint32_t PersonTable::FindOrInsert(uint64_t hash, std::string_view id) {
  if (slots_.empty()) Rehash(16);
  const auto tag = static_cast<uint32_t>(hash >> 32);
  for (size_t i = hash & mask_;; i = (i + 1) & mask_) {
    Slot& slot = slots_[i];
    if (slot.entry == 0) {
      const auto entry = static_cast<uint32_t>(size());
      arena_.append(id);
      offsets_.push_back(arena_.size());
      fields_.push_back(0);
      if (with_deliveries_) deliveries_.emplace_back();
      slot = Slot{tag, entry + 1};
      if (size() * 2 > slots_.size()) Rehash(slots_.size() * 2);
      return entry;
    }
    if (slot.tag == tag && Id(slot.entry - 1) == id) return slot.entry - 1;
  }
}

void PersonTable::Add(std::string_view id, uint64_t fields, int64_t delivery) {
  const uint64_t hash = HashId(id);
  if (!slots_.empty()) __builtin_prefetch(&slots_[hash & mask_]);
  pending_[pending_count_++] =
      Pending{hash, pending_ids_.size(), static_cast<uint32_t>(id.size()), fields, delivery};
  pending_ids_.append(id);
  if (pending_count_ == kBatch) Flush();
}

void PersonTable::Flush() {
  for (size_t p = 0; p < pending_count_; ++p) {
    const Pending& r = pending_[p];
    const uint32_t e =
        FindOrInsert(r.hash, std::string_view(pending_ids_).substr(r.offset, r.length));
    fields_[e] |= r.fields;
    if (with_deliveries_) {
      auto& d = deliveries_[e];
      if (d.empty() || d.back() != r.delivery) d.push_back(r.delivery);
    }
  }
  pending_count_ = 0;
  pending_ids_.clear();
}

void PersonTable::Merge(const PersonTable& later) {
  Flush();
  Reserve(std::max(size(), later.size()));
  for (uint32_t e = 0; e < later.size(); ++e) {
    const std::string_view id = later.Id(e);
    const uint32_t mine = FindOrInsert(HashId(id), id);
    fields_[mine] |= later.fields_[e];
    if (with_deliveries_) {
      auto& d = deliveries_[mine];
      d.insert(d.end(), later.deliveries_[e].begin(), later.deliveries_[e].end());
    }
  }
}

const std::vector<int64_t>& PersonTable::Deliveries(size_t entry) const {
  static const std::vector<int64_t> kNone;
  return with_deliveries_ ? deliveries_[entry] : kNone;
}

std::vector<uint32_t> PersonTable::SortedById() const {
  std::vector<uint32_t> order(size());
  std::iota(order.begin(), order.end(), 0u);
  auto by_id = [&](uint32_t a, uint32_t b) { return Id(a) < Id(b); };
  if (!std::is_sorted(order.begin(), order.end(), by_id)) {
    std::sort(order.begin(), order.end(), by_id);
  }
  return order;
}

std::vector<std::string> ReceiptScope::NamesOf(uint64_t bits) const {
  std::vector<std::string> out;
  for (size_t i = 0; i < names.size() && i < 64; ++i) {
    if ((bits >> i) & 1) out.push_back(names[i]);
  }
  return out;
}

namespace {

// Reads ranges [begin, end) on a connection of its own into `persons`,
// each delivery's union of fields into delivery_fields[i].
Status ReadPart(contracts::Store& store, const std::vector<contracts::Store::ReceiptRange>& ranges,
                const std::vector<std::vector<size_t>>& column_bits, size_t begin, size_t end,
                PersonTable& persons, std::vector<uint64_t>& delivery_fields) {
  try {
    auto reader = store.OpenReceiptReader();
    if (!reader.ok()) return reader.status();
    int64_t largest = 0;
    for (size_t r = begin; r < end; ++r) {
      largest = std::max(largest, ranges[r].delivery.record_count);
    }
    // Most deliveries of a period reach the same persons: room for the
    // largest at once instead of growing as they come.
    persons.Reserve(static_cast<size_t>(largest));
    for (size_t r = begin; r < end; ++r) {
      const std::vector<size_t>& columns = column_bits[r];
      const int64_t delivery = ranges[r].delivery.id;
      uint64_t& fields = delivery_fields[r];
      // Most receipts of a delivery carry the same fields: the last
      // mapping kept. -1 (recorded before schema 7): every field.
      std::optional<int64_t> last_carried;
      uint64_t last_bits = 0;
      Status read = reader.value()->Read(ranges[r], [&](std::string_view id, int64_t carried) {
        if (carried != last_carried) {
          uint64_t bits = 0;
          const auto carried_bits = static_cast<uint64_t>(carried);
          for (size_t i = 0; i < columns.size() && i < 64; ++i) {
            if (((carried_bits >> i) & 1) && columns[i] < 64) bits |= uint64_t{1} << columns[i];
          }
          last_carried = carried;
          last_bits = bits;
          fields |= bits;
        }
        persons.Add(id, last_bits, delivery);
      });
      if (!read.ok()) return read;
    }
    persons.Flush();
    return Status::Ok();
  } catch (const std::bad_alloc&) {
    return Status::Io("not enough memory for the receipts in scope");
  } catch (const std::exception& e) {  // never out of a thread: the scan would not end
    return Status::Internal(std::string("reading the receipts in scope: ") + e.what());
  }
}

}  // namespace

Result<ReceiptScope> ScanReceipts(Context& ctx, const std::string& contractor,
                                  const std::string& from_utc, const std::string& to_utc,
                                  bool per_person_deliveries, int64_t parallel_from) {
  auto ranges = ctx.store->ListReceiptRanges(contractor, from_utc, to_utc);
  if (!ranges.ok()) return ranges.status();
  ReceiptScope scope(per_person_deliveries);
  // Each delivery's columns map onto the name bits once, in delivery order.
  auto bit_of = [&](const std::string& f) -> size_t {
    for (size_t i = 0; i < scope.names.size(); ++i) {
      if (scope.names[i] == f) return i;
    }
    scope.names.push_back(f);
    return scope.names.size() - 1;
  };
  std::vector<std::vector<size_t>> column_bits;
  int64_t receipts = 0;
  for (const auto& r : ranges.value()) {
    const contracts::DeliveryRecord& d = r.delivery;
    auto& bits = column_bits.emplace_back();
    for (const auto& f : d.fields) bits.push_back(bit_of(f));
    for (const auto& f : d.extra_fields) bits.push_back(bit_of(f));
    // As records_json prints a receipt of it, without the subscriber.
    contracts::Receipt receipt;
    receipt.delivery_id = d.id;
    receipt.delivered_at = d.ordered_at;
    receipt.contractor_id = d.contractor_id;
    receipt.profile_id = d.profile_id;
    receipt.profile_version = d.profile_version;
    receipt.transport = d.transport;
    nlohmann::json j = ToJson(receipt);
    j.erase("subscriber_id");
    scope.deliveries[d.id] = j;
    if (r.first && r.last) receipts += *r.last - *r.first + 1;
  }
  // Two years of deliveries are read on two connections at once, the
  // earlier deliveries on this thread, the later ones on another (split
  // where half the receipts are), and the later table merged into the
  // earlier: persons keep the order first met and their deliveries stay
  // ascending.
  const size_t n = ranges->size();
  size_t split = n;
  if (receipts >= parallel_from && n > 1) {
    int64_t seen = 0;
    for (split = 0; split < n - 1 && seen * 2 < receipts; ++split) {
      const auto& r = ranges.value()[split];
      if (r.first && r.last) seen += *r.last - *r.first + 1;
    }
  }
  std::vector<uint64_t> delivery_fields(n, 0);
  PersonTable later(per_person_deliveries);
  Status later_status = Status::Ok();
  std::thread second;
  if (split < n) {
    second = std::thread([&] {
      later_status =
          ReadPart(*ctx.store, ranges.value(), column_bits, split, n, later, delivery_fields);
    });
  }
  Status first_status =
      ReadPart(*ctx.store, ranges.value(), column_bits, 0, split, scope.persons, delivery_fields);
  if (second.joinable()) second.join();
  if (!first_status.ok()) return first_status;
  if (!later_status.ok()) return later_status;
  if (split < n) scope.persons.Merge(later);
  for (size_t r = 0; r < n; ++r) {
    scope.delivery_fields[ranges.value()[r].delivery.id] = delivery_fields[r];
  }
  return scope;
}

}  // namespace itaku::gateway::detail
