#include "contracts/types.h"

#include "contracts/base/names.h"

namespace itaku::contracts {
namespace {

constexpr Named<ContractorStatus> kContractorStatus[] = {
    {ContractorStatus::kActive, "active"},
    {ContractorStatus::kSuspended, "suspended"},
    {ContractorStatus::kTerminated, "terminated"},
};
constexpr Named<StaffRole> kStaffRole[] = {
    {StaffRole::kOperator, "operator"},
    {StaffRole::kPrivacyOfficer, "privacy-officer"},
    {StaffRole::kAuditor, "auditor"},
};
constexpr Named<Transport> kTransport[] = {
    {Transport::kPaper, "paper"},
    {Transport::kMedia, "media"},
    {Transport::kSftp, "sftp"},
    {Transport::kPortal, "portal"},
};
constexpr Named<DeliveryOutcome> kDeliveryOutcome[] = {
    {DeliveryOutcome::kRefused, "refused"},     {DeliveryOutcome::kDryRun, "dry-run"},
    {DeliveryOutcome::kDelivered, "delivered"}, {DeliveryOutcome::kFailed, "failed"},
    {DeliveryOutcome::kSending, "sending"},
};
constexpr Named<AttemptOutcome> kAttemptOutcome[] = {
    {AttemptOutcome::kDelivered, "delivered"},
    {AttemptOutcome::kAlreadyThere, "already-there"},
    {AttemptOutcome::kNetworkError, "network-error"},
    {AttemptOutcome::kRefused, "refused"},
};
constexpr Named<MediaState> kMediaState[] = {
    {MediaState::kWritten, "written"},
    {MediaState::kHandedOver, "handed-over"},
    {MediaState::kReturned, "returned"},
    {MediaState::kDestroyed, "destroyed"},
};
constexpr Named<RequestState> kRequestState[] = {
    {RequestState::kReceived, "received"},     {RequestState::kDecided, "decided"},
    {RequestState::kInstructed, "instructed"}, {RequestState::kAnswered, "answered"},
    {RequestState::kClosed, "closed"},         {RequestState::kNotified, "notified"},
};
constexpr Named<SpecialKind> kSpecialKind[] = {
    {SpecialKind::kExclude, "exclude"},
    {SpecialKind::kWithhold, "withhold"},
    {SpecialKind::kExtend, "extend"},
};

}  // namespace

#define ITAKU_NAMED_ENUM(E, table)                                    \
  std::string_view ToString(E value) { return NameOf(table, value); } \
  template <>                                                         \
  std::optional<E> Parse<E>(std::string_view word) {                  \
    return FromName(table, word);                                     \
  }

ITAKU_NAMED_ENUM(ContractorStatus, kContractorStatus)
ITAKU_NAMED_ENUM(StaffRole, kStaffRole)
ITAKU_NAMED_ENUM(Transport, kTransport)
ITAKU_NAMED_ENUM(DeliveryOutcome, kDeliveryOutcome)
ITAKU_NAMED_ENUM(AttemptOutcome, kAttemptOutcome)
ITAKU_NAMED_ENUM(MediaState, kMediaState)
ITAKU_NAMED_ENUM(RequestState, kRequestState)
ITAKU_NAMED_ENUM(SpecialKind, kSpecialKind)

#undef ITAKU_NAMED_ENUM

}  // namespace itaku::contracts
