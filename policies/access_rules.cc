#include "policies/access_rules.h"

#include <utility>

#include "contracts/base/names.h"

namespace itaku::policies {
namespace {

using contracts::StaffRole;

// The authorisation matrix (README "Who may do what"): one row per command.
const std::vector<std::pair<std::string_view, Access>>& Matrix() {
  static const std::vector<std::pair<std::string_view, Access>> kMatrix = {
      {"contractor.list", Access::kRead},
      {"contractor.show", Access::kRead},
      {"contractor.add", Access::kOperate},
      {"contractor.update", Access::kOperate},
      {"contractor.probe", Access::kOperate},
      {"contractor.suspend", Access::kOperate},
      {"contractor.activate", Access::kOperate},
      {"contractor.terminate", Access::kOperate},
      {"nda.list", Access::kRead},
      {"nda.add", Access::kOperate},
      {"nda.withdraw", Access::kOfficer},
      {"contract.list", Access::kRead},
      {"contract.add", Access::kOperate},
      {"contract.withdraw", Access::kOfficer},
      {"contract.subcontractor", Access::kOfficer},
      {"disposal.list", Access::kRead},
      {"disposal.record", Access::kOperate},
      {"check.list", Access::kRead},
      {"check.record", Access::kOperate},
      {"register.export", Access::kRead},
      {"delivery.slip", Access::kRead},
      {"incident.list", Access::kRead},
      {"incident.show", Access::kRead},
      {"incident.open", Access::kOperate},
      {"incident.update", Access::kOperate},
      {"incident.publication", Access::kOfficer},
      {"incident.reported", Access::kOperate},
      {"incident.draft", Access::kRead},
      {"incident.notify", Access::kOperate},
      {"profile.list", Access::kRead},
      {"profile.show", Access::kRead},
      {"profile.import", Access::kOperate},
      {"deliver", Access::kOperate},
      {"delivery.show", Access::kRead},
      {"history", Access::kRead},
      {"breach-scope", Access::kRead},
      {"audit.verify", Access::kRead},
      {"audit.checkpoint", Access::kOperate},
      {"audit.events", Access::kRead},
      {"delivery.list", Access::kRead},
      {"media.list", Access::kRead},
      {"media.handover", Access::kOperate},
      {"media.returned", Access::kOperate},
      {"media.destroyed", Access::kOperate},
      {"media.cancel", Access::kOperate},
      {"paper.list", Access::kRead},
      {"paper.handover", Access::kOperate},
      {"paper.returned", Access::kOperate},
      {"paper.shredded", Access::kOperate},
      {"paper.cancel", Access::kOperate},
      {"portal.list", Access::kRead},
      {"portal.revoke", Access::kOperate},
      {"staff.list", Access::kRead},
      {"staff.add", Access::kOfficer},
      {"staff.remove", Access::kOfficer},
      {"staff.enrol-code", Access::kOfficer},
      {"keys.rotate-pseudonym", Access::kOfficer},
      {"special.list", Access::kRead},
      {"special.add", Access::kOperate},
      {"special.end", Access::kOperate},
      {"request.list", Access::kRead},
      {"request.show", Access::kRead},
      {"request.add", Access::kOperate},
      {"request.decide", Access::kOfficer},
      {"request.instruct", Access::kOperate},
      {"request.answer", Access::kOperate},
      {"request.close", Access::kOperate},
      {"request.notify", Access::kOperate},
      {"request.deadlines", Access::kRead},
      {"request.deadlines.set", Access::kOfficer},
      {"approval.list", Access::kRead},
      {"approval.show", Access::kRead},
      {"approval.approve", Access::kApprove},
      {"approval.reject", Access::kApprove},
      {"whoami", Access::kRead},
  };
  return kMatrix;
}

std::string Who(StaffRole role) {
  return role == StaffRole::kOperator ? "an operator" : "an auditor";
}

}  // namespace

std::string_view ToString(Access access) {
  constexpr std::string_view kNames[] = {"read", "operate", "officer", "approve"};
  return NameOf(kNames, access);
}

std::optional<Access> CommandAccess(std::string_view command) {
  for (const auto& [name, access] : Matrix()) {
    if (name == command) return access;
  }
  return std::nullopt;
}

const std::vector<std::string_view>& ApiCommands() {
  static const std::vector<std::string_view> kCommands = [] {
    std::vector<std::string_view> names;
    for (const auto& row : Matrix()) names.push_back(row.first);
    return names;
  }();
  return kCommands;
}

std::string AccessRefusal(std::string_view command, Access access, StaffRole role) {
  const std::string what = std::string(command) + " is not open to " + Who(role);
  switch (access) {
    case Access::kRead:
    case Access::kApprove:
      return "";
    case Access::kOperate:
      return role == StaffRole::kAuditor ? what + " (auditors read only)" : "";
    case Access::kOfficer:
      return role == StaffRole::kPrivacyOfficer ? "" : what + " (privacy officers only)";
  }
  return what;
}

std::string ApprovalRefusal(const contracts::StaffMember& approver, const contracts::Proposal& p,
                            int officers, bool* small_office) {
  *small_office = false;
  const std::string name = "proposal " + std::to_string(p.id);
  if (p.state != contracts::ProposalState::kPending) {
    return name + " is already " + std::string(contracts::ToString(p.state));
  }
  if (approver.name == p.proposed_by) {
    return name + " was proposed by " + approver.name +
           "; a second person decides it (two-person rule)";
  }
  if (approver.role == StaffRole::kPrivacyOfficer) return "";
  if (officers < 2) {
    *small_office = true;  // one officer or none: any other staff member
    return "";
  }
  return name + ": only a privacy officer other than the proposer decides it (" + approver.name +
         " is " + std::string(contracts::ToString(approver.role)) + ")";
}

}  // namespace itaku::policies
