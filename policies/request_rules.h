// The rules of corrective-action requests (policy 6(3)-(4)) and of special
// requests (6(1)): which step a request may take next, who may take it, and
// when it is overdue. Pure: the request, the actor's role and the dates are
// handed in; no I/O, no clock.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "contracts/base/date.h"
#include "contracts/types.h"
#include "policies/projector.h"

namespace itaku::policies {

enum class RequestStep { kDecide, kInstruct, kAnswer, kClose, kNotify };
std::string_view ToString(RequestStep step);  // "decide", "instruct", ...

// What the step would record, as far as the rules care.
struct StepInput {
  // The acting staff member's role; nullopt if not staff. Deciding takes a
  // privacy officer; every other step an operator or a privacy officer.
  std::optional<contracts::StaffRole> actor_role;
  std::optional<bool> justified;    // decide
  std::optional<bool> carried_out;  // close
  std::string reason;               // decide (always), close (when not carried out)
  std::string text;                 // instruct, answer: what was sent or reported
};

// Every reason the step may not be taken now; empty when it may. Messages
// name the request and the clause, e.g.
//   "request 3 has not been decided yet; a requester is told the outcome
//    only after a decision (policy 6(4))"
//   "only a privacy officer decides a request (actor is operator)"
//   "request 3 was judged not justified; it cannot be closed as carried out"
std::vector<std::string> RefuseStep(const contracts::CorrectiveRequest& request, RequestStep step,
                                    const StepInput& input);

// The state the request is in once the step is taken.
contracts::RequestState StateAfter(const contracts::CorrectiveRequest& request, RequestStep step,
                                   const StepInput& input);

// "Without delay" as numbers the operator sets.
// The rules a special request (policy 6(1)) meets before it is recorded:
// a known purpose, catalog fields other than subscriber_id, and for an
// extension a privacy officer (`actor_role`), never statistics, and the
// subscriber's consent on file. The first one broken, or empty.
std::string SpecialRequestRefusal(const contracts::SpecialRequest& request,
                                  std::optional<contracts::StaffRole> actor_role,
                                  bool consent_on_file);

// A special request is ended by the operator who entered it (one entered in
// error, or withdrawn by the subscriber) or by a privacy officer: why
// `actor` (of `role`, nullopt when not staff) may not end `request`, or empty.
std::string SpecialEndRefusal(const contracts::SpecialRequest& request,
                              std::optional<contracts::StaffRole> role, const std::string& actor);

// "operator", "privacy-officer", "auditor", or "not registered staff".
std::string RoleName(std::optional<contracts::StaffRole> role);

// What the requester is told (policy 6(4)): whether the request was carried
// out and, when not, why: the decision's reason for a request judged not
// justified, the reason given at closing otherwise.
struct NoticeOutcome {
  bool carried_out = false;
  std::string reason;  // empty when carried out
};
NoticeOutcome OutcomeForNotice(const contracts::CorrectiveRequest& request);

struct RequestDeadlines {
  int decide_within_days = 7;   // from receipt to a decision
  int notify_within_days = 14;  // from receipt to the requester being told
};

// Deadlines are whole days from receipt, 0 to 365, and the requester cannot
// be told before the decision is due. The first rule broken, or empty.
std::string DeadlinesRefusal(const RequestDeadlines& deadlines);

// Why a request is overdue on `today` (the operator's calendar day), given
// the day it was received: "decision overdue since 2026-12-08" and/or
// "notice overdue since 2026-12-15". Empty when on time or done.
std::vector<std::string> OverdueReasons(const contracts::CorrectiveRequest& request,
                                        const Date& received_on, const RequestDeadlines& deadlines,
                                        const Date& today);

// Whether a special request is in force on `today` (not ended, within its
// dates) and concerns a delivery to `contractor_id` under `purpose`.
bool SpecialRequestApplies(const contracts::SpecialRequest& request,
                           const std::string& contractor_id, const std::string& purpose,
                           const Date& today);

// What the special requests (policy 6(1)) in force on `today` do to a
// delivery to `contractor_id` under `purpose` whose profile sends
// `profile_fields`: per subscriber, excluded, fields withheld, fields added
// (with consent); and the added columns, in catalog order. Withholding
// always applies (it also cancels another request's extension of the same
// field); an extension of a field the profile already sends changes
// nothing, and statistics (sent pseudonymised) take no extension.
// Subscribers nothing applies to are left out.
struct SpecialShaping {
  std::vector<std::string> extra_fields;
  SubscriberOverrides overrides;
};
SpecialShaping ShapeBySpecialRequests(const std::vector<contracts::SpecialRequest>& requests,
                                      const std::string& contractor_id, const std::string& purpose,
                                      const std::vector<std::string>& profile_fields,
                                      const Date& today);

}  // namespace itaku::policies
