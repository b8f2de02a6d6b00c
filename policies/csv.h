// RFC 4180 CSV, streamed: CsvReader reads records from a std::istream in
// large blocks and hands out string_views into its buffer; CsvWriter formats
// records into a large buffer and writes it to a std::ostream in blocks.
// Neither allocates per record once its buffers have grown to the largest
// record seen. Bytes only: character encodings are the caller's business
// (policies/encoding.h); both sides are ASCII-transparent, which CP932 and
// UTF-8 are for the delimiters ( , " CR LF never occur inside a multi-byte
// character of either).
//
// Not thread-safe. Errors are one line naming the input and the physical
// line (1-based, the header is line 1) and never contain cell content: a
// cell is named by its column, never quoted.
#pragma once

#include <cstddef>
#include <cstdint>
#include <istream>
#include <memory>
#include <ostream>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "contracts/base/status.h"

namespace itaku::policies {

inline constexpr size_t kCsvDefaultBufferSize = size_t{1} << 20;  // 1 MiB

class CsvReader {
 public:
  struct Options {
    // Bytes read from the stream at a time; the buffer grows (doubling) only
    // when a single record is longer than this.
    size_t buffer_size = kCsvDefaultBufferSize;
    // A record longer than this is an error rather than a reason to grow.
    size_t max_record_size = size_t{64} << 20;
    // Every record must have as many fields as the first (the header).
    bool check_field_count = true;
  };

  // `input_name` prefixes every error ("export.csv:7: ...").
  CsvReader(std::istream& in, std::string_view input_name);
  CsvReader(std::istream& in, std::string_view input_name, Options options);
  CsvReader(const CsvReader&) = delete;
  CsvReader& operator=(const CsvReader&) = delete;

  // Reads the next record into fields(): true when there is one, false at
  // the end of the input. A UTF-8 byte order mark at the very start is
  // skipped (see had_bom()). Records end at LF or CRLF; the last one may lack
  // it. Lines with no bytes at all are skipped. Quoted fields may hold
  // commas, doubled quotes and CR/LF; they come back unquoted. A NUL byte is
  // refused anywhere, quoted or not (no export has one; a spreadsheet or a
  // terminal would cut the value there). An input in UTF-16 or UTF-32 is
  // refused before anything is parsed: by its byte order mark, or without
  // one by the NUL bytes beside its ASCII delimiters in the first 512 bytes
  // (or the first buffer_size, if smaller; DetectWideEncoding in
  // policies/encoding.h). Errors:
  //   "NAME: the file is UTF-16; save the export as UTF-8 or Shift_JIS (CP932)"
  //   "NAME: the file is UTF-32; save the export as UTF-8 or Shift_JIS (CP932)"
  //   "NAME:LINE: unterminated quoted field"      (LINE of the opening quote)
  //   "NAME:LINE: 16 fields, header has 17"       (LINE where the record starts)
  //   "NAME:LINE: column 3 (name): NUL byte"      (LINE of the NUL byte)
  //   "NAME:LINE: column 3 (name): quote inside an unquoted field"
  //   "NAME:LINE: column 3 (name): characters after a closing quote"
  //   "NAME:LINE: carriage return outside quotes not followed by line feed"
  //   "NAME:LINE: record longer than 67108864 bytes"
  //   "NAME: read error"
  // " (name)" appears once set_column_names() has been called. After an
  // error the reader must not be used again.
  Result<bool> Next();

  // The current record's fields; valid until the next call to Next().
  std::span<const std::string_view> fields() const { return fields_span_; }
  // The current record's bytes as read (quotes, separators and line ending
  // included); valid until the next call to Next(). Delimiters are ASCII, so
  // the record is valid UTF-8 exactly when every field is: one check per
  // record instead of one per field.
  std::string_view raw_record() const { return raw_record_; }
  // Physical line (1-based) where the current record starts.
  int64_t line() const { return line_; }
  bool had_bom() const { return had_bom_; }
  const std::string& input_name() const { return name_; }

  // Column names used in per-column error texts (usually the header's
  // catalog ids).
  void set_column_names(std::vector<std::string> names) { column_names_ = std::move(names); }
  // "column 5 (address)" or "column 5" for 0-based index 4.
  std::string DescribeColumn(size_t index) const;

 private:
  enum class Parse { kRecord, kNeedMore, kError };
  Parse ParseRecord(bool at_eof);
  Status Refill();
  Status Error(int64_t line, std::string_view what) const;

  std::istream& in_;
  const std::string name_;
  const Options options_;

  std::unique_ptr<char[]> buf_;
  size_t cap_ = 0;
  size_t pos_ = 0;  // start of the unparsed bytes
  size_t end_ = 0;  // end of the bytes read
  bool eof_ = false;
  bool started_ = false;
  bool had_bom_ = false;

  int64_t line_ = 0;       // line where the current record starts
  int64_t next_line_ = 1;  // line at pos_
  size_t expected_fields_ = 0;
  Status error_;

  // fields_ has room for field_capacity_ views; fields_span_ is the record.
  std::vector<std::string_view> fields_;
  std::span<const std::string_view> fields_span_;
  std::string_view raw_record_;
  // Unescaped fields that held doubled quotes. Its capacity is kept at
  // least cap_, so it never reallocates (invalidating views) mid-record.
  std::unique_ptr<char[]> scratch_;
  size_t scratch_cap_ = 0;
  std::vector<std::string> column_names_;
};

class CsvWriter {
 public:
  enum class Mode {
    kInline,      // the caller's thread writes to `out` when the buffer fills
    kBackground,  // a helper thread writes one full buffer while the caller
                  // fills the other, so formatting overlaps the write(2)
                  // time; `out` is touched only by that thread until Flush()
                  // returns or the writer is destroyed
  };
  // `out` may be nullptr: everything is formatted and discarded (dry run).
  explicit CsvWriter(std::ostream* out, size_t buffer_size = kCsvDefaultBufferSize,
                     Mode mode = Mode::kInline);
  ~CsvWriter();  // waits for a background write; does not flush the buffer
  CsvWriter(const CsvWriter&) = delete;
  CsvWriter& operator=(const CsvWriter&) = delete;

  // Appends bytes as they are (a byte order mark, say).
  void Raw(std::string_view bytes);
  // Appends one field, after a comma unless it is the first of its record.
  // Quoted only when it holds a comma, quote, CR, LF or NUL; quotes doubled.
  // Written as given: neutralising spreadsheet formulas is the projector's
  // business (ProjectionSpec::formula_guard).
  void Field(std::string_view value);
  // Ends the record with CRLF.
  void EndRecord();
  // Writes out everything buffered and flushes `out`. Error "write error"
  // once the stream has failed.
  Status Flush();

 private:
  class Background;
  void Reserve(size_t n);
  void Drain();  // hands the buffer to the stream (or the helper thread)

  std::ostream* const out_;
  std::unique_ptr<char[]> buf_;
  size_t cap_;
  size_t pos_ = 0;
  bool first_in_record_ = true;
  bool failed_ = false;
  std::unique_ptr<Background> background_;
};

// First byte of [p, end) that is ',', '"', CR, LF or NUL, or `end` (SSE2).
const char* FindCsvSpecial(const char* p, const char* end);

}  // namespace itaku::policies
