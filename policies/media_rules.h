// The state machine of a medium a package travels on (policy 6(2)
// 電子記録媒体の引渡し), beside the request state machine: written ->
// handed-over -> returned -> destroyed, or handed-over -> destroyed; a
// package never handed over is cancelled instead (written -> cancelled).
// Pure functions.
#pragma once

#include <string>
#include <string_view>

#include "contracts/types.h"

namespace itaku::policies {

enum class MediaStep { kHandOver, kReturn, kDestroy, kCancel };

// "media.handover", "media.returned", "media.destroyed", "media.cancelled":
// the audit action.
std::string_view AuditAction(MediaStep step);

// Why `step` cannot be taken from `state`, without the delivery's name
// ("medium is already handed-over", "medium is written, not handed over",
// "medium is handed-over; record its return instead"); empty when it can.
std::string MediaStepRefusal(contracts::MediaState state, MediaStep step);

// The state after `step`.
contracts::MediaState MediaStateAfter(MediaStep step);

}  // namespace itaku::policies
