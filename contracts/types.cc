#include "contracts/types.h"

#include "contracts/base/names.h"

namespace itaku::contracts {
namespace {

// In the order of each enum's values (contracts/types.h).
constexpr std::string_view kContractorStatus[] = {"active", "suspended", "terminated"};
constexpr std::string_view kStaffRole[] = {"operator", "privacy-officer", "auditor"};
constexpr std::string_view kTransport[] = {"paper", "media", "sftp", "portal"};
constexpr std::string_view kDeliveryOutcome[] = {"refused", "dry-run", "delivered", "failed",
                                                 "sending"};
constexpr std::string_view kAttemptOutcome[] = {"delivered", "already-there", "network-error",
                                                "refused"};
constexpr std::string_view kMediaState[] = {"written", "handed-over", "returned", "destroyed"};
constexpr std::string_view kRequestState[] = {"received", "decided", "instructed",
                                              "answered", "closed",  "notified"};
constexpr std::string_view kSpecialKind[] = {"exclude", "withhold", "extend"};
constexpr std::string_view kProposalState[] = {"pending", "approved", "rejected", "expired"};

}  // namespace

#define ITAKU_NAMED_ENUM(E, table)                                    \
  std::string_view ToString(E value) { return NameOf(table, value); } \
  template <>                                                         \
  std::optional<E> Parse<E>(std::string_view word) {                  \
    return FromName<E>(table, word);                                  \
  }

ITAKU_NAMED_ENUM(ContractorStatus, kContractorStatus)
ITAKU_NAMED_ENUM(StaffRole, kStaffRole)
ITAKU_NAMED_ENUM(Transport, kTransport)
ITAKU_NAMED_ENUM(DeliveryOutcome, kDeliveryOutcome)
ITAKU_NAMED_ENUM(AttemptOutcome, kAttemptOutcome)
ITAKU_NAMED_ENUM(MediaState, kMediaState)
ITAKU_NAMED_ENUM(RequestState, kRequestState)
ITAKU_NAMED_ENUM(SpecialKind, kSpecialKind)
ITAKU_NAMED_ENUM(ProposalState, kProposalState)

#undef ITAKU_NAMED_ENUM

}  // namespace itaku::contracts
