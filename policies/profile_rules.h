// Whether an imported contract profile stays inside the field catalog and
// its purpose (policy 2(3), 6(1)). Pure.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "contracts/base/status.h"
#include "contracts/types.h"

namespace itaku::policies {

// Every problem, "; "-joined, each naming its clause, e.g.
// "birth_date is not used for purpose billing (policy 2(3))". The profile
// and contractor ids must be shaped as policies/registry_rules.h says, and
// subscriber_id must be sent unmasked (for purpose statistics: as the keyed
// pseudonym that purpose requires, which the operator can still compute),
// because the record of who received what names it (policy 5). A name the
// profile gives that is not on record (field, mask, purpose, transport) is
// repeated escaped (policies::Printable).
// Does not check that the contractor exists (the registry's business).
Status ValidateProfile(const contracts::ContractProfile& profile);

// A profile id belongs to its contractor for life: a new version for
// another contractor is refused (the next delivery under that id would go
// to them). `current` is the latest version of the same id; "" when allowed.
//   "profile builder-installation belongs to builder-co; a profile id
//    cannot move to agency-a (policy 6)"
std::string ProfileOwnerRefusal(const std::optional<contracts::ContractProfile>& current,
                                const contracts::ContractProfile& next);

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
// package, the formula guard turned off ("formula_guard": "on" -> "off";
// a new profile without it says so in its one change). Empty when `next`
// only narrows or keeps.
std::vector<ProfileChange> ProfileWidening(const std::optional<contracts::ContractProfile>& current,
                                           const contracts::ContractProfile& next);

}  // namespace itaku::policies
