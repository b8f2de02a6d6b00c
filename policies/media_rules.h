// The state machine of a medium a package travels on (policy 6(2)
// 電子記録媒体の引渡し), beside the request state machine: written ->
// handed-over -> returned -> destroyed, or handed-over -> destroyed; a
// package never handed over is cancelled instead (written -> cancelled).
// The printed sheets of a paper delivery follow the same machine.
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
// Paper's printed sheets (紙) take the same steps, worded for paper
// (`transport` kPaper): "the printed sheets are already handed-over".
std::string MediaStepRefusal(contracts::MediaState state, MediaStep step,
                             contracts::Transport transport = contracts::Transport::kMedia);

// "paper.handover", "paper.returned", "paper.shredded", "paper.cancelled".
std::string_view PaperAuditAction(MediaStep step);
// How paper's sheets are in a state: "printed" (written), "shredded"
// (destroyed), else the state's own word.
std::string_view PaperStateWord(contracts::MediaState state);

// The state after `step`.
contracts::MediaState MediaStateAfter(MediaStep step);

}  // namespace itaku::policies
