// Special requests (policy 6(1) 特に申し入れ): a subscriber excluded from, or
// fields withheld from or (with consent) added to, what a contractor gets.
#include <filesystem>

#include "contracts/base/files.h"
#include "contracts/base/strings.h"
#include "gateway/detail/command_util.h"
#include "gateway/records_json.h"
#include "gateway/requests.h"
#include "policies/request_rules.h"
#include "policies/subscriber_id.h"

namespace itaku::gateway {

using contracts::SpecialKind;
namespace fs = std::filesystem;
namespace {

using Json = nlohmann::json;
using contracts::SpecialRequest;

std::string SpecialLine(const SpecialRequest& s) {
  const std::string kind(contracts::ToString(s.kind));
  std::string what = s.kind == SpecialKind::kExclude ? kind : kind + " " + Join(s.fields);
  return "#" + std::to_string(s.id) + "\t" + s.subscriber_id + "\t" +
         (s.contractor_id.empty() ? "purpose " + s.purpose : "contractor " + s.contractor_id) +
         "\t" + what + "\t" + FormatDate(s.valid_from) + " to " +
         (s.valid_until ? FormatDate(*s.valid_until) : std::string("open")) +
         (s.ended_at.empty() ? "" : "\tended " + ShowJst(s.ended_at) + " by " + s.ended_by);
}

// ---- Corrective-action requests ------------------------------------------------

}  // namespace

namespace {

// A copy of the consent evidence in the store's documents, by its hash.
Status KeepConsent(Context& ctx, const std::string& file, SpecialRequest& s) {
  auto kept = KeepDocument(ctx, file, "consent");
  if (!kept.ok()) return kept.status();
  s.consent_sha256 = kept->sha256;
  s.consent_path = kept->path;
  return Status::Ok();
}

}  // namespace

Result<Output> SpecialAdd(Context& ctx, const SpecialArgs& a) {
  using R = Result<Output>;
  if (a.subscriber.empty()) return R::Error("special request: --subscriber is required");
  // Kept as normalised: exports are matched by their normalised ids.
  auto subscriber = TypedSubscriberId(ctx, a.subscriber);
  if (!subscriber.ok()) return R::Error("special request: " + subscriber.message());
  const std::string who = "special request for subscriber " + *subscriber + ": ";
  if (a.contractor.empty() == a.purpose.empty()) {
    return R::Error(who + "give exactly one of --contractor and --purpose");
  }
  const int kinds = (a.exclude ? 1 : 0) + (a.withhold.empty() ? 0 : 1) + (a.extend.empty() ? 0 : 1);
  if (kinds != 1) return R::Error(who + "give exactly one of --exclude, --withhold and --extend");
  if (!a.contractor.empty()) {
    auto c = ctx.store->FindContractor(a.contractor);
    if (!c.ok()) return c.status();
    if (!c.value()) return R::Error(who + "unknown contractor " + a.contractor);
  }
  SpecialRequest s;
  s.subscriber_id = *subscriber;
  s.contractor_id = a.contractor;
  s.purpose = a.purpose;
  s.kind = a.exclude             ? SpecialKind::kExclude
           : !a.withhold.empty() ? SpecialKind::kWithhold
                                 : SpecialKind::kExtend;
  s.fields = a.exclude ? std::vector<std::string>{} : !a.withhold.empty() ? a.withhold : a.extend;
  s.created_by = ctx.actor;
  auto role = ActorRole(ctx);
  if (!role.ok()) return role.status();
  const std::string refusal =
      policies::SpecialRequestRefusal(s, role.value(), !a.consent_file.empty());
  if (!refusal.empty()) return Status::Refused(who + refusal);
  if (s.kind == SpecialKind::kExtend) {
    if (Status c = KeepConsent(ctx, a.consent_file, s); !c.ok()) return R::Error(who + c.message());
  } else if (!a.consent_file.empty()) {
    return R::Error(who + "--consent goes with --extend only");
  }
  s.valid_from = ctx.clock->Today();
  if (!a.from.empty()) {
    auto d = ParseDate(a.from);
    if (!d) return R::Error(who + "--from must be a date like 2026-04-01, got " + a.from);
    s.valid_from = *d;
  }
  if (!a.until.empty()) {
    s.valid_until = ParseDate(a.until);
    if (!s.valid_until) return R::Error(who + "--until must be a date like 2027-03-31");
    if (*s.valid_until < s.valid_from) return R::Error(who + "--until is before --from");
  }
  // An id no delivery ever carried may be mistyped (S9OO12 for S90012): the
  // request is kept (the subscriber may be in next month's export), but
  // whoever entered it is told to check.
  std::vector<std::string> warnings;
  auto seen = ctx.store->SubscriberSeen(s.subscriber_id);
  if (!seen.ok()) return seen.status();
  if (!seen.value()) {
    warnings.push_back("subscriber " + s.subscriber_id +
                       " appears in no delivery so far; check the id");
  }
  s.created_at = ctx.clock->NowUtc();
  Status st = ctx.store->Transaction([&]() -> Status {
    auto id = ctx.store->AddSpecialRequest(s);
    if (!id.ok()) return id.status();
    s.id = id.value();
    Json details = ToJson(s);
    if (!warnings.empty()) details["warnings"] = warnings;
    return ctx.audit->Append(ctx.actor, "special.add", "special:" + std::to_string(s.id), details);
  });
  if (!st.ok()) return st;
  Output out{ToJson(s), "special request " + SpecialLine(s)};
  out.json["warnings"] = warnings;
  for (const auto& w : warnings) out.text += "\nwarning: " + w;
  return out;
}

Result<Output> SpecialList(Context& ctx, const std::optional<std::string>& subscriber, bool all) {
  if (!subscriber) {
    return Listing(ctx.store->ListSpecialRequests(std::nullopt, all), SpecialLine,
                   "no special requests");
  }
  // Compared normalised on both sides: " S90001" finds S90001, and so do
  // requests stored before ids were normalised.
  auto list = ctx.store->ListSpecialRequests(std::nullopt, all);
  if (!list.ok()) return list.status();
  const std::string wanted = policies::NormalizeSubscriberId(*subscriber);
  std::vector<SpecialRequest> found;
  for (SpecialRequest& s : list.value()) {
    if (policies::NormalizeSubscriberId(s.subscriber_id) == wanted) found.push_back(std::move(s));
  }
  return Listing(found, SpecialLine, "no special requests");
}

Result<Output> SpecialEnd(Context& ctx, int64_t id, const std::string& reason) {
  auto role = ActorRole(ctx);
  if (!role.ok()) return role.status();
  auto found = ctx.store->FindSpecialRequest(id);
  if (!found.ok()) return found.status();
  if (!found.value()) return Status::NotFound("unknown special request " + std::to_string(id));
  SpecialRequest s = *found.value();
  if (std::string why = policies::SpecialEndRefusal(s, role.value(), ctx.actor); !why.empty()) {
    return Status::Refused(why);
  }
  if (!s.ended_at.empty()) {
    return Result<Output>::Error("special request " + std::to_string(id) + " already ended on " +
                                 ShowJst(s.ended_at));
  }
  if (reason.empty()) return Result<Output>::Error("special end needs --reason");
  s.ended_by = ctx.actor;
  s.ended_at = ctx.clock->NowUtc();
  s.end_reason = reason;
  const std::string subject = "special:" + std::to_string(id);
  Status st = ctx.store->Transaction([&]() -> Status {
    if (Status u = ctx.store->UpdateSpecialRequest(s); !u.ok()) return u;
    return ctx.audit->Append(
        ctx.actor, "special.end", subject,
        {{"corrects", subject}, {"subscriber", s.subscriber_id}, {"reason", reason}});
  });
  if (!st.ok()) return st;
  return Output{ToJson(s), "ended special request " + SpecialLine(s)};
}

Result<SpecialShaping> ShapeBySpecialRequests(Context& ctx, const std::string& contractor,
                                              const std::string& purpose,
                                              const std::vector<std::string>& profile_fields) {
  auto list = ctx.store->ListSpecialRequests(std::nullopt, false);
  if (!list.ok()) return list.status();
  // The projector looks records up by their normalised id; a request
  // stored before ids were normalised (" S90001") still finds its records.
  for (SpecialRequest& s : list.value()) {
    s.subscriber_id = policies::NormalizeSubscriberId(s.subscriber_id);
  }
  return policies::ShapeBySpecialRequests(list.value(), contractor, purpose, profile_fields,
                                          ctx.clock->Today());
}

// ---- Corrective-action requests ------------------------------------------------

}  // namespace itaku::gateway
