// The printable PDF of a paper delivery (policy 6(2) 紙). The records go
// through the projector exactly as for any other transport (masks, special
// requests, receipts), into a private temporary CSV beside the PDF; that
// file is then read back one record at a time and laid out page by page
// (transports/paper_pdf.h), so that memory does not grow with the export.
// The temporary CSV is unlinked as soon as it is open: nothing of it stays
// behind, whatever happens.
#include <fcntl.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>

#include "contracts/base/files.h"
#include "gateway/detail/command_util.h"
#include "gateway/detail/package_parts.h"
#include "gateway/operator_identity.h"
#include "policies/catalog.h"
#include "policies/csv.h"
#include "transports/paper_pdf.h"

namespace itaku::gateway::detail {
namespace {

namespace fs = std::filesystem;

// A column's share of the table's width: long values get more room.
double ColumnWeight(const std::string& field) {
  static const std::map<std::string, double> kWeights = {
      {"address", 3.2},        {"name", 1.6},         {"name_kana", 1.7},     {"email", 2.2},
      {"postal_code", 0.9},    {"phone", 1.2},        {"house_drawing", 1.4}, {"services", 1.8},
      {"account_holder", 1.6}, {"subscriber_id", 1.0}};
  auto it = kWeights.find(field);
  return it == kWeights.end() ? 1.0 : it->second;
}

// A private scratch file in `dir`: created 0600 with O_EXCL, unlinked at
// once; the streams read and write it through /proc/self/fd.
class ScratchFile {
 public:
  static Result<ScratchFile> Create(const std::string& dir, const std::string& stem) {
    const std::string path = (fs::path(dir) / ("." + stem + ".rows")).string();
    const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0) return Status::Io("cannot create a scratch file in " + dir);
    ::unlink(path.c_str());
    return ScratchFile(fd);
  }
  ScratchFile(ScratchFile&& o) noexcept : fd_(o.fd_) { o.fd_ = -1; }
  ScratchFile& operator=(ScratchFile&&) = delete;
  ~ScratchFile() {
    if (fd_ >= 0) ::close(fd_);
  }
  std::string path() const { return "/proc/self/fd/" + std::to_string(fd_); }

 private:
  explicit ScratchFile(int fd) : fd_(fd) {}
  int fd_ = -1;
};

}  // namespace

Result<PackageWritten> WritePaperPackage(PackageJob& job, const std::string& dir,
                                         const std::string& name) {
  Context& ctx = job.ctx;
  contracts::DeliveryRecord& rec = job.rec;
  const contracts::ContractProfile& p = job.profile;
  auto op = LoadOperatorIdentity(ctx.daemon_config);
  if (!op.ok()) return op.status();
  auto contractor = ctx.store->FindContractor(p.contractor_id);
  if (!contractor.ok()) return contractor.status();
  if (!contractor.value()) return Status::NotFound("unknown contractor " + p.contractor_id);

  // One: the records through the projector into the scratch file.
  auto scratch = ScratchFile::Create(dir, name);
  if (!scratch.ok()) return scratch.status();
  PackageWritten out;
  std::vector<std::pair<std::string, std::string>> drawing_files;  // subscriber, file
  {
    std::ofstream os(scratch->path(), std::ios::binary | std::ios::trunc);
    if (!os) return Status::Io("cannot write the scratch file in " + dir);
    SubscriberRecorder recorder(*ctx.store, rec.id);
    auto summary = policies::Project(job.spec, job.in, rec.input_name, &os,
                                     ReceiptsAndDrawings(job, recorder, drawing_files));
    Status recorded = recorder.Finish();
    if (!summary.ok()) return summary.status();
    if (!recorded.ok()) return recorded;
    os.flush();
    if (!os) return Status::Io("cannot write the scratch file in " + dir + " (disk full?)");
    rec.receipts_count = recorder.count();
    rec.receipts_sha256 = recorder.Digest();
    rec.record_count = summary->records;
    out.withheld = summary->withheld_fields;
    out.special_requests = summary->applied_overrides;
  }
  auto data_sha = Sha256File(scratch->path());
  if (!data_sha.ok()) return data_sha.status();

  // Two: the document.
  transports::PaperJob doc;
  const std::string who = p.contractor_id + " " + contractor.value()->name;
  doc.head.contractor = who;
  doc.head.delivery = "授受番号 " + std::to_string(rec.id);
  transports::PaperSlip& slip = doc.slip;
  slip.delivery_id = rec.id;
  const Date today = ctx.clock->Today();
  slip.issued_on = JapaneseDate(today, op->wareki);
  slip.operator_name = op->name;
  slip.contractor_id = p.contractor_id;
  slip.contractor_name = contractor.value()->name;
  const policies::PurposeInfo* purpose = policies::FindPurpose(p.purpose);
  slip.purpose = purpose ? std::string(purpose->description) + "（" + p.purpose + "、方針" +
                               std::string(purpose->clause) + "）"
                         : p.purpose;
  slip.profile = p.id + " 第" + std::to_string(p.version) + "版";
  for (const auto& n : job.ndas) {
    if (rec.nda_id && n.id == *rec.nda_id) {
      slip.nda = "秘密保持契約 #" + std::to_string(n.id) + "（" +
                 JapaneseDate(n.in_force_until, op->wareki) + "まで有効）";
    }
  }
  for (const auto* list : {&job.spec.fields, &job.spec.extra_fields}) {
    for (const std::string& f : *list) {
      auto m = p.masks.find(f);
      slip.items.push_back({FieldLabel(f), f, m == p.masks.end() ? "" : MaskNote(m->second)});
      doc.columns.push_back({FieldLabel(f), ColumnWeight(f)});
    }
  }
  slip.records = rec.record_count;
  slip.drawings = static_cast<int64_t>(drawing_files.size());
  slip.data_sha256 = data_sha.value();
  slip.return_by = JapaneseDate(AddDays(today, p.retention_days), op->wareki);

  std::ifstream rows_in(scratch->path(), std::ios::binary);
  if (!rows_in) return Status::Io("cannot read the scratch file in " + dir);
  policies::CsvReader reader(rows_in, name);
  bool header_skipped = false;
  doc.next_row = [&](std::vector<std::string>& row) -> Result<bool> {
    for (;;) {
      auto more = reader.Next();
      if (!more.ok()) return more.status();
      if (!more.value()) return false;
      if (!header_skipped) {
        header_skipped = true;
        continue;
      }
      row.assign(reader.fields().begin(), reader.fields().end());
      return true;
    }
  };
  for (const auto& [subscriber, file] : drawing_files) {
    DrawingCheck* check = job.drawings;
    doc.drawings.push_back({subscriber,
                            [check, subscriber, file] { return check->Open(subscriber, file); },
                            check->max_file_bytes()});
  }
  auto written = transports::WritePaperPdf(doc, dir, name);
  if (!written.ok()) return written.status();
  out.path = written->path;
  out.drawings = drawing_files.size();
  out.pages = written->pages;
  out.printed_sha256 = slip.data_sha256;
  out.recipient = "none (printed on paper)";
  rec.package_sha256 = written->sha256;
  return out;
}

}  // namespace itaku::gateway::detail
