#include "policies/masks.h"

#include <gtest/gtest.h>

#include <initializer_list>
#include <string>
#include <string_view>
#include <utility>

namespace itaku::policies {
namespace {

std::string Masked(Mask mask, std::string_view value, std::string_view key = "k3y") {
  Result<std::string> r = ApplyMask(mask, value, key);
  return r.ok() ? *r : "error: " + r.message();
}

// Each {value, masked} pair, through `mask` ("error: ..." when refused).
void ExpectMasked(Mask mask,
                  std::initializer_list<std::pair<std::string_view, std::string>> cases) {
  for (const auto& [value, masked] : cases) EXPECT_EQ(Masked(mask, value), masked) << value;
}

TEST(MasksTest, NoneKeepsTheValue) { EXPECT_EQ(Masked(Mask::kNone, "山田　太郎"), "山田　太郎"); }

TEST(MasksTest, Last4CountsCodePoints) {
  ExpectMasked(Mask::kLast4, {{"12345678", "****5678"},
                              {"079-123-4567", "********4567"},
                              {"ﾔﾏﾀﾞ ﾀﾛｳ", "**** ﾀﾛｳ"},  // ﾞ counts: half-width voicing mark
                              {"山田　太郎花子様", "****郎花子様"},
                              {"山田　太郎", "*****"}});  // 5 code points, 15 bytes
}

// Issue 14: a value of four characters or fewer went out unmasked, and
// four of seven digits of an account number were shown.
TEST(MasksTest, Last4NeverShowsAShortValueWhole) {
  ExpectMasked(Mask::kLast4, {{"1", "*"},
                              {"12", "**"},
                              {"1234", "****"},
                              {"1234567", "*******"},  // a 7-digit account number
                              {"１２３４", "****"}});
  // From kLast4MinLength on, the last four show, never more than half.
  std::string value;
  for (size_t n = 1; n <= 20; ++n) {
    value += static_cast<char>('0' + n % 10);
    const std::string masked = Masked(Mask::kLast4, value);
    ASSERT_EQ(masked.size(), n);
    const size_t shown = masked.size() - masked.find_last_of('*') - 1;
    EXPECT_EQ(shown, n < kLast4MinLength ? 0u : 4u) << value;
    EXPECT_LE(2 * shown, n) << value;
  }
}

TEST(MasksTest, RedactEmptiesTheValue) { EXPECT_EQ(Masked(Mask::kRedact, "秘密"), ""); }

TEST(MasksTest, YearKeepsTheFirstFourDigits) {
  const std::string refused = "error: not a date starting with a 4-digit year (mask year)";
  ExpectMasked(Mask::kYear, {{"1980-05-12", "1980"},
                             {"1980/05/12", "1980"},
                             {"19800512", "1980"},
                             {"S55-05-12", refused},
                             {"198", refused}});
}

TEST(MasksTest, Prefix3KeepsThreeDigitsOfAPostalCode) {
  const std::string refused = "error: not a postal code starting with 3 digits (mask prefix3)";
  ExpectMasked(Mask::kPrefix3,
               {{"671-2103", "671"}, {"6712103", "671"}, {"67", refused}, {"〒671-2103", refused}});
}

TEST(MasksTest, PseudonymIsHmacSha256InLowercaseHex) {
  // RFC 4231-style check value: HMAC-SHA256("key", "The quick brown fox ...").
  EXPECT_EQ(Masked(Mask::kPseudonym, "The quick brown fox jumps over the lazy dog", "key"),
            "f7bc83f430538424b13298e6aa6fb143ef4d59a14946175997479dbc2d1a3cd8");
  // `printf S00000001 | openssl dgst -sha256 -hmac k3y`
  EXPECT_EQ(Masked(Mask::kPseudonym, "S00000001", "k3y"),
            "8ac7d2c806ad54ff2856b39ff9ff3d3b241d57981c56119f9a8a83ce296c9acc");
  EXPECT_NE(Masked(Mask::kPseudonym, "S00000001", "other"), Masked(Mask::kPseudonym, "S00000001"));
}

TEST(MasksTest, EmptyStaysEmptyUnderEveryMask) {
  for (Mask m :
       {Mask::kNone, Mask::kLast4, Mask::kRedact, Mask::kYear, Mask::kPrefix3, Mask::kPseudonym}) {
    EXPECT_EQ(Masked(m, ""), "") << ToString(m);
  }
}

TEST(MasksTest, AppendLeavesOutputUntouchedOnError) {
  std::string out = "kept";
  EXPECT_FALSE(AppendMasked(Mask::kYear, "abcd", "", &out).ok());
  EXPECT_EQ(out, "kept");
  EXPECT_TRUE(AppendMasked(Mask::kPrefix3, "123-4567", "", &out).ok());
  EXPECT_EQ(out, "kept123");
}

}  // namespace
}  // namespace itaku::policies
