#include "gateway/notices.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <map>
#include <string>

#include "gateway/letters.h"
#include "tests/transports/test_util.h"

namespace itaku::gateway {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using transports::test_util::TempDir;
using transports::test_util::WriteFile;

const std::map<std::string, std::string> kInstructionValues = {
    {"contractor_name", "株式会社ひまわり収納サービス"},
    {"request_id", "CR-2026-0042"},
    {"instruction_text", "午後9時以降の架電による督促を直ちに停止してください。"},
    {"received_on", "2026年11月20日"},
    {"operator_name", "夢前ケーブル株式会社"},
};

const std::map<std::string, std::string> kOutcomeValues = {
    {"subscriber_name", "山田 太郎"},
    {"request_text", "夜遅くの督促電話をやめてほしい"},
    {"received_on", "2026年11月20日"},
    {"contractor_name", "株式会社ひまわり収納サービス"},
    {"outcome", "対応いたしました"},
    {"reason", "委託先に午後9時以降の架電を停止するよう指示し、停止を確認いたしました。"},
    {"operator_name", "夢前ケーブル株式会社"},
};

// The built-in template `name`, rendered with `values`.
Result<NoticeTemplate> RenderBuiltIn(const std::string& name,
                                     const std::map<std::string, std::string>& values) {
  auto t = LoadTemplate(name, "");
  if (!t.ok()) return t.status();
  return RenderTemplate(name, *t, values);
}

TEST(NoticeTemplateTest, BuiltInInstructionRendersEveryPlaceholder) {
  auto r = RenderBuiltIn("instruction", kInstructionValues);
  ASSERT_TRUE(r.ok()) << r.message();
  EXPECT_EQ(r->subject, "【ご指示】個人情報の取扱いの改善について（受付番号 CR-2026-0042）");
  for (const char* part : {"株式会社ひまわり収納サービス 御中\n",
                           "午後9時以降の架電による督促を直ちに停止してください。",
                           "受付日：2026年11月20日", "夢前ケーブル株式会社\n個人情報窓口\n"}) {
    EXPECT_THAT(r->body, HasSubstr(part));
  }
  EXPECT_THAT(r->subject + r->body, Not(HasSubstr("{{")));
  EXPECT_THAT(r->subject + r->body, Not(HasSubstr("}}")));
}

TEST(NoticeTemplateTest, BuiltInOutcomeRendersEveryPlaceholder) {
  auto r = RenderBuiltIn("outcome", kOutcomeValues);
  ASSERT_TRUE(r.ok()) << r.message();
  EXPECT_EQ(r->subject, "個人情報の取扱いに関するお申し出への対応結果のお知らせ");
  for (const char* part : {"山田 太郎 様\n", "2026年11月20日にお申し出いただきました",
                           "対応の結果：対応いたしました\n", "停止を確認いたしました。"}) {
    EXPECT_THAT(r->body, HasSubstr(part));
  }
  EXPECT_THAT(r->subject + r->body, Not(HasSubstr("{{")));
}

TEST(NoticeTemplateTest, BuiltInsNeedEveryDocumentedValue) {
  // Each documented key is used: leaving one out is an error naming it.
  for (const auto& [name, values] :
       {std::pair{"instruction", kInstructionValues}, std::pair{"outcome", kOutcomeValues}}) {
    auto t = LoadTemplate(name, "");
    ASSERT_TRUE(t.ok());
    for (const auto& [key, value] : values) {
      auto fewer = values;
      fewer.erase(key);
      auto r = RenderTemplate(name, *t, fewer);
      ASSERT_FALSE(r.ok()) << name << " does not use " << key;
      EXPECT_THAT(r.message(), HasSubstr("unknown placeholder {{" + key + "}}"));
    }
  }
}

TEST(NoticeTemplateTest, OverrideFileIsUsed) {
  TempDir dir;
  WriteFile(dir / "outcome.txt",
            "件名: 【夢前ケーブル】お申し出の件\r\n\r\n{{ subscriber_name }} "
            "様\r\n結果：{{outcome}}\r\n");
  auto t = LoadTemplate("outcome", dir.path());
  ASSERT_TRUE(t.ok()) << t.message();
  EXPECT_EQ(t->subject, "【夢前ケーブル】お申し出の件");
  auto r = RenderTemplate("outcome", *t, kOutcomeValues);
  ASSERT_TRUE(r.ok()) << r.message();
  EXPECT_EQ(r->body, "山田 太郎 様\n結果：対応いたしました\n");
  // The other template is still the built-in one.
  auto other = LoadTemplate("instruction", dir.path());
  ASSERT_TRUE(other.ok());
  EXPECT_THAT(other->body, HasSubstr("御中"));
}

TEST(NoticeTemplateTest, OverrideAcceptsEnglishSubjectLabelAndBom) {
  TempDir dir;
  WriteFile(dir / "instruction.txt", "\xEF\xBB\xBFSubject: Notice {{request_id}}\n\nBody\n");
  auto t = LoadTemplate("instruction", dir.path());
  ASSERT_TRUE(t.ok()) << t.message();
  EXPECT_EQ(t->subject, "Notice {{request_id}}");
  EXPECT_EQ(t->body, "Body\n");
}

TEST(NoticeTemplateTest, UnknownPlaceholderInOverrideNamesTemplateKeyAndLine) {
  TempDir dir;
  WriteFile(dir / "outcome.txt",
            "件名: 結果のお知らせ\n\n{{subscriber_name}} 様\n\n理由：{{reasn}}\n");
  auto t = LoadTemplate("outcome", dir.path());
  ASSERT_TRUE(t.ok()) << t.message();
  auto r = RenderTemplate("outcome", *t, kOutcomeValues);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.message(), "template \"outcome\": unknown placeholder {{reasn}} in the body, line 3");
}

TEST(NoticeTemplateTest, UnclosedPlaceholderIsAnError) {
  const NoticeTemplate t{"結果 {{outcome", "本文"};
  auto r = RenderTemplate("outcome", t, kOutcomeValues);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.message(), "template \"outcome\": unclosed placeholder \"{{\" in the subject");
}

TEST(NoticeTemplateTest, ValuesAreNotScannedForPlaceholders) {
  auto values = kOutcomeValues;
  values["request_text"] = "{{reason}} と書いてください";
  const NoticeTemplate t{"件名", "{{request_text}}"};
  auto r = RenderTemplate("outcome", t, values);
  ASSERT_TRUE(r.ok()) << r.message();
  EXPECT_EQ(r->body, "{{reason}} と書いてください");
}

TEST(NoticeTemplateTest, MalformedOverrideFileNamesFileAndLine) {
  TempDir dir;
  WriteFile(dir / "outcome.txt", "結果のお知らせ\n\n本文\n");
  auto t = LoadTemplate("outcome", dir.path());
  ASSERT_FALSE(t.ok());
  EXPECT_EQ(t.message(),
            "template " + (dir / "outcome.txt") + ": line 1 must be \"件名: <subject>\"");
  WriteFile(dir / "outcome.txt", "件名: 結果\n本文\n");
  t = LoadTemplate("outcome", dir.path());
  ASSERT_FALSE(t.ok());
  EXPECT_EQ(t.message(), "template " + (dir / "outcome.txt") + ": line 2 must be empty");
}

TEST(NoticeTemplateTest, UnknownOrUnsafeNamesAreRefused) {
  EXPECT_EQ(LoadTemplate("reminder", "").message(),
            "unknown notice template \"reminder\" (built in: instruction, outcome)");
  EXPECT_EQ(LoadTemplate("../outcome", "/tmp").message(),
            "invalid notice template name \"../outcome\"");
}

// The text of a PDF as poppler's pdftotext reads it (-layout), within the
// box x, y, w, h (points from the page's top left) when given.
std::string PdfText(const std::string& path, const std::string& box = "") {
  return transports::test_util::Output("pdftotext -layout " + box + " " + path + " -");
}

OperatorIdentity Operator(bool wareki) {
  OperatorIdentity op;
  op.name = "夢前ケーブル株式会社";
  op.postal_code = "6712103";
  op.address = "兵庫県姫路市夢前町前之庄2番地";
  op.phone = "079-000-0000";
  op.wareki = wareki;
  return op;
}

TEST(NoticeLetterTest, WindowEnvelopeLetterShowsTheAddresseeInTheWindow) {
  TempDir dir;
  auto r = RenderBuiltIn("outcome", kOutcomeValues);
  ASSERT_TRUE(r.ok()) << r.message();
  const std::string path = dir / "letter.pdf";
  const Date day{std::chrono::year{2026}, std::chrono::month{11}, std::chrono::day{28}};
  Status s = WriteLetter(path, {"6712103", "兵庫県姫路市夢前町前之庄1番地", "山田 太郎", "様"},
                         Operator(/*wareki=*/true), day, "受付番号 17", *r);
  ASSERT_TRUE(s.ok()) << s.message();
  const std::string letter = PdfText(path);
  for (const char* expected :
       {"〒671-2103", "兵庫県姫路市夢前町前之庄1番地", "山田 太郎 様", "令和8年11月28日",
        "受付番号 17", "夢前ケーブル株式会社", "〒671-2103 兵庫県姫路市夢前町前之庄2番地",
        "電話 079-000-0000", "個人情報の取扱いに関するお申し出への対応結果のお知らせ",
        "対応の結果：対応いたしました"}) {
    EXPECT_THAT(letter, HasSubstr(expected)) << letter;
  }
  // The window of a 長形3号 envelope (A4 folded in three): about 20-110 mm
  // from the left, 12-57 mm from the top. The addressee shows there, the
  // sender does not.
  const std::string window = PdfText(path, "-f 1 -l 1 -x 57 -y 34 -W 255 -H 128");
  EXPECT_THAT(window, HasSubstr("山田 太郎 様"));
  EXPECT_THAT(window, HasSubstr("〒671-2103"));
  EXPECT_THAT(window, Not(HasSubstr("夢前ケーブル")));
  EXPECT_THAT(window, Not(HasSubstr("079-000-0000")));
  // Every font embedded.
  const std::string fonts = transports::test_util::Output("pdffonts " + path);
  EXPECT_THAT(fonts, HasSubstr("IPAex")) << fonts;
  EXPECT_THAT(fonts, Not(HasSubstr(" no  "))) << fonts;
}

// Postal codes as exports and staff write them reach the window as
// 〒NNN-NNNN; a letter retried replaces the earlier one only once complete.
TEST(NoticeLetterTest, PostalCodesAsWrittenAndRetriesReplaceTheLetter) {
  TempDir dir;
  const std::string path = dir / "letter.pdf";
  const Date day{std::chrono::year{2026}, std::chrono::month{12}, std::chrono::day{2}};
  for (const char* code : {"〒６７０－００１１", "670 0011", "670ｰ0011", "〒670-0011"}) {
    SCOPED_TRACE(code);
    Status s = WriteLetter(path, {code, "兵庫県姫路市1-1", "山田 太郎", "様"}, Operator(false), day,
                           "", {"件名", "本文"});
    ASSERT_TRUE(s.ok()) << s.message();
    EXPECT_THAT(PdfText(path), HasSubstr("〒670-0011"));
  }
  // A retry that fails (no recipient name) leaves the earlier letter whole.
  const std::string before = transports::test_util::ReadFile(path);
  Status failed = WriteLetter(path, {"6700011", "兵庫県姫路市1-1", "", ""}, Operator(false), day,
                              "", {"件名", "本文"});
  EXPECT_FALSE(failed.ok());
  EXPECT_EQ(transports::test_util::ReadFile(path), before);
  EXPECT_EQ(std::distance(std::filesystem::directory_iterator(dir.path()),
                          std::filesystem::directory_iterator()),
            1);
}

TEST(NoticeLetterTest, WesternDateUnlessWarekiIsChosen) {
  const Date day{std::chrono::year{2026}, std::chrono::month{12}, std::chrono::day{2}};
  EXPECT_EQ(JapaneseDate(day, false), "2026年12月2日");
  EXPECT_EQ(JapaneseDate(day, true), "令和8年12月2日");
  EXPECT_EQ(
      JapaneseDate({std::chrono::year{2019}, std::chrono::month{5}, std::chrono::day{1}}, true),
      "令和元年5月1日");
  EXPECT_EQ(
      JapaneseDate({std::chrono::year{2019}, std::chrono::month{4}, std::chrono::day{30}}, true),
      "2019年4月30日");
}

TEST(NoticeLetterTest, PlaceholdersAreNamed) {
  OperatorIdentity op;  // every placeholder
  EXPECT_EQ(
      PlaceholderRefusal(op, "a letter", {"operator_name", "operator_address", "operator_phone"}),
      "a letter needs the operator's own details: set [requests] operator_name, "
      "operator_address, operator_phone in the daemon's config (serve --config)");
  EXPECT_EQ(PlaceholderRefusal(Operator(false), "a letter",
                               {"operator_name", "operator_address", "operator_phone"}),
            "");
  EXPECT_EQ(
      SenderLines(Operator(false)),
      (std::vector<std::string>{"夢前ケーブル株式会社", "〒671-2103 兵庫県姫路市夢前町前之庄2番地",
                                "電話 079-000-0000"}));
}

TEST(NoticeLetterTest, UnwritableFolderIsAnErrorAndLeavesNothing) {
  TempDir dir;
  const std::string path = dir / "missing/letter.pdf";
  Status s = WriteLetter(path, {"", "住所", "山田 太郎", "様"}, Operator(false),
                         {std::chrono::year{2026}, std::chrono::month{11}, std::chrono::day{28}},
                         "", {"件名", "本文"});
  ASSERT_FALSE(s.ok());
  EXPECT_THAT(s.message(), HasSubstr("letter " + path + ": "));
  EXPECT_THAT(s.message(), Not(HasSubstr("山田")));
  EXPECT_FALSE(std::filesystem::exists(path));
}

}  // namespace
}  // namespace itaku::gateway
