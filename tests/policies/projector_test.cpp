#include "policies/projector.h"

#include <gtest/gtest.h>

#include <initializer_list>
#include <sstream>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "policies/encoding.h"

namespace itaku::policies {
namespace {

using namespace std::string_literals;  // "...\0..."s keeps its NUL bytes

constexpr std::string_view kBom = "\xEF\xBB\xBF";

struct Outcome {
  Result<ProjectionSummary> result = Result<ProjectionSummary>::Error("not run");
  std::string out;
  std::vector<std::string> seen;  // subscriber ids passed to the callback
};

Outcome Project(const ProjectionSpec& spec, const std::string& input, bool dry_run = false,
                int fail_at = -1) {
  Outcome run;
  std::istringstream in(input);
  std::ostringstream out;
  run.result =
      policies::Project(spec, in, "export.csv", dry_run ? nullptr : &out, [&](std::string_view id) {
        run.seen.emplace_back(id);
        if (static_cast<int>(run.seen.size()) == fail_at) {
          return Status::Error("history store is down");
        }
        return Status::Ok();
      });
  run.out = out.str();
  return run;
}

// What the projector writes for these rows: a BOM, and CRLF after each.
std::string Csv(std::initializer_list<std::string_view> rows) {
  std::string out(kBom);
  for (std::string_view row : rows) (out += row) += "\r\n";
  return out;
}

ProjectionSpec Spec(std::vector<std::string> fields) {
  ProjectionSpec spec;
  spec.fields = std::move(fields);
  return spec;
}

std::string ErrorOf(const ProjectionSpec& spec, const std::string& input) {
  Outcome run = Project(spec, input);
  return run.result.ok() ? "(ok)" : run.result.message();
}

std::string ToCp932(std::string_view utf8) { return *EncodeCp932(utf8); }

const std::string kExport =
    "subscriber_id,name,birth_date,phone,address,account_holder\r\n"
    "S00000001,山田　太郎,1980-05-12,079-123-4567,\"兵庫県姫路市夢前町前之庄1-2-3, ハイツ201\","
    "ﾔﾏﾀﾞ ﾀﾛｳ\r\n"
    "S00000002,髙橋　花子,1975/01/02,,\"大阪府\"\"北区\"\"\",ﾀｶﾊｼ ﾊﾅｺ\r\n";

TEST(ProjectorTest, WritesSpecFieldsInSpecOrderWithBomAndCrlf) {
  Outcome run = Project(Spec({"account_holder", "subscriber_id", "address", "phone"}), kExport);
  ASSERT_TRUE(run.result.ok()) << run.result.message();
  EXPECT_EQ(run.out,
            Csv({"account_holder,subscriber_id,address,phone",
                 "ﾔﾏﾀﾞ ﾀﾛｳ,S00000001,\"兵庫県姫路市夢前町前之庄1-2-3, ハイツ201\",079-123-4567",
                 "ﾀｶﾊｼ ﾊﾅｺ,S00000002,\"大阪府\"\"北区\"\"\","}));
  EXPECT_EQ(run.result->records, 2);
  EXPECT_EQ(run.seen, (std::vector<std::string>{"S00000001", "S00000002"}));
  EXPECT_EQ(run.result->input_fields,
            (std::vector<std::string>{"subscriber_id", "name", "birth_date", "phone", "address",
                                      "account_holder"}));
  EXPECT_EQ(run.result->withheld_fields, (std::vector<std::string>{"name", "birth_date"}));
  EXPECT_EQ(run.result->input_encoding, Encoding::kUtf8);
}

TEST(ProjectorTest, JapaneseLabelsInTheHeaderBecomeCatalogIds) {
  Outcome run = Project(Spec({"name", "subscriber_id"}),
                        "\xEF\xBB\xBF加入者番号,氏名,住宅の図面\r\nS1,山田　太郎,S1.pdf\r\n");
  ASSERT_TRUE(run.result.ok()) << run.result.message();
  EXPECT_EQ(run.out, std::string(kBom) + "name,subscriber_id\r\n山田　太郎,S1\r\n");
  EXPECT_EQ(run.result->withheld_fields, std::vector<std::string>{"house_drawing"});
}

TEST(ProjectorTest, AppliesMasks) {
  ProjectionSpec spec = Spec({"subscriber_id", "birth_date", "phone", "name"});
  spec.masks = {{"subscriber_id", Mask::kPseudonym},
                {"birth_date", Mask::kYear},
                {"phone", Mask::kLast4},
                {"name", Mask::kRedact}};
  spec.pseudonym_key = "k3y";
  Outcome run = Project(spec, kExport);
  ASSERT_TRUE(run.result.ok()) << run.result.message();
  EXPECT_EQ(run.out, std::string(kBom) +
                         "subscriber_id,birth_date,phone,name\r\n"
                         "8ac7d2c806ad54ff2856b39ff9ff3d3b241d57981c56119f9a8a83ce296c9acc,1980,"
                         "********4567,\r\n" +
                         run.out.substr(run.out.rfind("\r\n", run.out.size() - 3) + 2));
  // The callback gets the raw id, not the pseudonym.
  EXPECT_EQ(run.seen[0], "S00000001");
  // The empty phone stays empty.
  EXPECT_NE(run.out.find(",1975,,\r\n"), std::string::npos);
}

TEST(ProjectorTest, PseudonymNeedsAKey) {
  ProjectionSpec spec = Spec({"subscriber_id"});
  spec.masks = {{"subscriber_id", Mask::kPseudonym}};
  EXPECT_EQ(ErrorOf(spec, kExport), "mask pseudonym on subscriber_id needs a pseudonym key");
}

TEST(ProjectorTest, MaskErrorsNameLineAndColumnButNotTheValue) {
  ProjectionSpec spec = Spec({"subscriber_id", "birth_date"});
  spec.masks = {{"birth_date", Mask::kYear}};
  EXPECT_EQ(ErrorOf(spec, "subscriber_id,birth_date\r\nS1,1980-01-01\r\nS2,昭和55年\r\n"),
            "export.csv:3: column 2 (birth_date): not a date starting with a 4-digit year "
            "(mask year)");
  spec = Spec({"subscriber_id", "postal_code"});
  spec.masks = {{"postal_code", Mask::kPrefix3}};
  EXPECT_EQ(ErrorOf(spec, "postal_code,subscriber_id\r\n12,S1\r\n"),
            "export.csv:2: column 1 (postal_code): not a postal code starting with 3 digits "
            "(mask prefix3)");
}

TEST(ProjectorTest, DryRunChecksEverythingAndWritesNothing) {
  Outcome run = Project(Spec({"subscriber_id", "name"}), kExport, /*dry_run=*/true);
  ASSERT_TRUE(run.result.ok()) << run.result.message();
  EXPECT_EQ(run.out, "");
  EXPECT_EQ(run.result->records, 2);
  EXPECT_EQ(run.seen.size(), 2u);
  run = Project(Spec({"subscriber_id"}), kExport + "S3,x,y\r\n", /*dry_run=*/true);
  EXPECT_EQ(run.result.message(), "export.csv:4: 3 fields, header has 6");
}

TEST(ProjectorTest, CallbackErrorStopsTheProjection) {
  Outcome run = Project(Spec({"subscriber_id"}), kExport, false, /*fail_at=*/1);
  EXPECT_EQ(run.result.message(), "history store is down");
  EXPECT_EQ(run.seen, std::vector<std::string>{"S00000001"});
  EXPECT_EQ(run.out.find("S00000001"), std::string::npos);
}

TEST(ProjectorTest, UnknownColumnIsNamedByNumberNotByItsText) {
  EXPECT_EQ(ErrorOf(Spec({"subscriber_id"}), "subscriber_id,foo\r\nS1,x\r\n"),
            "export.csv:1: column 2 is not a catalog field id or label (policy 1)");
  EXPECT_EQ(ErrorOf(Spec({"subscriber_id"}), "subscriber_id,name,nickname\r\nS1,x,y\r\n"),
            "export.csv:1: column 3 is not a catalog field id or label (policy 1)");
}

// Issue 14: an export without a header row put its first subscriber's
// e-mail address into the error, and from there into the delivery record
// and the audit trail.
TEST(ProjectorTest, HeaderlessExportErrorQuotesNoCell) {
  const std::string input =
      "S00000001,山田　太郎,zq0001.mailcanary@example.invalid,7654321\r\n"
      "S00000002,髙橋　花子,zq0002.mailcanary@example.invalid,1234567\r\n";
  const std::string err = ErrorOf(Spec({"subscriber_id"}), input);
  EXPECT_EQ(err,
            "export.csv:1: the first row does not look like a header (no column is a catalog "
            "field id or label); the export needs a header row");
  for (std::string_view cell : {"S00000001", "山田", "mailcanary", "7654321"}) {
    EXPECT_EQ(err.find(cell), std::string::npos) << cell;
  }
  // The same from the header-only reader the gateway uses.
  std::istringstream in(input);
  EXPECT_EQ(ExportColumns(in, "export.csv").message(), err);
  // CP932 without a header: decoded, then refused the same way.
  EXPECT_EQ(ErrorOf(Spec({"subscriber_id"}), ToCp932(input)), err);
}

TEST(ProjectorTest, FirstRowWithFewCatalogColumnsIsNotAHeader) {
  EXPECT_EQ(ErrorOf(Spec({"subscriber_id"}),
                    "subscriber_id,zq0001@example.invalid,0123456\r\nS1,a,b\r\n"),
            "export.csv:1: the first row does not look like a header (only 1 of 3 columns is a "
            "catalog field id or label); the export needs a header row");
  EXPECT_EQ(ErrorOf(Spec({"subscriber_id"}), "S1,name,phone,a,b\r\n"),
            "export.csv:1: the first row does not look like a header (only 2 of 5 columns are "
            "catalog field ids or labels); the export needs a header row");
}

TEST(ProjectorTest, ControlCharactersAndNulInTheHeaderAreNeverPrinted) {
  std::string err = ErrorOf(Spec({"subscriber_id"}), "subscriber_id,na\x1B[2Jme\r\nS1,x\r\n");
  EXPECT_EQ(err, "export.csv:1: column 2 is not a catalog field id or label (policy 1)");
  EXPECT_EQ(ErrorOf(Spec({"subscriber_id"}), "subscriber_id,na\0me\r\nS1,x\r\n"s),
            "export.csv:1: column 2: NUL byte");
}

// Issue 14: a NUL byte inside a cell was delivered.
TEST(ProjectorTest, NulByteInACellIsRefusedWithLineAndColumn) {
  const std::string input = "subscriber_id,name,address\r\nS1,a,b\r\nS2,SECRET\0NAME,c\r\n"s;
  const std::string err = ErrorOf(Spec({"subscriber_id", "address"}), input);
  EXPECT_EQ(err, "export.csv:3: column 2 (name): NUL byte");  // refused although name is withheld
  EXPECT_EQ(err.find("SECRET"), std::string::npos);
  // CP932 input: the reader refuses it before decoding.
  ProjectionSpec spec = Spec({"subscriber_id"});
  spec.input_encoding = InputEncoding::kCp932;
  EXPECT_EQ(ErrorOf(spec, input), "export.csv:3: column 2 (name): NUL byte");
}

TEST(ProjectorTest, Utf16ExportIsNamed) {
  std::string le = "\xFF\xFE", be = "\xFE\xFF";
  for (char c : std::string_view("subscriber_id,name\r\nS1,x\r\n")) {
    le.append({c, '\0'});
    be.append({'\0', c});
  }
  const std::string named =
      "export.csv: the file is UTF-16; save the export as UTF-8 or Shift_JIS (CP932)";
  EXPECT_EQ(ErrorOf(Spec({"subscriber_id"}), le), named);
  EXPECT_EQ(ErrorOf(Spec({"subscriber_id"}), be), named);
  EXPECT_EQ(ErrorOf(Spec({"subscriber_id"}), le.substr(2)), named);  // no byte order mark
  std::istringstream in(le);
  EXPECT_EQ(ExportColumns(in, "export.csv").message(), named);
}

TEST(ProjectorTest, DuplicateColumnEvenUnderIdAndLabel) {
  EXPECT_EQ(ErrorOf(Spec({"subscriber_id"}), "subscriber_id,name,氏名\r\nS1,a,b\r\n"),
            "export.csv:1: duplicate column name (columns 2 and 3)");
}

TEST(ProjectorTest, NoSubscriberIdColumn) {
  EXPECT_EQ(ErrorOf(Spec({"name"}), "name,address\r\na,b\r\n"),
            "export.csv:1: no subscriber_id column (needed to record who received what, "
            "policy 5)");
}

TEST(ProjectorTest, SpecFieldMissingFromTheExport) {
  EXPECT_EQ(ErrorOf(Spec({"subscriber_id", "name", "account_holder"}), "subscriber_id,name\r\n"),
            "export.csv:1: column account_holder required by the profile is missing");
}

TEST(ProjectorTest, EmptyInput) {
  EXPECT_EQ(ErrorOf(Spec({"subscriber_id"}), ""), "export.csv:1: empty file (no header row)");
}

TEST(ProjectorTest, HeaderOnlyGivesHeaderOnly) {
  Outcome run = Project(Spec({"subscriber_id"}), "subscriber_id\r\n");
  ASSERT_TRUE(run.result.ok());
  EXPECT_EQ(run.out, std::string(kBom) + "subscriber_id\r\n");
  EXPECT_EQ(run.result->records, 0);
}

TEST(ProjectorTest, EmptySubscriberId) {
  EXPECT_EQ(ErrorOf(Spec({"subscriber_id"}), "name,subscriber_id\r\nx,\r\n"),
            "export.csv:2: column 2 (subscriber_id): empty subscriber_id (needed to record who "
            "received what, policy 5)");
}

TEST(ProjectorTest, InvalidUtf8NamesLineAndColumnNotContent) {
  const std::string input =
      "subscriber_id,name,phone,email,address\r\n"
      "S1,a,b,c,d\r\n"
      "S2,\"multi\r\nline\",b,c,SECRET\xE3\x81\r\n";
  std::string err = ErrorOf(Spec({"subscriber_id"}), input);
  EXPECT_EQ(err,
            "export.csv:3: column 5 (address): invalid UTF-8 (a CP932 export needs "
            "--input-encoding cp932)");
  EXPECT_EQ(err.find("SECRET"), std::string::npos);
}

TEST(ProjectorTest, UnterminatedQuoteAndWrongFieldCount) {
  EXPECT_EQ(ErrorOf(Spec({"subscriber_id"}), "subscriber_id,name\r\nS1,a\r\nS2,\"b\r\nS3,c\r\n"),
            "export.csv:3: unterminated quoted field");
  EXPECT_EQ(ErrorOf(Spec({"subscriber_id"}), "subscriber_id,name\r\nS1,a\r\nS2\r\n"),
            "export.csv:3: 1 fields, header has 2");
}

TEST(ProjectorTest, Cp932InputIsDetectedAndOutputCanBeCp932) {
  const std::string input = ToCp932(
      "加入者番号,氏名,口座名義\r\n"
      "S1,髙橋　①郎,ﾀｶﾊｼ ｲﾁﾛｳ\r\n"
      "S2,山﨑～－,ﾔﾏｻﾞｷ\r\n");
  Outcome run = Project(Spec({"subscriber_id", "name", "account_holder"}), input);
  ASSERT_TRUE(run.result.ok()) << run.result.message();
  EXPECT_EQ(run.result->input_encoding, Encoding::kCp932);
  EXPECT_EQ(run.out, Csv({"subscriber_id,name,account_holder", "S1,髙橋　①郎,ﾀｶﾊｼ ｲﾁﾛｳ",
                          "S2,山﨑～－,ﾔﾏｻﾞｷ"}));

  ProjectionSpec spec = Spec({"name", "subscriber_id"});
  spec.output_encoding = Encoding::kCp932;
  run = Project(spec, input);
  ASSERT_TRUE(run.result.ok()) << run.result.message();
  EXPECT_EQ(run.out, "name,subscriber_id\r\n" + ToCp932("髙橋　①郎,S1\r\n山﨑～－,S2\r\n"));
  EXPECT_EQ(run.out.substr(20, 4), "\xFB\xFC\x8B\xB4");  // 髙橋, IBM extension bytes
}

TEST(ProjectorTest, Utf8InputToCp932Output) {
  ProjectionSpec spec = Spec({"subscriber_id", "name"});
  spec.output_encoding = Encoding::kCp932;
  Outcome run = Project(spec, "\xEF\xBB\xBFsubscriber_id,name\r\nS1,ｶﾅ～−\r\n");
  ASSERT_TRUE(run.result.ok()) << run.result.message();
  EXPECT_EQ(run.out, "subscriber_id,name\r\nS1,\xB6\xC5\x81\x60\x81\x7C\r\n");
}

TEST(ProjectorTest, UndecodableCp932Byte) {
  std::string input = ToCp932("subscriber_id,氏名,name_kana\r\nS1,山田,ヤマダ\r\n");
  input += "S2,\x85\x40,x\r\n";
  ProjectionSpec spec = Spec({"subscriber_id"});
  spec.input_encoding = InputEncoding::kCp932;
  EXPECT_EQ(ErrorOf(spec, input),
            "export.csv:3: column 2 (name): byte 0x85 cannot be decoded as CP932");
}

TEST(ProjectorTest, CharacterWithoutCp932EncodingOnOutput) {
  ProjectionSpec spec = Spec({"subscriber_id", "name"});
  spec.output_encoding = Encoding::kCp932;
  EXPECT_EQ(ErrorOf(spec, "subscriber_id,name\r\nS1,吉田\r\nS2,𠮷田\r\n"),
            "export.csv:3: column 2 (name): a character has no CP932 encoding");
}

TEST(ProjectorTest, BomWithCp932InputGivenIsRefused) {
  ProjectionSpec spec = Spec({"subscriber_id"});
  spec.input_encoding = InputEncoding::kCp932;
  EXPECT_EQ(ErrorOf(spec, "\xEF\xBB\xBFsubscriber_id\r\nS1\r\n"),
            "export.csv:1: starts with a UTF-8 byte order mark but CP932 input was given");
}

// Several MiB, so records straddle the reader's 1 MiB blocks; every record
// must come out, intact and in order.
TEST(ProjectorTest, LargeInputAcrossBufferBoundaries) {
  std::string input = "subscriber_id,name,address,services\r\n";
  std::string expected = std::string(kBom) + "services,subscriber_id\r\n";
  const int kRows = 40000;
  for (int i = 0; i < kRows; ++i) {
    const std::string id = "S" + std::to_string(10000000 + i);
    const std::string services = i % 7 == 0 ? "\"CATV基本,\"\"BS\"\"\r\nネット\""
                                            : "CATV基本;インターネット" + std::to_string(i % 13);
    input += id + ",髙橋　太郎" + std::string(i % 50, 'x') + ",兵庫県姫路市夢前町前之庄" +
             std::to_string(i) + "," + services + (i % 3 ? "\r\n" : "\n");
    expected += services + "," + id + "\r\n";
  }
  ASSERT_GT(input.size(), 3u << 20);
  Outcome run = Project(Spec({"services", "subscriber_id"}), input);
  ASSERT_TRUE(run.result.ok()) << run.result.message();
  EXPECT_EQ(run.result->records, kRows);
  EXPECT_EQ(run.seen.size(), static_cast<size_t>(kRows));
  EXPECT_EQ(run.seen.back(), "S" + std::to_string(10000000 + kRows - 1));
  EXPECT_EQ(run.out, expected);
}

// ---- formula guard (issue 14: CSV injection, OWASP)

const std::string kFormulas =
    "subscriber_id,name,address,phone,services\r\n"
    "S1,\"=HYPERLINK(\"\"http://x\"\",\"\"y\"\")\",+cmd|' /C calc'!A0,+81312345678,@SUM(1+1)\r\n"
    "S2,\"\t=1+1\",\"\r=1+1\",+81 3-1234-5678,-1200\r\n"
    "S3,-12.5,＝1+1,-,山田\r\n";

TEST(ProjectorFormulaGuardTest, FormulasAreNeutralisedNumbersAndPhonesAreNot) {
  Outcome run = Project(Spec({"subscriber_id", "name", "address", "phone", "services"}), kFormulas);
  ASSERT_TRUE(run.result.ok()) << run.result.message();
  EXPECT_EQ(run.out,
            Csv({"subscriber_id,name,address,phone,services",
                 "S1,\"'=HYPERLINK(\"\"http://x\"\",\"\"y\"\")\",'+cmd|' /C calc'!A0,+81312345678,"
                 "'@SUM(1+1)",
                 "S2,'\t=1+1,\"'\r=1+1\",+81 3-1234-5678,-1200",
                 // A lone '-' is no number: quoted too (the rule is documented).
                 "S3,-12.5,'＝1+1,'-,山田"}));
  EXPECT_EQ(run.result->formula_guarded, 7);
  EXPECT_EQ(run.result->records, 3);
  // A dry run counts the same.
  run = Project(Spec({"subscriber_id", "name", "address", "phone", "services"}), kFormulas,
                /*dry_run=*/true);
  ASSERT_TRUE(run.result.ok()) << run.result.message();
  EXPECT_EQ(run.result->formula_guarded, 7);
}

TEST(ProjectorFormulaGuardTest, OffLeavesEveryCellRaw) {
  ProjectionSpec spec = Spec({"subscriber_id", "name", "address", "phone", "services"});
  spec.formula_guard = false;
  Outcome run = Project(spec, kFormulas);
  ASSERT_TRUE(run.result.ok()) << run.result.message();
  EXPECT_EQ(run.out,
            Csv({"subscriber_id,name,address,phone,services",
                 "S1,\"=HYPERLINK(\"\"http://x\"\",\"\"y\"\")\",+cmd|' /C calc'!A0,+81312345678,"
                 "@SUM(1+1)",
                 "S2,\t=1+1,\"\r=1+1\",+81 3-1234-5678,-1200", "S3,-12.5,＝1+1,-,山田"}));
  EXPECT_EQ(run.result->formula_guarded, 0);
}

TEST(ProjectorFormulaGuardTest, ChecksTheBytesWrittenInCp932) {
  ProjectionSpec spec = Spec({"subscriber_id", "name", "address"});
  spec.output_encoding = Encoding::kCp932;
  // U+2212 MINUS SIGN is written as CP932 81 7C, the full-width minus.
  Outcome run = Project(spec,
                        "subscriber_id,name,address\r\n"
                        "S1,＝1+1,−1\r\n"
                        "S2,＠x,＋1\r\n"
                        "S3,ｶﾅ,　=1\r\n");
  ASSERT_TRUE(run.result.ok()) << run.result.message();
  EXPECT_EQ(run.out, "subscriber_id,name,address\r\n" +
                         ToCp932("S1,'＝1+1,'－1\r\nS2,'＠x,'＋1\r\nS3,ｶﾅ,　=1\r\n"));
  EXPECT_EQ(run.result->formula_guarded, 4);
  // In UTF-8 output U+2212 stays what it is, which no spreadsheet runs.
  spec.output_encoding = Encoding::kUtf8;
  run = Project(spec, "subscriber_id,name,address\r\nS1,−1,=1\r\n");
  ASSERT_TRUE(run.result.ok()) << run.result.message();
  EXPECT_EQ(run.out, Csv({"subscriber_id,name,address", "S1,−1,'=1"}));
}

TEST(ProjectorFormulaGuardTest, ExtraFieldsAndMaskedValuesAreGuardedToo) {
  ProjectionSpec spec = Spec({"subscriber_id", "phone"});
  spec.masks = {{"phone", Mask::kLast4}};
  spec.extra_fields = {"name"};
  spec.overrides["S1"].extended = {"name"};
  Outcome run = Project(spec, "subscriber_id,name,phone\r\nS1,=1+1,-1-2-3-4-5\r\nS2,=2,x\r\n");
  ASSERT_TRUE(run.result.ok()) << run.result.message();
  // The mask's stars come first, so a masked value never needs the quote.
  EXPECT_EQ(run.out, Csv({"subscriber_id,phone,name", "S1,******-4-5,'=1+1", "S2,*,"}));
  EXPECT_EQ(run.result->formula_guarded, 1);
}

TEST(ProjectorFormulaGuardTest, TheRule) {
  struct Case {
    std::string_view cell;
    bool guarded;
  };
  const Case utf8[] = {
      {"=1+1", true},
      {"@SUM(1+1)", true},
      {"\t=1+1", true},
      {"\r=1+1", true},
      {"\t", true},
      {"+cmd|' /C calc'!A0", true},
      {"-2+3+cmd|' /C calc'!A0", true},
      {"-1,200", true},  // a comma separates arguments
      {"--1", true},
      {"-1.2.3", true},
      {"-", true},
      {"+", true},
      {"-.", true},
      {"+81 3-1234-5678 ", true},  // a separator must stand between digits
      {"+81  3-1234-5678", true},
      {"+1 234", true},               // 4 digits: no phone number
      {"+1234567890 12345 6", true},  // 16 digits
      {"-1 200", true},               // a space only in a phone number
      {"＝1+1", true},
      {"＋1", true},
      {"－1200", true},
      {"＠x", true},
      {"+81312345678", false},
      {"+81 3-1234-5678", false},
      {"+81-3-1234-5678", false},
      {"+1 234 5678", false},
      {"-1200", false},
      {"-12.5", false},
      {"+3", false},
      {"-.5", false},
      {"", false},
      {"1+1", false},
      {"a=1", false},
      {" =1", false},
      {"'=1", false},
      {"ｶﾅ", false},      // EF BD B6
      {"（株）", false},  // EF BC 88
      {"−1", false},      // U+2212: not a sign to a spreadsheet
  };
  for (const Case& c : utf8) {
    EXPECT_EQ(NeedsFormulaGuard(c.cell, Encoding::kUtf8), c.guarded) << "UTF-8 " << c.cell;
  }
  const Case cp932[] = {
      {"=1", true},
      {"+1 2", true},
      {"\x81\x81"
       "1",
       true},
      {"\x81\x7B"
       "1",
       true},
      {"\x81\x7C"
       "1",
       true},
      {"\x81\x97", true},
      {"-1200", false},
      {"+81312345678", false},
      {"\x81\x40", false},  // 　
      {"\x81\x60", false},
      {"\xB6\xC5", false},
      {"\xEF\xBC\x9D", false},
  };
  for (const Case& c : cp932) {
    EXPECT_EQ(NeedsFormulaGuard(c.cell, Encoding::kCp932), c.guarded) << "CP932 " << c.cell;
  }
}

// ---- special requests (policy 6(1)): per-subscriber overrides

const std::string kThree =
    "subscriber_id,name,birth_date,phone,house_drawing\r\n"
    "S1,山田　太郎,1980-05-12,079-123-4567,S1.pdf\r\n"
    "S2,髙橋　花子,1975-01-02,06-1111-2222,S2.pdf\r\n"
    "S3,佐藤　一郎,1990-12-31,03-3333-4444,S3.pdf\r\n";

struct DrawingOutcome {
  Result<ProjectionSummary> result = Result<ProjectionSummary>::Error("not run");
  std::string out;
  std::vector<std::pair<std::string, std::string>> seen;  // (subscriber id, drawing)
};

DrawingOutcome ProjectWithDrawings(const ProjectionSpec& spec, const std::string& input) {
  DrawingOutcome run;
  std::istringstream in(input);
  std::ostringstream out;
  run.result = policies::Project(spec, in, "export.csv", &out,
                                 [&](std::string_view id, std::string_view drawing) {
                                   run.seen.emplace_back(id, drawing);
                                   return Status::Ok();
                                 });
  run.out = out.str();
  return run;
}

SubscriberOverride Excluded(std::vector<int64_t> sources) {
  SubscriberOverride o;
  o.excluded = true;
  o.sources = std::move(sources);
  return o;
}

TEST(ProjectorSpecialRequestTest, OverrideForNobodyInTheExportChangesNothing) {
  ProjectionSpec spec = Spec({"subscriber_id", "name", "phone"});
  spec.masks = {{"phone", Mask::kLast4}};
  Outcome plain = Project(spec, kThree);
  ASSERT_TRUE(plain.result.ok()) << plain.result.message();
  spec.overrides["S9"] = Excluded({4});
  Outcome run = Project(spec, kThree);
  ASSERT_TRUE(run.result.ok()) << run.result.message();
  EXPECT_EQ(run.out, plain.out);
  EXPECT_EQ(run.seen, plain.seen);
  EXPECT_EQ(run.result->records, 3);
  EXPECT_EQ(run.result->excluded, 0);
  EXPECT_TRUE(run.result->applied_overrides.empty());
}

TEST(ProjectorSpecialRequestTest, ExcludedSubscriberIsLeftOutOthersAreByteIdentical) {
  ProjectionSpec spec = Spec({"subscriber_id", "name", "phone"});
  spec.masks = {{"phone", Mask::kLast4}};
  Outcome plain = Project(spec, kThree);
  ASSERT_TRUE(plain.result.ok()) << plain.result.message();
  const std::string s2_row = "S2,髙橋　花子,********2222\r\n";
  const size_t at = plain.out.find(s2_row);
  ASSERT_NE(at, std::string::npos);
  std::string expected = plain.out;
  expected.erase(at, s2_row.size());

  spec.overrides["S2"] = Excluded({11});
  Outcome run = Project(spec, kThree);
  ASSERT_TRUE(run.result.ok()) << run.result.message();
  EXPECT_EQ(run.out, expected);
  EXPECT_EQ(run.seen, (std::vector<std::string>{"S1", "S3"}));
  EXPECT_EQ(run.result->records, 2);
  EXPECT_EQ(run.result->excluded, 1);
  EXPECT_EQ(run.result->applied_overrides, std::vector<int64_t>{11});
  // A dry run counts the same.
  run = Project(spec, kThree, /*dry_run=*/true);
  ASSERT_TRUE(run.result.ok()) << run.result.message();
  EXPECT_EQ(run.result->records, 2);
  EXPECT_EQ(run.result->excluded, 1);
}

TEST(ProjectorSpecialRequestTest, WithheldFieldIsEmptyForThatSubscriberOnly) {
  ProjectionSpec spec = Spec({"subscriber_id", "phone", "name"});
  spec.masks = {{"phone", Mask::kLast4}};
  spec.overrides["S2"].withheld = {"phone"};  // masked, still withheld
  spec.overrides["S2"].sources = {3};
  Outcome run = Project(spec, kThree);
  ASSERT_TRUE(run.result.ok()) << run.result.message();
  EXPECT_EQ(run.out, Csv({"subscriber_id,phone,name", "S1,********4567,山田　太郎",
                          "S2,,髙橋　花子", "S3,********4444,佐藤　一郎"}));
  EXPECT_EQ(run.seen, (std::vector<std::string>{"S1", "S2", "S3"}));
  EXPECT_EQ(run.result->records, 3);
  EXPECT_EQ(run.result->applied_overrides, std::vector<int64_t>{3});
  // The summary's withheld_fields is about the export, not a subscriber.
  EXPECT_EQ(run.result->withheld_fields, (std::vector<std::string>{"birth_date", "house_drawing"}));
}

TEST(ProjectorSpecialRequestTest, WithheldSubscriberIdStillReachesTheCallbackRaw) {
  ProjectionSpec spec = Spec({"subscriber_id", "name"});
  spec.overrides["S1"].withheld = {"subscriber_id", "address"};  // address: not sent anyway
  Outcome run = Project(spec, kThree);
  ASSERT_TRUE(run.result.ok()) << run.result.message();
  EXPECT_EQ(run.out, Csv({"subscriber_id,name", ",山田　太郎", "S2,髙橋　花子", "S3,佐藤　一郎"}));
  EXPECT_EQ(run.seen, (std::vector<std::string>{"S1", "S2", "S3"}));
}

TEST(ProjectorSpecialRequestTest, ExtendedFieldIsFilledRawForThatSubscriberOnly) {
  ProjectionSpec spec = Spec({"subscriber_id", "name"});
  spec.extra_fields = {"birth_date", "phone"};
  // Masks never apply to extra fields: the subscriber consented to the raw value.
  spec.masks = {{"birth_date", Mask::kYear}, {"phone", Mask::kRedact}};
  spec.overrides["S2"].extended = {"birth_date", "phone"};
  spec.overrides["S3"].extended = {"phone"};
  Outcome run = Project(spec, kThree);
  ASSERT_TRUE(run.result.ok()) << run.result.message();
  EXPECT_EQ(run.out, Csv({"subscriber_id,name,birth_date,phone", "S1,山田　太郎,,",
                          "S2,髙橋　花子,1975-01-02,06-1111-2222", "S3,佐藤　一郎,,03-3333-4444"}));
  EXPECT_EQ(run.result->withheld_fields, std::vector<std::string>{"house_drawing"});
  EXPECT_TRUE(run.result->applied_overrides.empty());  // no sources given
}

TEST(ProjectorSpecialRequestTest, WithholdingWinsOverExtending) {
  ProjectionSpec spec = Spec({"subscriber_id"});
  spec.extra_fields = {"phone"};
  spec.overrides["S1"].extended = {"phone"};
  spec.overrides["S1"].withheld = {"phone"};
  Outcome run = Project(spec, kThree);
  ASSERT_TRUE(run.result.ok()) << run.result.message();
  EXPECT_EQ(run.out, std::string(kBom) + "subscriber_id,phone\r\nS1,\r\nS2,\r\nS3,\r\n");
}

TEST(ProjectorSpecialRequestTest, WithheldHouseDrawingIsNotHandedToTheCallback) {
  ProjectionSpec spec = Spec({"subscriber_id", "house_drawing"});
  spec.overrides["S2"].withheld = {"house_drawing"};
  DrawingOutcome run = ProjectWithDrawings(spec, kThree);
  ASSERT_TRUE(run.result.ok()) << run.result.message();
  EXPECT_EQ(run.seen, (std::vector<std::pair<std::string, std::string>>{
                          {"S1", "S1.pdf"}, {"S2", ""}, {"S3", "S3.pdf"}}));
  EXPECT_EQ(run.out,
            std::string(kBom) + "subscriber_id,house_drawing\r\nS1,S1.pdf\r\nS2,\r\nS3,S3.pdf\r\n");
}

TEST(ProjectorSpecialRequestTest, ExtendedHouseDrawingIsHandedToTheCallback) {
  ProjectionSpec spec = Spec({"subscriber_id"});
  spec.extra_fields = {"house_drawing"};
  spec.masks = {{"house_drawing", Mask::kRedact}};  // not applied to an extra field
  spec.overrides["S3"].extended = {"house_drawing"};
  spec.overrides["S1"] = Excluded({2});
  DrawingOutcome run = ProjectWithDrawings(spec, kThree);
  ASSERT_TRUE(run.result.ok()) << run.result.message();
  EXPECT_EQ(run.seen,
            (std::vector<std::pair<std::string, std::string>>{{"S2", ""}, {"S3", "S3.pdf"}}));
  EXPECT_EQ(run.out, std::string(kBom) + "subscriber_id,house_drawing\r\nS2,\r\nS3,S3.pdf\r\n");
}

TEST(ProjectorSpecialRequestTest, SummaryCountsAndAppliedOverrides) {
  ProjectionSpec spec = Spec({"subscriber_id"});
  spec.extra_fields = {"phone"};
  spec.overrides["S1"] = Excluded({9, 3});
  spec.overrides["S3"].extended = {"phone"};
  spec.overrides["S3"].sources = {5, 3};
  spec.overrides["S7"] = Excluded({1});  // not in the export
  Outcome run = Project(spec, kThree);
  ASSERT_TRUE(run.result.ok()) << run.result.message();
  EXPECT_EQ(run.result->records, 2);
  EXPECT_EQ(run.result->excluded, 1);
  EXPECT_EQ(run.result->applied_overrides, (std::vector<int64_t>{3, 5, 9}));
  EXPECT_EQ(run.seen, (std::vector<std::string>{"S2", "S3"}));
  EXPECT_EQ(run.result->withheld_fields,
            (std::vector<std::string>{"name", "birth_date", "house_drawing"}));
}

TEST(ProjectorSpecialRequestTest, ExtraFieldMissingFromTheExport) {
  ProjectionSpec spec = Spec({"subscriber_id", "name"});
  spec.extra_fields = {"address"};
  EXPECT_EQ(ErrorOf(spec, kThree),
            "export.csv:1: column address extended by a special request (policy 6(1)) is "
            "missing");
}

TEST(ProjectorSpecialRequestTest, BadExtraFieldsAndOverridesAreRefused) {
  ProjectionSpec spec = Spec({"subscriber_id", "name"});
  spec.extra_fields = {"foo"};
  EXPECT_EQ(ErrorOf(spec, kThree), "extra field foo is not a catalog field id (policy 1)");
  spec.extra_fields = {"氏名"};  // a label, not an id
  EXPECT_EQ(ErrorOf(spec, kThree), "extra field 氏名 is not a catalog field id (policy 1)");
  spec.extra_fields = {"name"};
  EXPECT_EQ(ErrorOf(spec, kThree), "extra field name is also one of the profile's fields");
  spec.extra_fields = {"phone", "phone"};
  EXPECT_EQ(ErrorOf(spec, kThree), "extra field phone is given twice");

  spec.extra_fields = {"phone"};
  spec.overrides["S1"].extended = {"birth_date"};
  spec.overrides["S1"].sources = {4, 8};
  EXPECT_EQ(ErrorOf(spec, kThree),
            "special requests 4, 8 extends birth_date, which is not one of the spec's extra "
            "fields");
  spec.overrides["S1"].extended = {"phone"};
  spec.overrides["S1"].withheld = {"phnoe"};
  EXPECT_EQ(ErrorOf(spec, kThree),
            "special requests 4, 8 withholds phnoe, not a catalog field id (policy 1)");
}

TEST(ProjectorSpecialRequestTest, Cp932InAndOutWithExtraFields) {
  const std::string input = ToCp932(
      "加入者番号,氏名,口座名義\r\n"
      "S1,髙橋　①郎,ﾀｶﾊｼ ｲﾁﾛｳ\r\n"
      "S2,山﨑～－,ﾔﾏｻﾞｷ\r\n");
  ProjectionSpec spec = Spec({"subscriber_id"});
  spec.extra_fields = {"name", "account_holder"};
  spec.output_encoding = Encoding::kCp932;
  spec.overrides["S2"].extended = {"name", "account_holder"};
  spec.overrides["S1"].extended = {"account_holder"};
  Outcome run = Project(spec, input);
  ASSERT_TRUE(run.result.ok()) << run.result.message();
  EXPECT_EQ(run.result->input_encoding, Encoding::kCp932);
  EXPECT_EQ(run.out, "subscriber_id,name,account_holder\r\n" +
                         ToCp932("S1,,ﾀｶﾊｼ ｲﾁﾛｳ\r\nS2,山﨑～－,ﾔﾏｻﾞｷ\r\n"));
}

TEST(ProjectorSpecialRequestTest, ExtendedCharacterWithoutCp932EncodingIsAnError) {
  ProjectionSpec spec = Spec({"subscriber_id"});
  spec.extra_fields = {"name"};
  spec.output_encoding = Encoding::kCp932;
  const std::string input = "subscriber_id,name\r\nS1,吉田\r\nS2,𠮷田\r\n";
  Outcome run = Project(spec, input);  // nobody extends name: 𠮷 never needs encoding
  ASSERT_TRUE(run.result.ok()) << run.result.message();
  EXPECT_EQ(run.out, "subscriber_id,name\r\nS1,\r\nS2,\r\n");
  spec.overrides["S2"].extended = {"name"};
  EXPECT_EQ(ErrorOf(spec, input),
            "export.csv:3: column 2 (name): a character has no CP932 encoding");
}

// ---- per-record facts (policy 5: what each subscriber's row carried)

struct Fact {
  std::string subscriber_id;
  std::string house_drawing;
  uint64_t carried;
  bool operator==(const Fact&) const = default;
};

std::ostream& operator<<(std::ostream& os, const Fact& f) {
  return os << "{" << f.subscriber_id << ", " << f.house_drawing << ", " << f.carried << "}";
}

struct FactsOutcome {
  Result<ProjectionSummary> result = Result<ProjectionSummary>::Error("not run");
  std::string out;
  std::vector<Fact> seen;
};

FactsOutcome ProjectWithFacts(const ProjectionSpec& spec, const std::string& input) {
  FactsOutcome run;
  std::istringstream in(input);
  std::ostringstream out;
  run.result = policies::Project(spec, in, "export.csv", &out, [&](const RecordFacts& f) {
    run.seen.push_back({std::string(f.subscriber_id), std::string(f.house_drawing), f.carried});
    return Status::Ok();
  });
  run.out = out.str();
  return run;
}

const std::string kThreeOneWithoutDrawing =
    "subscriber_id,name,birth_date,phone,house_drawing\r\n"
    "S1,山田　太郎,1980-05-12,079-123-4567,S1.pdf\r\n"
    "S2,髙橋　花子,1975-01-02,06-1111-2222,S2.pdf\r\n"
    "S3,佐藤　一郎,1990-12-31,03-3333-4444,\r\n";

TEST(ProjectorFactsTest, CarriedBitsFollowWithheldExtendedAndEmptyCells) {
  // Output columns: 0 subscriber_id, 1 name, 2 phone, 3 house_drawing, 4 birth_date (extra).
  ProjectionSpec spec = Spec({"subscriber_id", "name", "phone", "house_drawing"});
  spec.masks = {{"phone", Mask::kLast4}};  // masked, non-empty: carried
  spec.extra_fields = {"birth_date"};
  spec.overrides["S1"].withheld = {"phone"};
  spec.overrides["S2"].extended = {"birth_date"};
  FactsOutcome run = ProjectWithFacts(spec, kThreeOneWithoutDrawing);
  ASSERT_TRUE(run.result.ok()) << run.result.message();
  EXPECT_EQ(run.out,
            Csv({"subscriber_id,name,phone,house_drawing,birth_date", "S1,山田　太郎,,S1.pdf,",
                 "S2,髙橋　花子,********2222,S2.pdf,1975-01-02", "S3,佐藤　一郎,********4444,,"}));
  EXPECT_EQ(run.seen, (std::vector<Fact>{{"S1", "S1.pdf", 0b01011},  // phone withheld
                                         {"S2", "S2.pdf", 0b11111},  // birth_date extended
                                         {"S3", "", 0b00111}}));     // no drawing, not extended
}

TEST(ProjectorFactsTest, RedactedValueIsNotCarriedPseudonymIs) {
  ProjectionSpec spec = Spec({"subscriber_id", "name", "birth_date"});
  spec.masks = {
      {"subscriber_id", Mask::kPseudonym}, {"name", Mask::kRedact}, {"birth_date", Mask::kYear}};
  spec.pseudonym_key = "k3y";
  FactsOutcome run = ProjectWithFacts(spec, kThree);
  ASSERT_TRUE(run.result.ok()) << run.result.message();
  // The facts name the subscriber, never the pseudonym; a drawing that does
  // not go out is not handed over.
  EXPECT_EQ(run.seen, (std::vector<Fact>{{"S1", "", 0b101}, {"S2", "", 0b101}, {"S3", "", 0b101}}));
}

TEST(ProjectorFactsTest, WithheldHouseDrawingIsNeitherCarriedNorHandedOver) {
  ProjectionSpec spec = Spec({"subscriber_id", "house_drawing"});
  spec.overrides["S2"].withheld = {"house_drawing"};
  spec.overrides["S3"] = Excluded({6});
  FactsOutcome run = ProjectWithFacts(spec, kThree);
  ASSERT_TRUE(run.result.ok()) << run.result.message();
  EXPECT_EQ(run.seen, (std::vector<Fact>{{"S1", "S1.pdf", 0b11}, {"S2", "", 0b01}}));
}

TEST(ProjectorFactsTest, AtMost63OutputColumns) {
  ProjectionSpec spec = Spec(std::vector<std::string>(60, "name"));
  spec.extra_fields = std::vector<std::string>(4, "phone");
  EXPECT_EQ(ErrorOf(spec, kThree), "a profile may send at most 63 columns");
}

// ---- subscriber ids: normalised, checked against the configured pattern

const std::string kSpelledFourWays =
    "subscriber_id,name\r\n"
    "S90001 ,a\r\n"
    " S90001,b\r\n"
    "Ｓ90001,c\r\n"
    "\u3000Ｓ９０００２\u3000,d\r\n";

TEST(ProjectorSubscriberIdTest, IdsAreWrittenAndReportedNormalised) {
  Outcome run = Project(Spec({"subscriber_id", "name"}), kSpelledFourWays);
  ASSERT_TRUE(run.result.ok()) << run.result.message();
  EXPECT_EQ(run.out, Csv({"subscriber_id,name", "S90001,a", "S90001,b", "S90001,c", "S90002,d"}));
  EXPECT_EQ(run.seen, (std::vector<std::string>{"S90001", "S90001", "S90001", "S90002"}));
}

TEST(ProjectorSubscriberIdTest, ExclusionMatchesEverySpellingOfTheId) {
  ProjectionSpec spec = Spec({"subscriber_id", "name"});
  spec.overrides["S90001"] = Excluded({7});
  Outcome run = Project(spec, kSpelledFourWays);
  ASSERT_TRUE(run.result.ok()) << run.result.message();
  EXPECT_EQ(run.out, Csv({"subscriber_id,name", "S90002,d"}));
  EXPECT_EQ(run.seen, std::vector<std::string>{"S90002"});
  EXPECT_EQ(run.result->records, 1);
  EXPECT_EQ(run.result->excluded, 3);
  EXPECT_EQ(run.result->applied_overrides, std::vector<int64_t>{7});
}

TEST(ProjectorSubscriberIdTest, PseudonymIsOfTheNormalisedId) {
  ProjectionSpec spec = Spec({"subscriber_id"});
  spec.masks = {{"subscriber_id", Mask::kPseudonym}};
  spec.pseudonym_key = "k3y";
  Outcome plain = Project(spec, "subscriber_id\r\nS90001\r\n");
  Outcome spaced = Project(spec, "subscriber_id\r\nＳ90001 \r\n");
  ASSERT_TRUE(plain.result.ok()) << plain.result.message();
  ASSERT_TRUE(spaced.result.ok()) << spaced.result.message();
  EXPECT_EQ(spaced.out, plain.out);
}

TEST(ProjectorSubscriberIdTest, Cp932FullWidthIdIsNormalised) {
  Outcome run =
      Project(Spec({"subscriber_id", "name"}), ToCp932("加入者番号,氏名\r\nＳ１,山田\r\n"));
  ASSERT_TRUE(run.result.ok()) << run.result.message();
  EXPECT_EQ(run.out, Csv({"subscriber_id,name", "S1,山田"}));
}

TEST(ProjectorSubscriberIdTest, IdOutsideTheConfiguredPatternIsRefusedWithoutTheValue) {
  ProjectionSpec spec = Spec({"subscriber_id", "name"});
  spec.subscriber_id_pattern = SubscriberIdPattern::Compile("S[0-9]{5}").value();
  const std::string input = "subscriber_id,name\r\nS90001,a\r\ns90002,b\r\n";
  std::string err = ErrorOf(spec, input);
  EXPECT_EQ(err, "export.csv:3: subscriber id does not match the configured pattern S[0-9]{5}");
  EXPECT_EQ(err.find("s90002"), std::string::npos);
  // A typed letter O for a zero, in an excluded record: still refused.
  spec.overrides["S9OO12"] = Excluded({1});
  EXPECT_EQ(ErrorOf(spec, "subscriber_id,name\r\nS9OO12,a\r\n"),
            "export.csv:2: subscriber id does not match the configured pattern S[0-9]{5}");
}

TEST(ProjectorSubscriberIdTest, ShiftedColumnIsRefusedByTheDefaultPattern) {
  // The name where the id should be: refused, and the name is not repeated.
  std::string err =
      ErrorOf(Spec({"subscriber_id"}), "subscriber_id,name\r\nS1,a\r\n山田　太郎,S2\r\n");
  EXPECT_EQ(err,
            "export.csv:3: subscriber id does not match the configured pattern "
            "[A-Za-z0-9][A-Za-z0-9_-]{0,63}");
}

TEST(ProjectorSubscriberIdTest, IdOfSpacesOnlyIsEmpty) {
  EXPECT_EQ(ErrorOf(Spec({"subscriber_id"}), "subscriber_id,name\r\n\u3000 ,x\r\n"),
            "export.csv:2: column 1 (subscriber_id): empty subscriber_id (needed to record who "
            "received what, policy 5)");
}

}  // namespace
}  // namespace itaku::policies
