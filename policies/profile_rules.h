// Whether an imported contract profile stays inside the field catalog and
// its purpose (policy 2(3), 6(1)). Pure.
#pragma once

#include "contracts/base/status.h"
#include <optional>
#include <string>
#include <vector>

#include "contracts/types.h"

namespace itaku::policies {

// Every problem, "; "-joined, each naming its clause, e.g.
// "birth_date is not used for purpose billing (policy 2(3))".
// Does not check that the contractor exists (the registry's business).
Status ValidateProfile(const contracts::ContractProfile& profile);

}  // namespace itaku::policies

namespace itaku::policies {

// One way a new profile version widens what or where data goes; shown to
// the second person who approves it. `from` / `to` are "" for none.
struct ProfileChange {
  std::string item;  // "field bank_code", "mask phone", "transport sftp", "valid_until", ...
  std::string from;
  std::string to;
};

// Every way `next` widens `current` (the latest version of the same id;
// nullopt for a new profile): a field added, a mask removed or changed, a
// transport added, validity started earlier or ended later, retention
// lengthened, another contractor or purpose, CSV in place of the encrypted
// package. Empty when `next` only narrows or keeps.
std::vector<ProfileChange> ProfileWidening(const std::optional<contracts::ContractProfile>& current,
                                           const contracts::ContractProfile& next);

}  // namespace itaku::policies
