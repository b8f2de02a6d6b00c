#include "gateway/reconcile.h"

#include <filesystem>

#include "contracts/base/layout.h"
#include "gateway/handoff.h"
#include "gateway/records_json.h"
#include "transports/sftp_transport.h"

namespace itaku::gateway {
namespace {

namespace fs = std::filesystem;
using contracts::DeliveryOutcome;

void RemoveLeftovers(const std::string& db_path) {
  const StoreLayout layout(db_path);
  std::error_code ec;
  // Packages a stopped daemon was sending are not sent by anyone now.
  for (const auto& entry : fs::directory_iterator(layout.Outbox(), ec)) {
    fs::remove_all(entry.path(), ec);
  }
  for (const std::string& dir : {layout.Portal(), layout.Paper()}) {
    for (const auto& entry : fs::directory_iterator(dir, ec)) {
      const std::string name = entry.path().filename().string();
      if (name.rfind('.', 0) == 0 && name.find(".partial-") != std::string::npos) {
        fs::remove(entry.path(), ec);
      }
    }
  }
}

// Records the settlement of `rec` (now `outcome`, with `reason`) and its
// audit event, together.
Status Settle(Context& ctx, contracts::DeliveryRecord& rec, DeliveryOutcome outcome,
              const std::string& reason) {
  const std::string was(contracts::ToString(rec.outcome));
  return ctx.store->Transaction([&]() -> Status {
    auto stored = StoredReceiptsDigest(*ctx.store, rec.id);
    if (!stored.ok()) return stored.status();
    // A package cut off mid-write stored only some receipts; a complete one
    // already has its digest, which must stay what it was.
    if (outcome == DeliveryOutcome::kFailed || rec.receipts_sha256.empty()) {
      rec.receipts_count = stored->first;
      rec.receipts_sha256 = stored->second;
    }
    rec.outcome = outcome;
    rec.reason = reason;
    if (Status u = ctx.store->UpdateDelivery(rec); !u.ok()) return u;
    nlohmann::json details = ToJson(rec);
    details["corrects"] = "delivery:" + std::to_string(rec.id);
    details["was"] = was;
    details["package"] = rec.package_name;
    return ctx.audit->Append("itaku", "delivery.reconciled", "delivery:" + std::to_string(rec.id),
                             details);
  });
}

Result<std::string> SettleWriting(Context& ctx, contracts::DeliveryRecord& rec) {
  std::error_code ec;
  if (rec.transport == contracts::Transport::kPortal && !rec.package_name.empty()) {
    fs::remove(fs::path(StoreLayout(ctx.db_path).Portal()) / rec.package_name, ec);
  }
  if (rec.transport == contracts::Transport::kPaper && !rec.package_name.empty()) {
    fs::remove(fs::path(StoreLayout(ctx.db_path).Paper()) / rec.package_name, ec);
  }
  const std::string reason =
      "interrupted: the daemon stopped while the package was being written; it never left the "
      "gateway";
  if (Status s = Settle(ctx, rec, DeliveryOutcome::kFailed, reason); !s.ok()) return s;
  return "delivery " + std::to_string(rec.id) + " (" + rec.contractor_id +
         "): writing -> failed (" + reason + ")";
}

Result<std::string> SettleSending(Context& ctx, contracts::DeliveryRecord& rec) {
  const std::string head = "delivery " + std::to_string(rec.id) + " (" + rec.contractor_id + "): ";
  auto target = ResolveSftpTarget(ctx, rec.contractor_id);
  if (!target.ok()) return target.status();
  if (!target->refusal.empty()) {
    return head + "still counted as sent: the server cannot be asked (" + target->refusal + ")";
  }
  auto remote = transports::SftpInspect(target->endpoint, rec.package_name,
                                        {.connect_ms = 5000, .io_ms = 15000});
  if (!remote.ok()) {
    return head + "still counted as sent: the server cannot be asked (" + remote.message() + ")";
  }
  if (remote->exists && remote->sha256 == rec.package_sha256) {
    const std::string reason = "";
    if (Status s = Settle(ctx, rec, DeliveryOutcome::kDelivered, reason); !s.ok()) return s;
    return head + "sending -> delivered (the complete package is on the server)";
  }
  if (remote->exists) {
    return head + "still counted as sent: a different file holds " + rec.package_name +
           " on the server";
  }
  if (remote->part_exists) {
    return head + "still counted as sent: a partial upload (" + rec.package_name +
           ".part) remains on the server until the contractor deletes it";
  }
  const std::string reason =
      "interrupted: the daemon stopped during the upload; the server holds nothing under " +
      rec.package_name;
  if (Status s = Settle(ctx, rec, DeliveryOutcome::kFailed, reason); !s.ok()) return s;
  return head + "sending -> failed (" + reason + ")";
}

}  // namespace

// A paper PDF whose sheets have left the building (or were cancelled) but
// which a stopped daemon, or a failed removal, left behind: removed now.
// The name is "<contractor>-<delivery id>.pdf"; anything else is left alone.
std::vector<std::string> RemovePrintedLeftovers(Context& ctx) {
  std::vector<std::string> lines;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(StoreLayout(ctx.db_path).Paper(), ec)) {
    const std::string name = entry.path().filename().string();
    const size_t dash = name.rfind('-');
    if (dash == std::string::npos || name.size() < dash + 6 ||
        name.compare(name.size() - 4, 4, ".pdf") != 0) {
      continue;
    }
    const std::string digits = name.substr(dash + 1, name.size() - 4 - dash - 1);
    if (digits.empty() || digits.find_first_not_of("0123456789") != std::string::npos) continue;
    const int64_t id = std::stoll(digits);
    auto m = ctx.store->FindMediaRecord(id);
    if (!m.ok() || !m.value() || m.value()->package_name != name ||
        m.value()->state == contracts::MediaState::kWritten) {
      continue;
    }
    std::error_code removed;
    fs::remove(entry.path(), removed);
    if (!removed) {
      lines.push_back("delivery " + std::to_string(id) +
                      ": printable PDF removed (its sheets are " +
                      std::string(contracts::ToString(m.value()->state)) + ")");
    }
  }
  return lines;
}

Result<std::vector<std::string>> Reconcile(Context& ctx) {
  RemoveLeftovers(ctx.db_path);
  auto open =
      ctx.store->ListDeliveriesWithOutcome({DeliveryOutcome::kWriting, DeliveryOutcome::kSending});
  if (!open.ok()) return open.status();
  std::vector<std::string> lines = RemovePrintedLeftovers(ctx);
  for (contracts::DeliveryRecord& rec : open.value()) {
    auto line = rec.outcome == DeliveryOutcome::kWriting ? SettleWriting(ctx, rec)
                                                         : SettleSending(ctx, rec);
    if (!line.ok()) return line.status();
    lines.push_back(line.value());
  }
  return lines;
}

}  // namespace itaku::gateway
