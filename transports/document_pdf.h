// Paper documents other than deliveries: the 委託先管理台帳 (contractor
// register), the 授受記録 of one delivery, drafts of leak reports (PPC
// 速報 / 確報). A document is a title and a list of blocks (headings,
// paragraphs, label/value boxes, tables), set in Debian's IPAex fonts
// (embedded as subsets) on A4 pages, each with the running head and
// "n / N", as the delivery PDFs of paper_pdf.h. Knows text and pages, never
// contractors or incidents: the caller hands over every string exactly as it
// is to be printed.
#pragma once

#include <string>
#include <vector>

#include "contracts/base/status.h"
#include "transports/paper_pdf.h"  // PaperColumn, PaperRunningHead, PaperWritten

namespace itaku::transports {

// A table that may run over several pages, split between rows, with its
// header row repeated at the top of each page. Rows grow to fit their
// cells: every cell is printed in full, wrapped inside its cell, and set
// smaller (9 pt down to 6 pt) when it would make its row taller than about
// 20 mm, and smaller still (down to 5 pt) only when its row would not fit on
// one page otherwise.
struct DocumentTable {
  std::vector<PaperColumn> columns;  // labels (header row) and width weights
  // UTF-8 cells, columns.size() per row. No rows: the header and "（なし）".
  std::vector<std::vector<std::string>> rows;
};

// One row of a box of label/value pairs; the value may hold several lines
// ("\n"), long lines wrap.
struct DocumentField {
  std::string label;
  std::string value;
};

// One of: a heading, a paragraph ("\n" breaks a line, long lines wrap), a
// box of fields, a table. A heading is kept on the page of what follows it;
// a paragraph, a box or a table that does not fit goes on over the next
// page (between lines, between fields, between rows).
struct DocumentBlock {
  enum class Kind { kHeading, kParagraph, kFields, kTable };
  Kind kind = Kind::kParagraph;
  std::string text;                   // kHeading, kParagraph
  std::vector<DocumentField> fields;  // kFields
  DocumentTable table;                // kTable

  static DocumentBlock Heading(std::string text);
  static DocumentBlock Paragraph(std::string text);
  static DocumentBlock Fields(std::vector<DocumentField> fields);
  static DocumentBlock Table(DocumentTable table);
};

struct Document {
  std::string title;                  // e.g. "委託先管理台帳", printed large on page 1
  std::vector<std::string> subtitle;  // lines under the title, right-aligned, e.g.
                                      // "作成日 2026年12月2日", "委託元 株式会社…"
  // On every page: head.contractor at the top left (e.g. the operator's
  // name), head.delivery at the top right (e.g. "委託先管理台帳"),
  // head.notice under them (none when empty, e.g. "社外秘"), "n / N" at the
  // foot.
  PaperRunningHead head;
  bool landscape = false;             // every page A4 landscape, else A4 portrait
  std::vector<DocumentBlock> blocks;  // in order
};

// Writes `doc` as `path`: created 0600 under a temporary name (AtomicFile)
// and renamed once complete, so a failure leaves nothing behind; an
// existing file is not replaced (kConflict). The pages are laid out once
// to count them, then drawn ("n / N" on every page). Returns pages (the
// total); record_pages and drawing_pages are 0.
// Errors (one line; never a cell's, a value's or a paragraph's content;
// blocks and rows are counted from 1):
//   "block 3 (table): row 12: 住所 has a character no installed font can print"
//   "block 3 (table): row 12: 住所 is too long to print on one page"
//   "block 3 (table): row 12 has 4 cells for 5 columns"
//   "block 3 (table): column 備考 is too narrow to print"
//   "block 2 (fields): 所在地 is not valid UTF-8 text"
//   "block 4 (paragraph) has a character no installed font can print"
//   "the title has a character no installed font can print"
Result<PaperWritten> WriteDocumentPdf(const Document& doc, const std::string& path);

}  // namespace itaku::transports
