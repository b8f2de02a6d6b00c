#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <thread>

#include "contracts/base/layout.h"
#include "gateway/handoff.h"
#include "gateway/records_json.h"
#include "policies/registry_rules.h"

namespace itaku::gateway {
namespace {

namespace fs = std::filesystem;

using contracts::AttemptOutcome;
using contracts::DeliveryOutcome;

AttemptOutcome OutcomeOf(const transports::SftpResult<transports::UploadResult>& r) {
  if (r.ok()) return r->already_there ? AttemptOutcome::kAlreadyThere : AttemptOutcome::kDelivered;
  return r.retryable() ? AttemptOutcome::kNetworkError : AttemptOutcome::kRefused;
}

// Backoff before retry `attempt`: wait, 2 x wait, 4 x wait, ... (capped at 1024 x).
double RetryWait(double first_wait_s, int attempt) {
  return first_wait_s * static_cast<double>(1 << std::min(attempt - 1, 10));
}

std::string ServerText(const transports::SftpEndpoint& e) {
  return e.host + ":" + std::to_string(e.port);
}

class Sftp : public Handoff {
 public:
  Sftp(transports::SftpEndpoint endpoint, const DeliverRequest& req)
      : endpoint_(std::move(endpoint)), req_(req) {}

  Status Run(PackageJob& job, DeliverResult& result, const RecordFailure& record_failure) override {
    if (Status b = BeginDelivery(job, job.profile.output_package == "csv" ? ".csv" : ".zip.p7m");
        !b.ok()) {
      return record_failure(b).status();
    }
    if (Status b = Build(job, result); !b.ok()) {
      DropPackage();
      return FailDelivery(job.ctx, job.rec, b);
    }
    Status tried = UploadWithRetries(job, result);
    DropPackage();
    if (!tried.ok()) return tried;
    return Finish(job, result);
  }

 private:
  // The package in the outbox, recorded as "sending" before a byte leaves:
  // the delivery counts as received until the upload says otherwise.
  Status Build(PackageJob& job, DeliverResult& result) {
    Context& ctx = job.ctx;
    const std::string outbox = StoreLayout(ctx.db_path).Outbox();
    std::error_code ec;
    fs::create_directories(outbox, ec);
    if (ec) return Status::Io("cannot create the outbox " + outbox);
    fs::permissions(outbox, fs::perms::owner_all, fs::perm_options::replace, ec);
    auto recorded = WriteDeliveryPackage(job, outbox, result);
    if (!recorded.ok()) return recorded.status();
    package_path_ = recorded->path;
    name_ = recorded->name;
    return ctx.store->Transaction([&]() -> Status {
      if (Status f = FinishDelivery(job, DeliveryOutcome::kSending, result); !f.ok()) return f;
      recorded->details = ToJson(job.rec);
      recorded->details["package"] = name_;
      recorded->details["server"] = ServerText(endpoint_);
      recorded->details["withheld"] = result.withheld;
      recorded->details["special_requests"] = result.special_requests;
      // A plain CSV goes to the contractor's batch as it is: what the
      // formula guard did is on record with it.
      recorded->details["formula_guard"] = job.spec.formula_guard;
      recorded->details["formula_guarded_cells"] = result.formula_guarded;
      return ctx.audit->Append(ctx.actor, "delivery.sending",
                               "delivery:" + std::to_string(job.rec.id), recorded->details);
    });
  }

  // Tries, each on record; network errors are retried with backoff,
  // refusals never. Sets outcome_ and last_error_; an error is the store's.
  Status UploadWithRetries(PackageJob& job, DeliverResult& result) {
    Context& ctx = job.ctx;
    const transports::SftpTimeouts timeouts{.connect_ms = req_.connect_timeout_ms,
                                            .io_ms = req_.io_timeout_ms};
    for (int attempt = 1; attempt <= req_.retries + 1; ++attempt) {
      contracts::DeliveryAttempt a;
      a.delivery_id = job.rec.id;
      a.attempt = attempt;
      a.started_at = ctx.clock->NowUtc();
      auto up = transports::SftpUpload(endpoint_, package_path_, name_, timeouts);
      a.finished_at = ctx.clock->NowUtc();
      a.outcome = OutcomeOf(up);
      if (!up.ok()) a.error = up.message();
      result.attempts.push_back(a);
      if (Status s = ctx.store->AddDeliveryAttempt(a); !s.ok()) return s;
      if (up.ok()) {
        outcome_ = DeliveryOutcome::kDelivered;
        return Status::Ok();
      }
      last_error_ = up.message();
      if (!up.retryable()) {
        outcome_ = DeliveryOutcome::kRefused;
        return Status::Ok();
      }
      if (attempt <= req_.retries) {
        std::this_thread::sleep_for(
            std::chrono::duration<double>(RetryWait(req_.retry_wait_s, attempt)));
      }
    }
    outcome_ = DeliveryOutcome::kFailed;
    return Status::Ok();
  }

  // The outcome on record and in the audit trail; a refusal is returned in
  // result.reasons, a failure as the error.
  Status Finish(PackageJob& job, DeliverResult& result) {
    Context& ctx = job.ctx;
    contracts::DeliveryRecord& rec = job.rec;
    std::string reason;
    if (outcome_ == DeliveryOutcome::kRefused) reason = last_error_;
    if (outcome_ == DeliveryOutcome::kFailed) {
      reason =
          "gave up after " + std::to_string(result.attempts.size()) + " attempts: " + last_error_;
    }
    rec.outcome = outcome_;
    rec.reason = reason;
    Status s = ctx.store->Transaction([&]() -> Status {
      if (Status o = ctx.store->SetDeliveryOutcome(rec.id, outcome_, reason, rec.record_count,
                                                   rec.package_sha256);
          !o.ok())
        return o;
      nlohmann::json details = ToJson(rec);
      details["package"] = name_;
      details["server"] = ServerText(endpoint_);
      details["attempts"] = ToJson(result.attempts);
      details["formula_guard"] = job.spec.formula_guard;
      details["formula_guarded_cells"] = result.formula_guarded;
      const std::string event = outcome_ == DeliveryOutcome::kDelivered ? "delivery.sftp"
                                : outcome_ == DeliveryOutcome::kRefused ? "delivery.refused"
                                                                        : "delivery.failed";
      return ctx.audit->Append(ctx.actor, event, "delivery:" + std::to_string(rec.id), details);
    });
    if (!s.ok()) return s;
    if (outcome_ == DeliveryOutcome::kRefused) {
      result.reasons.push_back(reason);
      return Status::Ok();
    }
    if (outcome_ == DeliveryOutcome::kFailed) {
      return Status::Network("delivery " + std::to_string(rec.id) + " to contractor " +
                             rec.contractor_id + " failed: " + reason);
    }
    std::string dir = endpoint_.remote_dir;
    if (!dir.empty() && dir.back() != '/') dir += '/';
    const std::string host =
        endpoint_.host.find(':') == std::string::npos ? endpoint_.host : "[" + endpoint_.host + "]";
    result.package_path = "sftp://" + endpoint_.user + "@" + host + ":" +
                          std::to_string(endpoint_.port) + "/" + dir + name_;
    result.passphrase = job.recipient.recipient.passphrase;
    return Status::Ok();
  }

  void DropPackage() {
    std::error_code ec;
    if (!package_path_.empty()) fs::remove(package_path_, ec);
  }

  const transports::SftpEndpoint endpoint_;
  const DeliverRequest& req_;
  std::string package_path_, name_;
  DeliveryOutcome outcome_ = DeliveryOutcome::kFailed;
  std::string last_error_;
};

}  // namespace

Result<std::string> ReadKeyPassphrase(const std::string& source) {
  const auto parsed = policies::ParsePassphraseSource(source);
  if (!parsed) return Result<std::string>::Error("unknown key passphrase source " + source);
  using Kind = policies::PassphraseSource::Kind;
  if (parsed->kind == Kind::kNone) return std::string();
  if (parsed->kind == Kind::kEnv) {
    const std::string& name = parsed->name;
    const char* value = std::getenv(name.c_str());
    if (value == nullptr || *value == '\0') {
      return Result<std::string>::Error("the key passphrase variable " + name + " is not set");
    }
    return std::string(value);
  }
  const std::string& path = parsed->name;
  // The file is named by staff but read by the daemon: only one the
  // service account owns and keeps to itself counts (a staff member must
  // not make the daemon read someone else's file, or a link to one).
  const int fd = ::open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
  struct stat st {};
  if (fd < 0 || ::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_uid != ::geteuid() ||
      (st.st_mode & 077) != 0) {
    if (fd >= 0) ::close(fd);
    return Status::Refused("the key passphrase file " + path +
                           " must be a file of the service account's, readable by it alone "
                           "(chmod 600)");
  }
  std::string text(4096, '\0');
  const ssize_t got = ::read(fd, text.data(), text.size());
  ::close(fd);
  if (got <= 0) return Status::Io("cannot read the key passphrase file " + path);
  text.resize(static_cast<size_t>(got));
  std::string line = text.substr(0, text.find('\n'));
  if (!line.empty() && line.back() == '\r') line.pop_back();
  return line;
}

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

std::unique_ptr<Handoff> SftpHandoff(transports::SftpEndpoint endpoint,
                                     const DeliverRequest& request) {
  return std::make_unique<Sftp>(std::move(endpoint), request);
}

}  // namespace itaku::gateway
