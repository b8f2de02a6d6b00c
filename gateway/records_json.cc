#include "gateway/records_json.h"

namespace itaku::gateway {

nlohmann::json ToJson(const contracts::DeliveryRecord& r) {
  return {{"delivery_id", r.id},
          {"contractor", r.contractor_id},
          {"profile", r.profile_id},
          {"profile_version", r.profile_version},
          {"transport", r.transport},
          {"outcome", r.outcome},
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
                   {"outcome", a.outcome},
                   {"error", a.error}});
  }
  return out;
}

}  // namespace itaku::gateway
