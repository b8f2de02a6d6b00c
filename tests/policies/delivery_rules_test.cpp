#include "policies/delivery_rules.h"

#include <gtest/gtest.h>

namespace itaku::policies {
namespace {

TEST(DeliveryRulesTest, DrawingsTravelOnlyUnmasked) {
  contracts::ContractProfile p;
  p.fields = {"subscriber_id", "name"};
  EXPECT_FALSE(SendsDrawings(p));
  p.fields.push_back("house_drawing");
  EXPECT_TRUE(SendsDrawings(p));
  p.masks["house_drawing"] = "none";
  EXPECT_TRUE(SendsDrawings(p));
  p.masks["house_drawing"] = "redact";
  EXPECT_FALSE(SendsDrawings(p));
}

TEST(DeliveryRulesTest, DrawingNamesArePlainFiles) {
  EXPECT_TRUE(PlainDrawingName("S000001.pdf"));
  for (const char* bad :
       {"", ".", "..", "../etc/passwd", "a/b.pdf", "a\\b.pdf", "図面.pdf", "a b.pdf"}) {
    EXPECT_FALSE(PlainDrawingName(bad)) << bad;
  }
}

TEST(DeliveryRulesTest, PortalLifetimes) {
  EXPECT_EQ(ParsePortalLifetime("7d"), std::chrono::seconds(7 * 86400));
  EXPECT_EQ(ParsePortalLifetime("48h"), std::chrono::seconds(48 * 3600));
  EXPECT_EQ(ParsePortalLifetime("1m"), std::chrono::seconds(60));
  EXPECT_EQ(ParsePortalLifetime("90d"), std::chrono::seconds(90 * 86400));
  for (const char* bad : {"", "d", "0d", "91d", "7w", "-1d", "1.5d", "1234567m"}) {
    EXPECT_FALSE(ParsePortalLifetime(bad).has_value()) << bad;
  }
  EXPECT_TRUE(ValidMaxDownloads(1));
  EXPECT_FALSE(ValidMaxDownloads(0));
  EXPECT_FALSE(ValidMaxDownloads(1000001));
}

TEST(PortalRulesTest, WhenAPackageIsGone) {
  contracts::PortalPackageRecord p;
  p.expires_at = "2026-12-09T00:00:00Z";
  p.max_downloads = 3;
  p.downloads = 2;
  EXPECT_EQ(PortalGoneReason(p, "2026-12-08T23:59:59Z"), "");
  EXPECT_EQ(PortalGoneReason(p, "2026-12-09T00:00:00Z"), "expired");
  p.downloads = 3;
  EXPECT_EQ(PortalGoneReason(p, "2026-12-01T00:00:00Z"), "used up");
  p.revoked_at = "2026-12-01T00:00:00Z";
  EXPECT_EQ(PortalGoneReason(p, "2026-12-01T00:00:00Z"), "revoked");
}

}  // namespace
}  // namespace itaku::policies
