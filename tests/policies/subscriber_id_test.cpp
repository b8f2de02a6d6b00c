#include "policies/subscriber_id.h"

#include <gtest/gtest.h>

#include <string>
#include <thread>
#include <vector>

namespace itaku::policies {
namespace {

SubscriberIdPattern Pattern(const std::string& text) {
  auto p = SubscriberIdPattern::Compile(text);
  EXPECT_TRUE(p.ok()) << p.message();
  return p.value();
}

TEST(SubscriberIdTest, SurroundingSpacesAreTrimmed) {
  EXPECT_EQ(NormalizeSubscriberId("S90001 "), "S90001");
  EXPECT_EQ(NormalizeSubscriberId(" S90001"), "S90001");
  EXPECT_EQ(NormalizeSubscriberId("\tS90001\r\n"), "S90001");
  EXPECT_EQ(NormalizeSubscriberId("   "), "");
}

TEST(SubscriberIdTest, FullWidthBecomesAscii) {
  EXPECT_EQ(NormalizeSubscriberId("Ｓ９０００１"), "S90001");
  EXPECT_EQ(NormalizeSubscriberId("Ｓ90001"), "S90001");
  EXPECT_EQ(NormalizeSubscriberId("ＣＡＴＶ－０００１２３"), "CATV-000123");
}

TEST(SubscriberIdTest, IdeographicAndNoBreakSpacesAreTrimmed) {
  EXPECT_EQ(NormalizeSubscriberId("\u3000S90001\u3000"), "S90001");  // 全角スペース
  EXPECT_EQ(NormalizeSubscriberId("\u00A0S90001\u2003"), "S90001");
}

TEST(SubscriberIdTest, InnerSpaceStays) {
  // Not an id; the pattern refuses it rather than normalising it into one.
  EXPECT_EQ(NormalizeSubscriberId("S90 001"), "S90 001");
  EXPECT_EQ(NormalizeSubscriberId("S90\u3000001"), "S90 001");
  EXPECT_FALSE(DefaultSubscriberIdPattern().Matches("S90 001"));
}

TEST(SubscriberIdTest, PlainAsciiIsReturnedAsItIsWithoutCopying) {
  std::string scratch = "untouched";
  const std::string_view raw = "S90001";
  const std::string_view id = NormalizeSubscriberId(raw, &scratch);
  EXPECT_EQ(id.data(), raw.data());
  EXPECT_EQ(scratch, "untouched");
  EXPECT_EQ(NormalizeSubscriberId(" S90001", &scratch), "S90001");
  EXPECT_EQ(scratch, "S90001");
}

TEST(SubscriberIdTest, InvalidUtf8IsLeftUnchangedAndNeverMatches) {
  const std::string bad = "S9000\xFF";
  EXPECT_EQ(NormalizeSubscriberId(bad), bad);
  EXPECT_FALSE(Pattern(".*").Matches(bad));
  EXPECT_EQ(CheckSubscriberId(bad, Pattern("S[0-9]{5}")).message(),
            "subscriber id does not match the configured pattern S[0-9]{5}");
}

TEST(SubscriberIdTest, CheckReturnsTheNormalisedId) {
  const SubscriberIdPattern p = Pattern("S[0-9]{5}");
  for (const char* raw : {"S90001", "S90001 ", " S90001", "Ｓ９０００１", "\u3000S90001"}) {
    auto id = CheckSubscriberId(raw, p);
    ASSERT_TRUE(id.ok()) << raw << ": " << id.message();
    EXPECT_EQ(*id, "S90001") << raw;
  }
}

TEST(SubscriberIdTest, PatternIsCaseSensitiveAndWholeString) {
  const SubscriberIdPattern p = Pattern("S[0-9]{5}");
  auto lower = CheckSubscriberId("s90001", p);
  EXPECT_EQ(lower.message(), "subscriber id does not match the configured pattern S[0-9]{5}");
  EXPECT_EQ(lower.kind(), ErrorKind::kInvalidInput);
  EXPECT_FALSE(p.Matches("S900012"));          // no implicit prefix match
  EXPECT_FALSE(p.Matches("XS90001"));          // nor suffix match
  EXPECT_FALSE(p.Matches("S9OO12"));           // letter O for zero
  EXPECT_TRUE(Pattern("a|ab").Matches("ab"));  // the end anchor backtracks into alternatives
}

TEST(SubscriberIdTest, EmptyIsItsOwnRefusal) {
  EXPECT_EQ(CheckSubscriberId("", DefaultSubscriberIdPattern()).message(),
            "subscriber id is empty");
  EXPECT_EQ(CheckSubscriberId("\u3000 ", DefaultSubscriberIdPattern()).message(),
            "subscriber id is empty");
}

TEST(SubscriberIdTest, DefaultPattern) {
  const SubscriberIdPattern& p = DefaultSubscriberIdPattern();
  EXPECT_EQ(p.text(), "[A-Za-z0-9][A-Za-z0-9_-]{0,63}");
  for (const char* id : {"S90001", "s90001", "CATV-000123", "0012_A", "x"}) {
    EXPECT_TRUE(p.Matches(id)) << id;
  }
  for (const char* id : {"", "-S1", "_S1", "S 1", "山田", "1980/05/12", "a@b.example"}) {
    EXPECT_FALSE(p.Matches(id)) << id;
  }
  EXPECT_TRUE(p.Matches(std::string(64, 'a')));
  EXPECT_FALSE(p.Matches(std::string(65, 'a')));
}

TEST(SubscriberIdTest, BadPatternNamesThePatternAndTheReason) {
  auto p = SubscriberIdPattern::Compile("S[0-9");
  EXPECT_EQ(p.message(),
            "subscriber id pattern S[0-9 is not a valid regular expression: missing terminating ] "
            "for character class (at offset 5)");
  EXPECT_EQ(p.kind(), ErrorKind::kInvalidInput);
}

TEST(SubscriberIdTest, CopiesAndThreadsShareOnePattern) {
  const SubscriberIdPattern p = Pattern("S[0-9]{5}");
  const SubscriberIdPattern copy = p;  // NOLINT: the copy is the point
  EXPECT_EQ(copy.text(), "S[0-9]{5}");
  std::vector<std::thread> threads;
  std::vector<int> matched(4, 0);
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 1000; ++i) {
        if (copy.Matches("S" + std::to_string(10000 + i))) ++matched[t];
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(matched, std::vector<int>(4, 1000));
}

}  // namespace
}  // namespace itaku::policies
