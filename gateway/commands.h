// One function per CLI command. Each takes parsed arguments, does the work
// through the store, the policies and the audit trail, and returns what to
// print. An error is one line naming the contractor, file or clause; the
// caller prints it, audits the refusal and exits non-zero.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "contracts/base/status.h"
#include "gateway/broker.h"
#include "gateway/context.h"
#include "policies/media_rules.h"

namespace itaku::gateway {

// Creates the store and registers OS user `officer` as the first privacy officer.
Result<Output> Init(Context& ctx, const std::string& officer);

// The field catalog and the purposes; needs no store.
Output Fields();

struct ContractorArgs {
  std::string id, name, email;
  std::string postal_code, address;  // for letters to it
  std::string cert_file;             // PEM certificate packages are encrypted to
  std::string portal_cert_file;      // PEM client certificate it signs in to the portal with
  // SFTP server: sftp://user@host:port/path, its pinned host key
  // ("SHA256:<base64>"), the client's private key (copied into the store's
  // key folder, mode 0600) and where the key's passphrase comes from at
  // delivery time (an environment variable or a file; never the command line).
  std::string sftp_url, host_key, key_file, key_passphrase_env, key_passphrase_file;
};
Result<Output> ContractorAdd(Context& ctx, const ContractorArgs& args);
// Changes name, e-mail and postal address when given, and registers a new certificate when given.
Result<Output> ContractorUpdate(Context& ctx, const ContractorArgs& args);
Result<Output> ContractorList(Context& ctx);
// Connects to the contractor's SFTP server, shows its host-key fingerprint
// as OpenSSH prints it and whether it matches the pin. A mismatch is an
// error (and audited); an unpinned server is shown with the command to pin.
Result<Output> ContractorProbe(Context& ctx, const std::string& id);
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
// A privacy officer withdraws an NDA entered in error (never deleted; a
// withdrawn NDA covers no delivery), with a reason; the output lists the
// deliveries that relied on it.
Result<Output> NdaWithdraw(Context& ctx, int64_t id, const std::string& reason);

Result<Output> ProfileImport(Context& ctx, const std::string& file);
Result<Output> ProfileShow(Context& ctx, const std::string& id, std::optional<int> version);
Result<Output> ProfileList(Context& ctx);

Result<Output> DeliverCommand(Context& ctx, const DeliverRequest& request);
// One delivery as recorded, with every SFTP attempt.
Result<Output> DeliveryShow(Context& ctx, int64_t delivery_id);

Result<Output> History(Context& ctx, const std::string& subscriber_id);
// --subscribers-csv FILE: the affected subscribers and the fields each
// received go to FILE (for notices under 7(1)) instead of the JSON answer.
Result<Output> BreachScope(Context& ctx, const std::string& contractor, const std::string& since,
                           const std::optional<std::string>& until,
                           const std::string& subscribers_csv = "");

// audit verify [--checkpoint FILE|CODE]...: each value with a '/' is a
// checkpoint file (the daemon's copy of what the caller sent), any other a
// code from the paper ledger.
Result<Output> AuditVerify(Context& ctx, const std::vector<std::string>& checkpoints);
// audit events: the trail's events in a period of JST days (default the
// last 7), newest first, filtered by actor, action ("nda.add"; "deliver."
// as a prefix; ".refused" as a suffix) and contractor; with the newest
// event and checkpoint.
struct AuditEventFilter {
  std::string since, until, actor, action, contractor;
  int limit = 200;
};
Result<Output> AuditEvents(Context& ctx, const AuditEventFilter& filter);
// delivery list: deliveries ordered in a period of JST days (default the
// last 31), one contractor's or all, newest first.
Result<Output> DeliveryList(Context& ctx, const std::string& contractor, const std::string& since,
                            const std::string& until, int limit);

// audit checkpoint: signs the chain's newest event now; prints the short
// code for the paper ledger and (--json) the checkpoint to keep elsewhere.
Result<Output> AuditCheckpoint(Context& ctx);

// The physical medium of a media delivery (電子記録媒体の引渡し).
Result<Output> MediaHandover(Context& ctx, int64_t delivery_id, const std::string& medium,
                             const std::string& to);
// Returned or destroyed, with the contractor's certificate of it when one
// was handed in (`certificate`, a file: kept in the store's documents by its
// SHA-256; "" for none).
Result<Output> MediaClose(Context& ctx, int64_t delivery_id, policies::MediaStep step,
                          const std::string& certificate = "");
// A package written but never handed over is cancelled, with a reason: the
// medium's record and the delivery say so, and it no longer counts as
// received. Refused (conflict) once the medium was handed over.
Result<Output> MediaCancel(Context& ctx, int64_t delivery_id, const std::string& reason);
// Media and paper alike (what is outstanding of either), each with its
// transport and delete-by day.
Result<Output> MediaList(Context& ctx, bool outstanding_only);

// The printed sheets of a paper delivery (紙), tracked like a medium: handed
// over to a named person (the daemon's PDF is deleted then; its SHA-256
// stays on the delivery), returned or shredded (optionally with the
// contractor's 返却・廃棄確認書), or cancelled before they leave. Audited
// paper.handover, paper.returned, paper.shredded, paper.cancelled.
Result<Output> PaperHandover(Context& ctx, int64_t delivery_id, const std::string& to);
Result<Output> PaperClose(Context& ctx, int64_t delivery_id, policies::MediaStep step,
                          const std::string& certificate = "");
Result<Output> PaperCancel(Context& ctx, int64_t delivery_id, const std::string& reason);
Result<Output> PaperList(Context& ctx, bool outstanding_only);

}  // namespace itaku::gateway
