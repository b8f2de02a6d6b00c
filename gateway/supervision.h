// Supervising contractors after the handover (policy 6 指示・監督, 4(3);
// APPI art. 25): the outsourcing contracts in the register, the return or
// disposal of every delivery's data, periodic checks, and the register as
// a document (委託先管理台帳).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "contracts/base/date.h"
#include "contracts/types.h"
#include "gateway/context.h"

namespace itaku::gateway {

// [supervision] in the daemon's config (serve --config).
struct SupervisionSettings {
  // Refuse deliveries to a contractor with a disposal past its delete-by day.
  bool block_on_overdue_disposal = false;
  // Refuse deliveries to a contractor whose periodic check is overdue by
  // more than check_grace_days (or that was never checked).
  bool block_on_overdue_check = false;
  int check_grace_days = 30;
  // Largest certificate a contractor may upload through the portal.
  int64_t max_certificate_bytes = 10 * 1024 * 1024;
};
Result<SupervisionSettings> LoadSupervisionSettings(const Context& ctx);

// `itaku contract add CONTRACTOR --document FILE --signed D --from D
// --until D --purpose P... --incident-contact TEXT --reoutsourcing
// forbidden|approval|named`.
struct ContractArgs {
  std::string contractor, signed_on, from, until, document, incident_contact, reoutsourcing;
  std::vector<std::string> purposes;
};
Result<Output> ContractAdd(Context& ctx, const ContractArgs& args);
Result<Output> ContractList(Context& ctx, const std::optional<std::string>& contractor);
// A privacy officer withdraws a contract entered in error (never deleted).
Result<Output> ContractWithdraw(Context& ctx, int64_t id, const std::string& reason);
// `itaku contract subcontractor CONTRACT --name N --work W --nda FILE
// --nda-from D --nda-until D`: a subcontractor named under a contract whose
// re-outsourcing is "named".
struct SubcontractorArgs {
  int64_t contract_id = 0;
  std::string name, work, nda, nda_from, nda_until;
};
Result<Output> SubcontractorAdd(Context& ctx, const SubcontractorArgs& args);

// A delivery's data coming to an end at the contractor, proven by its
// certificate (廃棄証明書). From staff (`itaku disposal record`) or from the
// contractor through the portal.
struct DisposalInput {
  int64_t delivery_id = 0;
  std::string method;       // shredded|erased|returned|dissolved, or 裁断|消去|返却|溶解
  std::string disposed_on;  // YYYY-MM-DD, the contractor's day
  // A file the daemon owns (its spool copy of what the CLI sent, or the
  // portal's upload): hashed and copied into the store's documents.
  std::string certificate_file;
  std::string certificate_name;  // the name it came under; its extension is kept
  // Set for the portal: the contractor uploading. A delivery of another
  // contractor is reported as not found; the audit actor is the contractor.
  std::optional<std::string> portal_contractor;
};
Result<Output> DisposalRecord(Context& ctx, const DisposalInput& input);
// Disposal tasks: deliveries whose delete-by day has come and whose data is
// not yet proven gone. `overdue`: only those past their delete-by day.
Result<Output> DisposalList(Context& ctx, const std::optional<std::string>& contractor,
                            bool overdue_only);

// `itaku check record CONTRACTOR --on D --result pass|findings|fail
// --findings TEXT [--evidence FILE] --next-due D`.
struct CheckArgs {
  std::string contractor, on, result, findings, evidence, next_due;
};
Result<Output> CheckRecord(Context& ctx, const CheckArgs& args);
Result<Output> CheckList(Context& ctx, const std::optional<std::string>& contractor);

// `itaku register export --format csv|pdf --out FILE`: the 委託先管理台帳.
Result<Output> RegisterExport(Context& ctx, const std::string& format, const std::string& out);
// `itaku delivery slip DELIVERY --out FILE`: the 授受記録 of one delivery.
Result<Output> DeliverySlip(Context& ctx, int64_t delivery_id, const std::string& out);

// What bears on a delivery to `contractor` for `purpose` today beyond its
// NDA and profile: the contract that covers it (or the refusal naming the
// clause), overdue disposals and checks when configured to block. Empty
// reasons: allowed. `contract_id` is the covering contract.
struct SupervisionVerdict {
  std::vector<std::string> reasons;
  std::optional<int64_t> contract_id;
};
Result<SupervisionVerdict> JudgeSupervision(Context& ctx, const std::string& contractor,
                                            const std::string& purpose);

}  // namespace itaku::gateway
