// What every command runs with: the store, the clock, the audit trail and
// the acting staff member. Owned here, borrowed by commands.
#pragma once

#include <memory>
#include <string>

#include "contracts/store.h"
#include "gateway/audit.h"
#include "gateway/clock.h"

namespace itaku::gateway {

struct Context {
  std::unique_ptr<contracts::Store> store;
  std::unique_ptr<Clock> clock;
  std::unique_ptr<AuditTrail> audit;
  std::string actor;
  std::string db_path;
};

// What a command hands back: JSON for machines (--json) and text for people.
struct Output {
  nlohmann::json json;
  std::string text;
};

}  // namespace itaku::gateway
