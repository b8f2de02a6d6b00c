// The field catalog (policy clause 1) and the purposes (clause 2(3)) of
// docs/DESIGN.md, as code. Pure data and lookups.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "contracts/base/status.h"

namespace itaku::policies {

enum class FieldClass { kIdentity, kContact, kAttribute, kFinancial, kService, kDocument };
std::string_view ToString(FieldClass cls);

struct FieldInfo {
  std::string_view id;
  std::string_view label;  // Japanese column label, UTF-8
  FieldClass cls;
};

// Every catalog field, in docs/DESIGN.md order.
const std::vector<FieldInfo>& Catalog();
// By id ("name") or Japanese label ("氏名"); nullptr when unknown.
const FieldInfo* FindField(std::string_view id_or_label);

enum class Mask { kNone, kLast4, kRedact, kYear, kPrefix3, kPseudonym };
std::optional<Mask> ParseMask(std::string_view name);
std::string_view ToString(Mask mask);

struct PurposeInfo {
  std::string_view id;
  std::string_view clause;       // "2(3)[1]"
  std::string_view description;  // Japanese, as the policy words it
  std::vector<std::string_view> fields;
};

const std::vector<PurposeInfo>& Purposes();
const PurposeInfo* FindPurpose(std::string_view id);

// May `field` (a catalog id) reach a contractor for `purpose` under `mask`?
// Error text names the clause, e.g.
// "birth_date is not used for purpose billing (policy 2(3))".
Status CheckFieldForPurpose(std::string_view field, std::string_view purpose, Mask mask);

}  // namespace itaku::policies
