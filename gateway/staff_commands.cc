// Staff and their roles (operator, privacy officer, auditor).
#include "gateway/detail/command_util.h"
#include "gateway/records_json.h"
#include "gateway/requests.h"

namespace itaku::gateway {

using Json = nlohmann::json;

// ---- Staff ---------------------------------------------------------------------

Result<Output> StaffAdd(Context& ctx, const std::string& name, const std::string& role) {
  if (name.empty()) return Result<Output>::Error("staff name must not be empty");
  std::optional<contracts::StaffRole> parsed = contracts::Parse<contracts::StaffRole>(role);
  if (!parsed) {
    return Result<Output>::Error("unknown role " + role +
                                 " (operator, privacy-officer or auditor)");
  }
  contracts::StaffMember m{name, *parsed, ctx.actor, ctx.clock->NowUtc()};
  Status s = ctx.store->Transaction([&]() -> Status {
    if (Status a = ctx.store->AddStaff(m); !a.ok()) return a;
    return ctx.audit->Append(ctx.actor, "staff.add", "staff:" + name, ToJson(m));
  });
  if (!s.ok()) return s;
  return Output{ToJson(m), "added " + name + " as " + role};
}

Result<Output> StaffList(Context& ctx) {
  return Listing(
      ctx.store->ListStaff(),
      [](const contracts::StaffMember& m) {
        return m.name + "\t" + std::string(contracts::ToString(m.role)) + "\tadded " + m.added_at +
               " by " + m.added_by;
      },
      "no staff registered");
}

Result<Output> StaffRemove(Context& ctx, const std::string& name) {
  Status s = ctx.store->Transaction([&]() -> Status {
    if (Status r = ctx.store->RemoveStaff(name); !r.ok()) return r;
    return ctx.audit->Append(ctx.actor, "staff.remove", "staff:" + name, Json::object());
  });
  if (!s.ok()) return s;
  return Output{{{"name", name}, {"removed", true}}, "removed " + name};
}

// ---- Special requests ------------------------------------------------------------

}  // namespace itaku::gateway
