#include "gateway/broker.h"

#include <condition_variable>
#include <deque>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <thread>

#include "gateway/files.h"
#include "policies/decision.h"
#include "transports/certificate.h"
#include "transports/media_package.h"

namespace itaku::gateway {
namespace {

namespace fs = std::filesystem;

constexpr char kPseudonymKey[] = "pseudonym_key";
constexpr size_t kSubscriberBatch = 10000;

nlohmann::json RecordJson(const contracts::DeliveryRecord& r) {
  return {{"delivery_id", r.id},
          {"contractor", r.contractor_id},
          {"profile", r.profile_id},
          {"profile_version", r.profile_version},
          {"transport", r.transport},
          {"outcome", r.outcome},
          {"fields", r.fields},
          {"records", r.record_count},
          {"nda_id", r.nda_id ? nlohmann::json(*r.nda_id) : nlohmann::json()},
          {"reason", r.reason},
          {"input", r.input_name},
          {"package_sha256", r.package_sha256}};
}

std::string JoinReasons(const std::vector<std::string>& reasons) {
  std::string out;
  for (const auto& r : reasons) {
    if (!out.empty()) out += "; ";
    out += r;
  }
  return out;
}

bool Sends(const contracts::ContractProfile& p, const std::string& field) {
  return std::find(p.fields.begin(), p.fields.end(), field) != p.fields.end();
}

// A drawing travels only when the profile sends house_drawing unmasked.
bool SendsDrawings(const contracts::ContractProfile& p) {
  if (!Sends(p, "house_drawing")) return false;
  auto m = p.masks.find("house_drawing");
  return m == p.masks.end() || m->second == "none";
}

// A drawing's file name as the export gives it must name a plain file in
// the attachments folder: no folders, no "..", printable ASCII (the ZIP
// entry name).
bool PlainDrawingName(std::string_view name) {
  if (name.empty() || name == "." || name == "..") return false;
  for (char c : name) {
    if (c < 0x21 || c > 0x7e || c == '/' || c == '\\') return false;
  }
  return true;
}

// Records the subscriber ids of a delivery on a thread of its own, so that
// SQLite's index work overlaps projection and deflate instead of stalling
// them. At most kMaxQueued batches wait, so memory stays flat. The store is
// touched only by this thread while it runs (the caller's thread is busy
// deflating), and Finish() joins it before anyone else uses the store.
class SubscriberRecorder {
 public:
  SubscriberRecorder(contracts::Store& store, int64_t delivery_id)
      : store_(store), delivery_id_(delivery_id), thread_([this] { Run(); }) {}
  ~SubscriberRecorder() { Finish(); }
  SubscriberRecorder(const SubscriberRecorder&) = delete;
  SubscriberRecorder& operator=(const SubscriberRecorder&) = delete;

  // Adds one id; hands a full batch to the thread. Returns the thread's
  // first error, if any.
  Status Add(std::string_view subscriber_id) {
    batch_.emplace_back(subscriber_id);
    if (batch_.size() < kSubscriberBatch) return Status::Ok();
    return Flush();
  }

  // Hands over the last batch, waits for the thread, returns its status.
  Status Finish() {
    if (thread_.joinable()) {
      Flush();
      {
        std::lock_guard lock(mu_);
        done_ = true;
      }
      cv_.notify_all();
      thread_.join();
    }
    std::lock_guard lock(mu_);
    return error_;
  }

 private:
  static constexpr size_t kMaxQueued = 4;

  Status Flush() {
    std::unique_lock lock(mu_);
    cv_.wait(lock, [&] { return queue_.size() < kMaxQueued || !error_.ok(); });
    if (!error_.ok()) return error_;
    if (!batch_.empty()) queue_.push_back(std::move(batch_));
    batch_.clear();
    cv_.notify_all();
    return Status::Ok();
  }

  void Run() {
    for (;;) {
      std::vector<std::string> ids;
      {
        std::unique_lock lock(mu_);
        cv_.wait(lock, [&] { return !queue_.empty() || done_; });
        if (queue_.empty()) return;
        ids = std::move(queue_.front());
        queue_.pop_front();
      }
      cv_.notify_all();
      Status s = store_.AddDeliverySubscribers(delivery_id_, ids);
      if (!s.ok()) {
        std::lock_guard lock(mu_);
        if (error_.ok()) error_ = s;
        queue_.clear();
        cv_.notify_all();
      }
    }
  }

  contracts::Store& store_;
  const int64_t delivery_id_;
  std::vector<std::string> batch_;  // filled by the producer only
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::vector<std::string>> queue_;
  bool done_ = false;
  Status error_;
  std::thread thread_;  // last: starts after everything above exists
};

// Who the media package is encrypted to, or why it cannot be.
struct RecipientChoice {
  transports::Recipient recipient;
  std::string fingerprint;  // of the certificate; empty for a passphrase
  std::string refusal;
};

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

}  // namespace

Result<DeliverResult> Deliver(Context& ctx, const DeliverRequest& req) {
  auto refuse_early = [&](const std::string& why) -> Result<DeliverResult> {
    ctx.audit->Append(ctx.actor, "delivery.refused", "profile:" + req.profile_id,
                      {{"reason", why}, {"transport", req.transport}});
    return Result<DeliverResult>::Error(why);
  };

  auto profile = ctx.store->FindProfile(req.profile_id, req.profile_version);
  if (!profile.ok()) return profile.status();
  if (!profile.value()) {
    return refuse_early(
        "unknown profile " + req.profile_id +
        (req.profile_version ? " version " + std::to_string(*req.profile_version) : std::string()));
  }
  const contracts::ContractProfile& p = *profile.value();
  auto contractor = ctx.store->FindContractor(p.contractor_id);
  if (!contractor.ok()) return contractor.status();
  if (!contractor.value()) return refuse_early("unknown contractor " + p.contractor_id);
  auto ndas = ctx.store->ListNdas(p.contractor_id);
  if (!ndas.ok()) return ndas.status();
  const bool media = req.transport == "media" && !req.dry_run;
  if (media && req.out_dir.empty()) {
    return refuse_early("--via media needs --out DIR (the medium's mount point)");
  }
  if (media && !fs::is_directory(req.out_dir)) {
    return refuse_early("--out " + req.out_dir + " is not a folder (the medium's mount point)");
  }

  policies::RegistrySnapshot snap{*contractor.value(), p, ndas.value()};
  policies::Decision decision = policies::Decide({req.transport}, snap, ctx.clock->Today());

  DeliverResult result;
  result.masks = p.masks;
  contracts::DeliveryRecord& rec = result.record;
  rec.ordered_by = ctx.actor;
  rec.ordered_at = ctx.clock->NowUtc();
  rec.contractor_id = p.contractor_id;
  rec.profile_id = p.id;
  rec.profile_version = p.version;
  rec.nda_id = decision.nda_id;
  rec.transport = req.transport;
  rec.fields = p.fields;
  rec.input_name = fs::path(req.input_path).filename().string();

  RecipientChoice recipient;
  if (media) {
    auto chosen = ChooseRecipient(ctx, p.contractor_id, req.password_recipient);
    if (!chosen.ok()) return chosen.status();
    recipient = std::move(chosen).value();
    if (!recipient.refusal.empty()) decision.reasons.push_back(recipient.refusal);
  } else if (!req.dry_run) {
    decision.reasons.push_back("transport " + req.transport +
                               " cannot deliver yet in this version; use --dry-run");
  }
  result.reasons = decision.reasons;

  if (!decision.allowed()) {
    rec.outcome = "refused";
    rec.reason = JoinReasons(decision.reasons);
    Status s = ctx.store->Transaction([&]() -> Status {
      auto id = ctx.store->AddDelivery(rec);
      if (!id.ok()) return id.status();
      rec.id = id.value();
      return ctx.audit->Append(ctx.actor, "delivery.refused", "delivery:" + std::to_string(rec.id),
                               RecordJson(rec));
    });
    if (!s.ok()) return s;
    return result;
  }

  std::ifstream in(req.input_path, std::ios::binary);
  if (!in) return refuse_early("cannot read export " + req.input_path);
  auto key = ctx.store->GetMeta(kPseudonymKey);
  if (!key.ok()) return key.status();
  if (!key.value()) {
    return Result<DeliverResult>::Error("store has no pseudonym key: run itaku init");
  }
  policies::ProjectionSpec spec;
  spec.fields = p.fields;
  for (const auto& [field, mask] : p.masks) {
    spec.masks[field] = policies::ParseMask(mask).value_or(policies::Mask::kRedact);
  }
  spec.output_encoding =
      p.output_encoding == "cp932" ? policies::Encoding::kCp932 : policies::Encoding::kUtf8;
  spec.input_encoding = req.input_encoding;
  spec.pseudonym_key = *key.value();

  // Records a delivery that could not be completed; whatever it wrote is
  // already gone (the package writer removes its temporary file).
  auto record_failure = [&](const Status& why) -> Result<DeliverResult> {
    rec.outcome = "failed";
    rec.reason = why.message();
    Status s = ctx.store->Transaction([&]() -> Status {
      auto id = ctx.store->AddDelivery(rec);
      if (!id.ok()) return id.status();
      rec.id = id.value();
      return ctx.audit->Append(ctx.actor, "delivery.failed", "delivery:" + std::to_string(rec.id),
                               RecordJson(rec));
    });
    if (!s.ok()) return s;
    return why;
  };

  if (req.dry_run) {
    // Every record is read, decoded, checked and projected; nothing is
    // written anywhere.
    auto summary =
        policies::Project(spec, in, rec.input_name, nullptr,
                          [](std::string_view, std::string_view) { return Status::Ok(); });
    if (!summary.ok()) return record_failure(summary.status());
    result.withheld = summary->withheld_fields;
    rec.outcome = "dry-run";
    rec.record_count = summary->records;
    Status s = ctx.store->Transaction([&]() -> Status {
      auto id = ctx.store->AddDelivery(rec);
      if (!id.ok()) return id.status();
      rec.id = id.value();
      nlohmann::json details = RecordJson(rec);
      details["withheld"] = result.withheld;
      return ctx.audit->Append(ctx.actor, "delivery.dry-run", "delivery:" + std::to_string(rec.id),
                               details);
    });
    if (!s.ok()) return s;
    return result;
  }

  // The media package, in one transaction with its record: the delivery row,
  // the subscriber ids (streamed in batches), the package, the medium and
  // the audit event land together or not at all.
  const bool drawings = SendsDrawings(p);
  const std::string attachments = req.attachments_dir;
  if (drawings && (attachments.empty() || !fs::is_directory(attachments))) {
    return record_failure(Status::Error(
        "profile " + p.id + " sends house drawings: --attachments must name their folder"));
  }
  std::string package_path;
  Status s = ctx.store->Transaction([&]() -> Status {
    rec.outcome = "delivered";
    auto id = ctx.store->AddDelivery(rec);
    if (!id.ok()) return id.status();
    rec.id = id.value();
    const std::string name = p.contractor_id + "-" + std::to_string(rec.id) + ".zip.p7m";
    auto writer = transports::MediaPackageWriter::Create(req.out_dir, name, recipient.recipient);
    if (!writer.ok()) return writer.status();

    std::vector<std::pair<std::string, std::string>> drawing_files;  // subscriber, file
    int64_t records = 0;
    std::vector<std::string> withheld;
    nlohmann::json files = nlohmann::json::array();
    SubscriberRecorder recorder(*ctx.store, rec.id);
    auto data = writer.value()->AddStream("data.csv", [&](std::ostream& os) -> Status {
      auto summary = policies::Project(
          spec, in, rec.input_name, &os,
          [&](std::string_view subscriber, std::string_view drawing) -> Status {
            if (drawings && !drawing.empty()) {
              if (!PlainDrawingName(drawing)) {
                return Status::Error("subscriber " + std::string(subscriber) +
                                     ": house drawing name is not a plain file name");
              }
              drawing_files.emplace_back(subscriber, drawing);
            }
            return recorder.Add(subscriber);
          });
      if (!summary.ok()) return summary.status();
      records = summary->records;
      withheld = summary->withheld_fields;
      return Status::Ok();
    });
    // Joined before anything else touches the store, error or not.
    Status recorded = recorder.Finish();
    if (!data.ok()) return data.status();
    if (!recorded.ok()) return recorded;
    files.push_back({{"name", "data.csv"}, {"size", data->size}, {"sha256", data->sha256}});
    for (const auto& [subscriber, file] : drawing_files) {
      const std::string source = (fs::path(attachments) / file).string();
      if (!fs::is_regular_file(source)) {
        return Status::Error("subscriber " + subscriber + ": house drawing file missing from " +
                             attachments);
      }
      auto added = writer.value()->AddFile("drawings/" + file, source);
      if (!added.ok()) return added.status();
      files.push_back(
          {{"name", "drawings/" + file}, {"size", added->size}, {"sha256", added->sha256}});
    }
    const contracts::Nda* nda = nullptr;
    for (const auto& n : ndas.value()) {
      if (rec.nda_id && n.id == *rec.nda_id) nda = &n;
    }
    nlohmann::json manifest = {
        {"delivery_id", rec.id},
        {"contractor", p.contractor_id},
        {"profile", {{"id", p.id}, {"version", p.version}}},
        {"purpose", p.purpose},
        {"fields", p.fields},
        {"masks", p.masks},
        {"encoding", p.output_encoding},
        {"records", records},
        {"files", files},
        {"created_at", rec.ordered_at},
        {"delete_by", FormatDate(AddDays(ctx.clock->Today(), p.retention_days))},
        {"retention_days", p.retention_days},
        {"nda", nda ? nlohmann::json{{"id", nda->id},
                                     {"in_force_until", FormatDate(nda->in_force_until)},
                                     {"document_sha256", nda->document_sha256}}
                    : nlohmann::json()},
        {"recipient", recipient.fingerprint.empty() ? "password (PBKDF2)" : recipient.fingerprint}};
    const std::string manifest_text = manifest.dump(2) + "\n";
    auto m = writer.value()->AddStream("manifest.json", [&](std::ostream& os) {
      os << manifest_text;
      return Status::Ok();
    });
    if (!m.ok()) return m.status();

    result.withheld = withheld;
    rec.record_count = records;
    // The package's hash is known only once it is finished; the rename is
    // the last step, so a failure before it leaves no package behind.
    auto finished = writer.value()->Finish();
    if (!finished.ok()) return finished.status();
    package_path = finished->name;
    rec.package_sha256 = finished->sha256;
    if (Status o =
            ctx.store->SetDeliveryOutcome(rec.id, "delivered", "", records, rec.package_sha256);
        !o.ok())
      return o;
    contracts::MediaRecord medium;
    medium.delivery_id = rec.id;
    medium.package_name = name;
    if (Status mr = ctx.store->AddMediaRecord(medium); !mr.ok()) return mr;
    nlohmann::json details = RecordJson(rec);
    details["withheld"] = withheld;
    details["package"] = name;
    details["recipient"] = manifest["recipient"];
    details["drawings"] = drawing_files.size();
    return ctx.audit->Append(ctx.actor, "delivery.media", "delivery:" + std::to_string(rec.id),
                             details);
  });
  if (!s.ok()) {
    // The transaction rolled back; a package renamed just before a failed
    // commit must not outlive its record.
    if (!package_path.empty()) {
      std::error_code ec;
      fs::remove(package_path, ec);
    }
    return record_failure(s);
  }
  result.package_path = package_path;
  result.passphrase = recipient.recipient.passphrase;
  return result;
}

}  // namespace itaku::gateway
