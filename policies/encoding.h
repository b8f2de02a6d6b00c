// Character encodings of exports and deliveries: UTF-8 validation and
// CP932 (Microsoft Shift_JIS, what Japanese Excel writes) <-> UTF-8.
//
// The CP932 tables are built once, on first use, from glibc iconv's "CP932"
// converter (which follows Microsoft's table: 0x8160 <-> U+FF5E FULLWIDTH
// TILDE, 0x817C <-> U+FF0D FULLWIDTH HYPHEN-MINUS, NEC specials such as
// 0x8740 <-> U+2460, IBM extensions such as 0xFBFC <-> U+9AD9). glibc also
// encodes a few look-alikes one way only: U+2212 MINUS SIGN -> 0x817C,
// U+301C WAVE DASH -> 0x8160; decoding gives back the fullwidth forms. After
// the first call, every function here is thread-safe and allocation-free
// unless it returns a std::string.
//
// Errors are offsets into the input, never its content: the callers add the
// file, line and column, and the content is personal data.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "contracts/base/status.h"

namespace itaku::policies {

inline constexpr size_t kNoError = static_cast<size_t>(-1);

// Offset of the first byte of the first invalid or truncated UTF-8 sequence
// (overlongs, surrogates and code points above U+10FFFF are invalid), or
// kNoError. A pure-ASCII input is checked 8 bytes at a time.
size_t FindInvalidUtf8(std::string_view s);
// The same verdict, faster (SSSE3 when the CPU has it): use on the hot path
// and call FindInvalidUtf8 only to locate an error.
bool IsValidUtf8(std::string_view s);

// Low-level converters for the hot path. `out` must have room for
// 3 * in.size() bytes (CP932 -> UTF-8) or in.size() bytes (UTF-8 -> CP932).
// Return the end of what was written, or nullptr with *bad_offset set to the
// offset of the first byte that cannot be converted (an undecodable CP932
// byte or pair; for UTF-8 -> CP932 the start of a character CP932 lacks, or
// of invalid UTF-8).
char* Cp932ToUtf8(std::string_view in, char* out, size_t* bad_offset);
char* Utf8ToCp932(std::string_view in, char* out, size_t* bad_offset);

// "UTF-16" or "UTF-32" when `first_bytes` (the start of a file; 512 bytes
// are plenty) is text in one of those encodings, else empty. By the byte
// order mark (FF FE 00 00 / 00 00 FE FF: UTF-32; FF FE / FE FF: UTF-16), or
// without one by the zero bytes every ASCII character brings along:
//   UTF-32: every 4-byte unit a code point below U+110000, one of them a
//           comma, CR or LF;
//   UTF-16: two units or more a comma, CR or LF with its zero byte, and the
//           zero bytes mostly on that side, one unit in eight at least.
// Input without a zero byte (every UTF-8 or CP932 export the CSV reader
// accepts) is never taken for either; nor is one with a stray NUL.
std::string_view DetectWideEncoding(std::string_view first_bytes);

// Convenience wrappers. Error texts:
//   "byte 0x85 at offset 3 cannot be decoded as CP932"
//   "character at offset 3 has no CP932 encoding"
//   "invalid UTF-8 at offset 3"
Result<std::string> DecodeCp932(std::string_view cp932);
Result<std::string> EncodeCp932(std::string_view utf8);

}  // namespace itaku::policies
