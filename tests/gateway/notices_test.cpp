#include "gateway/notices.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <map>
#include <string>

#include "tests/transports/test_util.h"

namespace itaku::gateway {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using transports::test_util::ReadFile;
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

TEST(NoticeLetterTest, WritesRecipientBlockDateAndBody) {
  TempDir dir;
  auto r = RenderBuiltIn("outcome", kOutcomeValues);
  ASSERT_TRUE(r.ok()) << r.message();
  const std::string path = dir / "letter.txt";
  Status s = WriteLetter(path, "6712103", "兵庫県姫路市夢前町前之庄1番地", "山田 太郎",
                         "2026年11月28日", *r);
  ASSERT_TRUE(s.ok()) << s.message();
  const std::string letter = ReadFile(path);
  EXPECT_EQ(
      letter.rfind("〒671-2103\n兵庫県姫路市夢前町前之庄1番地\n山田 太郎 様\n\n2026年11月28日\n\n"
                   "個人情報の取扱いに関するお申し出への対応結果のお知らせ\n\n山田 太郎 様\n",
                   0),
      0u)
      << letter;
  EXPECT_THAT(letter, HasSubstr("対応の結果：対応いたしました\n"));
  EXPECT_FALSE(std::filesystem::exists(path + ".tmp"));
}

TEST(NoticeLetterTest, UnwritableFolderIsAnErrorAndLeavesNothing) {
  TempDir dir;
  const std::string path = dir / "missing/letter.txt";
  Status s = WriteLetter(path, "", "住所", "山田 太郎 様", "2026年11月28日", {"件名", "本文"});
  ASSERT_FALSE(s.ok());
  EXPECT_THAT(s.message(), HasSubstr("letter " + path + ": cannot create a temporary file in " +
                                     (dir / "missing/") + ": "));
  EXPECT_THAT(s.message(), Not(HasSubstr("山田")));
  EXPECT_FALSE(std::filesystem::exists(path));
}

}  // namespace
}  // namespace itaku::gateway
