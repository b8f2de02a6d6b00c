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
  std::string cert_file;  // PEM certificate packages are encrypted to
};
Result<Output> ContractorAdd(Context& ctx, const ContractorArgs& args);
// Changes name/email when given, and registers a new certificate when given.
Result<Output> ContractorUpdate(Context& ctx, const ContractorArgs& args);
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

// The physical medium of a media delivery (電子記録媒体の引渡し).
Result<Output> MediaHandover(Context& ctx, int64_t delivery_id, const std::string& medium,
                             const std::string& to);
Result<Output> MediaClose(Context& ctx, int64_t delivery_id, const std::string& state);
Result<Output> MediaList(Context& ctx, bool outstanding_only);

}  // namespace itaku::gateway
