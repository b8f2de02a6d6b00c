// Small file helpers for the gateway (documents, exports).
#pragma once

#include <string>

#include "contracts/base/status.h"

namespace itaku {

// SHA-256 of a file's bytes, lowercase hex, read in blocks.
Result<std::string> Sha256File(const std::string& path);
// SHA-256 of a string, lowercase hex.
std::string Sha256Hex(const std::string& data);
// Copies `from` to `to` through an AtomicFile (replacing: the store names
// copies by their SHA-256), creating `to`'s folder.
Status CopyFileAtomically(const std::string& from, const std::string& to);
// 32 random bytes as hex (OpenSSL RAND_bytes).
Result<std::string> RandomHex32();

}  // namespace itaku
