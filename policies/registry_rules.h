// Rules of the registry itself (who may be registered, and how): pure
// functions returning the refusal a person reads, or empty.
#pragma once

#include <string>

#include "contracts/types.h"

namespace itaku::policies {

// A contractor id names files and URL paths: non-empty, no spaces, slashes
// or colons.
std::string ContractorIdRefusal(const std::string& id);

// An NDA (機密保持契約, policy 4(3)) runs forwards and has a signatory. The
// refusal names the contractor: "NDA for agency-a: --until … is before
// --from …".
std::string NdaRefusal(const contracts::Nda& nda);

}  // namespace itaku::policies
