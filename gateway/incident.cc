#include "gateway/incident.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <iostream>
#include <map>

#include "contracts/base/atomic_file.h"
#include "contracts/base/strings.h"
#include "contracts/record_json.h"
#include "gateway/audit.h"
#include "gateway/clock.h"
#include "gateway/detail/command_util.h"
#include "gateway/detail/receipt_scope.h"
#include "gateway/operator_identity.h"
#include "policies/catalog.h"
#include "transports/document_pdf.h"

namespace itaku::gateway {
namespace {

using Json = nlohmann::json;

// Policy 5(1) [1]-[7]: the grounds on which 7(2) lets the facts go
// unpublished, as the policy words them.
const std::map<std::string, std::string>& WithholdGrounds() {
  static const std::map<std::string, std::string> kGrounds = {
      {"5(1)[1]", "本人又は第三者の生命、身体、財産その他の権利利益を害する恐れがある場合"},
      {"5(1)[2]",
       "この施設の権利又は正当な利益を損なったり、業務の適正実施に著しい支障を及ぼす恐れがある場"
       "合"},
      {"5(1)[3]", "違法又は不当な行為を助長し、又は誘発する恐れがある場合"},
      {"5(1)[4]",
       "国の安全が害される恐れ、他国若しくは国際機関との信頼関係が損なわれる恐れ又は他国若しくは"
       "国際機関との交渉上不利益を被る恐れがある場合"},
      {"5(1)[5]",
       "犯罪の予防、鎮圧又は捜査その他の公共の安全と秩序の維持に支障が及ぶ恐れがある場合"},
      {"5(1)[6]",
       "国の機関又は地方公共団体が法令の定める事務を遂行することに対して、協力する必要がある場合"
       "で、当該事務に支障を及ぼす恐れがある場合"},
      {"5(1)[7]", "他の法令に違反することとなる場合"}};
  return kGrounds;
}

// Free text staff write (summary, cause, measures): UTF-8, line breaks
// allowed, no other control characters, bounded.
Status CheckText(const std::string& what, const std::string& text, bool required) {
  if (text.empty()) {
    return required ? Status::Error(what + " is required") : Status::Ok();
  }
  if (text.size() > 8000) return Status::Error(what + " is longer than 8000 bytes");
  for (unsigned char ch : text) {
    if ((ch < 0x20 && ch != '\n' && ch != '\t') || ch == 0x7f) {
      return Status::Error(what + " must not hold control characters other than line breaks");
    }
  }
  return Status::Ok();
}

Result<contracts::Incident> RequireIncident(Context& ctx, int64_t id) {
  auto found = ctx.store->FindIncident(id);
  if (!found.ok()) return found.status();
  if (!found.value()) return Status::NotFound("unknown incident " + std::to_string(id));
  return std::move(*found.value());
}

std::string ItemLabel(const std::string& field) { return FieldLabel(field) + "（" + field + "）"; }

Json IncidentJson(Context& ctx, const contracts::Incident& i) {
  Json j = contracts::ToJson(i);
  j["id"] = i.id;
  j["contractor"] = i.contractor_id;
  const IncidentDeadlines d = DeadlinesOf(i);
  const Date today = ctx.clock->Today();
  j["deadlines"] = {{"preliminary", FormatDate(d.preliminary)},
                    {"final", FormatDate(d.final_report)}};
  j["preliminary_overdue"] = i.preliminary_reported_at.empty() && d.preliminary < today;
  j["final_overdue"] = i.final_reported_at.empty() && d.final_report < today;
  auto counts = ctx.store->CountIncidentNotices(i.id);
  j["notices"] = counts.ok() ? Json(counts.value()) : Json::object();
  return j;
}

std::string DeadlineText(const contracts::Incident& i, const Date& today) {
  const IncidentDeadlines d = DeadlinesOf(i);
  auto one = [&](const char* name, const Date& due, const std::string& done) {
    if (!done.empty()) return std::string(name) + " reported " + ShowJst(done);
    return std::string(name) + " due " + FormatDate(due) + (due < today ? " (OVERDUE)" : "");
  };
  return one("速報", d.preliminary, i.preliminary_reported_at) + ", " +
         one("確報", d.final_report, i.final_reported_at);
}

}  // namespace

IncidentDeadlines DeadlinesOf(const contracts::Incident& incident) {
  return {AddDays(incident.discovered_on, 5),
          AddDays(incident.discovered_on, incident.malicious ? 60 : 30)};
}

Result<Output> IncidentOpen(Context& ctx, const IncidentOpenArgs& a) {
  auto c = RequireContractor(ctx, a.contractor);
  if (!c.ok()) return c.status();
  auto since = ParseDateArg("--since", a.since);
  if (!since.ok()) return since.status();
  auto until = ParseDateArg("--until", a.until);
  if (!until.ok()) return until.status();
  auto discovered = ParseDateArg("--discovered", a.discovered);
  if (!discovered.ok()) return discovered.status();
  const std::string who = "incident at " + a.contractor + ": ";
  if (until.value() < since.value()) {
    return Status::Error(who + "--until " + a.until + " is before --since " + a.since);
  }
  if (ctx.clock->Today() < discovered.value()) {
    return Status::Error(who + "--discovered " + a.discovered + " is after today");
  }
  if (Status t = CheckText(who + "--summary", a.summary, true); !t.ok()) return t;

  // The scope, from the record: every person whose data the contractor
  // received in the period, and per item how many persons it reached.
  const auto [from_utc, to_utc] = JapanDayBoundsUtc(since.value(), until.value());
  const auto started = std::chrono::steady_clock::now();
  auto scope = detail::ScanReceipts(ctx, a.contractor, from_utc, to_utc, false);
  if (!scope.ok()) return scope.status();
  const auto scanned = std::chrono::steady_clock::now();
  contracts::Incident i;
  i.contractor_id = a.contractor;
  i.since = since.value();
  i.until = until.value();
  i.discovered_on = discovered.value();
  i.malicious = a.malicious;
  i.summary = a.summary;
  for (const auto& [id, d] : scope->deliveries) i.deliveries.push_back(id);
  const detail::PersonTable& persons = scope->persons;
  i.persons = static_cast<int64_t>(persons.size());
  std::vector<int64_t> per_bit(scope->names.size(), 0);
  for (size_t e = 0; e < persons.size(); ++e) {
    const uint64_t fields = persons.Fields(e);
    for (size_t b = 0; b < per_bit.size() && b < 64; ++b) {
      if ((fields >> b) & 1) ++per_bit[b];
    }
  }
  for (size_t b = 0; b < per_bit.size(); ++b) {
    if (per_bit[b] > 0) i.persons_by_item[scope->names[b]] = per_bit[b];
  }
  // One notice per person, written in the order of the ids.
  std::vector<std::string_view> ids;
  ids.reserve(persons.size());
  for (uint32_t e : persons.SortedById()) ids.push_back(persons.Id(e));
  i.opened_by = ctx.actor;
  i.opened_at = ctx.clock->NowUtc();
  Status s = ctx.store->Transaction([&]() -> Status {
    auto id = ctx.store->AddIncident(i, ids);
    if (!id.ok()) return id.status();
    i.id = id.value();
    // The summary is the operator's words: kept with the incident, not
    // repeated in the audit trail.
    return ctx.audit->Append(ctx.actor, "incident.open", "incident:" + std::to_string(i.id),
                             {{"contractor", i.contractor_id},
                              {"since", FormatDate(i.since)},
                              {"until", FormatDate(i.until)},
                              {"discovered_on", FormatDate(i.discovered_on)},
                              {"malicious", i.malicious},
                              {"deliveries", i.deliveries},
                              {"persons", i.persons},
                              {"persons_by_item", i.persons_by_item}});
  });
  if (!s.ok()) return s;
  // How long the scope took, in the daemon's log (counts only).
  const auto seconds = [](auto from, auto to) {
    char text[32];
    std::snprintf(text, sizeof text, "%.2f", std::chrono::duration<double>(to - from).count());
    return std::string(text);
  };
  std::cerr << "itaku serve: incident " << i.id << " at " << i.contractor_id << ": " << i.persons
            << " persons in " << i.deliveries.size() << " deliveries read in "
            << seconds(started, scanned) << " s, notices written in "
            << seconds(scanned, std::chrono::steady_clock::now()) << " s" << std::endl;
  Output out{IncidentJson(ctx, i), ""};
  out.text = "incident " + std::to_string(i.id) + " opened for " + i.contractor_id + ": " +
             std::to_string(i.persons) + " persons in " + std::to_string(i.deliveries.size()) +
             " deliveries between " + a.since + " and " + a.until + " (days in JST)";
  for (const auto& [field, n] : i.persons_by_item) {
    out.text += "\n  " + ItemLabel(field) + ": " + std::to_string(n) + " persons";
  }
  out.text += "\n" + DeadlineText(i, ctx.clock->Today()) + "\ndrafts: itaku incident draft " +
              std::to_string(i.id) +
              " --report preliminary|final|publication --format pdf|json --out FILE" +
              "\nnotices to the persons: itaku incident notify " + std::to_string(i.id) +
              " --contacts EXPORT";
  return out;
}

Result<Output> IncidentList(Context& ctx) {
  auto all = ctx.store->ListIncidents();
  if (!all.ok()) return all.status();
  const Date today = ctx.clock->Today();
  Output out{Json::array(), ""};
  for (const auto& i : all.value()) {
    Json j = IncidentJson(ctx, i);
    int64_t done = 0;
    for (const auto& [state, n] : j["notices"].items()) {
      if (state == "sent" || state == "letter") done += n.get<int64_t>();
    }
    out.json.push_back(j);
    out.text += (out.text.empty() ? "" : "\n") + std::to_string(i.id) + "\t" + i.contractor_id +
                "\tdiscovered " + FormatDate(i.discovered_on) + "\t" + std::to_string(i.persons) +
                " persons\t" + DeadlineText(i, today) + "\tnotified " + std::to_string(done) + "/" +
                std::to_string(i.persons);
  }
  if (out.text.empty()) out.text = "no incidents";
  return out;
}

Result<Output> IncidentShow(Context& ctx, int64_t id) {
  auto i = RequireIncident(ctx, id);
  if (!i.ok()) return i.status();
  Output out{IncidentJson(ctx, i.value()), ""};
  const contracts::Incident& x = i.value();
  std::vector<std::string> ds;
  for (int64_t d : x.deliveries) ds.push_back(std::to_string(d));
  out.text = "incident " + std::to_string(x.id) + " at " + x.contractor_id + ", " +
             FormatDate(x.since) + " to " + FormatDate(x.until) + ", discovered " +
             FormatDate(x.discovered_on) + (x.malicious ? " (malicious)" : "") +
             "\npersons: " + std::to_string(x.persons) +
             "\ndeliveries: " + (ds.empty() ? "none" : Join(ds));
  for (const auto& [field, n] : x.persons_by_item) {
    out.text += "\n  " + ItemLabel(field) + ": " + std::to_string(n) + " persons";
  }
  out.text += "\n" + DeadlineText(x, ctx.clock->Today());
  std::string notices;
  for (const auto& [state, n] : out.json["notices"].items()) {
    notices += (notices.empty() ? "" : ", ") + state + " " + std::to_string(n.get<int64_t>());
  }
  out.text += "\nnotices: " + (notices.empty() ? "none" : notices);
  out.text +=
      "\npublication: " + (x.publication.empty()        ? std::string("not decided")
                           : x.publication == "publish" ? std::string("published")
                                                        : "withheld under " + x.publication_reason);
  return out;
}

Result<Output> IncidentUpdate(Context& ctx, const IncidentUpdateArgs& a) {
  auto i = RequireIncident(ctx, a.id);
  if (!i.ok()) return i.status();
  contracts::Incident x = i.value();
  const std::string who = "incident " + std::to_string(a.id) + ": ";
  std::vector<std::string> changed;
  for (auto [value, field, flag, name] : {std::tuple{&a.cause, &x.cause, "--cause", "cause"},
                                          {&a.harm, &x.secondary_harm, "--harm", "secondary_harm"},
                                          {&a.response, &x.response, "--response", "response"},
                                          {&a.measures, &x.measures, "--measures", "measures"},
                                          {&a.other, &x.other, "--other", "other"}}) {
    if (!*value) continue;
    if (Status t = CheckText(who + flag, **value, false); !t.ok()) return t;
    *field = **value;
    changed.push_back(name);
  }
  if (changed.empty()) {
    return Status::Error(who +
                         "nothing to update (give --cause, --harm, --response, --measures or "
                         "--other)");
  }
  Status s = ctx.store->Transaction([&]() -> Status {
    if (Status u = ctx.store->UpdateIncident(x); !u.ok()) return u;
    return ctx.audit->Append(ctx.actor, "incident.update", "incident:" + std::to_string(x.id),
                             {{"contractor", x.contractor_id}, {"changed", changed}});
  });
  if (!s.ok()) return s;
  return Output{IncidentJson(ctx, x),
                "incident " + std::to_string(x.id) + ": " + Join(changed) + " updated"};
}

Result<Output> IncidentPublication(Context& ctx, const IncidentPublicationArgs& a) {
  auto i = RequireIncident(ctx, a.id);
  if (!i.ok()) return i.status();
  contracts::Incident x = i.value();
  const std::string who = "incident " + std::to_string(a.id) + ": ";
  if (a.publish == a.withhold) return Status::Error(who + "give either --publish or --withhold");
  if (a.publish) {
    if (Status t = CheckText(who + "--text", a.text, true); !t.ok()) return t;
    x.publication = "publish";
    x.publication_text = a.text;
    x.publication_reason.clear();
  } else {
    if (!WithholdGrounds().count(a.reason)) {
      return Status::Error(who + "--reason must be one of 5(1)[1] to 5(1)[7] (policy 7(2))");
    }
    if (Status t = CheckText(who + "--note", a.note, true); !t.ok()) return t;
    x.publication = "withhold";
    x.publication_reason = a.reason;
    x.publication_text.clear();
  }
  x.publication_note = a.note;
  Status s = ctx.store->Transaction([&]() -> Status {
    if (Status u = ctx.store->UpdateIncident(x); !u.ok()) return u;
    return ctx.audit->Append(ctx.actor, "incident.publication", "incident:" + std::to_string(x.id),
                             {{"contractor", x.contractor_id},
                              {"decision", x.publication},
                              {"reason", x.publication_reason}});
  });
  if (!s.ok()) return s;
  return Output{IncidentJson(ctx, x),
                a.publish ? "incident " + std::to_string(x.id) +
                                ": the facts will be published (policy 7(1)[2]); draft: itaku "
                                "incident draft " +
                                std::to_string(x.id) + " --report publication"
                          : "incident " + std::to_string(x.id) + ": not published under " +
                                a.reason + " (policy 7(2)): " + WithholdGrounds().at(a.reason)};
}

Result<Output> IncidentReported(Context& ctx, int64_t id, const std::string& report) {
  auto i = RequireIncident(ctx, id);
  if (!i.ok()) return i.status();
  contracts::Incident x = i.value();
  const std::string who = "incident " + std::to_string(id) + ": ";
  std::string* at = report == "preliminary" ? &x.preliminary_reported_at
                    : report == "final"     ? &x.final_reported_at
                                            : nullptr;
  if (!at) return Status::Error(who + "--report must be preliminary or final");
  if (!at->empty()) {
    return Status::Conflict(who + "the " + report + " report was already recorded as sent on " +
                            ShowJst(*at));
  }
  *at = ctx.clock->NowUtc();
  Status s = ctx.store->Transaction([&]() -> Status {
    if (Status u = ctx.store->UpdateIncident(x); !u.ok()) return u;
    return ctx.audit->Append(ctx.actor, "incident.reported", "incident:" + std::to_string(x.id),
                             {{"contractor", x.contractor_id}, {"report", report}});
  });
  if (!s.ok()) return s;
  return Output{IncidentJson(ctx, x), "incident " + std::to_string(id) + ": the " + report +
                                          " report is recorded as sent to the Commission"};
}

namespace {

struct DraftItem {
  std::string key, label, value;
};

Result<std::vector<DraftItem>> DraftItems(Context& ctx, const contracts::Incident& x,
                                          const OperatorIdentity& op) {
  auto contractor = ctx.store->FindContractor(x.contractor_id);
  if (!contractor.ok()) return contractor.status();
  const std::string cname = (contractor.value() ? contractor.value()->name : std::string()) + "（" +
                            x.contractor_id + "）";
  auto counts = ctx.store->CountIncidentNotices(x.id);
  if (!counts.ok()) return counts.status();
  auto count = [&](const char* state) {
    auto it = counts->find(state);
    return it == counts->end() ? int64_t{0} : it->second;
  };
  std::string items;
  for (const auto& [field, n] : x.persons_by_item) {
    items += (items.empty() ? "" : "\n") + FieldLabel(field) + "：" + std::to_string(n) + "人";
  }
  const std::string pending = "（調査中）";
  std::string response = x.response.empty() ? std::string() : x.response + "\n";
  response += "通知済み " + std::to_string(count("sent")) + "人（電子メール）、" +
              std::to_string(count("letter")) + "人（書面）、未了 " +
              std::to_string(x.persons - count("sent") - count("letter")) + "人";
  std::string publication = "未定";
  if (x.publication == "publish") publication = "公表する（方針7(1)[2]）\n" + x.publication_text;
  if (x.publication == "withhold") {
    publication = "公表しない（方針7(2)、" + x.publication_reason + "：" +
                  WithholdGrounds().at(x.publication_reason) + "）" +
                  (x.publication_note.empty() ? "" : "\n" + x.publication_note);
  }
  std::vector<std::string> ds;
  for (int64_t d : x.deliveries) ds.push_back("#" + std::to_string(d));
  return std::vector<DraftItem>{
      {"reporter", "報告者",
       op.name + (op.address.empty() ? "" : "\n" + op.address) +
           (op.phone.empty() ? "" : "\n電話 " + op.phone)},
      {"summary", "概要",
       x.summary + "\n発覚日：" + JapaneseDate(x.discovered_on, op.wareki) + "\n委託先：" + cname +
           "\n対象期間：" + JapaneseDate(x.since, op.wareki) + "〜" +
           JapaneseDate(x.until, op.wareki) + "（授受 " + Join(ds, "、") + "）" +
           (x.malicious ? "\n不正の目的によるおそれあり" : "")},
      {"items", "漏えい等が発生し、又は発生したおそれがある個人データの項目",
       items.empty() ? "なし" : items},
      {"persons", "漏えい等が発生し、又は発生したおそれがある個人データに係る本人の数",
       std::to_string(x.persons) + "人"},
      {"cause", "原因", x.cause.empty() ? pending : x.cause},
      {"secondary_harm", "二次被害又はそのおそれの有無及びその内容",
       x.secondary_harm.empty() ? pending : x.secondary_harm},
      {"response", "本人への対応の実施状況", response},
      {"publication", "公表の実施状況", publication},
      {"measures", "再発防止のための措置", x.measures.empty() ? pending : x.measures},
      {"other", "その他参考となる事項", x.other.empty() ? "なし" : x.other}};
}

}  // namespace

Result<Output> IncidentDraft(Context& ctx, int64_t id, const std::string& report,
                             const std::string& format, const std::string& out) {
  auto i = RequireIncident(ctx, id);
  if (!i.ok()) return i.status();
  const contracts::Incident& x = i.value();
  const std::string who = "incident " + std::to_string(id) + ": ";
  if (report != "preliminary" && report != "final" && report != "publication") {
    return Status::Error(who + "--report must be preliminary, final or publication");
  }
  if (format != "json" && format != "pdf")
    return Status::Error(who + "--format must be json or pdf");
  if (report == "publication" && x.publication == "withhold") {
    return Status::Refused(who + "publication was decided against under " + x.publication_reason +
                           " (policy 7(2)); there is nothing to publish");
  }
  auto op = LoadOperatorIdentity(ctx.daemon_config);
  if (!op.ok()) return op.status();
  if (std::string why = PlaceholderRefusal(op.value(), who + "a draft", {"operator_name"});
      !why.empty()) {
    return Status::Refused(why);
  }
  auto items = DraftItems(ctx, x, op.value());
  if (!items.ok()) return items.status();
  const IncidentDeadlines deadlines = DeadlinesOf(x);
  const Date today = ctx.clock->Today();
  std::string title, due;
  if (report == "preliminary") {
    title = "個人データの漏えい等事案に係る報告（速報）";
    due = FormatDate(deadlines.preliminary);
  } else if (report == "final") {
    title = "個人データの漏えい等事案に係る報告（確報）";
    due = FormatDate(deadlines.final_report);
  } else {
    title = "個人情報の漏えいに関するお詫びとお知らせ";
  }
  Output result{{{"incident", id}, {"report", report}, {"format", format}, {"out", out}}, ""};
  if (format == "json") {
    Json j = {{"title", title},
              {"draft", true},
              {"incident", id},
              {"report", report},
              {"prepared_on", FormatDate(today)},
              {"due", due.empty() ? Json() : Json(due)},
              {"persons", x.persons},
              {"persons_by_item", x.persons_by_item},
              {"deliveries", x.deliveries},
              {"items", Json::array()}};
    for (const auto& it : items.value()) {
      j["items"].push_back({{"key", it.key}, {"label", it.label}, {"value", it.value}});
    }
    if (Status w = WriteFileAtomically(out, j.dump(2) + "\n"); !w.ok()) return w;
  } else {
    transports::Document doc;
    doc.title = title + "（案）";
    doc.subtitle = {op->name, "作成日 " + JapaneseDate(today, op->wareki)};
    if (!due.empty()) {
      doc.subtitle.push_back("提出期限 " + JapaneseDate(report == "preliminary"
                                                            ? deadlines.preliminary
                                                            : deadlines.final_report,
                                                        op->wareki));
    }
    doc.head = {op->name, "事案番号 " + std::to_string(id),
                "下書き（個人情報保護委員会への提出前）"};
    if (report == "publication") {
      std::string body =
          "このたび、当社が業務を委託している事業者において、お客様の個人情報の漏えい"
          "（又はそのおそれ）が判明いたしました。お客様には多大なるご迷惑とご心配を"
          "おかけしますことを深くお詫び申し上げます。";
      doc.blocks.push_back(transports::DocumentBlock::Paragraph(body));
      std::vector<transports::DocumentField> fields;
      for (const auto& it : items.value()) {
        if (it.key == "summary" || it.key == "items" || it.key == "persons" ||
            it.key == "measures" || it.key == "response") {
          fields.push_back({it.label, it.value});
        }
      }
      fields.push_back({"お問い合わせ先", Join(SenderLines(op.value()), "\n")});
      doc.blocks.push_back(transports::DocumentBlock::Fields(std::move(fields)));
    } else {
      std::vector<transports::DocumentField> fields;
      for (const auto& it : items.value()) fields.push_back({it.label, it.value});
      doc.blocks.push_back(transports::DocumentBlock::Fields(std::move(fields)));
      transports::DocumentTable table;
      table.columns = {{"項目", 2}, {"項目ID", 1.4}, {"本人の数", 1}};
      for (const auto& [field, n] : x.persons_by_item) {
        table.rows.push_back({FieldLabel(field), field, std::to_string(n) + "人"});
      }
      doc.blocks.push_back(transports::DocumentBlock::Heading("項目ごとの本人の数"));
      doc.blocks.push_back(transports::DocumentBlock::Table(std::move(table)));
    }
    auto written = transports::WriteDocumentPdf(doc, out);
    if (!written.ok()) return written.status();
    result.json["pages"] = written->pages;
    result.json["sha256"] = written->sha256;
  }
  if (Status a = ctx.audit->Append(
          ctx.actor, "incident.draft", "incident:" + std::to_string(id),
          {{"contractor", x.contractor_id}, {"report", report}, {"format", format}});
      !a.ok()) {
    return a;
  }
  result.text = "wrote the " + report + " draft of incident " + std::to_string(id) + " (" + format +
                ") to " + out;
  return result;
}

}  // namespace itaku::gateway
