// Documents (see document_pdf.h). Every page prints "n / N", so a document
// is composed twice by the same code: first without drawing, which counts
// the pages and finds anything that cannot be printed, then drawing, with
// the count known. pango lays the same text out the same way both times.
#include "transports/document_pdf.h"

#include <cairo.h>
#include <pango/pangocairo.h>

#include <algorithm>
#include <cmath>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "contracts/base/atomic_file.h"
#include "transports/detail/pdf_text.h"

namespace itaku::transports {

using detail::ColumnEdges;
using detail::ContentArea;
using detail::Face;
using detail::FillRect;
using detail::IsText;
using detail::kLandscape;
using detail::kPortrait;
using detail::LayOut;
using detail::LayoutIterPtr;
using detail::Line;
using detail::LineFactor;
using detail::Mm;
using detail::PageSize;
using detail::PdfCanvas;
using detail::Rect;
using detail::RunningHead;
using detail::Seal;
using detail::TextBox;
using detail::Typesetter;

DocumentBlock DocumentBlock::Heading(std::string text) {
  DocumentBlock block;
  block.kind = Kind::kHeading;
  block.text = std::move(text);
  return block;
}

DocumentBlock DocumentBlock::Paragraph(std::string text) {
  DocumentBlock block;
  block.kind = Kind::kParagraph;
  block.text = std::move(text);
  return block;
}

DocumentBlock DocumentBlock::Fields(std::vector<DocumentField> fields) {
  DocumentBlock block;
  block.kind = Kind::kFields;
  block.fields = std::move(fields);
  return block;
}

DocumentBlock DocumentBlock::Table(DocumentTable table) {
  DocumentBlock block;
  block.kind = Kind::kTable;
  block.table = std::move(table);
  return block;
}

namespace {

// Type sizes, in points.
constexpr double kTitleSize = 18;
constexpr double kSubtitleSize = 10;
constexpr double kHeadingSize = 12;
constexpr double kParagraphSize = 10.5;
constexpr double kParagraphSpacing = 1.5;  // line height, as a factor of the font's
constexpr double kLabelSize = 9;           // fields' labels
constexpr double kValueSize = 10;          // fields' values
constexpr double kHeaderSize = 8;          // tables' header rows
constexpr double kCellSize = 9;
constexpr double kLongCellSize = 6;  // a long cell is set down to this before its row grows
constexpr double kSmallestSize = 5;  // what is smaller is not printed

constexpr double kPad = 2;                 // inside table cells
constexpr double kFieldPad = 3.5;          // inside fields' boxes
constexpr double kMinRowHeight = Mm(6.5);  // fields and table rows
constexpr double kLongRow = Mm(20);        // taller rows: their long cells are set smaller
constexpr double kMinHeaderHeight = Mm(8);
constexpr double kBlockGap = Mm(4);
constexpr double kHeadingGap = Mm(6);

constexpr std::string_view kNoCharacter = " has a character no installed font can print";
constexpr std::string_view kNoText = " is not valid UTF-8 text";

// "block 3 (table)": where a message points, never what the block says.
std::string BlockName(size_t index, DocumentBlock::Kind kind) {
  const char* what = "paragraph";
  switch (kind) {
    case DocumentBlock::Kind::kHeading:
      what = "heading";
      break;
    case DocumentBlock::Kind::kFields:
      what = "fields";
      break;
    case DocumentBlock::Kind::kTable:
      what = "table";
      break;
    case DocumentBlock::Kind::kParagraph:
      break;
  }
  return "block " + std::to_string(index + 1) + " (" + what + ")";
}

std::string RowName(const std::string& table, size_t row) {
  return table + ": row " + std::to_string(row + 1);
}

// Everything that can be judged without typesetting: text that is UTF-8,
// tables that have columns of some width and rows of as many cells.
Status Validate(const Document& doc) {
  auto text = [](const std::string& what, const std::string& s) {
    return IsText(s) ? Status::Ok() : Status::Error(what + std::string(kNoText));
  };
  std::vector<std::pair<std::string, const std::string*>> strings = {
      {"the title", &doc.title},
      {"the running head's contractor", &doc.head.contractor},
      {"the running head's delivery", &doc.head.delivery},
      {"the running head's notice", &doc.head.notice}};
  for (size_t i = 0; i < doc.subtitle.size(); ++i) {
    strings.emplace_back("subtitle line " + std::to_string(i + 1), &doc.subtitle[i]);
  }
  for (const auto& [what, s] : strings) {
    if (Status st = text(what, *s); !st.ok()) return st;
  }
  for (size_t b = 0; b < doc.blocks.size(); ++b) {
    const DocumentBlock& block = doc.blocks[b];
    const std::string name = BlockName(b, block.kind);
    switch (block.kind) {
      case DocumentBlock::Kind::kHeading:
      case DocumentBlock::Kind::kParagraph:
        if (!IsText(block.text)) return Status::Error(name + std::string(kNoText));
        break;
      case DocumentBlock::Kind::kFields:
        for (size_t f = 0; f < block.fields.size(); ++f) {
          const DocumentField& field = block.fields[f];
          if (!IsText(field.label)) {
            return Status::Error(name + ": the label of field " + std::to_string(f + 1) +
                                 std::string(kNoText));
          }
          if (Status st = text(name + ": " + field.label, field.value); !st.ok()) return st;
        }
        break;
      case DocumentBlock::Kind::kTable: {
        const DocumentTable& table = block.table;
        if (table.columns.empty()) return Status::Error(name + " has no columns");
        for (size_t c = 0; c < table.columns.size(); ++c) {
          const PaperColumn& column = table.columns[c];
          if (!IsText(column.label)) {
            return Status::Error(name + ": the label of column " + std::to_string(c + 1) +
                                 std::string(kNoText));
          }
          if (!(column.weight > 0) || !std::isfinite(column.weight)) {
            return Status::Error(name + ": column " + column.label +
                                 " has no width (its weight must be above 0)");
          }
        }
        for (size_t r = 0; r < table.rows.size(); ++r) {
          const std::vector<std::string>& row = table.rows[r];
          if (row.size() != table.columns.size()) {
            return Status::Error(RowName(name, r) + " has " + std::to_string(row.size()) +
                                 " cells for " + std::to_string(table.columns.size()) + " columns");
          }
          for (size_t c = 0; c < row.size(); ++c) {
            if (Status st = text(RowName(name, r) + ": " + table.columns[c].label, row[c]);
                !st.ok()) {
              return st;
            }
          }
        }
        break;
      }
    }
  }
  return Status::Ok();
}

// ---------------------------------------------------------------------------
// Tables

// One table's columns and boxes: lays a row out (every cell in its column's
// box), then draws it where the composer puts it.
class TablePrinter {
 public:
  TablePrinter(const Typesetter& ts, const DocumentTable& table, const Rect& area, std::string name)
      : table_(table),
        area_(area),
        name_(std::move(name)),
        header_(ts, Face::kGothic, kHeaderSize, PANGO_ALIGN_CENTER) {
    for (size_t c = 0; c < table.columns.size(); ++c) {
      cells_.emplace_back(ts, Face::kGothic, kCellSize);
    }
  }

  // Column edges and the header row's height; refuses columns too narrow.
  Status Prepare() {
    edges_ = ColumnEdges(table_.columns, area_.x, area_.w);
    header_h_ = kMinHeaderHeight;
    for (size_t c = 0; c < table_.columns.size(); ++c) {
      const std::string& label = table_.columns[c].label;
      if (width(c) - 2 * kPad < kSmallestSize) {
        return Status::Error(name_ + ": column " + label + " is too narrow to print");
      }
      if (!LayOut(header_, label, width(c), area_.h / 4, kHeaderSize, kSmallestSize, kPad)) {
        return Status::Error(name_ + ": column " + label + ": the label does not fit its column");
      }
      if (header_.unknown_glyphs() > 0) {
        return Status::Error(name_ + ": the label of column " + std::to_string(c + 1) +
                             std::string(kNoCharacter));
      }
      header_h_ = std::max(header_h_, header_.height() + 2 * kPad);
    }
    return Status::Ok();
  }

  double header_height() const { return header_h_; }

  // Lays row `r` out in the column boxes; returns its height (at most a
  // page's, under the header).
  Result<double> LayOutRow(size_t r) {
    const std::vector<std::string>& row = table_.rows[r];
    const double most = area_.h - header_h_;
    double tallest = 0;
    for (size_t c = 0; c < row.size(); ++c) {
      if (row[c].empty()) continue;
      TextBox& box = cells_[c];
      // Up to kLongRow at 9 pt down to 6 pt; longer, at 6 pt the row grows,
      // and only what a page cannot hold at 6 pt is set smaller still.
      if (!LayOut(box, row[c], width(c), kLongRow, kCellSize, kLongCellSize, kPad) &&
          !LayOut(box, row[c], width(c), most, kLongCellSize, kSmallestSize, kPad)) {
        return Status::Error(RowName(name_, r) + ": " + table_.columns[c].label +
                             " is too long to print on one page");
      }
      if (box.unknown_glyphs() > 0) {
        return Status::Error(RowName(name_, r) + ": " + table_.columns[c].label +
                             std::string(kNoCharacter));
      }
      tallest = std::max(tallest, box.height());
    }
    return std::min(most, std::max(kMinRowHeight, tallest + 2 * kPad));
  }

  void DrawHeader(cairo_t* cr, double y) {
    FillRect(cr, {area_.x, y, area_.w, header_h_}, 0.88);
    for (size_t c = 0; c < table_.columns.size(); ++c) {
      LayOut(header_, table_.columns[c].label, width(c), area_.h / 4, kHeaderSize, kSmallestSize,
             kPad);
      header_.Draw(cr, edges_[c] + kPad, y + (header_h_ - header_.height()) / 2);
    }
    StrokeCells(cr, y, header_h_);
  }

  // The row LayOutRow() laid out last, `height` tall from `y`.
  void DrawRow(cairo_t* cr, size_t r, double y, double height) {
    const std::vector<std::string>& row = table_.rows[r];
    for (size_t c = 0; c < row.size(); ++c) {
      if (row[c].empty()) continue;
      cells_[c].Draw(cr, edges_[c] + kPad, y + (height - cells_[c].height()) / 2);
    }
    StrokeCells(cr, y, height);
  }

  // A table without rows says so in one row across.
  void DrawNone(cairo_t* cr, double y) {
    header_.SetWidth(area_.w);
    header_.SetSize(kCellSize);
    header_.SetText("（なし）");
    header_.Draw(cr, area_.x, y + (kMinRowHeight - header_.height()) / 2);
    cairo_set_line_width(cr, 0.4);
    cairo_rectangle(cr, area_.x, y, area_.w, kMinRowHeight);
    cairo_stroke(cr);
  }

 private:
  double width(size_t c) const { return edges_[c + 1] - edges_[c]; }

  void StrokeCells(cairo_t* cr, double y, double height) {
    cairo_set_line_width(cr, 0.4);
    for (size_t c = 0; c + 1 < edges_.size(); ++c) {
      cairo_rectangle(cr, edges_[c], y, width(c), height);
    }
    cairo_stroke(cr);
  }

  const DocumentTable& table_;
  const Rect area_;
  const std::string name_;
  std::vector<double> edges_;  // columns' left edges, then the right edge
  double header_h_ = kMinHeaderHeight;
  TextBox header_;
  std::vector<TextBox> cells_;  // one per column, reused for every row
};

// ---------------------------------------------------------------------------
// The composer: the same walk through the document measures (no canvas)
// and draws.

class Composer {
 public:
  // `canvas` null: nothing is drawn; pages() then says how many there are.
  Composer(const Document& doc, const Typesetter& ts, PdfCanvas* canvas, int pages)
      : doc_(doc),
        ts_(ts),
        canvas_(canvas),
        size_(doc.landscape ? kLandscape : kPortrait),
        area_(ContentArea(size_)),
        line_factor_(LineFactor(ts)),
        head_(ts, doc.head, pages, ""),
        text_(ts, Face::kGothic, kHeadingSize),
        label_(ts, Face::kGothic, kLabelSize),
        value_(ts, Face::kGothic, kValueSize) {}

  Status Run() {
    if (Status s = head_.Prepare(); !s.ok()) return s;
    if (head_.unknown_glyphs() > 0) {
      return Status::Error("the running head" + std::string(kNoCharacter));
    }
    page_ = 1;
    y_ = area_.y;
    if (drawing()) head_.Draw(cr(), size_, page_);
    if (Status s = Title(); !s.ok()) return s;
    for (size_t b = 0; b < doc_.blocks.size(); ++b) {
      const DocumentBlock& block = doc_.blocks[b];
      const std::string name = BlockName(b, block.kind);
      if (!AtTop()) {
        y_ += block.kind == DocumentBlock::Kind::kHeading ? kHeadingGap : kBlockGap;
      }
      Status s = Status::Ok();
      switch (block.kind) {
        case DocumentBlock::Kind::kHeading:
          s = Heading(name, block.text, b + 1 < doc_.blocks.size() ? Lead(doc_.blocks[b + 1]) : 0);
          break;
        case DocumentBlock::Kind::kParagraph:
          s = Paragraph(name, block.text);
          break;
        case DocumentBlock::Kind::kFields:
          s = Fields(name, block.fields);
          break;
        case DocumentBlock::Kind::kTable:
          s = Table(name, block.table);
          break;
      }
      if (!s.ok()) return s;
    }
    if (drawing()) return canvas_->EndPage();
    return Status::Ok();
  }

  int pages() const { return page_; }

 private:
  bool drawing() const { return canvas_ != nullptr; }
  cairo_t* cr() const { return canvas_->cr(); }
  bool AtTop() const { return y_ <= area_.y; }

  Status NewPage() {
    if (drawing()) {
      if (Status s = canvas_->EndPage(); !s.ok()) return s;
      canvas_->StartPage(size_);
    }
    ++page_;
    y_ = area_.y;
    if (drawing()) head_.Draw(cr(), size_, page_);
    return Status::Ok();
  }

  // A new page unless `height` fits below y_ (or y_ is at the top already:
  // nothing would fit better on the next page).
  Status Need(double height) {
    if (AtTop() || y_ + height <= area_.bottom()) return Status::Ok();
    return NewPage();
  }

  // Page 1: the title, centred, and the subtitle lines at the right.
  Status Title() {
    if (doc_.title.empty() && doc_.subtitle.empty()) return Status::Ok();
    double y = y_;
    text_.SetWidth(area_.w);
    if (!doc_.title.empty()) {
      text_.SetSize(kTitleSize);
      text_.SetAlignment(PANGO_ALIGN_CENTER);
      text_.SetText(doc_.title);
      if (text_.unknown_glyphs() > 0) return Status::Error("the title" + std::string(kNoCharacter));
      if (drawing()) text_.Draw(cr(), area_.x, y);
      y += text_.height() + Mm(3);
    }
    text_.SetSize(kSubtitleSize);
    text_.SetAlignment(PANGO_ALIGN_RIGHT);
    for (size_t i = 0; i < doc_.subtitle.size(); ++i) {
      text_.SetText(doc_.subtitle[i]);
      if (text_.unknown_glyphs() > 0) {
        return Status::Error("subtitle line " + std::to_string(i + 1) + std::string(kNoCharacter));
      }
      if (drawing()) text_.Draw(cr(), area_.x, y);
      y += text_.height();
    }
    text_.SetAlignment(PANGO_ALIGN_LEFT);
    if (y - area_.y > area_.h / 2) {
      return Status::Error("the title and subtitle are too long to print on the first page");
    }
    y_ = y + Mm(3);
    return Status::Ok();
  }

  // About how tall the first piece of `block` is: what a heading before it
  // needs on its page.
  double Lead(const DocumentBlock& block) const {
    const double line = kValueSize * line_factor_ + 2 * kFieldPad;
    switch (block.kind) {
      case DocumentBlock::Kind::kHeading:
        return kHeadingGap + kHeadingSize * line_factor_;
      case DocumentBlock::Kind::kParagraph:
        return kBlockGap + kParagraphSize * line_factor_ * kParagraphSpacing;
      case DocumentBlock::Kind::kFields:
        return kBlockGap + std::max(kMinRowHeight, line);
      case DocumentBlock::Kind::kTable:
        return kBlockGap + kMinHeaderHeight + std::max(kMinRowHeight, line);
    }
    return 0;
  }

  // The heading, underlined, on the page of what follows (`lead` tall).
  Status Heading(const std::string& name, const std::string& text, double lead) {
    text_.SetWidth(area_.w);
    text_.SetSize(kHeadingSize);
    text_.SetText(text);
    if (text_.unknown_glyphs() > 0) return Status::Error(name + std::string(kNoCharacter));
    const double rule = text_.height() + Mm(1);
    if (Status s = Need(rule + lead); !s.ok()) return s;
    if (drawing()) {
      text_.Draw(cr(), area_.x, y_);
      Line(cr(), area_.x, y_ + rule, area_.right(), y_ + rule, 0.6);
    }
    y_ += rule + Mm(1);
    return Status::Ok();
  }

  // Laid out once, its lines dealt out to pages.
  Status Paragraph(const std::string& name, const std::string& text) {
    TextBox body(ts_, Face::kMincho, kParagraphSize);
    body.SetWidth(area_.w);
    pango_layout_set_line_spacing(body.layout(), kParagraphSpacing);
    body.SetText(text);
    if (body.unknown_glyphs() > 0) return Status::Error(name + std::string(kNoCharacter));
    LayoutIterPtr iter(pango_layout_get_iter(body.layout()));
    double origin = y_;  // where the layout's y = 0 falls on this page
    double end = y_;
    do {
      int top = 0;
      int bottom = 0;
      pango_layout_iter_get_line_yrange(iter.get(), &top, &bottom);
      const double line_top = top / double{PANGO_SCALE};
      const double line_bottom = bottom / double{PANGO_SCALE};
      if (origin + line_bottom > area_.bottom() && origin + line_top > area_.y) {
        if (Status s = NewPage(); !s.ok()) return s;
        origin = area_.y - line_top;
      }
      if (drawing()) {
        PangoRectangle logical{};
        pango_layout_iter_get_line_extents(iter.get(), nullptr, &logical);
        const double baseline = pango_layout_iter_get_baseline(iter.get()) / double{PANGO_SCALE};
        cairo_move_to(cr(), area_.x + logical.x / double{PANGO_SCALE}, origin + baseline);
        pango_cairo_show_layout_line(cr(), pango_layout_iter_get_line_readonly(iter.get()));
      }
      end = origin + line_bottom;
    } while (pango_layout_iter_next_line(iter.get()));
    y_ = end;
    return Status::Ok();
  }

  // Label/value rows, each as tall as its longer side, split between rows.
  Status Fields(const std::string& name, const std::vector<DocumentField>& fields) {
    const double label_w = std::min(Mm(44), area_.w * 0.3);
    const double value_w = area_.w - label_w;
    for (const DocumentField& field : fields) {
      const std::string where = name + ": " + field.label;
      if (!LayOut(label_, field.label, label_w, area_.h, kLabelSize, kSmallestSize, kFieldPad) ||
          !LayOut(value_, field.value, value_w, area_.h, kValueSize, kSmallestSize, kFieldPad)) {
        return Status::Error(where + " is too long to print on one page");
      }
      if (label_.unknown_glyphs() > 0 || value_.unknown_glyphs() > 0) {
        return Status::Error(where + std::string(kNoCharacter));
      }
      const double height = std::min(
          area_.h,
          std::max(kMinRowHeight, std::max(label_.height(), value_.height()) + 2 * kFieldPad));
      if (Status s = Need(height); !s.ok()) return s;
      if (drawing()) {
        const Rect label{area_.x, y_, label_w, height};
        const Rect value{area_.x + label_w, y_, value_w, height};
        FillRect(cr(), label, 0.92);
        label_.Draw(cr(), label.x + kFieldPad, y_ + (height - label_.height()) / 2);
        value_.Draw(cr(), value.x + kFieldPad, y_ + (height - value_.height()) / 2);
        cairo_set_line_width(cr(), 0.5);
        cairo_rectangle(cr(), label.x, label.y, label.w, label.h);
        cairo_rectangle(cr(), value.x, value.y, value.w, value.h);
        cairo_stroke(cr());
      }
      y_ += height;
    }
    return Status::Ok();
  }

  // The header row, then rows while they fit; on each new page the header
  // again.
  Status Table(const std::string& name, const DocumentTable& table) {
    TablePrinter printer(ts_, table, area_, name);
    if (Status s = printer.Prepare(); !s.ok()) return s;
    const double header = printer.header_height();
    if (table.rows.empty()) {
      if (Status s = Need(header + kMinRowHeight); !s.ok()) return s;
      if (drawing()) {
        printer.DrawHeader(cr(), y_);
        printer.DrawNone(cr(), y_ + header);
      }
      y_ += header + kMinRowHeight;
      return Status::Ok();
    }
    bool headed = false;  // the header row is on this page
    for (size_t r = 0; r < table.rows.size(); ++r) {
      auto height = printer.LayOutRow(r);
      if (!height.ok()) return height.status();
      if (headed && y_ + *height > area_.bottom()) {
        if (Status s = NewPage(); !s.ok()) return s;
        headed = false;
      }
      if (!headed) {
        if (Status s = Need(header + *height); !s.ok()) return s;
        if (drawing()) printer.DrawHeader(cr(), y_);
        y_ += header;
        headed = true;
      }
      if (drawing()) printer.DrawRow(cr(), r, y_, *height);
      y_ += *height;
    }
    return Status::Ok();
  }

  const Document& doc_;
  const Typesetter& ts_;
  PdfCanvas* const canvas_;
  const PageSize size_;
  const Rect area_;
  const double line_factor_;
  RunningHead head_;
  int page_ = 0;
  double y_ = 0;  // where the next thing goes on the page
  TextBox text_;  // title, subtitle, headings
  TextBox label_;
  TextBox value_;
};

}  // namespace

Result<PaperWritten> WriteDocumentPdf(const Document& doc, const std::string& path) {
  if (Status s = Validate(doc); !s.ok()) return s;
  auto file = AtomicFile::Create(path);
  if (!file.ok()) return file.status();
  int pages = 0;
  {
    PdfCanvas canvas(*file, doc.landscape ? kLandscape : kPortrait);
    if (!doc.title.empty()) canvas.SetTitle(doc.title);
    const Typesetter ts(canvas.cr());
    Composer measure(doc, ts, nullptr, 0);
    if (Status s = measure.Run(); !s.ok()) return file->Abandon(s);
    pages = measure.pages();
    Composer draw(doc, ts, &canvas, pages);
    if (Status s = draw.Run(); !s.ok()) return file->Abandon(s);
    if (draw.pages() != pages) {
      return file->Abandon(Status::Internal("drew " + std::to_string(draw.pages()) + " pages of " +
                                            std::to_string(pages)));
    }
    if (Status s = canvas.Finish(); !s.ok()) return file->Abandon(s);
  }
  PaperWritten written;
  written.pages = pages;
  return Seal(*file, written);
}

}  // namespace itaku::transports
