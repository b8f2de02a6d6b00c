#include "policies/request_rules.h"

#include <algorithm>
#include <set>

#include "contracts/base/date.h"
#include "contracts/base/names.h"
#include "policies/catalog.h"

namespace itaku::policies {
namespace {

std::string Name(const contracts::CorrectiveRequest& r) {
  return "request " + std::to_string(r.id);
}

bool Notified(const contracts::CorrectiveRequest& r) {
  return r.state == contracts::RequestState::kNotified;
}

using contracts::RequestState;
using contracts::StaffRole;

// "request 3 has not been decided yet", and why `step` waits for a decision.
std::string NotDecidedYet(const std::string& name, RequestStep step) {
  std::string why = name + " has not been decided yet";
  if (step == RequestStep::kInstruct) {
    why += "; a contractor is instructed only on a justified request (policy 6(3))";
  } else if (step == RequestStep::kNotify) {
    why += "; a requester is told the outcome only after a decision (policy 6(4))";
  }
  return why;
}

}  // namespace

std::string RoleName(std::optional<StaffRole> role) {
  return role ? std::string(contracts::ToString(*role)) : "not registered staff";
}

std::string_view ToString(RequestStep step) {
  constexpr std::string_view kNames[] = {"decide", "instruct", "answer", "close", "notify"};
  return NameOf(kNames, step);
}

std::vector<std::string> RefuseStep(const contracts::CorrectiveRequest& r, RequestStep step,
                                    const StepInput& in) {
  std::vector<std::string> why;
  const std::string name = Name(r);
  if (Notified(r)) {
    why.push_back(name + " is finished: the requester was told on " + ShowJst(r.notified_at));
    return why;
  }
  const bool unjustified = r.justified.has_value() && !*r.justified;
  if (step != RequestStep::kDecide && in.actor_role != StaffRole::kOperator &&
      in.actor_role != StaffRole::kPrivacyOfficer) {
    why.push_back("only an operator or a privacy officer may " + std::string(ToString(step)) +
                  " a request (actor is " + RoleName(in.actor_role) + ")");
  }
  switch (step) {
    case RequestStep::kDecide:
      if (in.actor_role != StaffRole::kPrivacyOfficer) {
        why.push_back("only a privacy officer decides a request (actor is " +
                      RoleName(in.actor_role) + ")");
      }
      if (r.state != RequestState::kReceived) {
        why.push_back(name + " was already decided by " + r.decided_by + " on " +
                      ShowJst(r.decided_at));
      }
      if (!in.justified) why.push_back("say whether the request is justified or not");
      if (in.reason.empty()) why.push_back("a decision needs its reason");
      break;
    case RequestStep::kInstruct:
      if (r.state == RequestState::kReceived) {
        why.push_back(NotDecidedYet(name, step));
      } else if (unjustified) {
        why.push_back(name + " was judged not justified; there is nothing to instruct");
      } else if (r.state != RequestState::kDecided) {
        why.push_back(name + " was already instructed on " + ShowJst(r.instructed_at));
      }
      if (in.text.empty()) why.push_back("the instruction needs its text");
      break;
    case RequestStep::kAnswer:
      if (r.state != RequestState::kInstructed) {
        why.push_back(name + " is " + std::string(contracts::ToString(r.state)) +
                      "; a contractor's answer is recorded after it was instructed");
      }
      if (in.text.empty()) why.push_back("the answer needs the contractor's report");
      break;
    case RequestStep::kClose:
      if (r.state == RequestState::kReceived) {
        why.push_back(NotDecidedYet(name, step));
      } else if (r.state == RequestState::kClosed) {
        why.push_back(name + " was already closed on " + ShowJst(r.closed_at));
      } else if (unjustified) {
        if (in.carried_out.value_or(false)) {
          why.push_back(name + " was judged not justified; it cannot be closed as carried out");
        }
      } else if (r.state != RequestState::kAnswered) {
        why.push_back(name + " is " + std::string(contracts::ToString(r.state)) +
                      "; close it once the contractor's answer is recorded");
      }
      if (!in.carried_out) why.push_back("say whether it was carried out or not");
      if (in.carried_out && !*in.carried_out && in.reason.empty()) {
        why.push_back(
            "a request not carried out needs the reason, which the requester is told "
            "(policy 6(4))");
      }
      break;
    case RequestStep::kNotify:
      if (r.state == RequestState::kReceived) {
        why.push_back(NotDecidedYet(name, step));
      } else if (!unjustified && r.state != RequestState::kClosed) {
        why.push_back(name + " is " + std::string(contracts::ToString(r.state)) +
                      "; close it (carried out or not) before notifying");
      }
      break;
  }
  return why;
}

contracts::RequestState StateAfter(const contracts::CorrectiveRequest& r, RequestStep step,
                                   const StepInput&) {
  switch (step) {
    case RequestStep::kDecide:
      return RequestState::kDecided;
    case RequestStep::kInstruct:
      return RequestState::kInstructed;
    case RequestStep::kAnswer:
      return RequestState::kAnswered;
    case RequestStep::kClose:
      return RequestState::kClosed;
    case RequestStep::kNotify:
      return RequestState::kNotified;
  }
  return r.state;
}

std::vector<std::string> OverdueReasons(const contracts::CorrectiveRequest& r,
                                        const Date& received_on, const RequestDeadlines& d,
                                        const Date& today) {
  std::vector<std::string> out;
  if (Notified(r)) return out;
  const Date decide_by = AddDays(received_on, d.decide_within_days);
  const Date notify_by = AddDays(received_on, d.notify_within_days);
  if (r.state == RequestState::kReceived && today > decide_by) {
    out.push_back("decision overdue since " + FormatDate(AddDays(decide_by, 1)));
  }
  if (today > notify_by) out.push_back("notice overdue since " + FormatDate(AddDays(notify_by, 1)));
  return out;
}

bool SpecialRequestApplies(const contracts::SpecialRequest& s, const std::string& contractor_id,
                           const std::string& purpose, const Date& today) {
  if (!s.ended_at.empty()) return false;
  if (today < s.valid_from) return false;
  if (s.valid_until && today > *s.valid_until) return false;
  if (!s.contractor_id.empty()) return s.contractor_id == contractor_id;
  return s.purpose == purpose;
}

NoticeOutcome OutcomeForNotice(const contracts::CorrectiveRequest& r) {
  const bool unjustified = r.justified.has_value() && !*r.justified;
  if (unjustified) return {false, r.decision_reason};
  if (r.carried_out.value_or(false)) return {true, ""};
  return {false, r.close_reason};
}

std::string SpecialRequestRefusal(const contracts::SpecialRequest& s,
                                  std::optional<StaffRole> actor_role, bool consent_on_file) {
  if (!s.purpose.empty() && FindPurpose(s.purpose) == nullptr) {
    return "unknown purpose " + s.purpose + " (policy 2(3))";
  }
  for (const auto& f : s.fields) {
    const FieldInfo* info = FindField(f);
    if (info == nullptr || info->id != f) {
      return "unknown field " + f + " (not in the field catalog, policy 1)";
    }
    if (f == "subscriber_id") return "subscriber_id identifies the record; use --exclude instead";
  }
  if (s.kind != contracts::SpecialKind::kExtend) return "";
  if (actor_role != StaffRole::kPrivacyOfficer) {
    return "only a privacy officer records an extension (" + s.created_by + " is " +
           RoleName(actor_role) + ")";
  }
  if (s.purpose == "statistics") {
    return "statistics are sent pseudonymised; nothing can be added to them";
  }
  if (!consent_on_file) {
    return "an extension needs the subscriber's consent on file: --consent FILE (policy 6(1))";
  }
  return "";
}

std::string SpecialEndRefusal(const contracts::SpecialRequest& s, std::optional<StaffRole> role,
                              const std::string& actor) {
  if (role == StaffRole::kPrivacyOfficer) return "";
  if (role == StaffRole::kOperator && actor == s.created_by) return "";
  return "special request " + std::to_string(s.id) + " was entered by " + s.created_by +
         "; only they or a privacy officer end it (" + actor + " is " + RoleName(role) + ")";
}

std::string DeadlinesRefusal(const RequestDeadlines& d) {
  for (int days : {d.decide_within_days, d.notify_within_days}) {
    if (days < 0 || days > 365) return "deadlines are whole days from receipt, 0 to 365";
  }
  if (d.notify_within_days < d.decide_within_days) {
    return "the requester cannot be told before the decision is due: "
           "--notify-within must be at least --decide-within";
  }
  return "";
}

SpecialShaping ShapeBySpecialRequests(const std::vector<contracts::SpecialRequest>& requests,
                                      const std::string& contractor_id, const std::string& purpose,
                                      const std::vector<std::string>& profile_fields,
                                      const Date& today) {
  using contracts::SpecialKind;
  auto sends = [&](const std::string& f) {
    return std::find(profile_fields.begin(), profile_fields.end(), f) != profile_fields.end();
  };
  SpecialShaping shaping;
  std::set<std::string> extra;
  for (const contracts::SpecialRequest& s : requests) {
    if (!SpecialRequestApplies(s, contractor_id, purpose, today)) continue;
    SubscriberOverride& o = shaping.overrides[s.subscriber_id];
    bool changes = s.kind == SpecialKind::kExclude;
    o.excluded = o.excluded || changes;
    for (const auto& f : s.fields) {
      if (s.kind == SpecialKind::kWithhold) {
        o.withheld.insert(f);
        changes = true;
      }
      if (s.kind == SpecialKind::kExtend && !sends(f) && purpose != "statistics") {
        o.extended.insert(f);
        extra.insert(f);
        changes = true;
      }
    }
    if (changes) o.sources.push_back(s.id);
  }
  // Drop subscribers nothing applies to, so the projector's map stays small.
  for (auto it = shaping.overrides.begin(); it != shaping.overrides.end();) {
    it = it->second.sources.empty() ? shaping.overrides.erase(it) : std::next(it);
  }
  for (const auto& info : Catalog()) {
    if (extra.count(std::string(info.id))) shaping.extra_fields.emplace_back(info.id);
  }
  return shaping;
}

}  // namespace itaku::policies
