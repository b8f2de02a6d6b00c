// One function per CLI command. Each takes parsed arguments, does the work
// through the store, the policies and the audit trail, and returns what to
// print. An error is one line naming the contractor, file or clause; the
// caller prints it, audits the refusal and exits non-zero.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "contracts/status.h"
#include "gateway/broker.h"
#include "gateway/context.h"

namespace itaku::gateway {

Result<Output> Init(Context& ctx);

struct ContractorArgs {
  std::string id, name, email;
};
Result<Output> ContractorAdd(Context& ctx, const ContractorArgs& args);
Result<Output> ContractorList(Context& ctx);
Result<Output> ContractorShow(Context& ctx, const std::string& id);
Result<Output> ContractorSetStatus(Context& ctx, const std::string& id, const std::string& status,
                                   const std::string& reason);

struct NdaArgs {
  std::string contractor, signed_on, from, until, document;
  std::vector<std::string> signatories;
};
Result<Output> NdaAdd(Context& ctx, const NdaArgs& args);
Result<Output> NdaList(Context& ctx, const std::optional<std::string>& contractor,
                       std::optional<int> expiring_within_days);

Result<Output> ProfileImport(Context& ctx, const std::string& file);
Result<Output> ProfileShow(Context& ctx, const std::string& id, std::optional<int> version);
Result<Output> ProfileList(Context& ctx);

Result<Output> DeliverCommand(Context& ctx, const DeliverRequest& request);

Result<Output> History(Context& ctx, const std::string& subscriber_id);
Result<Output> BreachScope(Context& ctx, const std::string& contractor, const std::string& since,
                           const std::optional<std::string>& until);

Result<Output> AuditVerify(Context& ctx);

}  // namespace itaku::gateway
