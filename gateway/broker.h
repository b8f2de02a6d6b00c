// The broker: one delivery from an export to a contractor. Asks the registry
// who the contractor is and what the profile allows, has policies/ decide,
// streams the export through the projector, records the delivery and
// audits it. A refusal is an outcome (every reason kept), not an error.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "contracts/base/status.h"
#include "contracts/types.h"
#include "gateway/context.h"
#include "policies/projector.h"

namespace itaku::gateway {

struct DeliverRequest {
  std::string profile_id;
  std::optional<int> profile_version;  // latest when absent
  std::string input_path;
  std::string attachments_dir;  // house drawings, a folder (not a link to one); see Deliver()
  contracts::Transport transport = contracts::Transport::kMedia;
  bool dry_run = false;
  std::string out_dir;              // media: the medium's mount point
  bool password_recipient = false;  // media: passphrase instead of a certificate

  // sftp: network errors are retried `retries` times, waiting retry_wait_s,
  // then twice that, and so on; refusals (host key, authentication, a
  // different file at the final name) are never retried.
  int retries = 3;
  double retry_wait_s = 5;
  int connect_timeout_ms = 10000;
  int io_timeout_ms = 30000;

  // portal: how long the package stays available and how many complete
  // downloads it allows.
  std::string expires_in = "7d";
  int max_downloads = 3;

  policies::InputEncoding input_encoding = policies::InputEncoding::kAuto;
};

struct DeliverResult {
  contracts::DeliveryRecord record;   // as stored; "refused", "dry-run" or "delivered"
  std::vector<std::string> reasons;   // refusal reasons; empty when allowed
  std::vector<std::string> withheld;  // export columns not sent
  std::map<std::string, std::string> masks;
  std::string package_path;  // media: the package written; sftp: where it went
  std::vector<contracts::DeliveryAttempt> attempts;  // sftp: every try, in order
  std::vector<int64_t> special_requests;             // the special requests (6(1)) that shaped it
  std::vector<std::string> notes;                    // what staff should know (no personal data)
  std::string portal_package_id;                     // portal: the published package's id
  std::string portal_expires_at;
  std::string passphrase;  // media with a password recipient: shown once, never stored
  // Cells the formula guard neutralised ([output] formula_guard); 0 when off.
  int64_t formula_guarded = 0;
  int pages = 0;                       // paper: the printable PDF's pages
  std::string printed_sha256;          // paper: the printed rows' SHA-256, as on the slip
  std::optional<int64_t> contract_id;  // the outsourcing contract that covers it
  bool allowed() const { return reasons.empty(); }
};

// Errors (Status) are for what stops a decision or a projection: unknown
// profile, unreadable or malformed export, store failure. Each is audited
// and, once a profile is known, recorded as a failed delivery.
//
// House drawings (a profile sending house_drawing unmasked in an encrypted
// package): the --attachments folder and every delivered record's drawing
// are judged by one DrawingCheck (package_builder.h), in a dry run exactly
// as in the real run: regular files only, no symbolic link followed, within
// the daemon's [attachments] limits (read from ctx.daemon_config at each
// delivery). A dry run opens the drawings but reads none.
//
// SFTP: the package is built in the store's outbox ("<db>.d/outbox"), the
// delivery is recorded as "sending" (it counts as received from then on),
// and the upload is tried with backoff; each try is a DeliveryAttempt. The
// end is "delivered", "refused" (the server is not the pinned one, the key
// is not accepted, another file holds the name: returned as a refusal) or
// "failed" (network errors outlasted the retries: returned as an error).
// The outbox copy is removed either way.
Result<DeliverResult> Deliver(Context& ctx, const DeliverRequest& request);

// The passphrase of an SFTP client key, from where its registration says
// ("env:NAME", or "file:PATH" and its first line); empty source, empty
// passphrase. An unset variable or unreadable file is an error naming it.
Result<std::string> ReadKeyPassphrase(const std::string& source);

}  // namespace itaku::gateway
