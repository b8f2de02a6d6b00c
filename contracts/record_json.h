// Records that are stored as JSON, in the one spelling the store keeps and
// everything else prints: a corrective-action request (policy 6(3)-(4))
// and a special request (6(1)). Neither carries its id (the store keeps it
// in its own column; printers add it).
#pragma once

#include <nlohmann/json.hpp>

#include "contracts/types.h"

namespace itaku::contracts {

nlohmann::json ToJson(const CorrectiveRequest& request);
nlohmann::json ToJson(const SpecialRequest& request);

}  // namespace itaku::contracts
