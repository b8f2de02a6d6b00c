#include "contracts/profile_toml.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <string>
#include <vector>

namespace itaku::contracts {
namespace {

const char* const kGood = R"(id = "agency-billing"
contractor = "agency-a"
purpose = "billing"
fields = ["subscriber_id", "name", "address", "phone", "account_number", "account_holder", "services"]
transports = ["media", "sftp"]
valid_from = 2026-04-01        # TOML local date
valid_until = "2027-03-31"     # or a string
retention_days = 60
[output]
format = "csv"
encoding = "cp932"
[masks]
phone = "last4"
)";

// kGood with the line starting `key =` (or `[table]`) replaced by `line`
// (dropped when `line` is empty).
std::string With(const std::string& key, const std::string& line) {
  std::string text = kGood;
  const std::string start = key + " =";
  std::size_t at = text.rfind("\n" + start) == std::string::npos
                       ? (text.rfind(start, 0) == 0 ? 0 : std::string::npos)
                       : text.rfind("\n" + start) + 1;
  EXPECT_NE(at, std::string::npos) << key;
  std::size_t end = text.find('\n', at);
  text.replace(at, end - at + 1, line.empty() ? "" : line + "\n");
  return text;
}

std::string ErrorOf(const std::string& text) {
  auto profile = ParseProfileToml(text, "billing.toml");
  EXPECT_FALSE(profile.ok());
  return profile.message();
}

// {key, the line that replaces it in kGood, what the parser then says}
using Case = std::array<std::string, 3>;
void ExpectErrors(const std::vector<Case>& cases) {
  for (const auto& [key, line, error] : cases) {
    EXPECT_EQ(ErrorOf(With(key, line)), "billing.toml: " + error) << line;
  }
}

// kGood without its [output] and [masks] tables, then `tail`.
std::string WithoutTables(const std::string& tail) {
  const std::string text = kGood;
  return text.substr(0, text.find("[output]")) + tail;
}

TEST(ParseProfileTomlTest, ReadsEveryKey) {
  auto profile = ParseProfileToml(kGood, "billing.toml");
  ASSERT_TRUE(profile.ok()) << profile.message();
  EXPECT_EQ(profile->id, "agency-billing");
  EXPECT_EQ(profile->version, 0);
  EXPECT_EQ(profile->contractor_id, "agency-a");
  EXPECT_EQ(profile->purpose, "billing");
  EXPECT_EQ(profile->fields,
            (std::vector<std::string>{"subscriber_id", "name", "address", "phone", "account_number",
                                      "account_holder", "services"}));
  EXPECT_EQ(profile->transports, (std::vector<std::string>{"media", "sftp"}));
  EXPECT_EQ(FormatDate(profile->valid_from), "2026-04-01");
  EXPECT_EQ(FormatDate(profile->valid_until), "2027-03-31");
  EXPECT_EQ(profile->retention_days, 60);
  EXPECT_EQ(profile->output_format, "csv");
  EXPECT_EQ(profile->output_encoding, "cp932");
  EXPECT_EQ(profile->masks, (std::map<std::string, std::string>{{"phone", "last4"}}));
  EXPECT_EQ(profile->source, kGood);
  EXPECT_EQ(profile->source_sha256.size(), 64u);
  EXPECT_EQ(profile->source_sha256.find_first_not_of("0123456789abcdef"), std::string::npos);
  EXPECT_TRUE(profile->imported_by.empty());
}

TEST(ParseProfileTomlTest, HashesTheSourceText) {
  // Computed with `sha256sum` over kGood.
  EXPECT_EQ(ParseProfileToml(kGood, "billing.toml")->source_sha256,
            "fa67326d14f086bd943b7f6a5228034c09f95fa31cda3b0231885f3e7ab9c1a6");
  // Any byte counts, comments included: a new text is a new version.
  auto commented = ParseProfileToml(std::string(kGood) + "# reviewed\n", "billing.toml");
  ASSERT_TRUE(commented.ok()) << commented.message();
  EXPECT_NE(commented->source_sha256, ParseProfileToml(kGood, "billing.toml")->source_sha256);
}

TEST(ParseProfileTomlTest, OutputDefaultsToCsvUtf8AndMasksToNone) {
  auto profile = ParseProfileToml(WithoutTables(""), "billing.toml");
  ASSERT_TRUE(profile.ok()) << profile.message();
  EXPECT_EQ(profile->output_format, "csv");
  EXPECT_EQ(profile->output_encoding, "utf-8");
  EXPECT_TRUE(profile->masks.empty());
}

TEST(ParseProfileTomlTest, SyntaxErrorNamesFileAndLine) {
  std::string message = ErrorOf("id = \"a\"\npurpose = \"billing\n");
  EXPECT_EQ(message.rfind("billing.toml:2: ", 0), 0u) << message;
  EXPECT_EQ(message.find('\n'), std::string::npos) << message;
}

TEST(ParseProfileTomlTest, MissingKeysAreNamed) {
  for (const char* key : {"id", "contractor", "purpose", "fields", "transports", "valid_from",
                          "valid_until", "retention_days"}) {
    EXPECT_EQ(ErrorOf(With(key, "")), "billing.toml: missing key '" + std::string(key) + "'");
  }
}

TEST(ParseProfileTomlTest, MistypedKeysAreNamed) {
  ExpectErrors({
      {"purpose", "purpose = 3", "'purpose' must be a string"},
      {"id", "id = \"\"", "'id' must not be empty"},
      {"fields", "fields = \"name\"", "'fields' must be an array of strings"},
      {"fields", "fields = [\"name\", 2]", "'fields' must be an array of strings"},
      {"transports", "transports = [[\"sftp\"]]", "'transports' must be an array of strings"},
      {"valid_from", "valid_from = 2026-04-01T00:00:00",
       "'valid_from' must be a date (YYYY-MM-DD)"},
      {"valid_until", "valid_until = \"2027-02-30\"", "'valid_until' must be a date (YYYY-MM-DD)"},
      {"retention_days", "retention_days = \"60\"", "'retention_days' must be an integer"},
      {"retention_days", "retention_days = -1", "'retention_days' must not be negative"},
      {"retention_days", "retention_days = 9999999999", "'retention_days' is too large"},
  });
}

TEST(ParseProfileTomlTest, RetentionOfZeroDaysIsAllowed) {
  auto profile = ParseProfileToml(With("retention_days", "retention_days = 0"), "billing.toml");
  ASSERT_TRUE(profile.ok()) << profile.message();
  EXPECT_EQ(profile->retention_days, 0);
}

TEST(ParseProfileTomlTest, OutputIsCsvInUtf8OrCp932) {
  ExpectErrors({
      {"format", "format = \"xlsx\"", "'output.format' must be \"csv\" (got \"xlsx\")"},
      {"encoding", "encoding = \"shift_jis\"",
       "'output.encoding' must be \"utf-8\" or \"cp932\" (got \"shift_jis\")"},
      {"encoding", "encoding = 932", "'output.encoding' must be a string"},
      {"encoding", "encodng = \"utf-8\"", "unknown key 'output.encodng'"},
  });
  auto utf8 = ParseProfileToml(With("encoding", "encoding = \"utf-8\""), "billing.toml");
  ASSERT_TRUE(utf8.ok()) << utf8.message();
  EXPECT_EQ(utf8->output_encoding, "utf-8");
  EXPECT_EQ(ErrorOf(WithoutTables("output = 1\n")), "billing.toml: 'output' must be a table");
}

TEST(ParseProfileTomlTest, PackageIsTheEncryptedOneUnlessCsvIsAsked) {
  auto plain = ParseProfileToml(kGood, "billing.toml");
  ASSERT_TRUE(plain.ok()) << plain.message();
  EXPECT_EQ(plain->output_package, "p7m");
  auto csv =
      ParseProfileToml(With("encoding", "encoding = \"utf-8\"\npackage = \"csv\""), "billing.toml");
  ASSERT_TRUE(csv.ok()) << csv.message();
  EXPECT_EQ(csv->output_package, "csv");
  EXPECT_EQ(ErrorOf(With("encoding", "encoding = \"utf-8\"\npackage = \"zip\"")),
            "billing.toml: 'output.package' must be \"p7m\" or \"csv\" (got \"zip\")");
}

TEST(ParseProfileTomlTest, TheFormulaGuardIsOnUnlessTurnedOff) {
  auto plain = ParseProfileToml(kGood, "billing.toml");
  ASSERT_TRUE(plain.ok()) << plain.message();
  EXPECT_TRUE(plain->formula_guard);
  EXPECT_TRUE(ParseProfileToml(WithoutTables(""), "billing.toml")->formula_guard);
  auto off = ParseProfileToml(With("encoding", "encoding = \"utf-8\"\nformula_guard = false"),
                              "billing.toml");
  ASSERT_TRUE(off.ok()) << off.message();
  EXPECT_FALSE(off->formula_guard);
  auto on = ParseProfileToml(With("encoding", "encoding = \"utf-8\"\nformula_guard = true"),
                             "billing.toml");
  ASSERT_TRUE(on.ok()) << on.message();
  EXPECT_TRUE(on->formula_guard);
  ExpectErrors({
      {"encoding", "formula_guard = \"no\"", "'output.formula_guard' must be true or false"},
      {"encoding", "formula_guard = 0", "'output.formula_guard' must be true or false"},
  });
}

// The store keeps each version's text, not a column: the guard is read
// back from it.
TEST(ParseProfileTomlTest, TheFormulaGuardIsReadBackFromTheStoredText) {
  const std::string off = With("encoding", "encoding = \"utf-8\"\nformula_guard = false");
  EXPECT_FALSE(FormulaGuardOf(off));
  EXPECT_TRUE(FormulaGuardOf(kGood));
  EXPECT_TRUE(FormulaGuardOf(""));
  EXPECT_TRUE(FormulaGuardOf("[output]\nformula_guard = \"off\"\n"));
  EXPECT_TRUE(FormulaGuardOf("not toml [["));
  // A [masks] key of that name is no guard.
  EXPECT_TRUE(FormulaGuardOf("formula_guard = false\n[masks]\nformula_guard = false\n"));
}

// Regression: a 200 MB TOML took 630 MB of memory before it was refused.
TEST(ParseProfileTomlTest, TextOverOneMebibyteIsRefusedUnparsed) {
  std::string text = kGood;
  text += "# " + std::string(kMaxProfileBytes - text.size() - 3, 'x') + "\n";
  ASSERT_EQ(text.size(), kMaxProfileBytes);
  EXPECT_TRUE(ParseProfileToml(text, "billing.toml").ok());
  text += "\n";
  EXPECT_EQ(ErrorOf(text), "billing.toml: larger than 1 MiB; a profile is a few kilobytes");
  // Refused by its size, before the parser could say anything else.
  EXPECT_EQ(ErrorOf(std::string(kMaxProfileBytes + 1, '[')),
            "billing.toml: larger than 1 MiB; a profile is a few kilobytes");
}

// ops/fuzz found toml++ 3.3 reaching TOML_UNREACHABLE (undefined behaviour)
// asking whether U+FEFB (crash-6a0df6ac: "\xEF\xBB\xBBU\"cs") or U+029A
// (crash-0f8eddeb: "[[\xCA\x9A") outside a string is white space.
TEST(ParseProfileTomlTest, NonAsciiOutsideStringsIsRefusedBeforeTheParserSeesIt) {
  const std::string msg = ": only ASCII may stand outside comments (a profile's keys and values are ids)";
  EXPECT_EQ(ErrorOf("\xEF\xBB\xBBU\"cs"), "billing.toml:1" + msg);
  EXPECT_EQ(ErrorOf("[[\xCA\x9A"), "billing.toml:1" + msg);
  const std::string good = kGood;
  const auto lines = std::count(good.begin(), good.end(), '\n');
  EXPECT_EQ(ErrorOf(good + "x = 1 \xE3\x81\x9F\n"),  // た after a value
            "billing.toml:" + std::to_string(lines + 1) + msg);
  // Japanese in comments and in every kind of string is text, not code.
  for (const std::string& tail :
       {std::string("# \xE5\x8F\x8E\xE7\xB4\x8D\xE3\x81\xAE\xE3\x81\x9F\xE3\x82\x81 \"'\n"),
        std::string("[extra]\nb = \"\xE3\x81\x9F\\\"\xE3\x81\x9F\"\nl = '\xE3\x81\x9F'\n"),
        std::string("[extra]\nm = \"\"\"\n\xE3\x81\x9F\\\n\xE3\x81\x9F\"\"\"\"\n"
                    "n = '''\xE3\x81\x9F''''\n")}) {
    EXPECT_EQ(TomlLineOfNonAsciiOutsideText(good + tail), 0) << tail;
  }
  // crash-1cd210fc: toml++ scans a bad bare word on through quotes, so a
  // quote opens a string only where a key or value may start.
  EXPECT_EQ(ErrorOf("id = \"a\"\nfields = [\"name\", 315pho\x01n'''BB\xC6\xBD'''\n"),
            "billing.toml:2" + msg);
  EXPECT_EQ(TomlLineOfNonAsciiOutsideText("a = x\"\xC2\xA1\""), 1);
  EXPECT_EQ(TomlLineOfNonAsciiOutsideText("a = \"x\"\"\xC2\xA1\""), 1);
  EXPECT_EQ(TomlLineOfNonAsciiOutsideText(
                "a = [\"\xC2\xA1\", '\xC2\xA1']\nb.\"\xC2\xA1\" = {c = \"\xC2\xA1\"}"),
            0);
  // crash-7e42007b: toml++ asks whether the character after a backslash in
  // a basic string is white space.
  EXPECT_EQ(TomlLineOfNonAsciiOutsideText("a = \"\"\"x\\\\\\\xEF\xBB\x85 y\"\"\""), 1);
  EXPECT_EQ(TomlLineOfNonAsciiOutsideText("a = 1\nb = \"x\\\xC2\xA1\""), 2);
  EXPECT_EQ(TomlLineOfNonAsciiOutsideText("a = \"x\\\\\xC2\xA1\""), 0);
  // crash-29f7b81e: a bad bare word runs on through `[` and a quote too, so a
  // profile (whose values are ids) holds non-ASCII in comments only.
  EXPECT_EQ(ErrorOf("a = +0xA+urpg=+[\"subafte\xEF\xBA\xBF\", 1]"), "billing.toml:1" + msg);
  EXPECT_EQ(ErrorOf(good + "x = \"\xE6\xBC\xA2\"\n"), "billing.toml:" + std::to_string(lines + 1) + msg);
  EXPECT_EQ(TomlLineOfNonAsciiOutsideText("a = \"\xE6\xBC\xA2\" # \xE6\xBC\xA2", true), 1);
  EXPECT_EQ(TomlLineOfNonAsciiOutsideText("a = 1 # \xE6\xBC\xA2\xE3\x81\x9F", true), 0);
  // After a multi-line string closes (with its extra quotes), code again.
  EXPECT_EQ(TomlLineOfNonAsciiOutsideText("a = \"\"\"x\"\"\"\"\"\xC2\xA1"), 1);
  EXPECT_EQ(TomlLineOfNonAsciiOutsideText("a = 'x'\n\xC2\xA1"), 2);
  // Never parsed, so the guard errs on.
  EXPECT_TRUE(FormulaGuardOf("[output]\nformula_guard = false\n\xEF\xBB\xBB"));
}

TEST(ParseProfileTomlTest, MasksMustMapFieldsToNames) {
  EXPECT_EQ(ErrorOf(With("phone", "phone = 4")), "billing.toml: 'masks.phone' must be a string");
  EXPECT_EQ(ErrorOf(WithoutTables("masks = [\"phone\"]\n")),
            "billing.toml: 'masks' must be a table");
}

TEST(ParseProfileTomlTest, UnknownTopLevelKeysAreNotIgnored) {
  EXPECT_EQ(ErrorOf(With("purpose", "purpos = \"billing\"")), "billing.toml: unknown key 'purpos'");
  std::string text = kGood;
  text += "[mask]\nphone = \"last4\"\n";
  EXPECT_EQ(ErrorOf(text), "billing.toml: unknown key 'mask'");
}

}  // namespace
}  // namespace itaku::contracts
