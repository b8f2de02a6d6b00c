// Paper (see paper_pdf.h). A delivery is made in three passes:
//
//  1. The drawings are opened one at a time and judged: what each is, how
//     many pages, which way up.
//  2. cairo renders every page in order, page by page, into the output: the
//     cover, the records table, the drawings (an image is placed on its
//     page; a PDF drawing's page gets a placeholder that carries only the
//     running head and the caption), the closing page.
//  3. With PDF drawings, their pages are appended to that file as an
//     incremental update: each is copied (qpdf reads it) as a form XObject
//     and drawn on its placeholder.
//
// The page count is known before anything is rendered, since every page
// prints "n / N"; memory holds one page of rows and one drawing at a time.
#include "transports/paper_pdf.h"

// qpdf 11: std::shared_ptr only, no PointerHolder (and no warning about it).
#define POINTERHOLDER_TRANSITION 4

#include <cairo-pdf.h>
#include <cairo.h>
#include <fcntl.h>
#include <glib.h>
#include <pango/pangocairo.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <qpdf/InputSource.hh>
#include <qpdf/Pipeline.hh>
#include <qpdf/Pl_Concatenate.hh>
#include <qpdf/Pl_Flate.hh>
#include <qpdf/QPDF.hh>
#include <qpdf/QPDFMatrix.hh>
#include <qpdf/QPDFObjectHandle.hh>
#include <qpdf/QPDFPageDocumentHelper.hh>
#include <qpdf/QPDFPageObjectHelper.hh>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "contracts/base/atomic_file.h"
#include "contracts/base/files.h"
#include "transports/detail/pdf_text.h"

namespace itaku::transports {

using detail::ColumnEdges;
using detail::ContentArea;
using detail::Errno;
using detail::Face;
using detail::FillRect;
using detail::Folio;
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
using detail::PutText;
using detail::Rect;
using detail::RunningHead;
using detail::Seal;
using detail::StrokeRect;
using detail::SurfacePtr;
using detail::TextBox;
using detail::Typesetter;

namespace {

// ---------------------------------------------------------------------------
// Pages (the shared units, page frame, text and canvas: detail/pdf_text.h)

// A drawing's page: the line naming the subscriber, then the drawing.
constexpr double kDrawingCaption = Mm(8);
Rect DrawingArea(PageSize page) {
  Rect area = ContentArea(page);
  area.y += kDrawingCaption;
  area.h -= kDrawingCaption;
  return area;
}

// 10000 -> "10,000".
std::string Grouped(int64_t n) {
  std::string digits = std::to_string(n < 0 ? -n : n);
  std::string out;
  for (size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) out += ',';
    out += digits[i];
  }
  return n < 0 ? "-" + out : out;
}

// ---------------------------------------------------------------------------
// Letters

// "1234567" or "123-4567" -> "〒123-4567"; "" stays "".
Result<std::string> PostalLine(const std::string& code) {
  if (code.empty()) return std::string();
  std::string digits;
  for (size_t i = 0; i < code.size(); ++i) {
    const char c = code[i];
    if (c >= '0' && c <= '9') {
      digits += c;
    } else if (!(c == '-' && i == 3 && code.size() == 8)) {
      digits.clear();
      break;
    }
  }
  if (digits.size() != 7) {
    return Status::Error("the recipient's postal code is not 7 digits (1234567 or 123-4567)");
  }
  return "〒" + digits.substr(0, 3) + "-" + digits.substr(3);
}

// Where the recipient block goes: inside the window of a 長形3号 envelope
// (about 20 mm from the left, 15 mm from the top, 90 x 40 mm), kept a few
// millimetres clear of its edges so that a letter shifted in the envelope
// still shows all of it.
constexpr Rect kWindowBlock{Mm(23), Mm(18), Mm(84), Mm(34)};

// The recipient block, set as large as fits the window (up to 12 pt for
// the name).
Status DrawRecipient(cairo_t* cr, const Typesetter& ts, const Letter& letter,
                     const std::string& postal) {
  std::vector<std::pair<std::string_view, double>> lines;  // text, size at scale 1
  if (!postal.empty()) lines.emplace_back(postal, 10);
  for (const std::string& line : letter.recipient.address_lines) lines.emplace_back(line, 10);
  lines.emplace_back(letter.recipient.name, 12);
  std::vector<TextBox> boxes;
  for (size_t i = 0; i < lines.size(); ++i) boxes.emplace_back(ts, Face::kGothic, 10);
  const double name_gap = Mm(3);
  for (int step = 0; step <= 7; ++step) {  // 100% down to 65%
    const double scale = 1.0 - 0.05 * step;
    const double leading = 2.5 * scale;
    double height = name_gap + leading * static_cast<double>(lines.size() - 1);
    for (size_t i = 0; i < lines.size(); ++i) {
      boxes[i].SetWidth(kWindowBlock.w);
      boxes[i].SetSize(lines[i].second * scale);
      boxes[i].SetText(lines[i].first);
      height += boxes[i].height();
    }
    if (height > kWindowBlock.h) continue;
    for (const TextBox& box : boxes) {
      if (box.unknown_glyphs() > 0) {
        return Status::Error(
            "the recipient's address or name has a character no installed font "
            "can print");
      }
    }
    double y = kWindowBlock.y;
    for (size_t i = 0; i < lines.size(); ++i) {
      if (i + 1 == lines.size()) y += name_gap;
      boxes[i].Draw(cr, kWindowBlock.x, y);
      y += boxes[i].height() + leading;
    }
    return Status::Ok();
  }
  return Status::Error("the recipient's address and name do not fit the envelope window (" +
                       std::to_string(lines.size()) + " lines)");
}

}  // namespace

Result<PaperWritten> WriteLetterPdf(const Letter& letter, const std::string& path) {
  std::vector<std::pair<const char*, const std::string*>> fields = {
      {"the recipient's name", &letter.recipient.name},
      {"the recipient's postal code", &letter.recipient.postal_code},
      {"the date", &letter.date},
      {"the reference", &letter.reference},
      {"the subject", &letter.subject},
      {"the body", &letter.body}};
  for (const std::string& line : letter.recipient.address_lines) {
    fields.emplace_back("the recipient's address", &line);
  }
  for (const std::string& line : letter.sender_lines) fields.emplace_back("the sender", &line);
  for (const auto& [what, text] : fields) {
    if (!IsText(*text)) return Status::Error(std::string(what) + " is not valid UTF-8 text");
  }
  if (letter.recipient.name.empty()) return Status::Error("the letter has no recipient name");
  auto postal = PostalLine(letter.recipient.postal_code);
  if (!postal.ok()) return postal.status();

  auto file = AtomicFile::Create(path);
  if (!file.ok()) return file.status();
  PdfCanvas canvas(*file, kPortrait);
  cairo_t* cr = canvas.cr();
  const Typesetter ts(cr);
  const double left = Mm(20);
  const double text_w = Mm(170);
  const double bottom = Mm(297 - 22);

  // The top right, below the window zone: date, reference, sender.
  const Rect corner{Mm(110), Mm(58), Mm(80), 0};
  TextBox corner_box(ts, Face::kMincho, 10.5, PANGO_ALIGN_RIGHT);
  corner_box.SetWidth(corner.w);
  double y = corner.y;
  for (const std::string* line : {&letter.date, &letter.reference}) {
    if (line->empty()) continue;
    corner_box.SetText(*line);
    corner_box.Draw(cr, corner.x, y);
    y += corner_box.height();
  }
  y += Mm(4);
  corner_box.SetSize(10);
  for (const std::string& line : letter.sender_lines) {
    corner_box.SetText(line);
    corner_box.Draw(cr, corner.x, y);
    y += corner_box.height();
  }

  TextBox subject(ts, Face::kGothic, 14, PANGO_ALIGN_CENTER);
  subject.SetWidth(text_w);
  subject.SetText(letter.subject);
  y = std::max(y + Mm(10), Mm(92));
  const double subject_y = y;
  y += subject.height() + Mm(8);

  // The body is laid out once; its lines are then dealt out to pages, so
  // that the page count is known before the first folio is printed.
  TextBox body(ts, Face::kMincho, 10.5);
  body.SetWidth(text_w);
  pango_layout_set_line_spacing(body.layout(), 1.5);
  body.SetText(letter.body);
  if (body.unknown_glyphs() > 0 || subject.unknown_glyphs() > 0) {
    return file->Abandon(
        Status::Error("the letter's subject or body has a character no installed font can print"));
  }
  struct Placed {
    int page;
    double baseline;
    double x;
  };
  std::vector<Placed> placed;
  {
    LayoutIterPtr iter(pango_layout_get_iter(body.layout()));
    int page = 0;
    double page_top = y;
    double offset = 0;  // the layout's y at the top of this page
    bool first_on_page = true;
    do {
      int y0 = 0;
      int y1 = 0;
      pango_layout_iter_get_line_yrange(iter.get(), &y0, &y1);
      const double top = y0 / static_cast<double>(PANGO_SCALE);
      const double end = y1 / static_cast<double>(PANGO_SCALE);
      if (!first_on_page && page_top + (end - offset) > bottom) {
        ++page;
        page_top = Mm(22);
        offset = top;
      }
      first_on_page = false;
      PangoRectangle logical{};
      pango_layout_iter_get_line_extents(iter.get(), nullptr, &logical);
      const double baseline = pango_layout_iter_get_baseline(iter.get()) / double{PANGO_SCALE};
      placed.push_back({page, page_top + (baseline - offset), logical.x / double{PANGO_SCALE}});
    } while (pango_layout_iter_next_line(iter.get()));
  }
  const int pages = placed.empty() ? 1 : placed.back().page + 1;

  if (Status s = DrawRecipient(cr, ts, letter, postal.value()); !s.ok()) {
    return file->Abandon(s);
  }
  subject.Draw(cr, left, subject_y);
  TextBox folio(ts, Face::kMincho, 9, PANGO_ALIGN_CENTER);
  folio.SetWidth(text_w);
  LayoutIterPtr iter(pango_layout_get_iter(body.layout()));
  size_t next = 0;
  for (int page = 0; page < pages; ++page) {
    if (page > 0) canvas.StartPage(kPortrait);
    for (; next < placed.size() && placed[next].page == page; ++next) {
      cairo_move_to(cr, left + placed[next].x, placed[next].baseline);
      pango_cairo_show_layout_line(cr, pango_layout_iter_get_line_readonly(iter.get()));
      pango_layout_iter_next_line(iter.get());
    }
    if (pages > 1) {
      folio.SetText(Folio(page + 1, pages));
      folio.Draw(cr, left, Mm(297 - 14));
    }
    if (Status s = canvas.EndPage(); !s.ok()) return file->Abandon(s);
  }
  if (Status s = canvas.Finish(); !s.ok()) return file->Abandon(s);
  PaperWritten written;
  written.pages = pages;
  return Seal(*file, written);
}

namespace {

// ---------------------------------------------------------------------------
// Drawings: what a file is, how big its image is, and reading it for qpdf.

// The bytes of a file the writer may read: from where its descriptor stood
// when it was opened, as many as fstat counted then.
struct Region {
  int fd = -1;
  uint64_t base = 0;
  uint64_t length = 0;
};

// Up to `n` bytes at `offset` of `region`: the count (short at the end), or
// -1 with errno set. pread: the descriptor's offset is left alone.
ssize_t ReadAt(const Region& region, uint64_t offset, void* out, size_t n) {
  if (offset >= region.length) return 0;
  n = static_cast<size_t>(std::min<uint64_t>(n, region.length - offset));
  size_t done = 0;
  while (done < n) {
    const ssize_t got = ::pread(region.fd, static_cast<char*>(out) + done, n - done,
                                static_cast<off_t>(region.base + offset + done));
    if (got < 0 && errno == EINTR) continue;
    if (got < 0) return -1;
    if (got == 0) break;
    done += static_cast<size_t>(got);
  }
  return static_cast<ssize_t>(done);
}

// A Region as qpdf reads it (a drawing, or the pages cairo wrote), through a
// small read-ahead buffer: qpdf's tokenizer asks for 128 bytes at a time.
class RegionInput : public InputSource {
 public:
  RegionInput(std::string name, const Region& region) : name_(std::move(name)), region_(region) {}

  std::string const& getName() const override { return name_; }
  qpdf_offset_t tell() override { return pos_; }
  void rewind() override { pos_ = 0; }
  void unreadCh(char) override {
    if (pos_ > 0) --pos_;
  }
  void seek(qpdf_offset_t offset, int whence) override {
    qpdf_offset_t to = offset;
    if (whence == SEEK_CUR) to += pos_;
    if (whence == SEEK_END) to += static_cast<qpdf_offset_t>(region_.length);
    if (to < 0) throw std::runtime_error(name_ + ": seek before the start of the file");
    pos_ = to;
  }
  size_t read(char* buffer, size_t length) override {
    last_offset = pos_;
    const uint64_t pos = static_cast<uint64_t>(pos_);
    if (pos >= region_.length || length == 0) return 0;
    size_t got = 0;
    if (length >= kCacheSize) {
      got = Read(pos, buffer, length);
    } else {
      if (pos < cache_start_ || pos + length > cache_start_ + cache_length_) {
        cache_length_ = Read(pos, cache_, kCacheSize);
        cache_start_ = pos;
      }
      // Here cache_start_ <= pos <= cache_start_ + cache_length_.
      got = static_cast<size_t>(std::min<uint64_t>(length, cache_start_ + cache_length_ - pos));
      std::memcpy(buffer, cache_ + (pos - cache_start_), got);
    }
    pos_ += static_cast<qpdf_offset_t>(got);
    return got;
  }
  // As qpdf's FileInputSource: to just past the next run of CR and LF;
  // returns the offset of the first of them (or of the end).
  qpdf_offset_t findAndSkipNextEOL() override {
    char buf[4096];
    for (;;) {
      const qpdf_offset_t start = tell();
      const size_t len = read(buf, sizeof buf);
      if (len == 0) return tell();
      const char* begin = buf;
      const char* end = buf + len;
      const char* p = std::find_if(begin, end, [](char c) { return c == '\r' || c == '\n'; });
      if (p == end) continue;
      const qpdf_offset_t result = start + (p - buf);
      seek(result + 1, SEEK_SET);
      char ch;
      while (read(&ch, 1) == 1) {
        if (ch != '\r' && ch != '\n') {
          unreadCh(ch);
          break;
        }
      }
      return result;
    }
  }

 private:
  static constexpr size_t kCacheSize = 16 * 1024;

  size_t Read(uint64_t offset, char* out, size_t n) {
    const ssize_t got = ReadAt(region_, offset, out, n);
    if (got < 0) throw std::runtime_error("cannot read " + name_ + ": " + Errno(errno));
    return static_cast<size_t>(got);
  }

  const std::string name_;
  const Region region_;
  qpdf_offset_t pos_ = 0;
  char cache_[kCacheSize];
  uint64_t cache_start_ = 0;
  uint64_t cache_length_ = 0;
};

enum class DrawingKind { kPdf, kPng, kJpeg };

Status NotADrawing(const std::string& label) {
  return Status::Error(label + " is not a PDF, PNG or JPEG file");
}
Status UnreadablePdf(const std::string& label) {
  return Status::Error(label + ": the PDF cannot be read (damaged or encrypted)");
}
Status Changed(const std::string& label) {
  return Status::Io(label + " changed while the paper was being made");
}

// Which file a drawing was: a drawing opened again (the writer opens each
// more than once) must be the same.
struct Identity {
  dev_t dev = 0;
  ino_t ino = 0;
  off_t size = 0;
  int64_t mtime_ns = 0;
  uint64_t base = 0;
  bool operator==(const Identity&) const = default;
};

// A drawing, open: its file, the bytes that may be read, what it is.
struct OpenedDrawing {
  SourceFile file;
  Region region;
  DrawingKind kind = DrawingKind::kPdf;
  Identity identity;
};

// By the first bytes: PNG and JPEG signatures; "%PDF-" within the first
// kilobyte, where readers look for it.
Result<DrawingKind> KindOf(const Region& region, const std::string& label) {
  char head[1024];
  const ssize_t got = ReadAt(region, 0, head, sizeof head);
  if (got < 0) return Status::Io("cannot read " + label + ": " + Errno(errno));
  const std::string_view h(head, static_cast<size_t>(got));
  if (h.substr(0, 8) == std::string_view("\x89PNG\r\n\x1a\n", 8)) return DrawingKind::kPng;
  if (h.substr(0, 3) == "\xff\xd8\xff") return DrawingKind::kJpeg;
  if (h.find("%PDF-") != std::string_view::npos) return DrawingKind::kPdf;
  return NotADrawing(label);
}

// Opens `drawing` through its own `open` (never by path); refuses one over
// its max_bytes before reading a byte, as MediaPackageWriter::AddFile does.
Result<OpenedDrawing> OpenDrawing(const PaperDrawing& drawing) {
  auto opened = drawing.open();
  if (!opened.ok()) return opened.status();
  SourceFile file = std::move(opened).value();
  const off_t at = ::lseek(file.fd(), 0, SEEK_CUR);
  struct stat st {};
  if (at < 0 || ::fstat(file.fd(), &st) != 0) {
    return Status::Io("cannot read " + file.label() + ": " + Errno(errno));
  }
  const uint64_t base = static_cast<uint64_t>(at);
  const uint64_t length = file.size() > base ? file.size() - base : 0;
  if (length > drawing.max_bytes) {
    return Status::Refused(file.label() + " is " + ByteSizeText(length) + ", over the limit of " +
                           ByteSizeText(drawing.max_bytes));
  }
  const Region region{file.fd(), base, length};
  auto kind = KindOf(region, file.label());
  if (!kind.ok()) return kind.status();
  const Identity identity{st.st_dev, st.st_ino, st.st_size,
                          int64_t{st.st_mtim.tv_sec} * 1000000000 + st.st_mtim.tv_nsec, base};
  return OpenedDrawing{std::move(file), region, *kind, identity};
}

struct Pixels {
  int width = 0;
  int height = 0;
};

// From the PNG's IHDR chunk.
std::optional<Pixels> PngSize(const Region& region) {
  unsigned char h[24];
  if (ReadAt(region, 0, h, sizeof h) != static_cast<ssize_t>(sizeof h)) return std::nullopt;
  if (std::memcmp(h + 12, "IHDR", 4) != 0) return std::nullopt;
  auto be32 = [](const unsigned char* p) {
    return uint32_t{p[0]} << 24 | uint32_t{p[1]} << 16 | uint32_t{p[2]} << 8 | uint32_t{p[3]};
  };
  const uint32_t w = be32(h + 16);
  const uint32_t ht = be32(h + 20);
  if (w == 0 || ht == 0 || w > 0x7fffffff || ht > 0x7fffffff) return std::nullopt;
  return Pixels{static_cast<int>(w), static_cast<int>(ht)};
}

// From the JPEG's start-of-frame marker, walking the segments before it;
// `read(offset, out, n)` reads exactly n bytes or returns false. Only what
// cairo can embed (1, 3 or 4 components) is accepted.
template <typename Read>
std::optional<Pixels> JpegSize(Read&& read) {
  unsigned char m[4];
  if (!read(0, m, 2) || m[0] != 0xFF || m[1] != 0xD8) return std::nullopt;
  uint64_t at = 2;
  for (int segments = 0; segments < 100000; ++segments) {
    if (!read(at, m, 2) || m[0] != 0xFF) return std::nullopt;
    const unsigned marker = m[1];
    if (marker == 0xFF) {  // fill byte
      ++at;
      continue;
    }
    if (marker == 0x01 || (marker >= 0xD0 && marker <= 0xD7)) {  // no length
      at += 2;
      continue;
    }
    if (marker == 0xD8 || marker == 0xD9 || marker == 0xDA) return std::nullopt;
    if (!read(at + 2, m + 2, 2)) return std::nullopt;
    const unsigned length = unsigned{m[2]} << 8 | m[3];
    if (length < 2) return std::nullopt;
    const bool frame =
        marker >= 0xC0 && marker <= 0xCF && marker != 0xC4 && marker != 0xC8 && marker != 0xCC;
    if (frame) {
      unsigned char f[6];  // precision, height, width, components
      if (length < 8 || !read(at + 4, f, sizeof f)) return std::nullopt;
      const int height = f[1] << 8 | f[2];
      const int width = f[3] << 8 | f[4];
      if (width == 0 || height == 0 || (f[5] != 1 && f[5] != 3 && f[5] != 4)) {
        return std::nullopt;
      }
      return Pixels{width, height};
    }
    at += 2 + length;
  }
  return std::nullopt;
}

std::optional<Pixels> JpegSizeOf(const Region& region) {
  return JpegSize([&](uint64_t offset, unsigned char* out, size_t n) {
    return ReadAt(region, offset, out, n) == static_cast<ssize_t>(n);
  });
}
std::optional<Pixels> JpegSizeOf(std::string_view data) {
  return JpegSize([&](uint64_t offset, unsigned char* out, size_t n) {
    if (offset > data.size() || data.size() - offset < n) return false;
    std::memcpy(out, data.data() + offset, n);
    return true;
  });
}

Status UnreadableImage(const std::string& label, DrawingKind kind) {
  return Status::Error(label + (kind == DrawingKind::kPng
                                    ? ": the PNG cannot be read (damaged)"
                                    : ": the JPEG cannot be read (damaged or unsupported)"));
}

QPDFObjectHandle::Rectangle Normalized(QPDFObjectHandle::Rectangle r) {
  return {std::min(r.llx, r.urx), std::min(r.lly, r.ury), std::max(r.llx, r.urx),
          std::max(r.lly, r.ury)};
}

// How a drawing page is drawn: its crop box (or media box), turned and
// scaled as its /Rotate and /UserUnit say.
struct PageGeometry {
  QPDFObjectHandle::Rectangle box;
  std::optional<QPDFObjectHandle::Matrix> matrix;
  QPDFObjectHandle::Rectangle shown;  // the box, turned
  bool landscape() const { return shown.urx - shown.llx > shown.ury - shown.lly; }
};

std::optional<PageGeometry> GeometryOf(QPDFPageObjectHelper page) {
  QPDFObjectHandle box = page.getCropBox(false, false);
  if (!box.isRectangle()) box = page.getMediaBox(false);
  if (!box.isRectangle()) return std::nullopt;
  PageGeometry g;
  g.box = Normalized(box.getArrayAsRectangle());
  if (!(g.box.urx - g.box.llx > 0) || !(g.box.ury - g.box.lly > 0)) return std::nullopt;
  if (!page.getAttribute("/Rotate", false).isNull() ||
      !page.getAttribute("/UserUnit", false).isNull()) {
    g.matrix = page.getMatrixForTransformations();
  }
  g.shown = g.matrix ? Normalized(QPDFMatrix(*g.matrix).transformRectangle(g.box)) : g.box;
  return g;
}

// What pass 1 learnt about one drawing.
struct DrawingPlan {
  DrawingKind kind = DrawingKind::kPdf;
  Identity identity;
  std::vector<bool> landscape;  // per page; an image has one
  int pages() const { return static_cast<int>(landscape.size()); }
};

// The PDF drawing `opened`, parsed by qpdf (lazily: objects are read when
// used). Throws what qpdf throws.
std::unique_ptr<QPDF> ParsePdf(OpenedDrawing& opened) {
  auto pdf = std::make_unique<QPDF>();
  pdf->setSuppressWarnings(true);
  pdf->processInputSource(std::make_shared<RegionInput>(opened.file.label(), opened.region));
  return pdf;
}

// Opens `drawing` and judges it: what it is, how many pages, which way up.
Result<DrawingPlan> PlanDrawing(const PaperDrawing& drawing) {
  auto opened = OpenDrawing(drawing);
  if (!opened.ok()) return opened.status();
  const std::string& label = opened->file.label();
  DrawingPlan plan;
  plan.kind = opened->kind;
  plan.identity = opened->identity;
  if (plan.kind != DrawingKind::kPdf) {
    const std::optional<Pixels> size =
        plan.kind == DrawingKind::kPng ? PngSize(opened->region) : JpegSizeOf(opened->region);
    if (!size) return UnreadableImage(label, plan.kind);
    plan.landscape.push_back(size->width > size->height);
    return plan;
  }
  try {
    std::unique_ptr<QPDF> pdf = ParsePdf(*opened);
    if (pdf->isEncrypted()) return UnreadablePdf(label);
    for (QPDFPageObjectHelper& page : QPDFPageDocumentHelper(*pdf).getAllPages()) {
      const std::optional<PageGeometry> geometry = GeometryOf(page);
      if (!geometry) return UnreadablePdf(label);
      plan.landscape.push_back(geometry->landscape());
    }
  } catch (const std::exception&) {
    return UnreadablePdf(label);
  }
  if (plan.landscape.empty()) return Status::Error(label + ": the PDF has no pages");
  return plan;
}

// ---------------------------------------------------------------------------
// Images on cairo pages

// Reads all of `region` (at most max_bytes, checked when it was opened).
Result<std::string> ReadAll(const Region& region, const std::string& label) {
  std::string data(static_cast<size_t>(region.length), '\0');
  const ssize_t got = ReadAt(region, 0, data.data(), data.size());
  if (got < 0) return Status::Io("cannot read " + label + ": " + Errno(errno));
  data.resize(static_cast<size_t>(got));
  return data;
}

struct PngReader {
  Region region;
  uint64_t offset = 0;
  int error = 0;
  static cairo_status_t Read(void* closure, unsigned char* out, unsigned int length) {
    auto* reader = static_cast<PngReader*>(closure);
    const ssize_t got = ReadAt(reader->region, reader->offset, out, length);
    if (got < 0) reader->error = errno;
    if (got != static_cast<ssize_t>(length)) return CAIRO_STATUS_READ_ERROR;
    reader->offset += length;
    return CAIRO_STATUS_SUCCESS;
  }
};

// The image of a PNG or JPEG drawing, as cairo embeds it, and its size in
// pixels.
struct Image {
  SurfacePtr surface;
  Pixels size;
};

// A PNG is decoded (cairo_image_surface_create_from_png_stream); a JPEG is
// embedded as it is, never decoded: its bytes are attached to a surface of
// its size that holds no pixels (a recording surface, empty), which cairo's
// PDF surface writes as a DCTDecode image. An image surface of that size
// would do as well, but cairo copies one it still holds a snapshot of when
// it is released: 280 MB for a 600 dpi A4 scan.
Result<Image> LoadImage(const Region& region, DrawingKind kind, const std::string& label) {
  if (kind == DrawingKind::kPng) {
    PngReader reader{region};
    SurfacePtr png(cairo_image_surface_create_from_png_stream(&PngReader::Read, &reader));
    if (reader.error != 0) return Status::Io("cannot read " + label + ": " + Errno(reader.error));
    if (cairo_surface_status(png.get()) != CAIRO_STATUS_SUCCESS) {
      return UnreadableImage(label, kind);
    }
    const Pixels size{cairo_image_surface_get_width(png.get()),
                      cairo_image_surface_get_height(png.get())};
    return Image{std::move(png), size};
  }
  auto data = ReadAll(region, label);
  if (!data.ok()) return data.status();
  const std::optional<Pixels> size = JpegSizeOf(*data);
  if (!size) return UnreadableImage(label, kind);
  const cairo_rectangle_t extents{0, 0, static_cast<double>(size->width),
                                  static_cast<double>(size->height)};
  SurfacePtr jpeg(cairo_recording_surface_create(CAIRO_CONTENT_COLOR, &extents));
  auto* bytes = new std::string(std::move(data).value());
  const cairo_status_t attached = cairo_surface_set_mime_data(
      jpeg.get(), CAIRO_MIME_TYPE_JPEG, reinterpret_cast<const unsigned char*>(bytes->data()),
      bytes->size(), [](void* p) { delete static_cast<std::string*>(p); }, bytes);
  if (attached != CAIRO_STATUS_SUCCESS) {
    delete bytes;
    return Status::Internal(label + ": cairo cannot attach the JPEG");
  }
  return Image{std::move(jpeg), *size};
}

// Scales `image` to fit `area`, centred.
void PaintImage(cairo_t* cr, const Image& image, const Rect& area) {
  const double w = image.size.width;
  const double h = image.size.height;
  const double scale = std::min(area.w / w, area.h / h);
  cairo_save(cr);
  cairo_translate(cr, area.x + (area.w - w * scale) / 2, area.y + (area.h - h * scale) / 2);
  cairo_scale(cr, scale, scale);
  cairo_set_source_surface(cr, image.surface.get(), 0, 0);
  cairo_pattern_set_filter(cairo_get_source(cr), CAIRO_FILTER_GOOD);
  cairo_paint(cr);
  cairo_restore(cr);
}

// ---------------------------------------------------------------------------
// The records table

constexpr double kCellSize = 9;
constexpr double kMinCellSize = 5;
constexpr double kCellPad = 2;

class RecordTable {
 public:
  RecordTable(const Typesetter& ts, const std::vector<PaperColumn>& columns, int rows_per_page)
      : columns_(columns),
        rows_per_page_(rows_per_page),
        area_(ContentArea(kLandscape)),
        line_factor_(LineFactor(ts)),
        header_(ts, Face::kGothic, 8, PANGO_ALIGN_CENTER) {
    for (size_t i = 0; i < columns.size(); ++i) cells_.emplace_back(ts, Face::kGothic, kCellSize);
  }

  // Column edges, row height and type sizes; refuses columns and row counts
  // that cannot be printed.
  Status Prepare() {
    for (const PaperColumn& column : columns_) {
      if (!(column.weight > 0) || !std::isfinite(column.weight)) {
        return Status::Error("column " + column.label +
                             " has no width (its weight must be above 0)");
      }
    }
    edges_ = ColumnEdges(columns_, area_.x, area_.w);
    row_h_ = (area_.h - kHeaderHeight) / rows_per_page_;
    const double inner = row_h_ - 2 * kCellPad;
    if (inner < kMinCellSize * line_factor_) {
      const int most = static_cast<int>((area_.h - kHeaderHeight) /
                                        (kMinCellSize * line_factor_ + 2 * kCellPad));
      return Status::Error("rows_per_page " + std::to_string(rows_per_page_) +
                           " is too many for a landscape A4 page (at most " + std::to_string(most) +
                           ")");
    }
    base_size_ = std::min(kCellSize, inner / line_factor_);
    const int64_t lines = static_cast<int64_t>(inner / (kMinCellSize * line_factor_));
    for (size_t c = 0; c < columns_.size(); ++c) {
      const double width = edges_[c + 1] - edges_[c] - 2 * kCellPad;
      const int64_t per_line = static_cast<int64_t>(width / kMinCellSize);
      if (per_line < 1)
        return Status::Error("column " + columns_[c].label + " is too narrow to print");
      max_chars_.push_back(lines * per_line);
      if (!IsText(columns_[c].label))
        return Status::Error("a column label is not valid UTF-8 text");
      if (!LayOut(header_, columns_[c].label, edges_[c + 1] - edges_[c], kHeaderHeight, 8, 5,
                  kCellPad)) {
        return Status::Error("column " + columns_[c].label + ": the label does not fit its column");
      }
    }
    return Status::Ok();
  }

  void DrawHeader(cairo_t* cr) {
    FillRect(cr, {area_.x, area_.y, area_.w, kHeaderHeight}, 0.88);
    for (size_t c = 0; c < columns_.size(); ++c) {
      PutText(cr, header_, columns_[c].label,
              {edges_[c], area_.y, edges_[c + 1] - edges_[c], kHeaderHeight}, 8, 5, kCellPad);
    }
  }

  // Row `slot` of the page: record number `record` (1-based, for errors).
  Status DrawRow(cairo_t* cr, int slot, int64_t record, const std::vector<std::string>& row) {
    if (row.size() != columns_.size()) {
      return Status::Internal("record " + std::to_string(record) + " has " +
                              std::to_string(row.size()) + " cells for " +
                              std::to_string(columns_.size()) + " columns");
    }
    const double top = area_.y + kHeaderHeight + slot * row_h_;
    for (size_t c = 0; c < row.size(); ++c) {
      const std::string& cell = row[c];
      if (cell.empty()) continue;
      if (!IsText(cell)) {
        return Status::Error("record " + std::to_string(record) + ": " + columns_[c].label +
                             " is not valid UTF-8 text");
      }
      TextBox& box = cells_[c];
      if (!LayOut(box, cell, edges_[c + 1] - edges_[c], row_h_, base_size_, kMinCellSize,
                  kCellPad)) {
        return Status::Error("record " + std::to_string(record) + ": " + columns_[c].label +
                             " is too long to print in one cell (at most " +
                             std::to_string(max_chars_[c]) + " characters)");
      }
      if (box.unknown_glyphs() > 0) {
        return Status::Error("record " + std::to_string(record) + ": " + columns_[c].label +
                             " has a character no installed font can print");
      }
      box.Draw(cr, edges_[c] + kCellPad, top + (row_h_ - box.height()) / 2);
    }
    return Status::Ok();
  }

  // The lines around the header and `rows` rows.
  void DrawGrid(cairo_t* cr, int rows) {
    const double body = area_.y + kHeaderHeight;
    const double bottom = body + rows * row_h_;
    cairo_set_line_width(cr, 0.4);
    cairo_move_to(cr, area_.x, area_.y);
    cairo_line_to(cr, area_.right(), area_.y);
    for (int r = 0; r <= rows; ++r) {
      cairo_move_to(cr, area_.x, body + r * row_h_);
      cairo_line_to(cr, area_.right(), body + r * row_h_);
    }
    for (double x : edges_) {
      cairo_move_to(cr, x, area_.y);
      cairo_line_to(cr, x, bottom);
    }
    cairo_stroke(cr);
  }

 private:
  static constexpr double kHeaderHeight = Mm(9);

  const std::vector<PaperColumn>& columns_;
  const int rows_per_page_;
  const Rect area_;
  const double line_factor_;
  std::vector<double> edges_;  // columns' left edges, then the right edge
  double row_h_ = 0;
  double base_size_ = kCellSize;
  std::vector<int64_t> max_chars_;  // per column, at the smallest size
  std::vector<TextBox> cells_;      // one layout per column, reused for every row
  TextBox header_;
};

// ---------------------------------------------------------------------------
// The cover (個人データ授受管理票) and the closing page (返却・廃棄確認書)

struct Counts {
  int record_pages = 1;
  int drawing_pages = 0;
  int total = 3;
};

struct Entry {
  std::string label;
  std::string value;
  Face face = Face::kGothic;
  double height = Mm(7.2);
};

// Text boxes the cover and the closing page share.
struct SlipBoxes {
  explicit SlipBoxes(const Typesetter& ts)
      : title(ts, Face::kGothic, 18, PANGO_ALIGN_CENTER),
        label(ts, Face::kGothic, 9),
        value(ts, Face::kGothic, 10),
        mono(ts, Face::kMono, 9),
        small(ts, Face::kGothic, 8.5),
        centred(ts, Face::kGothic, 9, PANGO_ALIGN_CENTER) {}
  TextBox title;
  TextBox label;
  TextBox value;
  TextBox mono;
  TextBox small;
  TextBox centred;
};

// A two-column table of `entries` from `y`; returns the y below it.
Result<double> DrawEntries(cairo_t* cr, SlipBoxes& boxes, const Rect& area, double y,
                           const std::vector<Entry>& entries, const char* page) {
  const double label_w = Mm(44);
  const double top = y;
  for (const Entry& entry : entries) {
    const Rect label{area.x, y, label_w, entry.height};
    const Rect value{area.x + label_w, y, area.w - label_w, entry.height};
    FillRect(cr, label, 0.92);
    PutText(cr, boxes.label, entry.label, label, 9, 6);
    TextBox& box = entry.face == Face::kMono ? boxes.mono : boxes.value;
    if (!PutText(cr, box, entry.value, value, entry.face == Face::kMono ? 9 : 10, 6)) {
      return Status::Error(std::string(page) + ": " + entry.label +
                           " is too long to print in its box");
    }
    y += entry.height;
  }
  cairo_set_line_width(cr, 0.5);
  double line = top;
  for (size_t i = 0; i <= entries.size(); ++i) {
    cairo_move_to(cr, area.x, line);
    cairo_line_to(cr, area.right(), line);
    if (i < entries.size()) line += entries[i].height;
  }
  cairo_move_to(cr, area.x, top);
  cairo_line_to(cr, area.x, y);
  cairo_move_to(cr, area.x + label_w, top);
  cairo_line_to(cr, area.x + label_w, y);
  cairo_move_to(cr, area.right(), top);
  cairo_line_to(cr, area.right(), y);
  cairo_stroke(cr);
  return y;
}

// A box to sign: a title bar, then 氏名, 署名 and 日付 rows.
void DrawSignatureBox(cairo_t* cr, SlipBoxes& boxes, const Rect& r, std::string_view title) {
  const double bar = Mm(7);
  FillRect(cr, {r.x, r.y, r.w, bar}, 0.88);
  PutText(cr, boxes.centred, title, {r.x, r.y, r.w, bar}, 9, 6);
  const double label_w = Mm(16);
  const double rows[] = {Mm(10), Mm(14), r.h - bar - Mm(24)};
  const char* labels[] = {"氏名", "署名", "日付"};
  double y = r.y + bar;
  for (int i = 0; i < 3; ++i) {
    PutText(cr, boxes.centred, labels[i], {r.x, y, label_w, rows[i]}, 9, 6);
    if (i == 2) {
      boxes.small.SetAlignment(PANGO_ALIGN_RIGHT);
      PutText(cr, boxes.small, "年　　　月　　　日",
              {r.x + label_w, y, r.w - label_w - Mm(3), rows[i]}, 9, 6);
      boxes.small.SetAlignment(PANGO_ALIGN_LEFT);
    }
    y += rows[i];
    if (i < 2) Line(cr, r.x, y, r.right(), y, 0.4);
  }
  Line(cr, r.x + label_w, r.y + bar, r.x + label_w, r.bottom(), 0.4);
  Line(cr, r.x, r.y + bar, r.right(), r.y + bar, 0.4);
  StrokeRect(cr, r, 0.6);
}

// The data SHA-256 in two lines of 32 (a person compares it in halves).
std::string ShaLines(const std::string& sha) {
  if (sha.size() != 64) return sha;
  return sha.substr(0, 32) + "\n" + sha.substr(32);
}

std::string ContractorText(const PaperSlip& slip) {
  if (slip.contractor_id.empty()) return slip.contractor_name;
  if (slip.contractor_name.empty()) return slip.contractor_id;
  return slip.contractor_id + " " + slip.contractor_name;
}

// The items provided, in up to three side-by-side tables (項目, ID, 表示),
// inside `area`.
Status DrawItems(cairo_t* cr, SlipBoxes& boxes, const Rect& area,
                 const std::vector<PaperItem>& items) {
  std::vector<PaperItem> shown = items;
  if (shown.empty()) shown.push_back({"（なし）", "", ""});
  const double gap = Mm(4);
  for (int groups = 1; groups <= 3; ++groups) {
    const size_t rows = (shown.size() + groups - 1) / groups;
    const double row_h = std::min(Mm(6.5), area.h / static_cast<double>(rows + 1));
    if (row_h < Mm(3.8) && groups < 3) continue;
    if (row_h < Mm(3.8)) {
      return Status::Error("cover: " + std::to_string(items.size()) +
                           " items are too many to list on the cover");
    }
    const double group_w = (area.w - (groups - 1) * gap) / groups;
    const double widths[] = {group_w * 0.38, group_w * 0.24, group_w * 0.38};
    const char* heads[] = {"項目", "ID", "表示"};
    for (int g = 0; g < groups; ++g) {
      const size_t first = g * rows;
      const size_t last = std::min(shown.size(), first + rows);
      if (first >= last) break;
      const double x0 = area.x + g * (group_w + gap);
      FillRect(cr, {x0, area.y, group_w, row_h}, 0.88);
      double x = x0;
      for (int c = 0; c < 3; ++c) {
        PutText(cr, boxes.centred, heads[c], {x, area.y, widths[c], row_h}, 8.5, 5, 2);
        x += widths[c];
      }
      double y = area.y + row_h;
      for (size_t i = first; i < last; ++i) {
        const std::string* texts[] = {&shown[i].label, &shown[i].id, &shown[i].note};
        x = x0;
        for (int c = 0; c < 3; ++c) {
          if (!PutText(cr, boxes.small, *texts[c], {x, y, widths[c], row_h}, 8.5, 5, 2)) {
            return Status::Error("cover: the item " + shown[i].id +
                                 " is too long to print in its box");
          }
          x += widths[c];
        }
        y += row_h;
      }
      cairo_set_line_width(cr, 0.4);
      for (size_t r = 0; r <= last - first + 1; ++r) {
        cairo_move_to(cr, x0, area.y + r * row_h);
        cairo_line_to(cr, x0 + group_w, area.y + r * row_h);
      }
      x = x0;
      for (int c = 0; c <= 3; ++c) {
        cairo_move_to(cr, x, area.y);
        cairo_line_to(cr, x, y);
        if (c < 3) x += widths[c];
      }
      cairo_stroke(cr);
    }
    return Status::Ok();
  }
  return Status::Ok();
}

Status DrawCover(cairo_t* cr, SlipBoxes& boxes, const PaperSlip& slip, const Counts& counts) {
  const Rect area = ContentArea(kPortrait);
  double y = area.y + Mm(2);
  boxes.title.SetWidth(area.w);
  boxes.title.SetText("個人データ授受管理票");
  boxes.title.Draw(cr, area.x, y);
  y += boxes.title.height() + Mm(5);
  const std::vector<Entry> entries = {
      {"授受番号", std::to_string(slip.delivery_id)},
      {"日付", slip.issued_on},
      {"委託元", slip.operator_name},
      {"委託先", ContractorText(slip)},
      {"利用目的", slip.purpose},
      {"契約プロファイル", slip.profile},
      {"秘密保持契約", slip.nda},
      {"件数", Grouped(slip.records) + "件"},
      {"図面", Grouped(slip.drawings) + "件（" + Grouped(counts.drawing_pages) + "ページ）"},
      {"総ページ数", Grouped(counts.total) + "ページ（本票・返却廃棄確認書を含む）"},
      {"印字データの SHA-256", ShaLines(slip.data_sha256), Face::kMono, Mm(10.5)},
      {"返却・廃棄期限", slip.return_by},
  };
  auto below = DrawEntries(cr, boxes, area, y, entries, "cover");
  if (!below.ok()) return below.status();
  y = *below + Mm(5);
  boxes.label.SetWidth(0);
  boxes.label.SetSize(10);
  boxes.label.SetText("提供項目");
  boxes.label.Draw(cr, area.x, y);
  y += boxes.label.height() + Mm(1.5);

  const double sign_h = Mm(40);
  const double sign_y = area.bottom() - sign_h;
  if (Status s = DrawItems(cr, boxes, {area.x, y, area.w, sign_y - Mm(6) - y}, slip.items);
      !s.ok()) {
    return s;
  }
  const double half = (area.w - Mm(6)) / 2;
  DrawSignatureBox(cr, boxes, {area.x, sign_y, half, sign_h}, "引渡者（委託元）");
  DrawSignatureBox(cr, boxes, {area.x + half + Mm(6), sign_y, half, sign_h}, "受領者（委託先）");
  return Status::Ok();
}

Status DrawClosing(cairo_t* cr, SlipBoxes& boxes, const PaperSlip& slip, const Counts& counts) {
  const Rect area = ContentArea(kPortrait);
  double y = area.y + Mm(2);
  boxes.title.SetWidth(area.w);
  boxes.title.SetText("返却・廃棄確認書");
  boxes.title.Draw(cr, area.x, y);
  y += boxes.title.height() + Mm(6);
  boxes.value.SetWidth(area.w);
  boxes.value.SetSize(10.5);
  boxes.value.SetText(
      "授受番号 " + std::to_string(slip.delivery_id) + " により提供した個人データの印字書面（全 " +
      Grouped(counts.total) +
      " ページ）について、下記のとおり返却または廃棄（裁断・溶解処理）したことを確認します。");
  boxes.value.Draw(cr, area.x, y);
  y += boxes.value.height() + Mm(6);
  const std::vector<Entry> entries = {
      {"授受番号", std::to_string(slip.delivery_id)},
      {"提供日", slip.issued_on},
      {"委託元", slip.operator_name},
      {"委託先", ContractorText(slip)},
      {"件数", Grouped(slip.records) + "件"},
      {"図面", Grouped(slip.drawings) + "件"},
      {"総ページ数", Grouped(counts.total) + "ページ"},
      {"返却・廃棄期限", slip.return_by},
      {"印字データの SHA-256", ShaLines(slip.data_sha256), Face::kMono, Mm(10.5)},
  };
  auto below = DrawEntries(cr, boxes, area, y, entries, "closing page");
  if (!below.ok()) return below.status();
  y = *below + Mm(8);

  // 処理方法: three boxes to tick.
  boxes.label.SetWidth(0);
  boxes.label.SetSize(10.5);
  boxes.label.SetText("処理方法（該当するものに印）");
  boxes.label.Draw(cr, area.x, y);
  y += boxes.label.height() + Mm(3);
  double x = area.x + Mm(4);
  for (const char* way : {"返却", "裁断", "溶解処理"}) {
    StrokeRect(cr, {x, y, Mm(5), Mm(5)}, 0.7);
    boxes.label.SetText(way);
    boxes.label.Draw(cr, x + Mm(7), y + (Mm(5) - boxes.label.height()) / 2);
    x += Mm(7) + boxes.label.width() + Mm(14);
  }
  y += Mm(5) + Mm(8);
  boxes.label.SetText("処理日　　　　　　年　　　　月　　　　日");
  boxes.label.Draw(cr, area.x, y);
  y += boxes.label.height() + Mm(10);

  const double sign_h = std::min(Mm(40), area.bottom() - y);
  const double half = (area.w - Mm(6)) / 2;
  DrawSignatureBox(cr, boxes, {area.x, y, half, sign_h}, "受領者（委託先）署名");
  DrawSignatureBox(cr, boxes, {area.x + half + Mm(6), y, half, sign_h}, "確認者（委託元）署名");
  return Status::Ok();
}

// ---------------------------------------------------------------------------
// Pass 2: every page, in order

// A page cairo left for a PDF drawing's page.
struct Placeholder {
  int page_index = 0;  // 0-based, in the document
  size_t drawing = 0;  // in PaperJob::drawings
  int page = 0;        // 0-based, in the drawing
  PageSize size = kPortrait;
};

Status ValidateJob(const PaperJob& job) {
  if (job.columns.empty()) return Status::Error("the records table has no columns");
  if (job.rows_per_page < 1) return Status::Error("rows_per_page must be at least 1");
  if (job.slip.records < 0) return Status::Error("the slip's record count is negative");
  if (job.slip.drawings != static_cast<int64_t>(job.drawings.size())) {
    return Status::Error("the slip says " + std::to_string(job.slip.drawings) + " drawings but " +
                         std::to_string(job.drawings.size()) + " follow");
  }
  if (!job.next_row) return Status::Error("the job has no records source");
  const std::pair<const char*, const std::string*> fields[] = {
      {"the running head's contractor", &job.head.contractor},
      {"the running head's delivery", &job.head.delivery},
      {"the running head's notice", &job.head.notice},
      {"the slip's date", &job.slip.issued_on},
      {"the slip's operator", &job.slip.operator_name},
      {"the slip's contractor id", &job.slip.contractor_id},
      {"the slip's contractor name", &job.slip.contractor_name},
      {"the slip's purpose", &job.slip.purpose},
      {"the slip's profile", &job.slip.profile},
      {"the slip's NDA", &job.slip.nda},
      {"the slip's SHA-256", &job.slip.data_sha256},
      {"the slip's return-by date", &job.slip.return_by},
  };
  for (const auto& [what, text] : fields) {
    if (!IsText(*text)) return Status::Error(std::string(what) + " is not valid UTF-8 text");
  }
  for (const PaperItem& item : job.slip.items) {
    if (!IsText(item.label) || !IsText(item.id) || !IsText(item.note)) {
      return Status::Error("an item of the slip is not valid UTF-8 text");
    }
  }
  for (size_t i = 0; i < job.drawings.size(); ++i) {
    if (!IsText(job.drawings[i].subscriber_id)) {
      return Status::Error("drawing " + std::to_string(i + 1) +
                           ": the subscriber id is not valid UTF-8 text");
    }
    if (!job.drawings[i].open) {
      return Status::Error("drawing " + std::to_string(i + 1) + " cannot be opened");
    }
  }
  return Status::Ok();
}

// Renders the whole delivery with cairo. PDF drawing pages become
// placeholders (running head and caption only), listed in `placeholders`.
Status RenderDelivery(const PaperJob& job, const std::vector<DrawingPlan>& plans,
                      const Counts& counts, PdfCanvas& canvas,
                      std::vector<Placeholder>& placeholders) {
  cairo_t* cr = canvas.cr();
  const Typesetter ts(cr);
  RunningHead head(ts, job.head, counts.total);
  if (Status s = head.Prepare(); !s.ok()) return s;
  RecordTable table(ts, job.columns, job.rows_per_page);
  if (Status s = table.Prepare(); !s.ok()) return s;
  SlipBoxes boxes(ts);
  int page_no = 1;

  // The cover.
  head.Draw(cr, kPortrait, page_no);
  if (Status s = DrawCover(cr, boxes, job.slip, counts); !s.ok()) return s;
  if (Status s = canvas.EndPage(); !s.ok()) return s;

  // The records, one row at a time.
  std::vector<std::string> row;
  int64_t record = 0;
  for (int p = 0; p < counts.record_pages; ++p) {
    canvas.StartPage(kLandscape);
    head.Draw(cr, kLandscape, ++page_no);
    table.DrawHeader(cr);
    const int64_t on_page = std::min<int64_t>(job.rows_per_page, job.slip.records - record);
    for (int slot = 0; slot < on_page; ++slot) {
      row.clear();
      auto more = job.next_row(row);
      if (!more.ok()) return more.status();
      if (!*more) {
        return Status::Internal("the slip says " + std::to_string(job.slip.records) +
                                " records but only " + std::to_string(record) + " followed");
      }
      ++record;
      if (Status s = table.DrawRow(cr, slot, record, row); !s.ok()) return s;
    }
    table.DrawGrid(cr, static_cast<int>(std::max<int64_t>(on_page, 0)));
    if (Status s = canvas.EndPage(); !s.ok()) return s;
  }
  row.clear();
  auto extra = job.next_row(row);
  if (!extra.ok()) return extra.status();
  if (*extra) {
    return Status::Internal("more records followed than the slip's " +
                            std::to_string(job.slip.records));
  }

  // The drawings.
  TextBox caption(ts, Face::kGothic, 10);
  for (size_t d = 0; d < plans.size(); ++d) {
    const DrawingPlan& plan = plans[d];
    const int pages = plan.pages();
    std::optional<Image> image;
    if (plan.kind != DrawingKind::kPdf) {
      auto opened = OpenDrawing(job.drawings[d]);
      if (!opened.ok()) return opened.status();
      if (opened->identity != plan.identity || opened->kind != plan.kind) {
        return Changed(opened->file.label());
      }
      auto loaded = LoadImage(opened->region, plan.kind, opened->file.label());
      if (!loaded.ok()) return loaded.status();
      image = std::move(loaded).value();
    }
    for (int k = 0; k < pages; ++k) {
      const PageSize size = plan.landscape[static_cast<size_t>(k)] ? kLandscape : kPortrait;
      canvas.StartPage(size);
      head.Draw(cr, size, ++page_no);
      const Rect area = ContentArea(size);
      std::string text = "図面: " + job.drawings[d].subscriber_id;
      if (pages > 1) text += "（" + std::to_string(k + 1) + " / " + std::to_string(pages) + "）";
      if (!PutText(cr, caption, text, {area.x, area.y, area.w, kDrawingCaption - Mm(1)}, 10, 6,
                   0)) {
        return Status::Error("drawing " + std::to_string(d + 1) +
                             ": the subscriber id is too long to print in one line");
      }
      if (image) {
        PaintImage(cr, *image, DrawingArea(size));
      } else {
        placeholders.push_back({page_no - 1, d, k, size});
      }
      if (Status s = canvas.EndPage(); !s.ok()) return s;
    }
  }

  // The closing page.
  canvas.StartPage(kPortrait);
  head.Draw(cr, kPortrait, ++page_no);
  if (Status s = DrawClosing(cr, boxes, job.slip, counts); !s.ok()) return s;
  if (Status s = canvas.EndPage(); !s.ok()) return s;
  if (page_no != counts.total) {
    return Status::Internal("rendered " + std::to_string(page_no) + " pages of " +
                            std::to_string(counts.total));
  }
  return Status::Ok();
}

// ---------------------------------------------------------------------------
// Pass 3: the PDF drawings' pages onto their placeholders, appended to
// cairo's file as an incremental update (PDF 32000-1, 7.5.6). Each drawing
// page is written as a form XObject, with the objects its resources use,
// one drawing at a time; each placeholder gets a new revision that draws
// its form under the running head. cairo's pages are not rewritten, and
// nothing of a drawing stays in memory or open once its pages are written:
// a whole-document writer (QPDFWriter) would hold every copied object until
// the end, some 35 KB per small drawing.

// A number as content streams and arrays write it.
std::string NumberText(double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.5f", v);
  std::string s(buf);
  s.erase(s.find_last_not_of('0') + 1);
  if (s.back() == '.') s.pop_back();
  return s == "-0" ? "0" : s;
}

std::string RectangleText(const QPDFObjectHandle::Rectangle& r) {
  return "[" + NumberText(r.llx) + " " + NumberText(r.lly) + " " + NumberText(r.urx) + " " +
         NumberText(r.ury) + "]";
}

std::string NameText(const std::string& name) { return QPDFObjectHandle::newName(name).unparse(); }

// Numbered objects written after the end of a PDF, then their
// cross-reference section and the trailer.
class PdfAppender {
 public:
  PdfAppender(AtomicFile& file, uint64_t offset, int next_number)
      : file_(file), offset_(offset), next_(next_number) {}

  int NewNumber() { return next_++; }
  void Append(std::string_view data) {
    buffer_.append(data);
    offset_ += data.size();
    if (buffer_.size() >= (1u << 20)) Flush();
  }
  void BeginObject(int number, int generation = 0) {
    entries_.push_back({number, generation, offset_});
    Append(std::to_string(number) + " " + std::to_string(generation) + " obj\n");
  }
  void EndObject() { Append("\nendobj\n"); }

  // Object `number`: a stream with the dictionary entries `dict` (without
  // /Length, which follows as an object of its own) and the data `write`
  // sends into the pipeline it is given; false when `write` says so.
  bool WriteStream(int number, const std::string& dict,
                   const std::function<bool(Pipeline&)>& write) {
    const int length_number = NewNumber();
    BeginObject(number);
    Append("<<" + dict + " /Length " + std::to_string(length_number) + " 0 R>>\nstream\n");
    const uint64_t start = offset_;
    Sink sink(*this);
    const bool ok = write(sink);
    const uint64_t length = offset_ - start;
    Append("\nendstream");
    EndObject();
    BeginObject(length_number);
    Append(std::to_string(length));
    EndObject();
    return ok;
  }

  // The cross-reference section, then the trailer: `trailer`'s entries,
  // /Size and /Prev (the previous section's offset).
  Status Finish(uint64_t prev, const std::string& trailer) {
    std::sort(entries_.begin(), entries_.end(),
              [](const Entry& a, const Entry& b) { return a.number < b.number; });
    const uint64_t xref = offset_;
    std::string text = "xref\n";
    for (size_t i = 0; i < entries_.size();) {
      size_t j = i + 1;
      while (j < entries_.size() && entries_[j].number == entries_[j - 1].number + 1) ++j;
      text += std::to_string(entries_[i].number) + " " + std::to_string(j - i) + "\n";
      for (; i < j; ++i) {
        char line[32];
        std::snprintf(line, sizeof line, "%010llu %05d n\r\n",
                      static_cast<unsigned long long>(entries_[i].offset), entries_[i].generation);
        text += line;
      }
    }
    text += "trailer\n<<" + trailer + " /Size " + std::to_string(next_) + " /Prev " +
            std::to_string(prev) + ">>\nstartxref\n" + std::to_string(xref) + "\n%%EOF\n";
    Append(text);
    Flush();
    return status_;
  }

  const Status& status() const { return status_; }

 private:
  struct Entry {
    int number;
    int generation;
    uint64_t offset;
  };

  // Stream data from qpdf's pipelines.
  class Sink : public Pipeline {
   public:
    explicit Sink(PdfAppender& out) : Pipeline("paper output", nullptr), out_(out) {}
    void write(unsigned char const* data, size_t length) override {
      out_.Append({reinterpret_cast<const char*>(data), length});
    }
    void finish() override {}

   private:
    PdfAppender& out_;
  };

  void Flush() {
    if (status_.ok()) status_ = file_.Write(buffer_);
    buffer_.clear();
  }

  AtomicFile& file_;
  uint64_t offset_;
  int next_;
  std::string buffer_;
  Status status_;
  std::vector<Entry> entries_;
};

bool CopyRawData(QPDFObjectHandle stream, Pipeline& sink) {
  bool filtered = false;
  return stream.pipeStreamData(&sink, &filtered, 0, qpdf_dl_none, true, false);
}

// Copies the objects of one drawing into the output: each indirect object
// under a new number the first time it is referred to, streams as they are
// filtered. Never across into the drawing's page tree or catalog (a form's
// stray /Parent, an annotation's /P): those references become null.
class ObjectCopier {
 public:
  explicit ObjectCopier(PdfAppender& out) : out_(out) {}

  // `value` in PDF syntax, appended to `text`, references renumbered; with
  // `whole`, an indirect object's own value rather than a reference to it.
  void Unparse(QPDFObjectHandle value, std::string& text, bool whole = false) {
    if (!whole && value.isIndirect()) {
      if (value.isPageObject() || value.isPagesObject() || value.isDictionaryOfType("/Catalog")) {
        text += "null";
        return;
      }
      auto [it, added] = numbers_.try_emplace(value.getObjGen(), 0);
      if (added) {
        it->second = out_.NewNumber();
        pending_.emplace_back(value, it->second);
      }
      text += std::to_string(it->second) + " 0 R";
    } else if (value.isArray()) {
      text += "[";
      for (QPDFObjectHandle& item : value.getArrayAsVector()) {
        Unparse(item, text);
        text += " ";
      }
      text += "]";
    } else if (value.isDictionary()) {
      text += "<<";
      for (auto& [key, item] : value.getDictAsMap()) {
        text += NameText(key) + " ";
        Unparse(item, text);
        text += " ";
      }
      text += ">>";
    } else if (value.isStream()) {
      text += "null";  // a stream is always indirect; unreachable
    } else {
      text += value.unparse();
    }
  }

  // Writes every object referred to so far, and those they refer to; false
  // when a stream's data cannot be read.
  bool Drain() {
    while (!pending_.empty()) {
      QPDFObjectHandle object = pending_.back().first;
      const int number = pending_.back().second;
      pending_.pop_back();
      if (object.isStream()) {
        std::string dict;
        for (auto& [key, item] : object.getDict().getDictAsMap()) {
          if (key == "/Length") continue;
          dict += " " + NameText(key) + " ";
          Unparse(item, dict);
        }
        if (!out_.WriteStream(number, dict,
                              [&](Pipeline& sink) { return CopyRawData(object, sink); })) {
          return false;
        }
      } else {
        std::string text;
        Unparse(object, text, true);
        out_.BeginObject(number);
        out_.Append(text);
        out_.EndObject();
      }
    }
    return true;
  }

 private:
  PdfAppender& out_;
  std::map<QPDFObjGen, int> numbers_;
  std::vector<std::pair<QPDFObjectHandle, int>> pending_;
};

// Writes drawing `page` as form XObject `number` (its content; its
// resources are left for copier.Drain()); false when the content cannot be
// read.
bool WriteForm(ObjectCopier& copier, PdfAppender& out, QPDFPageObjectHelper page,
               const PageGeometry& geometry, int number) {
  std::string dict = " /Type /XObject /Subtype /Form /BBox " + RectangleText(geometry.box);
  dict += " /Resources ";
  QPDFObjectHandle resources = page.getAttribute("/Resources", false);
  if (resources.isDictionary()) {
    copier.Unparse(resources, dict);
  } else {
    dict += "<<>>";
  }
  if (geometry.matrix) {
    const QPDFObjectHandle::Matrix& m = *geometry.matrix;
    dict += " /Matrix [" + NumberText(m.a) + " " + NumberText(m.b) + " " + NumberText(m.c) + " " +
            NumberText(m.d) + " " + NumberText(m.e) + " " + NumberText(m.f) + "]";
  }
  QPDFObjectHandle group = page.getObjectHandle().getKey("/Group");
  if (group.isDictionary()) {
    dict += " /Group ";
    copier.Unparse(group, dict);
  }
  QPDFObjectHandle contents = page.getObjectHandle().getKey("/Contents");
  if (contents.isStream()) {
    // The page's one content stream, as it is filtered.
    QPDFObjectHandle stream_dict = contents.getDict();
    for (const char* key : {"/Filter", "/DecodeParms"}) {
      if (!stream_dict.hasKey(key)) continue;
      dict += std::string(" ") + key + " ";
      copier.Unparse(stream_dict.getKey(key), dict);
    }
    return out.WriteStream(number, dict,
                           [&](Pipeline& sink) { return CopyRawData(contents, sink); });
  }
  // Several content streams (or none): a form has one, so they are decoded
  // and joined, as a page's content is read.
  std::vector<QPDFObjectHandle> parts;
  if (contents.isArray()) parts = contents.getArrayAsVector();
  for (QPDFObjectHandle& part : parts) {
    if (!part.isStream() || !part.pipeStreamData(nullptr, 0, qpdf_dl_generalized)) return false;
  }
  dict += " /Filter /FlateDecode";
  return out.WriteStream(number, dict, [&](Pipeline& sink) {
    Pl_Flate flate("drawing page contents", &sink, Pl_Flate::a_deflate);
    Pl_Concatenate joined("drawing page contents", &flate);
    bool ok = true;
    for (QPDFObjectHandle& part : parts) {
      bool filtered = false;
      ok = part.pipeStreamData(&joined, &filtered, 0, qpdf_dl_generalized, true, false) && ok;
      joined.write(reinterpret_cast<const unsigned char*>("\n"), 1);
    }
    joined.manualFinish();
    return ok;
  });
}

// "q s 0 0 s tx ty cm /Name Do Q": the form as large as fits `area` (PDF
// coordinates), centred.
std::string PlacementContent(const PageGeometry& geometry, const QPDFObjectHandle::Rectangle& area,
                             const std::string& name) {
  const double w = geometry.shown.urx - geometry.shown.llx;
  const double h = geometry.shown.ury - geometry.shown.lly;
  const double area_w = area.urx - area.llx;
  const double area_h = area.ury - area.lly;
  const double s = std::min(area_w / w, area_h / h);
  const double tx = area.llx + (area_w - s * w) / 2 - s * geometry.shown.llx;
  const double ty = area.lly + (area_h - s * h) / 2 - s * geometry.shown.lly;
  return "q " + NumberText(s) + " 0 0 " + NumberText(s) + " " + NumberText(tx) + " " +
         NumberText(ty) + " cm " + NameText(name) + " Do Q\n";
}

// A name for the form in `page`'s /XObject resources that it does not use.
std::string FreeXObjectName(QPDFPageObjectHelper page) {
  QPDFObjectHandle resources = page.getAttribute("/Resources", false);
  QPDFObjectHandle xobjects =
      resources.isDictionary() ? resources.getKey("/XObject") : QPDFObjectHandle::newNull();
  std::string name = "/ItakuDrawing";
  for (int i = 2; xobjects.isDictionary() && xobjects.hasKey(name); ++i) {
    name = "/ItakuDrawing" + std::to_string(i);
  }
  return name;
}

// The placeholder `page` of cairo's document again, with `placement` (a
// content stream) first and the form `form` in its resources as `name`.
// cairo's objects are referred to by their own numbers.
std::string PageWithDrawing(QPDFPageObjectHelper page, const std::string& name, int form,
                            int placement) {
  QPDFObjectHandle resources = page.getAttribute("/Resources", false);
  std::string res = "<<";
  QPDFObjectHandle xobjects = QPDFObjectHandle::newNull();
  if (resources.isDictionary()) {
    for (auto& [key, value] : resources.getDictAsMap()) {
      if (key == "/XObject") {
        xobjects = value;
      } else {
        res += NameText(key) + " " + value.unparse() + " ";
      }
    }
  }
  res += "/XObject <<";
  if (xobjects.isDictionary()) {
    for (auto& [key, value] : xobjects.getDictAsMap()) {
      res += NameText(key) + " " + value.unparse() + " ";
    }
  }
  res += name + " " + std::to_string(form) + " 0 R>>>>";

  std::string text = "<<";
  for (auto& [key, value] : page.getObjectHandle().getDictAsMap()) {
    if (key == "/Resources") continue;
    text += NameText(key) + " ";
    if (key == "/Contents") {
      text += "[" + std::to_string(placement) + " 0 R";
      for (QPDFObjectHandle& part :
           value.isArray() ? value.getArrayAsVector() : std::vector<QPDFObjectHandle>{value}) {
        text += " " + part.unparse();
      }
      text += "]";
    } else {
      text += value.unparse();
    }
    text += " ";
  }
  return text + "/Resources " + res + ">>";
}

// Where the last cross-reference section of `whole` starts (the update's
// /Prev): a table ("xref") from cairo 1.16, maybe a stream ("N 0 obj") from
// later versions, which readers follow from the update's table as well.
Result<uint64_t> XrefOffset(const Region& whole) {
  char tail[1024];
  const uint64_t from = whole.length > sizeof tail ? whole.length - sizeof tail : 0;
  const ssize_t got = ReadAt(whole, from, tail, sizeof tail);
  const std::string_view t(tail, got > 0 ? static_cast<size_t>(got) : 0);
  const size_t at = t.rfind("startxref");
  uint64_t offset = 0;
  bool digits = false;
  for (size_t i = at == std::string_view::npos ? t.size() : at + 9; i < t.size(); ++i) {
    if (t[i] >= '0' && t[i] <= '9') {
      offset = offset * 10 + static_cast<uint64_t>(t[i] - '0');
      digits = true;
    } else if (digits || (t[i] != ' ' && t[i] != '\r' && t[i] != '\n')) {
      break;
    }
  }
  char keyword[4];
  if (!digits || ReadAt(whole, offset, keyword, 4) != 4 ||
      (std::string_view(keyword, 4) != "xref" && !(keyword[0] >= '1' && keyword[0] <= '9'))) {
    return Status::Internal("the PDF cairo wrote has no cross-reference section to update");
  }
  return offset;
}

Status AppendDrawings(AtomicFile& file, const PaperJob& job, const std::vector<DrawingPlan>& plans,
                      const std::vector<Placeholder>& placeholders) {
  struct stat st {};
  if (::fstat(file.fd(), &st) != 0) {
    return Status::Io("cannot read back " + file.temp_path() + ": " + Errno(errno));
  }
  const Region whole{file.fd(), 0, static_cast<uint64_t>(st.st_size)};
  auto prev = XrefOffset(whole);
  if (!prev.ok()) return prev.status();
  QPDF base;
  base.setSuppressWarnings(true);
  std::vector<QPDFObjectHandle> pages;
  int size = 0;
  try {
    base.processInputSource(std::make_shared<RegionInput>(file.temp_path(), whole));
    pages = base.getAllPages();
    size = base.getTrailer().getKey("/Size").getIntValueAsInt();
  } catch (const std::exception& e) {
    return Status::Internal(std::string("cannot read back the pages cairo wrote: ") + e.what());
  }
  PdfAppender out(file, whole.length, size);
  for (size_t i = 0; i < placeholders.size();) {
    const size_t d = placeholders[i].drawing;
    auto opened = OpenDrawing(job.drawings[d]);
    if (!opened.ok()) return opened.status();
    const std::string label = opened->file.label();
    if (opened->identity != plans[d].identity || opened->kind != DrawingKind::kPdf) {
      return Changed(label);
    }
    try {
      std::unique_ptr<QPDF> pdf = ParsePdf(*opened);
      std::vector<QPDFPageObjectHelper> drawing_pages = QPDFPageDocumentHelper(*pdf).getAllPages();
      if (static_cast<int>(drawing_pages.size()) != plans[d].pages()) return Changed(label);
      ObjectCopier copier(out);
      for (; i < placeholders.size() && placeholders[i].drawing == d; ++i) {
        const Placeholder& at = placeholders[i];
        QPDFPageObjectHelper page = drawing_pages.at(static_cast<size_t>(at.page));
        const std::optional<PageGeometry> geometry = GeometryOf(page);
        if (!geometry) return UnreadablePdf(label);
        const int form = out.NewNumber();
        if (!WriteForm(copier, out, page, *geometry, form) || !copier.Drain()) {
          return UnreadablePdf(label);
        }
        QPDFPageObjectHelper placeholder(pages.at(static_cast<size_t>(at.page_index)));
        const std::string name = FreeXObjectName(placeholder);
        const Rect area = DrawingArea(at.size);
        const double h = at.size.height;
        const std::string content = PlacementContent(
            *geometry, {area.x, h - area.bottom(), area.right(), h - area.y}, name);
        const int placement = out.NewNumber();
        out.WriteStream(placement, "", [&](Pipeline& sink) {
          sink.write(reinterpret_cast<const unsigned char*>(content.data()), content.size());
          return true;
        });
        QPDFObjectHandle object = placeholder.getObjectHandle();
        out.BeginObject(object.getObjectID(), object.getGeneration());
        out.Append(PageWithDrawing(placeholder, name, form, placement));
        out.EndObject();
        if (!out.status().ok()) return out.status();
      }
    } catch (const std::exception&) {
      return UnreadablePdf(label);
    }
  }
  // The catalog again, saying the version the drawings may need (cairo
  // wrote 1.5).
  QPDFObjectHandle root = base.getRoot();
  std::string catalog = "<<";
  for (auto& [key, value] : root.getDictAsMap()) {
    if (key != "/Version") catalog += NameText(key) + " " + value.unparse() + " ";
  }
  out.BeginObject(root.getObjectID(), root.getGeneration());
  out.Append(catalog + "/Version /1.7>>");
  out.EndObject();
  std::string trailer;
  for (auto& [key, value] : base.getTrailer().getDictAsMap()) {
    if (key == "/Size" || key == "/Prev" || key == "/XRefStm") continue;
    trailer += " " + NameText(key) + " " + value.unparse();
  }
  return out.Finish(*prev, trailer);
}

}  // namespace

Result<PaperWritten> WritePaperPdf(const PaperJob& job, const std::string& dir,
                                   const std::string& final_name) {
  if (final_name.empty() || final_name.find('/') != std::string::npos || final_name == "." ||
      final_name == "..") {
    return Status::Error(final_name + " is not a plain file name");
  }
  if (Status s = ValidateJob(job); !s.ok()) return s;
  auto file = AtomicFile::Create(dir + "/" + final_name);
  if (!file.ok()) return file.status();

  // Pass 1: every drawing judged and its pages counted (one file open at a
  // time), so that "n / N" can be printed from the first page.
  std::vector<DrawingPlan> plans;
  plans.reserve(job.drawings.size());
  Counts counts;
  for (const PaperDrawing& drawing : job.drawings) {
    auto plan = PlanDrawing(drawing);
    if (!plan.ok()) return file->Abandon(plan.status());
    counts.drawing_pages += plan->pages();
    plans.push_back(std::move(plan).value());
  }
  counts.record_pages = static_cast<int>(
      std::max<int64_t>(1, (job.slip.records + job.rows_per_page - 1) / job.rows_per_page));
  counts.total = 1 + counts.record_pages + counts.drawing_pages + 1;

  // Pass 2: cairo, page by page.
  std::vector<Placeholder> placeholders;
  {
    PdfCanvas canvas(*file, kPortrait);
    canvas.SetTitle("個人データ授受管理票 授受番号 " + std::to_string(job.slip.delivery_id));
    if (Status s = RenderDelivery(job, plans, counts, canvas, placeholders); !s.ok()) {
      return file->Abandon(s);
    }
    if (Status s = canvas.Finish(); !s.ok()) return file->Abandon(s);
  }

  // Pass 3: the PDF drawings' pages.
  if (!placeholders.empty()) {
    if (Status s = AppendDrawings(*file, job, plans, placeholders); !s.ok()) {
      return file->Abandon(s);
    }
  }
  PaperWritten written;
  written.pages = counts.total;
  written.record_pages = counts.record_pages;
  written.drawing_pages = counts.drawing_pages;
  return Seal(*file, written);
}

}  // namespace itaku::transports
