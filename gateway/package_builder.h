// Step two of a delivery: the package. Streams the export through the
// projector into the package the profile names (an encrypted ZIP with its
// manifest, or a plain CSV), records the subscriber ids as they pass, and
// the delivery row with its special requests and the package's hash.
#pragma once

#include <istream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "contracts/base/status.h"
#include "contracts/types.h"
#include "gateway/broker.h"
#include "gateway/context.h"
#include "policies/projector.h"
#include "transports/media_package.h"

namespace itaku::gateway {

// Who the package is encrypted to, or why it cannot be.
struct RecipientChoice {
  transports::Recipient recipient;
  std::string fingerprint;  // of the certificate; empty for a passphrase
  std::string refusal;
};

// The contractor's registered certificate (checked against today), or a
// fresh passphrase when `password` and it has none; a refusal otherwise.
Result<RecipientChoice> ChooseRecipient(Context& ctx, const std::string& contractor, bool password);

// Everything a package is made from. Borrowed for one call.
struct PackageJob {
  Context& ctx;
  const contracts::ContractProfile& profile;
  const policies::ProjectionSpec& spec;
  std::istream& in;
  contracts::DeliveryRecord& rec;  // id set; record_count and package_sha256 filled in
  const RecipientChoice& recipient;
  const std::vector<contracts::Nda>& ndas;
  bool drawings;
  std::string attachments;
};

struct Recorded {
  std::string path;        // the package under its final name
  std::string name;        // "<contractor>-<delivery id><suffix>"
  nlohmann::json details;  // the audit event's details
};

// Inside the caller's transaction: records the delivery with `outcome`,
// writes its package as `dir`/<contractor>-<id><suffix> (the final name
// appears only once it is complete), links the special requests that
// shaped it and stores its hash. `result` gets what was withheld and the
// special requests.
Result<Recorded> RecordWithPackage(PackageJob& job, const std::string& dir,
                                   contracts::DeliveryOutcome outcome, const std::string& suffix,
                                   DeliverResult& result);

}  // namespace itaku::gateway
