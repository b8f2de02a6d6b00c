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
#include "policies/subscriber_id.h"

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
  // The daemon's [records] subscriber_id_pattern (serve --config), compiled
  // once at start: what a subscriber id looks like here, for ids staff type
  // and ids in exports. Unset: policies::kDefaultSubscriberIdPattern. Read
  // it through SubscriberIds().
  std::optional<policies::SubscriberIdPattern> subscriber_id_pattern;
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

// The configured subscriber id pattern, or the default.
inline const policies::SubscriberIdPattern& SubscriberIds(const Context& ctx) {
  return ctx.subscriber_id_pattern ? *ctx.subscriber_id_pattern
                                   : policies::DefaultSubscriberIdPattern();
}

// An id a person typed (--subscriber), normalised (policies/subscriber_id.h)
// and checked against SubscriberIds(ctx), so that "S9OO12" for S90012 is
// refused instead of matching nobody. The message repeats what was typed
// (the person needs to see it; it is an id, not personal data):
//   "subscriber id S9OO12 does not match the configured pattern S[0-9]{5}"
//   "subscriber id is empty"
inline Result<std::string> TypedSubscriberId(const Context& ctx, const std::string& typed) {
  const std::string id = policies::NormalizeSubscriberId(typed);
  if (id.empty()) return Result<std::string>::Error("subscriber id is empty");
  if (!SubscriberIds(ctx).Matches(id)) {
    return Result<std::string>::Error("subscriber id " + typed +
                                      " does not match the configured pattern " +
                                      SubscriberIds(ctx).text());
  }
  return id;
}

}  // namespace itaku::gateway
