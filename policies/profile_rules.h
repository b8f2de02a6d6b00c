// Whether an imported contract profile stays inside the field catalog and
// its purpose (policy 2(3), 6(1)). Pure.
#pragma once

#include "contracts/base/status.h"
#include "contracts/types.h"

namespace itaku::policies {

// Every problem, "; "-joined, each naming its clause, e.g.
// "birth_date is not used for purpose billing (policy 2(3))".
// Does not check that the contractor exists (the registry's business).
Status ValidateProfile(const contracts::ContractProfile& profile);

}  // namespace itaku::policies
