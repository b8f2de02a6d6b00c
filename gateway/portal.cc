// The store-backed portal backend, the portal commands and `itaku serve`.
#include <pthread.h>
#include <signal.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iostream>
#include <mutex>
#include <sstream>
#include <thread>

#include "contracts/base/date.h"
#include "contracts/base/files.h"
#include "contracts/base/layout.h"
#include "contracts/base/strings.h"
#include "contracts/config.h"
#include "gateway/console/console_app.h"
#include "gateway/console/console_server.h"
#include "gateway/detail/request_mail.h"
#include "gateway/portal_commands.h"
#include "gateway/pseudonym_key.h"
#include "gateway/reconcile.h"
#include "gateway/requests.h"
#include "gateway/staff_api.h"
#include "gateway/supervision.h"
#include "policies/delivery_rules.h"
#include "transports/certificate.h"
#include "transports/portal_backend.h"
#include "transports/portal_server.h"

namespace itaku::gateway {
namespace fs = std::filesystem;
namespace {

using Json = nlohmann::json;

PortalPackage ToView(const contracts::PortalPackageRecord& r) {
  PortalPackage p;
  p.id = r.id;
  p.delivery_id = r.delivery_id;
  p.contractor_id = r.contractor_id;
  p.file_name = r.file_name;
  p.path = r.path;
  p.size = static_cast<uint64_t>(r.size);
  p.sha256 = r.sha256;
  p.expires_at = r.expires_at;
  p.max_downloads = r.max_downloads;
  p.downloads = r.downloads;
  p.revoked = !r.revoked_at.empty();
  return p;
}

Json PackageJson(const contracts::PortalPackageRecord& r, const std::string& now) {
  const std::string gone = policies::PortalGoneReason(r, now);
  return {{"id", r.id},
          {"delivery_id", r.delivery_id},
          {"contractor", r.contractor_id},
          {"file_name", r.file_name},
          {"size", r.size},
          {"sha256", r.sha256},
          {"expires_at", r.expires_at},
          {"max_downloads", r.max_downloads},
          {"downloads", r.downloads},
          {"state", gone.empty() ? "available" : gone},
          {"published_by", r.published_by},
          {"published_at", r.published_at},
          {"revoked_by", r.revoked_by},
          {"revoked_at", r.revoked_at}};
}

// Backend errors cannot reach the contractor; they are reported on stderr
// (no personal data: ids and store messages only) and the request fails
// closed.
void Report(const std::string& what, const std::string& message) {
  std::cerr << "itaku serve: " << what << ": " << message << "\n";
}

// Deletes the file of a package that can no longer be downloaded (`reason`:
// "used up", "expired", "revoked") and puts that on record; the record
// stays. False when there was no file to delete (nothing is recorded then).
Result<bool> RemovePortalPackageFile(Context& ctx, const contracts::PortalPackageRecord& r,
                                     const std::string& reason, const std::string& actor) {
  std::error_code ec;
  const bool removed = fs::remove(r.path, ec);
  if (ec) {
    return Status::Io("cannot delete the file of portal package " + r.id + " (" + reason +
                      "): " + r.path + ": " + ec.message());
  }
  if (!removed) return false;
  Status s = ctx.audit->Append(actor, "portal.package-removed", "portal:" + r.id,
                               {{"contractor", r.contractor_id},
                                {"delivery_id", r.delivery_id},
                                {"file_name", r.file_name},
                                {"reason", reason}});
  if (!s.ok()) return s;
  return true;
}

}  // namespace

StorePortalBackend::StorePortalBackend(Context& ctx) : ctx_(ctx) {}

std::optional<std::string> StorePortalBackend::Authenticate(const std::string& fingerprint,
                                                            std::string* why) {
  auto found = ctx_.store->FindContractorByCertificate(fingerprint, "portal");
  if (!found.ok()) {
    Report("authenticate", found.message());
    *why = "store unavailable";
    return std::nullopt;
  }
  if (!found.value()) {
    *why = "no contractor has certificate " + fingerprint;
    return std::nullopt;
  }
  auto contractor = ctx_.store->FindContractor(*found.value());
  if (!contractor.ok() || !contractor.value()) {
    *why = "unknown contractor " + *found.value();
    return std::nullopt;
  }
  if (contractor.value()->status != contracts::ContractorStatus::kActive) {
    *why = "contractor " + contractor.value()->id + " is " +
           std::string(contracts::ToString(contractor.value()->status));
    return std::nullopt;
  }
  return contractor.value()->id;
}

std::vector<PortalPackage> StorePortalBackend::Available(const std::string& contractor_id) {
  std::vector<PortalPackage> out;
  auto list = ctx_.store->ListPortalPackages(contractor_id);
  if (!list.ok()) {
    Report("list", list.message());
    return out;
  }
  const std::string now = ctx_.clock->NowUtc();
  for (const auto& r : list.value()) {
    if (policies::PortalGoneReason(r, now).empty()) out.push_back(ToView(r));
  }
  return out;
}

PortalBackend::Access StorePortalBackend::Find(const std::string& contractor_id,
                                               const std::string& package_id, PortalPackage* out) {
  auto found = ctx_.store->FindPortalPackage(package_id);
  if (!found.ok()) {
    Report("find", found.message());
    return Access::kNotFound;
  }
  // Another contractor's package is as absent as a package that never was.
  if (!found.value() || found.value()->contractor_id != contractor_id) return Access::kNotFound;
  *out = ToView(*found.value());
  return policies::PortalGoneReason(*found.value(), ctx_.clock->NowUtc()).empty() ? Access::kOk
                                                                                  : Access::kGone;
}

transports::DownloadCoverage* StorePortalBackend::CoverageOf(const std::string& package_id,
                                                             uint64_t size) {
  auto it = coverage_.find(package_id);
  if (it != coverage_.end()) return &it->second;
  auto log = ctx_.store->ListPortalDownloads(package_id);
  if (!log.ok()) {
    Report("download log", log.message());
    return nullptr;
  }
  transports::DownloadCoverage coverage(size);
  for (const contracts::PortalDownload& d : log.value()) {
    coverage.Add(static_cast<uint64_t>(d.first_byte), static_cast<uint64_t>(d.bytes));
  }
  return &coverage_.emplace(package_id, std::move(coverage)).first->second;
}

PortalBackend::Slot StorePortalBackend::BeginDownload(const PortalCaller& /*caller*/,
                                                      const PortalPackage& package,
                                                      uint64_t first_byte, uint64_t length,
                                                      std::string* why) {
  if (first_byte != 0 || length < package.size) {
    transports::DownloadCoverage* coverage = CoverageOf(package.id, package.size);
    if (coverage == nullptr) {
      *why = "store unavailable";
      return Slot::kBusy;
    }
    if (coverage->pieces() >= kMaxCoveragePieces) {
      *why = "this package was sent in too many separate parts; download it whole";
      return Slot::kBusy;
    }
  }
  const std::string now = ctx_.clock->NowUtc();
  auto reserved = ctx_.store->ReservePortalDownload(package.id, now);
  if (!reserved.ok()) {
    Report("reserve", reserved.message());
    *why = "store unavailable";
    return Slot::kBusy;
  }
  if (reserved.value()) return Slot::kGranted;
  auto found = ctx_.store->FindPortalPackage(package.id);
  if (found.ok() && found.value()) {
    if (std::string gone = policies::PortalGoneReason(*found.value(), now); !gone.empty()) {
      coverage_.erase(package.id);
      *why = gone;
      return Slot::kGone;
    }
  }
  *why = "every download left of this package is under way; try again when one ends";
  return Slot::kBusy;
}

void StorePortalBackend::RecordDownload(const PortalCaller& caller, const std::string& package_id,
                                        uint64_t first_byte, uint64_t bytes, bool complete) {
  auto found = ctx_.store->FindPortalPackage(package_id);
  if (!found.ok()) Report("record download", found.message());
  if (!found.ok() || !found.value()) return;
  const contracts::PortalPackageRecord& package = *found.value();
  // Read before this download's row is written: the log is what came before.
  transports::DownloadCoverage* coverage =
      CoverageOf(package_id, static_cast<uint64_t>(package.size));
  contracts::PortalDownload d;
  d.package_id = package_id;
  d.at = ctx_.clock->NowUtc();
  d.contractor_id = caller.contractor_id;
  d.fingerprint = caller.fingerprint;
  d.address = caller.address;
  d.first_byte = static_cast<int64_t>(first_byte);
  d.bytes = static_cast<int64_t>(bytes);
  d.complete = complete;
  d.counted = coverage != nullptr && coverage->Add(first_byte, bytes);
  Status s = ctx_.store->Transaction([&]() -> Status {
    if (Status a = ctx_.store->EndPortalDownload(d); !a.ok()) return a;
    return ctx_.audit->Append(caller.contractor_id.empty() ? "portal" : caller.contractor_id,
                              "portal.download", "portal:" + package_id,
                              {{"contractor", caller.contractor_id},
                               {"fingerprint", caller.fingerprint},
                               {"address", caller.address},
                               {"first_byte", first_byte},
                               {"bytes", bytes},
                               {"complete", complete},
                               {"counted", d.counted}});
  });
  if (!s.ok()) {
    Report("record download", s.message());
    coverage_.erase(package_id);  // read again from the log, which lacks this download
    return;
  }
  // The last download allowed: no slot is left or held (completed plus
  // reserved never pass the limit), so nothing reads the file any more.
  if (d.counted && package.downloads + 1 >= package.max_downloads) {
    coverage_.erase(package_id);
    auto removed = RemovePortalPackageFile(ctx_, package, "used up", "itaku");
    if (!removed.ok()) Report("remove used-up package " + package_id, removed.message());
  }
}

transports::UploadAnswer StorePortalBackend::AcceptDisposalCertificate(
    const PortalCaller& caller, int64_t delivery_id, const std::string& method,
    const std::string& disposed_on, const std::string& file, const std::string& file_name) {
  using Kind = transports::UploadAnswer::Kind;
  DisposalInput input;
  input.delivery_id = delivery_id;
  input.method = method;
  input.disposed_on = disposed_on;
  input.certificate_file = file;
  input.certificate_name = file_name;
  input.portal_contractor = caller.contractor_id;
  Result<Output> recorded = DisposalRecord(ctx_, input);
  transports::UploadAnswer answer;
  if (!recorded.ok()) {
    answer.message = recorded.message();
    switch (recorded.kind()) {
      case ErrorKind::kNotFound:
        answer.kind = Kind::kNotFound;
        break;
      case ErrorKind::kConflict:
        answer.kind = Kind::kConflict;
        break;
      case ErrorKind::kInvalidInput:
      case ErrorKind::kRefused:
        answer.kind = Kind::kInvalid;
        break;
      case ErrorKind::kIo:
      case ErrorKind::kNetwork:
      case ErrorKind::kInternal:
        // Not the contractor's doing: a 500 it may retry, and a line for
        // the operator.
        answer.kind = Kind::kFailed;
        Report("record the disposal of delivery " + std::to_string(delivery_id),
               recorded.message());
        break;
    }
    return answer;
  }
  // The 201 says what the register holds; what it does not say comes from
  // the request (and the hash from the file, which is still there).
  const Json& out = recorded->json;
  auto text = [&](const char* key) -> std::string {
    return out.is_object() && out.contains(key) && out[key].is_string()
               ? out[key].get<std::string>()
               : "";
  };
  answer.kind = Kind::kAccepted;
  answer.certificate_sha256 = text("certificate_sha256");
  if (answer.certificate_sha256.empty()) {
    if (auto sha = Sha256File(file); sha.ok()) answer.certificate_sha256 = sha.value();
  }
  answer.method = text("method");
  if (answer.method.empty()) answer.method = method;
  answer.disposed_on = text("disposed_on");
  if (answer.disposed_on.empty()) answer.disposed_on = disposed_on;
  return answer;
}

void StorePortalBackend::Audit(const PortalCaller& caller, const std::string& method,
                               const std::string& target, const std::string& package_id,
                               uint64_t bytes, int status, const std::string& outcome) {
  Status s =
      ctx_.audit->Append(caller.contractor_id.empty() ? "portal" : caller.contractor_id,
                         "portal.request", package_id.empty() ? "portal" : "portal:" + package_id,
                         {{"contractor", caller.contractor_id},
                          {"fingerprint", caller.fingerprint},
                          {"address", caller.address},
                          {"method", method},
                          {"target", target.size() > 200 ? target.substr(0, 200) : target},
                          {"package", package_id},
                          {"bytes", bytes},
                          {"status", status},
                          {"outcome", outcome}});
  if (!s.ok()) Report("audit", s.message());
}

Result<Output> PortalList(Context& ctx, const std::optional<std::string>& contractor) {
  auto list = ctx.store->ListPortalPackages(contractor);
  if (!list.ok()) return list.status();
  const std::string now = ctx.clock->NowUtc();
  Output out{Json::array(), ""};
  for (const auto& r : list.value()) {
    Json j = PackageJson(r, now);
    auto downloads = ctx.store->ListPortalDownloads(r.id);
    if (!downloads.ok()) return downloads.status();
    j["download_log"] = Json::array();
    std::string log;
    for (const auto& d : downloads.value()) {
      j["download_log"].push_back({{"at", d.at},
                                   {"contractor", d.contractor_id},
                                   {"fingerprint", d.fingerprint},
                                   {"address", d.address},
                                   {"first_byte", d.first_byte},
                                   {"bytes", d.bytes},
                                   {"complete", d.complete},
                                   {"counted", d.counted}});
      log += "\n    " + ShowJst(d.at) + " " + d.contractor_id + " from " + d.address + ": " +
             std::to_string(d.bytes) + " bytes from " + std::to_string(d.first_byte) +
             (d.complete ? (d.counted ? ", complete" : ", complete part") : ", broken off");
    }
    out.json.push_back(j);
    out.text += r.id + "\t" + r.contractor_id + "\t" + r.file_name + "\t" +
                j["state"].get<std::string>() + "\tuntil " + ShowJst(r.expires_at) + "\t" +
                std::to_string(r.downloads) + "/" + std::to_string(r.max_downloads) + " downloads" +
                log + "\n";
  }
  if (out.text.empty()) out.text = "no portal packages\n";
  out.text.pop_back();
  return out;
}

Result<Output> PortalRevoke(Context& ctx, const std::string& package_id) {
  auto found = ctx.store->FindPortalPackage(package_id);
  if (!found.ok()) return found.status();
  if (!found.value()) return Status::NotFound("unknown portal package " + package_id);
  if (!found.value()->revoked_at.empty()) {
    return Result<Output>::Error("portal package " + package_id + " was already revoked on " +
                                 ShowJst(found.value()->revoked_at));
  }
  const std::string at = ctx.clock->NowUtc();
  Status s = ctx.store->Transaction([&]() -> Status {
    if (Status r = ctx.store->RevokePortalPackage(package_id, ctx.actor, at); !r.ok()) return r;
    return ctx.audit->Append(ctx.actor, "portal.revoke", "portal:" + package_id,
                             {{"contractor", found.value()->contractor_id},
                              {"delivery_id", found.value()->delivery_id}});
  });
  if (!s.ok()) return s;
  // The file goes too: nothing is served from it any more. (Should that
  // fail, the daemon's sweep tries again.)
  std::string text = "revoked portal package " + package_id + " of " + found.value()->contractor_id;
  auto removed = RemovePortalPackageFile(ctx, *found.value(), "revoked", ctx.actor);
  if (!removed.ok()) text += "; its file is not deleted yet: " + removed.message();
  return Output{{{"id", package_id}, {"revoked", true}}, text};
}

Result<int> SweepPortalPackages(Context& ctx) {
  auto list = ctx.store->ListPortalPackages(std::nullopt);
  if (!list.ok()) return list.status();
  const std::string now = ctx.clock->NowUtc();
  int removed = 0;
  Status first_error = Status::Ok();
  for (const contracts::PortalPackageRecord& r : list.value()) {
    const std::string reason = policies::PortalGoneReason(r, now);
    if (reason.empty()) continue;
    auto gone = RemovePortalPackageFile(ctx, r, reason, ctx.actor);
    if (!gone.ok()) {
      if (first_error.ok()) first_error = gone.status();
      continue;
    }
    if (gone.value()) ++removed;
  }
  if (!first_error.ok()) return first_error;
  return removed;
}

namespace {

// Runs `work` at once and then every `period` on a thread of its own, until
// destroyed (which waits for a run under way to finish).
class Periodically {
 public:
  Periodically(std::chrono::seconds period, std::function<void()> work)
      : period_(period), work_(std::move(work)), thread_([this] { Run(); }) {}
  ~Periodically() {
    {
      std::lock_guard lock(mu_);
      stop_ = true;
    }
    cv_.notify_all();
    thread_.join();
  }
  Periodically(const Periodically&) = delete;
  Periodically& operator=(const Periodically&) = delete;

 private:
  void Run() {
    std::unique_lock lock(mu_);
    do {
      lock.unlock();
      work_();
      lock.lock();
    } while (!cv_.wait_for(lock, period_, [&] { return stop_; }));
  }

  const std::chrono::seconds period_;
  const std::function<void()> work_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;
  std::thread thread_;  // last: starts after everything above exists
};

// A context of its own for a daemon thread that acts on the store as the
// daemon ("itaku"), with its own connection; nullopt when the store does not
// open (the thread tries again next time).
std::optional<Context> DaemonContext(const std::string& db_path, const AuditKeys* keys) {
  Context c;
  c.clock = std::make_unique<SystemClock>();
  auto store = contracts::Store::OpenSqlite(db_path);
  if (!store.ok()) return std::nullopt;
  c.store = std::move(store).value();
  c.db_path = db_path;
  c.actor = "itaku";
  if (keys != nullptr) c.audit = std::make_unique<AuditTrail>(*c.store, *c.clock, *keys);
  return c;
}

// Once per operator's day: a signed checkpoint of the audit chain, e-mailed
// to the privacy officers ([audit] checkpoint_mail_to, comma-separated,
// with the daemon's [smtp]) so that a copy of what the record held leaves
// the machine. Checked at start and every hour; a day that already has a
// checkpoint gets no second one. Mail failures are audited and retried the
// next hour.
class CheckpointWatch {
 public:
  CheckpointWatch(std::string db_path, std::string config_file, AuditKeys keys)
      : db_path_(std::move(db_path)),
        config_file_(std::move(config_file)),
        keys_(std::move(keys)),
        hourly_(std::chrono::hours(1), [this] { Once(); }) {}

 private:
  void Once() {
    auto opened = DaemonContext(db_path_, &keys_);
    if (!opened) return;
    Context& c = *opened;
    c.daemon_config = config_file_;
    const std::string today = FormatDate(c.clock->Today());
    auto latest = c.audit->LatestCheckpoint();
    if (!latest.ok()) return;
    std::optional<SignedCheckpoint> checkpoint = latest.value();
    const bool mailed_today =
        c.store->GetMeta("audit_checkpoint_mailed").value().value_or("") == today;
    if (mailed_today) return;
    if (!checkpoint || FormatDate(*JapanDayOf(checkpoint->checkpoint.at)) != today) {
      auto made = c.audit->Checkpoint("itaku");
      if (!made.ok()) {
        std::cerr << "itaku serve: cannot make the daily audit checkpoint: " << made.message()
                  << std::endl;
        return;
      }
      checkpoint = made.value();
    }
    auto file = contracts::Config::Load(config_file_);
    if (!file.ok()) return;
    std::vector<std::string> to;
    std::stringstream list(file->String("audit", "checkpoint_mail_to", ""));
    for (std::string address; std::getline(list, address, ',');) {
      while (!address.empty() && address.front() == ' ') address.erase(0, 1);
      while (!address.empty() && address.back() == ' ') address.pop_back();
      if (!address.empty()) to.push_back(address);
    }
    if (to.empty()) return;
    MailConfig config;
    config.config_file = config_file_;
    auto setup = ResolveMail(c, config);
    if (!setup.ok() || !setup->smtp) {
      std::cerr << "itaku serve: the daily audit checkpoint is not mailed: no [smtp] url in "
                << config_file_ << std::endl;
      return;
    }
    if (std::string why = MailRefusal(*setup); !why.empty()) {
      // Like every message: not signed by a placeholder nobody can answer.
      std::cerr << "itaku serve: the daily audit checkpoint is not mailed: " << why << std::endl;
      return;
    }
    const SignedCheckpoint& cp = *checkpoint;
    transports::MailMessage m;
    m.subject = "【Itaku】監査証跡チェックポイント " + today + " (" + cp.code + ")";
    m.body =
        "個人情報保護管理者 各位\n\n"
        "Itaku の監査証跡の本日のチェックポイントです。このメールは Itaku "
        "のサーバーの外で保管してください。\n"
        "記録が書き換えられていないことは、次のコマンドで確かめられます: itaku audit verify "
        "--checkpoint <このメールの JSON を保存したファイル、またはコード>\n\n"
        "コード(紙の台帳用): " +
        cp.code +
        "\n"
        "対象のイベント: " +
        std::to_string(cp.checkpoint.seq) +
        "\n"
        "署名日時: " +
        ShowJst(cp.checkpoint.at) +
        "\n"
        "署名鍵: " +
        cp.checkpoint.key_id +
        "\n\n"
        "--- checkpoint.json ---\n" +
        cp.ToJson().dump(2) + "\n";
    std::vector<std::string> sent, failed;
    for (const std::string& address : to) {
      m.to = address;
      auto r = SendWithRetries(*setup->smtp, m, config);
      (r.ok() ? sent : failed).push_back(address);
    }
    (void)c.audit->Append(
        "itaku", failed.empty() ? "audit.checkpoint.mailed" : "audit.checkpoint.mail-failed",
        "audit",
        {{"seq", cp.checkpoint.seq},
         {"code", cp.code},
         {"sent", sent.size()},
         {"failed", failed.size()}});
    if (failed.empty()) (void)c.store->SetMeta("audit_checkpoint_mailed", today);
  }

  const std::string db_path_;
  const std::string config_file_;
  const AuditKeys keys_;
  Periodically hourly_;  // last: runs once everything above exists
};

// Once at start and then daily while `serve` runs: a warning on stderr for
// each corrective-action request past its deadline (policy 6(4) "without
// delay"). Runs on its own thread with its own store connection (SQLite
// allows several); it only reads.
class OverdueWatch {
 public:
  explicit OverdueWatch(std::string db_path)
      : db_path_(std::move(db_path)), daily_(std::chrono::hours(24), [this] { WarnOnce(); }) {}

 private:
  void WarnOnce() {
    auto opened = DaemonContext(db_path_, nullptr);
    if (!opened) return;
    Context& c = *opened;
    auto list = ListRequests(c, /*overdue_only=*/true, std::nullopt, std::nullopt);
    if (!list.ok()) {
      std::cerr << "itaku serve: cannot check overdue requests: " << list.message() << "\n";
      return;
    }
    for (const auto& [r, overdue] : list.value()) {
      std::cerr << "itaku serve: warning: request " << r.id << " (subscriber " << r.subscriber_id
                << ", contractor " << r.contractor_id << ", " << contracts::ToString(r.state)
                << "): " << Join(overdue, "; ") << std::endl;
    }
  }

  const std::string db_path_;
  Periodically daily_;  // last: runs once everything above exists
};

// At start and then every `period` while `serve` runs: the files of portal
// packages that can no longer be downloaded are deleted (SweepPortalPackages),
// so an expired package does not outlive its expiry on disk by more than a
// period. Used-up and revoked ones go at once; this catches what that
// missed. Its own store connection, as OverdueWatch.
class PortalSweep {
 public:
  PortalSweep(std::string db_path, AuditKeys keys, std::chrono::seconds period)
      : db_path_(std::move(db_path)),
        keys_(std::move(keys)),
        periodic_(period, [this] { Once(); }) {}

 private:
  void Once() {
    auto opened = DaemonContext(db_path_, &keys_);
    if (!opened) return;
    Context& c = *opened;
    auto removed = SweepPortalPackages(c);
    if (!removed.ok()) {
      std::cerr << "itaku serve: portal packages: " << removed.message() << std::endl;
    }
  }

  const std::string db_path_;
  const AuditKeys keys_;
  Periodically periodic_;  // last: runs once everything above exists
};

// Every second while `serve` runs: the write-ahead log copied back into the
// store on a connection of its own (SQLite's passive checkpoint), for the
// staff sessions that leave it to this thread (Store::DeferCheckpoints):
// a command that wrote a million rows has answered by then.
class LogCheckpoints {
 public:
  explicit LogCheckpoints(std::string db_path)
      : db_path_(std::move(db_path)), periodic_(std::chrono::seconds(1), [this] { Once(); }) {}

 private:
  void Once() {
    if (!store_) {
      auto opened = contracts::Store::OpenSqlite(db_path_);
      if (!opened.ok()) return;  // tried again next time
      store_ = std::move(opened).value();
    }
    Status done = store_->CheckpointLog();
    if (!done.ok() && !warned_) {
      std::cerr << "itaku serve: " << done.message() << std::endl;
      warned_ = true;
    }
    if (done.ok()) warned_ = false;
  }

  const std::string db_path_;
  std::unique_ptr<contracts::Store> store_;
  bool warned_ = false;
  Periodically periodic_;  // last: runs once everything above exists
};

}  // namespace

namespace {

// The portal writes each certificate being uploaded here until the
// registry has copied it: the daemon's alone (0700). What a daemon that
// stopped mid-upload left is deleted.
Status PreparePortalUploads(const std::string& dir) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (!ec) fs::permissions(dir, fs::perms::owner_all, fs::perm_options::replace, ec);
  if (!ec) {
    for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
      fs::remove_all(it->path(), ec);
    }
  }
  if (ec) {
    return Status::Io("serve: cannot prepare the portal upload folder " + dir + ": " +
                      ec.message());
  }
  return Status::Ok();
}

// Waits for SIGTERM or SIGINT (when no portal runs to catch them).
void WaitForStopSignal() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  int got = 0;
  sigwait(&set, &got);
}

}  // namespace

Result<Output> Serve(Context& ctx, const ServeArgs& args) {
  using R = Result<Output>;
  PortalServerOptions options;
  auto file = contracts::Config::Load(args.config_file);
  if (!file.ok()) return file.status();
  auto number = [&](const char* key, int fallback) {
    return static_cast<int>(file->Int("portal", key, fallback));
  };
  options.listen = file->String("portal", "listen", options.listen);
  options.cert_file = file->String("portal", "cert", options.cert_file);
  options.key_file = file->String("portal", "key", options.key_file);
  options.max_connections = number("max_connections", options.max_connections);
  options.max_connections_per_address =
      number("max_connections_per_address", options.max_connections_per_address);
  options.handshake_timeout_ms = number("handshake_timeout_ms", options.handshake_timeout_ms);
  options.header_timeout_ms = number("header_timeout_ms", options.header_timeout_ms);
  options.io_timeout_ms = number("io_timeout_ms", options.io_timeout_ms);
  options.shutdown_grace_ms = number("shutdown_grace_ms", options.shutdown_grace_ms);
  const int sweep_seconds = number("sweep_seconds", 60);
  const int max_upload_mb =
      number("max_upload_mb", static_cast<int>(options.max_upload_bytes >> 20));
  options.max_upload_bytes = static_cast<uint64_t>(std::max(max_upload_mb, 0)) << 20;
  for (const auto& [key, value] :
       {std::pair{"max_connections", options.max_connections},
        std::pair{"max_connections_per_address", options.max_connections_per_address},
        std::pair{"handshake_timeout_ms", options.handshake_timeout_ms},
        std::pair{"sweep_seconds", sweep_seconds}, std::pair{"max_upload_mb", max_upload_mb}}) {
    if (value < 1) {
      return R::Error(args.config_file + ": [portal] " + key + " must be at least 1");
    }
  }
  StaffApiOptions api;
  api.db_path = ctx.db_path;
  api.config_file = args.config_file;
  api.audit_keys = ctx.audit->keys();
  api.socket_path = file->String("staff_api", "socket", args.socket_path);
  api.max_connections =
      static_cast<int>(file->Int("staff_api", "max_connections", api.max_connections));
  // What a subscriber id looks like here (policies/subscriber_id.h), for
  // every command and delivery. Compiled now: a daemon whose pattern does
  // not compile does not start. Unset or "": the default pattern.
  const std::string id_pattern = file->String("records", "subscriber_id_pattern", "");
  if (!id_pattern.empty()) {
    auto compiled = policies::SubscriberIdPattern::Compile(id_pattern);
    if (!compiled.ok()) {
      return R::Error(args.config_file +
                      ": [records] subscriber_id_pattern: " + compiled.message());
    }
    api.subscriber_id_pattern = compiled.value();
    ctx.subscriber_id_pattern = compiled.value();
  }
  if (!file->status().ok()) return file->status();
  // Flags win over the config file.
  if (!args.listen.empty()) options.listen = args.listen;
  if (!args.cert_file.empty()) options.cert_file = args.cert_file;
  if (!args.key_file.empty()) options.key_file = args.key_file;
  if (args.header_timeout_ms > 0) options.header_timeout_ms = args.header_timeout_ms;
  const bool portal = !options.cert_file.empty() || !options.key_file.empty();
  if (portal && (options.cert_file.empty() || options.key_file.empty())) {
    return R::Error(
        "serve: the portal needs both --portal-cert FILE and --portal-key FILE (or [portal] cert "
        "and key in --config)");
  }
  // Signals are taken by whoever waits for them, not by the threads.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGTERM);
  sigaddset(&stop_signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);

  // What a stopped daemon left half-done is settled before anyone asks.
  auto settled = Reconcile(ctx);
  if (!settled.ok())
    return R::Error("serve: cannot settle unfinished deliveries: " + settled.message());
  for (const std::string& line : settled.value()) std::cout << "settled " << line << std::endl;
  // Slots a stopped daemon held for downloads under way: those downloads
  // ended with it.
  auto released = ctx.store->ReleasePortalReservations();
  if (!released.ok()) {
    return R::Error("serve: cannot release portal download slots: " + released.message());
  }
  if (released.value() > 0) {
    std::cout << "settled " << released.value()
              << " portal download slot(s) held by downloads cut off when the daemon stopped"
              << std::endl;
  }
  // A store made before the pseudonym key lived beside it gives it up now.
  if (auto moved = MovePseudonymKeyOutOfStore(ctx); !moved.ok()) {
    return R::Error("serve: cannot move the pseudonym key out of the store: " + moved.message());
  }
  auto staff_api = StaffApiServer::Create(api);
  if (!staff_api.ok()) return staff_api.status();
  StorePortalBackend backend(ctx);
  std::unique_ptr<PortalServer> server;
  std::string where;
  if (portal) {
    options.upload_dir = StoreLayout(ctx.db_path).PortalUploads();
    if (Status s = PreparePortalUploads(options.upload_dir); !s.ok()) return s;
    auto created = PortalServer::Create(options, backend);
    if (!created.ok()) return created.status();
    server = std::move(created).value();
    where =
        options.listen.substr(0, options.listen.rfind(':')) + ":" + std::to_string(server->port());
  }
  // The staff console, on its own listener (never the portal's).
  console::ConsoleServerOptions console_options;
  console_options.listen = file->String("console", "listen", console_options.listen);
  console_options.cert_file = file->String("console", "cert", "");
  console_options.key_file = file->String("console", "key", "");
  console_options.max_upload_bytes =
      static_cast<uint64_t>(file->Int("console", "max_upload_mb",
                                      static_cast<int64_t>(console_options.max_upload_bytes >> 20)))
      << 20;
  if (!args.console_listen.empty()) console_options.listen = args.console_listen;
  if (!args.console_cert.empty()) console_options.cert_file = args.console_cert;
  if (!args.console_key.empty()) console_options.key_file = args.console_key;
  std::unique_ptr<console::ConsoleApp> console_app;
  std::unique_ptr<console::ConsoleServer> console_server;
  std::string console_where;
  if (!console_options.cert_file.empty() || !console_options.key_file.empty()) {
    if (console_options.cert_file.empty() || console_options.key_file.empty()) {
      return R::Error(
          "serve: the console needs both --console-cert FILE and --console-key FILE "
          "(or [console] cert and key in --config)");
    }
    if (portal && console_options.listen.substr(console_options.listen.rfind(':')) ==
                      where.substr(where.rfind(':'))) {
      return R::Error("serve: the console cannot listen on the portal's port " + where);
    }
    console::ConsoleOptions app_options;
    app_options.staff.db_path = ctx.db_path;
    app_options.staff.config_file = args.config_file;
    app_options.staff.audit_keys = ctx.audit->keys();
    app_options.staff.subscriber_id_pattern = api.subscriber_id_pattern;
    app_options.staff.spool_root = StoreLayout(ctx.db_path).Root() + "/spool/console";
    app_options.staff.writer = staff_api.value()->writer();
    app_options.keys_dir = StoreLayout(ctx.db_path).ConsoleKeys();
    app_options.staged_root = StoreLayout(ctx.db_path).Root() + "/console";
    auto made = console::ConsoleApp::Create(app_options);
    if (!made.ok()) return made.status();
    console_app = std::move(made).value();
    auto listening = console::ConsoleServer::Create(console_options, *console_app);
    if (!listening.ok()) return listening.status();
    console_server = std::move(listening).value();
    console_where = console_options.listen.substr(0, console_options.listen.rfind(':')) + ":" +
                    std::to_string(console_server->port());
  }
  OverdueWatch watch(ctx.db_path);
  CheckpointWatch checkpoints(ctx.db_path, args.config_file, ctx.audit->keys());
  PortalSweep sweep(ctx.db_path, ctx.audit->keys(), std::chrono::seconds(sweep_seconds));
  LogCheckpoints log_checkpoints(ctx.db_path);
  const Json started = {{"socket", api.socket_path}, {"portal", where}, {"console", console_where}};
  if (Status a = ctx.audit->Append(ctx.actor, "serve.start", "daemon", started); !a.ok()) {
    return R::Error("serve: not started: the audit trail cannot be written: " + a.message());
  }
  std::thread api_thread([&] { staff_api.value()->Run(); });
  std::cout << "staff API listening on " << api.socket_path << std::endl;
  std::thread console_thread;
  if (console_server) {
    console_thread = std::thread([&] { console_server->Run(); });
    std::cout << "console listening on https://" << console_where << "/" << std::endl;
  }
  Status ran = Status::Ok();
  if (server) {
    std::cout << "portal listening on https://" << where << "/portal/v1/packages" << std::endl;
    pthread_sigmask(SIG_UNBLOCK, &stop_signals, nullptr);
    ran = server->Run(true);
  } else {
    WaitForStopSignal();
  }
  staff_api.value()->Stop();
  api_thread.join();
  if (console_server) {
    console_server->Stop();
    console_thread.join();
  }
  Status stopped = ctx.audit->Append(ctx.actor, "serve.stop", "daemon", started);
  if (!ran.ok()) return Status::Error(WithAuditFailure(ran.message(), stopped));
  if (!stopped.ok()) {
    return R::Error("serve: stopped, but the stop could not be written to the audit trail: " +
                    stopped.message());
  }
  return Output{started, "daemon stopped"};
}

}  // namespace itaku::gateway
