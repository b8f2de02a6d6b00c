// The streaming projector: the only path from an export to anything that
// leaves the gateway. Reads an RFC 4180 CSV export (UTF-8 with or without
// BOM, or CP932), checks its header against the field catalog, and writes
// each record reduced to the profile's fields, in the profile's order, with
// masks applied. Memory does not grow with the number of records.
// Per-subscriber special requests (policy 6(1)) can leave a record out,
// empty a field for one subscriber, or fill a consented extra column.
// Every record's subscriber_id is normalised (policies/subscriber_id.h) and
// checked against the operator's id pattern: the normalised id is what
// special requests are matched by, what callbacks see and what is written.
// Every cell a spreadsheet would run as a formula is neutralised on the way
// out (ProjectionSpec::formula_guard, NeedsFormulaGuard), and no error
// carries a cell's content, the header's included: they name the line and
// the column.
//
// Pure: reads only the stream it is handed, writes only the stream it is
// handed, no clock. Not thread-safe; one Project() call per thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <istream>
#include <map>
#include <optional>
#include <ostream>
#include <set>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "contracts/base/status.h"
#include "policies/catalog.h"
#include "policies/subscriber_id.h"

namespace itaku::policies {

enum class Encoding { kUtf8, kCp932 };
enum class InputEncoding { kAuto, kUtf8, kCp932 };

// A subscriber's special requests (policy 6(1)) as the projector applies
// them.
struct SubscriberOverride {
  // The record is left out entirely: not written, no callback.
  bool excluded = false;
  // Catalog ids written empty for this subscriber only, whatever their mask.
  // Ids the output does not carry are allowed (nothing to withhold); an id
  // that is not a catalog id is an error, so a typo cannot send a field.
  // Withholding wins over `extended`.
  std::set<std::string> withheld;
  // Fields of ProjectionSpec::extra_fields filled (raw) for this subscriber
  // only; each must be one of the spec's extra_fields, else an error.
  std::set<std::string> extended;
  // Ids of the special requests behind this override (for the summary).
  std::vector<int64_t> sources;
};

// Hash for string keys that also takes a string_view, so looking a
// subscriber up does not allocate.
struct SubscriberIdHash {
  using is_transparent = void;
  size_t operator()(std::string_view id) const { return std::hash<std::string_view>{}(id); }
};
// By normalised subscriber_id (NormalizeSubscriberId of the export's value,
// decoded to UTF-8, before any mask): the caller normalises the ids of its
// special requests the same way, so "S90001 " and "Ｓ90001" in an export
// are the S90001 a request names.
using SubscriberOverrides =
    std::unordered_map<std::string, SubscriberOverride, SubscriberIdHash, std::equal_to<>>;

struct ProjectionSpec {
  std::vector<std::string> fields;             // catalog ids, output order
  std::map<std::string, Mask> masks;           // field id -> mask; absent = kNone
  Encoding output_encoding = Encoding::kUtf8;  // UTF-8 output starts with a BOM (Excel)
  InputEncoding input_encoding = InputEncoding::kAuto;
  std::string pseudonym_key;  // HMAC-SHA256 key for Mask::kPseudonym
  // Extra output columns after `fields`, in this order: filled only for
  // subscribers whose override extends them, empty for everyone else. Masks
  // never apply to them: the subscriber consented to the raw value. Each
  // must be a catalog id present in the export and not in `fields`.
  std::vector<std::string> extra_fields;
  // Looked up once per record, only when non-empty: an empty map costs
  // nothing per record.
  SubscriberOverrides overrides;
  // What a subscriber id looks like here ([records] subscriber_id_pattern);
  // unset: kDefaultSubscriberIdPattern.
  std::optional<SubscriberIdPattern> subscriber_id_pattern;
  // CSV injection (OWASP): every output cell, after its mask and encoding,
  // extra fields included, for which NeedsFormulaGuard holds is written
  // with a single quote ' in front, which spreadsheets take as "text, not a
  // formula". Off ([output] formula_guard = false) only for a batch that
  // reads the raw CSV and never a spreadsheet.
  bool formula_guard = true;
};

// Would a spreadsheet (Excel, LibreOffice, Google Sheets) evaluate this
// output cell, `cell` being the bytes written in `encoding`? The rule, on the
// first character only unless it is + or -:
//   = @ TAB (0x09) CR (0x0D)          always
//   + -                               unless the whole cell is
//     - a number: the sign, then ASCII digits with at most one '.', at
//       least one digit ("-1200", "-12.5", "+3"), or
//     - an E.164 phone number: '+', then 7 to 15 ASCII digits that single
//       spaces or hyphens may group ("+81312345678", "+81 3-1234-5678").
//     Neither can call a function or name a cell: no letter, parenthesis,
//     colon, '!' or '|' (a number with a thousands separator, "-1,200",
//     is neutralised: a comma is an argument separator).
//   full-width ＝ ＋ － ＠ (U+FF1D, U+FF0B, U+FF0D, U+FF20; in CP932 81 81,
//     81 7B, 81 7C, 81 97)              always: Japanese Excel may take them
//     for their ASCII forms, and a stray quote costs less than a formula.
//     No number exception: exports write amounts and phone numbers in
//     ASCII. (In CP932 output U+2212 MINUS SIGN becomes 81 7C too, which is
//     why the check runs on the bytes written.)
// A cell starting with anything else is left alone. Called for every cell
// only when its first byte is one of = + - @ TAB CR or 0xEF (UTF-8) / 0x81
// (CP932): one switch per cell, no allocation.
bool NeedsFormulaGuard(std::string_view cell, Encoding encoding);

// At most this many output columns (fields then extra_fields): which of
// them a record carried fits one 64-bit mask (RecordFacts::carried), the
// store keeping all bits set (-1) for "every field" of older receipts.
inline constexpr size_t kMaxOutputColumns = 63;

struct ProjectionSummary {
  int64_t records = 0;                        // records written (callback called)
  std::vector<std::string> input_fields;      // catalog ids of the export's columns, input order
  std::vector<std::string> withheld_fields;   // input_fields in neither spec.fields nor
                                              // spec.extra_fields, input order
  Encoding input_encoding = Encoding::kUtf8;  // as detected or given
  int64_t excluded = 0;  // records left out by an override (not counted in `records`)
  // Sorted, unique: the sources of the overrides that matched a record of
  // this export (excluded records included).
  std::vector<int64_t> applied_overrides;
  // Cells of the written records neutralised by spec.formula_guard.
  int64_t formula_guarded = 0;
};

// Called once per record written with the record's normalised
// subscriber_id (before any mask; also when the override withholds
// subscriber_id), never for an excluded record, before the record is
// written. Returning an error stops the projection with that error.
using RecordCallback = std::function<Status(std::string_view subscriber_id)>;
// The same, also given the record's raw house_drawing value (a file name)
// when the record's house_drawing column goes out with its value: the spec
// sends house_drawing unmasked and the subscriber's override does not
// withhold it, or house_drawing is an extra field the subscriber's override
// extends. Empty otherwise. Transports that carry files use it to add
// exactly the delivered records' drawings.
using RecordDrawingCallback =
    std::function<Status(std::string_view subscriber_id, std::string_view house_drawing)>;
// What one written record carried, for the history of who received what
// (policy 5). The views are valid during the call only.
struct RecordFacts {
  std::string_view subscriber_id;  // normalised, before any mask
  std::string_view house_drawing;  // as RecordDrawingCallback is given it
  // Bit i is set when output column i (spec.fields then spec.extra_fields,
  // the header's order) was written non-empty for this record: after masks
  // and the subscriber's override. A withheld field, a field the export has
  // empty, a value a mask empties (redact) and an extra field this
  // subscriber's override does not extend are clear; a masked non-empty
  // value is set.
  uint64_t carried = 0;
};
using RecordFactsCallback = std::function<Status(const RecordFacts&)>;

// Projects `in` to `out`. `out` may be nullptr (dry run: everything is read
// and checked, nothing written). `input_name` names the file: every error
// about the export starts with it, and none quotes a cell (a header cell
// included: an export without a header row has personal data there):
//   "export.csv: the file is UTF-16; save the export as UTF-8 or Shift_JIS (CP932)"
//   "export.csv:1: empty file (no header row)"
//   "export.csv:1: the first row does not look like a header (no column is a catalog
//    field id or label); the export needs a header row"
//   "export.csv:1: the first row does not look like a header (only 2 of 9 columns are
//    catalog field ids or labels); the export needs a header row"
//   "export.csv:1: column 3 is not a catalog field id or label (policy 1)"
//   "export.csv:1: duplicate column name (columns 2 and 3)"
//   "export.csv:7: unterminated quoted field"
//   "export.csv:8: column 2 (name): NUL byte"
//   "export.csv:9: column 5 (address): invalid UTF-8"
//   "export.csv: write error while writing its projection"
// (and the others of CsvReader::Next). The first row is a header when at
// least half of its columns are catalog ids or labels; then every column
// must be one. The export must have a subscriber_id column and every field
// (and extra field) of the spec:
//   "export.csv:1: column phone required by the profile is missing"
//   "export.csv:1: column phone extended by a special request (policy 6(1)) is missing"
// Every record's subscriber_id, normalised, must be non-empty and match the
// spec's pattern; the value is never echoed (a shifted column puts a name
// there):
//   "export.csv:4: column 1 (subscriber_id): empty subscriber_id (needed to record who
//    received what, policy 5)"
//   "export.csv:5: subscriber id does not match the configured pattern S[0-9]{5}"
// Spec errors (programming errors, no file prefix) come before the export is
// read:
//   "a profile may send at most 63 columns"
//   "extra field foo is not a catalog field id (policy 1)"
//   "extra field name is also one of the profile's fields"
//   "extra field phone is given twice"
//   "special request 12 extends email, which is not one of the spec's extra fields"
//   "special request 12 withholds phnoe, not a catalog field id (policy 1)"
// The header row lists `fields` then `extra_fields` whether or not any
// record extends them. An excluded record is still read and checked: a bad
// cell in it fails the projection like any other.
// On error, whatever was written to `out` must be discarded by the caller.
Result<ProjectionSummary> Project(const ProjectionSpec& spec, std::istream& in,
                                  std::string_view input_name, std::ostream* out,
                                  const RecordCallback& on_record);
Result<ProjectionSummary> Project(const ProjectionSpec& spec, std::istream& in,
                                  std::string_view input_name, std::ostream* out,
                                  const RecordDrawingCallback& on_record);
Result<ProjectionSummary> Project(const ProjectionSpec& spec, std::istream& in,
                                  std::string_view input_name, std::ostream* out,
                                  const RecordFactsCallback& on_record);

// The catalog ids of an export's columns, in order, from its header row
// alone (checked as Project checks it; only the first line of `in` is read).
Result<std::vector<std::string>> ExportColumns(std::istream& in, std::string_view input_name,
                                               InputEncoding encoding = InputEncoding::kAuto);

}  // namespace itaku::policies
