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
  EXPECT_EQ(MediaStepRefusal(MediaState::kReturned, MediaStep::kDestroy),
            "medium is returned, not handed over");
}

}  // namespace
}  // namespace itaku::policies
