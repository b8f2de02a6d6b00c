#include "contracts/record_json.h"

namespace itaku::contracts {
namespace {

nlohmann::json OptionalBool(const std::optional<bool>& b) {
  return b ? nlohmann::json(*b) : nlohmann::json();
}

}  // namespace

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
