// Bytes as hexadecimal text: lowercase for hashes as Itaku stores them,
// uppercase where a tool prints it so (OpenSSL fingerprints, byte values in
// error lines). Header-only: the projector's pseudonym mask calls it per cell.
#pragma once

#include <cstddef>
#include <string>

namespace itaku {

inline void AppendHex(std::string* out, const unsigned char* data, std::size_t size,
                      bool upper = false) {
  const char* digits = upper ? "0123456789ABCDEF" : "0123456789abcdef";
  for (std::size_t i = 0; i < size; ++i) {
    out->push_back(digits[data[i] >> 4]);
    out->push_back(digits[data[i] & 15]);
  }
}

inline std::string Hex(const unsigned char* data, std::size_t size, bool upper = false) {
  std::string out;
  out.reserve(2 * size);
  AppendHex(&out, data, size, upper);
  return out;
}

// "0x8F", for a byte named in an error line.
inline std::string HexByte(unsigned char b) { return "0x" + Hex(&b, 1, /*upper=*/true); }

}  // namespace itaku
