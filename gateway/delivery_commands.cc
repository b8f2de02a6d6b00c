// Deliveries and what they left behind: deliver, delivery show, history
// (policy 5), breach scope (policy 7), media handover.
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <unordered_map>

#include "contracts/base/atomic_file.h"
#include "contracts/base/files.h"
#include "contracts/base/layout.h"
#include "contracts/base/strings.h"
#include "contracts/profile_toml.h"
#include "gateway/commands.h"
#include "gateway/detail/command_util.h"
#include "gateway/detail/receipt_scope.h"
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
            {"notes", r->notes},
            {"contract_id", r->contract_id ? Json(*r->contract_id) : Json()}});
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
           << ShowJst(r->portal_expires_at) << ", " << req.max_downloads << " downloads\n";
    } else if (rec.transport == contracts::Transport::kPaper) {
      j["pages"] = r->pages;
      j["printed_rows_sha256"] = r->printed_sha256;
      text << "delivery " << rec.id << ": printable PDF written " << r->package_path << " ("
           << r->pages << " pages)\nprint it, then record the handover: itaku paper handover "
           << rec.id << " --to NAME\n";
    } else {
      text << "delivery " << rec.id << ": written " << r->package_path << "\n";
    }
    text << "package sha256: " << rec.package_sha256 << "\n";
    if (!r->printed_sha256.empty()) {
      text << "printed rows sha256 (on the slip): " << r->printed_sha256 << "\n";
    }
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
       << rec.profile_version << "\nNDA: #" << (rec.nda_id ? *rec.nda_id : 0) << "\ncontract: #"
       << (r->contract_id ? *r->contract_id : 0)
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
       << "\nordered: " << ShowJst(rec.ordered_at) << " by " << rec.ordered_by
       << "\nrecords: " << rec.record_count << "\nfields: " << Join(rec.fields);
  if (!rec.reason.empty()) text << "\nreason: " << rec.reason;
  if (!rec.package_sha256.empty()) text << "\npackage sha256: " << rec.package_sha256;
  for (const auto& a : attempts.value()) {
    text << "\nattempt " << a.attempt << " " << ShowJst(a.started_at) << " "
         << contracts::ToString(a.outcome);
    if (!a.error.empty()) text << ": " << a.error;
  }
  return Output{j, text.str()};
}

Result<Output> History(Context& ctx, const std::string& typed) {
  auto id = TypedSubscriberId(ctx, typed);
  if (!id.ok()) return Result<Output>::Error("--subscriber: " + id.message());
  const std::string& subscriber_id = id.value();
  auto receipts = ctx.store->History(subscriber_id);
  if (!receipts.ok()) return receipts.status();
  auto specials = ctx.store->ListSpecialRequests(subscriber_id, /*include_ended=*/true);
  if (!specials.ok()) return specials.status();
  auto correctives = ctx.store->ListCorrectiveRequests(std::nullopt, std::nullopt);
  if (!correctives.ok()) return correctives.status();
  Output out;
  out.json = {{"subscriber", subscriber_id},
              {"receipts", Json::array()},
              {"special_requests", Json::array()},
              {"corrective_requests", Json::array()}};
  std::string text;
  for (const auto& r : receipts.value()) {
    out.json["receipts"].push_back(ToJson(r));
    text += "\n  " + ShowJst(r.delivered_at) + "  delivery " + std::to_string(r.delivery_id) +
            "  " + r.contractor_id + "  " + std::string(contracts::ToString(r.transport)) + "  " +
            (r.fields.empty() ? "(no field had a value)" : Join(r.fields));
  }
  out.text = receipts->empty() ? "no contractor has received data about " + subscriber_id
                               : subscriber_id + ": " + std::to_string(receipts->size()) +
                                     (receipts->size() == 1 ? " delivery" : " deliveries") +
                                     " (the fields each carried)" + text;
  std::string special_text;
  for (const auto& sr : specials.value()) {
    out.json["special_requests"].push_back(ToJson(sr));
    special_text +=
        "\n  #" + std::to_string(sr.id) + " " + std::string(contracts::ToString(sr.kind)) +
        (sr.fields.empty() ? "" : " " + Join(sr.fields)) + " for " +
        (sr.contractor_id.empty() ? "purpose " + sr.purpose : sr.contractor_id) + " from " +
        FormatDate(sr.valid_from) + (sr.valid_until ? " to " + FormatDate(*sr.valid_until) : "") +
        (sr.ended_at.empty() ? "" : ", ended " + ShowJst(sr.ended_at));
  }
  if (!special_text.empty()) out.text += "\nspecial requests (policy 6(1)):" + special_text;
  std::string corrective_text;
  for (const auto& cr : correctives.value()) {
    if (cr.subscriber_id != subscriber_id) continue;
    out.json["corrective_requests"].push_back({{"id", cr.id},
                                               {"contractor", cr.contractor_id},
                                               {"received_at", cr.received_at},
                                               {"state", contracts::ToString(cr.state)}});
    corrective_text += "\n  #" + std::to_string(cr.id) + " about " + cr.contractor_id +
                       ", received " + ShowJst(cr.received_at) + ", " +
                       std::string(contracts::ToString(cr.state));
  }
  if (!corrective_text.empty()) {
    out.text += "\ncorrective-action requests (policy 6(3)):" + corrective_text;
  }
  return out;
}

Result<Output> BreachScope(Context& ctx, const std::string& contractor, const std::string& since,
                           const std::optional<std::string>& until,
                           const std::string& subscribers_csv) {
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
  // The operator's days: 2026-12-03 is 2026-12-02T15:00:00Z up to the next
  // day's 15:00 UTC.
  const auto [from_utc, to_utc] = JapanDayBoundsUtc(from.value(), to);

  auto scope = detail::ScanReceipts(ctx, contractor, from_utc, to_utc);
  if (!scope.ok()) return scope.status();
  const detail::PersonTable& persons = scope->persons;
  auto& deliveries = scope->deliveries;
  auto& delivery_fields = scope->delivery_fields;
  auto names_of = [&](uint64_t bits) { return scope->NamesOf(bits); };
  const std::vector<uint32_t> order = persons.SortedById();

  Output out;
  out.json = {{"contractor", contractor},
              {"since", FormatDate(from.value())},
              {"until", FormatDate(to)},
              {"deliveries", Json::array()},
              {"subscriber_count", persons.size()},
              {"subscribers", Json::array()}};
  for (auto& [id, d] : deliveries) {
    d["fields_received"] = names_of(delivery_fields[id]);
    out.json["deliveries"].push_back(d);
  }
  if (subscribers_csv.empty()) {
    for (uint32_t e : order) {
      out.json["subscribers"].push_back({{"subscriber_id", persons.Id(e)},
                                         {"fields", names_of(persons.Fields(e))},
                                         {"deliveries", persons.Deliveries(e)}});
    }
  } else {
    // For notices under 7(1): every affected subscriber and what they lost.
    auto file = AtomicFile::Create(subscribers_csv);
    if (!file.ok()) return file.status();
    {
      std::ofstream csv(file->temp_path(), std::ios::binary | std::ios::trunc);
      csv << "subscriber_id,fields,deliveries\r\n";
      for (uint32_t e : order) {
        std::vector<std::string> d;
        for (int64_t id : persons.Deliveries(e)) d.push_back(std::to_string(id));
        csv << persons.Id(e) << "," << Join(names_of(persons.Fields(e)), ";") << "," << Join(d, ";")
            << "\r\n";
      }
      csv.flush();
      if (!csv) return file->Abandon(Status::Io("cannot write " + subscribers_csv));
    }
    if (Status committed = file->Commit(); !committed.ok()) return committed;
    out.json.erase("subscribers");
    out.json["subscribers_csv"] = subscribers_csv;
  }
  out.text = contractor + " received data about " + std::to_string(persons.size()) +
             " subscribers in " + std::to_string(deliveries.size()) + " deliveries between " +
             FormatDate(from.value()) + " and " + FormatDate(to) + " (days in JST)";
  for (auto& [id, d] : deliveries) {
    out.text += "\n  delivery " + std::to_string(id) + " " +
                ShowJst(d["delivered_at"].get<std::string>()) + " via " +
                d["transport"].get<std::string>() + ": " +
                Join(d["fields_received"].get<std::vector<std::string>>());
  }
  if (!subscribers_csv.empty()) {
    out.text += "\nsubscribers and the fields each received: " + subscribers_csv;
  }
  return out;
}

namespace {

using contracts::Transport;
using policies::MediaStep;

// What the medium commands and the paper commands differ in.
struct Carrier {
  Transport transport;
  const char* group;  // "media" / "paper"
};
constexpr Carrier kMedia{Transport::kMedia, "media"};
constexpr Carrier kPaper{Transport::kPaper, "paper"};

std::string Action(const Carrier& c, MediaStep step) {
  return std::string(c.transport == Transport::kPaper ? policies::PaperAuditAction(step)
                                                      : policies::AuditAction(step));
}

std::string StateWord(const Carrier& c, contracts::MediaState state) {
  return std::string(c.transport == Transport::kPaper ? policies::PaperStateWord(state)
                                                      : contracts::ToString(state));
}

// The medium (or the printed sheets) of `delivery_id`, when it went by
// `carrier`'s transport.
Result<contracts::MediaRecord> RequireMedium(Context& ctx, int64_t delivery_id,
                                             const Carrier& carrier) {
  const std::string name = "delivery " + std::to_string(delivery_id);
  auto m = ctx.store->FindMediaRecord(delivery_id);
  if (!m.ok()) return m.status();
  auto d = ctx.store->FindDelivery(delivery_id);
  if (!d.ok()) return d.status();
  if (!m.value() || !d.value()) {
    return Result<contracts::MediaRecord>::Error(name + (carrier.transport == Transport::kPaper
                                                             ? " has no printed sheets on record"
                                                             : " has no media package on record"));
  }
  if (d.value()->transport != carrier.transport) {
    const bool paper = d.value()->transport == Transport::kPaper;
    return Result<contracts::MediaRecord>::Error(
        name + " went " +
        (paper ? "on paper (use: itaku paper ...)" : "on a medium (use: itaku media ...)"));
  }
  return *m.value();
}

// The daemon's printable PDF of a paper delivery, removed once its sheets
// have left the building (or were cancelled): the delivery keeps its hash.
// False when it could not be removed (said in the command's output).
bool RemovePrintable(Context& ctx, const contracts::MediaRecord& m) {
  std::error_code ec;
  fs::remove(fs::path(StoreLayout(ctx.db_path).Paper()) / m.package_name, ec);
  return !ec;
}

Result<Output> Handover(Context& ctx, int64_t delivery_id, const std::string& medium,
                        const std::string& to, const Carrier& carrier) {
  auto m = RequireMedium(ctx, delivery_id, carrier);
  if (!m.ok()) return m.status();
  const std::string refusal =
      policies::MediaStepRefusal(m->state, MediaStep::kHandOver, carrier.transport);
  if (!refusal.empty()) {  // the medium's state says no: a conflict (409)
    return Status::Conflict("delivery " + std::to_string(delivery_id) + ": " + refusal);
  }
  if (medium.empty() || to.empty()) {
    return Result<Output>::Error(
        std::string(carrier.group) + " handover needs " +
        (carrier.transport == Transport::kPaper ? "--to" : "--medium and --to"));
  }
  contracts::MediaRecord r = m.value();
  r.state = policies::MediaStateAfter(MediaStep::kHandOver);
  r.medium = medium;
  r.handed_to = to;
  r.handed_over_at = ctx.clock->NowUtc();
  r.handed_over_by = ctx.actor;
  Json details = ToJson(r);
  std::string sha;
  if (carrier.transport == Transport::kPaper) {
    auto d = ctx.store->FindDelivery(delivery_id);
    if (!d.ok()) return d.status();
    sha = d.value() ? d.value()->package_sha256 : "";
    details["package_sha256"] = sha;
  }
  Status s = ctx.store->Transaction([&]() -> Status {
    if (Status u = ctx.store->UpdateMediaRecord(r); !u.ok()) return u;
    return ctx.audit->Append(ctx.actor, Action(carrier, MediaStep::kHandOver),
                             "delivery:" + std::to_string(delivery_id), details);
  });
  if (!s.ok()) return s;
  const std::string name = "delivery " + std::to_string(delivery_id);
  if (carrier.transport != Transport::kPaper) {
    return Output{ToJson(r),
                  name + ": " + r.package_name + " handed over on " + medium + " to " + to};
  }
  Json j = ToJson(r);
  const bool removed = RemovePrintable(ctx, r);
  j["printable_removed"] = removed;
  j["package_sha256"] = sha;
  return Output{j,
                name + ": printed sheets handed to " + to +
                    (removed ? "; the daemon's PDF is deleted (sha256 " + sha + " stays on record)"
                             : "; the daemon's PDF could not be deleted now; it is removed when "
                               "the daemon next starts")};
}

Result<Output> Close(Context& ctx, int64_t delivery_id, MediaStep step,
                     const std::string& certificate, const Carrier& carrier) {
  auto m = RequireMedium(ctx, delivery_id, carrier);
  if (!m.ok()) return m.status();
  const std::string refusal = policies::MediaStepRefusal(m->state, step, carrier.transport);
  if (!refusal.empty()) {
    return Status::Conflict("delivery " + std::to_string(delivery_id) + ": " + refusal);
  }
  contracts::MediaRecord r = m.value();
  if (!certificate.empty()) {
    // The contractor's 返却・廃棄確認書 (or certificate of destruction),
    // kept by its hash.
    auto kept = KeepDocument(ctx, certificate, "certificate");
    if (!kept.ok()) return kept.status();
    r.certificate_sha256 = kept->sha256;
    r.certificate_path = kept->path;
  }
  r.state = policies::MediaStateAfter(step);
  r.closed_at = ctx.clock->NowUtc();
  r.closed_by = ctx.actor;
  Status s = ctx.store->Transaction([&]() -> Status {
    if (Status u = ctx.store->UpdateMediaRecord(r); !u.ok()) return u;
    return ctx.audit->Append(ctx.actor, Action(carrier, step),
                             "delivery:" + std::to_string(delivery_id), ToJson(r));
  });
  if (!s.ok()) return s;
  const std::string what =
      carrier.transport == Transport::kPaper ? ": printed sheets " : ": medium ";
  return Output{
      ToJson(r),
      "delivery " + std::to_string(delivery_id) + what + StateWord(carrier, r.state) +
          (r.certificate_sha256.empty() ? ""
                                        : " (certificate sha256 " + r.certificate_sha256 + ")")};
}

Result<Output> Cancel(Context& ctx, int64_t delivery_id, const std::string& reason,
                      const Carrier& carrier) {
  auto m = RequireMedium(ctx, delivery_id, carrier);
  if (!m.ok()) return m.status();
  const std::string name = "delivery " + std::to_string(delivery_id);
  const std::string refusal =
      policies::MediaStepRefusal(m->state, MediaStep::kCancel, carrier.transport);
  if (!refusal.empty()) return Status::Conflict(name + ": " + refusal);
  if (reason.empty()) {
    return Result<Output>::Error(std::string(carrier.group) + " cancel needs --reason");
  }
  auto found = ctx.store->FindDelivery(delivery_id);
  if (!found.ok()) return found.status();
  if (!found.value()) return Status::NotFound("unknown " + name);
  const contracts::DeliveryRecord& d = *found.value();
  contracts::MediaRecord r = m.value();
  r.state = policies::MediaStateAfter(MediaStep::kCancel);
  r.closed_at = ctx.clock->NowUtc();
  r.closed_by = ctx.actor;
  // The delivery stays on record, saying why it no longer counts as
  // received; its count and package hash are what was written.
  const std::string outcome_reason = "cancelled by " + ctx.actor + ": " + reason;
  const std::string subject = "delivery:" + std::to_string(delivery_id);
  Json details = ToJson(r);
  details.update({{"corrects", subject},
                  {"reason", reason},
                  {"package", r.package_name},
                  {"outcome", contracts::ToString(contracts::DeliveryOutcome::kCancelled)},
                  {"outcome_reason", outcome_reason}});
  Status s = ctx.store->Transaction([&]() -> Status {
    if (Status u = ctx.store->UpdateMediaRecord(r); !u.ok()) return u;
    if (Status o =
            ctx.store->SetDeliveryOutcome(delivery_id, contracts::DeliveryOutcome::kCancelled,
                                          outcome_reason, d.record_count, d.package_sha256);
        !o.ok()) {
      return o;
    }
    return ctx.audit->Append(ctx.actor, Action(carrier, MediaStep::kCancel), subject, details);
  });
  if (!s.ok()) return s;
  Json j = ToJson(r);
  j.update({{"outcome", contracts::ToString(contracts::DeliveryOutcome::kCancelled)},
            {"reason", reason}});
  if (carrier.transport == Transport::kPaper) j["printable_removed"] = RemovePrintable(ctx, r);
  return Output{j, name + ": " + r.package_name + " cancelled (never handed over): " + reason};
}

Result<Output> List(Context& ctx, bool outstanding_only, const std::optional<Carrier>& only) {
  auto records = ctx.store->ListMediaRecords(outstanding_only);
  if (!records.ok()) return records.status();
  // Each row's delivery: its transport, and its delete-by day (the
  // delivery's JST day plus its profile's retention_days, the date written
  // in a package's manifest or on a paper slip).
  const Date today = ctx.clock->Today();
  std::map<std::pair<std::string, int>, int> retention;  // by profile version, read once
  Output out{Json::array(), ""};
  for (const auto& m : records.value()) {
    auto d = ctx.store->FindDelivery(m.delivery_id);
    if (!d.ok()) return d.status();
    if (!d.value()) continue;
    const Carrier carrier = d.value()->transport == Transport::kPaper ? kPaper : kMedia;
    if (only && only->transport != carrier.transport) continue;
    Json j = ToJson(m);
    j["transport"] = contracts::ToString(carrier.transport);
    const auto key = std::make_pair(d.value()->profile_id, d.value()->profile_version);
    if (!retention.count(key)) {
      auto p = ctx.store->FindProfile(key.first, key.second);
      if (!p.ok()) return p.status();
      retention[key] = p.value() ? p.value()->retention_days : 0;
    }
    std::string delete_by;
    if (auto day = JapanDayOf(d.value()->ordered_at)) {
      const Date by = AddDays(*day, retention[key]);
      delete_by = FormatDate(by);
      j["delete_by"] = delete_by;
      j["overdue"] = by < today && (m.state == contracts::MediaState::kWritten ||
                                    m.state == contracts::MediaState::kHandedOver);
    }
    out.json.push_back(j);
    if (!out.text.empty()) out.text += "\n";
    out.text += std::to_string(m.delivery_id) + "\t" + carrier.group + "\t" + m.package_name +
                "\t" + StateWord(carrier, m.state) +
                (m.handed_to.empty() ? "" : "\t" + m.medium + "\t" + m.handed_to) +
                (delete_by.empty() ? "" : "\tdelete by " + delete_by);
  }
  if (out.json.empty()) {
    const std::string what = only && only->transport == Transport::kPaper ? "no paper" : "no media";
    out.text = what + (outstanding_only ? " outstanding" : " on record");
  }
  return out;
}

}  // namespace

Result<Output> MediaHandover(Context& ctx, int64_t delivery_id, const std::string& medium,
                             const std::string& to) {
  return Handover(ctx, delivery_id, medium, to, kMedia);
}
Result<Output> MediaClose(Context& ctx, int64_t delivery_id, MediaStep step,
                          const std::string& certificate) {
  return Close(ctx, delivery_id, step, certificate, kMedia);
}
Result<Output> MediaCancel(Context& ctx, int64_t delivery_id, const std::string& reason) {
  return Cancel(ctx, delivery_id, reason, kMedia);
}
Result<Output> MediaList(Context& ctx, bool outstanding_only) {
  return List(ctx, outstanding_only, std::nullopt);
}

Result<Output> PaperHandover(Context& ctx, int64_t delivery_id, const std::string& to) {
  return Handover(ctx, delivery_id, "紙", to, kPaper);
}
Result<Output> PaperClose(Context& ctx, int64_t delivery_id, MediaStep step,
                          const std::string& certificate) {
  return Close(ctx, delivery_id, step, certificate, kPaper);
}
Result<Output> PaperCancel(Context& ctx, int64_t delivery_id, const std::string& reason) {
  return Cancel(ctx, delivery_id, reason, kPaper);
}
Result<Output> PaperList(Context& ctx, bool outstanding_only) {
  return List(ctx, outstanding_only, kPaper);
}

}  // namespace itaku::gateway
