#include "contracts/types.h"

namespace itaku::contracts {

std::string_view ToString(ContractorStatus status) {
  switch (status) {
    case ContractorStatus::kActive:
      return "active";
    case ContractorStatus::kSuspended:
      return "suspended";
    case ContractorStatus::kTerminated:
      return "terminated";
  }
  return "unknown";
}

std::optional<ContractorStatus> ParseContractorStatus(std::string_view text) {
  if (text == "active") return ContractorStatus::kActive;
  if (text == "suspended") return ContractorStatus::kSuspended;
  if (text == "terminated") return ContractorStatus::kTerminated;
  return std::nullopt;
}

}  // namespace itaku::contracts
