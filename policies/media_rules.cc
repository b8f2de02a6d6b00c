#include "policies/media_rules.h"

#include "contracts/base/names.h"

namespace itaku::policies {

using contracts::MediaState;

std::string_view AuditAction(MediaStep step) {
  constexpr std::string_view kActions[] = {"media.handover", "media.returned", "media.destroyed",
                                           "media.cancelled"};
  return NameOf(kActions, step);
}

std::string MediaStepRefusal(MediaState state, MediaStep step) {
  const std::string word(contracts::ToString(state));
  switch (step) {
    case MediaStep::kHandOver:
      return state == MediaState::kWritten ? "" : "medium is already " + word;
    case MediaStep::kReturn:
      return state == MediaState::kHandedOver ? "" : "medium is " + word + ", not handed over";
    case MediaStep::kDestroy:
      // A returned stick is wiped later: its destruction is recorded then.
      if (state == MediaState::kHandedOver || state == MediaState::kReturned) return "";
      if (state == MediaState::kWritten) {
        return "medium is written, not handed over (cancel it with: itaku media cancel)";
      }
      return "medium is already " + word;
    case MediaStep::kCancel:
      // Only a package that never left the building can be taken back: once
      // handed over, the contractor has had the data.
      if (state == MediaState::kWritten) return "";
      if (state == MediaState::kHandedOver) {
        return "medium is handed-over; record its return instead";
      }
      if (state == MediaState::kCancelled) return "medium is already cancelled";
      return "medium is " + word + "; only a package never handed over is cancelled";
  }
  return "unknown media step";
}

MediaState MediaStateAfter(MediaStep step) {
  constexpr MediaState kAfter[] = {MediaState::kHandedOver, MediaState::kReturned,
                                   MediaState::kDestroyed, MediaState::kCancelled};
  return kAfter[static_cast<size_t>(step)];
}

}  // namespace itaku::policies
