#include "policies/media_rules.h"

namespace itaku::policies {

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

std::string MediaStepRefusal(const std::string& state, MediaStep step) {
  if (step == MediaStep::kHandOver) {
    return state == "written" ? "" : "medium is already " + state;
  }
  return state == "handed-over" ? "" : "medium is " + state + ", not handed over";
}

std::string_view MediaStateAfter(MediaStep step) {
  switch (step) {
    case MediaStep::kHandOver:
      return "handed-over";
    case MediaStep::kReturn:
      return "returned";
    case MediaStep::kDestroy:
      return "destroyed";
  }
  return "";
}

}  // namespace itaku::policies
