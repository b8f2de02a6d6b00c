#include "gateway/handoff.h"

#include <filesystem>
#include <fstream>
#include <thread>

#include "contracts/base/layout.h"
#include "gateway/records_json.h"

namespace itaku::gateway {
namespace {

namespace fs = std::filesystem;

std::string AttemptOutcome(const transports::SftpResult<transports::UploadResult>& r) {
  if (r.ok()) return r->already_there ? "already-there" : "delivered";
  return r.retryable() ? "network-error" : "refused";
}

class Sftp : public Handoff {
 public:
  Sftp(transports::SftpEndpoint endpoint, const DeliverRequest& req)
      : endpoint_(std::move(endpoint)), req_(req) {}
  Status Run(PackageJob& job, DeliverResult& result, const RecordFailure& record_failure) override;

 private:
  const transports::SftpEndpoint endpoint_;
  const DeliverRequest& req_;
};

Status Sftp::Run(PackageJob& job, DeliverResult& result, const RecordFailure& record_failure) {
  Context& ctx = job.ctx;
  const DeliverRequest& req = req_;
  const transports::SftpEndpoint& endpoint = endpoint_;
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
    nlohmann::json details = ToJson(rec);
    details["package"] = name;
    details["server"] = endpoint.host + ":" + std::to_string(endpoint.port);
    details["attempts"] = ToJson(result.attempts);
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
