#include "transports/paper_pdf.h"

#include <cairo-pdf.h>
#include <cairo.h>
#include <gtest/gtest.h>
#include <sys/resource.h>
#include <sys/stat.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

#include "contracts/base/files.h"
#include "tests/transports/poppler_util.h"
#include "tests/transports/test_util.h"

namespace itaku::transports {
namespace {

using test_util::FontReport;
using test_util::Output;
using test_util::PdfFonts;
using test_util::PdfPages;
using test_util::PdfText;
using test_util::Quote;
using test_util::ReadFile;
using test_util::RunCommand;
using test_util::TempDir;
using test_util::WriteFile;

std::vector<std::string> FilesIn(const std::string& dir) {
  std::vector<std::string> names;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    names.push_back(entry.path().filename().string());
  }
  return names;
}

// A vector drawing of `pages` pages, each saying "DRAWING-<tag>-<n>" (ASCII,
// in DejaVu Sans, so that pdftotext finds it on the delivery's page).
void MakePdfDrawing(const std::string& path, int pages, const std::string& tag, double width = 420,
                    double height = 297) {
  cairo_surface_t* surface = cairo_pdf_surface_create(path.c_str(), width, height);
  cairo_t* cr = cairo_create(surface);
  for (int p = 1; p <= pages; ++p) {
    cairo_set_line_width(cr, 2);
    cairo_rectangle(cr, 20, 20, width - 40, height - 40);
    cairo_move_to(cr, 20, 20);
    cairo_line_to(cr, width - 20, height - 20);
    cairo_stroke(cr);
    cairo_select_font_face(cr, "DejaVu Sans", CAIRO_FONT_SLANT_NORMAL, CAIRO_FONT_WEIGHT_NORMAL);
    cairo_set_font_size(cr, 18);
    cairo_move_to(cr, 40, height / 2);
    const std::string text = "DRAWING-" + tag + "-" + std::to_string(p);
    cairo_show_text(cr, text.c_str());
    cairo_show_page(cr);
  }
  cairo_destroy(cr);
  cairo_surface_destroy(surface);
}

// A one-page PDF whose /Contents is an array of two streams, with a q/Q
// pair spanning them (as PDF allows), in Helvetica (not embedded).
void MakeTwoStreamPdf(const std::string& path) {
  const std::vector<std::string> objects = {
      "<< /Type /Catalog /Pages 2 0 R >>",
      "<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
      "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 300 400] /Contents [4 0 R 5 0 R] "
      "/Resources << /Font << /F1 6 0 R >> >> >>",
      "<< /Length 44 >>\nstream\nq 2 w BT /F1 14 Tf 40 300 Td (PART-ONE) Tj ET\nendstream",
      "<< /Length 57 >>\nstream\nBT /F1 14 Tf 40 100 Td (PART-TWO) Tj ET 20 20 260 360 re S "
      "Q\nendstream",
      "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>"};
  std::string pdf = "%PDF-1.4\n";
  std::vector<size_t> offsets;
  for (size_t i = 0; i < objects.size(); ++i) {
    offsets.push_back(pdf.size());
    pdf += std::to_string(i + 1) + " 0 obj\n" + objects[i] + "\nendobj\n";
  }
  const size_t xref = pdf.size();
  pdf += "xref\n0 " + std::to_string(objects.size() + 1) + "\n0000000000 65535 f \n";
  for (size_t offset : offsets) {
    char line[32];
    std::snprintf(line, sizeof line, "%010zu 00000 n \n", offset);
    pdf += line;
  }
  pdf += "trailer\n<< /Size " + std::to_string(objects.size() + 1) +
         " /Root 1 0 R >>\nstartxref\n" + std::to_string(xref) + "\n%%EOF\n";
  WriteFile(path, pdf);
}

void MakePng(const std::string& path, int width, int height) {
  cairo_surface_t* surface = cairo_image_surface_create(CAIRO_FORMAT_RGB24, width, height);
  cairo_t* cr = cairo_create(surface);
  cairo_set_source_rgb(cr, 1, 1, 1);
  cairo_paint(cr);
  cairo_set_source_rgb(cr, 0.2, 0.3, 0.8);
  cairo_rectangle(cr, width / 4.0, height / 4.0, width / 2.0, height / 2.0);
  cairo_fill(cr);
  cairo_destroy(cr);
  cairo_surface_write_to_png(surface, path.c_str());
  cairo_surface_destroy(surface);
}

// A JPEG made by poppler from a one-page PDF.
void MakeJpeg(const std::string& dir, const std::string& name) {
  const std::string pdf = dir + "/jpeg-source.pdf";
  MakePdfDrawing(pdf, 1, "JPEG", 300, 200);
  ASSERT_EQ(0, RunCommand("pdftoppm -jpeg -r 30 -singlefile " + Quote(pdf) + " " +
                          Quote(dir + "/" + name.substr(0, name.size() - 4))));
  std::filesystem::remove(pdf);
}

// Drawings are taken from a folder through SourceFolder/SourceFile, as the
// gateway does.
class Drawings {
 public:
  explicit Drawings(const std::string& dir)
      : folder_(std::make_shared<SourceFolder>(std::move(SourceFolder::Open(dir)).value())) {}
  PaperDrawing Get(const std::string& name, const std::string& subscriber,
                   uint64_t max_bytes = 50u << 20) const {
    auto folder = folder_;
    return {subscriber, [folder, name]() { return SourceFile::Open(*folder, name); }, max_bytes};
  }

 private:
  std::shared_ptr<SourceFolder> folder_;
};

// Rows served from memory, counting the calls.
struct Rows {
  std::vector<std::vector<std::string>> rows;
  size_t next = 0;
  size_t calls = 0;
  std::function<Result<bool>(std::vector<std::string>&)> Source() {
    return [this](std::vector<std::string>& row) -> Result<bool> {
      ++calls;
      if (next == rows.size()) return false;
      row = rows[next++];
      return true;
    };
  }
};

const char kSha[] = "0123456789abcdef0123456789abcdef89abcdef0123456789abcdef01234567";

PaperJob BaseJob() {
  PaperJob job;
  job.head = {"builder-co 株式会社ビルダー", "授受番号 12", ""};
  job.slip.delivery_id = 12;
  job.slip.issued_on = "2026年12月2日";
  job.slip.operator_name = "株式会社ケーブルネット";
  job.slip.contractor_id = "builder-co";
  job.slip.contractor_name = "株式会社ビルダー";
  job.slip.purpose = "設置工事 (installation)";
  job.slip.profile = "builder-installation 第3版";
  job.slip.nda = "秘密保持契約 #2 (2026年4月1日〜2027年3月31日)";
  job.slip.items = {{"氏名", "name", ""},
                    {"住所", "address", ""},
                    {"電話番号", "phone", "下4桁のみ表示"},
                    {"宅内図面", "house_drawing", ""}};
  job.slip.data_sha256 = kSha;
  job.slip.return_by = "2027年1月31日";
  job.columns = {{"契約者番号", 1}, {"氏名", 1.2}, {"住所", 3}, {"電話番号", 1.2}};
  job.rows_per_page = 3;
  return job;
}

class PaperPdfTest : public ::testing::Test {
 protected:
  TempDir tmp_;
  std::string out_ = tmp_ / "out";
  std::string src_ = tmp_ / "src";
  void SetUp() override {
    std::filesystem::create_directory(out_);
    std::filesystem::create_directory(src_);
  }
};

// ---------------------------------------------------------------------------
// Letters

Letter SampleLetter() {
  Letter letter;
  letter.recipient = {
      "1234567", {"東京都千代田区丸の内一丁目2番3号", "髙﨑ハイツ 101号室"}, "髙﨑 太郎 様"};
  letter.sender_lines = {"株式会社ケーブルネット 個人情報窓口",
                         "〒100-0005 東京都千代田区丸の内9-9-9", "電話 03-1234-5678"};
  letter.date = "2026年12月2日";
  letter.reference = "受付番号 17";
  letter.subject = "是正措置の結果についてのお知らせ";
  letter.body =
      "拝啓　時下ますますご清祥のこととお慶び申し上げます。\n"
      "先日お申し出いただいた件につき、調査の結果と当社の措置をご報告いたします。\n敬具";
  return letter;
}

TEST_F(PaperPdfTest, LetterShowsRecipientSenderAndSubject) {
  const std::string path = out_ + "/letter.pdf";
  auto written = WriteLetterPdf(SampleLetter(), path);
  ASSERT_TRUE(written.ok()) << written.message();
  EXPECT_EQ(path, written->path);
  EXPECT_EQ(1, written->pages);
  EXPECT_EQ(1, PdfPages(path));
  EXPECT_EQ(Sha256File(path).value(), written->sha256);
  EXPECT_EQ(std::filesystem::file_size(path), written->size);
  struct stat st {};
  ASSERT_EQ(0, ::stat(path.c_str(), &st));
  EXPECT_EQ(0600u, st.st_mode & 0777);

  const std::string text = PdfText(path);
  for (const char* expected :
       {"〒123-4567", "髙﨑 太郎 様", "髙﨑ハイツ 101号室", "株式会社ケーブルネット 個人情報窓口",
        "電話 03-1234-5678", "2026年12月2日", "受付番号 17", "是正措置の結果についてのお知らせ",
        "調査の結果と当社の措置"}) {
    EXPECT_NE(std::string::npos, text.find(expected)) << expected << "\n" << text;
  }
  const FontReport fonts = PdfFonts(path);
  EXPECT_GT(fonts.fonts, 0);
  EXPECT_EQ(0, fonts.not_embedded) << fonts.text;

  // The window of a 長形3号 envelope: 20 mm from the left, 15 mm from the
  // top, 90 x 40 mm (in points at 72 dpi).
  const std::string window = PdfText(path, "-f 1 -l 1 -x 57 -y 43 -W 255 -H 113");
  EXPECT_NE(std::string::npos, window.find("髙﨑 太郎 様")) << window;
  EXPECT_NE(std::string::npos, window.find("〒123-4567")) << window;
  EXPECT_NE(std::string::npos, window.find("東京都千代田区丸の内一丁目2番3号")) << window;
  EXPECT_EQ(std::string::npos, window.find("ケーブルネット")) << window;
  EXPECT_EQ(std::string::npos, window.find("03-1234-5678")) << window;
  EXPECT_EQ(std::string::npos, window.find("是正措置")) << window;
  EXPECT_EQ((std::vector<std::string>{"letter.pdf"}), FilesIn(out_));
  std::filesystem::copy_file(path, "paper_letter.pdf",
                             std::filesystem::copy_options::overwrite_existing);
  RunCommand("pdftoppm -png -r 60 -singlefile " + Quote(path) + " paper_letter");
}

TEST_F(PaperPdfTest, LongLetterGoesOnToMorePagesWithFolios) {
  Letter letter = SampleLetter();
  letter.body.clear();
  for (int i = 1; i <= 120; ++i) {
    letter.body += "第" + std::to_string(i) + "段落。本文が長い場合は次のページに続きます。\n";
  }
  letter.body += "以上";
  const std::string path = out_ + "/long.pdf";
  auto written = WriteLetterPdf(letter, path);
  ASSERT_TRUE(written.ok()) << written.message();
  ASSERT_GT(written->pages, 1);
  EXPECT_EQ(written->pages, PdfPages(path));
  const std::string last = std::to_string(written->pages);
  EXPECT_NE(std::string::npos, PdfText(path).find("1 / " + last));
  const std::string last_page = PdfText(path, "-f " + last + " -l " + last);
  EXPECT_NE(std::string::npos, last_page.find(last + " / " + last)) << last_page;
  EXPECT_NE(std::string::npos, last_page.find("以上")) << last_page;
  EXPECT_NE(std::string::npos, PdfText(path).find("第120段落"));
}

TEST_F(PaperPdfTest, LetterRefusesABadPostalCodeAndLeavesNothing) {
  Letter letter = SampleLetter();
  letter.recipient.postal_code = "12-34567";
  auto written = WriteLetterPdf(letter, out_ + "/letter.pdf");
  ASSERT_FALSE(written.ok());
  EXPECT_EQ("the recipient's postal code is not 7 digits (1234567 or 123-4567)", written.message());
  EXPECT_TRUE(FilesIn(out_).empty());
}

TEST_F(PaperPdfTest, LetterRefusesAnAddressTooLongForTheWindow) {
  Letter letter = SampleLetter();
  letter.recipient.address_lines.assign(12, "東京都千代田区丸の内一丁目2番3号");
  auto written = WriteLetterPdf(letter, out_ + "/letter.pdf");
  ASSERT_FALSE(written.ok());
  EXPECT_EQ("the recipient's address and name do not fit the envelope window (14 lines)",
            written.message());
  EXPECT_TRUE(FilesIn(out_).empty());
}

TEST_F(PaperPdfTest, LetterRefusesToOverwrite) {
  WriteFile(out_ + "/letter.pdf", "x");
  auto written = WriteLetterPdf(SampleLetter(), out_ + "/letter.pdf");
  ASSERT_FALSE(written.ok());
  EXPECT_EQ(ErrorKind::kConflict, written.kind());
}

// ---------------------------------------------------------------------------
// Deliveries

TEST_F(PaperPdfTest, DeliveryPrintsEveryValueWithEmbeddedFontsAndDrawings) {
  MakePdfDrawing(src_ + "/1001.pdf", 2, "A");
  MakePng(src_ + "/1002.png", 300, 200);
  MakeJpeg(src_, "1003.jpg");
  MakePdfDrawing(src_ + "/1004.pdf", 1, "B", 297, 420);
  Drawings drawings(src_);

  PaperJob job = BaseJob();
  Rows rows;
  rows.rows = {
      {"1001", "髙橋 﨑子", "東京都千代田区①丁目～ｱｲｳ", "03-****-5678"},
      {"1002", "山田 太郎", "大阪府大阪市北区梅田1-2-3 梅田ハイツ", "06-****-0001"},
      {"1003", "ﾔﾏﾀﾞ ﾊﾅｺ", "", "090-****-1234"},
      {"1004", "佐藤 一郎", "北海道札幌市中央区北1条西2丁目", "011-****-9999"},
  };
  job.next_row = rows.Source();
  job.slip.records = 4;
  job.drawings = {drawings.Get("1001.pdf", "1001"), drawings.Get("1002.png", "1002"),
                  drawings.Get("1003.jpg", "1003"), drawings.Get("1004.pdf", "1004")};
  job.slip.drawings = 4;

  auto written = WritePaperPdf(job, out_, "delivery-12.pdf");
  ASSERT_TRUE(written.ok()) << written.message();
  const std::string path = out_ + "/delivery-12.pdf";
  EXPECT_EQ(path, written->path);
  EXPECT_EQ(2, written->record_pages);
  EXPECT_EQ(5, written->drawing_pages);
  EXPECT_EQ(1 + 2 + 5 + 1, written->pages);
  EXPECT_EQ(written->pages, PdfPages(path));
  EXPECT_EQ(Sha256File(path).value(), written->sha256);
  EXPECT_EQ(std::filesystem::file_size(path), written->size);
  EXPECT_EQ((std::vector<std::string>{"delivery-12.pdf"}), FilesIn(out_));
  struct stat st {};
  ASSERT_EQ(0, ::stat(path.c_str(), &st));
  EXPECT_EQ(0600u, st.st_mode & 0777);
  EXPECT_EQ(5u, rows.calls);  // every record, then the call that said "no more"

  const std::string text = PdfText(path);
  for (const auto& row : rows.rows) {
    for (const auto& cell : row) {
      EXPECT_NE(std::string::npos, text.find(cell)) << cell;
    }
  }
  for (const char* piece : {"髙", "﨑", "①", "～", "ｱｲｳ", "ﾔﾏﾀﾞ ﾊﾅｺ"}) {
    EXPECT_NE(std::string::npos, text.find(piece)) << piece;
  }
  const FontReport fonts = PdfFonts(path);
  EXPECT_GT(fonts.fonts, 0);
  EXPECT_EQ(0, fonts.not_embedded) << fonts.text;
  // The drawings were appended as an update qpdf finds sound.
  EXPECT_EQ(0, RunCommand("qpdf --check " + Quote(path))) << Output("qpdf --check " + Quote(path));

  // The cover.
  const std::string cover = PdfText(path, "-f 1 -l 1");
  for (const char* expected :
       {"個人データ授受管理票",
        "授受番号",
        "2026年12月2日",
        "株式会社ケーブルネット",
        "builder-co",
        "株式会社ビルダー",
        "設置工事 (installation)",
        "builder-installation 第3版",
        "秘密保持契約 #2",
        "電話番号",
        "phone",
        "下4桁のみ表示",
        "house_drawing",
        "4件",
        "9ページ",
        "0123456789abcdef0123456789abcdef",
        "89abcdef0123456789abcdef01234567",
        "2027年1月31日",
        "引渡者",
        "受領者",
        "氏名",
        "署名",
        "日付",
        "1 / 9",
        "本書は委託業務のためにのみ使用し、複写・転記・第三者への提供を禁じます。"}) {
    EXPECT_NE(std::string::npos, cover.find(expected)) << expected << "\n" << cover;
  }
  // Table pages: the header, three records, then one.
  const std::string table1 = PdfText(path, "-f 2 -l 2");
  EXPECT_NE(std::string::npos, table1.find("契約者番号")) << table1;
  EXPECT_NE(std::string::npos, table1.find("ﾔﾏﾀﾞ ﾊﾅｺ")) << table1;
  EXPECT_EQ(std::string::npos, table1.find("佐藤 一郎")) << table1;
  EXPECT_NE(std::string::npos, table1.find("2 / 9")) << table1;
  const std::string table2 = PdfText(path, "-f 3 -l 3");
  EXPECT_NE(std::string::npos, table2.find("佐藤 一郎")) << table2;
  EXPECT_NE(std::string::npos, table2.find("住所")) << table2;
  // Drawing pages: the running head, the caption and the drawing itself.
  const char* drawing_pages[][3] = {{"4", "図面: 1001（1 / 2）", "DRAWING-A-1"},
                                    {"5", "図面: 1001（2 / 2）", "DRAWING-A-2"},
                                    {"6", "図面: 1002", ""},
                                    {"7", "図面: 1003", ""},
                                    {"8", "図面: 1004", "DRAWING-B-1"}};
  for (const auto& [page, caption, content] : drawing_pages) {
    const std::string text_of_page = PdfText(path, std::string("-f ") + page + " -l " + page);
    EXPECT_NE(std::string::npos, text_of_page.find(caption)) << page << "\n" << text_of_page;
    EXPECT_NE(std::string::npos, text_of_page.find(std::string(page) + " / 9")) << text_of_page;
    EXPECT_NE(std::string::npos, text_of_page.find("builder-co 株式会社ビルダー")) << text_of_page;
    EXPECT_NE(std::string::npos, text_of_page.find("授受番号 12")) << text_of_page;
    EXPECT_NE(std::string::npos, text_of_page.find(content)) << page << "\n" << text_of_page;
  }
  // The images are there: page 6 (PNG) and 7 (JPEG, as DCT).
  const std::string images = Output("pdfimages -list " + Quote(path));
  EXPECT_NE(std::string::npos, images.find(" 6     0 image     300   200")) << images;
  EXPECT_NE(std::string::npos, images.find("jpeg")) << images;
  const std::string closing = PdfText(path, "-f 9 -l 9");
  for (const char* expected : {"返却・廃棄確認書", "返却", "裁断", "溶解処理", "処理日",
                               "受領者（委託先）署名", "確認者（委託元）署名", "9 / 9"}) {
    EXPECT_NE(std::string::npos, closing.find(expected)) << expected << "\n" << closing;
  }
  // Pages are A4: portrait for the cover, landscape for the table.
  const std::string sizes = Output("pdfinfo -f 1 -l 9 " + Quote(path));
  EXPECT_NE(std::string::npos, sizes.find("Page    1 size:  595.276 x 841.89 pts (A4)")) << sizes;
  EXPECT_NE(std::string::npos, sizes.find("Page    2 size:  841.89 x 595.276 pts")) << sizes;
  EXPECT_NE(std::string::npos, sizes.find("Page    4 size:  841.89 x 595.276 pts")) << sizes;
  EXPECT_NE(std::string::npos, sizes.find("Page    8 size:  595.276 x 841.89 pts (A4)")) << sizes;
  // For a person to look at (in the build folder).
  std::filesystem::copy_file(path, "paper_delivery.pdf",
                             std::filesystem::copy_options::overwrite_existing);
  RunCommand("pdftoppm -png -r 60 " + Quote(path) + " paper_delivery");
}

TEST_F(PaperPdfTest, DeliveryWithoutRecordsOrDrawingsHasThreePages) {
  PaperJob job = BaseJob();
  Rows rows;
  job.next_row = rows.Source();
  job.slip.records = 0;
  auto written = WritePaperPdf(job, out_, "empty.pdf");
  ASSERT_TRUE(written.ok()) << written.message();
  EXPECT_EQ(3, written->pages);
  EXPECT_EQ(1, written->record_pages);
  EXPECT_EQ(3, PdfPages(out_ + "/empty.pdf"));
}

TEST_F(PaperPdfTest, LongCellIsSetSmallerToFitItsCell) {
  PaperJob job = BaseJob();
  Rows rows;
  std::string address = "東京都千代田区丸の内一丁目";
  for (int i = 0; i < 6; ++i) address += "髙﨑ハイツ１２３号室";
  rows.rows = {{"1001", "髙橋 﨑子", address, "03"}};
  job.next_row = rows.Source();
  job.slip.records = 1;
  auto written = WritePaperPdf(job, out_, "small.pdf");
  ASSERT_TRUE(written.ok()) << written.message();
  // Wrapped over several lines, every character is still there.
  std::string text = PdfText(out_ + "/small.pdf", "-f 2 -l 2");
  text.erase(std::remove(text.begin(), text.end(), '\n'), text.end());
  EXPECT_NE(std::string::npos, text.find("髙﨑ハイツ１２３号室髙﨑ハイツ１２３号室")) << text;
}

TEST_F(PaperPdfTest, CellTooLongToPrintIsRefusedAndNothingIsLeft) {
  PaperJob job = BaseJob();
  Rows rows;
  std::string too_long;
  for (int i = 0; i < 1000; ++i) too_long += "髙";
  rows.rows = {{"1001", "山田 太郎", "短い住所", "03"}, {"1002", "山田 花子", too_long, "03"}};
  job.next_row = rows.Source();
  job.slip.records = 2;
  job.rows_per_page = 20;
  auto written = WritePaperPdf(job, out_, "long.pdf");
  ASSERT_FALSE(written.ok());
  EXPECT_TRUE(std::regex_match(
      written.message(),
      std::regex("record 2: 住所 is too long to print in one cell \\(at most \\d+ characters\\)")))
      << written.message();
  EXPECT_EQ(std::string::npos, written.message().find("髙"));
  EXPECT_TRUE(FilesIn(out_).empty());

  // The limit it names is one that fits.
  std::smatch m;
  std::regex_search(written.message(), m, std::regex("at most (\\d+)"));
  const int most = std::stoi(m[1]);
  EXPECT_GT(most, 40);
  std::string fits;
  for (int i = 0; i < most; ++i) fits += "髙";
  rows.rows[1][2] = fits;
  rows.next = 0;
  auto again = WritePaperPdf(job, out_, "long.pdf");
  EXPECT_TRUE(again.ok()) << again.message();
}

// A character no installed font has (a private-use code point, as a
// mis-converted gaiji would be) is refused, not printed as a box: the sheet
// must show what was delivered.
TEST_F(PaperPdfTest, CharacterNoFontCanPrintIsRefusedAndNothingIsLeft) {
  PaperJob job = BaseJob();
  Rows rows;
  rows.rows = {{"1001", "山田 太郎", "短い住所", "03"}, {"1002", "山\uE000 花子", "住所", "03"}};
  job.next_row = rows.Source();
  job.slip.records = 2;
  auto written = WritePaperPdf(job, out_, "gaiji.pdf");
  ASSERT_FALSE(written.ok());
  EXPECT_EQ(written.message(), "record 2: 氏名 has a character no installed font can print");
  EXPECT_TRUE(FilesIn(out_).empty());

  Letter letter;
  letter.recipient = {"6700011", {"兵庫県姫路市1-1"}, "山\uE000 花子 様"};
  letter.sender_lines = {"夢前ケーブル株式会社"};
  letter.date = "2026年12月2日";
  letter.subject = "件名";
  letter.body = "本文";
  auto posted = WriteLetterPdf(letter, out_ + "/letter.pdf");
  ASSERT_FALSE(posted.ok());
  EXPECT_EQ(posted.message(),
            "the recipient's address or name has a character no installed font can print");
  EXPECT_TRUE(FilesIn(out_).empty());
}

TEST_F(PaperPdfTest, DrawingThatIsNotPdfPngOrJpegIsRefusedAndNothingIsLeft) {
  MakePdfDrawing(src_ + "/1001.pdf", 1, "A");
  WriteFile(src_ + "/1002.txt", "not a drawing\n");
  Drawings drawings(src_);
  PaperJob job = BaseJob();
  Rows rows;
  job.next_row = rows.Source();
  job.slip.records = 0;
  job.drawings = {drawings.Get("1001.pdf", "1001"), drawings.Get("1002.txt", "1002")};
  job.slip.drawings = 2;
  auto written = WritePaperPdf(job, out_, "d.pdf");
  ASSERT_FALSE(written.ok());
  EXPECT_EQ("1002.txt is not a PDF, PNG or JPEG file", written.message());
  EXPECT_TRUE(FilesIn(out_).empty());
}

TEST_F(PaperPdfTest, DamagedPdfDrawingIsRefused) {
  WriteFile(src_ + "/1001.pdf", "%PDF-1.7\nnothing else here\n");
  Drawings drawings(src_);
  PaperJob job = BaseJob();
  Rows rows;
  job.next_row = rows.Source();
  job.slip.records = 0;
  job.drawings = {drawings.Get("1001.pdf", "1001")};
  job.slip.drawings = 1;
  auto written = WritePaperPdf(job, out_, "d.pdf");
  ASSERT_FALSE(written.ok());
  EXPECT_EQ("1001.pdf: the PDF cannot be read (damaged or encrypted)", written.message());
  EXPECT_TRUE(FilesIn(out_).empty());
}

TEST_F(PaperPdfTest, EncryptedPdfDrawingIsRefused) {
  MakePdfDrawing(src_ + "/plain.pdf", 1, "A");
  ASSERT_EQ(0, RunCommand("qpdf --encrypt '' owner 256 -- " + Quote(src_ + "/plain.pdf") + " " +
                          Quote(src_ + "/1001.pdf")));
  Drawings drawings(src_);
  PaperJob job = BaseJob();
  Rows rows;
  job.next_row = rows.Source();
  job.slip.records = 0;
  job.drawings = {drawings.Get("1001.pdf", "1001")};
  job.slip.drawings = 1;
  auto written = WritePaperPdf(job, out_, "d.pdf");
  ASSERT_FALSE(written.ok());
  EXPECT_EQ("1001.pdf: the PDF cannot be read (damaged or encrypted)", written.message());
}

TEST_F(PaperPdfTest, DrawingOverItsLimitIsRefusedBeforeItIsRead) {
  MakePdfDrawing(src_ + "/1001.pdf", 1, "A");
  Drawings drawings(src_);
  PaperJob job = BaseJob();
  Rows rows;
  job.next_row = rows.Source();
  job.slip.records = 0;
  job.drawings = {drawings.Get("1001.pdf", "1001", 100)};
  job.slip.drawings = 1;
  auto written = WritePaperPdf(job, out_, "d.pdf");
  ASSERT_FALSE(written.ok());
  EXPECT_EQ(ErrorKind::kRefused, written.kind());
  EXPECT_TRUE(std::regex_match(written.message(),
                               std::regex("1001\\.pdf is \\d+ bytes, over the limit of 100 bytes")))
      << written.message();
}

TEST_F(PaperPdfTest, SlipCountsMustMatchWhatFollows) {
  PaperJob job = BaseJob();
  Rows rows;
  rows.rows = {{"1", "a", "b", "c"}, {"2", "a", "b", "c"}};
  job.next_row = rows.Source();
  job.slip.records = 3;
  auto fewer = WritePaperPdf(job, out_, "a.pdf");
  ASSERT_FALSE(fewer.ok());
  EXPECT_EQ("the slip says 3 records but only 2 followed", fewer.message());
  rows.next = 0;
  job.slip.records = 1;
  auto more = WritePaperPdf(job, out_, "a.pdf");
  ASSERT_FALSE(more.ok());
  EXPECT_EQ("more records followed than the slip's 1", more.message());
  job.slip.drawings = 1;
  auto drawings = WritePaperPdf(job, out_, "a.pdf");
  ASSERT_FALSE(drawings.ok());
  EXPECT_EQ("the slip says 1 drawings but 0 follow", drawings.message());
  EXPECT_TRUE(FilesIn(out_).empty());
}

// A drawing page turned by /Rotate is placed upright on a page of its
// shape; one whose content is several streams, or that nests forms, keeps
// all of it.
TEST_F(PaperPdfTest, RotatedLayeredAndMultiStreamPdfDrawingsKeepTheirContent) {
  MakePdfDrawing(src_ + "/wide.pdf", 1, "R");  // 420 x 297: landscape
  ASSERT_EQ(0, RunCommand("qpdf --rotate=+90 " + Quote(src_ + "/wide.pdf") + " " +
                          Quote(src_ + "/2001.pdf")));
  MakePdfDrawing(src_ + "/over.pdf", 1, "O");
  ASSERT_EQ(0, RunCommand("qpdf " + Quote(src_ + "/wide.pdf") + " --overlay " +
                          Quote(src_ + "/over.pdf") + " -- " + Quote(src_ + "/2002.pdf")));
  MakeTwoStreamPdf(src_ + "/2003.pdf");
  Drawings drawings(src_);
  PaperJob job = BaseJob();
  Rows rows;
  job.next_row = rows.Source();
  job.slip.records = 0;
  job.drawings = {drawings.Get("2001.pdf", "2001"), drawings.Get("2002.pdf", "2002"),
                  drawings.Get("2003.pdf", "2003")};
  job.slip.drawings = 3;
  auto written = WritePaperPdf(job, out_, "layers.pdf");
  ASSERT_TRUE(written.ok()) << written.message();
  const std::string path = out_ + "/layers.pdf";
  EXPECT_EQ(0, RunCommand("qpdf --check " + Quote(path))) << Output("qpdf --check " + Quote(path));
  const std::string sizes = Output("pdfinfo -f 3 -l 5 " + Quote(path));
  EXPECT_NE(std::string::npos, sizes.find("Page    3 size:  595.276 x 841.89")) << sizes;
  EXPECT_NE(std::string::npos, sizes.find("Page    4 size:  841.89 x 595.276")) << sizes;
  EXPECT_NE(std::string::npos, sizes.find("Page    5 size:  595.276 x 841.89")) << sizes;
  EXPECT_NE(std::string::npos, PdfText(path, "-f 3 -l 3").find("DRAWING-R-1"));
  const std::string layered = PdfText(path, "-f 4 -l 4");
  EXPECT_NE(std::string::npos, layered.find("DRAWING-R-1")) << layered;
  EXPECT_NE(std::string::npos, layered.find("DRAWING-O-1")) << layered;
  const std::string joined = PdfText(path, "-f 5 -l 5");
  EXPECT_NE(std::string::npos, joined.find("PART-ONE")) << joined;
  EXPECT_NE(std::string::npos, joined.find("PART-TWO")) << joined;
  EXPECT_NE(std::string::npos, joined.find("図面: 2003")) << joined;
  std::filesystem::copy_file(path, "paper_layers.pdf",
                             std::filesystem::copy_options::overwrite_existing);
  RunCommand("pdftoppm -png -r 40 " + Quote(path) + " paper_layers");
}

// Each drawing is opened to count its pages, then again to copy them; one
// that changed in between stops the delivery.
TEST_F(PaperPdfTest, EveryPdfDrawingLandsOnItsOwnPage) {
  Drawings drawings(src_);
  PaperJob job = BaseJob();
  Rows rows;
  job.next_row = rows.Source();
  job.slip.records = 0;
  for (int i = 0; i < 100; ++i) {
    const std::string name = std::to_string(2000 + i) + ".pdf";
    MakePdfDrawing(src_ + "/" + name, 1, std::to_string(i));
    job.drawings.push_back(drawings.Get(name, std::to_string(2000 + i)));
  }
  job.slip.drawings = 100;
  auto written = WritePaperPdf(job, out_, "many.pdf");
  ASSERT_TRUE(written.ok()) << written.message();
  EXPECT_EQ(103, PdfPages(out_ + "/many.pdf"));
  const std::string first = PdfText(out_ + "/many.pdf", "-f 3 -l 3");
  EXPECT_NE(std::string::npos, first.find("DRAWING-0-1")) << first;
  const std::string last = PdfText(out_ + "/many.pdf", "-f 102 -l 102");
  EXPECT_NE(std::string::npos, last.find("DRAWING-99-1")) << last;

  // The first drawing is rewritten after it was judged.
  auto original = job.drawings[0].open;
  const std::string first_name = src_ + "/2000.pdf";
  int calls = 0;
  job.drawings[0].open = [&, original]() {
    if (++calls == 2) MakePdfDrawing(first_name, 1, "CHANGED");
    return original();
  };
  auto changed = WritePaperPdf(job, out_, "changed.pdf");
  ASSERT_FALSE(changed.ok());
  EXPECT_EQ("2000.pdf changed while the paper was being made", changed.message());
  EXPECT_EQ((std::vector<std::string>{"many.pdf"}), FilesIn(out_));
}

// ---------------------------------------------------------------------------
// Size and speed: 10,000 records of 8 columns and 3,000 one-page PDF
// drawings (ops/bench/paper measures the whole delivery; this prints what
// the writer alone takes).

TEST_F(PaperPdfTest, TenThousandRecordsAndThreeThousandDrawings) {
  constexpr int kRecords = 10000;
  constexpr int kDrawings = 3000;
  MakePdfDrawing(src_ + "/template.pdf", 1, "T");
  const std::string bytes = ReadFile(src_ + "/template.pdf");
  Drawings drawings(src_);
  PaperJob job = BaseJob();
  job.columns = {{"契約者番号", 1}, {"氏名", 1.3},     {"フリガナ", 1.3}, {"郵便番号", 0.9},
                 {"住所", 3},       {"電話番号", 1.2}, {"工事予定日", 1}, {"備考", 2}};
  job.rows_per_page = 20;
  for (int i = 0; i < kDrawings; ++i) {
    const std::string name = std::to_string(100000 + i) + ".pdf";
    WriteFile(src_ + "/" + name, bytes);
    job.drawings.push_back(drawings.Get(name, std::to_string(100000 + i)));
  }
  job.slip.drawings = kDrawings;
  job.slip.records = kRecords;
  int64_t next = 0;
  job.next_row = [&](std::vector<std::string>& row) -> Result<bool> {
    if (next == kRecords) return false;
    ++next;
    const std::string n = std::to_string(100000 + next);
    row = {n,
           "髙橋 﨑子" + std::to_string(next % 97),
           "ﾀｶﾊｼ ｻｷｺ",
           "123-4567",
           "東京都千代田区丸の内一丁目" + std::to_string(next % 31) + "番" +
               std::to_string(next % 17) + "号 ケーブルハイツ" + std::to_string(next % 400) +
               "号室",
           "03-****-" + std::to_string(1000 + next % 9000),
           "2026年12月" + std::to_string(1 + next % 28) + "日",
           next % 3 == 0 ? "午前中希望。駐車スペースなし、近隣のコインパーキングを利用" : ""};
    return true;
  };
  const auto start = std::chrono::steady_clock::now();
  auto written = WritePaperPdf(job, out_, "big.pdf");
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  ASSERT_TRUE(written.ok()) << written.message();
  rusage usage{};
  ::getrusage(RUSAGE_SELF, &usage);
  std::printf(
      "[ paper    ] %d records + %d one-page PDF drawings: %d pages, %.1f MB, %.2f s "
      "(%.0f records/s), peak RSS %ld MB\n",
      kRecords, kDrawings, written->pages, written->size / 1e6, seconds, kRecords / seconds,
      usage.ru_maxrss / 1024);
  EXPECT_EQ(1 + 500 + kDrawings + 1, written->pages);
  EXPECT_EQ(written->pages, PdfPages(out_ + "/big.pdf"));
  const std::string last_drawing =
      PdfText(out_ + "/big.pdf", "-f " + std::to_string(written->pages - 1) + " -l " +
                                     std::to_string(written->pages - 1));
  EXPECT_NE(std::string::npos, last_drawing.find("DRAWING-T-1")) << last_drawing;
  EXPECT_NE(std::string::npos, last_drawing.find("図面: 102999")) << last_drawing;
}

}  // namespace
}  // namespace itaku::transports
