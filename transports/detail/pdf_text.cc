// The paper writers' shared text and page machinery (see pdf_text.h).
#include "transports/detail/pdf_text.h"

#include <cairo-pdf.h>
#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <utility>

#include "contracts/base/files.h"

namespace itaku::transports::detail {

std::string Errno(int err) { return std::strerror(err); }

bool IsText(std::string_view s) {
  return g_utf8_validate(s.data(), static_cast<gssize>(s.size()), nullptr);
}

// The gaps are wider than a space because pdftotext takes evenly spaced
// one-character words ("4", "/", "9") for letters of one word and would
// give "4/9"; gaps of at least 0.4 em it keeps ("4 / 9").
std::string Folio(int page, int pages) {
  return std::to_string(page) + "  /  " + std::to_string(pages);
}

// ---------------------------------------------------------------------------
// Typesetting

namespace {

const char* FamilyOf(Face face) {
  switch (face) {
    case Face::kMincho:
      return "IPAexMincho";
    case Face::kMono:
      return "DejaVu Sans Mono,IPAexGothic";
    case Face::kGothic:
      break;
  }
  return "IPAexGothic";
}

}  // namespace

Typesetter::Typesetter(cairo_t* cr)
    : map_(pango_cairo_font_map_new()), context_(pango_font_map_create_context(map_.get())) {
  FontOptionsPtr options(cairo_font_options_create());
  cairo_font_options_set_hint_style(options.get(), CAIRO_HINT_STYLE_NONE);
  cairo_font_options_set_hint_metrics(options.get(), CAIRO_HINT_METRICS_OFF);
  pango_cairo_context_set_font_options(context_.get(), options.get());
  pango_cairo_context_set_resolution(context_.get(), 72);
  pango_context_set_round_glyph_positions(context_.get(), FALSE);
  pango_context_set_language(context_.get(), pango_language_from_string("ja-jp"));
  pango_cairo_update_context(cr, context_.get());
}

TextBox::TextBox(const Typesetter& ts, Face face, double size, PangoAlignment alignment)
    : layout_(ts.NewLayout()), desc_(pango_font_description_from_string(FamilyOf(face))) {
  pango_layout_set_wrap(layout_.get(), PANGO_WRAP_WORD_CHAR);
  pango_layout_set_alignment(layout_.get(), alignment);
  SetSize(size);
}

void TextBox::SetSize(double size) {
  if (size == size_) return;
  size_ = size;
  pango_font_description_set_size(desc_.get(), static_cast<int>(std::lround(size * PANGO_SCALE)));
  pango_layout_set_font_description(layout_.get(), desc_.get());
}

void TextBox::SetWidth(double width) {
  pango_layout_set_width(layout_.get(), width > 0 ? static_cast<int>(width * PANGO_SCALE) : -1);
}

void TextBox::SetAlignment(PangoAlignment alignment) {
  pango_layout_set_alignment(layout_.get(), alignment);
}

void TextBox::SetText(std::string_view text) {
  pango_layout_set_text(layout_.get(), text.data(), static_cast<int>(text.size()));
}

bool TextBox::Fits(double max_height) const {
  const PangoRectangle logical = Logical();
  const int width = pango_layout_get_width(layout_.get());
  return logical.height <= max_height * PANGO_SCALE + 1 &&
         (width < 0 || logical.width <= width + 1);
}

bool TextBox::ShrinkToFit(double max_height, double min_size) {
  while (!Fits(max_height)) {
    if (size_ <= min_size) return false;
    SetSize(std::max(min_size, size_ - 0.5));
  }
  return true;
}

void TextBox::Draw(cairo_t* cr, double x, double y) const {
  cairo_move_to(cr, x, y);
  pango_cairo_show_layout(cr, layout_.get());
}

PangoRectangle TextBox::Logical() const {
  PangoRectangle logical{};
  pango_layout_get_extents(layout_.get(), nullptr, &logical);
  return logical;
}

bool LayOut(TextBox& box, std::string_view text, double box_w, double box_h, double size,
            double min_size, double pad) {
  box.SetWidth(box_w - 2 * pad);
  box.SetSize(size);
  box.SetText(text);
  return box.ShrinkToFit(box_h - 2 * pad, min_size);
}

bool PutText(cairo_t* cr, TextBox& box, std::string_view text, const Rect& r, double size,
             double min_size, double pad) {
  if (!LayOut(box, text, r.w, r.h, size, min_size, pad)) return false;
  box.Draw(cr, r.x + pad, r.y + (r.h - box.height()) / 2);
  return true;
}

double LineFactor(const Typesetter& ts) {
  TextBox probe(ts, Face::kGothic, 10);
  probe.SetText("国");
  return probe.height() / 10;
}

std::vector<double> ColumnEdges(const std::vector<PaperColumn>& columns, double left,
                                double width) {
  double total = 0;
  for (const PaperColumn& column : columns) total += column.weight;
  std::vector<double> edges;
  double x = left;
  edges.push_back(x);
  for (const PaperColumn& column : columns) {
    x += width * column.weight / total;
    edges.push_back(x);
  }
  return edges;
}

void StrokeRect(cairo_t* cr, const Rect& r, double line_width) {
  cairo_set_line_width(cr, line_width);
  cairo_rectangle(cr, r.x, r.y, r.w, r.h);
  cairo_stroke(cr);
}

void FillRect(cairo_t* cr, const Rect& r, double gray) {
  cairo_set_source_rgb(cr, gray, gray, gray);
  cairo_rectangle(cr, r.x, r.y, r.w, r.h);
  cairo_fill(cr);
  cairo_set_source_rgb(cr, 0, 0, 0);
}

void Line(cairo_t* cr, double x0, double y0, double x1, double y1, double line_width) {
  cairo_set_line_width(cr, line_width);
  cairo_move_to(cr, x0, y0);
  cairo_line_to(cr, x1, y1);
  cairo_stroke(cr);
}

// ---------------------------------------------------------------------------
// PdfCanvas

PdfCanvas::PdfCanvas(AtomicFile& out, PageSize first)
    : sink_{&out, {}, Status::Ok()},
      surface_(
          cairo_pdf_surface_create_for_stream(&Sink::Write, &sink_, first.width, first.height)),
      cr_(cairo_create(surface_.get())) {
  // Left at cairo's default version, PDF 1.5, on purpose: from 1.5 on
  // cairo marks text whose glyph another character used first with
  // /ActualText, so that "～" (U+FF5E) after "〜" (U+301C), one glyph in
  // IPAex, is still extracted as "～".
  cairo_pdf_surface_set_metadata(surface_.get(), CAIRO_PDF_METADATA_CREATOR, "Itaku");
}

void PdfCanvas::SetTitle(const std::string& title) {
  cairo_pdf_surface_set_metadata(surface_.get(), CAIRO_PDF_METADATA_TITLE, title.c_str());
}

void PdfCanvas::StartPage(PageSize size) {
  cairo_pdf_surface_set_size(surface_.get(), size.width, size.height);
  cairo_set_source_rgb(cr(), 0, 0, 0);
}

Status PdfCanvas::EndPage() {
  cairo_show_page(cr());
  return Check();
}

Status PdfCanvas::Finish() {
  cr_.reset();
  cairo_surface_finish(surface_.get());
  if (Status s = Check(); !s.ok()) return s;
  return sink_.Flush();
}

cairo_status_t PdfCanvas::Sink::Write(void* closure, const unsigned char* data,
                                      unsigned int length) {
  auto* sink = static_cast<Sink*>(closure);
  if (!sink->status.ok()) return CAIRO_STATUS_WRITE_ERROR;
  sink->buffer.append(reinterpret_cast<const char*>(data), length);
  if (sink->buffer.size() >= (1u << 20)) sink->status = sink->Flush();
  return sink->status.ok() ? CAIRO_STATUS_SUCCESS : CAIRO_STATUS_WRITE_ERROR;
}

Status PdfCanvas::Sink::Flush() {
  if (!status.ok()) return status;
  status = out->Write(buffer);
  buffer.clear();
  return status;
}

Status PdfCanvas::Check() const {
  if (!sink_.status.ok()) return sink_.status;
  cairo_status_t s = cr_ ? cairo_status(cr_.get()) : CAIRO_STATUS_SUCCESS;
  if (s == CAIRO_STATUS_SUCCESS) s = cairo_surface_status(surface_.get());
  if (s == CAIRO_STATUS_SUCCESS) return Status::Ok();
  return Status::Internal(std::string("cairo cannot make the PDF: ") + cairo_status_to_string(s));
}

Result<PaperWritten> Seal(AtomicFile& file, PaperWritten written) {
  struct stat st {};
  if (::fstat(file.fd(), &st) != 0) {
    return file.Abandon(Status::Io("cannot stat " + file.temp_path() + ": " + Errno(errno)));
  }
  auto sha = Sha256File(file.temp_path());
  if (!sha.ok()) return file.Abandon(sha.status());
  if (Status c = file.Commit(); !c.ok()) return c;
  written.path = file.final_path();
  written.sha256 = std::move(sha).value();
  written.size = static_cast<uint64_t>(st.st_size);
  return written;
}

// ---------------------------------------------------------------------------
// RunningHead

RunningHead::RunningHead(const Typesetter& ts, const PaperRunningHead& head, int pages,
                         std::string_view default_notice)
    : head_(head),
      pages_(pages),
      default_notice_(default_notice),
      contractor_(ts, Face::kGothic, 9),
      delivery_(ts, Face::kGothic, 9, PANGO_ALIGN_RIGHT),
      notice_(ts, Face::kGothic, 7.5),
      folio_(ts, Face::kGothic, 9, PANGO_ALIGN_CENTER) {}

Status RunningHead::Prepare() {
  const Rect area = ContentArea(kPortrait);
  contractor_w_ = area.w * 0.6;
  if (!LayOut(contractor_, head_.contractor, contractor_w_, 11.5, 9, 6, 0)) {
    return Status::Error("the running head's contractor is too long to print in one line");
  }
  if (!LayOut(delivery_, head_.delivery, area.w - contractor_w_, 11.5, 9, 6, 0)) {
    return Status::Error("the running head's delivery is too long to print in one line");
  }
  const std::string_view notice = head_.notice.empty() ? default_notice_ : head_.notice;
  if (!LayOut(notice_, notice, area.w, kHeadRule - kHeadTop - 13.5, 7.5, 5.5, 0)) {
    return Status::Error("the running head's notice is too long to print");
  }
  return Status::Ok();
}

int RunningHead::unknown_glyphs() const {
  return contractor_.unknown_glyphs() + delivery_.unknown_glyphs() + notice_.unknown_glyphs();
}

void RunningHead::Draw(cairo_t* cr, PageSize page, int page_no) {
  const Rect area = ContentArea(page);
  contractor_.Draw(cr, area.x, kHeadTop);
  delivery_.SetWidth(area.w - contractor_w_);
  delivery_.Draw(cr, area.x + contractor_w_, kHeadTop);
  notice_.Draw(cr, area.x, kHeadTop + 13);
  Line(cr, area.x, kHeadRule, area.right(), kHeadRule, 0.6);
  folio_.SetWidth(area.w);
  folio_.SetText(Folio(page_no, pages_));
  folio_.Draw(cr, area.x, page.height - kFolioFromBottom);
}

}  // namespace itaku::transports::detail
