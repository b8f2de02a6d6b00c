// Reading a contract profile from its TOML file. Shape only: required keys,
// types, dates. Whether the fields fit the purpose is policies/' business.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "contracts/base/status.h"
#include "contracts/types.h"

namespace itaku::contracts {

// A profile is a few kilobytes; a file larger than this is refused before
// it is read whole or parsed (a 200 MB file once took 630 MB to refuse):
//   "billing.toml: larger than 1 MiB; a profile is a few kilobytes"
inline constexpr std::size_t kMaxProfileBytes = std::size_t{1} << 20;

// `file_name` is used in error messages: "billing.toml: missing key 'purpose'".
// Fills every ContractProfile member except version and imported_*;
// source = text, source_sha256 = its SHA-256 in lowercase hex. Text longer
// than kMaxProfileBytes is refused unparsed.
// The line of the first non-ASCII byte outside quoted strings and comments
// (with `comments_only`, outside comments), or 0. toml++ 3.3 (Debian 12)
// reaches TOML_UNREACHABLE (undefined behaviour) asking whether a character
// of U+00A1..U+0499, U+2C6E..U+3067 or U+FE06..U+FEFE is white space, which
// it does outside strings, within a bad bare word that runs on through
// quotes and brackets, and after a backslash (found by ops/fuzz). TOML keys
// are ASCII, so every TOML text Itaku parses is checked with this first:
// profiles (whose values are all ids) with `comments_only`; the operator's
// --config, whose strings may hold Japanese, without.
int64_t TomlLineOfNonAsciiOutsideText(std::string_view text, bool comments_only = false);

Result<ContractProfile> ParseProfileToml(const std::string& text, const std::string& file_name);

// [output] formula_guard of a profile's TOML text as imported (a stored
// version's `source`): false only when the text says so; true when it says
// nothing, and for a text that does not parse (never the case for a text
// ParseProfileToml accepted), so that the guard errs on.
bool FormulaGuardOf(const std::string& source);

}  // namespace itaku::contracts
