#include "policies/encoding.h"

#include <emmintrin.h>
#include <iconv.h>
#include <tmmintrin.h>

#include <cstring>
#include <memory>
#include <vector>

#include "contracts/base/hex.h"

namespace itaku::policies {
namespace {

// Tables derived from glibc's CP932 converter once, so that the hot path is
// a table lookup instead of an iconv call per cell, and so that what we
// accept is exactly what iconv (and Excel) would.
struct Cp932Tables {
  // Code point of each single byte, or -1 when the byte is a lead byte or
  // undecodable on its own.
  int32_t single[256];
  bool lead[256];
  // Code point of each (lead << 8 | trail) pair; 0 = undecodable.
  std::vector<uint16_t> pair = std::vector<uint16_t>(65536, 0);
  // CP932 code of each BMP code point: < 0x100 single byte, otherwise a
  // pair; 0 = no encoding (U+0000 is handled as ASCII before the lookup).
  std::vector<uint16_t> encode = std::vector<uint16_t>(65536, 0);
};

int EncodeUtf8(uint32_t cp, char* out) {
  if (cp < 0x80) {
    out[0] = static_cast<char>(cp);
    return 1;
  }
  if (cp < 0x800) {
    out[0] = static_cast<char>(0xC0 | (cp >> 6));
    out[1] = static_cast<char>(0x80 | (cp & 0x3F));
    return 2;
  }
  if (cp < 0x10000) {
    out[0] = static_cast<char>(0xE0 | (cp >> 12));
    out[1] = static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out[2] = static_cast<char>(0x80 | (cp & 0x3F));
    return 3;
  }
  out[0] = static_cast<char>(0xF0 | (cp >> 18));
  out[1] = static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
  out[2] = static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
  out[3] = static_cast<char>(0x80 | (cp & 0x3F));
  return 4;
}

// Decodes one valid-or-not UTF-8 sequence at s[i]; returns its length and
// sets *cp, or 0 when the sequence is invalid or truncated.
inline int DecodeUtf8(const unsigned char* s, size_t n, size_t i, uint32_t* cp) {
  unsigned char c = s[i];
  if (c < 0x80) {
    *cp = c;
    return 1;
  }
  if (c < 0xC2) return 0;
  if (c < 0xE0) {
    if (i + 1 >= n || (s[i + 1] & 0xC0) != 0x80) return 0;
    *cp = ((c & 0x1Fu) << 6) | (s[i + 1] & 0x3Fu);
    return 2;
  }
  if (c < 0xF0) {
    if (i + 2 >= n) return 0;
    unsigned char c1 = s[i + 1], c2 = s[i + 2];
    unsigned char lo = c == 0xE0 ? 0xA0 : 0x80;
    unsigned char hi = c == 0xED ? 0x9F : 0xBF;
    if (c1 < lo || c1 > hi || (c2 & 0xC0) != 0x80) return 0;
    *cp = ((c & 0x0Fu) << 12) | ((c1 & 0x3Fu) << 6) | (c2 & 0x3Fu);
    return 3;
  }
  if (c < 0xF5) {
    if (i + 3 >= n) return 0;
    unsigned char c1 = s[i + 1], c2 = s[i + 2], c3 = s[i + 3];
    unsigned char lo = c == 0xF0 ? 0x90 : 0x80;
    unsigned char hi = c == 0xF4 ? 0x8F : 0xBF;
    if (c1 < lo || c1 > hi || (c2 & 0xC0) != 0x80 || (c3 & 0xC0) != 0x80) return 0;
    *cp = ((c & 0x07u) << 18) | ((c1 & 0x3Fu) << 12) | ((c2 & 0x3Fu) << 6) | (c3 & 0x3Fu);
    return 4;
  }
  return 0;
}

// Converts `in` with `cd`; returns the output, or an empty string on failure.
std::string Convert(iconv_t cd, const char* in, size_t n) {
  iconv(cd, nullptr, nullptr, nullptr, nullptr);
  char inbuf[8];
  char outbuf[16];
  std::memcpy(inbuf, in, n);
  char* ip = inbuf;
  char* op = outbuf;
  size_t il = n, ol = sizeof(outbuf);
  if (iconv(cd, &ip, &il, &op, &ol) == static_cast<size_t>(-1) || il != 0) return {};
  return std::string(outbuf, op);
}

std::unique_ptr<Cp932Tables> BuildTables() {
  auto t = std::make_unique<Cp932Tables>();
  for (int b = 0; b < 256; ++b) {
    t->single[b] = b < 0x80 ? b : -1;
    t->lead[b] = (b >= 0x81 && b <= 0x9F) || (b >= 0xE0 && b <= 0xFC);
  }
  iconv_t dec = iconv_open("UTF-8", "CP932");
  iconv_t enc = iconv_open("CP932", "UTF-8");
  if (dec == reinterpret_cast<iconv_t>(-1) || enc == reinterpret_cast<iconv_t>(-1)) {
    // No gconv modules: only ASCII converts; every other byte is reported.
    return t;
  }
  auto decode_one = [&](const char* bytes, size_t n) -> uint32_t {
    std::string u = Convert(dec, bytes, n);
    uint32_t cp = 0;
    if (u.empty()) return 0;
    int len = DecodeUtf8(reinterpret_cast<const unsigned char*>(u.data()), u.size(), 0, &cp);
    return static_cast<size_t>(len) == u.size() && cp <= 0xFFFF ? cp : 0;
  };
  for (int b = 0x80; b < 256; ++b) {
    if (t->lead[b]) continue;
    char c = static_cast<char>(b);
    uint32_t cp = decode_one(&c, 1);
    if (cp != 0) t->single[b] = static_cast<int32_t>(cp);
  }
  for (int lead = 0x81; lead < 256; ++lead) {
    if (!t->lead[lead]) continue;
    for (int trail = 0x40; trail <= 0xFC; ++trail) {
      char pair[2] = {static_cast<char>(lead), static_cast<char>(trail)};
      t->pair[(lead << 8) | trail] = static_cast<uint16_t>(decode_one(pair, 2));
    }
  }
  for (uint32_t cp = 0x80; cp < 0x10000; ++cp) {
    if (cp >= 0xD800 && cp <= 0xDFFF) continue;
    char u[4];
    int n = EncodeUtf8(cp, u);
    std::string s = Convert(enc, u, n);
    if (s.size() == 1) {
      t->encode[cp] = static_cast<unsigned char>(s[0]);
    } else if (s.size() == 2) {
      t->encode[cp] = static_cast<uint16_t>((static_cast<unsigned char>(s[0]) << 8) |
                                            static_cast<unsigned char>(s[1]));
    }
  }
  iconv_close(dec);
  iconv_close(enc);
  return t;
}

const Cp932Tables& Tables() {
  static const std::unique_ptr<Cp932Tables> kTables = BuildTables();
  return *kTables;
}

}  // namespace

size_t FindInvalidUtf8(std::string_view s) {
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  const size_t n = s.size();
  size_t i = 0;
  for (;;) {
    // ASCII: 16 bytes at a time (SSE2 is baseline on x86-64).
    for (;;) {
      if (n - i < 16) {
        while (i < n && p[i] < 0x80) ++i;
        break;
      }
      __m128i x = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p + i));
      unsigned bits = static_cast<unsigned>(_mm_movemask_epi8(x));
      if (bits != 0) {
        i += __builtin_ctz(bits);
        break;
      }
      i += 16;
    }
    if (i >= n) return kNoError;
    // Non-ASCII runs (Japanese text: mostly 3-byte sequences) stay here.
    do {
      const unsigned c = p[i];
      if (c >= 0xE0 && c < 0xF0) {
        if (n - i < 3) return i;
        const unsigned c1 = p[i + 1], c2 = p[i + 2];
        if (((c1 & 0xC0) | ((c2 & 0xC0) >> 2)) != 0xA0) return i;
        const unsigned cp = ((c & 0x0F) << 12) | ((c1 & 0x3F) << 6) | (c2 & 0x3F);
        if (cp < 0x800 || (cp >= 0xD800 && cp <= 0xDFFF)) return i;
        i += 3;
      } else {
        uint32_t cp;
        int len = DecodeUtf8(p, n, i, &cp);
        if (len == 0) return i;
        i += len;
      }
    } while (i < n && p[i] >= 0x80);
  }
}

namespace {

// SIMD validation after Keiser & Lemire, "Validating UTF-8 in less than one
// instruction per byte" (2021): three 16-entry table lookups classify every
// (previous byte, byte) pair; bit flags that survive the AND are errors,
// except where a byte must be the 2nd/3rd continuation of a 3/4-byte lead.
// Says only "valid or not"; FindInvalidUtf8 finds where.
constexpr uint8_t kTooShort = 1 << 0;   // lead followed by lead/ASCII
constexpr uint8_t kTooLong = 1 << 1;    // ASCII followed by continuation
constexpr uint8_t kOverlong3 = 1 << 2;  // E0 80..9F
constexpr uint8_t kTooLarge = 1 << 3;   // above U+10FFFF
constexpr uint8_t kSurrogate = 1 << 4;  // ED A0..BF
constexpr uint8_t kOverlong2 = 1 << 5;  // C0/C1 lead
constexpr uint8_t kTooLarge1000 = 1 << 6;
constexpr uint8_t kOverlong4 = 1 << 6;  // F0 80..8F
constexpr uint8_t kTwoConts = 1 << 7;   // continuation after continuation
constexpr uint8_t kCarry = kTooShort | kTooLong | kTwoConts;

alignas(16) constexpr uint8_t kByte1High[16] = {kTooLong,
                                                kTooLong,
                                                kTooLong,
                                                kTooLong,
                                                kTooLong,
                                                kTooLong,
                                                kTooLong,
                                                kTooLong,
                                                kTwoConts,
                                                kTwoConts,
                                                kTwoConts,
                                                kTwoConts,
                                                kTooShort | kOverlong2,
                                                kTooShort,
                                                kTooShort | kOverlong3 | kSurrogate,
                                                kTooShort | kTooLarge | kTooLarge1000 | kOverlong4};
alignas(16) constexpr uint8_t kByte1Low[16] = {kCarry | kOverlong3 | kOverlong2 | kOverlong4,
                                               kCarry | kOverlong2,
                                               kCarry,
                                               kCarry,
                                               kCarry | kTooLarge,
                                               kCarry | kTooLarge | kTooLarge1000,
                                               kCarry | kTooLarge | kTooLarge1000,
                                               kCarry | kTooLarge | kTooLarge1000,
                                               kCarry | kTooLarge | kTooLarge1000,
                                               kCarry | kTooLarge | kTooLarge1000,
                                               kCarry | kTooLarge | kTooLarge1000,
                                               kCarry | kTooLarge | kTooLarge1000,
                                               kCarry | kTooLarge | kTooLarge1000,
                                               kCarry | kTooLarge | kTooLarge1000 | kSurrogate,
                                               kCarry | kTooLarge | kTooLarge1000,
                                               kCarry | kTooLarge | kTooLarge1000};
alignas(16) constexpr uint8_t kByte2High[16] = {
    kTooShort,
    kTooShort,
    kTooShort,
    kTooShort,
    kTooShort,
    kTooShort,
    kTooShort,
    kTooShort,
    kTooLong | kOverlong2 | kTwoConts | kOverlong3 | kTooLarge1000 | kOverlong4,
    kTooLong | kOverlong2 | kTwoConts | kOverlong3 | kTooLarge,
    kTooLong | kOverlong2 | kTwoConts | kSurrogate | kTooLarge,
    kTooLong | kOverlong2 | kTwoConts | kSurrogate | kTooLarge,
    kTooShort,
    kTooShort,
    kTooShort,
    kTooShort};

__attribute__((target("ssse3"))) inline __m128i CheckBlock(__m128i in, __m128i prev) {
  const __m128i nibble = _mm_set1_epi8(0x0F);
  const __m128i prev1 = _mm_alignr_epi8(in, prev, 15);
  const __m128i b1h = _mm_shuffle_epi8(_mm_load_si128(reinterpret_cast<const __m128i*>(kByte1High)),
                                       _mm_and_si128(_mm_srli_epi16(prev1, 4), nibble));
  const __m128i b1l = _mm_shuffle_epi8(_mm_load_si128(reinterpret_cast<const __m128i*>(kByte1Low)),
                                       _mm_and_si128(prev1, nibble));
  const __m128i b2h = _mm_shuffle_epi8(_mm_load_si128(reinterpret_cast<const __m128i*>(kByte2High)),
                                       _mm_and_si128(_mm_srli_epi16(in, 4), nibble));
  const __m128i special = _mm_and_si128(_mm_and_si128(b1h, b1l), b2h);
  const __m128i prev2 = _mm_alignr_epi8(in, prev, 14);
  const __m128i prev3 = _mm_alignr_epi8(in, prev, 13);
  const __m128i third = _mm_subs_epu8(prev2, _mm_set1_epi8(0xE0 - 0x80));
  const __m128i fourth = _mm_subs_epu8(prev3, _mm_set1_epi8(0xF0 - 0x80));
  const __m128i must23 =
      _mm_and_si128(_mm_or_si128(third, fourth), _mm_set1_epi8(static_cast<char>(0x80)));
  return _mm_xor_si128(must23, special);
}

__attribute__((target("ssse3"))) bool IsValidUtf8Ssse3(const char* p, size_t n) {
  __m128i error = _mm_setzero_si128();
  __m128i prev = _mm_setzero_si128();
  size_t i = 0;
  for (; i + 16 <= n; i += 16) {
    const __m128i in = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p + i));
    // Two ASCII blocks in a row cannot hold an error.
    if ((_mm_movemask_epi8(in) | _mm_movemask_epi8(prev)) != 0) {
      error = _mm_or_si128(error, CheckBlock(in, prev));
    }
    prev = in;
  }
  // The tail, zero-padded, then one block of zeros: a sequence cut short by
  // the end of the input meets ASCII and is reported as too short.
  alignas(16) char tail[16] = {};
  std::memcpy(tail, p + i, n - i);
  const __m128i last = _mm_load_si128(reinterpret_cast<const __m128i*>(tail));
  error = _mm_or_si128(error, CheckBlock(last, prev));
  error = _mm_or_si128(error, CheckBlock(_mm_setzero_si128(), last));
  return _mm_movemask_epi8(_mm_cmpeq_epi8(error, _mm_setzero_si128())) == 0xFFFF;
}

const bool kHasSsse3 = __builtin_cpu_supports("ssse3");

}  // namespace

bool IsValidUtf8(std::string_view s) {
  if (kHasSsse3) return IsValidUtf8Ssse3(s.data(), s.size());
  return FindInvalidUtf8(s) == kNoError;
}

namespace {

// Copies ASCII through and hands every other character to `step`, which
// converts the one at p[i], advances i and out, and returns false for one it
// cannot convert (its offset goes to *bad_offset and the result is null).
template <typename Step>
inline char* Transcode(std::string_view in, char* out, size_t* bad_offset, Step step) {
  const auto* p = reinterpret_cast<const unsigned char*>(in.data());
  const size_t n = in.size();
  size_t i = 0;
  while (i < n) {
    if (p[i] < 0x80) {
      *out++ = static_cast<char>(p[i++]);
      continue;
    }
    if (!step(p, n, i, out)) {
      *bad_offset = i;
      return nullptr;
    }
  }
  return out;
}

}  // namespace

char* Cp932ToUtf8(std::string_view in, char* out, size_t* bad_offset) {
  const Cp932Tables& t = Tables();
  return Transcode(in, out, bad_offset,
                   [&t](const unsigned char* p, size_t n, size_t& i, char*& o) {
                     const unsigned char c = p[i];
                     uint32_t cp;
                     if (t.lead[c]) {
                       if (i + 1 >= n || (cp = t.pair[(c << 8) | p[i + 1]]) == 0) return false;
                       i += 2;
                     } else {
                       if (t.single[c] < 0) return false;
                       cp = static_cast<uint32_t>(t.single[c]);
                       ++i;
                     }
                     o += EncodeUtf8(cp, o);
                     return true;
                   });
}

char* Utf8ToCp932(std::string_view in, char* out, size_t* bad_offset) {
  const Cp932Tables& t = Tables();
  return Transcode(in, out, bad_offset,
                   [&t](const unsigned char* p, size_t n, size_t& i, char*& o) {
                     uint32_t cp;
                     const int len = DecodeUtf8(p, n, i, &cp);
                     const uint16_t code = len != 0 && cp < 0x10000 ? t.encode[cp] : 0;
                     if (code == 0) return false;
                     if (code < 0x100) {
                       *o++ = static_cast<char>(code);
                     } else {
                       *o++ = static_cast<char>(code >> 8);
                       *o++ = static_cast<char>(code & 0xFF);
                     }
                     i += len;
                     return true;
                   });
}

namespace {

bool IsAsciiDelimiter(unsigned char c) { return c == ',' || c == '\r' || c == '\n'; }

}  // namespace

std::string_view DetectWideEncoding(std::string_view first_bytes) {
  auto starts = [&](std::string_view bom) { return first_bytes.substr(0, bom.size()) == bom; };
  // UTF-32 first: its little-endian mark begins with UTF-16's.
  if (starts(std::string_view("\xFF\xFE\0\0", 4)) || starts(std::string_view("\0\0\xFE\xFF", 4))) {
    return "UTF-32";
  }
  if (starts("\xFF\xFE") || starts("\xFE\xFF")) return "UTF-16";

  const auto* p = reinterpret_cast<const unsigned char*>(first_bytes.data());
  // UTF-32 without a mark: every unit a code point below U+110000 (one
  // zero byte and one of at most 0x10), and a delimiter among them.
  const size_t n4 = first_bytes.size() & ~size_t{3};
  bool le = n4 > 0, be = n4 > 0, le_delimiter = false, be_delimiter = false;
  for (size_t i = 0; i < n4; i += 4) {
    le = le && p[i + 3] == 0 && p[i + 2] <= 0x10;
    be = be && p[i] == 0 && p[i + 1] <= 0x10;
    le_delimiter = le_delimiter || (IsAsciiDelimiter(p[i]) && p[i + 1] == 0 && p[i + 2] == 0);
    be_delimiter = be_delimiter || (p[i + 1] == 0 && p[i + 2] == 0 && IsAsciiDelimiter(p[i + 3]));
  }
  if ((le && le_delimiter) || (be && be_delimiter)) return "UTF-32";

  // UTF-16 without a mark: delimiters with their zero byte (two at least:
  // a stray NUL after a comma is not an encoding), and zero bytes mostly on
  // that side and in one unit of eight at least (Japanese text has few
  // others: U+3000 IDEOGRAPHIC SPACE is 00 30 in little-endian).
  const size_t n2 = first_bytes.size() & ~size_t{1};
  size_t zero_even = 0, zero_odd = 0, le_delimiters = 0, be_delimiters = 0;
  for (size_t i = 0; i < n2; i += 2) {
    zero_even += p[i] == 0;
    zero_odd += p[i + 1] == 0;
    le_delimiters += IsAsciiDelimiter(p[i]) && p[i + 1] == 0;
    be_delimiters += p[i] == 0 && IsAsciiDelimiter(p[i + 1]);
  }
  const size_t units = n2 / 2;
  if ((le_delimiters >= 2 && zero_odd > zero_even && 8 * zero_odd >= units) ||
      (be_delimiters >= 2 && zero_even > zero_odd && 8 * zero_even >= units)) {
    return "UTF-16";
  }
  return {};
}

Result<std::string> DecodeCp932(std::string_view cp932) {
  std::string out(cp932.size() * 3, '\0');
  size_t bad = 0;
  char* end = Cp932ToUtf8(cp932, out.data(), &bad);
  if (end == nullptr) {
    return Result<std::string>::Error("byte " + HexByte(static_cast<unsigned char>(cp932[bad])) +
                                      " at offset " + std::to_string(bad) +
                                      " cannot be decoded as CP932");
  }
  out.resize(end - out.data());
  return out;
}

Result<std::string> EncodeCp932(std::string_view utf8) {
  std::string out(utf8.size(), '\0');
  size_t bad = 0;
  char* end = Utf8ToCp932(utf8, out.data(), &bad);
  if (end == nullptr) {
    uint32_t cp;
    if (DecodeUtf8(reinterpret_cast<const unsigned char*>(utf8.data()), utf8.size(), bad, &cp) ==
        0) {
      return Result<std::string>::Error("invalid UTF-8 at offset " + std::to_string(bad));
    }
    return Result<std::string>::Error("character at offset " + std::to_string(bad) +
                                      " has no CP932 encoding");
  }
  out.resize(end - out.data());
  return out;
}

}  // namespace itaku::policies
