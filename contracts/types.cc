#include "contracts/types.h"

#include "contracts/base/names.h"

namespace itaku::contracts {
namespace {

// In the order of each enum's values (contracts/types.h).
constexpr std::string_view kContractorStatus[] = {"active", "suspended", "terminated"};
constexpr std::string_view kStaffRole[] = {"operator", "privacy-officer", "auditor"};
constexpr std::string_view kTransport[] = {"paper", "media", "sftp", "portal"};
constexpr std::string_view kDeliveryOutcome[] = {"refused", "dry-run", "delivered", "failed",
                                                 "sending", "writing", "cancelled"};
constexpr std::string_view kAttemptOutcome[] = {"delivered", "already-there", "network-error",
                                                "refused"};
constexpr std::string_view kMediaState[] = {"written", "handed-over", "returned", "destroyed",
                                            "cancelled"};
constexpr std::string_view kRequestState[] = {"received", "decided", "instructed",
                                              "answered", "closed",  "notified"};
constexpr std::string_view kSpecialKind[] = {"exclude", "withhold", "extend"};
constexpr std::string_view kProposalState[] = {"pending", "approved", "rejected", "expired"};
constexpr std::string_view kReoutsourcing[] = {"forbidden", "approval", "named"};
constexpr std::string_view kDisposalMethod[] = {"shredded", "erased", "returned", "dissolved"};
constexpr std::string_view kCheckResult[] = {"pass", "findings", "fail"};

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
ITAKU_NAMED_ENUM(Reoutsourcing, kReoutsourcing)
ITAKU_NAMED_ENUM(DisposalMethod, kDisposalMethod)
ITAKU_NAMED_ENUM(CheckResult, kCheckResult)

#undef ITAKU_NAMED_ENUM

std::vector<std::string> CarriedFields(const std::vector<std::string>& fields,
                                       const std::vector<std::string>& extra, int64_t carried) {
  if (carried == -1) return fields;
  std::vector<std::string> out;
  const auto bits = static_cast<uint64_t>(carried);
  for (size_t i = 0; i < fields.size() + extra.size() && i < 64; ++i) {
    if ((bits >> i) & 1) out.push_back(i < fields.size() ? fields[i] : extra[i - fields.size()]);
  }
  return out;
}

}  // namespace itaku::contracts
