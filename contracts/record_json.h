// Records that are stored as JSON, in the one spelling the store keeps and
// everything else prints: a corrective-action request (policy 6(3)-(4))
// and a special request (6(1)). Neither carries its id (the store keeps it
// in its own column; printers add it).
#pragma once

#include <nlohmann/json.hpp>
#include <optional>

#include "contracts/types.h"

namespace itaku::contracts {

nlohmann::json ToJson(const CorrectiveRequest& request);
nlohmann::json ToJson(const SpecialRequest& request);

// Supervision records (schema 11), without their ids. From*: nullopt when
// the JSON is not such a record (a damaged row).
nlohmann::json ToJson(const Contract& contract);
nlohmann::json ToJson(const Subcontractor& subcontractor);
nlohmann::json ToJson(const Disposal& disposal);
nlohmann::json ToJson(const SupervisionCheck& check);
std::optional<Contract> ContractFromJson(const nlohmann::json& j);
std::optional<Subcontractor> SubcontractorFromJson(const nlohmann::json& j);
std::optional<Disposal> DisposalFromJson(const nlohmann::json& j);
std::optional<SupervisionCheck> SupervisionCheckFromJson(const nlohmann::json& j);
nlohmann::json ToJson(const Incident& incident);
std::optional<Incident> IncidentFromJson(const nlohmann::json& j);

}  // namespace itaku::contracts
