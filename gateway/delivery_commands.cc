// Deliveries and what they left behind: deliver, delivery show, history
// (policy 5), breach scope (policy 7), media handover.
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include "contracts/base/files.h"
#include "contracts/base/layout.h"
#include "contracts/base/strings.h"
#include "contracts/profile_toml.h"
#include "gateway/commands.h"
#include "gateway/detail/command_util.h"
#include "gateway/records_json.h"
#include "policies/catalog.h"
#include "policies/media_rules.h"
#include "policies/profile_rules.h"
#include "transports/certificate.h"
#include "transports/sftp_transport.h"
#include "transports/ssh_key.h"

namespace itaku::gateway {
namespace fs = std::filesystem;
using contracts::ContractorStatus;
using Json = nlohmann::json;

Result<Output> DeliverCommand(Context& ctx, const DeliverRequest& req) {
  auto r = Deliver(ctx, req);
  if (!r.ok()) return r.status();
  const auto& rec = r->record;
  Json j = ToJson(rec);
  j.update({{"decision", r->allowed() ? "allow" : "refuse"},
            {"reasons", r->reasons},
            {"dry_run", req.dry_run},
            {"withheld", r->withheld},
            {"masks", r->masks},
            {"special_requests", r->special_requests},
            {"notes", r->notes}});
  if (!r->allowed()) {
    // A refusal is printed in full and still makes the command fail.
    return Status::Refused("delivery " + std::to_string(rec.id) +
                           " refused: " + Join(r->reasons, "; "));
  }
  std::ostringstream text;
  if (!req.dry_run) {
    j["package"] = r->package_path;
    j["package_sha256"] = rec.package_sha256;
    if (rec.transport == contracts::Transport::kSftp) {
      j["attempts"] = ToJson(r->attempts);
      const bool already = !r->attempts.empty() &&
                           r->attempts.back().outcome == contracts::AttemptOutcome::kAlreadyThere;
      text << "delivery " << rec.id << ": " << (already ? "already on the server at " : "sent to ")
           << r->package_path << " (attempt " << r->attempts.size() << ")\n";
    } else if (rec.transport == contracts::Transport::kPortal) {
      j["portal_package"] = r->portal_package_id;
      j["expires_at"] = r->portal_expires_at;
      j["max_downloads"] = req.max_downloads;
      text << "delivery " << rec.id << ": published on the portal as package "
           << r->portal_package_id << " for " << rec.contractor_id << " until "
           << r->portal_expires_at << ", " << req.max_downloads << " downloads\n";
    } else {
      text << "delivery " << rec.id << ": written " << r->package_path << "\n";
    }
    text << "package sha256: " << rec.package_sha256 << "\n";
    if (!r->passphrase.empty()) {
      // Shown once, never stored: told to the contractor by phone, never mailed.
      j["passphrase"] = r->passphrase;
      text << "passphrase (tell it by phone; it is not stored and will not be shown again): "
           << r->passphrase << "\n";
    }
  } else {
    text << "dry run " << rec.id << ": allowed — nothing was sent\n";
  }
  text << "contractor: " << rec.contractor_id << "\nprofile: " << rec.profile_id << " v"
       << rec.profile_version << "\nNDA: #" << (rec.nda_id ? *rec.nda_id : 0)
       << "\ntransport: " << contracts::ToString(rec.transport)
       << "\nfields sent: " << Join(rec.fields);
  for (const auto& [f, m] : r->masks) text << "\n  " << f << " masked: " << m;
  text << "\nfields withheld: " << (r->withheld.empty() ? "none" : Join(r->withheld))
       << "\nrecords: " << rec.record_count;
  if (!r->special_requests.empty()) {
    std::vector<std::string> ids;
    for (int64_t id : r->special_requests) ids.push_back("#" + std::to_string(id));
    text << "\nshaped by special requests: " << Join(ids);
  }
  for (const auto& note : r->notes) text << "\nnote: " << note;
  return Output{j, text.str()};
}

Result<Output> DeliveryShow(Context& ctx, int64_t delivery_id) {
  auto found = ctx.store->FindDelivery(delivery_id);
  if (!found.ok()) return found.status();
  if (!found.value()) {
    return Status::NotFound("unknown delivery " + std::to_string(delivery_id));
  }
  const contracts::DeliveryRecord& rec = *found.value();
  auto attempts = ctx.store->ListDeliveryAttempts(delivery_id);
  if (!attempts.ok()) return attempts.status();
  Json j = ToJson(rec);
  j["attempts"] = ToJson(attempts.value());
  std::ostringstream text;
  text << "delivery " << rec.id << ": " << contracts::ToString(rec.outcome)
       << "\ncontractor: " << rec.contractor_id << "\nprofile: " << rec.profile_id << " v"
       << rec.profile_version << "\ntransport: " << contracts::ToString(rec.transport)
       << "\nordered: " << rec.ordered_at << " by " << rec.ordered_by
       << "\nrecords: " << rec.record_count << "\nfields: " << Join(rec.fields);
  if (!rec.reason.empty()) text << "\nreason: " << rec.reason;
  if (!rec.package_sha256.empty()) text << "\npackage sha256: " << rec.package_sha256;
  for (const auto& a : attempts.value()) {
    text << "\nattempt " << a.attempt << " " << a.started_at << " "
         << contracts::ToString(a.outcome);
    if (!a.error.empty()) text << ": " << a.error;
  }
  return Output{j, text.str()};
}

Result<Output> History(Context& ctx, const std::string& subscriber_id) {
  auto receipts = ctx.store->History(subscriber_id);
  if (!receipts.ok()) return receipts.status();
  Output out;
  out.json = {{"subscriber", subscriber_id}, {"receipts", Json::array()}};
  for (const auto& r : receipts.value()) {
    out.json["receipts"].push_back(ToJson(r));
    out.text += r.delivered_at + "\t" + r.contractor_id + "\t" +
                std::string(contracts::ToString(r.transport)) + "\t" + Join(r.fields) + "\n";
  }
  if (out.text.empty()) {
    out.text = "no contractor has received data about " + subscriber_id;
  } else {
    out.text.pop_back();
  }
  return out;
}

Result<Output> BreachScope(Context& ctx, const std::string& contractor, const std::string& since,
                           const std::optional<std::string>& until) {
  auto c = RequireContractor(ctx, contractor);
  if (!c.ok()) return c.status();
  auto from = ParseDateArg("--since", since);
  if (!from.ok()) return from.status();
  Date to = ctx.clock->Today();
  if (until) {
    auto u = ParseDateArg("--until", *until);
    if (!u.ok()) return u.status();
    to = u.value();
  }
  if (to < from.value()) return Result<Output>::Error("--until is before --since");

  // Per subscriber: every field received in the period and the deliveries.
  std::map<std::string, std::pair<std::set<std::string>, std::vector<int64_t>>> subs;
  std::map<int64_t, Json> deliveries;
  Status s =
      ctx.store->ForEachReceipt(contractor, from.value(), to, [&](const contracts::Receipt& r) {
        auto& [fields, ids] = subs[r.subscriber_id];
        fields.insert(r.fields.begin(), r.fields.end());
        if (ids.empty() || ids.back() != r.delivery_id) ids.push_back(r.delivery_id);
        if (!deliveries.count(r.delivery_id)) deliveries[r.delivery_id] = ToJson(r);
      });
  if (!s.ok()) return s;
  Output out;
  out.json = {{"contractor", contractor},        {"since", FormatDate(from.value())},
              {"until", FormatDate(to)},         {"deliveries", Json::array()},
              {"subscriber_count", subs.size()}, {"subscribers", Json::array()}};
  for (auto& [id, d] : deliveries) out.json["deliveries"].push_back(d);
  for (const auto& [sid, v] : subs) {
    out.json["subscribers"].push_back(
        {{"subscriber_id", sid},
         {"fields", std::vector<std::string>(v.first.begin(), v.first.end())},
         {"deliveries", v.second}});
  }
  out.text = contractor + " received data about " + std::to_string(subs.size()) +
             " subscribers in " + std::to_string(deliveries.size()) + " deliveries between " +
             FormatDate(from.value()) + " and " + FormatDate(to);
  for (auto& [id, d] : deliveries) {
    out.text += "\n  delivery " + std::to_string(id) + " " + d["delivered_at"].get<std::string>() +
                " via " + d["transport"].get<std::string>() + ": " +
                Join(d["fields"].get<std::vector<std::string>>());
  }
  return out;
}

namespace {

Result<contracts::MediaRecord> RequireMedium(Context& ctx, int64_t delivery_id) {
  auto m = ctx.store->FindMediaRecord(delivery_id);
  if (!m.ok()) return m.status();
  if (!m.value()) {
    return Result<contracts::MediaRecord>::Error("delivery " + std::to_string(delivery_id) +
                                                 " has no media package on record");
  }
  return *m.value();
}

}  // namespace

Result<Output> MediaHandover(Context& ctx, int64_t delivery_id, const std::string& medium,
                             const std::string& to) {
  auto m = RequireMedium(ctx, delivery_id);
  if (!m.ok()) return m.status();
  const std::string refusal = policies::MediaStepRefusal(m->state, policies::MediaStep::kHandOver);
  if (!refusal.empty()) {  // the medium's state says no: a conflict (409)
    return Status::Conflict("delivery " + std::to_string(delivery_id) + ": " + refusal);
  }
  if (medium.empty() || to.empty()) {
    return Result<Output>::Error("media handover needs --medium and --to");
  }
  contracts::MediaRecord r = m.value();
  r.state = policies::MediaStateAfter(policies::MediaStep::kHandOver);
  r.medium = medium;
  r.handed_to = to;
  r.handed_over_at = ctx.clock->NowUtc();
  r.handed_over_by = ctx.actor;
  Status s = ctx.store->Transaction([&]() -> Status {
    if (Status u = ctx.store->UpdateMediaRecord(r); !u.ok()) return u;
    return ctx.audit->Append(ctx.actor,
                             std::string(policies::AuditAction(policies::MediaStep::kHandOver)),
                             "delivery:" + std::to_string(delivery_id), ToJson(r));
  });
  if (!s.ok()) return s;
  return Output{ToJson(r), "delivery " + std::to_string(delivery_id) + ": " + r.package_name +
                               " handed over on " + medium + " to " + to};
}

Result<Output> MediaClose(Context& ctx, int64_t delivery_id, policies::MediaStep step) {
  auto m = RequireMedium(ctx, delivery_id);
  if (!m.ok()) return m.status();
  const std::string refusal = policies::MediaStepRefusal(m->state, step);
  if (!refusal.empty()) {
    return Status::Conflict("delivery " + std::to_string(delivery_id) + ": " + refusal);
  }
  contracts::MediaRecord r = m.value();
  r.state = policies::MediaStateAfter(step);
  r.closed_at = ctx.clock->NowUtc();
  r.closed_by = ctx.actor;
  Status s = ctx.store->Transaction([&]() -> Status {
    if (Status u = ctx.store->UpdateMediaRecord(r); !u.ok()) return u;
    return ctx.audit->Append(ctx.actor, std::string(policies::AuditAction(step)),
                             "delivery:" + std::to_string(delivery_id), ToJson(r));
  });
  if (!s.ok()) return s;
  return Output{ToJson(r), "delivery " + std::to_string(delivery_id) + ": medium " +
                               std::string(contracts::ToString(r.state))};
}

Result<Output> MediaList(Context& ctx, bool outstanding_only) {
  return Listing(
      ctx.store->ListMediaRecords(outstanding_only),
      [](const contracts::MediaRecord& m) {
        return std::to_string(m.delivery_id) + "\t" + m.package_name + "\t" +
               std::string(contracts::ToString(m.state)) +
               (m.medium.empty() ? "" : "\t" + m.medium + "\t" + m.handed_to);
      },
      outstanding_only ? "no media outstanding" : "no media on record");
}

}  // namespace itaku::gateway
