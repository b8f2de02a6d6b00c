// The decision: may this delivery happen today? Pure: the registry snapshot
// and "today" are handed in. Every reason a person can read, with its clause.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "contracts/base/date.h"
#include "contracts/types.h"

namespace itaku::policies {

struct DeliveryRequest {
  contracts::Transport transport = contracts::Transport::kMedia;
};

// What the registry knows that bears on one delivery.
struct RegistrySnapshot {
  contracts::Contractor contractor;
  contracts::ContractProfile profile;
  std::vector<contracts::Nda> ndas;  // the contractor's, any order
};

struct Decision {
  std::vector<std::string> reasons;  // empty = allowed
  std::optional<int64_t> nda_id;     // the NDA in force, when there is one
  bool allowed() const { return reasons.empty(); }
};

// Refusal reasons, in this order, each present when it applies:
//   contractor not active, profile/contractor mismatch, no NDA in force
//   today, profile not valid today, transport not allowed.
Decision Decide(const DeliveryRequest& request, const RegistrySnapshot& snapshot,
                const Date& today);

}  // namespace itaku::policies
