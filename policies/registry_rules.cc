#include "policies/registry_rules.h"

namespace itaku::policies {

std::string ContractorIdRefusal(const std::string& id) {
  if (id.empty() || id.find_first_of(" /\\:") != std::string::npos) {
    return "contractor id must be non-empty without spaces, slashes or colons";
  }
  return "";
}

std::string NdaRefusal(const contracts::Nda& n) {
  const std::string who = "NDA for " + n.contractor_id + ": ";
  if (n.in_force_until < n.in_force_from) {
    return who + "--until " + FormatDate(n.in_force_until) + " is before --from " +
           FormatDate(n.in_force_from);
  }
  if (n.signatories.empty()) return who + "at least one --signatory is required";
  return "";
}

}  // namespace itaku::policies
