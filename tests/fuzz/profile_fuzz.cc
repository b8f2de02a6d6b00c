// libFuzzer target for the profile import: arbitrary bytes as a profile's
// TOML file, read by contracts::ParseProfileToml (compiled into this target
// with toml++ header-only, so that the TOML parser is instrumented too),
// checked by policies::ValidateProfile when it parses, and compared for
// widening (policies::ProfileWidening) and ownership
// (policies::ProfileOwnerRefusal) with nothing, with itself and, when the
// input holds a line "+++", with the profile after that line (the input is
// then two files: the current version, then the next). Traps when one of the
// invariants below does not hold. Built by the `fuzz` preset (clang); run
// ops/fuzz.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "contracts/profile_toml.h"
#include "contracts/types.h"
#include "policies/catalog.h"
#include "policies/profile_rules.h"
#include "policies/registry_rules.h"

namespace {

namespace c = itaku::contracts;
namespace p = itaku::policies;

constexpr char kFileName[] = "fuzz.toml";
constexpr std::string_view kNextVersion = "\n+++\n";

void Check(bool holds) {
  if (!holds) __builtin_trap();
}

bool LowerHex(const std::string& s) {
  return s.find_first_not_of("0123456789abcdef") == std::string::npos;
}

// No byte that breaks a line or starts a terminal escape.
bool OneLine(const std::string& s) {
  return std::none_of(s.begin(), s.end(), [](char c) {
    const auto byte = static_cast<unsigned char>(c);
    return byte < 0x20 || byte == 0x7f;
  });
}

// ParseProfileToml(text); nullopt when it refuses the text.
std::optional<c::ContractProfile> Parse(const std::string& text) {
  auto parsed = c::ParseProfileToml(text, kFileName);
  if (!parsed.ok()) {
    // Every error names the operator's file first: "fuzz.toml: ..." or
    // "fuzz.toml:3: ...".
    Check(parsed.message().rfind(std::string(kFileName) + ":", 0) == 0);
    return std::nullopt;
  }
  const c::ContractProfile& profile = parsed.value();
  Check(profile.source == text);
  Check(profile.source_sha256.size() == 64 && LowerHex(profile.source_sha256));
  Check(!profile.id.empty() && !profile.contractor_id.empty() && !profile.purpose.empty());
  Check(profile.version == 0 && profile.imported_by.empty() && profile.imported_at.empty());
  Check(profile.valid_from.ok() && profile.valid_until.ok());
  Check(profile.retention_days >= 0);
  Check(profile.output_format == "csv");
  Check(profile.output_encoding == "utf-8" || profile.output_encoding == "cp932");
  Check(profile.output_package == "p7m" || profile.output_package == "csv");
  // A stored version keeps only its source: the guard read back from it is
  // the guard imported.
  Check(c::FormulaGuardOf(profile.source) == profile.formula_guard);
  return std::move(parsed).value();
}

// A profile ValidateProfile accepts has well-shaped ids, stays inside the
// catalog, its purpose and the transports of policy 6(2), and sends
// subscriber_id unmasked (the keyed pseudonym for statistics). A refusal
// repeats what the profile says escaped: it stays one line.
void CheckRules(const c::ContractProfile& profile) {
  const itaku::Status valid = p::ValidateProfile(profile);
  if (!valid.ok()) {
    Check(!valid.message().empty() && OneLine(valid.message()));
    return;
  }
  Check(p::ProfileIdRefusal(profile.id).empty());
  Check(p::ContractorIdRefusal(profile.contractor_id).empty());
  Check(p::FindPurpose(profile.purpose) != nullptr);
  Check(!profile.fields.empty());
  std::set<std::string> fields;
  for (const std::string& field : profile.fields) {
    Check(fields.insert(field).second);
    const p::FieldInfo* info = p::FindField(field);
    Check(info != nullptr && info->id == field);
  }
  for (const auto& [field, mask] : profile.masks) {
    Check(fields.count(field) == 1);
    Check(p::ParseMask(mask).has_value());
  }
  Check(!profile.transports.empty());
  for (const std::string& transport : profile.transports) {
    Check(c::Parse<c::Transport>(transport).has_value());
  }
  Check(!(profile.valid_until < profile.valid_from));
  Check(fields.count("subscriber_id") == 1);
  const auto id_mask = profile.masks.find("subscriber_id");
  Check(id_mask == profile.masks.end() || id_mask->second == "none" ||
        profile.purpose == "statistics");
}

// `next` as a new version of `current`: widening names what it widens, at
// least the formula guard turned off, and the id stays with its contractor.
void CheckNextVersion(const c::ContractProfile& current, const c::ContractProfile& next) {
  const std::vector<p::ProfileChange> changes = p::ProfileWidening(current, next);
  for (const p::ProfileChange& change : changes) Check(!change.item.empty());
  if (current.formula_guard && !next.formula_guard) {
    Check(std::any_of(changes.begin(), changes.end(), [](const p::ProfileChange& change) {
      return change.item == "formula_guard";
    }));
  }
  const std::string refusal = p::ProfileOwnerRefusal(current, next);
  Check(refusal.empty() == (current.contractor_id == next.contractor_id));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string input(reinterpret_cast<const char*>(data), size);
  const size_t split = input.find(kNextVersion);
  // The current version keeps its last newline; the next starts after "+++\n".
  const std::string current_text = split == std::string::npos ? input : input.substr(0, split + 1);
  const std::optional<c::ContractProfile> current = Parse(current_text);
  const std::optional<c::ContractProfile> next =
      split == std::string::npos ? std::nullopt : Parse(input.substr(split + kNextVersion.size()));

  for (const std::optional<c::ContractProfile>* profile : {&current, &next}) {
    if (!profile->has_value()) continue;
    const c::ContractProfile& each = **profile;
    CheckRules(each);
    // A new profile is one change; a version identical to the last is none.
    const std::vector<p::ProfileChange> added = p::ProfileWidening(std::nullopt, each);
    Check(added.size() == 1 && added[0].item == "profile " + each.id);
    Check(p::ProfileOwnerRefusal(std::nullopt, each).empty());
    Check(p::ProfileWidening(each, each).empty());
    Check(p::ProfileOwnerRefusal(each, each).empty());
  }
  if (current && next) {
    CheckNextVersion(*current, *next);
    CheckNextVersion(*next, *current);
  }
  return 0;
}
