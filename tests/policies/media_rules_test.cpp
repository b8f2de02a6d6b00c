#include "policies/media_rules.h"

#include <gtest/gtest.h>

namespace itaku::policies {
namespace {

using contracts::MediaState;

TEST(MediaRulesTest, WrittenThenHandedOverThenReturnedOrDestroyed) {
  EXPECT_EQ(MediaStepRefusal(MediaState::kWritten, MediaStep::kHandOver), "");
  EXPECT_EQ(MediaStateAfter(MediaStep::kHandOver), MediaState::kHandedOver);
  EXPECT_EQ(MediaStepRefusal(MediaState::kHandedOver, MediaStep::kReturn), "");
  EXPECT_EQ(MediaStepRefusal(MediaState::kHandedOver, MediaStep::kDestroy), "");
  EXPECT_EQ(MediaStateAfter(MediaStep::kReturn), MediaState::kReturned);
  EXPECT_EQ(MediaStateAfter(MediaStep::kDestroy), MediaState::kDestroyed);
  EXPECT_EQ(AuditAction(MediaStep::kDestroy), "media.destroyed");
}

TEST(MediaRulesTest, NoStepTwiceAndNoneOutOfOrder) {
  EXPECT_EQ(MediaStepRefusal(MediaState::kHandedOver, MediaStep::kHandOver),
            "medium is already handed-over");
  EXPECT_EQ(MediaStepRefusal(MediaState::kWritten, MediaStep::kReturn),
            "medium is written, not handed over");
  EXPECT_EQ(MediaStepRefusal(MediaState::kReturned, MediaStep::kReturn),
            "medium is returned, not handed over");
  EXPECT_EQ(MediaStepRefusal(MediaState::kDestroyed, MediaStep::kDestroy),
            "medium is already destroyed");
}

// Regression: a returned stick could never be recorded as wiped.
TEST(MediaRulesTest, AReturnedMediumIsDestroyedLater) {
  EXPECT_EQ(MediaStepRefusal(MediaState::kReturned, MediaStep::kDestroy), "");
  EXPECT_EQ(MediaStepRefusal(MediaState::kDestroyed, MediaStep::kReturn),
            "medium is destroyed, not handed over");
}

// Regression: a package written but never handed over stayed outstanding
// forever; `media destroyed` was the only step offered and refused it.
TEST(MediaRulesTest, OnlyAPackageNeverHandedOverIsCancelled) {
  EXPECT_EQ(MediaStepRefusal(MediaState::kWritten, MediaStep::kCancel), "");
  EXPECT_EQ(MediaStateAfter(MediaStep::kCancel), MediaState::kCancelled);
  EXPECT_EQ(AuditAction(MediaStep::kCancel), "media.cancelled");
  EXPECT_EQ(MediaStepRefusal(MediaState::kWritten, MediaStep::kDestroy),
            "medium is written, not handed over (cancel it with: itaku media cancel)");
  EXPECT_EQ(MediaStepRefusal(MediaState::kHandedOver, MediaStep::kCancel),
            "medium is handed-over; record its return instead");
  EXPECT_EQ(MediaStepRefusal(MediaState::kReturned, MediaStep::kCancel),
            "medium is returned; only a package never handed over is cancelled");
  EXPECT_EQ(MediaStepRefusal(MediaState::kDestroyed, MediaStep::kCancel),
            "medium is destroyed; only a package never handed over is cancelled");
  EXPECT_EQ(MediaStepRefusal(MediaState::kCancelled, MediaStep::kCancel),
            "medium is already cancelled");
  // Nothing follows a cancellation.
  EXPECT_EQ(MediaStepRefusal(MediaState::kCancelled, MediaStep::kHandOver),
            "medium is already cancelled");
  EXPECT_EQ(MediaStepRefusal(MediaState::kCancelled, MediaStep::kReturn),
            "medium is cancelled, not handed over");
  EXPECT_EQ(MediaStepRefusal(MediaState::kCancelled, MediaStep::kDestroy),
            "medium is already cancelled");
}

// The printed sheets of a paper delivery take the same steps, in paper's
// words, and their own audit actions.
TEST(MediaRulesTest, PaperSheetsTakeTheSameStepsInTheirOwnWords) {
  using contracts::Transport;
  EXPECT_EQ(MediaStepRefusal(MediaState::kWritten, MediaStep::kHandOver, Transport::kPaper), "");
  EXPECT_EQ(MediaStepRefusal(MediaState::kHandedOver, MediaStep::kHandOver, Transport::kPaper),
            "the printed sheets are already handed-over");
  EXPECT_EQ(MediaStepRefusal(MediaState::kWritten, MediaStep::kReturn, Transport::kPaper),
            "the printed sheets are printed, not handed over");
  EXPECT_EQ(
      MediaStepRefusal(MediaState::kWritten, MediaStep::kDestroy, Transport::kPaper),
      "the printed sheets are printed, not handed over (cancel them with: itaku paper cancel)");
  EXPECT_EQ(MediaStepRefusal(MediaState::kDestroyed, MediaStep::kDestroy, Transport::kPaper),
            "the printed sheets are already shredded");
  EXPECT_EQ(MediaStepRefusal(MediaState::kHandedOver, MediaStep::kCancel, Transport::kPaper),
            "the printed sheets are handed-over; record their return instead");
  EXPECT_EQ(PaperAuditAction(MediaStep::kHandOver), "paper.handover");
  EXPECT_EQ(PaperAuditAction(MediaStep::kDestroy), "paper.shredded");
  EXPECT_EQ(PaperStateWord(MediaState::kWritten), "printed");
  EXPECT_EQ(PaperStateWord(MediaState::kReturned), "returned");
}

}  // namespace
}  // namespace itaku::policies
