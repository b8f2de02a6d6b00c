#include "policies/encoding.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <random>
#include <string>
#include <string_view>

namespace itaku::policies {
namespace {

std::string Cp932(std::string_view utf8) {
  Result<std::string> r = EncodeCp932(utf8);
  return r.ok() ? *r : "error: " + r.message();
}

std::string Utf8(std::string_view cp932) {
  Result<std::string> r = DecodeCp932(cp932);
  return r.ok() ? *r : "error: " + r.message();
}

// What Japanese exports really contain, with Microsoft's CP932 bytes.
TEST(Cp932Test, EncodesIbmNecKanaAndMicrosoftPunctuation) {
  EXPECT_EQ(Cp932("髙"),
            "\xFB\xFC");               // IBM extension, not the NEC-selected copy 0xEEE0
  EXPECT_EQ(Cp932("﨑"), "\xFA\xB1");  // IBM extension
  EXPECT_EQ(Cp932("①"), "\x87\x40");   // NEC special row 13
  EXPECT_EQ(Cp932("ｶﾅ"), "\xB6\xC5");  // half-width kana: one byte each
  EXPECT_EQ(Cp932("～"), "\x81\x60");  // U+FF5E FULLWIDTH TILDE
  EXPECT_EQ(Cp932("－"), "\x81\x7C");  // U+FF0D FULLWIDTH HYPHEN-MINUS
  EXPECT_EQ(Cp932("山田　太郎"), "\x8E\x52\x93\x63\x81\x40\x91\xBE\x98\x59");
  EXPECT_EQ(Cp932("abc,\"\r\n"), "abc,\"\r\n");
}

// glibc maps the JIS look-alikes one way: U+2212 MINUS SIGN and U+301C WAVE
// DASH encode to CP932's 0x817C and 0x8160, which decode (as in Windows) to
// U+FF0D and U+FF5E.
TEST(Cp932Test, MinusSignAndWaveDashEncodeOneWay) {
  EXPECT_EQ(Cp932("−"), "\x81\x7C");
  EXPECT_EQ(Cp932("〜"), "\x81\x60");
  EXPECT_EQ(Utf8("\x81\x7C"), "－");  // U+FF0D
  EXPECT_EQ(Utf8("\x81\x60"), "～");  // U+FF5E
}

TEST(Cp932Test, RoundTripsWhatExportsContain) {
  const std::string text = "髙橋①ｶﾅ～－﨑ﾔﾏﾀﾞ ﾀﾛｳ兵庫県姫路市夢前町前之庄1-2-3";
  const std::string bytes = Cp932(text);
  EXPECT_EQ(bytes.substr(0, 14), "\xFB\xFC\x8B\xB4\x87\x40\xB6\xC5\x81\x60\x81\x7C\xFA\xB1");
  EXPECT_EQ(Utf8(bytes), text);
  // The NEC-selected IBM extension copy of 髙 decodes to the same character.
  EXPECT_EQ(Utf8("\xEE\xE0"), "髙");
}

TEST(Cp932Test, UndecodableBytesNameTheByteAndOffset) {
  EXPECT_EQ(Utf8("ab\x85\x40"), "error: byte 0x85 at offset 2 cannot be decoded as CP932");
  EXPECT_EQ(Utf8("\xA0"), "error: byte 0xA0 at offset 0 cannot be decoded as CP932");
  EXPECT_EQ(Utf8("x\x80"), "error: byte 0x80 at offset 1 cannot be decoded as CP932");
  EXPECT_EQ(Utf8("x\x82"), "error: byte 0x82 at offset 1 cannot be decoded as CP932");  // cut short
  EXPECT_EQ(Utf8("\x82\x20"), "error: byte 0x82 at offset 0 cannot be decoded as CP932");
}

TEST(Cp932Test, CharactersWithoutCp932Encoding) {
  EXPECT_EQ(Cp932("吉𠮷"), "error: character at offset 3 has no CP932 encoding");  // U+20BB7
  EXPECT_EQ(Cp932("é"), "error: character at offset 0 has no CP932 encoding");
  EXPECT_EQ(Cp932("a\xE3\x81"), "error: invalid UTF-8 at offset 1");
}

TEST(Cp932Test, LowLevelConverterReportsOffset) {
  char out[16];
  size_t bad = 0;
  EXPECT_EQ(Cp932ToUtf8("\x82\xA0\xFF", out, &bad), nullptr);
  EXPECT_EQ(bad, 2u);
  char* end = Cp932ToUtf8("\x82\xA0", out, &bad);
  ASSERT_NE(end, nullptr);
  EXPECT_EQ(std::string(out, end), "あ");
}

TEST(Utf8Test, FindsTheFirstInvalidByte) {
  EXPECT_EQ(FindInvalidUtf8(""), kNoError);
  EXPECT_EQ(FindInvalidUtf8("plain ascii text that is longer than sixteen"), kNoError);
  EXPECT_EQ(FindInvalidUtf8("日本語ｶﾅ𠮷é"), kNoError);
  EXPECT_EQ(FindInvalidUtf8("ab\x80"), 2u);            // lone continuation
  EXPECT_EQ(FindInvalidUtf8("abc\xC0\xAF"), 3u);       // overlong
  EXPECT_EQ(FindInvalidUtf8("\xE0\x80\xAF"), 0u);      // overlong 3-byte
  EXPECT_EQ(FindInvalidUtf8("x\xED\xA0\x80"), 1u);     // surrogate
  EXPECT_EQ(FindInvalidUtf8("\xF4\x90\x80\x80"), 0u);  // above U+10FFFF
  EXPECT_EQ(FindInvalidUtf8("\xF5\x80\x80\x80"), 0u);
  EXPECT_EQ(FindInvalidUtf8("日本\xE8\xAA"), 6u);  // cut short
  EXPECT_EQ(FindInvalidUtf8("0123456789abcdef\xFF"), 16u);
  EXPECT_EQ(FindInvalidUtf8("\x82\xA0"), 0u);  // CP932 is not UTF-8
  EXPECT_FALSE(IsValidUtf8("\x82\xA0"));
  EXPECT_TRUE(IsValidUtf8("日本語"));
}

// The SIMD verdict must agree with the byte-by-byte one: mutate valid text
// at random, at every position relative to the 16-byte blocks.
TEST(Utf8Test, FastVerdictAgreesWithScalarOnMutations) {
  const std::string base = "加入者番号,S00000001,髙橋　太郎,ﾀｶﾊｼ ﾀﾛｳ,𠮷野家,é,①～\r\n";
  std::mt19937 rng(42);
  const unsigned char interesting[] = {0x00, 0x41, 0x7F, 0x80, 0x8F, 0x90, 0x9F, 0xA0, 0xBF, 0xC0,
                                       0xC1, 0xC2, 0xDF, 0xE0, 0xED, 0xEF, 0xF0, 0xF4, 0xF5, 0xFF};
  for (int iter = 0; iter < 20000; ++iter) {
    std::string s = base.substr(rng() % 5, rng() % base.size());
    const int edits = 1 + static_cast<int>(rng() % 3);
    for (int e = 0; e < edits && !s.empty(); ++e) {
      switch (rng() % 3) {
        case 0:
          s[rng() % s.size()] = static_cast<char>(interesting[rng() % sizeof(interesting)]);
          break;
        case 1:
          s.erase(rng() % s.size(), 1);
          break;
        default:
          s.insert(rng() % s.size(), 1,
                   static_cast<char>(interesting[rng() % sizeof(interesting)]));
      }
    }
    ASSERT_EQ(IsValidUtf8(s), FindInvalidUtf8(s) == kNoError) << "iteration " << iter;
  }
}

TEST(Utf8Test, FastVerdictOnEveryCodePointClass) {
  for (uint32_t cp :
       {0x7Fu, 0x80u, 0x7FFu, 0x800u, 0xD7FFu, 0xE000u, 0xFFFFu, 0x10000u, 0x10FFFFu}) {
    std::string s(17, 'a');
    char buf[4];
    int n;
    if (cp < 0x80) {
      buf[0] = static_cast<char>(cp), n = 1;
    } else if (cp < 0x800) {
      buf[0] = static_cast<char>(0xC0 | (cp >> 6));
      buf[1] = static_cast<char>(0x80 | (cp & 0x3F));
      n = 2;
    } else if (cp < 0x10000) {
      buf[0] = static_cast<char>(0xE0 | (cp >> 12));
      buf[1] = static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
      buf[2] = static_cast<char>(0x80 | (cp & 0x3F));
      n = 3;
    } else {
      buf[0] = static_cast<char>(0xF0 | (cp >> 18));
      buf[1] = static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
      buf[2] = static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
      buf[3] = static_cast<char>(0x80 | (cp & 0x3F));
      n = 4;
    }
    for (size_t at = 0; at + n <= s.size(); ++at) {
      std::string t = s;
      t.replace(at, n, buf, n);
      EXPECT_TRUE(IsValidUtf8(t)) << std::hex << cp << " at " << at;
      EXPECT_EQ(FindInvalidUtf8(t), kNoError);
      if (n > 1) {
        std::string cut = t.substr(0, at + n - 1);  // truncated at the end
        EXPECT_FALSE(IsValidUtf8(cut)) << std::hex << cp << " at " << at;
      }
    }
  }
}

// ---- UTF-16 and UTF-32 (issue 14: named, not "invalid UTF-8" or a NUL byte)

// Text as UTF-16 or UTF-32 code units (BMP: one char16_t/char32_t each).
template <typename Unit>
std::string Wide(std::basic_string_view<Unit> text, bool little_endian) {
  std::string out;
  for (Unit u : text) {
    const uint32_t cp = static_cast<uint32_t>(u);
    for (size_t i = 0; i < sizeof(Unit); ++i) {
      const size_t shift = 8 * (little_endian ? i : sizeof(Unit) - 1 - i);
      out += static_cast<char>((cp >> shift) & 0xFF);
    }
  }
  return out;
}
std::string Utf16(std::u16string_view text, bool le) { return Wide(text, le); }
std::string Utf32(std::u32string_view text, bool le) { return Wide(text, le); }

TEST(WideEncodingTest, ByteOrderMarks) {
  EXPECT_EQ(DetectWideEncoding("\xFF\xFE"), "UTF-16");
  EXPECT_EQ(DetectWideEncoding("\xFE\xFF"), "UTF-16");
  EXPECT_EQ(DetectWideEncoding("\xFF\xFE" + Utf16(u"加入者番号", true)), "UTF-16");
  EXPECT_EQ(DetectWideEncoding(std::string("\xFF\xFE\0\0", 4)), "UTF-32");
  EXPECT_EQ(DetectWideEncoding(std::string("\0\0\xFE\xFF", 4)), "UTF-32");
}

TEST(WideEncodingTest, WithoutAByteOrderMark) {
  const std::u16string header16 = u"subscriber_id,name\r\n";
  EXPECT_EQ(DetectWideEncoding(Utf16(header16, true)), "UTF-16");
  EXPECT_EQ(DetectWideEncoding(Utf16(header16, false)), "UTF-16");
  // Japanese labels: zero bytes only beside the delimiters, and U+3000
  // (00 30 in little-endian) on the other side.
  const std::u16string labels = u"加入者番号,氏名,住所\r\nS1,山田　太郎,兵庫県　姫路市\r\n";
  EXPECT_EQ(DetectWideEncoding(Utf16(labels, true)), "UTF-16");
  EXPECT_EQ(DetectWideEncoding(Utf16(labels, false)), "UTF-16");
  const std::u32string header32 = U"加入者番号,name\r\n";
  EXPECT_EQ(DetectWideEncoding(Utf32(header32, true)), "UTF-32");
  EXPECT_EQ(DetectWideEncoding(Utf32(header32, false)), "UTF-32");
}

TEST(WideEncodingTest, Utf8AndCp932AreNeitherEvenWithJapanese) {
  EXPECT_EQ(DetectWideEncoding(""), "");
  EXPECT_EQ(DetectWideEncoding("subscriber_id,name\r\n"), "");
  EXPECT_EQ(DetectWideEncoding("\xEF\xBB\xBF加入者番号,氏名\r\nS1,山田　太郎\r\n"), "");
  EXPECT_EQ(DetectWideEncoding(Cp932("加入者番号,氏名\r\nS1,山田　太郎,ｶﾅ\r\n")), "");
  // Text that happens to hold ASCII in wide-looking pairs, but no zero byte.
  EXPECT_EQ(DetectWideEncoding("a,b,c\r\n\x82\xA0,\x81\x40\r\n"), "");
  // A stray NUL after a delimiter is a NUL byte (refused as such), not UTF-16.
  EXPECT_EQ(DetectWideEncoding(std::string("a,b\r\n\0,2\r\n", 10)), "");
  EXPECT_EQ(DetectWideEncoding(std::string("ab,\0cd,\0", 8) + std::string(60, 'x')), "");
}

}  // namespace
}  // namespace itaku::policies
