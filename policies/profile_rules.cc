#include "policies/profile_rules.h"

#include <set>
#include <string>
#include <vector>

#include "contracts/base/date.h"
#include "contracts/base/strings.h"
#include "policies/catalog.h"

namespace itaku::policies {
namespace {

// Masks that only make sense on one kind of value.
Status CheckMaskFits(const std::string& field, Mask mask) {
  if (mask == Mask::kYear && field != "birth_date") {
    return Status::Error("mask year applies to birth_date only, not " + field);
  }
  if (mask == Mask::kPrefix3 && field != "postal_code") {
    return Status::Error("mask prefix3 applies to postal_code only, not " + field);
  }
  if (mask != Mask::kNone && mask != Mask::kRedact && field == "house_drawing") {
    return Status::Error("house_drawing is a file and takes no mask but redact");
  }
  return Status::Ok();
}

}  // namespace

Status ValidateProfile(const contracts::ContractProfile& p) {
  std::vector<std::string> problems;
  const PurposeInfo* purpose = FindPurpose(p.purpose);
  if (purpose == nullptr) {
    problems.push_back("unknown purpose " + p.purpose + " (policy 2(3))");
  }
  if (p.fields.empty()) problems.push_back("the profile names no fields");

  std::set<std::string> seen;
  for (const auto& field : p.fields) {
    if (!seen.insert(field).second) {
      problems.push_back("field " + field + " is listed twice");
      continue;
    }
    const FieldInfo* info = FindField(field);
    if (info == nullptr || info->id != field) {
      problems.push_back("unknown field " + field + " (policy 1: field catalog)");
      continue;
    }
    Mask mask = Mask::kNone;
    if (auto it = p.masks.find(field); it != p.masks.end()) {
      if (auto m = ParseMask(it->second)) mask = *m;
    }
    if (purpose != nullptr) {
      if (Status s = CheckFieldForPurpose(field, p.purpose, mask); !s.ok()) {
        problems.push_back(s.message());
      }
    }
  }

  for (const auto& [field, name] : p.masks) {
    auto mask = ParseMask(name);
    if (!mask) {
      problems.push_back("unknown mask " + name + " for " + field +
                         " (none, last4, redact, year, prefix3, pseudonym)");
      continue;
    }
    if (!seen.count(field)) {
      problems.push_back("mask for " + field + ", which the profile does not send");
      continue;
    }
    if (Status s = CheckMaskFits(field, *mask); !s.ok()) problems.push_back(s.message());
  }

  if (p.transports.empty()) problems.push_back("the profile allows no transport (policy 6(2))");
  for (const auto& t : p.transports) {
    if (!contracts::Parse<contracts::Transport>(t)) {
      problems.push_back("unknown transport " + t + " (policy 6(2): media, sftp, portal, paper)");
    }
  }
  if (p.valid_until < p.valid_from) {
    problems.push_back("valid_until " + FormatDate(p.valid_until) + " is before valid_from " +
                       FormatDate(p.valid_from));
  }
  if (p.retention_days < 0) problems.push_back("retention_days must not be negative");
  if (p.output_format != "csv") problems.push_back("unknown output format " + p.output_format);
  if (p.output_encoding != "utf-8" && p.output_encoding != "cp932") {
    problems.push_back("unknown output encoding " + p.output_encoding + " (utf-8 or cp932)");
  }
  if (problems.empty()) return Status::Ok();
  return Status::Error(Join(problems, "; "));
}

}  // namespace itaku::policies
