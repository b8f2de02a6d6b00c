// Step two of a delivery: the package. Streams the export through the
// projector into the package the profile names (an encrypted ZIP with its
// manifest, or a plain CSV), records the subscriber ids as they pass, and
// the delivery row with its special requests and the package's hash.
#pragma once

#include <cstdint>
#include <istream>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <unordered_set>
#include <utility>
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

// The daemon's limits on house drawings: [attachments] in its config file
// (serve --config), in MiB.
struct DrawingLimits {
  uint64_t max_file_bytes = uint64_t{50} << 20;        // max_file_mb = 50
  uint64_t max_delivery_bytes = uint64_t{2048} << 20;  // max_delivery_mb = 2048
};

// [attachments] max_file_mb and max_delivery_mb from `config_file` ("" for
// none: the defaults), each a whole number from 1 to 1048576 (1 TiB):
//   "/etc/itaku/itaku.toml: [attachments] max_file_mb must be a whole number"
//   "/etc/itaku/itaku.toml: [attachments] max_file_mb must be 1 to 1048576 (MiB)"
Result<DrawingLimits> LoadDrawingLimits(const std::string& config_file);

// The house drawings of one delivery, judged by one set of checks for the
// dry run and the real run alike, so that the two cannot drift apart. The
// --attachments folder is opened once (transports::SourceFolder: the folder
// itself, not a link to one); each drawing is opened relative to it without
// following a symbolic link and judged by fstat, before a byte is read.
// Errors name the subscriber and the drawing, never another cell:
//   "subscriber S00012: house drawing name is not a plain file name"
//   "subscriber S00012: house drawing db.pdf is not a regular file (symlinks are not followed)"
//   "subscriber S00012: house drawing db.pdf is not in DIR"
//   "subscriber S00012: house drawing big.pdf is 5120 MiB, over the 50 MiB limit per file
//    ([attachments] max_file_mb)"
//   "subscriber S00012: house drawing x.pdf brings the drawings of this delivery to 2049 MiB,
//    over the 2048 MiB limit per delivery ([attachments] max_delivery_mb)"
//   "subscriber S00013: house drawing x.pdf is named by an earlier record too (a package holds
//    each drawing once)"
// Not thread-safe; one delivery at a time.
class DrawingCheck {
 public:
  // The folder of a profile that sends drawings:
  //   "profile P sends house drawings: --attachments must name their folder"
  //   "profile P sends house drawings: --attachments must name their folder (DIR does not exist)"
  static Result<DrawingCheck> Open(const contracts::ContractProfile& profile,
                                   const std::string& dir, const DrawingLimits& limits);

  // The drawing `name` of `subscriber`'s record, as the projector hands it
  // over (dry run and real run): a plain name no earlier record named, a
  // regular file in the folder, within the per-file limit and, with the
  // drawings checked before it, within the per-delivery limit. Opens the
  // file, reads nothing.
  Status Check(std::string_view subscriber, std::string_view name);

  // Real run, once the records are written: `name` opened and judged again
  // (it may have changed since Check), then added to `writer` as
  // "drawings/NAME", read from the descriptor that was judged, at most what
  // the limits leave (a file growing while it is read is stopped there).
  Result<transports::PackageFile> AddTo(transports::MediaPackageWriter& writer,
                                        std::string_view subscriber, const std::string& name);

  // Paper, once the records are written: `name` opened and judged again
  // against the per-file limit (the per-delivery one held when Check saw
  // the sizes), for the PDF writer to read at most max_file_bytes() from.
  Result<transports::SourceFile> Open(std::string_view subscriber, std::string_view name) const;
  uint64_t max_file_bytes() const { return limits_.max_file_bytes; }

 private:
  DrawingCheck(transports::SourceFolder folder, const DrawingLimits& limits)
      : folder_(std::move(folder)), limits_(limits) {}
  Result<transports::SourceFile> OpenDrawing(std::string_view subscriber,
                                             std::string_view name) const;
  // The limits, for `file` after `before` bytes of drawings.
  Status Judge(const transports::SourceFile& file, uint64_t before) const;

  transports::SourceFolder folder_;
  DrawingLimits limits_;
  std::unordered_set<std::string> names_;  // named by the records checked so far
  uint64_t checked_bytes_ = 0;             // their sizes, as fstat gave them
  uint64_t added_bytes_ = 0;               // bytes of the drawings added to the package
};

// Everything a package is made from. Borrowed for one call.
struct PackageJob {
  Context& ctx;
  const contracts::ContractProfile& profile;
  const policies::ProjectionSpec& spec;
  std::istream& in;
  contracts::DeliveryRecord& rec;  // id set; record_count and package_sha256 filled in
  const RecipientChoice& recipient;
  const std::vector<contracts::Nda>& ndas;
  DrawingCheck* drawings;  // null when the profile sends none
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
// `result`'s withheld fields, special requests and formula-guarded cells.
// The audit details (Recorded::details) and the manifest say whether the
// formula guard was on ("formula_guard") and how many cells it neutralised
// ("formula_guarded_cells"). Leaves the outcome in
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
