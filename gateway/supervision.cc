#include "gateway/supervision.h"

#include <algorithm>
#include <filesystem>
#include <map>
#include <set>

#include "contracts/base/atomic_file.h"
#include "contracts/base/strings.h"
#include "contracts/config.h"
#include "contracts/record_json.h"
#include "gateway/audit.h"
#include "gateway/clock.h"
#include "gateway/detail/command_util.h"
#include "gateway/detail/supervision_detail.h"
#include "policies/access_rules.h"
#include "policies/catalog.h"
#include "policies/registry_rules.h"
#include "policies/request_rules.h"
#include "policies/supervision_rules.h"

namespace itaku::gateway {
namespace fs = std::filesystem;
using contracts::DeliveryOutcome;
using Json = nlohmann::json;

Result<SupervisionSettings> LoadSupervisionSettings(const Context& ctx) {
  auto file = contracts::Config::Load(ctx.daemon_config);
  if (!file.ok()) return file.status();
  contracts::Config& config = file.value();
  SupervisionSettings s;
  s.block_on_overdue_disposal =
      config.Bool("supervision", "block_on_overdue_disposal", s.block_on_overdue_disposal);
  s.block_on_overdue_check =
      config.Bool("supervision", "block_on_overdue_check", s.block_on_overdue_check);
  s.check_grace_days =
      static_cast<int>(config.Int("supervision", "check_grace_days", s.check_grace_days));
  if (!config.status().ok()) return config.status();
  if (s.check_grace_days < 0) {
    return Status::Error("[supervision] check_grace_days must not be negative");
  }
  return s;
}

// ---- Contracts --------------------------------------------------------------

Result<Output> ContractAdd(Context& ctx, const ContractArgs& a) {
  auto c = RequireContractor(ctx, a.contractor);
  if (!c.ok()) return c.status();
  contracts::Contract k;
  k.contractor_id = a.contractor;
  auto signed_on = ParseDateArg("--signed", a.signed_on);
  if (!signed_on.ok()) return signed_on.status();
  auto from = ParseDateArg("--from", a.from);
  if (!from.ok()) return from.status();
  auto until = ParseDateArg("--until", a.until);
  if (!until.ok()) return until.status();
  k.signed_on = signed_on.value();
  k.in_force_from = from.value();
  k.in_force_until = until.value();
  for (const auto& p : a.purposes) {
    if (std::find(k.purposes.begin(), k.purposes.end(), p) == k.purposes.end()) {
      k.purposes.push_back(p);
    }
  }
  k.incident_contact = a.incident_contact;
  auto terms = contracts::Parse<contracts::Reoutsourcing>(a.reoutsourcing);
  if (!terms) {
    return Status::Error("contract for " + a.contractor +
                         ": --reoutsourcing must be forbidden, approval or named");
  }
  k.reoutsourcing = *terms;
  if (std::string why = policies::ContractRefusal(k); !why.empty()) return Status::Refused(why);
  if (std::string why =
          policies::DisplayNameRefusal("incident contact of " + a.contractor, a.incident_contact);
      !why.empty()) {
    return Status::Error(why);
  }
  auto doc = KeepDocument(ctx, a.document, "contract for " + a.contractor + ": document");
  if (!doc.ok()) return doc.status();
  k.document_sha256 = doc->sha256;
  k.document_path = doc->path;
  k.registered_by = ctx.actor;
  k.registered_at = ctx.clock->NowUtc();
  Status s = ctx.store->Transaction([&]() -> Status {
    auto id = ctx.store->AddContract(k);
    if (!id.ok()) return id.status();
    k.id = id.value();
    Json details = contracts::ToJson(k);
    details["id"] = k.id;
    return ctx.audit->Append(ctx.actor, "contract.add", "contract:" + std::to_string(k.id),
                             details);
  });
  if (!s.ok()) return s;
  Json j = contracts::ToJson(k);
  j["id"] = k.id;
  return Output{j, "registered contract #" + std::to_string(k.id) + " for " + a.contractor +
                       ", in force " + a.from + " to " + a.until + ", purposes " +
                       Join(k.purposes) + ", re-outsourcing " +
                       std::string(contracts::ToString(k.reoutsourcing)) + ", document sha256 " +
                       k.document_sha256};
}

Result<Output> ContractList(Context& ctx, const std::optional<std::string>& contractor) {
  auto contracts = ctx.store->ListContracts(contractor);
  if (!contracts.ok()) return contracts.status();
  auto subs = ctx.store->ListSubcontractors(std::nullopt);
  if (!subs.ok()) return subs.status();
  const Date today = ctx.clock->Today();
  Output out{Json::array(), ""};
  for (const auto& k : contracts.value()) {
    Json j = contracts::ToJson(k);
    j["id"] = k.id;
    const bool withdrawn = !k.withdrawn_at.empty();
    const bool in_force = !withdrawn && k.in_force_from <= today && today <= k.in_force_until;
    j["in_force"] = in_force;
    j["subcontractors"] = Json::array();
    std::vector<std::string> names;
    for (const auto& s : subs.value()) {
      if (s.contract_id != k.id) continue;
      Json sj = contracts::ToJson(s);
      sj["id"] = s.id;
      j["subcontractors"].push_back(sj);
      names.push_back(s.name);
    }
    out.json.push_back(j);
    std::string state =
        in_force ? "in force" : (today < k.in_force_from ? "not yet in force" : "ended");
    if (withdrawn) state = "withdrawn: " + k.withdrawn_reason;
    out.text += (out.text.empty() ? "" : "\n") + ("#" + std::to_string(k.id)) + "\t" +
                k.contractor_id + "\t" + FormatDate(k.in_force_from) + " to " +
                FormatDate(k.in_force_until) + "\t" + Join(k.purposes) + "\tre-outsourcing " +
                std::string(contracts::ToString(k.reoutsourcing)) +
                (names.empty() ? "" : " (" + Join(names) + ")") + "\t" + state;
  }
  if (out.text.empty()) out.text = "no contracts";
  return out;
}

Result<Output> ContractWithdraw(Context& ctx, int64_t id, const std::string& reason) {
  auto role = ActorRole(ctx);
  if (!role.ok()) return role.status();
  if (role.value() != contracts::StaffRole::kPrivacyOfficer) {
    return Status::Refused("only a privacy officer withdraws a contract (" + ctx.actor + " is " +
                           policies::RoleName(role.value()) + ")");
  }
  if (reason.empty()) return Status::Error("contract withdraw needs --reason");
  const std::string subject = "contract:" + std::to_string(id);
  std::string contractor;
  Status s = ctx.store->Transaction([&]() -> Status {
    if (Status w = ctx.store->WithdrawContract(id, ctx.clock->NowUtc(), ctx.actor, reason);
        !w.ok()) {
      return w;
    }
    auto all = ctx.store->ListContracts(std::nullopt);
    if (!all.ok()) return all.status();
    for (const auto& k : all.value()) {
      if (k.id == id) contractor = k.contractor_id;
    }
    return ctx.audit->Append(
        ctx.actor, "contract.withdraw", subject,
        {{"corrects", subject}, {"contractor", contractor}, {"reason", reason}});
  });
  if (!s.ok()) return s;
  return Output{{{"id", id}, {"contractor", contractor}, {"reason", reason}},
                "contract " + std::to_string(id) + " of " + contractor + " withdrawn: " + reason};
}

Result<Output> SubcontractorAdd(Context& ctx, const SubcontractorArgs& a) {
  auto all = ctx.store->ListContracts(std::nullopt);
  if (!all.ok()) return all.status();
  const contracts::Contract* k = nullptr;
  for (const auto& c : all.value()) {
    if (c.id == a.contract_id) k = &c;
  }
  const std::string name = "contract " + std::to_string(a.contract_id);
  if (!k) return Status::NotFound("unknown " + name);
  if (k->reoutsourcing != contracts::Reoutsourcing::kNamed) {
    return Status::Refused(name + " of " + k->contractor_id + " allows re-outsourcing " +
                           std::string(contracts::ToString(k->reoutsourcing)) +
                           ", not to named subcontractors (policy 6: 再委託)");
  }
  if (!k->withdrawn_at.empty()) return Status::Refused(name + " was withdrawn");
  if (std::string why = policies::DisplayNameRefusal("subcontractor name", a.name); !why.empty()) {
    return Status::Error(why);
  }

  contracts::Subcontractor s;
  s.contract_id = a.contract_id;
  s.name = a.name;
  s.work = a.work;
  auto from = ParseDateArg("--nda-from", a.nda_from);
  if (!from.ok()) return from.status();
  auto until = ParseDateArg("--nda-until", a.nda_until);
  if (!until.ok()) return until.status();
  if (until.value() < from.value()) {
    return Status::Error(name + ": --nda-until " + a.nda_until + " is before --nda-from " +
                         a.nda_from);
  }
  s.nda_from = from.value();
  s.nda_until = until.value();
  auto doc = KeepDocument(ctx, a.nda, name + ": subcontractor's NDA");
  if (!doc.ok()) return doc.status();
  s.nda_sha256 = doc->sha256;
  s.nda_path = doc->path;
  s.registered_by = ctx.actor;
  s.registered_at = ctx.clock->NowUtc();
  Status st = ctx.store->Transaction([&]() -> Status {
    auto id = ctx.store->AddSubcontractor(s);
    if (!id.ok()) return id.status();
    s.id = id.value();
    Json details = contracts::ToJson(s);
    details["id"] = s.id;
    details["contractor"] = k->contractor_id;
    return ctx.audit->Append(ctx.actor, "contract.subcontractor",
                             "contract:" + std::to_string(a.contract_id), details);
  });
  if (!st.ok()) return st;
  Json j = contracts::ToJson(s);
  j["id"] = s.id;
  return Output{j, "named subcontractor #" + std::to_string(s.id) + " " + s.name + " under " +
                       name + " of " + k->contractor_id + ", its NDA in force " + a.nda_from +
                       " to " + a.nda_until};
}

// ---- Disposals --------------------------------------------------------------

Result<std::vector<DisposalTask>> DisposalTasks(Context& ctx,
                                                const std::optional<std::string>& contractor,
                                                bool include_closed) {
  auto delivered = ctx.store->ListDeliveriesWithOutcome(
      {DeliveryOutcome::kDelivered, DeliveryOutcome::kSending});
  if (!delivered.ok()) return delivered.status();
  auto disposals = ctx.store->ListDisposals();
  if (!disposals.ok()) return disposals.status();
  std::map<int64_t, contracts::Disposal> closed;
  for (auto& d : disposals.value()) closed[d.delivery_id] = d;
  std::map<std::pair<std::string, int>, int> retention;  // by profile version, read once
  const Date today = ctx.clock->Today();
  std::vector<DisposalTask> out;
  for (const auto& d : delivered.value()) {
    if (contractor && d.contractor_id != *contractor) continue;
    const auto key = std::make_pair(d.profile_id, d.profile_version);
    if (!retention.count(key)) {
      auto p = ctx.store->FindProfile(key.first, key.second);
      if (!p.ok()) return p.status();
      retention[key] = p.value() ? p.value()->retention_days : 0;
    }
    auto day = JapanDayOf(d.ordered_at);
    if (!day) continue;
    DisposalTask t;
    t.delivery = d;
    t.delete_by = policies::DeleteBy(*day, retention[key]);
    if (auto it = closed.find(d.id); it != closed.end()) t.disposal = it->second;
    if (!t.disposal) {
      // Media and paper that came back or were destroyed with a certificate
      // are proven gone by their media record.
      if (d.transport == contracts::Transport::kMedia ||
          d.transport == contracts::Transport::kPaper) {
        auto m = ctx.store->FindMediaRecord(d.id);
        if (!m.ok()) return m.status();
        if (m.value() && m.value()->state == contracts::MediaState::kCancelled) continue;
        if (m.value() && !m.value()->certificate_sha256.empty() &&
            (m.value()->state == contracts::MediaState::kReturned ||
             m.value()->state == contracts::MediaState::kDestroyed)) {
          t.closed_by_media = true;
        }
      }
    }
    t.due = !(today < t.delete_by);
    t.overdue = t.delete_by < today;
    const bool open = !t.disposal && !t.closed_by_media;
    if (!include_closed && (!open || !t.due)) continue;
    if (!open) t.due = t.overdue = false;
    out.push_back(std::move(t));
  }
  return out;
}

namespace {

Json TaskJson(const DisposalTask& t) {
  Json j = {{"delivery", t.delivery.id},
            {"contractor", t.delivery.contractor_id},
            {"profile", t.delivery.profile_id},
            {"transport", contracts::ToString(t.delivery.transport)},
            {"delivered_at", t.delivery.ordered_at},
            {"record_count", t.delivery.record_count},
            {"delete_by", FormatDate(t.delete_by)},
            {"overdue", t.overdue},
            {"state", t.disposal || t.closed_by_media ? "closed" : "open"}};
  if (t.disposal) j["disposal"] = contracts::ToJson(*t.disposal);
  return j;
}

}  // namespace

Result<Output> DisposalList(Context& ctx, const std::optional<std::string>& contractor,
                            bool overdue_only) {
  if (contractor) {
    if (auto c = RequireContractor(ctx, *contractor); !c.ok()) return c.status();
  }
  auto tasks = DisposalTasks(ctx, contractor, false);
  if (!tasks.ok()) return tasks.status();
  Output out{Json::array(), ""};
  for (const auto& t : tasks.value()) {
    if (overdue_only && !t.overdue) continue;
    out.json.push_back(TaskJson(t));
    out.text += (out.text.empty() ? "" : "\n") + std::to_string(t.delivery.id) + "\t" +
                t.delivery.contractor_id + "\t" +
                std::string(contracts::ToString(t.delivery.transport)) + "\t" +
                std::to_string(t.delivery.record_count) + " records\tdelete by " +
                FormatDate(t.delete_by) + (t.overdue ? "\tOVERDUE" : "\tdue");
  }
  if (out.text.empty()) {
    out.text = overdue_only ? "no disposal overdue" : "no disposal due";
  }
  return out;
}

Result<Output> DisposalRecord(Context& ctx, const DisposalInput& in) {
  const std::string name = "delivery " + std::to_string(in.delivery_id);
  auto method = policies::ParseDisposalMethod(in.method);
  if (!method) {
    return Status::Error(name + ": --method must be shredded, erased, returned or dissolved (" +
                         "裁断, 消去, 返却, 溶解)");
  }
  auto on = ParseDateArg("--on", in.disposed_on);
  if (!on.ok()) return on.status();
  auto found = ctx.store->FindDelivery(in.delivery_id);
  if (!found.ok()) return found.status();
  // The portal does not reveal another contractor's deliveries.
  if (!found.value() ||
      (in.portal_contractor && found.value()->contractor_id != *in.portal_contractor)) {
    return Status::NotFound("unknown " + name);
  }
  const contracts::DeliveryRecord& d = *found.value();
  if (d.outcome != DeliveryOutcome::kDelivered && d.outcome != DeliveryOutcome::kSending) {
    return Status::Refused(name + " is " + std::string(contracts::ToString(d.outcome)) +
                           ": no data of it reached " + d.contractor_id);
  }
  const Date today = ctx.clock->Today();
  if (today < on.value()) {
    return Status::Error(name + ": --on " + in.disposed_on + " is after today (" +
                         FormatDate(today) + ")");
  }
  if (auto day = JapanDayOf(d.ordered_at); day && on.value() < *day) {
    return Status::Error(name + ": --on " + in.disposed_on + " is before the delivery (" +
                         FormatDate(*day) + ")");
  }
  // Already recorded: answered before the certificate is copied anywhere.
  auto recorded = ctx.store->ListDisposals();
  if (!recorded.ok()) return recorded.status();
  for (const auto& x : recorded.value()) {
    if (x.delivery_id == d.id) {
      return Status::Conflict("the disposal of " + name + " was already recorded on " +
                              ShowJst(x.recorded_at));
    }
  }
  const std::string label = in.certificate_name.empty() ? in.certificate_file : in.certificate_name;
  auto doc = KeepDocument(ctx, in.certificate_file, name + ": certificate",
                          fs::path(label).extension().string());
  if (!doc.ok()) return doc.status();
  contracts::Disposal rec;
  rec.delivery_id = d.id;
  rec.method = *method;
  rec.disposed_on = on.value();
  rec.certificate_sha256 = doc->sha256;
  rec.certificate_path = doc->path;
  rec.certificate_name = fs::path(label).filename().string();
  rec.via = in.portal_contractor ? "portal" : "staff";
  const std::string actor = in.portal_contractor ? *in.portal_contractor : ctx.actor;
  rec.recorded_by = actor;
  rec.recorded_at = ctx.clock->NowUtc();
  Status s = ctx.store->Transaction([&]() -> Status {
    if (Status a = ctx.store->AddDisposal(rec); !a.ok()) return a;
    return ctx.audit->Append(actor, "disposal.record", "delivery:" + std::to_string(d.id),
                             {{"contractor", d.contractor_id},
                              {"method", contracts::ToString(rec.method)},
                              {"disposed_on", FormatDate(rec.disposed_on)},
                              {"certificate_sha256", rec.certificate_sha256},
                              {"via", rec.via}});
  });
  if (!s.ok()) return s;
  Json j = contracts::ToJson(rec);
  j["delivery"] = d.id;
  j["contractor"] = d.contractor_id;
  return Output{j, name + " of " + d.contractor_id + ": " + policies::JapaneseWord(rec.method) +
                       " (" + std::string(contracts::ToString(rec.method)) + ") on " +
                       FormatDate(rec.disposed_on) + " recorded, certificate sha256 " +
                       rec.certificate_sha256};
}

// ---- Periodic checks ----------------------------------------------------------

Result<Output> CheckRecord(Context& ctx, const CheckArgs& a) {
  auto c = RequireContractor(ctx, a.contractor);
  if (!c.ok()) return c.status();
  contracts::SupervisionCheck k;
  k.contractor_id = a.contractor;
  auto on = ParseDateArg("--on", a.on);
  if (!on.ok()) return on.status();
  auto next = ParseDateArg("--next-due", a.next_due);
  if (!next.ok()) return next.status();
  const std::string who = "check of " + a.contractor + ": ";
  if (ctx.clock->Today() < on.value())
    return Status::Error(who + "--on " + a.on + " is after today");
  if (!(on.value() < next.value())) {
    return Status::Error(who + "--next-due " + a.next_due + " must be after --on " + a.on);
  }
  auto result = contracts::Parse<contracts::CheckResult>(a.result);
  if (!result) return Status::Error(who + "--result must be pass, findings or fail");
  if (*result != contracts::CheckResult::kPass && a.findings.empty()) {
    return Status::Error(who + "--findings is required when the result is " + a.result);
  }
  k.checked_on = on.value();
  k.next_due = next.value();
  k.result = *result;
  k.findings = a.findings;
  if (!a.evidence.empty()) {
    auto doc = KeepDocument(ctx, a.evidence, who + "evidence");
    if (!doc.ok()) return doc.status();
    k.evidence_sha256 = doc->sha256;
    k.evidence_path = doc->path;
  }
  k.recorded_by = ctx.actor;
  k.recorded_at = ctx.clock->NowUtc();
  Status s = ctx.store->Transaction([&]() -> Status {
    auto id = ctx.store->AddSupervisionCheck(k);
    if (!id.ok()) return id.status();
    k.id = id.value();
    // Findings are the operator's words about the contractor's handling;
    // kept in the register, not repeated in the audit trail.
    Json details = contracts::ToJson(k);
    details.erase("findings");
    details["id"] = k.id;
    return ctx.audit->Append(ctx.actor, "check.record", "contractor:" + a.contractor, details);
  });
  if (!s.ok()) return s;
  Json j = contracts::ToJson(k);
  j["id"] = k.id;
  return Output{j, "recorded check #" + std::to_string(k.id) + " of " + a.contractor + " on " +
                       a.on + ": " + policies::JapaneseWord(k.result) + " (" + a.result +
                       "), next check due " + a.next_due};
}

Result<Output> CheckList(Context& ctx, const std::optional<std::string>& contractor) {
  auto checks = ctx.store->ListSupervisionChecks(contractor);
  if (!checks.ok()) return checks.status();
  Output out{Json::array(), ""};
  for (const auto& k : checks.value()) {
    Json j = contracts::ToJson(k);
    j["id"] = k.id;
    out.json.push_back(j);
    out.text += (out.text.empty() ? "" : "\n") + ("#" + std::to_string(k.id)) + "\t" +
                k.contractor_id + "\t" + FormatDate(k.checked_on) + "\t" +
                std::string(contracts::ToString(k.result)) + "\tnext due " + FormatDate(k.next_due);
  }
  if (out.text.empty()) out.text = "no checks";
  return out;
}

// ---- The decision -------------------------------------------------------------

Result<SupervisionVerdict> JudgeSupervision(Context& ctx, const std::string& contractor,
                                            const std::string& purpose) {
  SupervisionVerdict v;
  const Date today = ctx.clock->Today();
  auto contracts = ctx.store->ListContracts(contractor);
  if (!contracts.ok()) return contracts.status();
  if (const contracts::Contract* k =
          policies::CoveringContract(contracts.value(), contractor, purpose, today)) {
    v.contract_id = k->id;
  } else {
    v.reasons.push_back(policies::NoContractReason(contracts.value(), contractor, purpose, today));
  }
  auto settings = LoadSupervisionSettings(ctx);
  if (!settings.ok()) return settings.status();
  if (settings->block_on_overdue_disposal) {
    auto tasks = DisposalTasks(ctx, contractor, false);
    if (!tasks.ok()) return tasks.status();
    int overdue = 0;
    const DisposalTask* oldest = nullptr;
    for (const auto& t : tasks.value()) {
      if (!t.overdue) continue;
      ++overdue;
      if (!oldest || t.delete_by < oldest->delete_by) oldest = &t;
    }
    if (oldest) {
      v.reasons.push_back(policies::OverdueDisposalReason(contractor, overdue, oldest->delivery.id,
                                                          oldest->delete_by));
    }
  }
  if (settings->block_on_overdue_check) {
    auto checks = ctx.store->ListSupervisionChecks(contractor);
    if (!checks.ok()) return checks.status();
    std::string why =
        policies::OverdueCheckReason(checks.value(), contractor, today, settings->check_grace_days);
    if (!why.empty()) v.reasons.push_back(why);
  }
  return v;
}

}  // namespace itaku::gateway
