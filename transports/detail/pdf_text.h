// What the paper writers share (paper_pdf.cc: deliveries and letters;
// document_pdf.cc: registers, slips, reports): A4 pages in points, Japanese
// text set with pango in Debian's IPAex fonts, a cairo PDF surface writing
// into an AtomicFile, the running head and "n / N" of every page, and the
// sealing of the finished file.
//
// Not thread-safe: one document is made on one thread, with its own
// Typesetter (its own pango font map).
#pragma once

#include <cairo.h>
#include <glib-object.h>
#include <pango/pangocairo.h>

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "contracts/base/atomic_file.h"
#include "contracts/base/status.h"
#include "transports/paper_pdf.h"

namespace itaku::transports::detail {

// ---------------------------------------------------------------------------
// Units, pages

constexpr double Mm(double mm) { return mm * 72.0 / 25.4; }

struct PageSize {
  double width;
  double height;
};
constexpr PageSize kPortrait{Mm(210), Mm(297)};
constexpr PageSize kLandscape{Mm(297), Mm(210)};

struct Rect {
  double x = 0;
  double y = 0;
  double w = 0;
  double h = 0;
  double right() const { return x + w; }
  double bottom() const { return y + h; }
};

// Every page: the running head above kHeadRule, the folio ("n / N") below
// the content area.
constexpr double kSideMargin = Mm(14);
constexpr double kHeadTop = Mm(8);
constexpr double kHeadRule = Mm(19.5);
constexpr double kContentTop = Mm(23);
constexpr double kFootSpace = Mm(17);
constexpr double kFolioFromBottom = Mm(12);

inline Rect ContentArea(PageSize page) {
  return {kSideMargin, kContentTop, page.width - 2 * kSideMargin,
          page.height - kContentTop - kFootSpace};
}

std::string Errno(int err);

// Valid UTF-8 without NUL bytes: what pango can print.
bool IsText(std::string_view s);

// "4  /  9" (pdftotext reads it as "4 / 9").
std::string Folio(int page, int pages);

// ---------------------------------------------------------------------------
// cairo and pango handles

template <auto kFree>
struct Freer {
  template <typename T>
  void operator()(T* p) const {
    kFree(p);
  }
};
using SurfacePtr = std::unique_ptr<cairo_surface_t, Freer<cairo_surface_destroy>>;
using CairoPtr = std::unique_ptr<cairo_t, Freer<cairo_destroy>>;
using FontOptionsPtr = std::unique_ptr<cairo_font_options_t, Freer<cairo_font_options_destroy>>;
using FontDescPtr = std::unique_ptr<PangoFontDescription, Freer<pango_font_description_free>>;
using LayoutIterPtr = std::unique_ptr<PangoLayoutIter, Freer<pango_layout_iter_free>>;
template <typename T>
using GPtr = std::unique_ptr<T, Freer<g_object_unref>>;

enum class Face { kGothic, kMincho, kMono };

// The pango context of one document: its own font map (nothing cached
// beyond the document), sizes in points (72 dpi: one point is one unit of
// the PDF page), no hinting and unrounded glyph positions, as suits a
// vector surface.
class Typesetter {
 public:
  explicit Typesetter(cairo_t* cr);

  GPtr<PangoLayout> NewLayout() const {
    return GPtr<PangoLayout>(pango_layout_new(context_.get()));
  }

 private:
  GPtr<PangoFontMap> map_;
  GPtr<PangoContext> context_;
};

// One PangoLayout, reused for many texts (a table column, a label): set
// the width, size and text, measure, draw. Sizes are in points.
class TextBox {
 public:
  TextBox(const Typesetter& ts, Face face, double size,
          PangoAlignment alignment = PANGO_ALIGN_LEFT);

  void SetSize(double size);
  // Wraps lines at `width`; 0: no wrapping.
  void SetWidth(double width);
  void SetAlignment(PangoAlignment alignment);
  void SetText(std::string_view text);

  double size() const { return size_; }
  double width() const { return Logical().width / static_cast<double>(PANGO_SCALE); }
  double height() const { return Logical().height / static_cast<double>(PANGO_SCALE); }

  // Whether the text is at most `max_height` tall and, when wrapped, no
  // line overflows (a glyph wider than the width cannot be broken).
  bool Fits(double max_height) const;
  // Sets the text smaller, half a point at a time down to `min_size`, until
  // it Fits(max_height); false when it does not fit even then.
  bool ShrinkToFit(double max_height, double min_size);

  // Draws the layout with its top left corner at (x, y).
  void Draw(cairo_t* cr, double x, double y) const;
  PangoLayout* layout() const { return layout_.get(); }
  // Characters of the text no installed font has a glyph for (printed as
  // boxes): a sheet must show what was delivered, or nothing.
  int unknown_glyphs() const { return pango_layout_get_unknown_glyphs_count(layout_.get()); }

 private:
  PangoRectangle Logical() const;

  GPtr<PangoLayout> layout_;
  FontDescPtr desc_;
  double size_ = 0;
};

// Lays `text` out in a box `box_w` x `box_h` with `pad` on every side,
// starting at `size` and shrinking down to `min_size`; false when it does
// not fit.
bool LayOut(TextBox& box, std::string_view text, double box_w, double box_h, double size,
            double min_size, double pad);

// LayOut, then draws it vertically centred in `r`.
bool PutText(cairo_t* cr, TextBox& box, std::string_view text, const Rect& r, double size,
             double min_size, double pad = 3);

// How tall a line of IPAex text is, per point of font size.
double LineFactor(const Typesetter& ts);

// The left edges of `columns` side by side from `left`, sharing `width` by
// their weights (all above 0), then the right edge.
std::vector<double> ColumnEdges(const std::vector<PaperColumn>& columns, double left, double width);

void StrokeRect(cairo_t* cr, const Rect& r, double line_width = 0.6);
void FillRect(cairo_t* cr, const Rect& r, double gray);
void Line(cairo_t* cr, double x0, double y0, double x1, double y1, double line_width = 0.5);

// ---------------------------------------------------------------------------
// A cairo PDF surface writing into an AtomicFile (buffered: cairo hands its
// output over in small pieces).

class PdfCanvas {
 public:
  PdfCanvas(AtomicFile& out, PageSize first);
  PdfCanvas(const PdfCanvas&) = delete;
  PdfCanvas& operator=(const PdfCanvas&) = delete;

  cairo_t* cr() const { return cr_.get(); }
  void SetTitle(const std::string& title);
  // Before anything is drawn on the page.
  void StartPage(PageSize size);
  Status EndPage();
  // Ends the PDF and flushes it into the file.
  Status Finish();

 private:
  struct Sink {
    AtomicFile* out;
    std::string buffer;
    Status status;

    static cairo_status_t Write(void* closure, const unsigned char* data, unsigned int length);
    Status Flush();
  };

  Status Check() const;

  // Declared first: the surface writes into it until it is destroyed.
  Sink sink_;
  SurfacePtr surface_;
  CairoPtr cr_;
};

// Size, SHA-256, then the rename: the file appears complete or not at all.
Result<PaperWritten> Seal(AtomicFile& file, PaperWritten written);

// ---------------------------------------------------------------------------
// The running head and the folio of every page.

// What a delivery's head says when its notice is left empty.
constexpr std::string_view kDefaultNotice =
    "本書は委託業務のためにのみ使用し、複写・転記・第三者への提供を禁じます。";

class RunningHead {
 public:
  // `default_notice` is printed when head.notice is empty ("": no notice).
  RunningHead(const Typesetter& ts, const PaperRunningHead& head, int pages,
              std::string_view default_notice = kDefaultNotice);

  // Lays the head out for the narrower (portrait) page; the same sizes are
  // used on landscape pages.
  Status Prepare();
  // After Prepare(): characters of the head no installed font can print.
  int unknown_glyphs() const;

  void Draw(cairo_t* cr, PageSize page, int page_no);

 private:
  const PaperRunningHead& head_;
  const int pages_;
  const std::string_view default_notice_;
  double contractor_w_ = 0;
  TextBox contractor_;
  TextBox delivery_;
  TextBox notice_;
  TextBox folio_;
};

}  // namespace itaku::transports::detail
