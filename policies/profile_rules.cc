#include "policies/profile_rules.h"

#include <algorithm>
#include <set>
#include <string>
#include <vector>

#include "contracts/base/date.h"
#include "contracts/base/strings.h"
#include "policies/catalog.h"
#include "policies/registry_rules.h"

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
  for (const std::string& why : {ProfileIdRefusal(p.id), ContractorIdRefusal(p.contractor_id)}) {
    if (!why.empty()) problems.push_back(why);
  }
  const PurposeInfo* purpose = FindPurpose(p.purpose);
  if (purpose == nullptr) {
    problems.push_back("unknown purpose " + Printable(p.purpose) + " (policy 2(3))");
  }
  if (p.fields.empty()) problems.push_back("the profile names no fields");

  std::set<std::string> seen;
  for (const auto& field : p.fields) {
    if (!seen.insert(field).second) {
      problems.push_back("field " + Printable(field) + " is listed twice");
      continue;
    }
    const FieldInfo* info = FindField(field);
    if (info == nullptr || info->id != field) {
      problems.push_back("unknown field " + Printable(field) + " (policy 1: field catalog)");
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
  if (!p.fields.empty() && !seen.count("subscriber_id")) {
    problems.push_back(
        "the profile does not send subscriber_id (needed to record who received what, policy 5)");
  }

  for (const auto& [field, name] : p.masks) {
    auto mask = ParseMask(name);
    if (!mask) {
      problems.push_back("unknown mask " + Printable(name) + " for " + Printable(field) +
                         " (none, last4, redact, year, prefix3, pseudonym)");
      continue;
    }
    if (!seen.count(field)) {
      problems.push_back("mask for " + Printable(field) + ", which the profile does not send");
      continue;
    }
    if (Status s = CheckMaskFits(field, *mask); !s.ok()) {
      problems.push_back(s.message());
    } else if (field == "subscriber_id" && *mask != Mask::kNone && p.purpose != "statistics") {
      // Masked, the contractor's rows carry no id that a receipt, a
      // correction or a deletion can name. (Statistics send the keyed
      // pseudonym, CheckFieldForPurpose; the operator can compute it.)
      problems.push_back("subscriber_id must be sent unmasked, not with mask " + name +
                         " (needed to record who received what, policy 5)");
    }
  }

  if (p.transports.empty()) problems.push_back("the profile allows no transport (policy 6(2))");
  for (const auto& t : p.transports) {
    if (!contracts::Parse<contracts::Transport>(t)) {
      problems.push_back("unknown transport " + Printable(t) +
                         " (policy 6(2): media, sftp, portal, paper)");
    }
  }
  if (p.valid_until < p.valid_from) {
    problems.push_back("valid_until " + FormatDate(p.valid_until) + " is before valid_from " +
                       FormatDate(p.valid_from));
  }
  if (p.retention_days < 0) problems.push_back("retention_days must not be negative");
  if (p.output_format != "csv") {
    problems.push_back("unknown output format " + Printable(p.output_format));
  }
  if (p.output_encoding != "utf-8" && p.output_encoding != "cp932") {
    problems.push_back("unknown output encoding " + Printable(p.output_encoding) +
                       " (utf-8 or cp932)");
  }
  if (problems.empty()) return Status::Ok();
  return Status::Error(Join(problems, "; "));
}

}  // namespace itaku::policies

namespace itaku::policies {

std::string ProfileOwnerRefusal(const std::optional<contracts::ContractProfile>& current,
                                const contracts::ContractProfile& next) {
  if (!current || current->contractor_id == next.contractor_id) return "";
  return "profile " + next.id + " belongs to " + current->contractor_id +
         "; a profile id cannot move to " + next.contractor_id + " (policy 6)";
}

std::vector<ProfileChange> ProfileWidening(const std::optional<contracts::ContractProfile>& current,
                                           const contracts::ContractProfile& next) {
  std::vector<ProfileChange> widening;
  auto join = [](const std::vector<std::string>& words) {
    std::string out;
    for (const auto& w : words) out += (out.empty() ? "" : ", ") + w;
    return out;
  };
  if (!current) {
    widening.push_back({"profile " + next.id, "",
                        "new, for " + next.contractor_id + " (purpose " + next.purpose +
                            "; fields " + join(next.fields) + "; transports " +
                            join(next.transports) +
                            (next.formula_guard ? "" : "; formula guard off") + ")"});
    return widening;
  }
  const contracts::ContractProfile& cur = *current;
  auto has = [](const std::vector<std::string>& list, const std::string& w) {
    return std::find(list.begin(), list.end(), w) != list.end();
  };
  if (next.contractor_id != cur.contractor_id) {
    widening.push_back({"contractor", cur.contractor_id, next.contractor_id});
  }
  if (next.purpose != cur.purpose) widening.push_back({"purpose", cur.purpose, next.purpose});
  for (const auto& f : next.fields) {
    if (!has(cur.fields, f)) widening.push_back({"field " + f, "", "sent"});
  }
  for (const auto& f : next.fields) {
    auto was = cur.masks.find(f);
    auto now = next.masks.find(f);
    if (was == cur.masks.end() || !has(cur.fields, f)) continue;
    if (now == next.masks.end() || now->second != was->second) {
      widening.push_back({"mask " + f, was->second, now == next.masks.end() ? "" : now->second});
    }
  }
  for (const auto& t : next.transports) {
    if (!has(cur.transports, t)) widening.push_back({"transport " + t, "", "allowed"});
  }
  if (next.valid_from < cur.valid_from) {
    widening.push_back({"valid_from", FormatDate(cur.valid_from), FormatDate(next.valid_from)});
  }
  if (cur.valid_until < next.valid_until) {
    widening.push_back({"valid_until", FormatDate(cur.valid_until), FormatDate(next.valid_until)});
  }
  if (next.retention_days > cur.retention_days) {
    widening.push_back({"retention_days", std::to_string(cur.retention_days),
                        std::to_string(next.retention_days)});
  }
  if (next.output_package != cur.output_package && next.output_package == "csv") {
    widening.push_back({"output_package", cur.output_package, next.output_package});
  }
  // Off, a cell such as =HYPERLINK(...) reaches the contractor's
  // spreadsheet as a formula.
  if (cur.formula_guard && !next.formula_guard) {
    widening.push_back({"formula_guard", "on", "off"});
  }
  return widening;
}

}  // namespace itaku::policies
