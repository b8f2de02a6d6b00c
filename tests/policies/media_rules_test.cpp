#include "policies/media_rules.h"

#include <gtest/gtest.h>

namespace itaku::policies {
namespace {

TEST(MediaRulesTest, WrittenThenHandedOverThenReturnedOrDestroyed) {
  EXPECT_EQ(MediaStepRefusal("written", MediaStep::kHandOver), "");
  EXPECT_EQ(MediaStateAfter(MediaStep::kHandOver), "handed-over");
  EXPECT_EQ(MediaStepRefusal("handed-over", MediaStep::kReturn), "");
  EXPECT_EQ(MediaStepRefusal("handed-over", MediaStep::kDestroy), "");
  EXPECT_EQ(MediaStateAfter(MediaStep::kReturn), "returned");
  EXPECT_EQ(MediaStateAfter(MediaStep::kDestroy), "destroyed");
  EXPECT_EQ(AuditAction(MediaStep::kDestroy), "media.destroyed");
}

TEST(MediaRulesTest, NoStepTwiceAndNoneOutOfOrder) {
  EXPECT_EQ(MediaStepRefusal("handed-over", MediaStep::kHandOver), "medium is already handed-over");
  EXPECT_EQ(MediaStepRefusal("written", MediaStep::kReturn), "medium is written, not handed over");
  EXPECT_EQ(MediaStepRefusal("returned", MediaStep::kDestroy),
            "medium is returned, not handed over");
}

}  // namespace
}  // namespace itaku::policies
