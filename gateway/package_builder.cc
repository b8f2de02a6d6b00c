#include "gateway/package_builder.h"

#include <algorithm>
#include <filesystem>
#include <fstream>

#include "contracts/base/atomic_file.h"
#include "contracts/base/files.h"
#include "contracts/config.h"
#include "gateway/detail/package_parts.h"
#include "gateway/records_json.h"
#include "policies/delivery_rules.h"
#include "transports/certificate.h"

namespace itaku::gateway {
namespace {

namespace fs = std::filesystem;
using detail::HouseDrawingColumn;
using detail::PackageWritten;
using detail::SubscriberRecorder;

// manifest.json, the package's own account of itself: who it is for, under
// which profile, NDA and retention, and every file with its hash.
nlohmann::json ManifestJson(const PackageJob& job, int64_t records, int64_t formula_guarded,
                            const nlohmann::json& files, const nlohmann::json& recipient,
                            const nlohmann::json& checkpoint) {
  const contracts::ContractProfile& p = job.profile;
  const contracts::DeliveryRecord& rec = job.rec;
  const contracts::Nda* nda = nullptr;
  for (const auto& n : job.ndas) {
    if (rec.nda_id && n.id == *rec.nda_id) nda = &n;
  }
  return {{"delivery_id", rec.id},
          {"contractor", p.contractor_id},
          {"profile", {{"id", p.id}, {"version", p.version}}},
          {"purpose", p.purpose},
          {"fields", p.fields},
          {"extra_fields", job.spec.extra_fields},
          {"masks", p.masks},
          {"encoding", p.output_encoding},
          {"records", records},
          // Whether cells a spreadsheet would run as formulas were
          // neutralised ([output] formula_guard), and how many were.
          {"formula_guard", job.spec.formula_guard},
          {"formula_guarded_cells", formula_guarded},
          {"files", files},
          {"created_at", rec.ordered_at},
          {"delete_by", FormatDate(AddDays(job.ctx.clock->Today(), p.retention_days))},
          {"retention_days", p.retention_days},
          {"nda", nda ? nlohmann::json{{"id", nda->id},
                                       {"in_force_until", FormatDate(nda->in_force_until)},
                                       {"document_sha256", nda->document_sha256}}
                      : nlohmann::json()},
          {"recipient", recipient},
          // The audit chain's newest signed checkpoint: the contractor keeps
          // a copy of what the operator's record held (audit verify
          // --checkpoint).
          {"audit_checkpoint", checkpoint}};
}

// The encrypted package of the media issue (ZIP of data.csv, drawings and
// manifest.json in a CMS envelope), written as `dir`/`name`. Runs inside
// the caller's transaction: the subscriber ids are recorded as the records
// stream past. The final name appears only once the package is complete.
Result<PackageWritten> WriteEncryptedPackage(PackageJob& job, const std::string& dir,
                                             const std::string& name) {
  contracts::DeliveryRecord& rec = job.rec;
  auto writer = transports::MediaPackageWriter::Create(dir, name, job.recipient.recipient);
  if (!writer.ok()) return writer.status();

  std::vector<std::pair<std::string, std::string>> drawing_files;  // subscriber, file
  int64_t records = 0;
  PackageWritten out;
  nlohmann::json files = nlohmann::json::array();
  SubscriberRecorder recorder(*job.ctx.store, rec.id);
  auto data = writer.value()->AddStream("data.csv", [&](std::ostream& os) -> Status {
    auto summary = policies::Project(job.spec, job.in, rec.input_name, &os,
                                     ReceiptsAndDrawings(job, recorder, drawing_files));
    if (!summary.ok()) return summary.status();
    records = summary->records;
    out.withheld = summary->withheld_fields;
    out.special_requests = summary->applied_overrides;
    out.formula_guarded = summary->formula_guarded;
    return Status::Ok();
  });
  // Joined before anything else touches the store, error or not.
  Status recorded = recorder.Finish();
  if (!data.ok()) return data.status();
  if (!recorded.ok()) return recorded;
  rec.receipts_count = recorder.count();
  rec.receipts_sha256 = recorder.Digest();
  files.push_back({{"name", "data.csv"}, {"size", data->size}, {"sha256", data->sha256}});
  for (const auto& [subscriber, file] : drawing_files) {
    auto added = job.drawings->AddTo(*writer.value(), subscriber, file);
    if (!added.ok()) return added.status();
    files.push_back(
        {{"name", "drawings/" + file}, {"size", added->size}, {"sha256", added->sha256}});
  }
  out.recipient =
      job.recipient.fingerprint.empty() ? "password (PBKDF2)" : job.recipient.fingerprint;
  auto checkpoint = job.ctx.audit->LatestCheckpoint();
  if (!checkpoint.ok()) return checkpoint.status();
  const nlohmann::json manifest =
      ManifestJson(job, records, out.formula_guarded, files, out.recipient,
                   checkpoint.value() ? checkpoint.value()->ToJson() : nlohmann::json());
  const std::string manifest_text = manifest.dump(2) + "\n";
  auto m = writer.value()->AddStream("manifest.json", [&](std::ostream& os) {
    os << manifest_text;
    return Status::Ok();
  });
  if (!m.ok()) return m.status();

  rec.record_count = records;
  out.drawings = drawing_files.size();
  // The package's hash is known only once it is finished; the rename is
  // the last step, so a failure before it leaves no package behind.
  auto finished = writer.value()->Finish();
  if (!finished.ok()) return finished.status();
  out.path = finished->name;
  rec.package_sha256 = finished->sha256;
  return out;
}

// The plain projected CSV (package = "csv"), for agencies whose batch reads
// it directly over SFTP. Written through an AtomicFile: complete under
// `name`, or not there at all.
Result<PackageWritten> WriteCsvPackage(PackageJob& job, const std::string& dir,
                                       const std::string& name) {
  contracts::DeliveryRecord& rec = job.rec;
  auto file = AtomicFile::Create((fs::path(dir) / name).string());
  if (!file.ok()) return file.status();
  const std::string temp = file->temp_path();
  auto fail = [&](const Status& why) -> Result<PackageWritten> { return file->Abandon(why); };
  PackageWritten out;
  {
    std::ofstream os(temp, std::ios::binary | std::ios::trunc);
    if (!os) return fail(Status::Io("cannot write " + temp));
    SubscriberRecorder recorder(*job.ctx.store, rec.id);
    const size_t drawing_bit = HouseDrawingColumn(job.spec);
    auto summary = policies::Project(
        job.spec, job.in, rec.input_name, &os, [&](const policies::RecordFacts& r) -> Status {
          uint64_t carried = r.carried;
          // A plain CSV carries no drawing files, only their names.
          if (drawing_bit < 64) carried &= ~(uint64_t{1} << drawing_bit);
          return recorder.Add(r.subscriber_id, static_cast<int64_t>(carried));
        });
    Status recorded = recorder.Finish();
    if (!summary.ok()) return fail(summary.status());
    if (!recorded.ok()) return fail(recorded);
    rec.receipts_count = recorder.count();
    rec.receipts_sha256 = recorder.Digest();
    os.flush();
    if (!os) return fail(Status::Io("cannot write " + temp + " (disk full?)"));
    rec.record_count = summary->records;
    out.withheld = summary->withheld_fields;
    out.special_requests = summary->applied_overrides;
    out.formula_guarded = summary->formula_guarded;
  }
  auto sha = Sha256File(temp);
  if (!sha.ok()) return fail(sha.status());
  if (Status c = file->Commit(); !c.ok()) return c;
  rec.package_sha256 = sha.value();
  out.path = file->final_path();
  out.recipient = "none (plain CSV over SSH)";
  return out;
}

Result<PackageWritten> WritePackage(PackageJob& job, const std::string& dir,
                                    const std::string& name) {
  if (job.rec.transport == contracts::Transport::kPaper) {
    return detail::WritePaperPackage(job, dir, name);
  }
  if (job.profile.output_package == "csv") return WriteCsvPackage(job, dir, name);
  return WriteEncryptedPackage(job, dir, name);
}

}  // namespace

Result<DrawingLimits> LoadDrawingLimits(const std::string& config_file) {
  constexpr int64_t kMaxMiB = int64_t{1} << 20;  // 1 TiB
  auto config = contracts::Config::Load(config_file);
  if (!config.ok()) return config.status();
  DrawingLimits limits;
  for (auto [key, bytes] : {std::pair{"max_file_mb", &limits.max_file_bytes},
                            std::pair{"max_delivery_mb", &limits.max_delivery_bytes}}) {
    const int64_t mib = config->Int("attachments", key, static_cast<int64_t>(*bytes >> 20));
    if (!config->status().ok()) return config->status();
    if (mib < 1 || mib > kMaxMiB) {
      return Status::Error(config_file + ": [attachments] " + key + " must be 1 to " +
                           std::to_string(kMaxMiB) + " (MiB)");
    }
    *bytes = static_cast<uint64_t>(mib) << 20;
  }
  return limits;
}

Result<DrawingCheck> DrawingCheck::Open(const contracts::ContractProfile& profile,
                                        const std::string& dir, const DrawingLimits& limits) {
  const std::string why =
      "profile " + profile.id + " sends house drawings: --attachments must name their folder";
  if (dir.empty()) return Status::Error(why);
  auto folder = transports::SourceFolder::Open(dir);
  if (!folder.ok()) return folder.status().WithMessage(why + " (" + folder.message() + ")");
  return DrawingCheck(std::move(folder).value(), limits);
}

Result<transports::SourceFile> DrawingCheck::OpenDrawing(std::string_view subscriber,
                                                         std::string_view name) const {
  // Messages name the record by its subscriber id, never by the cell's
  // value (a file name may be made of a person's name).
  const std::string who = "subscriber " + std::string(subscriber) + ": house drawing";
  if (!policies::PlainDrawingName(name)) {
    return Status::Error(who + " name is not a plain file name");
  }
  return transports::SourceFile::Open(folder_, std::string(name), who);
}

Status DrawingCheck::Judge(const transports::SourceFile& file, uint64_t before) const {
  using transports::ByteSizeText;
  if (file.size() > limits_.max_file_bytes) {
    return Status::Refused(file.label() + " is " + ByteSizeText(file.size()) + ", over the " +
                           ByteSizeText(limits_.max_file_bytes) +
                           " limit per file ([attachments] max_file_mb)");
  }
  if (before > limits_.max_delivery_bytes || file.size() > limits_.max_delivery_bytes - before) {
    return Status::Refused(file.label() + " brings the drawings of this delivery to " +
                           ByteSizeText(before + file.size()) + ", over the " +
                           ByteSizeText(limits_.max_delivery_bytes) +
                           " limit per delivery ([attachments] max_delivery_mb)");
  }
  return Status::Ok();
}

Status DrawingCheck::Check(std::string_view subscriber, std::string_view name) {
  auto file = OpenDrawing(subscriber, name);
  if (!file.ok()) return file.status();
  if (!names_.emplace(name).second) {
    return Status::Error(file->label() +
                         " is named by an earlier record too (a package holds each drawing once)");
  }
  if (Status j = Judge(*file, checked_bytes_); !j.ok()) return j;
  checked_bytes_ += file->size();
  return Status::Ok();
}

Result<transports::SourceFile> DrawingCheck::Open(std::string_view subscriber,
                                                  std::string_view name) const {
  auto file = OpenDrawing(subscriber, name);
  if (!file.ok()) return file.status();
  if (Status j = Judge(*file, 0); !j.ok()) return j;
  return file;
}

Result<transports::PackageFile> DrawingCheck::AddTo(transports::MediaPackageWriter& writer,
                                                    std::string_view subscriber,
                                                    const std::string& name) {
  auto file = OpenDrawing(subscriber, name);
  if (!file.ok()) return file.status();
  if (Status j = Judge(*file, added_bytes_); !j.ok()) return j;
  const uint64_t room = std::min(limits_.max_file_bytes, limits_.max_delivery_bytes - added_bytes_);
  auto added = writer.AddFile("drawings/" + name, *file, room);
  if (!added.ok()) return added.status();
  added_bytes_ += added->size;
  return added;
}

Result<RecipientChoice> ChooseRecipient(Context& ctx, const std::string& contractor,
                                        bool password) {
  RecipientChoice choice;
  auto cert = ctx.store->FindContractorCertificate(contractor, "package");
  if (!cert.ok()) return cert.status();
  if (cert.value()) {
    if (password) {
      choice.refusal = "contractor " + contractor +
                       " has a certificate; packages are encrypted to it, not to a passphrase";
      return choice;
    }
    auto info = transports::InspectCertificate(cert.value()->pem, ctx.clock->Now());
    if (!info.ok()) {
      choice.refusal = "certificate of contractor " + contractor + ": " + info.message();
      return choice;
    }
    choice.recipient.cert_pem = cert.value()->pem;
    choice.fingerprint = info->fingerprint;
    return choice;
  }
  if (!password) {
    choice.refusal = "contractor " + contractor +
                     " has no certificate for encrypted packages (register one with: itaku "
                     "contractor update " +
                     contractor + " --cert FILE, or use --password-recipient)";
    return choice;
  }
  auto phrase = transports::GeneratePassphrase();
  if (!phrase.ok()) return phrase.status();
  choice.recipient.passphrase = phrase.value();
  return choice;
}

Status BeginDelivery(PackageJob& job, const std::string& suffix) {
  contracts::DeliveryRecord& rec = job.rec;
  Context& ctx = job.ctx;
  rec.outcome = contracts::DeliveryOutcome::kWriting;
  rec.extra_fields = job.spec.extra_fields;
  return ctx.store->Transaction([&]() -> Status {
    auto id = ctx.store->AddDelivery(rec);
    if (!id.ok()) return id.status();
    rec.id = id.value();
    rec.package_name = job.profile.contractor_id + "-" + std::to_string(rec.id) + suffix;
    if (Status u = ctx.store->UpdateDelivery(rec); !u.ok()) return u;
    nlohmann::json details = ToJson(rec);
    details["package"] = rec.package_name;
    return ctx.audit->Append(ctx.actor, "delivery.writing", "delivery:" + std::to_string(rec.id),
                             details);
  });
}

Result<Recorded> WriteDeliveryPackage(PackageJob& job, const std::string& dir,
                                      DeliverResult& result) {
  contracts::DeliveryRecord& rec = job.rec;
  Recorded out;
  out.name = rec.package_name;
  auto written = WritePackage(job, dir, out.name);
  if (!written.ok()) return written.status();
  out.path = written->path;
  result.withheld = written->withheld;
  result.special_requests = written->special_requests;
  out.details = ToJson(rec);
  out.details["withheld"] = written->withheld;
  out.details["package"] = out.name;
  out.details["recipient"] = written->recipient;
  out.details["drawings"] = written->drawings;
  out.details["special_requests"] = written->special_requests;
  out.details["formula_guard"] = job.spec.formula_guard;
  out.details["formula_guarded_cells"] = written->formula_guarded;
  result.formula_guarded = written->formula_guarded;
  if (written->pages > 0) out.details["pages"] = result.pages = written->pages;
  if (!written->printed_sha256.empty()) {
    // The hash on the slip, kept with the delivery's record: a signed slip
    // can be matched to it after the PDF is gone.
    out.details["printed_rows_sha256"] = result.printed_sha256 = written->printed_sha256;
  }
  return out;
}

Status FinishDelivery(PackageJob& job, contracts::DeliveryOutcome outcome,
                      const DeliverResult& result) {
  contracts::DeliveryRecord& rec = job.rec;
  rec.outcome = outcome;
  contracts::Store& store = *job.ctx.store;
  if (Status sr = store.AddDeliverySpecialRequests(rec.id, result.special_requests); !sr.ok()) {
    return sr;
  }
  return store.UpdateDelivery(rec);
}

Status FailDelivery(Context& ctx, contracts::DeliveryRecord& rec, const Status& why) {
  rec.outcome = contracts::DeliveryOutcome::kFailed;
  rec.reason = why.message();
  Status recorded = ctx.store->Transaction([&]() -> Status {
    // What the store holds is what counts: a run cut short stored some.
    auto stored = StoredReceiptsDigest(*ctx.store, rec.id);
    if (!stored.ok()) return stored.status();
    rec.receipts_count = stored->first;
    rec.receipts_sha256 = stored->second;
    if (Status u = ctx.store->UpdateDelivery(rec); !u.ok()) return u;
    nlohmann::json details = ToJson(rec);
    details["package"] = rec.package_name;
    return ctx.audit->Append(ctx.actor, "delivery.failed", "delivery:" + std::to_string(rec.id),
                             details);
  });
  if (recorded.ok()) return why;
  return why.WithMessage(why.message() +
                         " (and the failure could not be recorded: " + recorded.message() + ")");
}

}  // namespace itaku::gateway
