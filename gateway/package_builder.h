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

// Step one of recording: the delivery is in the store as "writing" (it
// counts as received from here on), committed with its audit event
// "delivery.writing", before any byte of its package exists. Sets rec.id
// and rec.package_name ("<contractor>-<id><suffix>").
Status BeginDelivery(PackageJob& job, const std::string& suffix);

// Step two: writes the package as `dir`/rec.package_name (the final name
// appears only once the package is complete), recording each receipt with
// the fields its row carried as the records stream. Fills rec's
// record_count, package_sha256, extra_fields and receipts digest, and
// `result`'s withheld fields and special requests. Leaves the outcome in
// the store as it was: the caller records what happens next, with
// FinishDelivery or FailDelivery.
Result<Recorded> WriteDeliveryPackage(PackageJob& job, const std::string& dir,
                                      DeliverResult& result);

// Inside the caller's transaction: the delivery's row as rec says (outcome
// `outcome`) and the special requests that shaped it.
Status FinishDelivery(PackageJob& job, contracts::DeliveryOutcome outcome,
                      const DeliverResult& result);

// A delivery begun but not completed: recorded "failed" with `why` and
// the receipts the store holds for it, audited "delivery.failed"; returns
// `why` (extended when the record could not be written).
Status FailDelivery(Context& ctx, contracts::DeliveryRecord& rec, const Status& why);

}  // namespace itaku::gateway
