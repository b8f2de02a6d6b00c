// Lists staff browse by period: the audit trail's events and the
// deliveries (the console's 監査ログ and a contractor's deliveries).
#include <sstream>

#include "contracts/base/date.h"
#include "gateway/commands.h"
#include "gateway/records_json.h"

namespace itaku::gateway {
namespace {

using Json = nlohmann::json;

// JST days `since`..`until` (default: the last `default_days` days to today)
// as stored instants [from, to).
Result<std::pair<std::string, std::string>> Period(Context& ctx, const std::string& since,
                                                   const std::string& until, int default_days) {
  const Date today = ctx.clock->Today();
  std::optional<Date> first = since.empty() ? AddDays(today, -default_days) : ParseDate(since);
  if (!first) return Status::Error("--since " + since + " is not a date (YYYY-MM-DD)");
  std::optional<Date> last = until.empty() ? today : ParseDate(until);
  if (!last) return Status::Error("--until " + until + " is not a date (YYYY-MM-DD)");
  if (*last < *first) return Status::Error("--until " + until + " is before --since " + since);
  return JapanDayBoundsUtc(*first, *last);
}

}  // namespace

Result<Output> AuditEvents(Context& ctx, const AuditEventFilter& filter) {
  auto period = Period(ctx, filter.since, filter.until, 7);
  if (!period.ok()) return period.status();
  const int limit = filter.limit > 0 ? std::min(filter.limit, 5000) : 200;
  auto events = ctx.store->ListAuditEvents(period->first, period->second, filter.actor,
                                           filter.action, filter.contractor, limit);
  if (!events.ok()) return events.status();
  Output out;
  out.json = {{"events", Json::array()}, {"limit", limit}};
  std::ostringstream text;
  for (const auto& e : events.value()) {
    Json details = Json::parse(e.details, nullptr, false);
    out.json["events"].push_back({{"seq", e.seq},
                                  {"at", e.at},
                                  {"actor", e.actor},
                                  {"action", e.action},
                                  {"subject", e.subject},
                                  {"details", details.is_discarded() ? Json(e.details) : details}});
    text << e.seq << "\t" << ShowJst(e.at) << "\t" << e.actor << "\t" << e.action << "\t"
         << e.subject << "\n";
  }
  // The chain's newest event and the newest checkpoint: cheap to read, for
  // a dashboard; `audit verify` is the real check.
  auto last = ctx.store->LastAuditEvent();
  if (!last.ok()) return last.status();
  if (last.value()) out.json["newest"] = {{"seq", last.value()->seq}, {"at", last.value()->at}};
  auto checkpoint = ctx.audit->LatestCheckpoint();
  if (checkpoint.ok() && checkpoint.value()) {
    out.json["checkpoint"] = {{"seq", checkpoint.value()->checkpoint.seq},
                              {"at", checkpoint.value()->checkpoint.at},
                              {"code", checkpoint.value()->code}};
  }
  out.text = events->empty() ? "no audit events match\n" : text.str();
  return out;
}

Result<Output> DeliveryList(Context& ctx, const std::string& contractor, const std::string& since,
                            const std::string& until, int limit) {
  auto period = Period(ctx, since, until, 31);
  if (!period.ok()) return period.status();
  auto list = ctx.store->ListDeliveries(contractor, period->first, period->second,
                                        limit > 0 ? std::min(limit, 5000) : 500);
  if (!list.ok()) return list.status();
  Output out;
  out.json = Json::array();
  std::ostringstream text;
  for (const auto& d : list.value()) {
    out.json.push_back(ToJson(d));
    text << d.id << "\t" << ShowJst(d.ordered_at) << "\t" << d.contractor_id << "\t" << d.profile_id
         << " v" << d.profile_version << "\t" << contracts::ToString(d.transport) << "\t"
         << contracts::ToString(d.outcome) << "\t" << d.record_count << " records\n";
  }
  out.text = list->empty() ? "no deliveries in that period\n" : text.str();
  return out;
}

}  // namespace itaku::gateway
