// Records that are stored as JSON, in the one spelling the store keeps and
// everything else prints: a corrective-action request (policy 6(3)-(4)).
#pragma once

#include <nlohmann/json.hpp>

#include "contracts/types.h"

namespace itaku::contracts {

nlohmann::json ToJson(const CorrectiveRequest& request);

}  // namespace itaku::contracts
