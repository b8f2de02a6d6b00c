#include "contracts/profile_toml.h"

#include <openssl/evp.h>
#include <toml++/toml.h>

#include <array>
#include <cstdint>
#include <limits>
#include <optional>
#include <string_view>

#include "contracts/base/files.h"

namespace itaku::contracts {
namespace {

constexpr std::array<std::string_view, 10> kTopLevelKeys = {
    "id",         "contractor",  "purpose",        "fields", "transports",
    "valid_from", "valid_until", "retention_days", "output", "masks"};
constexpr std::array<std::string_view, 4> kOutputKeys = {"format", "encoding", "package",
                                                         "formula_guard"};

template <std::size_t N>
bool Contains(const std::array<std::string_view, N>& keys, std::string_view key) {
  for (std::string_view k : keys) {
    if (k == key) return true;
  }
  return false;
}

// Reads one profile; each check returns the first problem as "<file>: ...".
class Reader {
 public:
  Reader(const toml::table& table, const std::string& file_name)
      : table_(table), file_name_(file_name) {}

  Status Error(const std::string& what) const { return Status::Error(file_name_ + ": " + what); }

  Status String(std::string_view key, std::string* out) const {
    const toml::node* node = table_.get(key);
    if (node == nullptr) return Error("missing key '" + std::string(key) + "'");
    const auto* value = node->as_string();
    if (value == nullptr) return Error("'" + std::string(key) + "' must be a string");
    if (value->get().empty()) return Error("'" + std::string(key) + "' must not be empty");
    *out = value->get();
    return Status::Ok();
  }

  Status Strings(std::string_view key, std::vector<std::string>* out) const {
    const toml::node* node = table_.get(key);
    if (node == nullptr) return Error("missing key '" + std::string(key) + "'");
    const toml::array* array = node->as_array();
    Status wrong = Error("'" + std::string(key) + "' must be an array of strings");
    if (array == nullptr) return wrong;
    out->clear();
    for (const toml::node& element : *array) {
      const auto* value = element.as_string();
      if (value == nullptr) return wrong;
      out->push_back(value->get());
    }
    return Status::Ok();
  }

  // A TOML local date, or a "YYYY-MM-DD" string.
  Status DateValue(std::string_view key, Date* out) const {
    const toml::node* node = table_.get(key);
    if (node == nullptr) return Error("missing key '" + std::string(key) + "'");
    std::optional<Date> date;
    if (const auto* value = node->as_date()) {
      const toml::date& d = value->get();
      Date candidate{std::chrono::year{d.year}, std::chrono::month{d.month},
                     std::chrono::day{d.day}};
      if (candidate.ok()) date = candidate;
    } else if (const auto* text = node->as_string()) {
      date = ParseDate(text->get());
    }
    if (!date) return Error("'" + std::string(key) + "' must be a date (YYYY-MM-DD)");
    *out = *date;
    return Status::Ok();
  }

  Status Days(std::string_view key, int* out) const {
    const toml::node* node = table_.get(key);
    if (node == nullptr) return Error("missing key '" + std::string(key) + "'");
    const auto* value = node->as_integer();
    if (value == nullptr) return Error("'" + std::string(key) + "' must be an integer");
    int64_t days = value->get();
    if (days < 0) return Error("'" + std::string(key) + "' must not be negative");
    if (days > std::numeric_limits<int>::max()) {
      return Error("'" + std::string(key) + "' is too large");
    }
    *out = static_cast<int>(days);
    return Status::Ok();
  }

  Status Output(ContractProfile* profile) const {
    const toml::node* node = table_.get("output");
    if (node == nullptr) return Status::Ok();  // defaults: csv, utf-8
    const toml::table* output = node->as_table();
    if (output == nullptr) return Error("'output' must be a table");
    for (const auto& [key, value] : *output) {
      if (!Contains(kOutputKeys, key.str())) {
        return Error("unknown key 'output." + std::string(key.str()) + "'");
      }
    }
    if (const toml::node* format = output->get("format")) {
      const auto* text = format->as_string();
      if (text == nullptr) return Error("'output.format' must be a string");
      if (text->get() != "csv") {
        return Error("'output.format' must be \"csv\" (got \"" + text->get() + "\")");
      }
      profile->output_format = text->get();
    }
    if (const toml::node* encoding = output->get("encoding")) {
      const auto* text = encoding->as_string();
      if (text == nullptr) return Error("'output.encoding' must be a string");
      if (text->get() != "utf-8" && text->get() != "cp932") {
        return Error("'output.encoding' must be \"utf-8\" or \"cp932\" (got \"" + text->get() +
                     "\")");
      }
      profile->output_encoding = text->get();
    }
    if (const toml::node* package = output->get("package")) {
      const auto* text = package->as_string();
      if (text == nullptr) return Error("'output.package' must be a string");
      if (text->get() != "p7m" && text->get() != "csv") {
        return Error("'output.package' must be \"p7m\" or \"csv\" (got \"" + text->get() + "\")");
      }
      profile->output_package = text->get();
    }
    if (const toml::node* guard = output->get("formula_guard")) {
      const auto* value = guard->as_boolean();
      if (value == nullptr) return Error("'output.formula_guard' must be true or false");
      profile->formula_guard = value->get();
    }
    return Status::Ok();
  }

  Status Masks(std::map<std::string, std::string>* masks) const {
    const toml::node* node = table_.get("masks");
    if (node == nullptr) return Status::Ok();
    const toml::table* table = node->as_table();
    if (table == nullptr) return Error("'masks' must be a table");
    for (const auto& [key, value] : *table) {
      const auto* text = value.as_string();
      if (text == nullptr) return Error("'masks." + std::string(key.str()) + "' must be a string");
      (*masks)[std::string(key.str())] = text->get();
    }
    return Status::Ok();
  }

 private:
  const toml::table& table_;
  const std::string& file_name_;
};

}  // namespace

int64_t TomlLineOfNonAsciiOutsideText(std::string_view text, bool comments_only) {
  enum class In { kCode, kComment, kBasic, kLiteral, kMultiBasic, kMultiLiteral };
  In in = In::kCode;
  int64_t line = 1;
  char last = '\n';  // the last character of code on this line but blanks
  constexpr auto npos = std::string_view::npos;
  const size_t n = text.size();
  auto three = [&](size_t i, char q) {
    return i + 2 < n && text[i] == q && text[i + 1] == q && text[i + 2] == q;
  };
  for (size_t i = 0; i < n; ++i) {
    const char c = text[i];
    if (c == '\n') {
      ++line;
      if (in == In::kCode || in == In::kComment || in == In::kBasic || in == In::kLiteral) {
        last = '\n';
      }
      // Comments and one-line strings end at the line's end (an unclosed
      // string is the parser's error to report).
      if (in == In::kComment || in == In::kBasic || in == In::kLiteral) in = In::kCode;
      continue;
    }
    if (comments_only && in != In::kComment && static_cast<unsigned char>(c) >= 0x80) return line;
    switch (in) {
      case In::kCode:
        if (static_cast<unsigned char>(c) >= 0x80) return line;
        if (c == '#') {
          in = In::kComment;
        } else if ((c == '"' || c == '\'') && std::string_view("\n=[,{.").find(last) != npos) {
          // A quote opens a string only where a key or value may start; after
          // anything else it is part of a bad bare word, which toml++ scans
          // on (asking whether each character is white space).
          if (three(i, c)) {
            in = c == '"' ? In::kMultiBasic : In::kMultiLiteral;
            i += 2;
          } else {
            in = c == '"' ? In::kBasic : In::kLiteral;
          }
        } else if (c != ' ' && c != '\t') {
          last = c;
        }
        break;
      case In::kComment:
        break;
      case In::kBasic:
        if (c == '\\') {
          // toml++ asks whether the escaped character is white space (a
          // line-ending backslash); escapes are ASCII anyway.
          if (i + 1 < n && static_cast<unsigned char>(text[i + 1]) >= 0x80) return line;
          if (i + 1 < n && text[i + 1] != '\n') ++i;
        } else if (c == '"') {
          in = In::kCode;
          last = c;
        }
        break;
      case In::kLiteral:
        if (c == '\'') {
          in = In::kCode;
          last = c;
        }
        break;
      case In::kMultiBasic:
      case In::kMultiLiteral: {
        const char q = in == In::kMultiBasic ? '"' : '\'';
        if (q == '"' && c == '\\') {
          if (i + 1 < n && static_cast<unsigned char>(text[i + 1]) >= 0x80) return line;
          if (i + 1 < n && text[i + 1] != '\n') ++i;  // an escape (a line-ending one: the \n counts)
        } else if (three(i, q)) {
          i += 2;
          // Up to two more quotes belong to the string ("""a"""" is `a"`).
          for (int extra = 0; extra < 2 && i + 1 < n && text[i + 1] == q; ++extra) ++i;
          in = In::kCode;
          last = q;
        }
        break;
      }
    }
  }
  return 0;
}

Result<ContractProfile> ParseProfileToml(const std::string& text, const std::string& file_name) {
  if (text.size() > kMaxProfileBytes) {
    return Result<ContractProfile>::Error(file_name +
                                          ": larger than 1 MiB; a profile is a few kilobytes");
  }
  if (int64_t line = TomlLineOfNonAsciiOutsideText(text, /*comments_only=*/true); line > 0) {
    return Result<ContractProfile>::Error(
        file_name + ":" + std::to_string(line) +
        ": only ASCII may stand outside comments (a profile's keys and values are ids)");
  }
  toml::table table;
  try {
    table = toml::parse(text, file_name);
  } catch (const toml::parse_error& error) {
    return Result<ContractProfile>::Error(file_name + ":" +
                                          std::to_string(error.source().begin.line) + ": " +
                                          std::string(error.description()));
  }
  Reader reader(table, file_name);
  // Unknown keys first: a misspelt key must be named, not reported as missing.
  for (const auto& [key, value] : table) {
    if (!Contains(kTopLevelKeys, key.str())) {
      return reader.Error("unknown key '" + std::string(key.str()) + "'");
    }
  }
  ContractProfile profile;
  Status status;
  if (!(status = reader.String("id", &profile.id)).ok() ||
      !(status = reader.String("contractor", &profile.contractor_id)).ok() ||
      !(status = reader.String("purpose", &profile.purpose)).ok() ||
      !(status = reader.Strings("fields", &profile.fields)).ok() ||
      !(status = reader.Strings("transports", &profile.transports)).ok() ||
      !(status = reader.DateValue("valid_from", &profile.valid_from)).ok() ||
      !(status = reader.DateValue("valid_until", &profile.valid_until)).ok() ||
      !(status = reader.Days("retention_days", &profile.retention_days)).ok() ||
      !(status = reader.Output(&profile)).ok() || !(status = reader.Masks(&profile.masks)).ok()) {
    return status;
  }
  profile.source = text;
  profile.source_sha256 = Sha256Hex(text);
  if (profile.source_sha256.empty()) {
    return Result<ContractProfile>::Error(file_name + ": cannot compute SHA-256");
  }
  return profile;
}

bool FormulaGuardOf(const std::string& source) {
  if (source.size() > kMaxProfileBytes || TomlLineOfNonAsciiOutsideText(source, true) > 0) {
    return true;
  }
  try {
    const toml::table table = toml::parse(source);
    if (const auto* guard = table["output"]["formula_guard"].as_boolean()) return guard->get();
  } catch (const toml::parse_error&) {
    // on: the guard errs on
  }
  return true;
}

}  // namespace itaku::contracts
