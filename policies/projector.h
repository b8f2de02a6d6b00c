// The streaming projector: the only path from an export to anything that
// leaves the gateway. Reads an RFC 4180 CSV export (UTF-8 with or without
// BOM, or CP932), checks its header against the field catalog, and writes
// each record reduced to the profile's fields, in the profile's order, with
// masks applied. Memory does not grow with the number of records.
//
// Pure: reads only the stream it is handed, writes only the stream it is
// handed, no clock. Not thread-safe; one Project() call per thread.
#pragma once

#include <cstdint>
#include <functional>
#include <istream>
#include <map>
#include <ostream>
#include <string>
#include <string_view>
#include <vector>

#include "contracts/status.h"
#include "policies/catalog.h"

namespace itaku::policies {

enum class Encoding { kUtf8, kCp932 };
enum class InputEncoding { kAuto, kUtf8, kCp932 };

struct ProjectionSpec {
  std::vector<std::string> fields;             // catalog ids, output order
  std::map<std::string, Mask> masks;           // field id -> mask; absent = kNone
  Encoding output_encoding = Encoding::kUtf8;  // UTF-8 output starts with a BOM (Excel)
  InputEncoding input_encoding = InputEncoding::kAuto;
  std::string pseudonym_key;  // HMAC-SHA256 key for Mask::kPseudonym
};

struct ProjectionSummary {
  int64_t records = 0;
  std::vector<std::string> input_fields;      // catalog ids of the export's columns, input order
  std::vector<std::string> withheld_fields;   // input_fields not in spec.fields, input order
  Encoding input_encoding = Encoding::kUtf8;  // as detected or given
};

// Called once per record with the record's raw subscriber_id (before any
// mask). Returning an error stops the projection with that error.
using RecordCallback = std::function<Status(std::string_view subscriber_id)>;
// The same, also given the record's raw house_drawing value (a file name)
// when the spec sends house_drawing unmasked; empty otherwise. Transports
// that carry files use it to add exactly the delivered records' drawings.
using RecordDrawingCallback =
    std::function<Status(std::string_view subscriber_id, std::string_view house_drawing)>;

// Projects `in` to `out`. `out` may be nullptr (dry run: everything is read
// and checked, nothing written). `input_name` names the file in errors:
//   "export.csv:1: unknown column 'foo' (not in the field catalog, policy 1)"
//   "export.csv:7: unterminated quoted field"
//   "export.csv:9: column 5 (address): invalid UTF-8"
// The export must have a subscriber_id column and every field of the spec.
// On error, whatever was written to `out` must be discarded by the caller.
Result<ProjectionSummary> Project(const ProjectionSpec& spec, std::istream& in,
                                  std::string_view input_name, std::ostream* out,
                                  const RecordCallback& on_record);
Result<ProjectionSummary> Project(const ProjectionSpec& spec, std::istream& in,
                                  std::string_view input_name, std::ostream* out,
                                  const RecordDrawingCallback& on_record);

}  // namespace itaku::policies
