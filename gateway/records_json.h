// One JSON spelling per record type, used by the CLI's --json output, the
// API and the audit trail's details alike, so a field has one name
// everywhere ("delivery_id", never "id" for a delivery). Nothing here holds
// personal data beyond subscriber ids.
#pragma once

#include <nlohmann/json.hpp>
#include <vector>

#include "contracts/types.h"

namespace itaku::gateway {

nlohmann::json ToJson(const contracts::Contractor& contractor);
nlohmann::json ToJson(const contracts::ContractorCertificate& certificate);
nlohmann::json ToJson(const contracts::SftpEndpointRecord& endpoint);  // never the key itself
nlohmann::json ToJson(const contracts::Nda& nda);
nlohmann::json ToJson(const contracts::ContractProfile& profile);
nlohmann::json ToJson(const contracts::DeliveryRecord& delivery);
// A delivery as one subscriber's data went in it (history, breach-scope);
// without the subscriber, whom the caller names.
nlohmann::json ToJson(const contracts::Receipt& receipt);
nlohmann::json ToJson(const contracts::MediaRecord& medium);
nlohmann::json ToJson(const contracts::StaffMember& staff);
nlohmann::json ToJson(const contracts::Proposal& proposal);
nlohmann::json ToJson(const contracts::SpecialRequest& special);
nlohmann::json ToJson(const std::vector<contracts::DeliveryAttempt>& attempts);

// What a command's JSON says to people and their programs: every stored
// instant ("2026-12-02T16:00:00Z", a string equal to nothing else) becomes
// ISO 8601 in Japan's time with the offset ("2026-12-03T01:00:00+09:00"), at
// any depth; dates ("2026-12-03") and everything else stay as they are.
// Applied once, where a reply leaves the daemon (staff_api.cc) or the CLI
// prints a local command's output. ToJson above keeps the stored UTC: the
// audit trail's details are built from it and must say what the store says.
nlohmann::json ForPeople(nlohmann::json json);

}  // namespace itaku::gateway
