// Staff and their roles (operator, privacy officer, auditor), and the
// proposals that wait for a second person.
#include <pwd.h>

#include <filesystem>
#include <set>

#include "contracts/base/date.h"
#include "contracts/base/layout.h"
#include "contracts/base/strings.h"
#include "gateway/console/credentials.h"
#include "gateway/detail/command_util.h"
#include "gateway/records_json.h"
#include "gateway/requests.h"
#include "policies/access_rules.h"
#include "policies/registry_rules.h"

namespace itaku::gateway {

using contracts::Proposal;
using contracts::ProposalState;
using contracts::StaffRole;
using Json = nlohmann::json;

namespace {

// The OS account `os_user` names, as the kernel will report it. `name` is
// how the staff member appears everywhere (lists, the audit trail, the
// console's sign-in): printable text, policies::DisplayNameRefusal.
Result<contracts::StaffMember> OsAccount(const std::string& name, const std::string& os_user) {
  if (std::string why = policies::DisplayNameRefusal("staff name", name); !why.empty()) {
    return Status::Error(why);
  }
  const passwd* pw = os_user.empty() ? nullptr : ::getpwnam(os_user.c_str());
  if (pw == nullptr) {
    return Status::NotFound("unknown OS user " + os_user + " (create the account first)");
  }
  contracts::StaffMember m;
  m.name = name;
  m.os_user = pw->pw_name;
  m.os_uid = pw->pw_uid;
  return m;
}

Status AddAndAudit(Context& ctx, const contracts::StaffMember& m) {
  return ctx.store->Transaction([&]() -> Status {
    if (Status a = ctx.store->AddStaff(m); !a.ok()) return a;
    Json details = ToJson(m);
    if (ctx.approval) details["proposal"] = ctx.approval->proposal_id;
    return ctx.audit->Append(ctx.actor, "staff.add", "staff:" + m.name, details);
  });
}

}  // namespace

Result<Output> InitOfficer(Context& ctx, const std::string& os_user) {
  auto staff = ctx.store->ListStaff();
  if (!staff.ok()) return staff.status();
  if (!staff->empty()) {
    return Status::Conflict(
        "staff are registered already; privacy officers manage them through "
        "the daemon (itaku staff add)");
  }
  auto m = OsAccount(os_user, os_user);
  if (!m.ok()) return m.status();
  m->role = StaffRole::kPrivacyOfficer;
  m->added_by = ctx.actor;
  m->added_at = ctx.clock->NowUtc();
  if (Status s = AddAndAudit(ctx, *m); !s.ok()) return s;
  return Output{ToJson(*m), "registered " + m->name + " (OS user " + m->os_user + ", uid " +
                                std::to_string(m->os_uid) + ") as the first privacy officer"};
}

Result<Output> StaffAdd(Context& ctx, const std::string& name, const std::string& os_user,
                        const std::string& role) {
  std::optional<StaffRole> parsed = contracts::Parse<StaffRole>(role);
  if (!parsed) {
    return Result<Output>::Error("unknown role " + role +
                                 " (operator, privacy-officer or auditor)");
  }
  auto m = OsAccount(name, os_user);
  if (!m.ok()) return m.status();
  m->role = *parsed;
  if (ctx.staff && ctx.staff->os_uid == m->os_uid) {
    return Status::Refused("nobody grants a role to themselves (" + m->os_user + " is " +
                           ctx.staff->name + ")");
  }
  if (*parsed == StaffRole::kPrivacyOfficer) {
    // A privacy officer manages staff and approves widening changes: a
    // second person agrees to every new one.
    const Json changes = Json::array({{{"item", "staff " + name},
                                       {"from", nullptr},
                                       {"to", role + " (OS user " + m->os_user + ")"}}});
    if (auto proposed = ProposeIfWidening(ctx, "staff:" + name, changes)) return *proposed;
  }
  m->added_by = ctx.actor;
  m->added_at = ctx.clock->NowUtc();
  if (Status s = AddAndAudit(ctx, *m); !s.ok()) return s;
  return Output{ToJson(*m), "added " + name + " (OS user " + m->os_user + ") as " + role};
}

Result<Output> StaffList(Context& ctx) {
  return Listing(
      ctx.store->ListStaff(),
      [](const contracts::StaffMember& m) {
        return m.name + "\t" + std::string(contracts::ToString(m.role)) + "\t" + m.os_user +
               "\tadded " + ShowJst(m.added_at) + " by " + m.added_by;
      },
      "no staff registered");
}

Result<Output> StaffRemove(Context& ctx, const std::string& name) {
  Status s = ctx.store->Transaction([&]() -> Status {
    auto staff = ctx.store->ListStaff();
    if (!staff.ok()) return staff.status();
    int officers = 0;
    bool removing_officer = false;
    for (const auto& m : *staff) {
      if (m.role != StaffRole::kPrivacyOfficer) continue;
      ++officers;
      removing_officer = removing_officer || m.name == name;
    }
    if (removing_officer && officers == 1) {
      return Status::Refused(name + " is the only privacy officer; register another first");
    }
    if (Status r = ctx.store->RemoveStaff(name); !r.ok()) return r;
    return ctx.audit->Append(ctx.actor, "staff.remove", "staff:" + name, Json::object());
  });
  if (!s.ok()) return s;
  return Output{{{"name", name}, {"removed", true}}, "removed " + name};
}

Result<Output> StaffEnrolCode(Context& ctx, const std::string& name) {
  auto staff = ctx.store->FindStaff(name);
  if (!staff.ok()) return staff.status();
  if (!staff.value()) return Status::NotFound("unknown staff member " + name);
  auto code = console::NewEnrolmentCode();
  if (!code.ok()) return code.status();
  auto found = ctx.store->FindCredential(name);
  if (!found.ok()) return found.status();
  contracts::StaffCredential c = found.value().value_or(contracts::StaffCredential{});
  c.staff = name;
  c.enrol_code_hash = console::EnrolmentCodeHash(code.value());
  c.enrol_expires_at = FormatUtc(ctx.clock->Now() + std::chrono::hours(kEnrolmentHours));
  c.enrol_issued_by = ctx.actor;
  c.pending_totp_sealed.clear();
  Status s = ctx.store->Transaction([&]() -> Status {
    if (Status put = ctx.store->PutCredential(c); !put.ok()) return put;
    return ctx.audit->Append(ctx.actor, "staff.enrol-code", "staff:" + name,
                             {{"expires_at", c.enrol_expires_at}});
  });
  if (!s.ok()) return s;
  return Output{{{"staff", name}, {"code", code.value()}, {"expires_at", c.enrol_expires_at}},
                "enrolment code for " + name + ": " + code.value() + " (one use, until " +
                    ShowJst(c.enrol_expires_at) +
                    "); hand it over in person. They open the console's /enrol page, enter "
                    "their staff name and this code, and set their password and authenticator "
                    "app (TOTP)."};
}

// ---- Proposals (two-person rule) -------------------------------------------------

std::optional<Result<Output>> ProposeIfWidening(Context& ctx, const std::string& subject,
                                                const Json& changes) {
  // An approved proposal carries out exactly what was approved, even when
  // what is there now makes it narrower or no change at all.
  if (ctx.approval) {
    if (ctx.approval->changes != changes) {
      return Result<Output>(Status::Conflict(
          "proposal " + std::to_string(ctx.approval->proposal_id) + ": " + subject +
          " has changed since it was proposed; nothing was applied (propose it again)"));
    }
    return std::nullopt;
  }
  if (changes.empty() || !ctx.propose) return std::nullopt;
  return ctx.propose(subject, changes);
}

namespace {

std::string ChangeLine(const Json& c) {
  auto word = [](const Json& v) {
    return v.is_null() ? std::string("(none)") : v.is_string() ? v.get<std::string>() : v.dump();
  };
  return "  " + c.value("item", std::string()) + ": " + word(c.value("from", Json())) + " -> " +
         word(c.value("to", Json()));
}

std::string Summary(const Proposal& p) {
  return std::to_string(p.id) + "\t" + std::string(contracts::ToString(p.state)) + "\t" +
         p.command + "\t" + p.subject + "\tby " + p.proposed_by + " " + ShowJst(p.proposed_at) +
         (p.state == ProposalState::kPending ? "\texpires " + ShowJst(p.expires_at)
                                             : "\t" + p.decided_by + " " + ShowJst(p.decided_at));
}

Result<Proposal> LoadProposal(Context& ctx, int64_t id) {
  auto p = ctx.store->FindProposal(id);
  if (!p.ok()) return p.status();
  if (!p.value()) return Status::NotFound("unknown proposal " + std::to_string(id));
  return *p.value();
}

// A decided proposal's files (uploads kept while it waited, "kept:FOLDER/…"
// in its arguments) are not kept any longer: they may hold a key.
void RemoveKeptFiles(Context& ctx, const Proposal& p) {
  const Json args = Json::parse(p.args, nullptr, false);
  if (!args.is_object() || !args.contains("args")) return;
  std::set<std::string> folders;
  for (const auto& entry : args["args"]) {
    if (!entry.is_array() || entry.size() != 2 || !entry[1].is_array()) continue;
    for (const auto& v : entry[1]) {
      const std::string value = v.is_string() ? v.get<std::string>() : "";
      if (value.rfind("kept:", 0) != 0) continue;
      const std::string folder = value.substr(5, value.find('/', 5) - 5);
      if (!folder.empty() && folder.find("..") == std::string::npos) folders.insert(folder);
    }
  }
  for (const auto& folder : folders) {
    std::error_code ec;
    std::filesystem::remove_all(StoreLayout(ctx.db_path).Root() + "/proposals/" + folder, ec);
  }
}

// `by` decides: the staff member, or "itaku" for an expiry.
Status Decide(Context& ctx, Proposal p, ProposalState state, const std::string& note,
              const std::string& by) {
  p.state = state;
  p.decided_by = by;
  p.decided_at = ctx.clock->NowUtc();
  p.note = note;
  Status s = ctx.store->Transaction([&]() -> Status {
    if (Status d = ctx.store->DecideProposal(p); !d.ok()) return d;
    Json details = {{"command", p.command}, {"note", note}};
    return ctx.audit->Append(by, "proposal." + std::string(contracts::ToString(state)),
                             "proposal:" + std::to_string(p.id), details);
  });
  if (s.ok()) RemoveKeptFiles(ctx, p);
  return s;
}

}  // namespace

Result<Output> Whoami(Context& ctx) {
  if (!ctx.staff) return Status::NotFound("not acting as registered staff");
  return Output{ToJson(*ctx.staff), ctx.staff->name + " (" +
                                        std::string(contracts::ToString(ctx.staff->role)) +
                                        ", OS user " + ctx.staff->os_user + ")"};
}

Result<Output> ApprovalList(Context& ctx, bool all) {
  return Listing(ctx.store->ListProposals(!all), Summary,
                 all ? "no proposals" : "no proposals waiting for approval");
}

Result<Output> ApprovalShow(Context& ctx, int64_t id) {
  auto p = LoadProposal(ctx, id);
  if (!p.ok()) return p.status();
  std::string text = Summary(*p) + "\n" + p->subject + " changes:";
  const Json changes = Json::parse(p->changes, nullptr, false);
  if (changes.is_array()) {
    for (const auto& c : changes) text += "\n" + ChangeLine(c);
  }
  if (!p->note.empty()) text += "\nnote: " + p->note;
  return Output{ToJson(*p), text};
}

Result<Output> ApprovalDecide(Context& ctx, int64_t id, bool approve, const std::string& note) {
  auto p = LoadProposal(ctx, id);
  if (!p.ok()) return p.status();
  const std::string name = "proposal " + std::to_string(id);
  if (p->state == ProposalState::kPending && ctx.clock->NowUtc() > p->expires_at) {
    Status expired = Decide(ctx, *p, ProposalState::kExpired,
                            "not decided within " + std::to_string(policies::kProposalDays) +
                                " days (found by " + ctx.actor + ")",
                            "itaku");
    if (!expired.ok()) return expired;
    return Status::Conflict(name + " expired at " + ShowJst(p->expires_at) + "; propose it again");
  }
  if (!ctx.staff) return Status::Refused(name + ": only registered staff decide proposals");
  auto staff = ctx.store->ListStaff();
  if (!staff.ok()) return staff.status();
  int officers = 0;
  for (const auto& m : *staff) officers += m.role == StaffRole::kPrivacyOfficer ? 1 : 0;
  bool small_office = false;
  if (std::string why = policies::ApprovalRefusal(*ctx.staff, *p, officers, &small_office);
      !why.empty()) {
    return p->state == ProposalState::kPending ? Status::Refused(why) : Status::Conflict(why);
  }
  std::string recorded = note;
  if (small_office) {
    recorded += std::string(recorded.empty() ? "" : "; ") +
                "decided by a staff member who is not a privacy officer: fewer than two "
                "privacy officers are registered";
  }
  if (!approve) {
    if (Status s = Decide(ctx, *p, ProposalState::kRejected, recorded, ctx.actor); !s.ok()) {
      return s;
    }
    return Output{{{"proposal", id}, {"state", "rejected"}}, "rejected " + name};
  }
  if (!ctx.carry_out) return Status::Internal(name + ": nothing can carry out a proposal here");
  auto done = ctx.carry_out(*p);
  if (!done.ok()) return done.status();
  if (Status s = Decide(ctx, *p, ProposalState::kApproved, recorded, ctx.actor); !s.ok()) {
    return s;
  }
  Output out = done.value();
  out.json = {{"proposal", id}, {"state", "approved"}, {"result", out.json}};
  out.text = "approved " + name + (small_office ? " (small office: " + recorded + ")" : "") + "\n" +
             out.text;
  return out;
}

}  // namespace itaku::gateway
