#include "policies/supervision_rules.h"

#include <algorithm>

#include "contracts/base/strings.h"
#include "policies/catalog.h"

namespace itaku::policies {
namespace {

bool Covers(const contracts::Contract& c, const std::string& purpose) {
  return std::find(c.purposes.begin(), c.purposes.end(), purpose) != c.purposes.end();
}

}  // namespace

std::string ContractRefusal(const contracts::Contract& c) {
  const std::string who = "contract for " + c.contractor_id + ": ";
  if (c.in_force_until < c.in_force_from) {
    return who + "--until " + FormatDate(c.in_force_until) + " is before --from " +
           FormatDate(c.in_force_from);
  }
  if (c.purposes.empty()) return who + "at least one --purpose is required (policy 2(3))";
  for (const auto& p : c.purposes) {
    if (!FindPurpose(p)) {
      std::vector<std::string> known;
      for (const auto& info : Purposes()) known.emplace_back(info.id);
      return who + "unknown purpose " + p + " (known: " + Join(known) + "; policy 2(3))";
    }
  }
  if (c.incident_contact.empty()) {
    return who + "--incident-contact is required (who answers for a leak; policy 7)";
  }
  return "";
}

const contracts::Contract* CoveringContract(const std::vector<contracts::Contract>& contracts,
                                            const std::string& contractor,
                                            const std::string& purpose, const Date& day) {
  const contracts::Contract* best = nullptr;
  for (const auto& c : contracts) {
    if (c.contractor_id != contractor || !c.withdrawn_at.empty()) continue;
    if (day < c.in_force_from || c.in_force_until < day || !Covers(c, purpose)) continue;
    if (!best || c.in_force_until > best->in_force_until) best = &c;
  }
  return best;
}

std::string NoContractReason(const std::vector<contracts::Contract>& contracts,
                             const std::string& contractor, const std::string& purpose,
                             const Date& day) {
  std::string why = "contractor " + contractor + " has no outsourcing contract in force on " +
                    FormatDate(day) + " covering purpose " + purpose;
  const contracts::Contract* in_force_other = nullptr;
  const contracts::Contract* ended = nullptr;
  const contracts::Contract* future = nullptr;
  for (const auto& c : contracts) {
    if (c.contractor_id != contractor || !c.withdrawn_at.empty()) continue;
    if (day < c.in_force_from) {
      if (Covers(c, purpose)) future = &c;
    } else if (c.in_force_until < day) {
      if (Covers(c, purpose) && (!ended || c.in_force_until > ended->in_force_until)) ended = &c;
    } else {
      in_force_other = &c;
    }
  }
  if (ended) {
    why += " (contract #" + std::to_string(ended->id) + " ended " +
           FormatDate(ended->in_force_until) + ")";
  } else if (future) {
    why += " (contract #" + std::to_string(future->id) + " starts " +
           FormatDate(future->in_force_from) + ")";
  } else if (in_force_other) {
    why += " (contract #" + std::to_string(in_force_other->id) + " covers " +
           Join(in_force_other->purposes) + ")";
  }
  return why + " (policy 6: 業務委託契約)";
}

Date DeleteBy(const Date& delivered_on, int retention_days) {
  return AddDays(delivered_on, retention_days);
}

const contracts::SupervisionCheck* LatestCheck(
    const std::vector<contracts::SupervisionCheck>& checks, const std::string& contractor) {
  const contracts::SupervisionCheck* latest = nullptr;
  for (const auto& c : checks) {
    if (c.contractor_id != contractor) continue;
    if (!latest || c.checked_on > latest->checked_on ||
        (c.checked_on == latest->checked_on && c.id > latest->id)) {
      latest = &c;
    }
  }
  return latest;
}

std::string OverdueCheckReason(const std::vector<contracts::SupervisionCheck>& checks,
                               const std::string& contractor, const Date& today, int grace_days) {
  const contracts::SupervisionCheck* latest = LatestCheck(checks, contractor);
  if (!latest) {
    return "contractor " + contractor +
           " has never been checked ([supervision] block_on_overdue_check; policy 6: 指示・監督)";
  }
  const Date limit = AddDays(latest->next_due, grace_days);
  if (!(limit < today)) return "";
  return "contractor " + contractor + ": its periodic check was due " +
         FormatDate(latest->next_due) + " and is overdue by more than " +
         std::to_string(grace_days) +
         " days ([supervision] block_on_overdue_check; policy 6: " + "指示・監督)";
}

std::string OverdueDisposalReason(const std::string& contractor, int overdue, int64_t oldest_id,
                                  const Date& oldest_by) {
  if (overdue <= 0) return "";
  return "contractor " + contractor + " has " + std::to_string(overdue) +
         (overdue == 1 ? " delivery" : " deliveries") +
         " past its delete-by day with no return or disposal recorded (delivery " +
         std::to_string(oldest_id) + ", delete by " + FormatDate(oldest_by) +
         ") ([supervision] block_on_overdue_disposal; policy 6: 指示・監督)";
}

std::string JapaneseWord(contracts::DisposalMethod method) {
  switch (method) {
    case contracts::DisposalMethod::kShredded:
      return "裁断";
    case contracts::DisposalMethod::kErased:
      return "消去";
    case contracts::DisposalMethod::kReturned:
      return "返却";
    case contracts::DisposalMethod::kDissolved:
      return "溶解";
  }
  return "";
}

std::string JapaneseWord(contracts::Reoutsourcing terms) {
  switch (terms) {
    case contracts::Reoutsourcing::kForbidden:
      return "禁止";
    case contracts::Reoutsourcing::kApproval:
      return "事前の書面承認を要する";
    case contracts::Reoutsourcing::kNamed:
      return "指定の再委託先のみ";
  }
  return "";
}

std::string JapaneseWord(contracts::CheckResult result) {
  switch (result) {
    case contracts::CheckResult::kPass:
      return "適合";
    case contracts::CheckResult::kFindings:
      return "指摘事項あり";
    case contracts::CheckResult::kFail:
      return "不適合";
  }
  return "";
}

std::optional<contracts::DisposalMethod> ParseDisposalMethod(const std::string& word) {
  if (auto m = contracts::Parse<contracts::DisposalMethod>(word)) return m;
  for (auto m : {contracts::DisposalMethod::kShredded, contracts::DisposalMethod::kErased,
                 contracts::DisposalMethod::kReturned, contracts::DisposalMethod::kDissolved}) {
    if (JapaneseWord(m) == word) return m;
  }
  return std::nullopt;
}

}  // namespace itaku::policies
