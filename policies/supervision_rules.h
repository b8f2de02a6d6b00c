// Supervising contractors (policy 6 指示・監督, 4(3)): which contract covers
// a delivery, when a delivery's data is due for disposal, when a check is
// overdue. Pure functions: the records and "today" are handed in; every
// reason names its clause.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "contracts/base/date.h"
#include "contracts/types.h"

namespace itaku::policies {

// Why a contract as entered cannot be registered, or "" when it can: dates
// out of order, no purpose or an unknown one, no incident contact.
std::string ContractRefusal(const contracts::Contract& contract);

// The contract of `contractor` in force on `day` that covers `purpose` and
// runs longest; nullptr when none (withdrawn contracts cover nothing).
const contracts::Contract* CoveringContract(const std::vector<contracts::Contract>& contracts,
                                            const std::string& contractor,
                                            const std::string& purpose, const Date& day);

// The refusal when no contract covers the delivery, naming what is closest:
//   "contractor builder-b has no outsourcing contract in force on
//    2026-12-02 covering purpose billing (contract #2 covers installation)
//    (policy 6: 業務委託契約)"
std::string NoContractReason(const std::vector<contracts::Contract>& contracts,
                             const std::string& contractor, const std::string& purpose,
                             const Date& day);

// A delivery's delete-by day: its JST day plus the profile's retention.
Date DeleteBy(const Date& delivered_on, int retention_days);

// The latest check of a contractor (by checked_on, then id); nullptr when
// never checked.
const contracts::SupervisionCheck* LatestCheck(
    const std::vector<contracts::SupervisionCheck>& checks, const std::string& contractor);

// Why deliveries to `contractor` are blocked for its periodic check
// (configured: block_on_overdue_check), or "": never checked, or the next
// check was due more than `grace_days` before `today`.
std::string OverdueCheckReason(const std::vector<contracts::SupervisionCheck>& checks,
                               const std::string& contractor, const Date& today, int grace_days);

// Why deliveries are blocked for overdue disposals (configured:
// block_on_overdue_disposal): `overdue` is how many of the contractor's
// deliveries are past their delete-by day with no disposal recorded,
// `oldest_id`/`oldest_by` the one overdue longest.
std::string OverdueDisposalReason(const std::string& contractor, int overdue, int64_t oldest_id,
                                  const Date& oldest_by);

// Japanese words for documents: 裁断, 消去, 返却, 溶解; 禁止, 事前承認, 指定先のみ;
// 適合, 指摘あり, 不適合.
std::string JapaneseWord(contracts::DisposalMethod method);
std::string JapaneseWord(contracts::Reoutsourcing terms);
std::string JapaneseWord(contracts::CheckResult result);
// A method as staff type it: the English word or the Japanese one.
std::optional<contracts::DisposalMethod> ParseDisposalMethod(const std::string& word);

}  // namespace itaku::policies
