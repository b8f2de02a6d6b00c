// The broker: one delivery from an export to a contractor. Asks the registry
// who the contractor is and what the profile allows, has policies/ decide,
// streams the export through the projector, records the delivery and
// audits it. A refusal is an outcome (every reason kept), not an error.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "contracts/status.h"
#include "contracts/types.h"
#include "gateway/context.h"
#include "policies/projector.h"

namespace itaku::gateway {

struct DeliverRequest {
  std::string profile_id;
  std::optional<int> profile_version;  // latest when absent
  std::string input_path;
  std::string attachments_dir;  // house drawings; used by transports that carry files
  std::string transport;
  bool dry_run = false;
  std::string out_dir;              // media: the medium's mount point
  bool password_recipient = false;  // media: passphrase instead of a certificate

  policies::InputEncoding input_encoding = policies::InputEncoding::kAuto;
};

struct DeliverResult {
  contracts::DeliveryRecord record;   // as stored; "refused", "dry-run" or "delivered"
  std::vector<std::string> reasons;   // refusal reasons; empty when allowed
  std::vector<std::string> withheld;  // export columns not sent
  std::map<std::string, std::string> masks;
  std::string package_path;  // media: the package written
  std::string passphrase;    // media with a password recipient: shown once, never stored
  bool allowed() const { return reasons.empty(); }
};

// Errors (Status) are for what stops a decision or a projection: unknown
// profile, unreadable or malformed export, store failure. Each is audited
// and, once a profile is known, recorded as a failed delivery.
Result<DeliverResult> Deliver(Context& ctx, const DeliverRequest& request);

}  // namespace itaku::gateway
