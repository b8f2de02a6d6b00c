#include "policies/media_rules.h"

namespace itaku::policies {

using contracts::MediaState;

std::string_view AuditAction(MediaStep step) {
  switch (step) {
    case MediaStep::kHandOver:
      return "media.handover";
    case MediaStep::kReturn:
      return "media.returned";
    case MediaStep::kDestroy:
      return "media.destroyed";
  }
  return "";
}

std::string MediaStepRefusal(MediaState state, MediaStep step) {
  const std::string word(contracts::ToString(state));
  if (step == MediaStep::kHandOver) {
    return state == MediaState::kWritten ? "" : "medium is already " + word;
  }
  return state == MediaState::kHandedOver ? "" : "medium is " + word + ", not handed over";
}

MediaState MediaStateAfter(MediaStep step) {
  switch (step) {
    case MediaStep::kHandOver:
      return MediaState::kHandedOver;
    case MediaStep::kReturn:
      return MediaState::kReturned;
    case MediaStep::kDestroy:
      return MediaState::kDestroyed;
  }
  return MediaState::kWritten;
}

}  // namespace itaku::policies
