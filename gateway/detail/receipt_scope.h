// What a contractor received in a period, read from the receipts once: who,
// in which deliveries, and which fields of each. Shared by breach-scope and
// incidents (policy 7).
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "contracts/base/status.h"
#include "gateway/context.h"

namespace itaku::gateway::detail {

// The persons of a scope, keyed by subscriber id: a flat open-addressing
// table over ids kept end to end in one buffer, entries in the order first
// met. Two years of monthly deliveries to a million persons are 24 million
// receipts of a million ids: a lookup is one probe into an array of 8-byte
// slots, issued ahead (receipts are looked up in batches, each slot
// prefetched as the receipt arrives), and ids met in the same order as
// before compare against the buffer where the previous one ended.
class PersonTable {
 public:
  explicit PersonTable(bool with_deliveries) : with_deliveries_(with_deliveries) {}
  // Room for `persons` without growing.
  void Reserve(size_t persons);
  // One receipt: `fields` (bits) of `id` reached the contractor in
  // `delivery`. Lookups are batched: Flush() before reading.
  void Add(std::string_view id, uint64_t fields, int64_t delivery);
  void Flush();
  // Adds `later`'s persons, whose deliveries all come after this table's.
  void Merge(const PersonTable& later);

  size_t size() const { return fields_.size(); }
  std::string_view Id(size_t entry) const {
    return std::string_view(arena_).substr(offsets_[entry], offsets_[entry + 1] - offsets_[entry]);
  }
  uint64_t Fields(size_t entry) const { return fields_[entry]; }
  // The deliveries that carried the entry's person, ascending; empty
  // without `with_deliveries`.
  const std::vector<int64_t>& Deliveries(size_t entry) const;
  // Entry numbers in ascending order of id (exports usually come sorted:
  // then no sort at all).
  std::vector<uint32_t> SortedById() const;

 private:
  struct Slot {
    uint32_t tag = 0;    // the hash's high half
    uint32_t entry = 0;  // entry + 1; 0: free
  };
  struct Pending {
    uint64_t hash;
    size_t offset;  // into pending_ids_
    uint32_t length;
    uint64_t fields;
    int64_t delivery;
  };
  static constexpr size_t kBatch = 16;
  uint32_t FindOrInsert(uint64_t hash, std::string_view id);
  void Rehash(size_t slots);

  bool with_deliveries_;
  std::vector<Slot> slots_;
  size_t mask_ = 0;
  std::string arena_;
  std::vector<size_t> offsets_{0};  // entry i: arena_[offsets_[i], offsets_[i + 1])
  std::vector<uint64_t> fields_;
  std::vector<std::vector<int64_t>> deliveries_;
  std::array<Pending, kBatch> pending_{};
  size_t pending_count_ = 0;
  std::string pending_ids_;
};

struct ReceiptScope {
  explicit ReceiptScope(bool per_person_deliveries) : persons(per_person_deliveries) {}
  // Field names get one bit each, in the order first met.
  std::vector<std::string> names;
  PersonTable persons;
  // Each delivery as records_json prints a receipt of it (no subscriber).
  std::map<int64_t, nlohmann::json> deliveries;
  std::map<int64_t, uint64_t> delivery_fields;  // union of what its receipts carried
  std::vector<std::string> NamesOf(uint64_t bits) const;
};

// Scopes of at least this many receipts are read on two connections at once.
inline constexpr int64_t kScanParallelFrom = 200000;

// Every receipt of `contractor` with ordered_at in [from_utc, to_utc).
// Without `per_person_deliveries`, PersonTable::Deliveries stays empty (a
// million persons in 24 deliveries need not carry 24 ids each).
// `parallel_from`: for tests, which compare both ways on a small store.
Result<ReceiptScope> ScanReceipts(Context& ctx, const std::string& contractor,
                                  const std::string& from_utc, const std::string& to_utc,
                                  bool per_person_deliveries = true,
                                  int64_t parallel_from = kScanParallelFrom);

}  // namespace itaku::gateway::detail
