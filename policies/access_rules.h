// Who may do what through the staff API (operator, privacy officer,
// auditor), and who may approve a proposal (the two-person rule). Pure: the
// command, the roles and the proposal are handed in.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "contracts/types.h"

namespace itaku::policies {

// What a staff API command needs.
enum class Access {
  kRead,     // every role: lists, shows, history, breach scope, the audit check
  kOperate,  // operators and privacy officers: the daily work
  kOfficer,  // privacy officers only: staff, decisions, withdrawing an NDA
  kApprove,  // deciding a proposal: see ApprovalRefusal
};
std::string_view ToString(Access access);  // "read", "operate", "officer", "approve"

// The access a staff API command ("contractor.add") needs; nullopt for a
// command the staff API does not serve (init, serve, fields).
std::optional<Access> CommandAccess(std::string_view command);
// Every command the staff API serves, in the order the README's matrix
// lists them.
const std::vector<std::string_view>& ApiCommands();

// Why `role` may not call a command needing `access`; empty when it may.
// Approval is allowed to every role here; ApprovalRefusal decides.
std::string AccessRefusal(std::string_view command, Access access, contracts::StaffRole role);

// Why `approver` may not approve or reject `proposal`; empty when they may.
// The proposer never decides their own proposal. A privacy officer other
// than the proposer may; while fewer than two privacy officers are
// registered (`officers`), any other registered staff member may, and
// `*small_office` is set so the record says so.
std::string ApprovalRefusal(const contracts::StaffMember& approver,
                            const contracts::Proposal& proposal, int officers, bool* small_office);

// A proposal waits this many days for its second person.
constexpr int kProposalDays = 7;

}  // namespace itaku::policies
