#include "gateway/detail/command_util.h"

#include <filesystem>

#include "contracts/base/files.h"

namespace itaku::gateway {

namespace fs = std::filesystem;

Result<Date> ParseDateArg(const std::string& flag, const std::string& value) {
  auto d = ParseDate(value);
  if (!d) return Result<Date>::Error(flag + " must be a date like 2026-04-01, got " + value);
  return *d;
}

Result<KeptDocument> KeepDocument(Context& ctx, const std::string& file, const std::string& what) {
  if (file.empty() || !fs::is_regular_file(file)) {
    return Status::Error(what + " " + file + " is not a readable file");
  }
  auto sha = Sha256File(file);
  if (!sha.ok()) return sha.status();
  KeptDocument kept{sha.value(), (fs::path(ctx.store->DocumentDir()) /
                                  (sha.value() + fs::path(file).extension().string()))
                                     .string()};
  if (Status c = CopyFileAtomically(file, kept.path); !c.ok()) return c;
  return kept;
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
