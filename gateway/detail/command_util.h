// What several command files share: argument checks and look-ups that
// refuse with the line a person acts on.
#pragma once

#include <algorithm>
#include <iterator>
#include <string>
#include <vector>

#include "contracts/base/date.h"
#include "contracts/base/status.h"
#include "contracts/types.h"
#include "gateway/context.h"
#include "gateway/records_json.h"

namespace itaku::gateway {

// "--since must be a date like 2026-04-01, got X".
Result<Date> ParseDateArg(const std::string& flag, const std::string& value);
// "unknown contractor X (register it with: itaku contractor add)".
Result<contracts::Contractor> RequireContractor(Context& ctx, const std::string& id);

// A document handed in (NDA, consent evidence, certificate of return or
// destruction), copied into the store's documents under its SHA-256 (with
// the file's extension). `what` names it in errors:
//   "certificate X is not a readable file"
struct KeptDocument {
  std::string sha256;
  std::string path;  // the store's copy
};
// `extension` (".pdf") replaces the file's own when given (a spool copy
// whose name says nothing).
Result<KeptDocument> KeepDocument(Context& ctx, const std::string& file, const std::string& what,
                                  const std::string& extension = "");

// A state's Japanese word as staff read it ("delivered" → 提供済み,
// "handed-over" → 引渡し済み), or the word itself when unknown.
std::string StateLabel(const std::string& state);
// A catalog field's Japanese label ("電話番号"), or the id when unknown.
std::string FieldLabel(const std::string& field);
// How a mask shows a field, in Japanese ("末尾4文字のみ表示"); "" for none.
std::string MaskNote(const std::string& mask);

// The acting staff member's role; nullopt when the actor is not staff.
Result<std::optional<contracts::StaffRole>> ActorRole(Context& ctx);

// A listing: each record's JSON (records_json.h), and `line` of each as
// text, one per line; `empty` when there are none.
template <typename T, typename Line>
Output Listing(const std::vector<T>& records, Line line, std::string empty) {
  Output out{nlohmann::json::array(), ""};
  for (const T& r : records) {
    out.json.push_back(ToJson(r));
    out.text += (out.text.empty() ? "" : "\n") + line(r);
  }
  if (records.empty()) out.text = std::move(empty);
  return out;
}

// The same for a list read from the store, or the store's error.
template <typename T, typename Line>
Result<Output> Listing(Result<std::vector<T>> records, Line line, std::string empty) {
  if (!records.ok()) return records.status();
  return Listing(records.value(), line, std::move(empty));
}

template <size_t N>
bool OneOf(const std::string& value, const char* const (&options)[N]) {
  return std::any_of(std::begin(options), std::end(options),
                     [&](const char* o) { return value == o; });
}

}  // namespace itaku::gateway
