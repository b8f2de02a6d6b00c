// The register as documents: the 委託先管理台帳 (CSV or PDF) and the 授受記録
// of one delivery (PDF), made from what the store holds.
#include <algorithm>
#include <map>
#include <set>
#include <sstream>

#include "contracts/base/atomic_file.h"
#include "contracts/base/strings.h"
#include "contracts/record_json.h"
#include "gateway/clock.h"
#include "gateway/detail/command_util.h"
#include "gateway/detail/supervision_detail.h"
#include "gateway/operator_identity.h"
#include "gateway/supervision.h"
#include "policies/catalog.h"
#include "policies/encoding.h"
#include "policies/projector.h"
#include "policies/supervision_rules.h"
#include "transports/document_pdf.h"

namespace itaku::gateway {
namespace {

using Json = nlohmann::json;

std::string PurposeText(const std::string& id) {
  const policies::PurposeInfo* p = policies::FindPurpose(id);
  return p ? std::string(p->description) + "（" + id + "）" : id;
}

std::string TransportText(contracts::Transport t) {
  switch (t) {
    case contracts::Transport::kPaper:
      return "紙";
    case contracts::Transport::kMedia:
      return "電子記録媒体の引渡し";
    case contracts::Transport::kSftp:
      return "電子データの伝送（SFTP）";
    case contracts::Transport::kPortal:
      return "サーバへのアクセス（ポータル）";
  }
  return "";
}

std::string Period(const Date& from, const Date& until, bool wareki) {
  return JapaneseDate(from, wareki) + "〜" + JapaneseDate(until, wareki);
}

// The register's columns, in order (CSV header and PDF table).
const std::vector<std::pair<std::string, double>>& RegisterColumns() {
  static const std::vector<std::pair<std::string, double>> kColumns = {
      {"委託先", 1.5},          {"状態", 0.6},
      {"業務委託契約", 1.6},    {"委託業務（利用目的）", 1.7},
      {"提供項目", 2.0},        {"再委託", 1.3},
      {"機密保持契約", 1.3},    {"事故時連絡先", 1.3},
      {"前回点検", 1.2},        {"次回点検期限", 1.0},
      {"未了の返却・廃棄", 1.0}};
  return kColumns;
}

struct RegisterRow {
  std::vector<std::string> cells;
  Json json;
};

// One row per contractor, by id.
Result<std::vector<RegisterRow>> RegisterRows(Context& ctx, bool wareki) {
  auto contractors = ctx.store->ListContractors();
  if (!contractors.ok()) return contractors.status();
  auto contracts = ctx.store->ListContracts(std::nullopt);
  if (!contracts.ok()) return contracts.status();
  auto subs = ctx.store->ListSubcontractors(std::nullopt);
  if (!subs.ok()) return subs.status();
  auto ndas = ctx.store->ListNdas(std::nullopt);
  if (!ndas.ok()) return ndas.status();
  auto profiles = ctx.store->ListProfiles();
  if (!profiles.ok()) return profiles.status();
  auto checks = ctx.store->ListSupervisionChecks(std::nullopt);
  if (!checks.ok()) return checks.status();
  auto tasks = DisposalTasks(ctx, std::nullopt, false);
  if (!tasks.ok()) return tasks.status();
  const Date today = ctx.clock->Today();

  std::vector<RegisterRow> rows;
  for (const auto& c : contractors.value()) {
    RegisterRow row;
    Json& j = row.json;
    j["contractor"] = c.id;
    j["name"] = c.name;
    j["status"] = contracts::ToString(c.status);
    // Contracts that stand (not withdrawn), newest last; the register
    // shows those in force today, or else the latest.
    std::vector<const contracts::Contract*> standing;
    for (const auto& k : contracts.value()) {
      if (k.contractor_id == c.id && k.withdrawn_at.empty()) standing.push_back(&k);
    }
    std::vector<const contracts::Contract*> shown;
    for (const auto* k : standing) {
      if (k->in_force_from <= today && today <= k->in_force_until) shown.push_back(k);
    }
    if (shown.empty() && !standing.empty()) shown.push_back(standing.back());
    std::vector<std::string> contract_lines, purposes, terms, contacts;
    std::set<std::string> purpose_set;
    j["contracts"] = Json::array();
    for (const auto* k : shown) {
      const bool in_force = k->in_force_from <= today && today <= k->in_force_until;
      contract_lines.push_back("#" + std::to_string(k->id) + " " +
                               Period(k->in_force_from, k->in_force_until, wareki) +
                               (in_force ? "" : "（期間外）"));
      for (const auto& p : k->purposes) {
        if (purpose_set.insert(p).second) purposes.push_back(PurposeText(p));
      }
      std::string t = policies::JapaneseWord(k->reoutsourcing);
      std::vector<std::string> names;
      for (const auto& s : subs.value()) {
        if (s.contract_id == k->id) {
          names.push_back(s.name + "（" + s.work + "、機密保持契約 " +
                          JapaneseDate(s.nda_until, wareki) + "まで）");
        }
      }
      if (!names.empty()) t += "：" + Join(names, "、");
      terms.push_back(t);
      contacts.push_back(k->incident_contact);
      Json kj = contracts::ToJson(*k);
      kj["id"] = k->id;
      kj["in_force"] = in_force;
      j["contracts"].push_back(kj);
    }
    // What the contractor's profiles (latest versions) provide.
    std::vector<std::string> items;
    std::set<std::string> item_set;
    j["items"] = Json::array();
    for (const auto& p : profiles.value()) {
      if (p.contractor_id != c.id) continue;
      for (const auto& f : p.fields) {
        if (!item_set.insert(f).second) continue;
        items.push_back(FieldLabel(f));
        j["items"].push_back(f);
      }
    }
    // The NDA in force today that runs longest.
    const contracts::Nda* nda = nullptr;
    for (const auto& n : ndas.value()) {
      if (n.contractor_id != c.id || !n.withdrawn_at.empty()) continue;
      if (n.in_force_from <= today && today <= n.in_force_until &&
          (!nda || n.in_force_until > nda->in_force_until)) {
        nda = &n;
      }
    }
    const std::string nda_text = nda ? "#" + std::to_string(nda->id) + " " +
                                           JapaneseDate(nda->in_force_until, wareki) + "まで"
                                     : "なし（有効な契約なし）";
    j["nda"] = nda ? Json(nda->id) : Json();
    const contracts::SupervisionCheck* last = policies::LatestCheck(checks.value(), c.id);
    std::string last_text = "未実施", next_text = "―";
    if (last) {
      last_text =
          JapaneseDate(last->checked_on, wareki) + " " + policies::JapaneseWord(last->result);
      next_text = JapaneseDate(last->next_due, wareki) + (last->next_due < today ? "（超過）" : "");
      j["last_check"] = {{"id", last->id},
                         {"checked_on", FormatDate(last->checked_on)},
                         {"result", contracts::ToString(last->result)},
                         {"next_due", FormatDate(last->next_due)}};
    } else {
      j["last_check"] = Json();
    }
    int open = 0, overdue = 0;
    for (const auto& t : tasks.value()) {
      if (t.delivery.contractor_id != c.id) continue;
      ++open;
      if (t.overdue) ++overdue;
    }
    j["open_disposals"] = open;
    j["overdue_disposals"] = overdue;
    const std::string status_text = c.status == contracts::ContractorStatus::kActive ? "取引中"
                                    : c.status == contracts::ContractorStatus::kSuspended ? "停止中"
                                                                                          : "終了";
    row.cells = {c.name + "（" + c.id + "）",
                 status_text,
                 contract_lines.empty() ? "なし" : Join(contract_lines, "\n"),
                 purposes.empty() ? "―" : Join(purposes, "\n"),
                 items.empty() ? "―" : Join(items, "、"),
                 terms.empty() ? "―" : Join(terms, "\n"),
                 nda_text,
                 contacts.empty() ? "―" : Join(contacts, "\n"),
                 last_text,
                 next_text,
                 std::to_string(open) + "件" +
                     (overdue ? "（うち期限超過 " + std::to_string(overdue) + "件）" : "")};
    rows.push_back(std::move(row));
  }
  return rows;
}

// One CSV cell: quoted, with a formula neutralised (OWASP: CSV injection;
// the register is opened in a spreadsheet).
std::string CsvCell(std::string cell) {
  if (policies::NeedsFormulaGuard(cell, policies::Encoding::kUtf8)) cell.insert(0, "'");
  std::string out = "\"";
  for (char ch : cell) {
    if (ch == '"') out += '"';
    out += ch;
  }
  return out + "\"";
}

transports::PaperRunningHead Head(const OperatorIdentity& op, const std::string& what) {
  return {op.name, what, "本書は委託先の管理のための記録です。取扱いに注意してください。"};
}

}  // namespace

Result<Output> RegisterExport(Context& ctx, const std::string& format, const std::string& out) {
  if (format != "csv" && format != "pdf") {
    return Status::Error("register export: --format must be csv or pdf");
  }
  auto op = LoadOperatorIdentity(ctx.daemon_config);
  if (!op.ok()) return op.status();
  auto rows = RegisterRows(ctx, op->wareki);
  if (!rows.ok()) return rows.status();
  const Date today = ctx.clock->Today();
  Output result;
  result.json = {{"format", format}, {"out", out}, {"contractors", Json::array()}};
  for (const auto& r : rows.value()) result.json["contractors"].push_back(r.json);
  if (format == "csv") {
    std::string text = "\xEF\xBB\xBF";  // BOM: Excel opens UTF-8 as such
    std::vector<std::string> header;
    for (const auto& [label, weight] : RegisterColumns()) header.push_back(CsvCell(label));
    text += Join(header, ",") + "\r\n";
    for (const auto& r : rows.value()) {
      std::vector<std::string> cells;
      for (const auto& c : r.cells) cells.push_back(CsvCell(c));
      text += Join(cells, ",") + "\r\n";
    }
    if (Status w = WriteFileAtomically(out, text); !w.ok()) return w;
  } else {
    transports::Document doc;
    doc.title = "委託先管理台帳";
    doc.subtitle = {"委託元 " + op->name, "作成日 " + JapaneseDate(today, op->wareki),
                    "委託先 " + std::to_string(rows->size()) + "社"};
    doc.head = Head(op.value(), "委託先管理台帳 " + JapaneseDate(today, op->wareki));
    doc.landscape = true;
    transports::DocumentBlock table;
    table.kind = transports::DocumentBlock::Kind::kTable;
    for (const auto& [label, weight] : RegisterColumns()) {
      table.table.columns.push_back({label, weight});
    }
    for (const auto& r : rows.value()) table.table.rows.push_back(r.cells);
    doc.blocks.push_back(std::move(table));
    auto written = transports::WriteDocumentPdf(doc, out);
    if (!written.ok()) return written.status();
    result.json["pages"] = written->pages;
    result.json["sha256"] = written->sha256;
  }
  result.text = "wrote the register (委託先管理台帳) of " + std::to_string(rows->size()) +
                " contractors as " + format + " to " + out;
  if (Status a = ctx.audit->Append(ctx.actor, "register.export", "register",
                                   {{"format", format}, {"contractors", rows->size()}});
      !a.ok()) {
    return a;
  }
  return result;
}

Result<Output> DeliverySlip(Context& ctx, int64_t delivery_id, const std::string& out) {
  const std::string name = "delivery " + std::to_string(delivery_id);
  auto found = ctx.store->FindDelivery(delivery_id);
  if (!found.ok()) return found.status();
  if (!found.value()) return Status::NotFound("unknown " + name);
  const contracts::DeliveryRecord& d = *found.value();
  using O = contracts::DeliveryOutcome;
  if (d.outcome == O::kRefused || d.outcome == O::kDryRun) {
    return Status::Refused(name + " was " + std::string(contracts::ToString(d.outcome)) +
                           ": nothing was handed over, so there is no 授受記録");
  }
  auto op = LoadOperatorIdentity(ctx.daemon_config);
  if (!op.ok()) return op.status();
  const bool wareki = op->wareki;
  auto contractor = ctx.store->FindContractor(d.contractor_id);
  if (!contractor.ok()) return contractor.status();
  auto profile = ctx.store->FindProfile(d.profile_id, d.profile_version);
  if (!profile.ok()) return profile.status();
  auto contracts = ctx.store->ListContracts(d.contractor_id);
  if (!contracts.ok()) return contracts.status();
  auto media = ctx.store->FindMediaRecord(d.id);
  if (!media.ok()) return media.status();
  auto tasks = DisposalTasks(ctx, d.contractor_id, true);
  if (!tasks.ok()) return tasks.status();
  const DisposalTask* task = nullptr;
  for (const auto& t : tasks.value()) {
    if (t.delivery.id == d.id) task = &t;
  }
  const std::optional<Date> day = JapanDayOf(d.ordered_at);

  using Field = transports::DocumentField;
  std::vector<Field> fields;
  fields.push_back({"授受番号", std::to_string(d.id)});
  fields.push_back({"授受日時", ShowJst(d.ordered_at)});
  fields.push_back({"委託元", op->name});
  fields.push_back({"委託先", (contractor.value() ? contractor.value()->name : std::string()) +
                                  "（" + d.contractor_id + "）"});
  const contracts::ContractProfile* p = profile.value() ? &*profile.value() : nullptr;
  if (p) fields.push_back({"利用目的", PurposeText(p->purpose)});
  if (p && day) {
    const contracts::Contract* k =
        policies::CoveringContract(contracts.value(), d.contractor_id, p->purpose, *day);
    fields.push_back({"業務委託契約", k ? "#" + std::to_string(k->id) + " " +
                                              Period(k->in_force_from, k->in_force_until, wareki)
                                        : "記録なし（契約登録前の授受）"});
  }
  fields.push_back({"機密保持契約", d.nda_id ? "#" + std::to_string(*d.nda_id) : "―"});
  fields.push_back({"提供条件", d.profile_id + " 第" + std::to_string(d.profile_version) + "版"});
  fields.push_back({"提供方法", TransportText(d.transport)});
  fields.push_back({"件数", std::to_string(d.record_count) + "件"});
  fields.push_back({"状態", StateLabel(std::string(contracts::ToString(d.outcome)))});
  fields.push_back({"指示者", d.ordered_by});
  if (!d.package_sha256.empty()) fields.push_back({"提供物の SHA-256", d.package_sha256});
  if (task) fields.push_back({"返却・廃棄期限", JapaneseDate(task->delete_by, wareki)});
  if (media.value() && !media.value()->handed_to.empty()) {
    fields.push_back({"引渡し", media.value()->handed_to + "（" +
                                    ShowJst(media.value()->handed_over_at) + "、" +
                                    media.value()->handed_over_by + "）"});
  }
  std::string disposal = "未了";
  if (task && task->disposal) {
    const contracts::Disposal& x = *task->disposal;
    disposal = policies::JapaneseWord(x.method) + " " + JapaneseDate(x.disposed_on, wareki) +
               "（廃棄証明書 SHA-256 " + x.certificate_sha256 + "、" +
               (x.via == "portal" ? "委託先がポータルで提出" : "担当者が登録") + "）";
  } else if (task && task->closed_by_media) {
    disposal = std::string(contracts::ToString(media.value()->state)) + "（証明書 SHA-256 " +
               media.value()->certificate_sha256 + "）";
  } else if (task && task->overdue) {
    disposal = "未了（期限超過）";
  }
  fields.push_back({"返却・廃棄", disposal});

  transports::Document doc;
  doc.title = "個人データ授受記録";
  doc.subtitle = {"授受番号 " + std::to_string(d.id),
                  "作成日 " + JapaneseDate(ctx.clock->Today(), wareki)};
  doc.head = Head(op.value(), "授受番号 " + std::to_string(d.id));
  transports::DocumentBlock facts;
  facts.kind = transports::DocumentBlock::Kind::kFields;
  facts.fields = std::move(fields);
  doc.blocks.push_back(std::move(facts));
  transports::DocumentBlock heading;
  heading.kind = transports::DocumentBlock::Kind::kHeading;
  heading.text = "提供項目";
  doc.blocks.push_back(std::move(heading));
  transports::DocumentBlock items;
  items.kind = transports::DocumentBlock::Kind::kTable;
  items.table.columns = {{"項目", 1.5}, {"項目ID", 1.3}, {"表示", 2.2}};
  std::vector<std::string> all = d.fields;
  all.insert(all.end(), d.extra_fields.begin(), d.extra_fields.end());
  for (const auto& f : all) {
    std::string note;
    if (p) {
      auto m = p->masks.find(f);
      if (m != p->masks.end()) note = MaskNote(m->second);
    }
    items.table.rows.push_back({FieldLabel(f), f, note.empty() ? "そのまま" : note});
  }
  doc.blocks.push_back(std::move(items));
  auto written = transports::WriteDocumentPdf(doc, out);
  if (!written.ok()) return written.status();
  if (Status a = ctx.audit->Append(ctx.actor, "delivery.slip", "delivery:" + std::to_string(d.id),
                                   {{"contractor", d.contractor_id}, {"sha256", written->sha256}});
      !a.ok()) {
    return a;
  }
  return Output{
      {{"delivery", d.id}, {"out", out}, {"pages", written->pages}, {"sha256", written->sha256}},
      "wrote the 授受記録 of " + name + " to " + out + " (" + std::to_string(written->pages) +
          " pages)"};
}

}  // namespace itaku::gateway
