#include "policies/catalog.h"

#include <algorithm>
#include <string>

#include "contracts/base/names.h"

namespace itaku::policies {
namespace {

using FC = FieldClass;

constexpr std::string_view kMaskNames[] = {"none", "last4",   "redact",
                                           "year", "prefix3", "pseudonym"};

const std::vector<std::string_view> kContactSet = {
    "subscriber_id", "name", "name_kana", "postal_code", "address", "phone", "email", "services"};

}  // namespace

std::string_view ToString(FieldClass cls) {
  constexpr std::string_view kNames[] = {"identity",  "contact", "attribute",
                                         "financial", "service", "document"};
  return NameOf(kNames, cls);
}

const std::vector<FieldInfo>& Catalog() {
  static const std::vector<FieldInfo> kCatalog = {
      {"subscriber_id", "加入者番号", FC::kIdentity},
      {"name", "氏名", FC::kIdentity},
      {"name_kana", "フリガナ", FC::kIdentity},
      {"postal_code", "郵便番号", FC::kContact},
      {"address", "住所", FC::kContact},
      {"phone", "電話番号", FC::kContact},
      {"email", "電子メールアドレス", FC::kContact},
      {"birth_date", "生年月日", FC::kAttribute},
      {"gender", "性別", FC::kAttribute},
      {"occupation", "職業", FC::kAttribute},
      {"bank_code", "金融機関コード", FC::kFinancial},
      {"branch_code", "支店コード", FC::kFinancial},
      {"account_type", "預金種目", FC::kFinancial},
      {"account_number", "口座番号", FC::kFinancial},
      {"account_holder", "口座名義", FC::kFinancial},
      {"services", "サービス内容", FC::kService},
      {"house_drawing", "住宅の図面", FC::kDocument},
  };
  return kCatalog;
}

const FieldInfo* FindField(std::string_view id_or_label) {
  for (const auto& f : Catalog()) {
    if (f.id == id_or_label || f.label == id_or_label) return &f;
  }
  return nullptr;
}

std::optional<Mask> ParseMask(std::string_view name) { return FromName<Mask>(kMaskNames, name); }

std::string_view ToString(Mask mask) { return NameOf(kMaskNames, mask); }

const std::vector<PurposeInfo>& Purposes() {
  static const std::vector<PurposeInfo> kPurposes = {
      {"installation",
       "2(3)[1]",
       "契約締結・工事施工",
       {"subscriber_id", "name", "name_kana", "postal_code", "address", "phone", "house_drawing"}},
      {"billing",
       "2(3)[1]",
       "料金請求・収納・督促",
       {"subscriber_id", "name", "name_kana", "postal_code", "address", "phone", "bank_code",
        "branch_code", "account_type", "account_number", "account_holder", "services"}},
      {"mailing", "2(3)[2]", "郵便・電話・電子メール・訪問等による案内・調査", kContactSet},
      {"service_notice", "2(3)[3]", "サービスの変更・停止・中止・契約解除の通知", kContactSet},
      {"support", "2(3)[4]", "苦情・相談への対応", kContactSet},
      {"aftercare", "2(3)[5]", "アフターサービス・保守・点検", kContactSet},
      {"statistics",
       "2(3)[6]",
       "個人を識別できない統計資料の作成",
       {"subscriber_id", "postal_code", "birth_date", "gender", "occupation", "services"}},
  };
  return kPurposes;
}

const PurposeInfo* FindPurpose(std::string_view id) {
  for (const auto& p : Purposes()) {
    if (p.id == id) return &p;
  }
  return nullptr;
}

Status CheckFieldForPurpose(std::string_view field, std::string_view purpose, Mask mask) {
  const FieldInfo* info = FindField(field);
  if (info == nullptr || info->id != field) {
    return Status::Error("unknown field " + std::string(field) + " (policy 1: field catalog)");
  }
  const PurposeInfo* p = FindPurpose(purpose);
  if (p == nullptr) {
    return Status::Error("unknown purpose " + std::string(purpose) + " (policy 2(3))");
  }
  if (std::find(p->fields.begin(), p->fields.end(), field) == p->fields.end()) {
    return Status::Error(std::string(field) + " is not used for purpose " + std::string(purpose) +
                         " (policy 2(3))");
  }
  if (p->id == "statistics") {
    // Statistics must identify no one (2(3)[6]): identifying fields travel
    // only in the masked form the purpose names.
    auto require = [&](std::string_view f, Mask m) -> Status {
      if (field == f && mask != m) {
        return Status::Error(std::string(field) +
                             " may be used for purpose statistics only with mask " +
                             std::string(ToString(m)) + " (policy 2(3)[6])");
      }
      return Status::Ok();
    };
    if (Status s = require("subscriber_id", Mask::kPseudonym); !s.ok()) return s;
    if (Status s = require("postal_code", Mask::kPrefix3); !s.ok()) return s;
    if (Status s = require("birth_date", Mask::kYear); !s.ok()) return s;
  }
  return Status::Ok();
}

}  // namespace itaku::policies
