#include "policies/csv.h"

#include <gtest/gtest.h>

#include <sstream>
#include <string>
#include <string_view>
#include <vector>

namespace itaku::policies {
namespace {

using namespace std::string_literals;  // "...\0..."s keeps its NUL bytes

using Records = std::vector<std::vector<std::string>>;

// Reads every record, or returns the error text as the only "record".
Records ReadAll(const std::string& data, CsvReader::Options options = {},
                std::vector<int64_t>* lines = nullptr) {
  std::istringstream in(data);
  CsvReader reader(in, "export.csv", options);
  Records out;
  for (;;) {
    Result<bool> got = reader.Next();
    if (!got.ok()) return {{got.message()}};
    if (!*got) return out;
    out.emplace_back(reader.fields().begin(), reader.fields().end());
    if (lines != nullptr) lines->push_back(reader.line());
  }
}

std::string ErrorOf(const std::string& data, CsvReader::Options options = {}) {
  Records r = ReadAll(data, options);
  return r.size() == 1 && r[0].size() == 1 ? r[0][0] : "(no error)";
}

TEST(CsvReaderTest, PlainRecordsWithLfOrCrlf) {
  Records expected = {{"a", "b", "c"}, {"1", "2", "3"}};
  EXPECT_EQ(ReadAll("a,b,c\n1,2,3\n"), expected);
  EXPECT_EQ(ReadAll("a,b,c\r\n1,2,3\r\n"), expected);
}

TEST(CsvReaderTest, FinalLineWithoutNewline) {
  EXPECT_EQ(ReadAll("a,b\r\n1,2"), (Records{{"a", "b"}, {"1", "2"}}));
  EXPECT_EQ(ReadAll("a,b\r\n1,\"2\""), (Records{{"a", "b"}, {"1", "2"}}));
  EXPECT_EQ(ReadAll("a,b\r\n1,"), (Records{{"a", "b"}, {"1", ""}}));
}

TEST(CsvReaderTest, EmptyFields) {
  EXPECT_EQ(ReadAll("a,b,c\r\n,,\r\n\"\",x,\r\n"),
            (Records{{"a", "b", "c"}, {"", "", ""}, {"", "x", ""}}));
}

TEST(CsvReaderTest, QuotesDoubledQuotesAndCommas) {
  EXPECT_EQ(ReadAll("a,b\r\n\"x, y\",\"say \"\"hi\"\"\"\r\n\"\"\"\",\"\"\"\"\"\"\r\n"),
            (Records{{"a", "b"}, {"x, y", "say \"hi\""}, {"\"", "\"\""}}));
}

TEST(CsvReaderTest, EmbeddedNewlinesCountPhysicalLines) {
  std::vector<int64_t> lines;
  Records r = ReadAll("a,b\r\n\"line1\r\nline2\",x\r\n\"p\nq\nr\",y\r\nlast,z\r\n", {}, &lines);
  EXPECT_EQ(r, (Records{{"a", "b"}, {"line1\r\nline2", "x"}, {"p\nq\nr", "y"}, {"last", "z"}}));
  EXPECT_EQ(lines, (std::vector<int64_t>{1, 2, 4, 7}));
}

TEST(CsvReaderTest, SkipsBomAndReportsIt) {
  std::istringstream in(
      "\xEF\xBB\xBF"
      "a,b\r\n1,2\r\n");
  CsvReader reader(in, "export.csv");
  ASSERT_TRUE(*reader.Next());
  EXPECT_TRUE(reader.had_bom());
  EXPECT_EQ(reader.fields()[0], "a");
}

TEST(CsvReaderTest, BomOnlyAtTheStart) {
  EXPECT_EQ(ReadAll("a\r\n\xEF\xBB\xBFx\r\n"), (Records{{"a"}, {"\xEF\xBB\xBFx"}}));
}

TEST(CsvReaderTest, SkipsLinesWithNoBytes) {
  std::vector<int64_t> lines;
  EXPECT_EQ(ReadAll("a,b\r\n\r\n1,2\n\n", {}, &lines), (Records{{"a", "b"}, {"1", "2"}}));
  EXPECT_EQ(lines, (std::vector<int64_t>{1, 3}));
}

TEST(CsvReaderTest, EmptyInputHasNoRecords) {
  EXPECT_EQ(ReadAll(""), Records{});
  EXPECT_EQ(ReadAll("\xEF\xBB\xBF"), Records{});
}

TEST(CsvReaderTest, UnterminatedQuoteNamesTheLineWhereTheQuoteOpened) {
  EXPECT_EQ(ErrorOf("a,b\r\n1,2\r\n3,4\r\n5,\"six\r\n7,8\r\n9,10\r\n"),
            "export.csv:4: unterminated quoted field");
}

TEST(CsvReaderTest, WrongFieldCount) {
  EXPECT_EQ(ErrorOf("a,b,c\r\n1,2,3\r\n\"x\ny\",2,3\r\n1,2\r\n"),
            "export.csv:5: 2 fields, header has 3");
}

TEST(CsvReaderTest, FieldCountCheckCanBeTurnedOff) {
  CsvReader::Options options;
  options.check_field_count = false;
  EXPECT_EQ(ReadAll("a,b,c\r\n1\r\n", options), (Records{{"a", "b", "c"}, {"1"}}));
}

TEST(CsvReaderTest, QuoteInsideUnquotedField) {
  EXPECT_EQ(ErrorOf("a,b\r\n1,x\"y\r\n"), "export.csv:2: column 2: quote inside an unquoted field");
}

TEST(CsvReaderTest, CharactersAfterClosingQuoteNameTheColumn) {
  std::istringstream in("subscriber_id,name\r\n\"S1\"x,n\r\n");
  CsvReader reader(in, "export.csv");
  ASSERT_TRUE(*reader.Next());
  reader.set_column_names({"subscriber_id", "name"});
  EXPECT_EQ(reader.Next().message(),
            "export.csv:2: column 1 (subscriber_id): characters after a closing quote");
}

TEST(CsvReaderTest, StrayCarriageReturn) {
  EXPECT_EQ(ErrorOf("a,b\r\n1,2\r3,4\r\n"),
            "export.csv:2: carriage return outside quotes not followed by line feed");
}

TEST(CsvReaderTest, ErrorsNeverQuoteCellContent) {
  std::string err = ErrorOf("a,b\r\nSECRET,\"SECRET2\r\n");
  EXPECT_EQ(err, "export.csv:2: unterminated quoted field");
  EXPECT_EQ(err.find("SECRET"), std::string::npos);
}

// Every split of the input across buffer refills must give the same records.
TEST(CsvReaderTest, RecordsSpanningTheBufferBoundary) {
  std::string data =
      "\xEF\xBB\xBF"
      "id,text,n\r\n";
  for (int i = 0; i < 200; ++i) {
    data += "S" + std::to_string(i) + ",\"a,\"\"b\"\"\r\nc\"," + std::string(i % 23, 'x') +
            (i % 2 ? "\r\n" : "\n");
  }
  data += "end,\"\",";  // final record without newline
  const Records expected = ReadAll(data);
  ASSERT_EQ(expected.size(), 202u);
  EXPECT_EQ(expected[5], (std::vector<std::string>{"S4", "a,\"b\"\r\nc", "xxxx"}));
  EXPECT_EQ(expected.back(), (std::vector<std::string>{"end", "", ""}));
  for (size_t size : {16, 17, 19, 23, 31, 64, 100, 257}) {
    CsvReader::Options options;
    options.buffer_size = size;
    EXPECT_EQ(ReadAll(data, options), expected) << "buffer " << size;
  }
}

TEST(CsvReaderTest, UnterminatedQuoteAcrossRefills) {
  CsvReader::Options options;
  options.buffer_size = 16;
  EXPECT_EQ(ErrorOf("a,b\r\n1,2\r\n3,\"" + std::string(100, 'z') + "\r\n", options),
            "export.csv:3: unterminated quoted field");
}

TEST(CsvReaderTest, RecordLongerThanTheBufferGrowsIt) {
  CsvReader::Options options;
  options.buffer_size = 16;
  std::string big(1000, 'q');
  EXPECT_EQ(ReadAll("a,b\r\n" + big + ",\"" + big + "\"\r\n", options),
            (Records{{"a", "b"}, {big, big}}));
}

TEST(CsvReaderTest, RecordLongerThanTheLimit) {
  CsvReader::Options options;
  options.buffer_size = 16;
  options.max_record_size = 64;
  EXPECT_EQ(ErrorOf("a\r\n" + std::string(100, 'q') + "\r\n", options),
            "export.csv:2: record longer than 64 bytes");
}

// ---- hostile input (issue 14): NUL bytes, UTF-16 and UTF-32

TEST(CsvReaderTest, NulByteInAnUnquotedFieldNamesLineAndColumn) {
  EXPECT_EQ(ErrorOf("a,b\r\n1,2\r\n3,x\0y\r\n"s), "export.csv:3: column 2: NUL byte");
  EXPECT_EQ(ErrorOf("a,b\r\n\0,2\r\n"s), "export.csv:2: column 1: NUL byte");
  EXPECT_EQ(ErrorOf("a,b\r\n1,2\0"s), "export.csv:2: column 2: NUL byte");  // no final newline
  // Past the first 16-byte block, where the SIMD scan finds it.
  EXPECT_EQ(ErrorOf("a,b\r\n1," + std::string(40, 'z') + "\0"s + "\r\n"),
            "export.csv:2: column 2: NUL byte");
}

TEST(CsvReaderTest, NulByteInAQuotedFieldNamesItsOwnLine) {
  // The field opens on line 2; the NUL is on line 3.
  EXPECT_EQ(ErrorOf("a,b\r\n1,\"first\r\nsec\0ond\"\r\n"s), "export.csv:3: column 2: NUL byte");
  EXPECT_EQ(ErrorOf("a,b\r\n\"\0\",2\r\n"s), "export.csv:2: column 1: NUL byte");
  EXPECT_EQ(ErrorOf("a,b\r\n1,\"x\"\"\0\"\r\n"s), "export.csv:2: column 2: NUL byte");
}

TEST(CsvReaderTest, NulByteInTheHeader) {
  EXPECT_EQ(ErrorOf("subscriber_id,na\0me\r\nS1,x\r\n"s), "export.csv:1: column 2: NUL byte");
}

TEST(CsvReaderTest, NulByteErrorNamesTheColumnAndNeverTheValue) {
  std::istringstream in("subscriber_id,name\r\nS1,SECRET\0VALUE\r\n"s);
  CsvReader reader(in, "export.csv");
  ASSERT_TRUE(*reader.Next());
  reader.set_column_names({"subscriber_id", "name"});
  const std::string err = reader.Next().message();
  EXPECT_EQ(err, "export.csv:2: column 2 (name): NUL byte");
  EXPECT_EQ(err.find("SECRET"), std::string::npos);
  EXPECT_EQ(err.find('\0'), std::string::npos);
}

TEST(CsvReaderTest, NulByteAcrossRefills) {
  const std::string data = "a,b\r\n" + std::string(50, 'x') + ",\"" + std::string(30, 'y') +
                           "\r\n" + std::string(30, 'y') + "\0\"\r\n"s;
  for (size_t size : {16, 17, 23, 64, 1000}) {
    CsvReader::Options options;
    options.buffer_size = size;
    EXPECT_EQ(ErrorOf(data, options), "export.csv:3: column 2: NUL byte") << "buffer " << size;
  }
}

// ASCII text as UTF-16 or UTF-32 code units, without a byte order mark.
std::string Wide(std::string_view ascii, int width, bool little_endian) {
  std::string out;
  for (char c : ascii) {
    std::string unit(static_cast<size_t>(width), '\0');
    unit[little_endian ? 0 : unit.size() - 1] = c;
    out += unit;
  }
  return out;
}

TEST(CsvReaderTest, Utf16AndUtf32ExportsAreRefusedByName) {
  const std::string text = "subscriber_id,name\r\nS1,x\r\n";
  const std::string utf16 =
      "export.csv: the file is UTF-16; save the export as UTF-8 or Shift_JIS (CP932)";
  const std::string utf32 =
      "export.csv: the file is UTF-32; save the export as UTF-8 or Shift_JIS (CP932)";
  EXPECT_EQ(ErrorOf("\xFF\xFE" + Wide(text, 2, true)), utf16);   // what Excel calls Unicode text
  EXPECT_EQ(ErrorOf("\xFE\xFF" + Wide(text, 2, false)), utf16);  // UTF-16 BE
  EXPECT_EQ(ErrorOf(Wide(text, 2, true)), utf16);                // no byte order mark
  EXPECT_EQ(ErrorOf(Wide(text, 2, false)), utf16);
  EXPECT_EQ(ErrorOf("\xFF\xFE\0\0"s + Wide(text, 4, true)), utf32);
  EXPECT_EQ(ErrorOf("\0\0\xFE\xFF"s + Wide(text, 4, false)), utf32);
  EXPECT_EQ(ErrorOf(Wide(text, 4, true)), utf32);
  EXPECT_EQ(ErrorOf("\xFF\xFE"), utf16);  // the mark alone
  // Detected in the first block read, even a small one.
  CsvReader::Options options;
  options.buffer_size = 16;
  EXPECT_EQ(ErrorOf(Wide("a,b\r\n1,2\r\n", 2, true), options), utf16);
}

TEST(CsvReaderTest, Utf8ByteOrderMarkIsNotUtf16) {
  EXPECT_EQ(ReadAll("\xEF\xBB\xBF"
                    "a,b\r\n1,2\r\n"),
            (Records{{"a", "b"}, {"1", "2"}}));
}

TEST(CsvWriterTest, QuotesOnlyWhenNeededAndEndsWithCrlf) {
  std::ostringstream out;
  CsvWriter writer(&out);
  writer.Raw("\xEF\xBB\xBF");
  for (std::string_view f : {"plain", "", "a,b", "say \"hi\"", "l1\nl2", "cr\r", "日本語"}) {
    writer.Field(f);
  }
  writer.EndRecord();
  writer.Field("x");
  writer.EndRecord();
  ASSERT_TRUE(writer.Flush().ok());
  EXPECT_EQ(out.str(),
            "\xEF\xBB\xBF"
            "plain,,\"a,b\",\"say \"\"hi\"\"\",\"l1\nl2\",\"cr\r\",日本語\r\nx\r\n");
}

TEST(CsvWriterTest, NullStreamDiscards) {
  CsvWriter writer(nullptr, 64);
  for (int i = 0; i < 100; ++i) writer.Field("0123456789");
  writer.EndRecord();
  EXPECT_TRUE(writer.Flush().ok());
}

TEST(CsvWriterTest, SmallBufferAndLongFields) {
  std::ostringstream out;
  CsvWriter writer(&out, 64);
  std::string big(500, 'a');
  big[250] = '"';
  writer.Field(big);
  writer.Field("b");
  writer.EndRecord();
  ASSERT_TRUE(writer.Flush().ok());
  std::string quoted = big;
  quoted.insert(250, "\"");
  EXPECT_EQ(out.str(), "\"" + quoted + "\",b\r\n");
}

TEST(CsvWriterTest, ReportsAFailedStream) {
  std::ostringstream out;
  out.setstate(std::ios::badbit);
  CsvWriter writer(&out);
  writer.Field("x");
  EXPECT_EQ(writer.Flush().message(), "write error");
}

TEST(CsvRoundTripTest, WriterOutputReadsBack) {
  Records records = {{"a", "b,c", ""}, {"\"q\"", "line\r\nbreak", "日本"}};
  std::ostringstream out;
  CsvWriter writer(&out);
  for (const auto& r : records) {
    for (const auto& f : r) writer.Field(f);
    writer.EndRecord();
  }
  ASSERT_TRUE(writer.Flush().ok());
  EXPECT_EQ(ReadAll(out.str()), records);
}

TEST(FindCsvSpecialTest, FindsFirstDelimiterInAndAfterSimdBlocks) {
  for (size_t at = 0; at < 40; ++at) {
    for (char c : {',', '"', '\r', '\n', '\0'}) {
      std::string s(40, 'x');
      s[at] = c;
      EXPECT_EQ(FindCsvSpecial(s.data(), s.data() + s.size()) - s.data(), static_cast<long>(at));
    }
  }
  std::string none(40, 'y');
  EXPECT_EQ(FindCsvSpecial(none.data(), none.data() + none.size()), none.data() + none.size());
}

}  // namespace
}  // namespace itaku::policies
