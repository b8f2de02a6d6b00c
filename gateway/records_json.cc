#include "gateway/records_json.h"

#include "contracts/base/date.h"
#include "contracts/record_json.h"

namespace itaku::gateway {

using Json = nlohmann::json;

nlohmann::json ToJson(const contracts::DeliveryRecord& r) {
  return {{"delivery_id", r.id},
          {"contractor", r.contractor_id},
          {"profile", r.profile_id},
          {"profile_version", r.profile_version},
          {"transport", contracts::ToString(r.transport)},
          {"outcome", contracts::ToString(r.outcome)},
          {"reason", r.reason},
          {"ordered_by", r.ordered_by},
          {"ordered_at", r.ordered_at},
          {"fields", r.fields},
          {"records", r.record_count},
          {"nda_id", r.nda_id ? nlohmann::json(*r.nda_id) : nlohmann::json()},
          {"input", r.input_name},
          {"package_sha256", r.package_sha256}};
}

nlohmann::json ToJson(const std::vector<contracts::DeliveryAttempt>& attempts) {
  nlohmann::json out = nlohmann::json::array();
  for (const auto& a : attempts) {
    out.push_back({{"attempt", a.attempt},
                   {"started_at", a.started_at},
                   {"finished_at", a.finished_at},
                   {"outcome", contracts::ToString(a.outcome)},
                   {"error", a.error}});
  }
  return out;
}

nlohmann::json ToJson(const contracts::Contractor& c) {
  return {{"id", c.id},
          {"name", c.name},
          {"status", std::string(contracts::ToString(c.status))},
          {"email", c.email},
          {"postal_code", c.postal_code},
          {"address", c.address},
          {"created_at", c.created_at}};
}

nlohmann::json ToJson(const contracts::Nda& n) {
  return {{"id", n.id},
          {"contractor", n.contractor_id},
          {"signed_on", FormatDate(n.signed_on)},
          {"in_force_from", FormatDate(n.in_force_from)},
          {"in_force_until", FormatDate(n.in_force_until)},
          {"signatories", n.signatories},
          {"document_sha256", n.document_sha256},
          {"document_path", n.document_path},
          {"registered_by", n.registered_by},
          {"registered_at", n.registered_at},
          {"withdrawn_at", n.withdrawn_at},
          {"withdrawn_by", n.withdrawn_by},
          {"withdrawn_reason", n.withdrawn_reason}};
}

nlohmann::json ToJson(const contracts::ContractProfile& p) {
  return {{"id", p.id},
          {"version", p.version},
          {"contractor", p.contractor_id},
          {"purpose", p.purpose},
          {"fields", p.fields},
          {"masks", p.masks},
          {"transports", p.transports},
          {"valid_from", FormatDate(p.valid_from)},
          {"valid_until", FormatDate(p.valid_until)},
          {"retention_days", p.retention_days},
          {"output",
           {{"format", p.output_format},
            {"encoding", p.output_encoding},
            {"package", p.output_package},
            {"formula_guard", p.formula_guard}}},
          {"source_sha256", p.source_sha256},
          {"imported_by", p.imported_by},
          {"imported_at", p.imported_at}};
}

nlohmann::json ToJson(const contracts::ContractorCertificate& c) {
  return {{"fingerprint", c.fingerprint},
          {"subject", c.subject},
          {"not_after", c.not_after},
          {"use", c.use}};
}

nlohmann::json ToJson(const contracts::SftpEndpointRecord& e) {
  return {{"url", e.url},
          {"host_key", e.host_key.empty() ? nlohmann::json() : nlohmann::json(e.host_key)},
          {"passphrase_source", e.passphrase_source},
          {"registered_by", e.registered_by},
          {"registered_at", e.registered_at}};
}

nlohmann::json ToJson(const contracts::Receipt& r) {
  return {{"delivery_id", r.delivery_id},
          {"delivered_at", r.delivered_at},
          {"contractor", r.contractor_id},
          {"profile", r.profile_id},
          {"profile_version", r.profile_version},
          {"transport", contracts::ToString(r.transport)},
          {"fields", r.fields}};
}

nlohmann::json ToJson(const contracts::MediaRecord& m) {
  return {{"delivery_id", m.delivery_id},
          {"package", m.package_name},
          {"state", contracts::ToString(m.state)},
          {"medium", m.medium},
          {"handed_to", m.handed_to},
          {"handed_over_at", m.handed_over_at},
          {"handed_over_by", m.handed_over_by},
          {"closed_at", m.closed_at},
          {"closed_by", m.closed_by},
          {"certificate_sha256", m.certificate_sha256}};
}

nlohmann::json ToJson(const contracts::StaffMember& m) {
  return {{"name", m.name},         {"role", contracts::ToString(m.role)},
          {"os_user", m.os_user},   {"os_uid", m.os_uid},
          {"added_by", m.added_by}, {"added_at", m.added_at}};
}

nlohmann::json ToJson(const contracts::Proposal& p) {
  auto parsed = [](const std::string& text) { return nlohmann::json::parse(text, nullptr, false); };
  return {{"id", p.id},
          {"state", contracts::ToString(p.state)},
          {"command", p.command},
          {"subject", p.subject},
          {"changes", parsed(p.changes)},
          {"proposed_by", p.proposed_by},
          {"proposed_at", p.proposed_at},
          {"expires_at", p.expires_at},
          {"decided_by", p.decided_by},
          {"decided_at", p.decided_at},
          {"note", p.note}};
}

// The stored spelling (contracts/record_json.h) with the id; the store's
// path of the consent evidence stays in the store.
nlohmann::json ToJson(const contracts::SpecialRequest& s) {
  Json j = contracts::ToJson(s);
  j.erase("consent_path");
  j["id"] = s.id;
  return j;
}

nlohmann::json ForPeople(nlohmann::json json) {
  if (json.is_string()) {
    const std::string& text = json.get_ref<const std::string&>();
    if (ParseUtc(text)) return IsoJst(text);
  } else if (json.is_structured()) {
    for (auto& value : json) value = ForPeople(std::move(value));
  }
  return json;
}

}  // namespace itaku::gateway
