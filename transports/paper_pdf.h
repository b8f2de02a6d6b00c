// Paper (policy 6(2) 紙): the printable PDF of one delivery, and letters for
// the post, laid out with pango + cairo in Debian's IPAex fonts (embedded as
// subsets) on A4; PDF house drawings appended with qpdf. Knows text, pages
// and files, never profiles, masks or subscribers' rights: the caller hands
// over every cell exactly as it is to be printed.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "contracts/base/status.h"
#include "transports/media_package.h"  // SourceFile

namespace itaku::transports {

// What every page of a paper delivery carries in its header and footer,
// besides "n / N".
struct PaperRunningHead {
  std::string contractor;  // e.g. "builder-co 株式会社ビルダー"
  std::string delivery;    // e.g. "授受番号 12"
  // e.g. "本書は委託業務のためにのみ使用し、複写・転記を禁じます。"
  std::string notice;
};

// One line of the handover slip's list of the items provided.
struct PaperItem {
  std::string label;  // Japanese label, e.g. "電話番号"
  std::string id;     // catalog id, e.g. "phone"
  std::string note;   // how it is shown, e.g. "下4桁のみ表示"; empty when as is
};

// The 個人データ授受管理票 (the cover) and the 返却・廃棄確認書 (the closing
// page) are made from this. Every string is printed as given.
struct PaperSlip {
  int64_t delivery_id = 0;
  std::string issued_on;      // the JST day as printed, e.g. "2026年12月2日"
  std::string operator_name;  // 委託元, e.g. "株式会社ケーブルネット"
  std::string contractor_id;
  std::string contractor_name;
  std::string purpose;  // e.g. "設置工事 (installation)"
  std::string profile;  // e.g. "builder-installation 第3版"
  std::string nda;      // e.g. "秘密保持契約 #2 (2026年4月1日〜2027年3月31日)"
  std::vector<PaperItem> items;
  int64_t records = 0;
  int64_t drawings = 0;     // drawing files appended
  std::string data_sha256;  // SHA-256 of the printed rows (see PaperWritten)
  std::string return_by;    // 返却・廃棄期限, the JST day as printed
};

// A column of the records table.
struct PaperColumn {
  std::string label;  // Japanese, printed in the table's header row
  double weight = 1;  // share of the table's width (relative to the others)
};

// One house drawing, in record order. PDF drawings are appended page by
// page (each page scaled into the page's content area, under the running
// head); PNG and JPEG drawings are placed on an A4 page each. Any other
// content is refused, naming the drawing by `label`.
struct PaperDrawing {
  std::string subscriber_id;  // printed on each of the drawing's pages
  // Opens the drawing (afresh on every call; the writer may open it more
  // than once: to count its pages, then to place them). The descriptor is
  // read from its current offset; nothing is opened by path.
  std::function<Result<SourceFile>()> open;
  uint64_t max_bytes = 0;  // at most this many bytes are read
};

struct PaperJob {
  PaperRunningHead head;
  PaperSlip slip;  // slip.records and slip.drawings must match what follows
  std::vector<PaperColumn> columns;
  // The records, in order: fills `row` with columns.size() UTF-8 cells and
  // returns true, or returns false after the last. Called once per record;
  // the writer holds one page's rows at a time.
  std::function<Result<bool>(std::vector<std::string>& row)> next_row;
  std::vector<PaperDrawing> drawings;
  int rows_per_page = 20;  // a fixed number of records on each table page
};

struct PaperWritten {
  std::string path;    // the PDF under its final name
  std::string sha256;  // of the whole file
  uint64_t size = 0;
  int pages = 0;         // 1 + record_pages + drawing_pages + 1
  int record_pages = 0;  // ceil(records / rows_per_page), at least 1
  int drawing_pages = 0;
};

// Writes the delivery's PDF as `dir`/`final_name`: created 0600 under a
// temporary name (AtomicFile) and renamed once complete, so a failure
// leaves nothing behind. Pages, in order: the cover (授受管理票: delivery,
// date, operator, contractor, purpose, profile, NDA, the items with their
// labels, record count, page count, the printed rows' SHA-256, return-by
// date, boxes for 引渡者 and 受領者 to sign and date); the records table
// (landscape A4, rows_per_page records per page, every cell printed in
// full, wrapped inside its cell and set smaller when long); the drawings;
// the closing page (返却・廃棄確認書: 返却 / 裁断 / 溶解 boxes, date,
// signature). Every page carries the running head and "n / N".
// Memory does not grow with the number of records or drawings (drawing
// files are opened a bounded number at a time).
// Errors:
//   "record 12: 住所 is too long to print in one cell (at most N characters)"
//   "LABEL is not a PDF, PNG or JPEG file"        (LABEL: the SourceFile's label)
//   "LABEL: the PDF cannot be read (damaged or encrypted)"
Result<PaperWritten> WritePaperPdf(const PaperJob& job, const std::string& dir,
                                   const std::string& final_name);

// A letter for the post, on A4 folded in three into a 長形3号 window
// envelope: the recipient block (〒, address, name) sits where the window
// is; the date and the sender block (operator name, address, phone) at the
// top right; then the subject and the body.
struct LetterParty {
  std::string postal_code;  // "1234567" or "123-4567"; printed 〒123-4567; may be empty
  std::vector<std::string> address_lines;
  std::string name;  // with its honorific, e.g. "山田 太郎 様", "株式会社ビルダー 御中"
};
struct Letter {
  LetterParty recipient;
  std::vector<std::string> sender_lines;  // e.g. name, 〒 + address, 電話
  std::string date;       // as printed, e.g. "2026年12月2日" or "令和8年12月2日"
  std::string reference;  // e.g. "受付番号 17"; may be empty
  std::string subject;
  std::string body;  // paragraphs; "\n" breaks a line, long lines wrap
};

// Writes `letter` as `path` (0600, temporary name, renamed when complete).
// More pages follow when the body does not fit on one ("n / N" at the foot).
Result<PaperWritten> WriteLetterPdf(const Letter& letter, const std::string& path);

}  // namespace itaku::transports
