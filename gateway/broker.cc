// Deliver() in three steps: plan (the decision and the special requests:
// what goes to whom), build the package, hand it off through one transport
// (package_builder.h, handoff.h). Every outcome, refusal included, is a
// delivery row and an audit event.
#include "gateway/broker.h"

#include <filesystem>
#include <fstream>
#include <optional>

#include "gateway/handoff.h"
#include "gateway/operator_identity.h"
#include "gateway/package_builder.h"
#include "gateway/pseudonym_key.h"
#include "gateway/records_json.h"
#include "gateway/requests.h"
#include "gateway/supervision.h"
#include "policies/decision.h"
#include "policies/delivery_rules.h"

namespace itaku::gateway {
namespace {

namespace fs = std::filesystem;

std::string JoinReasons(const std::vector<std::string>& reasons) {
  std::string out;
  for (const auto& r : reasons) out += (out.empty() ? "" : "; ") + r;
  return out;
}

// A refusal of the request itself, before there is a delivery to record:
// audited against the profile it named.
Result<DeliverResult> RefuseEarly(Context& ctx, const DeliverRequest& req, const Status& why) {
  Status audited =
      ctx.audit->Append(ctx.actor, "delivery.refused", "profile:" + req.profile_id,
                        {{"reason", why.message()}, {"transport", ToString(req.transport)}});
  return why.WithMessage(WithAuditFailure(why.message(), audited));
}

// Adds the delivery row as `rec` says and its audit `event`, together; the
// details are the record's JSON plus `extra`.
Status RecordOutcome(Context& ctx, contracts::DeliveryRecord& rec, const std::string& event,
                     const nlohmann::json& extra = nlohmann::json::object(),
                     const std::vector<int64_t>& special_requests = {}) {
  return ctx.store->Transaction([&]() -> Status {
    auto id = ctx.store->AddDelivery(rec);
    if (!id.ok()) return id.status();
    rec.id = id.value();
    if (Status sr = ctx.store->AddDeliverySpecialRequests(rec.id, special_requests); !sr.ok()) {
      return sr;
    }
    nlohmann::json details = ToJson(rec);
    details.update(extra);
    return ctx.audit->Append(ctx.actor, event, "delivery:" + std::to_string(rec.id), details);
  });
}

struct Plan {
  contracts::ContractProfile profile;
  std::vector<contracts::Nda> ndas;
  RecipientChoice recipient;
  std::unique_ptr<Handoff> handoff;  // absent for a dry run
};

// The transport's own checks: its endpoint and the package's recipient.
// Adds refusal reasons to `reasons`; sets plan.handoff.
Status PlanTransport(Context& ctx, const DeliverRequest& req, Plan& plan,
                     std::vector<std::string>& reasons) {
  const contracts::ContractProfile& p = plan.profile;
  using contracts::Transport;
  const Transport t = req.transport;
  // What the package cannot carry is refused in a dry run too.
  if (t == Transport::kSftp && p.output_package == "csv" && policies::SendsDrawings(p)) {
    reasons.push_back("profile " + p.id +
                      " sends house drawings, which a plain CSV package cannot carry");
  }
  if (req.dry_run) return Status::Ok();
  if (t == Transport::kSftp) {
    auto target = ResolveSftpTarget(ctx, p.contractor_id);
    if (!target.ok()) return target.status();
    if (!target->refusal.empty()) reasons.push_back(target->refusal);
    plan.handoff = SftpHandoff(std::move(target->endpoint), req);
  } else if (t == Transport::kMedia) {
    plan.handoff = MediaHandoff(req.out_dir);
  } else if (t == Transport::kPortal) {
    plan.handoff = PortalHandoff(*policies::ParsePortalLifetime(req.expires_in), req.max_downloads);
  } else {
    // Paper: the handover slip names the operator; a slip signed by a
    // placeholder proves nothing.
    auto op = LoadOperatorIdentity(ctx.daemon_config);
    if (!op.ok()) return op.status();
    const std::string why =
        PlaceholderRefusal(*op, "a paper delivery's handover slip", {"operator_name"});
    if (!why.empty()) reasons.push_back(why);
    plan.handoff = PaperHandoff(req.out_dir);
    return Status::Ok();  // printed, not encrypted: no recipient
  }
  if (t != Transport::kSftp || p.output_package != "csv") {
    auto chosen = ChooseRecipient(ctx, p.contractor_id, req.password_recipient);
    if (!chosen.ok()) return chosen.status();
    plan.recipient = std::move(chosen).value();
    if (!plan.recipient.refusal.empty()) reasons.push_back(plan.recipient.refusal);
  }
  return Status::Ok();
}

// The request's own options; a refusal reason, or empty.
std::string CheckRequest(const DeliverRequest& req) {
  if (req.dry_run) return "";
  if (req.transport == contracts::Transport::kPortal &&
      !policies::ParsePortalLifetime(req.expires_in)) {
    return "--expires-in must read like 7d, 48h or 30m (at most 90d), got " + req.expires_in;
  }
  if (req.transport == contracts::Transport::kPortal &&
      !policies::ValidMaxDownloads(req.max_downloads)) {
    return "--max-downloads must be 1 to 1000000";
  }
  if (req.transport == contracts::Transport::kMedia && req.out_dir.empty()) {
    return "--via media needs --out DIR (the medium's mount point)";
  }
  if (req.transport == contracts::Transport::kMedia && !fs::is_directory(req.out_dir)) {
    return "--out " + req.out_dir + " is not a folder (the medium's mount point)";
  }
  if (req.transport == contracts::Transport::kPaper &&
      (req.out_dir.empty() || !fs::is_directory(req.out_dir))) {
    return "--via paper needs --out DIR (the folder to put the printable PDF in)";
  }
  return "";
}

// Step one: who, what and whether. Loads the profile, its contractor and
// NDAs, has policies/ decide, checks the transport; fills result.record and
// result.reasons.
Result<Plan> PlanDelivery(Context& ctx, const DeliverRequest& req, DeliverResult& result) {
  auto refuse = [&](const Status& why) { return RefuseEarly(ctx, req, why).status(); };
  // A clock gone back could make an ended NDA look in force.
  auto behind = ctx.audit->ClockBehind();
  if (!behind.ok()) return behind.status();
  if (!behind->empty()) return refuse(Status::Refused(behind.value()));
  auto profile = ctx.store->FindProfile(req.profile_id, req.profile_version);
  if (!profile.ok()) return profile.status();
  if (!profile.value()) {
    return refuse(
        Status::NotFound("unknown profile " + req.profile_id +
                         (req.profile_version ? " version " + std::to_string(*req.profile_version)
                                              : std::string())));
  }
  Plan plan;
  plan.profile = std::move(*profile.value());
  const contracts::ContractProfile& p = plan.profile;
  auto contractor = ctx.store->FindContractor(p.contractor_id);
  if (!contractor.ok()) return contractor.status();
  if (!contractor.value()) return refuse(Status::NotFound("unknown contractor " + p.contractor_id));
  auto ndas = ctx.store->ListNdas(p.contractor_id);
  if (!ndas.ok()) return ndas.status();
  plan.ndas = std::move(ndas).value();
  if (std::string why = CheckRequest(req); !why.empty()) return refuse(Status::Error(why));

  policies::Decision decision =
      policies::Decide({req.transport}, {*contractor.value(), p, plan.ndas}, ctx.clock->Today());
  // The register's side (policy 6 指示・監督): a contract covering the
  // purpose today, and when configured no overdue disposal or check.
  auto supervision = JudgeSupervision(ctx, p.contractor_id, p.purpose);
  if (!supervision.ok()) return supervision.status();
  for (auto& why : supervision->reasons) decision.reasons.push_back(std::move(why));
  result.contract_id = supervision->contract_id;
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
  if (Status t = PlanTransport(ctx, req, plan, decision.reasons); !t.ok()) return t;
  result.reasons = decision.reasons;
  return plan;
}

// What the projector does for this profile, shaped by the special requests
// (policy 6(1)) in force today: who is left out, what is withheld or, with
// consent, added.
Result<policies::ProjectionSpec> ProjectionFor(Context& ctx, const DeliverRequest& req,
                                               const contracts::ContractProfile& p,
                                               DeliverResult& result) {
  auto key = LoadPseudonymKey(ctx);  // beside the store; an old store's key moves out here
  if (!key.ok()) return key.status();
  policies::ProjectionSpec spec;
  spec.fields = p.fields;
  for (const auto& [field, mask] : p.masks) {
    spec.masks[field] = policies::ParseMask(mask).value_or(policies::Mask::kRedact);
  }
  spec.output_encoding =
      p.output_encoding == "cp932" ? policies::Encoding::kCp932 : policies::Encoding::kUtf8;
  spec.input_encoding = req.input_encoding;
  spec.formula_guard = p.formula_guard;
  if (req.transport == contracts::Transport::kPaper) {
    // Printed, not opened in a spreadsheet: the text as it is, in UTF-8
    // for the layout, with no formula guard to put a stray ' before it.
    spec.output_encoding = policies::Encoding::kUtf8;
    spec.formula_guard = false;
  }
  spec.pseudonym_key = key.value();
  spec.subscriber_id_pattern = SubscriberIds(ctx);  // ids are checked as staff's are
  auto shaping = ShapeBySpecialRequests(ctx, p.contractor_id, p.purpose, p.fields);
  if (!shaping.ok()) return shaping.status();
  spec.overrides = std::move(shaping->overrides);
  if (shaping->extra_fields.empty()) return spec;
  // An extension of a field this export does not have cannot be honoured;
  // it is reported, and the delivery goes ahead without it.
  std::ifstream header(req.input_path, std::ios::binary);
  auto columns = policies::ExportColumns(header, req.input_path, req.input_encoding);
  for (const std::string& f : shaping->extra_fields) {
    if (columns.ok() && std::find(columns->begin(), columns->end(), f) != columns->end()) {
      spec.extra_fields.push_back(f);
      continue;
    }
    result.notes.push_back("an extension adds " + f + ", which " + result.record.input_name +
                           " does not have; not sent");
    for (auto& [subscriber, o] : spec.overrides) o.extended.erase(f);
  }
  return spec;
}

}  // namespace

Result<DeliverResult> Deliver(Context& ctx, const DeliverRequest& req) {
  DeliverResult result;
  contracts::DeliveryRecord& rec = result.record;
  auto plan = PlanDelivery(ctx, req, result);
  if (!plan.ok()) return plan.status();
  if (!result.allowed()) {
    rec.outcome = contracts::DeliveryOutcome::kRefused;
    rec.reason = JoinReasons(result.reasons);
    if (Status s = RecordOutcome(ctx, rec, "delivery.refused"); !s.ok()) return s;
    return result;
  }
  std::ifstream in(req.input_path, std::ios::binary);
  if (!in) return RefuseEarly(ctx, req, Status::Io("cannot read export " + req.input_path));
  auto spec = ProjectionFor(ctx, req, plan->profile, result);
  if (!spec.ok()) return RefuseEarly(ctx, req, spec.status());

  // Records a delivery that could not be completed; whatever it wrote is
  // already gone (the package writers remove their temporary files).
  auto record_failure = [&](const Status& why) -> Result<DeliverResult> {
    rec.outcome = contracts::DeliveryOutcome::kFailed;
    rec.reason = why.message();
    if (Status s = RecordOutcome(ctx, rec, "delivery.failed"); !s.ok()) return s;
    return why;
  };

  // The drawings the package carries (a plain CSV carries only their
  // names), judged by the same checks in the dry run as in the real run.
  std::optional<DrawingCheck> drawings;
  if (policies::SendsDrawings(plan->profile) &&
      (plan->profile.output_package != "csv" || req.transport == contracts::Transport::kPaper)) {
    auto limits = LoadDrawingLimits(ctx.daemon_config);
    if (!limits.ok()) return record_failure(limits.status());
    auto opened = DrawingCheck::Open(plan->profile, req.attachments_dir, *limits);
    if (!opened.ok()) return record_failure(opened.status());
    drawings.emplace(std::move(opened).value());
  }

  if (req.dry_run) {
    // Every record is read, decoded, checked and projected, and every
    // drawing opened and judged; nothing is read from a drawing, nothing is
    // written anywhere.
    auto summary =
        policies::Project(*spec, in, rec.input_name, nullptr,
                          [&](std::string_view subscriber, std::string_view drawing) -> Status {
                            if (!drawings || drawing.empty()) return Status::Ok();
                            return drawings->Check(subscriber, drawing);
                          });
    if (!summary.ok()) return record_failure(summary.status());
    result.withheld = summary->withheld_fields;
    result.special_requests = summary->applied_overrides;
    result.formula_guarded = summary->formula_guarded;
    rec.outcome = contracts::DeliveryOutcome::kDryRun;
    rec.record_count = summary->records;
    Status s = RecordOutcome(ctx, rec, "delivery.dry-run",
                             {{"withheld", result.withheld},
                              {"special_requests", result.special_requests},
                              {"formula_guard", spec->formula_guard},
                              {"formula_guarded_cells", summary->formula_guarded}},
                             result.special_requests);
    if (!s.ok()) return s;
    return result;
  }

  PackageJob job{ctx, plan->profile,   *spec,      in,
                 rec, plan->recipient, plan->ndas, drawings ? &*drawings : nullptr};
  if (Status s = plan->handoff->Run(job, result, record_failure); !s.ok()) return s;
  return result;
}

}  // namespace itaku::gateway
