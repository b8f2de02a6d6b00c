#include "policies/media_rules.h"

#include "contracts/base/names.h"

namespace itaku::policies {

using contracts::MediaState;

std::string_view AuditAction(MediaStep step) {
  constexpr std::string_view kActions[] = {"media.handover", "media.returned", "media.destroyed"};
  return NameOf(kActions, step);
}

std::string MediaStepRefusal(MediaState state, MediaStep step) {
  const std::string word(contracts::ToString(state));
  if (step == MediaStep::kHandOver) {
    return state == MediaState::kWritten ? "" : "medium is already " + word;
  }
  return state == MediaState::kHandedOver ? "" : "medium is " + word + ", not handed over";
}

MediaState MediaStateAfter(MediaStep step) {
  constexpr MediaState kAfter[] = {MediaState::kHandedOver, MediaState::kReturned,
                                   MediaState::kDestroyed};
  return kAfter[static_cast<size_t>(step)];
}

}  // namespace itaku::policies
