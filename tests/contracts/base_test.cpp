#include <gtest/gtest.h>

#include "contracts/base/date.h"
#include "contracts/base/hex.h"
#include "contracts/base/layout.h"
#include "contracts/base/names.h"
#include "contracts/base/status.h"

namespace itaku {
namespace {

TEST(BaseDateTest, UtcInstantsRoundTrip) {
  auto t = ParseUtc("2026-12-31T15:30:00Z");
  ASSERT_TRUE(t.has_value());
  EXPECT_EQ(FormatUtc(*t), "2026-12-31T15:30:00Z");
  EXPECT_EQ(FormatUtc(*t + std::chrono::milliseconds(999)), "2026-12-31T15:30:00Z");
}

TEST(BaseDateTest, MalformedInstantsAreRefused) {
  for (const char* bad : {"2026-12-31 15:30:00Z", "2026-12-31T24:00:00Z", "2026-12-31T15:60:00Z",
                          "2026-02-30T00:00:00Z", "2026-12-31T15:30:00", "2026-12-31T1a:30:00Z"}) {
    EXPECT_FALSE(ParseUtc(bad).has_value()) << bad;
  }
}

// Regression for the year boundary the e2e suite is also run across: 15:00
// UTC is midnight in Japan.
TEST(BaseDateTest, TheOperatorsDayIsJapans) {
  EXPECT_EQ(FormatDate(JapanDay(*ParseUtc("2026-12-31T14:59:59Z"))), "2026-12-31");
  EXPECT_EQ(FormatDate(JapanDay(*ParseUtc("2026-12-31T15:00:00Z"))), "2027-01-01");
  EXPECT_EQ(FormatDate(*JapanDayOf("2026-12-31T15:30:00Z")), "2027-01-01");
  EXPECT_EQ(FormatDate(*JapanDayOf("2026-01-05")), "2026-01-05");
  EXPECT_FALSE(JapanDayOf("yesterday").has_value());
}

TEST(BaseHexTest, LowerUpperAndBytes) {
  const unsigned char bytes[] = {0x00, 0x8f, 0xff};
  EXPECT_EQ(Hex(bytes, 3), "008fff");
  EXPECT_EQ(Hex(bytes, 3, /*upper=*/true), "008FFF");
  EXPECT_EQ(HexByte(0x8f), "0x8F");
}

TEST(BaseLayoutTest, EverythingLivesBesideTheStore) {
  StoreLayout layout("/var/lib/itaku/itaku.db");
  EXPECT_EQ(layout.Root(), "/var/lib/itaku/itaku.db.d");
  EXPECT_EQ(layout.Documents(), "/var/lib/itaku/itaku.db.d/documents");
  EXPECT_EQ(layout.Outbox(), "/var/lib/itaku/itaku.db.d/outbox");
  EXPECT_EQ(layout.Portal(), "/var/lib/itaku/itaku.db.d/portal");
  EXPECT_EQ(layout.Keys(), "/var/lib/itaku/itaku.db.d/keys");
  EXPECT_EQ(layout.Letters(), "/var/lib/itaku/itaku.db.d/letters");
}

TEST(BaseStatusTest, AnErrorKeepsItsKindThroughAResultAndANewMessage) {
  Result<int> r = Status::Refused("only a privacy officer decides a request");
  EXPECT_FALSE(r.ok());
  EXPECT_EQ(r.kind(), ErrorKind::kRefused);
  EXPECT_EQ(r.status().WithMessage("request 3: " + r.message()).kind(), ErrorKind::kRefused);
  EXPECT_EQ(Status::Error("bad flag").kind(), ErrorKind::kInvalidInput);
  EXPECT_EQ(Status::NotFound("unknown delivery 9").kind(), ErrorKind::kNotFound);
  EXPECT_EQ(ToString(ErrorKind::kNotFound), "not-found");
  EXPECT_EQ(ToString(ErrorKind::kInvalidInput), "invalid-input");
  EXPECT_TRUE(Status::Ok().ok());
  EXPECT_EQ(Result<int>(7).value(), 7);
}

enum class Colour { kRed, kGreen };
constexpr Named<Colour> kColours[] = {{Colour::kRed, "red"}, {Colour::kGreen, "green"}};

TEST(BaseNamesTest, OneTableNamesAndParses) {
  EXPECT_EQ(NameOf(kColours, Colour::kGreen), "green");
  EXPECT_EQ(FromName(kColours, "red"), Colour::kRed);
  EXPECT_EQ(FromName(kColours, "Red"), std::nullopt);
  EXPECT_EQ(FromName(kColours, ""), std::nullopt);
}

}  // namespace
}  // namespace itaku
