// What several command files share: argument checks and look-ups that
// refuse with the line a person acts on.
#pragma once

#include <algorithm>
#include <iterator>
#include <string>

#include "contracts/base/date.h"
#include "contracts/base/status.h"
#include "contracts/types.h"
#include "gateway/context.h"

namespace itaku::gateway {

// "--since must be a date like 2026-04-01, got X".
Result<Date> ParseDateArg(const std::string& flag, const std::string& value);
// "unknown contractor X (register it with: itaku contractor add)".
Result<contracts::Contractor> RequireContractor(Context& ctx, const std::string& id);

// The acting staff member's role; nullopt when the actor is not staff.
Result<std::optional<contracts::StaffRole>> ActorRole(Context& ctx);

template <size_t N>
bool OneOf(const std::string& value, const char* const (&options)[N]) {
  return std::any_of(std::begin(options), std::end(options),
                     [&](const char* o) { return value == o; });
}

}  // namespace itaku::gateway
