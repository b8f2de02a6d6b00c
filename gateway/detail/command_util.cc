#include "gateway/detail/command_util.h"

#include <filesystem>
#include <map>

#include "contracts/base/files.h"
#include "policies/catalog.h"

namespace itaku::gateway {

namespace fs = std::filesystem;

Result<Date> ParseDateArg(const std::string& flag, const std::string& value) {
  auto d = ParseDate(value);
  if (!d) return Result<Date>::Error(flag + " must be a date like 2026-04-01, got " + value);
  return *d;
}

Result<KeptDocument> KeepDocument(Context& ctx, const std::string& file, const std::string& what,
                                  const std::string& extension) {
  if (file.empty() || !fs::is_regular_file(file)) {
    return Status::Error(what + " " + file + " is not a readable file");
  }
  auto sha = Sha256File(file);
  if (!sha.ok()) return sha.status();
  KeptDocument kept{
      sha.value(),
      (fs::path(ctx.store->DocumentDir()) /
       (sha.value() + (extension.empty() ? fs::path(file).extension().string() : extension)))
          .string()};
  if (Status c = CopyFileAtomically(file, kept.path); !c.ok()) return c;
  return kept;
}

namespace {

const std::map<std::string, std::string>& States() {
  static const std::map<std::string, std::string> k = {{"active", "有効"},
                                                       {"suspended", "停止中"},
                                                       {"terminated", "契約終了"},
                                                       {"pending", "承認待ち"},
                                                       {"approved", "承認済み"},
                                                       {"rejected", "却下"},
                                                       {"expired", "期限切れ"},
                                                       {"received", "受付"},
                                                       {"justified", "正当と判断"},
                                                       {"not-justified", "正当でないと判断"},
                                                       {"instructed", "委託先へ指示済み"},
                                                       {"answered", "委託先から報告あり"},
                                                       {"carried-out", "実施済み"},
                                                       {"not-carried-out", "実施せず"},
                                                       {"notified", "申出者へ通知済み"},
                                                       {"delivered", "提供済み"},
                                                       {"failed", "失敗"},
                                                       {"refused", "拒否"},
                                                       {"written", "媒体に書込み済み"},
                                                       {"handed-over", "引渡し済み"},
                                                       {"returned", "返却済み"},
                                                       {"destroyed", "廃棄済み"},
                                                       {"cancelled", "取消し"},
                                                       {"writing", "書込み中"},
                                                       {"sending", "送信中"},
                                                       {"published", "公開中"},
                                                       {"dry-run", "事前確認"}};
  return k;
}

}  // namespace

std::string StateLabel(const std::string& state) {
  auto it = States().find(state);
  return it == States().end() ? state : it->second;
}

std::string FieldLabel(const std::string& field) {
  const policies::FieldInfo* f = policies::FindField(field);
  return f ? std::string(f->label) : field;
}

std::string MaskNote(const std::string& mask) {
  static const std::map<std::string, std::string> kNotes = {
      {"last4", "末尾4文字のみ表示"},
      {"redact", "伏せ字（値は印字しない）"},
      {"year", "年のみ表示"},
      {"prefix3", "先頭3文字のみ表示"},
      {"pseudonym", "仮名（加入者を特定しない符号）"}};
  auto it = kNotes.find(mask);
  return it == kNotes.end() ? "" : it->second;
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
