#include "contracts/record_json.h"

namespace itaku::contracts {
namespace {

nlohmann::json OptionalBool(const std::optional<bool>& b) {
  return b ? nlohmann::json(*b) : nlohmann::json();
}

// Reads `j[key]` as a date into `out`; false when absent or malformed.
bool DateAt(const nlohmann::json& j, const char* key, Date& out) {
  auto it = j.find(key);
  if (it == j.end() || !it->is_string()) return false;
  auto d = ParseDate(it->get<std::string>());
  if (!d) return false;
  out = *d;
  return true;
}

template <typename E>
bool EnumAt(const nlohmann::json& j, const char* key, E& out) {
  auto it = j.find(key);
  if (it == j.end() || !it->is_string()) return false;
  auto e = Parse<E>(it->get<std::string>());
  if (!e) return false;
  out = *e;
  return true;
}

}  // namespace

nlohmann::json ToJson(const Contract& c) {
  return nlohmann::json{{"contractor_id", c.contractor_id},
                        {"signed_on", FormatDate(c.signed_on)},
                        {"in_force_from", FormatDate(c.in_force_from)},
                        {"in_force_until", FormatDate(c.in_force_until)},
                        {"purposes", c.purposes},
                        {"incident_contact", c.incident_contact},
                        {"reoutsourcing", ToString(c.reoutsourcing)},
                        {"document_sha256", c.document_sha256},
                        {"document_path", c.document_path},
                        {"registered_by", c.registered_by},
                        {"registered_at", c.registered_at},
                        {"withdrawn_at", c.withdrawn_at},
                        {"withdrawn_by", c.withdrawn_by},
                        {"withdrawn_reason", c.withdrawn_reason}};
}

std::optional<Contract> ContractFromJson(const nlohmann::json& j) {
  try {
    Contract c;
    c.contractor_id = j.at("contractor_id").get<std::string>();
    if (!DateAt(j, "signed_on", c.signed_on) || !DateAt(j, "in_force_from", c.in_force_from) ||
        !DateAt(j, "in_force_until", c.in_force_until) ||
        !EnumAt(j, "reoutsourcing", c.reoutsourcing)) {
      return std::nullopt;
    }
    c.purposes = j.at("purposes").get<std::vector<std::string>>();
    c.incident_contact = j.at("incident_contact").get<std::string>();
    c.document_sha256 = j.at("document_sha256").get<std::string>();
    c.document_path = j.at("document_path").get<std::string>();
    c.registered_by = j.at("registered_by").get<std::string>();
    c.registered_at = j.at("registered_at").get<std::string>();
    c.withdrawn_at = j.value("withdrawn_at", "");
    c.withdrawn_by = j.value("withdrawn_by", "");
    c.withdrawn_reason = j.value("withdrawn_reason", "");
    return c;
  } catch (const nlohmann::json::exception&) {
    return std::nullopt;
  }
}

nlohmann::json ToJson(const Subcontractor& s) {
  return nlohmann::json{{"contract_id", s.contract_id},
                        {"name", s.name},
                        {"work", s.work},
                        {"nda_from", FormatDate(s.nda_from)},
                        {"nda_until", FormatDate(s.nda_until)},
                        {"nda_sha256", s.nda_sha256},
                        {"nda_path", s.nda_path},
                        {"registered_by", s.registered_by},
                        {"registered_at", s.registered_at}};
}

std::optional<Subcontractor> SubcontractorFromJson(const nlohmann::json& j) {
  try {
    Subcontractor s;
    s.contract_id = j.at("contract_id").get<int64_t>();
    s.name = j.at("name").get<std::string>();
    s.work = j.at("work").get<std::string>();
    if (!DateAt(j, "nda_from", s.nda_from) || !DateAt(j, "nda_until", s.nda_until)) {
      return std::nullopt;
    }
    s.nda_sha256 = j.at("nda_sha256").get<std::string>();
    s.nda_path = j.at("nda_path").get<std::string>();
    s.registered_by = j.at("registered_by").get<std::string>();
    s.registered_at = j.at("registered_at").get<std::string>();
    return s;
  } catch (const nlohmann::json::exception&) {
    return std::nullopt;
  }
}

nlohmann::json ToJson(const Disposal& d) {
  return nlohmann::json{{"delivery_id", d.delivery_id},
                        {"method", ToString(d.method)},
                        {"disposed_on", FormatDate(d.disposed_on)},
                        {"certificate_sha256", d.certificate_sha256},
                        {"certificate_path", d.certificate_path},
                        {"certificate_name", d.certificate_name},
                        {"via", d.via},
                        {"recorded_by", d.recorded_by},
                        {"recorded_at", d.recorded_at}};
}

std::optional<Disposal> DisposalFromJson(const nlohmann::json& j) {
  try {
    Disposal d;
    d.delivery_id = j.at("delivery_id").get<int64_t>();
    if (!EnumAt(j, "method", d.method) || !DateAt(j, "disposed_on", d.disposed_on)) {
      return std::nullopt;
    }
    d.certificate_sha256 = j.at("certificate_sha256").get<std::string>();
    d.certificate_path = j.at("certificate_path").get<std::string>();
    d.certificate_name = j.at("certificate_name").get<std::string>();
    d.via = j.at("via").get<std::string>();
    d.recorded_by = j.at("recorded_by").get<std::string>();
    d.recorded_at = j.at("recorded_at").get<std::string>();
    return d;
  } catch (const nlohmann::json::exception&) {
    return std::nullopt;
  }
}

nlohmann::json ToJson(const SupervisionCheck& c) {
  return nlohmann::json{
      {"contractor_id", c.contractor_id},     {"checked_on", FormatDate(c.checked_on)},
      {"result", ToString(c.result)},         {"findings", c.findings},
      {"evidence_sha256", c.evidence_sha256}, {"evidence_path", c.evidence_path},
      {"next_due", FormatDate(c.next_due)},   {"recorded_by", c.recorded_by},
      {"recorded_at", c.recorded_at}};
}

std::optional<SupervisionCheck> SupervisionCheckFromJson(const nlohmann::json& j) {
  try {
    SupervisionCheck c;
    c.contractor_id = j.at("contractor_id").get<std::string>();
    if (!DateAt(j, "checked_on", c.checked_on) || !EnumAt(j, "result", c.result) ||
        !DateAt(j, "next_due", c.next_due)) {
      return std::nullopt;
    }
    c.findings = j.at("findings").get<std::string>();
    c.evidence_sha256 = j.at("evidence_sha256").get<std::string>();
    c.evidence_path = j.at("evidence_path").get<std::string>();
    c.recorded_by = j.at("recorded_by").get<std::string>();
    c.recorded_at = j.at("recorded_at").get<std::string>();
    return c;
  } catch (const nlohmann::json::exception&) {
    return std::nullopt;
  }
}

nlohmann::json ToJson(const Incident& i) {
  return nlohmann::json{{"contractor_id", i.contractor_id},
                        {"since", FormatDate(i.since)},
                        {"until", FormatDate(i.until)},
                        {"discovered_on", FormatDate(i.discovered_on)},
                        {"malicious", i.malicious},
                        {"summary", i.summary},
                        {"deliveries", i.deliveries},
                        {"persons", i.persons},
                        {"persons_by_item", i.persons_by_item},
                        {"cause", i.cause},
                        {"secondary_harm", i.secondary_harm},
                        {"response", i.response},
                        {"measures", i.measures},
                        {"other", i.other},
                        {"publication", i.publication},
                        {"publication_text", i.publication_text},
                        {"publication_reason", i.publication_reason},
                        {"publication_note", i.publication_note},
                        {"opened_by", i.opened_by},
                        {"opened_at", i.opened_at},
                        {"preliminary_reported_at", i.preliminary_reported_at},
                        {"final_reported_at", i.final_reported_at},
                        {"closed_at", i.closed_at}};
}

std::optional<Incident> IncidentFromJson(const nlohmann::json& j) {
  try {
    Incident i;
    i.contractor_id = j.at("contractor_id").get<std::string>();
    if (!DateAt(j, "since", i.since) || !DateAt(j, "until", i.until) ||
        !DateAt(j, "discovered_on", i.discovered_on)) {
      return std::nullopt;
    }
    i.malicious = j.at("malicious").get<bool>();
    i.summary = j.at("summary").get<std::string>();
    i.deliveries = j.at("deliveries").get<std::vector<int64_t>>();
    i.persons = j.at("persons").get<int64_t>();
    i.persons_by_item = j.at("persons_by_item").get<std::map<std::string, int64_t>>();
    for (auto [field, key] : {std::pair{&i.cause, "cause"},
                              {&i.secondary_harm, "secondary_harm"},
                              {&i.response, "response"},
                              {&i.measures, "measures"},
                              {&i.other, "other"},
                              {&i.publication, "publication"},
                              {&i.publication_text, "publication_text"},
                              {&i.publication_reason, "publication_reason"},
                              {&i.publication_note, "publication_note"},
                              {&i.opened_by, "opened_by"},
                              {&i.opened_at, "opened_at"},
                              {&i.preliminary_reported_at, "preliminary_reported_at"},
                              {&i.final_reported_at, "final_reported_at"},
                              {&i.closed_at, "closed_at"}}) {
      *field = j.value(key, "");
    }
    return i;
  } catch (const nlohmann::json::exception&) {
    return std::nullopt;
  }
}

nlohmann::json ToJson(const CorrectiveRequest& r) {
  return nlohmann::json{{"subscriber_id", r.subscriber_id},
                        {"channel", r.channel},
                        {"contractor_id", r.contractor_id},
                        {"request_text", r.request_text},
                        {"received_at", r.received_at},
                        {"received_by", r.received_by},
                        {"contact_email", r.contact_email},
                        {"state", ToString(r.state)},
                        {"justified", OptionalBool(r.justified)},
                        {"decision_reason", r.decision_reason},
                        {"decided_by", r.decided_by},
                        {"decided_at", r.decided_at},
                        {"instruction_text", r.instruction_text},
                        {"instructed_to", r.instructed_to},
                        {"instruction_via", r.instruction_via},
                        {"instructed_by", r.instructed_by},
                        {"instructed_at", r.instructed_at},
                        {"answer_text", r.answer_text},
                        {"answered_by", r.answered_by},
                        {"answered_at", r.answered_at},
                        {"carried_out", OptionalBool(r.carried_out)},
                        {"close_reason", r.close_reason},
                        {"closed_by", r.closed_by},
                        {"closed_at", r.closed_at},
                        {"notice_via", r.notice_via},
                        {"notice_to", r.notice_to},
                        {"notice_subject", r.notice_subject},
                        {"notice_text", r.notice_text},
                        {"notified_by", r.notified_by},
                        {"notified_at", r.notified_at},
                        {"notice_error", r.notice_error},
                        {"notice_error_at", r.notice_error_at}};
}

nlohmann::json ToJson(const SpecialRequest& r) {
  return nlohmann::json{{"subscriber_id", r.subscriber_id},
                        {"contractor_id", r.contractor_id},
                        {"purpose", r.purpose},
                        {"kind", ToString(r.kind)},
                        {"fields", r.fields},
                        {"consent_sha256", r.consent_sha256},
                        {"consent_path", r.consent_path},
                        {"valid_from", FormatDate(r.valid_from)},
                        {"valid_until", r.valid_until ? FormatDate(*r.valid_until) : std::string()},
                        {"created_by", r.created_by},
                        {"created_at", r.created_at},
                        {"ended_by", r.ended_by},
                        {"ended_at", r.ended_at},
                        {"end_reason", r.end_reason}};
}

}  // namespace itaku::contracts
