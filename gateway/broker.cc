#include "gateway/broker.h"

#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <ctime>
#include <deque>
#include <filesystem>
#include <fstream>
#include <functional>
#include <mutex>
#include <sstream>
#include <thread>

#include "contracts/base/files.h"
#include "gateway/requests.h"
#include "policies/decision.h"
#include "transports/certificate.h"
#include "transports/media_package.h"
#include "transports/sftp_transport.h"
#include "contracts/base/layout.h"

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

// Everything a package is made from. Borrowed from Deliver for one call.
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

struct PackageWritten {
  std::string path;  // the package under its final name
  std::vector<std::string> withheld;
  std::vector<int64_t> special_requests;  // that shaped it
  size_t drawings = 0;
  nlohmann::json recipient;
};

// The encrypted package of the media issue (ZIP of data.csv, drawings and
// manifest.json in a CMS envelope), written as `dir`/`name`. Runs inside
// the caller's transaction: the subscriber ids are recorded as the records
// stream past. The final name appears only once the package is complete.
Result<PackageWritten> WriteEncryptedPackage(PackageJob& job, const std::string& dir,
                                             const std::string& name) {
  const contracts::ContractProfile& p = job.profile;
  contracts::DeliveryRecord& rec = job.rec;
  auto writer = transports::MediaPackageWriter::Create(dir, name, job.recipient.recipient);
  if (!writer.ok()) return writer.status();

  std::vector<std::pair<std::string, std::string>> drawing_files;  // subscriber, file
  int64_t records = 0;
  PackageWritten out;
  nlohmann::json files = nlohmann::json::array();
  SubscriberRecorder recorder(*job.ctx.store, rec.id);
  auto data = writer.value()->AddStream("data.csv", [&](std::ostream& os) -> Status {
    auto summary = policies::Project(
        job.spec, job.in, rec.input_name, &os,
        [&](std::string_view subscriber, std::string_view drawing) -> Status {
          if (job.drawings && !drawing.empty()) {
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
    out.withheld = summary->withheld_fields;
    out.special_requests = summary->applied_overrides;
    return Status::Ok();
  });
  // Joined before anything else touches the store, error or not.
  Status recorded = recorder.Finish();
  if (!data.ok()) return data.status();
  if (!recorded.ok()) return recorded;
  files.push_back({{"name", "data.csv"}, {"size", data->size}, {"sha256", data->sha256}});
  for (const auto& [subscriber, file] : drawing_files) {
    const std::string source = (fs::path(job.attachments) / file).string();
    if (!fs::is_regular_file(source)) {
      return Status::Error("subscriber " + subscriber + ": house drawing file missing from " +
                           job.attachments);
    }
    auto added = writer.value()->AddFile("drawings/" + file, source);
    if (!added.ok()) return added.status();
    files.push_back(
        {{"name", "drawings/" + file}, {"size", added->size}, {"sha256", added->sha256}});
  }
  const contracts::Nda* nda = nullptr;
  for (const auto& n : job.ndas) {
    if (rec.nda_id && n.id == *rec.nda_id) nda = &n;
  }
  out.recipient =
      job.recipient.fingerprint.empty() ? "password (PBKDF2)" : job.recipient.fingerprint;
  nlohmann::json manifest = {
      {"delivery_id", rec.id},
      {"contractor", p.contractor_id},
      {"profile", {{"id", p.id}, {"version", p.version}}},
      {"purpose", p.purpose},
      {"fields", p.fields},
      {"extra_fields", job.spec.extra_fields},
      {"masks", p.masks},
      {"encoding", p.output_encoding},
      {"records", records},
      {"files", files},
      {"created_at", rec.ordered_at},
      {"delete_by", FormatDate(AddDays(job.ctx.clock->Today(), p.retention_days))},
      {"retention_days", p.retention_days},
      {"nda", nda ? nlohmann::json{{"id", nda->id},
                                   {"in_force_until", FormatDate(nda->in_force_until)},
                                   {"document_sha256", nda->document_sha256}}
                  : nlohmann::json()},
      {"recipient", out.recipient}};
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
// it directly over SFTP. Written to a temporary name beside `name` and
// renamed when complete.
Result<PackageWritten> WriteCsvPackage(PackageJob& job, const std::string& dir,
                                       const std::string& name) {
  contracts::DeliveryRecord& rec = job.rec;
  auto suffix = RandomHex32();
  if (!suffix.ok()) return suffix.status();
  const fs::path final_path = fs::path(dir) / name;
  const fs::path temp = fs::path(dir) / ("." + name + ".partial-" + suffix->substr(0, 12));
  auto fail = [&](const Status& why) -> Result<PackageWritten> {
    std::error_code ec;
    fs::remove(temp, ec);
    return why;
  };
  PackageWritten out;
  {
    std::ofstream os(temp, std::ios::binary | std::ios::trunc);
    if (!os) return Status::Error("cannot write " + temp.string());
    SubscriberRecorder recorder(*job.ctx.store, rec.id);
    auto summary = policies::Project(job.spec, job.in, rec.input_name, &os,
                                     [&](std::string_view subscriber, std::string_view) -> Status {
                                       return recorder.Add(subscriber);
                                     });
    Status recorded = recorder.Finish();
    if (!summary.ok()) return fail(summary.status());
    if (!recorded.ok()) return fail(recorded);
    os.flush();
    if (!os) return fail(Status::Error("cannot write " + temp.string() + " (disk full?)"));
    rec.record_count = summary->records;
    out.withheld = summary->withheld_fields;
    out.special_requests = summary->applied_overrides;
  }
  auto sha = Sha256File(temp.string());
  if (!sha.ok()) return fail(sha.status());
  std::error_code ec;
  fs::rename(temp, final_path, ec);
  if (ec) return fail(Status::Error("cannot rename " + temp.string() + ": " + ec.message()));
  rec.package_sha256 = sha.value();
  out.path = final_path.string();
  out.recipient = "none (plain CSV over SSH)";
  return out;
}

Result<PackageWritten> WritePackage(PackageJob& job, const std::string& dir,
                                    const std::string& name) {
  if (job.profile.output_package == "csv") return WriteCsvPackage(job, dir, name);
  return WriteEncryptedPackage(job, dir, name);
}

// "7d", "48h", "30m": how long a portal package stays available; at most
// 90 days.
std::optional<std::chrono::seconds> ParseLifetime(const std::string& text) {
  if (text.size() < 2) return std::nullopt;
  const char unit = text.back();
  const std::string digits = text.substr(0, text.size() - 1);
  if (digits.find_first_not_of("0123456789") != std::string::npos || digits.size() > 6) {
    return std::nullopt;
  }
  const long n = std::stol(digits);
  long seconds = 0;
  if (unit == 'd') seconds = n * 86400;
  if (unit == 'h') seconds = n * 3600;
  if (unit == 'm') seconds = n * 60;
  if (seconds <= 0 || seconds > 90L * 86400) return std::nullopt;
  return std::chrono::seconds(seconds);
}

}  // namespace

Result<std::string> ReadKeyPassphrase(const std::string& source) {
  if (source.empty()) return std::string();
  if (source.rfind("env:", 0) == 0) {
    const std::string name = source.substr(4);
    const char* value = std::getenv(name.c_str());
    if (value == nullptr || *value == '\0') {
      return Result<std::string>::Error("the key passphrase variable " + name + " is not set");
    }
    return std::string(value);
  }
  if (source.rfind("file:", 0) == 0) {
    const std::string path = source.substr(5);
    std::ifstream in(path, std::ios::binary);
    std::string line;
    if (!in || !std::getline(in, line)) {
      return Result<std::string>::Error("cannot read the key passphrase file " + path);
    }
    if (!line.empty() && line.back() == '\r') line.pop_back();
    return line;
  }
  return Result<std::string>::Error("unknown key passphrase source " + source);
}

nlohmann::json AttemptsJson(const std::vector<contracts::DeliveryAttempt>& attempts) {
  nlohmann::json out = nlohmann::json::array();
  for (const auto& a : attempts) {
    out.push_back({{"attempt", a.attempt},
                   {"started_at", a.started_at},
                   {"finished_at", a.finished_at},
                   {"outcome", a.outcome},
                   {"error", a.error}});
  }
  return out;
}

namespace {

// Inside the caller's transaction: records the delivery with `outcome`,
// writes its package as `dir`/<contractor>-<id><suffix>, links the special
// requests that shaped it and stores its hash. `result` gets what was
// withheld; the returned JSON is the audit event's details.
struct Recorded {
  std::string path;
  std::string name;
  nlohmann::json details;
};
Result<Recorded> RecordWithPackage(PackageJob& job, const std::string& dir,
                                   const std::string& outcome, const std::string& suffix,
                                   DeliverResult& result) {
  contracts::DeliveryRecord& rec = job.rec;
  contracts::Store& store = *job.ctx.store;
  rec.outcome = outcome;
  auto id = store.AddDelivery(rec);
  if (!id.ok()) return id.status();
  rec.id = id.value();
  Recorded out;
  out.name = job.profile.contractor_id + "-" + std::to_string(rec.id) + suffix;
  auto written = WritePackage(job, dir, out.name);
  if (!written.ok()) return written.status();
  out.path = written->path;
  result.withheld = written->withheld;
  result.special_requests = written->special_requests;
  if (Status sr = store.AddDeliverySpecialRequests(rec.id, written->special_requests); !sr.ok()) {
    return sr;
  }
  if (Status o =
          store.SetDeliveryOutcome(rec.id, outcome, "", rec.record_count, rec.package_sha256);
      !o.ok()) {
    return o;
  }
  out.details = RecordJson(rec);
  out.details["withheld"] = written->withheld;
  out.details["package"] = out.name;
  out.details["recipient"] = written->recipient;
  out.details["drawings"] = written->drawings;
  out.details["special_requests"] = written->special_requests;
  return out;
}

// The SFTP endpoint of a contractor, ready to use, or why it cannot be.
struct SftpTarget {
  transports::SftpEndpoint endpoint;
  std::string refusal;
};

Result<SftpTarget> ResolveSftpTarget(Context& ctx, const std::string& contractor) {
  SftpTarget t;
  auto found = ctx.store->FindSftpEndpoint(contractor);
  if (!found.ok()) return found.status();
  if (!found.value()) {
    t.refusal = "contractor " + contractor +
                " has no SFTP server registered (itaku contractor update " + contractor +
                " --sftp URL --host-key SHA256:... --key FILE)";
    return t;
  }
  const contracts::SftpEndpointRecord& r = *found.value();
  auto parsed = transports::ParseSftpUrl(r.url);
  if (!parsed.ok()) {
    t.refusal = "contractor " + contractor + ": " + parsed.message();
    return t;
  }
  t.endpoint = std::move(parsed).value();
  if (r.host_key.empty()) {
    t.refusal = "contractor " + contractor +
                ": no host key pinned for its SFTP server, so no delivery (see itaku contractor "
                "probe " +
                contractor + ")";
    return t;
  }
  t.endpoint.pinned_host_key = r.host_key;
  t.endpoint.private_key_file = r.key_path;
  auto phrase = ReadKeyPassphrase(r.passphrase_source);
  if (!phrase.ok()) {
    t.refusal = "contractor " + contractor + ": " + phrase.message();
    return t;
  }
  t.endpoint.passphrase = std::move(phrase).value();
  return t;
}

std::string AttemptOutcome(const transports::SftpResult<transports::UploadResult>& r) {
  if (r.ok()) return r->already_there ? "already-there" : "delivered";
  return r.retryable() ? "network-error" : "refused";
}

using RecordFailure = std::function<Result<DeliverResult>(const Status&)>;

// Fills `result`; an error means the delivery failed (already recorded).
Status DeliverBySftp(Context& ctx, const DeliverRequest& req, PackageJob& job,
                     const transports::SftpEndpoint& endpoint, DeliverResult& result,
                     const RecordFailure& record_failure) {
  contracts::DeliveryRecord& rec = job.rec;
  const std::string outbox = StoreLayout(ctx.db_path).Outbox();
  std::error_code ec;
  fs::create_directories(outbox, ec);
  if (ec) return record_failure(Status::Error("cannot create the outbox " + outbox)).status();
  fs::permissions(outbox, fs::perms::owner_all, fs::perm_options::replace, ec);

  // Built and recorded before a byte leaves: from here on the delivery
  // counts as received ("sending") until the upload says otherwise.
  std::string package_path;
  std::string name;
  Status built = ctx.store->Transaction([&]() -> Status {
    auto recorded = RecordWithPackage(
        job, outbox, "sending", job.profile.output_package == "csv" ? ".csv" : ".zip.p7m", result);
    if (!recorded.ok()) return recorded.status();
    package_path = recorded->path;
    name = recorded->name;
    nlohmann::json& details = recorded->details;
    details["server"] = endpoint.host + ":" + std::to_string(endpoint.port);
    return ctx.audit->Append(ctx.actor, "delivery.sending", "delivery:" + std::to_string(rec.id),
                             details);
  });
  auto drop_package = [&] {
    if (!package_path.empty()) fs::remove(package_path, ec);
  };
  if (!built.ok()) {
    drop_package();
    return record_failure(built).status();
  }

  const transports::SftpTimeouts timeouts{.connect_ms = req.connect_timeout_ms,
                                          .io_ms = req.io_timeout_ms};
  std::string last_error;
  std::string outcome = "failed";
  for (int attempt = 1; attempt <= req.retries + 1; ++attempt) {
    contracts::DeliveryAttempt a;
    a.delivery_id = rec.id;
    a.attempt = attempt;
    a.started_at = ctx.clock->NowUtc();
    auto up = transports::SftpUpload(endpoint, package_path, name, timeouts);
    a.finished_at = ctx.clock->NowUtc();
    a.outcome = AttemptOutcome(up);
    if (!up.ok()) a.error = up.message();
    result.attempts.push_back(a);
    if (Status s = ctx.store->AddDeliveryAttempt(a); !s.ok()) {
      drop_package();
      return s;
    }
    if (up.ok()) {
      outcome = "delivered";
      break;
    }
    last_error = up.message();
    if (!up.retryable()) {
      outcome = "refused";
      break;
    }
    if (attempt <= req.retries) {
      const double wait = req.retry_wait_s * static_cast<double>(1 << std::min(attempt - 1, 10));
      std::this_thread::sleep_for(std::chrono::duration<double>(wait));
    }
  }
  drop_package();

  std::string reason;
  if (outcome == "refused") reason = last_error;
  if (outcome == "failed") {
    reason = "gave up after " + std::to_string(result.attempts.size()) + " attempts: " + last_error;
  }
  rec.outcome = outcome;
  rec.reason = reason;
  Status s = ctx.store->Transaction([&]() -> Status {
    if (Status o = ctx.store->SetDeliveryOutcome(rec.id, outcome, reason, rec.record_count,
                                                 rec.package_sha256);
        !o.ok())
      return o;
    nlohmann::json details = RecordJson(rec);
    details["package"] = name;
    details["server"] = endpoint.host + ":" + std::to_string(endpoint.port);
    details["attempts"] = AttemptsJson(result.attempts);
    const std::string event = outcome == "delivered" ? "delivery.sftp"
                              : outcome == "refused" ? "delivery.refused"
                                                     : "delivery.failed";
    return ctx.audit->Append(ctx.actor, event, "delivery:" + std::to_string(rec.id), details);
  });
  if (!s.ok()) return s;
  if (outcome == "refused") {
    result.reasons.push_back(reason);
    return Status::Ok();
  }
  if (outcome == "failed") {
    return Status::Error("delivery " + std::to_string(rec.id) + " to contractor " +
                         rec.contractor_id + " failed: " + reason);
  }
  std::string dir = endpoint.remote_dir;
  if (!dir.empty() && dir.back() != '/') dir += '/';
  const std::string host =
      endpoint.host.find(':') == std::string::npos ? endpoint.host : "[" + endpoint.host + "]";
  result.package_path = "sftp://" + endpoint.user + "@" + host + ":" +
                        std::to_string(endpoint.port) + "/" + dir + name;
  result.passphrase = job.recipient.recipient.passphrase;
  return Status::Ok();
}

}  // namespace

Result<DeliverResult> Deliver(Context& ctx, const DeliverRequest& req) {
  auto refuse_early = [&](const std::string& why) -> Result<DeliverResult> {
    Status audited = ctx.audit->Append(ctx.actor, "delivery.refused", "profile:" + req.profile_id,
                                       {{"reason", why}, {"transport", req.transport}});
    return Result<DeliverResult>::Error(WithAuditFailure(why, audited));
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
  const bool sftp = req.transport == "sftp" && !req.dry_run;
  const bool portal = req.transport == "portal" && !req.dry_run;
  std::optional<std::chrono::seconds> portal_lifetime;
  if (portal) {
    portal_lifetime = ParseLifetime(req.expires_in);
    if (!portal_lifetime) {
      return refuse_early("--expires-in must read like 7d, 48h or 30m (at most 90d), got " +
                          req.expires_in);
    }
    if (req.max_downloads < 1 || req.max_downloads > 1000000) {
      return refuse_early("--max-downloads must be 1 to 1000000");
    }
  }
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
  std::optional<transports::SftpEndpoint> endpoint;
  if (sftp) {
    auto target = ResolveSftpTarget(ctx, p.contractor_id);
    if (!target.ok()) return target.status();
    if (!target->refusal.empty()) decision.reasons.push_back(target->refusal);
    endpoint = std::move(target->endpoint);
    if (p.output_package == "csv" && SendsDrawings(p)) {
      decision.reasons.push_back("profile " + p.id +
                                 " sends house drawings, which a plain CSV package cannot carry");
    }
  }
  if (media || portal || (sftp && p.output_package != "csv")) {
    auto chosen = ChooseRecipient(ctx, p.contractor_id, req.password_recipient);
    if (!chosen.ok()) return chosen.status();
    recipient = std::move(chosen).value();
    if (!recipient.refusal.empty()) decision.reasons.push_back(recipient.refusal);
  } else if (!req.dry_run && !sftp && !portal) {
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

  // Special requests (policy 6(1)) in force today for this contractor or
  // purpose: who is left out, what is withheld or, with consent, added.
  auto shaping = ShapeBySpecialRequests(ctx, p.contractor_id, p.purpose, p.fields);
  if (!shaping.ok()) return shaping.status();
  spec.overrides = std::move(shaping->overrides);
  if (!shaping->extra_fields.empty()) {
    // An extension of a field this export does not have cannot be honoured;
    // it is reported, and the delivery goes ahead without it.
    auto columns = policies::ExportColumns(req.input_path, req.input_encoding);
    for (const std::string& f : shaping->extra_fields) {
      const bool present =
          columns.ok() && std::find(columns->begin(), columns->end(), f) != columns->end();
      if (present) {
        spec.extra_fields.push_back(f);
        continue;
      }
      result.notes.push_back("an extension adds " + f + ", which " + rec.input_name +
                             " does not have; not sent");
      for (auto& [subscriber, o] : spec.overrides) o.extended.erase(f);
    }
  }

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
    result.special_requests = summary->applied_overrides;
    rec.outcome = "dry-run";
    rec.record_count = summary->records;
    Status s = ctx.store->Transaction([&]() -> Status {
      auto id = ctx.store->AddDelivery(rec);
      if (!id.ok()) return id.status();
      rec.id = id.value();
      if (Status sr = ctx.store->AddDeliverySpecialRequests(rec.id, result.special_requests);
          !sr.ok())
        return sr;
      nlohmann::json details = RecordJson(rec);
      details["withheld"] = result.withheld;
      details["special_requests"] = result.special_requests;
      return ctx.audit->Append(ctx.actor, "delivery.dry-run", "delivery:" + std::to_string(rec.id),
                               details);
    });
    if (!s.ok()) return s;
    return result;
  }

  const bool drawings = SendsDrawings(p);
  const std::string attachments = req.attachments_dir;
  if (drawings && (attachments.empty() || !fs::is_directory(attachments))) {
    return record_failure(Status::Error(
        "profile " + p.id + " sends house drawings: --attachments must name their folder"));
  }
  PackageJob job{ctx, p, spec, in, rec, recipient, ndas.value(), drawings, attachments};

  if (sftp) {
    Status sent = DeliverBySftp(ctx, req, job, *endpoint, result, record_failure);
    if (!sent.ok()) return sent;
    return result;
  }

  // The media (or portal) package, in one transaction with its record: the
  // delivery row, the subscriber ids (streamed in batches), the package, the
  // medium or the publication, and the audit event land together or not at
  // all.
  std::string package_path;
  std::string out_dir = req.out_dir;
  if (portal) {
    out_dir = StoreLayout(ctx.db_path).Portal();
    std::error_code ec;
    fs::create_directories(out_dir, ec);
    fs::permissions(out_dir, fs::perms::owner_all, fs::perm_options::replace, ec);
  }
  Status s = ctx.store->Transaction([&]() -> Status {
    auto recorded = RecordWithPackage(job, out_dir, "delivered", ".zip.p7m", result);
    if (!recorded.ok()) return recorded.status();
    package_path = recorded->path;
    const std::string& name = recorded->name;
    nlohmann::json& details = recorded->details;
    if (portal) {
      auto id = RandomHex32();
      if (!id.ok()) return id.status();
      contracts::PortalPackageRecord pkg;
      pkg.id = id->substr(0, 32);
      pkg.delivery_id = rec.id;
      pkg.contractor_id = p.contractor_id;
      pkg.file_name = name;
      pkg.path = package_path;
      std::error_code size_ec;
      pkg.size = static_cast<int64_t>(fs::file_size(package_path, size_ec));
      pkg.sha256 = rec.package_sha256;
      pkg.expires_at = FormatUtc(ctx.clock->Now() + *portal_lifetime);
      pkg.max_downloads = req.max_downloads;
      pkg.published_by = ctx.actor;
      pkg.published_at = ctx.clock->NowUtc();
      if (Status pp = ctx.store->AddPortalPackage(pkg); !pp.ok()) return pp;
      result.portal_package_id = pkg.id;
      result.portal_expires_at = pkg.expires_at;
      details["portal_package"] = pkg.id;
      details["expires_at"] = pkg.expires_at;
      details["max_downloads"] = pkg.max_downloads;
      return ctx.audit->Append(ctx.actor, "delivery.portal", "delivery:" + std::to_string(rec.id),
                               details);
    }
    contracts::MediaRecord medium;
    medium.delivery_id = rec.id;
    medium.package_name = name;
    if (Status mr = ctx.store->AddMediaRecord(medium); !mr.ok()) return mr;
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
