// The masks a contract profile may put on a field (policy clause 2(3)[6]:
// statistics that identify no one). Pure functions of the value; the value
// is UTF-8 and already validated. An empty value stays empty under every
// mask.
//
// Errors are a reason without the value (it is personal data); the
// projector prefixes file, line and column:
//   year:    "not a date starting with a 4-digit year (mask year)"
//   prefix3: "not a postal code starting with 3 digits (mask prefix3)"
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "contracts/base/status.h"
#include "policies/catalog.h"

namespace itaku::policies {

// kLast4 shows the last four code points only of a value this long or
// longer, so that at least half of it stays hidden.
inline constexpr size_t kLast4MinLength = 8;

// Appends the masked form of `value` to *out:
//   kNone      the value itself
//   kLast4     a value of kLast4MinLength (8) code points or more: every
//              code point but the last four replaced by '*'
//              ("079-123-4567" -> "********4567"); a shorter value: one '*'
//              per code point, nothing shown ("1234567" -> "*******"). So at
//              most half of a value is ever shown, and a short one (a 7-digit
//              account number, a PIN) never. Counted in code points, not
//              bytes ("山田　太郎" -> "*****").
//   kRedact    nothing
//   kYear      the 4-digit year a date starts with ("1980-05-12" -> "1980")
//   kPrefix3   the 3 digits a postal code starts with ("123-4567" -> "123")
//   kPseudonym lowercase hex HMAC-SHA256 of the value under `pseudonym_key`
// On error *out is unchanged.
Status AppendMasked(Mask mask, std::string_view value, std::string_view pseudonym_key,
                    std::string* out);

// Convenience form of AppendMasked.
Result<std::string> ApplyMask(Mask mask, std::string_view value,
                              std::string_view pseudonym_key = {});

}  // namespace itaku::policies
