#include "policies/decision.h"

#include <algorithm>

#include "contracts/base/strings.h"

namespace itaku::policies {
namespace {}  // namespace

Decision Decide(const DeliveryRequest& request, const RegistrySnapshot& snap, const Date& today) {
  Decision d;
  const auto& c = snap.contractor;
  const auto& p = snap.profile;
  const std::string day = FormatDate(today);

  if (c.status != contracts::ContractorStatus::kActive) {
    d.reasons.push_back("contractor " + c.id + " is " + std::string(contracts::ToString(c.status)) +
                        " (policy 4(3): deliveries go only to active contractors)");
  }
  if (p.contractor_id != c.id) {
    d.reasons.push_back("profile " + p.id + " belongs to contractor " + p.contractor_id + ", not " +
                        c.id);
  }

  // The NDA in force today that runs longest, so the record names the one
  // that covers the delivery best.
  const contracts::Nda* in_force = nullptr;
  const contracts::Nda* latest_ended = nullptr;
  for (const auto& n : snap.ndas) {
    if (n.contractor_id != c.id) continue;
    // Withdrawn as entered in error: it never covered anything.
    if (!n.withdrawn_at.empty()) continue;
    if (n.in_force_from <= today && today <= n.in_force_until) {
      if (!in_force || n.in_force_until > in_force->in_force_until) in_force = &n;
    } else if (n.in_force_until < today) {
      if (!latest_ended || n.in_force_until > latest_ended->in_force_until) latest_ended = &n;
    }
  }
  if (in_force) {
    d.nda_id = in_force->id;
  } else {
    std::string why = "contractor " + c.id + " has no NDA in force on " + day;
    if (latest_ended)
      why += " (its last NDA ended " + FormatDate(latest_ended->in_force_until) + ")";
    why += " (policy 4(3): 機密保持契約)";
    d.reasons.push_back(why);
  }

  if (today < p.valid_from || p.valid_until < today) {
    d.reasons.push_back("profile " + p.id + " v" + std::to_string(p.version) + " is not valid on " +
                        day + " (valid " + FormatDate(p.valid_from) + " to " +
                        FormatDate(p.valid_until) + ")");
  }
  const std::string transport(contracts::ToString(request.transport));
  if (std::find(p.transports.begin(), p.transports.end(), transport) == p.transports.end()) {
    d.reasons.push_back("profile " + p.id + " does not allow transport " + transport + " (allows " +
                        Join(p.transports) + "; policy 6(2))");
  }
  return d;
}

}  // namespace itaku::policies
