// The console's request parsing and HTML rendering, without sockets.
#include <gtest/gtest.h>

#include "gateway/console/console_impl.h"
#include "gateway/console/web.h"

namespace itaku::gateway::console {
namespace {

TEST(ConsoleWebTest, UrlEncodedFormsDecodePlusPercentAndJapanese) {
  auto form = ParseUrlEncoded("name=%E4%BC%8A%E8%97%A4+%E8%8A%B1%E5%AD%90&a=1&a=2&empty=&bad=%zz&");
  EXPECT_EQ(form.find("name")->second, "伊藤 花子");
  EXPECT_EQ(form.count("a"), 2u);
  EXPECT_EQ(form.find("empty")->second, "");
  EXPECT_EQ(form.find("bad")->second, "%zz");  // kept as it is, not guessed
  WebRequest r;
  r.form = form;
  EXPECT_EQ(r.Form("a"), "1");
  EXPECT_EQ(r.FormAll("a"), (std::vector<std::string>{"1", "2"}));
  EXPECT_EQ(r.Form("missing"), "");
  EXPECT_EQ(PercentDecode("/contractors/agency%2Da", false), "/contractors/agency-a");
  EXPECT_EQ(PercentDecode("a+b", false), "a+b");
  EXPECT_EQ(PercentDecode("%4", false), "%4");
}

TEST(ConsoleWebTest, UrlEncodeKeepsUnreservedOnly) {
  EXPECT_EQ(PercentEncode("agency-a_1.~"), "agency-a_1.~");
  EXPECT_EQ(PercentEncode("a b&c=/"), "a%20b%26c%3D%2F");
  EXPECT_EQ(PercentDecode(PercentEncode("提供しました。"), true), "提供しました。");
}

TEST(ConsoleWebTest, CookiesSplitOnSemicolons) {
  auto c = ParseCookies("__Host-itaku=abc; __Host-itaku-pre=def;x=1");
  EXPECT_EQ(c["__Host-itaku"], "abc");
  EXPECT_EQ(c["__Host-itaku-pre"], "def");
  EXPECT_EQ(c["x"], "1");
}

TEST(ConsoleWebTest, EscapesEverythingThatCouldOpenMarkup) {
  EXPECT_EQ(HtmlEscape(R"(<a href="x" onclick='y'>&`)"),
            "&lt;a href=&quot;x&quot; onclick=&#39;y&#39;&gt;&amp;&#96;");
}

// A value from the store (a contractor's name, a reason) is never markup.
TEST(ConsoleWebTest, TemplatesEscapeValuesFromCommands) {
  Json view = {
      {"sections",
       Json::array({{{"heading", "<script>alert(1)</script>"},
                     {"sid", "s\" onload=\"x"},
                     {"columns", Json::array({{{"label", "名称"}}})},
                     {"rows", Json::array({{{"cells", Json::array({{{"text", "<img src=x>"},
                                                                    {"href", "javascript:x\"><b"},
                                                                    {"cls", ""}}})}}})},
                     {"has_rows", true},
                     {"table", true},
                     {"empty", ""},
                     {"note", ""},
                     {"pre", ""},
                     {"link", ""},
                     {"link_href", ""}}})},
      {"forms", Json::array()},
      {"intro", ""},
      {"error_text", ""}};
  const std::string html = Render("page", view);
  EXPECT_EQ(html.find("<script>"), std::string::npos) << html;
  EXPECT_EQ(html.find("<img"), std::string::npos);
  EXPECT_EQ(html.find("\" onload="), std::string::npos);
  EXPECT_NE(html.find("&lt;script&gt;alert(1)&lt;/script&gt;"), std::string::npos);
  EXPECT_NE(html.find("<th scope=\"col\">名称</th>"), std::string::npos);
}

TEST(ConsoleWebTest, InstantsAreShownInJst) {
  EXPECT_EQ(Jst("2026-12-02T16:00:00Z"), "2026-12-03 01:00 JST");
  EXPECT_EQ(Jst("2026-12-03T01:00:00+09:00"), "2026-12-03 01:00 JST");
  EXPECT_EQ(Jst("2026-12-03"), "2026-12-03");
}

TEST(ConsoleWebTest, RolesAndStatesInJapanese) {
  EXPECT_EQ(RoleLabel("privacy-officer"), "個人情報保護管理者");
  EXPECT_EQ(RoleLabel("operator"), "担当者");
  EXPECT_EQ(StateLabel("pending"), "承認待ち");
  EXPECT_EQ(StateLabel("something-new"), "something-new");
}

}  // namespace
}  // namespace itaku::gateway::console
