#include "policies/media_rules.h"

#include "contracts/base/names.h"

namespace itaku::policies {

using contracts::MediaState;

std::string_view AuditAction(MediaStep step) {
  constexpr std::string_view kActions[] = {"media.handover", "media.returned", "media.destroyed",
                                           "media.cancelled"};
  return NameOf(kActions, step);
}

std::string_view PaperAuditAction(MediaStep step) {
  constexpr std::string_view kActions[] = {"paper.handover", "paper.returned", "paper.shredded",
                                           "paper.cancelled"};
  return NameOf(kActions, step);
}

std::string_view PaperStateWord(MediaState state) {
  if (state == MediaState::kWritten) return "printed";
  if (state == MediaState::kDestroyed) return "shredded";
  return contracts::ToString(state);
}

std::string MediaStepRefusal(MediaState state, MediaStep step, contracts::Transport transport) {
  const bool paper = transport == contracts::Transport::kPaper;
  const std::string thing = paper ? "the printed sheets are " : "medium is ";
  const std::string word(paper ? PaperStateWord(state) : contracts::ToString(state));
  const std::string group = paper ? "paper" : "media";
  switch (step) {
    case MediaStep::kHandOver:
      return state == MediaState::kWritten ? "" : thing + "already " + word;
    case MediaStep::kReturn:
      return state == MediaState::kHandedOver ? "" : thing + word + ", not handed over";
    case MediaStep::kDestroy:
      // A returned stick is wiped later: its destruction is recorded then.
      if (state == MediaState::kHandedOver || state == MediaState::kReturned) return "";
      if (state == MediaState::kWritten) {
        return thing + word + ", not handed over (cancel " + (paper ? "them" : "it") +
               " with: itaku " + group + " cancel)";
      }
      return thing + "already " + word;
    case MediaStep::kCancel:
      // Only a package that never left the building can be taken back: once
      // handed over, the contractor has had the data.
      if (state == MediaState::kWritten) return "";
      if (state == MediaState::kHandedOver) {
        return thing + "handed-over; record " + (paper ? "their" : "its") + " return instead";
      }
      if (state == MediaState::kCancelled) return thing + "already cancelled";
      return thing + word + "; only " + (paper ? "sheets" : "a package") + " never handed over " +
             (paper ? "are" : "is") + " cancelled";
  }
  return "unknown media step";
}

MediaState MediaStateAfter(MediaStep step) {
  constexpr MediaState kAfter[] = {MediaState::kHandedOver, MediaState::kReturned,
                                   MediaState::kDestroyed, MediaState::kCancelled};
  return kAfter[static_cast<size_t>(step)];
}

}  // namespace itaku::policies
