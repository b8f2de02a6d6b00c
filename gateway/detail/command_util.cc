#include "gateway/detail/command_util.h"

namespace itaku::gateway {

Result<Date> ParseDateArg(const std::string& flag, const std::string& value) {
  auto d = ParseDate(value);
  if (!d) return Result<Date>::Error(flag + " must be a date like 2026-04-01, got " + value);
  return *d;
}

Result<contracts::Contractor> RequireContractor(Context& ctx, const std::string& id) {
  auto c = ctx.store->FindContractor(id);
  if (!c.ok()) return c.status();
  if (!c.value()) {
    return Status::NotFound("unknown contractor " + id +
                                                " (register it with: itaku contractor add)");
  }
  return *c.value();
}

Result<std::optional<contracts::StaffRole>> ActorRole(Context& ctx) {
  auto staff = ctx.store->FindStaff(ctx.actor);
  if (!staff.ok()) return staff.status();
  if (!staff.value()) return std::optional<contracts::StaffRole>();
  return std::optional<contracts::StaffRole>(staff.value()->role);
}

}  // namespace itaku::gateway
