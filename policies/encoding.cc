#include "policies/encoding.h"

#include <iconv.h>

#include <cstring>
#include <memory>
#include <vector>

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
      t->encode[cp] =
          static_cast<uint16_t>((static_cast<unsigned char>(s[0]) << 8) | static_cast<unsigned char>(s[1]));
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
  while (i < n) {
    if (n - i >= 8) {
      uint64_t w;
      std::memcpy(&w, p + i, 8);
      if ((w & 0x8080808080808080ull) == 0) {
        i += 8;
        continue;
      }
    }
    // Non-ASCII runs (Japanese text) stay in this inner loop.
    do {
      uint32_t cp;
      int len = DecodeUtf8(p, n, i, &cp);
      if (len == 0) return i;
      i += len;
    } while (i < n && p[i] >= 0x80);
  }
  return kNoError;
}

char* Cp932ToUtf8(std::string_view in, char* out, size_t* bad_offset) {
  const Cp932Tables& t = Tables();
  const auto* p = reinterpret_cast<const unsigned char*>(in.data());
  const size_t n = in.size();
  size_t i = 0;
  while (i < n) {
    unsigned char c = p[i];
    if (c < 0x80) {
      *out++ = static_cast<char>(c);
      ++i;
      continue;
    }
    uint32_t cp;
    if (t.lead[c]) {
      if (i + 1 >= n || (cp = t.pair[(c << 8) | p[i + 1]]) == 0) {
        *bad_offset = i;
        return nullptr;
      }
      i += 2;
    } else {
      if (t.single[c] < 0) {
        *bad_offset = i;
        return nullptr;
      }
      cp = static_cast<uint32_t>(t.single[c]);
      ++i;
    }
    out += EncodeUtf8(cp, out);
  }
  return out;
}

char* Utf8ToCp932(std::string_view in, char* out, size_t* bad_offset) {
  const Cp932Tables& t = Tables();
  const auto* p = reinterpret_cast<const unsigned char*>(in.data());
  const size_t n = in.size();
  size_t i = 0;
  while (i < n) {
    unsigned char c = p[i];
    if (c < 0x80) {
      *out++ = static_cast<char>(c);
      ++i;
      continue;
    }
    uint32_t cp;
    int len = DecodeUtf8(p, n, i, &cp);
    uint16_t code = len != 0 && cp < 0x10000 ? t.encode[cp] : 0;
    if (code == 0) {
      *bad_offset = i;
      return nullptr;
    }
    if (code < 0x100) {
      *out++ = static_cast<char>(code);
    } else {
      *out++ = static_cast<char>(code >> 8);
      *out++ = static_cast<char>(code & 0xFF);
    }
    i += len;
  }
  return out;
}

Result<std::string> DecodeCp932(std::string_view cp932) {
  std::string out(cp932.size() * 3, '\0');
  size_t bad = 0;
  char* end = Cp932ToUtf8(cp932, out.data(), &bad);
  if (end == nullptr) {
    static const char kHex[] = "0123456789ABCDEF";
    unsigned char b = static_cast<unsigned char>(cp932[bad]);
    return Result<std::string>::Error(std::string("byte 0x") + kHex[b >> 4] + kHex[b & 15] +
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
