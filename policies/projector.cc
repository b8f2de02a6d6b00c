#include "policies/projector.h"

#include <algorithm>
#include <set>
#include <sstream>

#include "contracts/base/hex.h"
#include "policies/csv.h"
#include "policies/encoding.h"
#include "policies/masks.h"

namespace itaku::policies {
namespace {

constexpr std::string_view kUtf8Bom = "\xEF\xBB\xBF";

std::string At(std::string_view input_name, int64_t line) {
  return std::string(input_name) + ":" + std::to_string(line) + ": ";
}

// One output column: where it comes from and how it is masked.
struct OutputColumn {
  size_t source;  // index into the export's columns, or the blank column
  Mask mask;
};

bool IsAsciiDigit(char c) { return c >= '0' && c <= '9'; }

// A number: the sign, then digits with at most one '.', at least one digit.
bool IsSignedNumber(std::string_view cell) {
  size_t digits = 0;
  bool point = false;
  for (size_t i = 1; i < cell.size(); ++i) {
    if (IsAsciiDigit(cell[i])) {
      ++digits;
    } else if (cell[i] == '.' && !point) {
      point = true;
    } else {
      return false;
    }
  }
  return digits > 0;
}

// E.164: '+', then 7 to 15 digits, grouped by single spaces or hyphens.
bool IsE164Phone(std::string_view cell) {
  if (cell.size() < 2 || cell[0] != '+' || !IsAsciiDigit(cell[1])) return false;
  size_t digits = 0;
  for (size_t i = 1; i < cell.size(); ++i) {
    const char c = cell[i];
    if (IsAsciiDigit(c)) {
      ++digits;
    } else if ((c != ' ' && c != '-') || i + 1 == cell.size() || !IsAsciiDigit(cell[i + 1])) {
      return false;  // a separator stands between two digits
    }
  }
  return digits >= 7 && digits <= 15;
}

// The cheap test run on every cell: can its first byte start a formula?
inline bool MayStartFormula(char first) {
  switch (static_cast<unsigned char>(first)) {
    case '=':
    case '+':
    case '-':
    case '@':
    case '\t':
    case '\r':
    case 0x81:  // CP932 lead byte of ＝ ＋ － ＠
    case 0xEF:  // UTF-8 lead byte of ＝ ＋ － ＠
      return true;
    default:
      return false;
  }
}

bool IsCatalogId(std::string_view id) {
  const FieldInfo* info = FindField(id);
  return info != nullptr && info->id == id;
}

// The column whose value goes to the drawing callback: house_drawing when it
// goes out unmasked and not blanked, else `blank`.
size_t DrawingSource(const std::vector<std::string>& out_names,
                     const std::vector<OutputColumn>& columns, size_t blank) {
  for (size_t i = 0; i < columns.size(); ++i) {
    if (out_names[i] == "house_drawing" && columns[i].mask == Mask::kNone) {
      return columns[i].source;
    }
  }
  return blank;
}

Status CheckSpecialRequests(const ProjectionSpec& spec) {
  std::set<std::string_view> extras;
  for (const std::string& field : spec.extra_fields) {
    if (!IsCatalogId(field)) {
      return Status::Error("extra field " + field + " is not a catalog field id (policy 1)");
    }
    if (std::find(spec.fields.begin(), spec.fields.end(), field) != spec.fields.end()) {
      return Status::Error("extra field " + field + " is also one of the profile's fields");
    }
    if (!extras.insert(field).second) {
      return Status::Error("extra field " + field + " is given twice");
    }
  }
  // Messages name the special requests, never the subscriber.
  auto sources = [](const SubscriberOverride& o) {
    std::string text = "special request";
    if (o.sources.size() > 1) text += "s";
    for (size_t i = 0; i < o.sources.size(); ++i) {
      text += (i ? ", " : " ") + std::to_string(o.sources[i]);
    }
    return text;
  };
  for (const auto& [id, o] : spec.overrides) {
    for (const std::string& field : o.withheld) {
      if (!IsCatalogId(field)) {
        return Status::Error(sources(o) + " withholds " + field +
                             ", not a catalog field id (policy 1)");
      }
    }
    for (const std::string& field : o.extended) {
      if (!extras.contains(field)) {
        return Status::Error(sources(o) + " extends " + field +
                             ", which is not one of the spec's extra fields");
      }
    }
  }
  return Status::Ok();
}

}  // namespace

bool NeedsFormulaGuard(std::string_view cell, Encoding encoding) {
  if (cell.empty()) return false;
  switch (cell[0]) {
    case '=':
    case '@':
    case '\t':
    case '\r':
      return true;
    case '+':
    case '-':
      return !IsSignedNumber(cell) && !IsE164Phone(cell);
    default:
      break;
  }
  if (cell.size() < 2) return false;
  const auto byte = [&](size_t i) { return static_cast<unsigned char>(cell[i]); };
  if (encoding == Encoding::kCp932) {
    // ＝ 81 81, ＋ 81 7B, － 81 7C, ＠ 81 97
    return byte(0) == 0x81 &&
           (byte(1) == 0x81 || byte(1) == 0x7B || byte(1) == 0x7C || byte(1) == 0x97);
  }
  // ＝ EF BC 9D, ＋ EF BC 8B, － EF BC 8D, ＠ EF BC A0
  return cell.size() >= 3 && byte(0) == 0xEF && byte(1) == 0xBC &&
         (byte(2) == 0x9D || byte(2) == 0x8B || byte(2) == 0x8D || byte(2) == 0xA0);
}

Result<ProjectionSummary> Project(const ProjectionSpec& spec, std::istream& in,
                                  std::string_view input_name, std::ostream* out,
                                  const RecordCallback& on_record) {
  RecordFactsCallback forward;
  if (on_record) {
    forward = [&on_record](const RecordFacts& facts) { return on_record(facts.subscriber_id); };
  }
  return Project(spec, in, input_name, out, forward);
}

Result<ProjectionSummary> Project(const ProjectionSpec& spec, std::istream& in,
                                  std::string_view input_name, std::ostream* out,
                                  const RecordDrawingCallback& on_record) {
  RecordFactsCallback forward;
  if (on_record) {
    forward = [&on_record](const RecordFacts& facts) {
      return on_record(facts.subscriber_id, facts.house_drawing);
    };
  }
  return Project(spec, in, input_name, out, forward);
}

Result<ProjectionSummary> Project(const ProjectionSpec& spec, std::istream& in,
                                  std::string_view input_name, std::ostream* out,
                                  const RecordFactsCallback& on_record) {
  using R = Result<ProjectionSummary>;
  if (spec.fields.size() + spec.extra_fields.size() > kMaxOutputColumns) {
    return R::Error("a profile may send at most " + std::to_string(kMaxOutputColumns) + " columns");
  }
  const SubscriberIdPattern& id_pattern =
      spec.subscriber_id_pattern ? *spec.subscriber_id_pattern : DefaultSubscriberIdPattern();
  for (const auto& [field, mask] : spec.masks) {
    if (mask == Mask::kPseudonym && spec.pseudonym_key.empty()) {
      return R::Error("mask pseudonym on " + field + " needs a pseudonym key");
    }
  }
  if (!spec.extra_fields.empty() || !spec.overrides.empty()) {
    Status s = CheckSpecialRequests(spec);
    if (!s.ok()) return s;
  }

  CsvReader reader(in, input_name);
  ProjectionSummary summary;

  // ---- header: encoding, catalog, required columns
  Result<bool> got = reader.Next();
  if (!got.ok()) return got.status();
  if (!*got) return R::Error(At(input_name, 1) + "empty file (no header row)");
  const int64_t header_line = reader.line();
  const std::string at_header = At(input_name, header_line);
  const auto header = reader.fields();

  Encoding encoding = Encoding::kUtf8;
  if (reader.had_bom()) {
    if (spec.input_encoding == InputEncoding::kCp932) {
      return R::Error(at_header + "starts with a UTF-8 byte order mark but CP932 input was given");
    }
  } else if (spec.input_encoding == InputEncoding::kCp932) {
    encoding = Encoding::kCp932;
  } else if (spec.input_encoding == InputEncoding::kAuto) {
    for (std::string_view cell : header) {
      if (!IsValidUtf8(cell)) encoding = Encoding::kCp932;
    }
  }
  summary.input_encoding = encoding;

  // The header's cells are never quoted in an error: without a header row
  // the first record is there, and its cells are personal data.
  std::vector<const FieldInfo*> header_fields(header.size());
  size_t known = 0;
  size_t first_unknown = header.size();
  for (size_t i = 0; i < header.size(); ++i) {
    std::string label;
    if (encoding == Encoding::kCp932) {
      label.resize(header[i].size() * 3);
      size_t bad = 0;
      char* end = Cp932ToUtf8(header[i], label.data(), &bad);
      if (end == nullptr) {
        return R::Error(at_header + reader.DescribeColumn(i) + ": byte " +
                        HexByte(static_cast<unsigned char>(header[i][bad])) +
                        " cannot be decoded as CP932");
      }
      label.resize(end - label.data());
    } else {
      if (!IsValidUtf8(header[i])) {
        return R::Error(at_header + reader.DescribeColumn(i) + ": invalid UTF-8");
      }
      label = header[i];
    }
    header_fields[i] = FindField(label);
    if (header_fields[i] != nullptr) {
      ++known;
    } else if (first_unknown == header.size()) {
      first_unknown = i;
    }
  }
  if (2 * known < header.size()) {
    const std::string of = " of " + std::to_string(header.size()) + " columns";
    const std::string how_many =
        known == 0   ? "no column is a catalog field id or label"
        : known == 1 ? "only 1" + of + " is a catalog field id or label"
                     : "only " + std::to_string(known) + of + " are catalog field ids or labels";
    return R::Error(at_header + "the first row does not look like a header (" + how_many +
                    "); the export needs a header row");
  }
  if (first_unknown < header.size()) {
    return R::Error(at_header + "column " + std::to_string(first_unknown + 1) +
                    " is not a catalog field id or label (policy 1)");
  }
  std::vector<std::string> names;  // catalog ids, input order
  for (size_t i = 0; i < header.size(); ++i) {
    const FieldInfo* field = header_fields[i];
    auto dup = std::find(names.begin(), names.end(), field->id);
    if (dup != names.end()) {
      return R::Error(at_header + "duplicate column " + std::string(field->id) + " (columns " +
                      std::to_string(dup - names.begin() + 1) + " and " + std::to_string(i + 1) +
                      ")");
    }
    names.emplace_back(field->id);
  }
  auto subscriber = std::find(names.begin(), names.end(), "subscriber_id");
  if (subscriber == names.end()) {
    return R::Error(at_header +
                    "no subscriber_id column (needed to record who received what, policy 5)");
  }
  const size_t subscriber_index = static_cast<size_t>(subscriber - names.begin());

  // values[blank] is always empty: the source of a column written empty.
  const size_t columns = names.size();
  const size_t blank = columns;

  // Output columns: the profile's fields, then the extra fields (empty
  // unless a subscriber's override extends them; never masked).
  std::vector<std::string> out_names = spec.fields;
  out_names.insert(out_names.end(), spec.extra_fields.begin(), spec.extra_fields.end());
  std::vector<OutputColumn> plan;
  for (const std::string& field : spec.fields) {
    auto it = std::find(names.begin(), names.end(), field);
    if (it == names.end()) {
      return R::Error(at_header + "column " + field + " required by the profile is missing");
    }
    auto mask = spec.masks.find(field);
    plan.push_back({static_cast<size_t>(it - names.begin()),
                    mask == spec.masks.end() ? Mask::kNone : mask->second});
  }
  std::vector<size_t> extra_sources;  // where each extra field comes from
  for (const std::string& field : spec.extra_fields) {
    auto it = std::find(names.begin(), names.end(), field);
    if (it == names.end()) {
      return R::Error(at_header + "column " + field +
                      " extended by a special request (policy 6(1)) is missing");
    }
    extra_sources.push_back(static_cast<size_t>(it - names.begin()));
    plan.push_back({blank, Mask::kNone});
  }
  // The drawing travels only when house_drawing goes out unmasked.
  const size_t drawing_source = DrawingSource(out_names, plan, blank);
  summary.input_fields = names;
  for (const std::string& name : names) {
    if (std::find(out_names.begin(), out_names.end(), name) == out_names.end()) {
      summary.withheld_fields.push_back(name);
    }
  }
  reader.set_column_names(names);

  CsvWriter writer(out, kCsvDefaultBufferSize, CsvWriter::Mode::kBackground);
  if (spec.output_encoding == Encoding::kUtf8) writer.Raw(kUtf8Bom);
  for (const std::string& field : out_names) writer.Field(field);  // ASCII ids
  writer.EndRecord();

  // ---- records. Buffers below are reused: no allocation per record once
  // they have grown to the largest record.
  std::vector<std::string_view> values(columns + 1);
  values[blank] = std::string_view("", 0);  // not null: it may reach memcpy
  std::vector<OutputColumn> record_plan;    // plan under one subscriber's override
  std::set<int64_t> applied;                // sources of the overrides that matched
  std::string decoded;                      // CP932 input decoded to UTF-8, whole record
  std::string normalized_id;                // a subscriber_id that normalising changed
  // One record's output values, complete before the callback hears of the
  // record (it is told what the record carried) and before anything is
  // written; a masked or encoded value lives in its column's buffer.
  std::vector<std::string_view> written(out_names.size());
  std::vector<std::string> masked(out_names.size());
  std::vector<std::string> encoded(out_names.size());
  std::vector<std::string> guarded(out_names.size());  // "'" + the cell, when neutralised
  const bool cp932_in = encoding == Encoding::kCp932;
  const bool cp932_out = spec.output_encoding == Encoding::kCp932;
  const bool formula_guard = spec.formula_guard;

  for (;;) {
    got = reader.Next();
    if (!got.ok()) return got.status();
    if (!*got) break;
    const auto fields = reader.fields();
    const int64_t line = reader.line();
    auto cell_error = [&](size_t column, std::string_view what) {
      return R::Error(At(input_name, line) + reader.DescribeColumn(column) + ": " +
                      std::string(what));
    };

    if (cp932_in) {
      size_t total = 0;
      for (std::string_view f : fields) total += f.size();
      if (decoded.size() < 3 * total) decoded.resize(3 * total);
      char* o = decoded.data();
      for (size_t i = 0; i < columns; ++i) {
        size_t bad = 0;
        char* end = Cp932ToUtf8(fields[i], o, &bad);
        if (end == nullptr) {
          return cell_error(i, "byte " + HexByte(static_cast<unsigned char>(fields[i][bad])) +
                                   " cannot be decoded as CP932");
        }
        values[i] = std::string_view(o, end - o);
        o = end;
      }
    } else {
      // One check over the whole record; only a bad record is looked at
      // field by field, to name the column.
      if (!IsValidUtf8(reader.raw_record())) {
        for (size_t i = 0; i < columns; ++i) {
          if (FindInvalidUtf8(fields[i]) != kNoError) {
            // An ASCII header says nothing about the body's encoding.
            return cell_error(i, spec.input_encoding == InputEncoding::kAuto
                                     ? "invalid UTF-8 (a CP932 export needs --input-encoding cp932)"
                                     : "invalid UTF-8");
          }
        }
      }
      std::copy(fields.begin(), fields.end(), values.begin());  // same count: checked
    }

    // Matched, recorded and written as normalised: " S90001" is S90001.
    const std::string_view subscriber_id =
        NormalizeSubscriberId(values[subscriber_index], &normalized_id);
    if (subscriber_id.empty()) {
      return cell_error(subscriber_index,
                        "empty subscriber_id (needed to record who received what, policy 5)");
    }
    if (!id_pattern.Matches(subscriber_id)) {
      return R::Error(At(input_name, line) + SubscriberIdMismatch(id_pattern));
    }
    values[subscriber_index] = subscriber_id;
    const std::vector<OutputColumn>* record_columns = &plan;
    size_t record_drawing = drawing_source;
    if (!spec.overrides.empty()) {
      auto it = spec.overrides.find(subscriber_id);
      if (it != spec.overrides.end()) {
        const SubscriberOverride& o = it->second;
        applied.insert(o.sources.begin(), o.sources.end());
        if (o.excluded) {
          ++summary.excluded;
          continue;
        }
        record_plan = plan;
        for (size_t i = 0; i < extra_sources.size(); ++i) {
          if (o.extended.contains(spec.extra_fields[i])) {
            record_plan[spec.fields.size() + i].source = extra_sources[i];
          }
        }
        for (size_t i = 0; i < out_names.size(); ++i) {
          if (o.withheld.contains(out_names[i])) record_plan[i] = {blank, Mask::kNone};
        }
        record_columns = &record_plan;
        record_drawing = DrawingSource(out_names, record_plan, blank);
      }
    }
    uint64_t carried = 0;
    for (size_t i = 0; i < record_columns->size(); ++i) {
      const OutputColumn& col = (*record_columns)[i];
      std::string_view v = values[col.source];
      if (col.mask != Mask::kNone) {
        masked[i].clear();
        Status s = AppendMasked(col.mask, v, spec.pseudonym_key, &masked[i]);
        if (!s.ok()) return cell_error(col.source, s.message());
        v = masked[i];
      }
      if (!v.empty()) carried |= uint64_t{1} << i;
      if (cp932_out) {
        if (encoded[i].size() < v.size()) encoded[i].resize(v.size());
        size_t bad = 0;
        char* end = Utf8ToCp932(v, encoded[i].data(), &bad);
        if (end == nullptr) return cell_error(col.source, "a character has no CP932 encoding");
        v = std::string_view(encoded[i].data(), end - encoded[i].data());
      }
      // On the bytes written: one switch on the first byte for most cells.
      if (formula_guard && !v.empty() && MayStartFormula(v[0]) &&
          NeedsFormulaGuard(v, spec.output_encoding)) {
        guarded[i].assign(1, '\'');
        guarded[i].append(v);
        v = guarded[i];
        ++summary.formula_guarded;
      }
      written[i] = v;
    }
    if (on_record) {
      Status s = on_record(RecordFacts{subscriber_id, values[record_drawing], carried});
      if (!s.ok()) return s;
    }
    for (std::string_view v : written) writer.Field(v);
    writer.EndRecord();
    ++summary.records;
  }

  summary.applied_overrides.assign(applied.begin(), applied.end());
  Status s = writer.Flush();
  if (!s.ok()) {
    return R::Error(std::string(input_name) + ": write error while writing its projection");
  }
  return summary;
}

Result<std::vector<std::string>> ExportColumns(std::istream& in, std::string_view input_name,
                                               InputEncoding encoding) {
  std::string header;
  if (!in || !std::getline(in, header)) {
    return Result<std::vector<std::string>>::Error(std::string(input_name) +
                                                   ": cannot read the header row");
  }
  std::istringstream header_only(header + "\n");
  ProjectionSpec spec;
  spec.fields = {"subscriber_id"};
  spec.input_encoding = encoding;
  auto summary = Project(spec, header_only, input_name, nullptr,
                         [](std::string_view) { return Status::Ok(); });
  if (!summary.ok()) return summary.status();
  return summary->input_fields;
}

}  // namespace itaku::policies
