#include "transports/document_pdf.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

#include "contracts/base/files.h"
#include "tests/transports/poppler_util.h"
#include "tests/transports/test_util.h"

namespace itaku::transports {
namespace {

using test_util::Output;
using test_util::PageText;
using test_util::PdfFonts;
using test_util::PdfPages;
using test_util::PdfText;
using test_util::Quote;
using test_util::RunCommand;
using test_util::TempDir;
using test_util::WriteFile;

size_t Count(const std::string& text, const std::string& piece) {
  size_t n = 0;
  for (size_t at = text.find(piece); at != std::string::npos; at = text.find(piece, at + 1)) ++n;
  return n;
}

std::vector<std::string> FilesIn(const std::string& dir) {
  std::vector<std::string> names;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    names.push_back(entry.path().filename().string());
  }
  return names;
}

std::string Joined(std::string text) {
  text.erase(std::remove(text.begin(), text.end(), '\n'), text.end());
  return text;
}

const std::vector<PaperColumn> kRegisterColumns = {
    {"番号", 0.7},   {"委託先名", 2},   {"所在地", 3}, {"担当者", 1.2},
    {"委託業務", 2}, {"契約期間", 2.4}, {"備考", 1.5}};

// A 委託先管理台帳 of `rows` contractors, with the characters a Japanese
// register has: 髙 and 﨑 (IBM extensions), ①, ～ (U+FF5E), half-width kana.
Document Register(int rows) {
  Document doc;
  doc.title = "委託先管理台帳";
  doc.subtitle = {"作成日 2026年12月2日", "委託元 株式会社ケーブルネット"};
  doc.head = {"株式会社ケーブルネット", "委託先管理台帳", "社外秘"};
  doc.landscape = true;
  doc.blocks.push_back(DocumentBlock::Heading("委託先一覧"));
  DocumentTable table;
  table.columns = kRegisterColumns;
  for (int i = 1; i <= rows; ++i) {
    char id[16];
    std::snprintf(id, sizeof id, "C-%04d", i);
    table.rows.push_back({id, "株式会社髙﨑ｱｲｳ商事" + std::to_string(i),
                          "東京都千代田区①丁目" + std::to_string(i) + "番",
                          i % 2 == 0 ? "髙橋 﨑子" : "ﾔﾏﾀﾞ ﾀﾛｳ", "設置工事（宅内配線）",
                          "2026年4月1日～2027年3月" + std::to_string(1 + i % 28) + "日",
                          i % 3 == 0 ? "再委託あり" : ""});
  }
  doc.blocks.push_back(DocumentBlock::Table(std::move(table)));
  return doc;
}

class DocumentPdfTest : public ::testing::Test {
 protected:
  TempDir tmp_;
  std::string out_ = tmp_ / "out";
  void SetUp() override { std::filesystem::create_directory(out_); }
};

TEST_F(DocumentPdfTest, RegisterTableRunsOverPagesWithItsHeaderOnEach) {
  const Document doc = Register(120);
  const std::string path = out_ + "/register.pdf";
  auto written = WriteDocumentPdf(doc, path);
  ASSERT_TRUE(written.ok()) << written.message();
  EXPECT_EQ(path, written->path);
  EXPECT_GE(written->pages, 4);
  EXPECT_EQ(written->pages, PdfPages(path));
  EXPECT_EQ(Sha256File(path).value(), written->sha256);
  EXPECT_EQ(std::filesystem::file_size(path), written->size);
  EXPECT_EQ((std::vector<std::string>{"register.pdf"}), FilesIn(out_));
  struct stat st {};
  ASSERT_EQ(0, ::stat(path.c_str(), &st));
  EXPECT_EQ(0600u, st.st_mode & 0777);

  const std::string text = PdfText(path);
  for (const auto& row : doc.blocks[1].table.rows) {
    EXPECT_EQ(1u, Count(text, row[0])) << row[0];  // every row, once
    for (const auto& cell : row) {
      EXPECT_NE(std::string::npos, text.find(cell)) << cell;
    }
  }
  for (const char* piece : {"髙", "﨑", "①", "～", "ｱｲｳ", "ﾔﾏﾀﾞ ﾀﾛｳ"}) {
    EXPECT_NE(std::string::npos, text.find(piece)) << piece;
  }
  const std::string pages = std::to_string(written->pages);
  for (int page = 1; page <= written->pages; ++page) {
    const std::string on_page = PageText(path, page);
    for (const PaperColumn& column : kRegisterColumns) {
      EXPECT_EQ(1u, Count(on_page, column.label)) << page << " " << column.label << "\n" << on_page;
    }
    EXPECT_NE(std::string::npos, on_page.find(std::to_string(page) + " / " + pages)) << on_page;
    EXPECT_NE(std::string::npos, on_page.find("株式会社ケーブルネット")) << on_page;
    EXPECT_NE(std::string::npos, on_page.find("社外秘")) << on_page;
    EXPECT_NE(std::string::npos, on_page.find("C-")) << on_page;  // rows on every page
  }
  const std::string first = PageText(path, 1);
  for (const char* expected :
       {"作成日 2026年12月2日", "委託元 株式会社ケーブルネット", "委託先一覧", "C-0001"}) {
    EXPECT_NE(std::string::npos, first.find(expected)) << expected << "\n" << first;
  }
  EXPECT_EQ(1u, Count(text, "委託先一覧"));
  EXPECT_NE(std::string::npos, PageText(path, written->pages).find("C-0120"));

  const test_util::FontReport fonts = PdfFonts(path);
  EXPECT_GT(fonts.fonts, 0) << fonts.text;
  EXPECT_EQ(0, fonts.not_embedded) << fonts.text;
  const std::string sizes = Output("pdfinfo -f 1 -l " + pages + " " + Quote(path));
  EXPECT_EQ(static_cast<size_t>(written->pages), Count(sizes, "size:  841.89 x 595.276 pts"))
      << sizes;
  EXPECT_NE(std::string::npos, Output("pdfinfo " + Quote(path)).find("委託先管理台帳"));
  // For a person to look at (in the build folder).
  std::filesystem::copy_file(path, "document_register.pdf",
                             std::filesystem::copy_options::overwrite_existing);
  RunCommand("pdftoppm -png -r 50 -f 1 -l 2 " + Quote(path) + " document_register");
}

// A 授受記録: boxes of fields (values of several lines), headings and
// paragraphs, one running over to the next page.
TEST_F(DocumentPdfTest, FieldsAndParagraphsGoOnOverPortraitPages) {
  Document doc;
  doc.title = "授受記録";
  doc.subtitle = {"授受番号 12"};
  doc.head = {"株式会社ケーブルネット", "授受記録 12", ""};
  doc.blocks.push_back(DocumentBlock::Heading("授受の内容"));
  doc.blocks.push_back(DocumentBlock::Fields({
      {"授受番号", "12"},
      {"委託先", "builder-co 株式会社ビルダー"},
      {"提供項目", "氏名\n住所\n電話番号（下4桁のみ表示）"},
      {"提供方法", "紙（印字書面 9ページ）"},
  }));
  doc.blocks.push_back(DocumentBlock::Heading("経過"));
  std::string body;
  for (int i = 1; i <= 60; ++i) {
    body += "第" + std::to_string(i) + "項。受領者は印字書面を施錠保管し、作業後に返却した。\n";
  }
  body += "以上";
  doc.blocks.push_back(DocumentBlock::Paragraph(body));
  doc.blocks.push_back(DocumentBlock::Heading("確認"));
  std::vector<DocumentField> checks;
  for (int i = 1; i <= 30; ++i) {
    checks.push_back({"確認" + std::to_string(i), "済（2026年12月" + std::to_string(i) + "日）"});
  }
  doc.blocks.push_back(DocumentBlock::Fields(checks));

  const std::string path = out_ + "/slip.pdf";
  auto written = WriteDocumentPdf(doc, path);
  ASSERT_TRUE(written.ok()) << written.message();
  ASSERT_GE(written->pages, 2);
  EXPECT_EQ(written->pages, PdfPages(path));
  const std::string text = PdfText(path);
  for (const char* expected :
       {"授受記録", "授受番号 12", "授受の内容", "builder-co 株式会社ビルダー", "氏名", "住所",
        "電話番号（下4桁のみ表示）", "紙（印字書面 9ページ）", "経過", "第1項。", "第60項。",
        "確認1", "済（2026年12月30日）"}) {
    EXPECT_NE(std::string::npos, text.find(expected)) << expected;
  }
  // The value of several lines, in order, in its box.
  const std::string first = PageText(path, 1);
  EXPECT_LT(first.find("氏名"), first.find("電話番号（下4桁")) << first;
  EXPECT_NE(std::string::npos, first.find("1 / " + std::to_string(written->pages))) << first;
  // The empty notice prints none.
  EXPECT_EQ(std::string::npos, text.find("本書は委託業務")) << text;
  for (int i = 1; i <= 60; ++i) {
    EXPECT_EQ(1u, Count(Joined(text), "第" + std::to_string(i) + "項。")) << i;
  }
  const std::string last = PageText(path, written->pages);
  EXPECT_NE(std::string::npos, last.find("確認30")) << last;
  const std::string sizes = Output("pdfinfo -f 1 -l 1 " + Quote(path));
  EXPECT_NE(std::string::npos, sizes.find("Page    1 size:  595.276 x 841.89 pts (A4)")) << sizes;
  std::filesystem::copy_file(path, "document_slip.pdf",
                             std::filesystem::copy_options::overwrite_existing);
  RunCommand("pdftoppm -png -r 50 " + Quote(path) + " document_slip");
}

// A character no installed font has (a private-use code point, as a
// mis-converted gaiji would be) is refused, naming where it is, never what
// the text says; nothing is left.
TEST_F(DocumentPdfTest, CharacterNoFontCanPrintIsRefusedAndNothingIsLeft) {
  const std::string path = out_ + "/gaiji.pdf";
  Document doc = Register(5);
  doc.blocks[1].table.rows[2][3] = "山\uE000 花子";
  auto written = WriteDocumentPdf(doc, path);
  ASSERT_FALSE(written.ok());
  EXPECT_EQ("block 2 (table): row 3: 担当者 has a character no installed font can print",
            written.message());
  EXPECT_TRUE(FilesIn(out_).empty());

  doc = Register(5);
  doc.blocks.push_back(DocumentBlock::Fields({{"所在地", "東京都\n千代田区\uE000"}}));
  written = WriteDocumentPdf(doc, path);
  ASSERT_FALSE(written.ok());
  EXPECT_EQ("block 3 (fields): 所在地 has a character no installed font can print",
            written.message());
  EXPECT_TRUE(FilesIn(out_).empty());

  doc = Register(5);
  doc.blocks.push_back(DocumentBlock::Paragraph("漏えいした項目: 氏名\uE000"));
  written = WriteDocumentPdf(doc, path);
  ASSERT_FALSE(written.ok());
  EXPECT_EQ("block 3 (paragraph) has a character no installed font can print", written.message());
  EXPECT_EQ(std::string::npos, written.message().find("氏名"));
  EXPECT_TRUE(FilesIn(out_).empty());

  doc = Register(5);
  doc.title = "台帳\uE000";
  written = WriteDocumentPdf(doc, path);
  ASSERT_FALSE(written.ok());
  EXPECT_EQ("the title has a character no installed font can print", written.message());
  EXPECT_TRUE(FilesIn(out_).empty());
}

// A long cell is set smaller and its row grows; one that no page can hold
// even then is refused by row and column.
TEST_F(DocumentPdfTest, LongCellShrinksAndOneNoPageCanHoldIsRefused) {
  Document doc = Register(3);
  std::string note;
  for (int i = 0; i < 40; ++i) note += "再委託先髙﨑ｱｲｳ株式会社の確認済";
  doc.blocks[1].table.rows[1][6] = note;
  const std::string path = out_ + "/long.pdf";
  auto written = WriteDocumentPdf(doc, path);
  ASSERT_TRUE(written.ok()) << written.message();
  const std::string text = Joined(PdfText(path));
  EXPECT_EQ(40u, Count(text, "再委託先髙﨑ｱｲｳ株式会社の確認済")) << text;
  EXPECT_NE(std::string::npos, text.find("C-0003"));
  std::filesystem::copy_file(path, "document_long_cell.pdf",
                             std::filesystem::copy_options::overwrite_existing);
  RunCommand("pdftoppm -png -r 50 " + Quote(path) + " document_long_cell");
  std::filesystem::remove(path);

  std::string too_long;
  for (int i = 0; i < 20000; ++i) too_long += "髙";
  doc.blocks[1].table.rows[1][6] = too_long;
  written = WriteDocumentPdf(doc, path);
  ASSERT_FALSE(written.ok());
  EXPECT_EQ("block 2 (table): row 2: 備考 is too long to print on one page", written.message());
  EXPECT_TRUE(FilesIn(out_).empty());
}

TEST_F(DocumentPdfTest, TableWithoutRowsSaysNone) {
  Document doc = Register(0);
  const std::string path = out_ + "/empty.pdf";
  auto written = WriteDocumentPdf(doc, path);
  ASSERT_TRUE(written.ok()) << written.message();
  EXPECT_EQ(1, written->pages);
  const std::string text = PdfText(path);
  EXPECT_NE(std::string::npos, text.find("（なし）")) << text;
  EXPECT_NE(std::string::npos, text.find("委託先名")) << text;
  EXPECT_NE(std::string::npos, text.find("1 / 1")) << text;
}

TEST_F(DocumentPdfTest, MalformedInputIsRefusedBeforeAnythingIsWritten) {
  const std::string path = out_ + "/bad.pdf";
  Document doc = Register(3);
  doc.blocks[1].table.rows[1].pop_back();
  auto written = WriteDocumentPdf(doc, path);
  ASSERT_FALSE(written.ok());
  EXPECT_EQ("block 2 (table): row 2 has 6 cells for 7 columns", written.message());

  doc = Register(3);
  doc.blocks[1].table.rows[2][1] = "株式会社\xff";
  written = WriteDocumentPdf(doc, path);
  ASSERT_FALSE(written.ok());
  EXPECT_EQ("block 2 (table): row 3: 委託先名 is not valid UTF-8 text", written.message());

  doc = Register(3);
  doc.blocks[1].table.columns[6].weight = 0;
  written = WriteDocumentPdf(doc, path);
  ASSERT_FALSE(written.ok());
  EXPECT_EQ("block 2 (table): column 備考 has no width (its weight must be above 0)",
            written.message());

  doc = Register(3);
  doc.blocks[1].table.columns[6].weight = 0.001;
  written = WriteDocumentPdf(doc, path);
  ASSERT_FALSE(written.ok());
  EXPECT_EQ("block 2 (table): column 備考 is too narrow to print", written.message());
  EXPECT_TRUE(FilesIn(out_).empty());
}

TEST_F(DocumentPdfTest, RefusesToReplaceAFile) {
  WriteFile(out_ + "/register.pdf", "x");
  auto written = WriteDocumentPdf(Register(3), out_ + "/register.pdf");
  ASSERT_FALSE(written.ok());
  EXPECT_EQ(ErrorKind::kConflict, written.kind());
  EXPECT_EQ("x", test_util::ReadFile(out_ + "/register.pdf"));
}

}  // namespace
}  // namespace itaku::transports
