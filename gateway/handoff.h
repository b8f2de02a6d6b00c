// Step three of a delivery: the package leaves through one transport
// (policy 6(2)): written to a medium, published on the portal, or uploaded
// by SFTP. A handoff builds the package where its transport needs it
// (package_builder.h), records it and sends it; it does not know why the
// data is sent.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <string>

#include "contracts/base/status.h"
#include "gateway/broker.h"
#include "gateway/package_builder.h"
#include "transports/sftp_transport.h"

namespace itaku::gateway {

// Records the delivery as failed (nothing of it is left anywhere) and
// returns `why` as the error.
using RecordFailure = std::function<Result<DeliverResult>(const Status&)>;

class Handoff {
 public:
  virtual ~Handoff() = default;
  // Builds, records and hands off the package of `job`, filling `result`.
  // Failures before the delivery was recorded go through `record_failure`;
  // an error returned after that is already on record.
  virtual Status Run(PackageJob& job, DeliverResult& result,
                     const RecordFailure& record_failure) = 0;
};

// The encrypted package written to `out_dir` (the medium's mount point), in
// one transaction with its record and the medium's handover row.
std::unique_ptr<Handoff> MediaHandoff(std::string out_dir);
// The printable PDF of a paper delivery, kept in "<db>.d/paper" until its
// sheets are handed over and copied to `out_dir` for printing, in one
// transaction with its record and the sheets' handover row.
std::unique_ptr<Handoff> PaperHandoff(std::string out_dir);
// The package published on the portal for `lifetime` and `max_downloads`
// complete downloads, in one transaction with its record.
std::unique_ptr<Handoff> PortalHandoff(std::chrono::seconds lifetime, int max_downloads);

// The SFTP endpoint of a contractor, ready to use, or why it cannot be.
struct SftpTarget {
  transports::SftpEndpoint endpoint;
  std::string refusal;
};
Result<SftpTarget> ResolveSftpTarget(Context& ctx, const std::string& contractor);

// Built in the store's outbox, recorded as "sending" before a byte leaves,
// uploaded with retries as DeliverRequest says; see broker.h.
std::unique_ptr<Handoff> SftpHandoff(transports::SftpEndpoint endpoint,
                                     const DeliverRequest& request);

}  // namespace itaku::gateway
