// What every command runs with: the store, the clock, the audit trail and
// the acting staff member. Owned here, borrowed by commands.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "contracts/store.h"
#include "gateway/audit.h"
#include "gateway/clock.h"

namespace itaku::gateway {

// What a command hands back: JSON for machines (--json) and text for people.
struct Output {
  nlohmann::json json;
  std::string text;
};

// An approved proposal being carried out: what it changes must still be
// exactly what the approver was shown.
struct Approval {
  int64_t proposal_id = 0;
  std::string approved_by;
  nlohmann::json changes;
};

struct Context {
  std::unique_ptr<contracts::Store> store;
  std::unique_ptr<Clock> clock;
  std::unique_ptr<AuditTrail> audit;
  std::string actor;
  std::string db_path;
  // The daemon's own config file (serve --config): [smtp] and [requests]
  // settings no command may override; empty for none.
  std::string daemon_config;
  // The staff member the staff API identified by the socket's peer uid;
  // unset for `init`, `serve` and unit tests, which act as `actor`.
  std::optional<contracts::StaffMember> staff;
  // Set by the staff API: turns a change that widens what or where data
  // goes into a proposal (`subject`, the field-by-field `changes`). Unset,
  // a change takes effect at once.
  std::function<Result<Output>(const std::string& subject, const nlohmann::json& changes)>
      propose;
  std::optional<Approval> approval;
  // Set by the staff API: carries out an approved proposal's command.
  std::function<Result<Output>(const contracts::Proposal&)> carry_out;
};

// A change that widens (non-empty `changes`): nullopt when it may take
// effect now (it narrows, no staff API is asking, or it is the approved
// proposal itself), else the proposal's output (or the conflict when an
// approved proposal no longer matches what is there now).
std::optional<Result<Output>> ProposeIfWidening(Context& ctx, const std::string& subject,
                                                const nlohmann::json& changes);

}  // namespace itaku::gateway
