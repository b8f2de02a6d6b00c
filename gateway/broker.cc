#include "gateway/broker.h"

#include <filesystem>
#include <fstream>

#include "policies/decision.h"

namespace itaku::gateway {
namespace {

constexpr char kPseudonymKey[] = "pseudonym_key";

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
          {"input", r.input_name}};
}

std::string JoinReasons(const std::vector<std::string>& reasons) {
  std::string out;
  for (const auto& r : reasons) {
    if (!out.empty()) out += "; ";
    out += r;
  }
  return out;
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

  policies::RegistrySnapshot snap{*contractor.value(), p, ndas.value()};
  policies::Decision decision = policies::Decide({req.transport}, snap, ctx.clock->Today());

  DeliverResult result;
  result.reasons = decision.reasons;
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
  rec.input_name = std::filesystem::path(req.input_path).filename().string();

  if (decision.allowed() && !req.dry_run) {
    // Only the dry run exists until the transports land; say so plainly.
    decision.reasons.push_back("transport " + req.transport +
                               " cannot deliver yet in this version; use --dry-run");
    result.reasons = decision.reasons;
  }

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

  // Dry run: every record is read, decoded, checked and projected, nothing
  // is written anywhere.
  std::ifstream in(req.input_path, std::ios::binary);
  if (!in) return refuse_early("cannot read export " + req.input_path);
  auto key = ctx.store->GetMeta(kPseudonymKey);
  if (!key.ok()) return key.status();
  if (!key.value())
    return Result<DeliverResult>::Error("store has no pseudonym key: run itaku init");

  policies::ProjectionSpec spec;
  spec.fields = p.fields;
  for (const auto& [field, mask] : p.masks) {
    spec.masks[field] = policies::ParseMask(mask).value_or(policies::Mask::kRedact);
  }
  spec.output_encoding =
      p.output_encoding == "cp932" ? policies::Encoding::kCp932 : policies::Encoding::kUtf8;
  spec.input_encoding = req.input_encoding;
  spec.pseudonym_key = *key.value();

  auto summary = policies::Project(spec, in, rec.input_name, nullptr,
                                   [](std::string_view) { return Status::Ok(); });
  if (!summary.ok()) {
    rec.outcome = "failed";
    rec.reason = summary.message();
    Status s = ctx.store->Transaction([&]() -> Status {
      auto id = ctx.store->AddDelivery(rec);
      if (!id.ok()) return id.status();
      rec.id = id.value();
      return ctx.audit->Append(ctx.actor, "delivery.failed", "delivery:" + std::to_string(rec.id),
                               RecordJson(rec));
    });
    if (!s.ok()) return s;
    return summary.status();
  }
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

}  // namespace itaku::gateway
