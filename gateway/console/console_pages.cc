// The console's pages. Each runs the staff API's commands as the signed-in
// member (Impl::Run), so a page shows and does exactly what that member's
// role allows; a form for a step the role may not take is not shown, and
// posting it anyway is refused (403) by the command's own check.
#include <filesystem>
#include <fstream>
#include <regex>
#include <set>
#include <sstream>
#include <thread>

#include "contracts/base/date.h"
#include "contracts/base/files.h"
#include "gateway/commands.h"
#include "gateway/console/console_impl.h"
#include "gateway/console/views.h"
#include "gateway/incident.h"
#include "gateway/records_json.h"
#include "gateway/requests.h"
#include "gateway/supervision.h"
#include "policies/access_rules.h"
#include "policies/catalog.h"

namespace itaku::gateway::console {
namespace {

namespace fs = std::filesystem;

// ---- view builders -----------------------------------------------------------

// A proposal's change as the approver reads it: "field postal_code" ->
// "項目: 郵便番号"; "sent" / "withheld" / a mask in Japanese.
std::string ChangeItem(const std::string& item) {
  if (item.rfind("field ", 0) == 0) return "項目: " + Label(item.substr(6));
  if (item.rfind("mask ", 0) == 0) return "マスク: " + Label(item.substr(5));
  if (item.rfind("transport ", 0) == 0) return "提供方法: " + item.substr(10);
  if (item.rfind("destination via ", 0) == 0) return "送付先(" + item.substr(16) + ")";
  static const std::map<std::string, std::string> k = {{"transports", "提供方法"},
                                                       {"retention_days", "保存日数"},
                                                       {"valid_from", "有効期間の開始"},
                                                       {"valid_until", "有効期間の終了"},
                                                       {"purpose", "目的"},
                                                       {"contractor", "委託先"},
                                                       {"output_package", "パッケージ形式"},
                                                       {"formula_guard", "数式の無害化"},
                                                       {"decide_within_days", "判断の期限(日)"},
                                                       {"notify_within_days", "通知の期限(日)"}};
  auto it = k.find(item);
  return it == k.end() ? item : it->second;
}
std::string ChangeValue(const Json& j) {
  if (j.is_null() || j == "") return "(なし)";
  if (!j.is_string()) return Text(j)["text"];
  const std::string v = j.get<std::string>();
  if (v == "sent") return "提供する";
  if (v == "allowed") return "許可する";
  if (v == "withheld" || v == "not sent") return "提供しない";
  if (v == "on") return "有効";
  if (v == "off") return "無効";
  return v;
}

std::string TodayText(Visit& v) { return FormatDate(v.session->context().clock->Today()); }

}  // namespace

std::string PaperStateLabel(const std::string& state) {
  if (state == "written") return "印刷済み(未引渡し)";
  if (state == "destroyed") return "裁断済み";
  return StateLabel(state);
}

// ---- plumbing ----------------------------------------------------------------

Json CommandArgs(const std::vector<std::string>& path, const Args& args) {
  Json a = Json::array();
  for (const auto& [name, values] : args) {
    // A flag travels as the CLI sends it: one value, "true".
    a.push_back({name, values.empty() ? std::vector<std::string>{"true"} : values});
  }
  return {{"path", path}, {"args", a}};
}

Result<Output> ConsoleApp::Impl::Run(Visit& v, const std::string& command,
                                     const std::vector<std::string>& path, const Args& args) {
  return v.session->Run(command, CommandArgs(path, args));
}

WebResponse ConsoleApp::Impl::Page(Visit& v, const std::string& title, const std::string& tmpl,
                                   Json view, int status) {
  view["csrf"] = v.csrf;
  Json layout = {{"title", title},
                 {"content", Render(tmpl, view)},
                 {"csrf", v.csrf},
                 {"notice", view.value("notice", "")},
                 {"refresh", view.value("refresh", false)}};
  if (v.session->staff()) {
    const auto& me = *v.session->staff();
    layout["me"] = {{"name", me.name},
                    {"role", RoleLabel(std::string(contracts::ToString(me.role)))},
                    {"officer", me.role == contracts::StaffRole::kPrivacyOfficer}};
  } else {
    layout["me"] = false;
  }
  WebResponse r;
  r.status = status;
  r.body = Render("layout", layout);
  return r;
}

WebResponse ConsoleApp::Impl::Problem(Visit& v, const Status& why) {
  int status = 500;
  std::string lead = "処理できませんでした。";
  switch (why.kind()) {
    case ErrorKind::kRefused:
      status = 403;
      lead = "この操作は、あなたの役割では行えません(または規則により拒否されました)。";
      break;
    case ErrorKind::kNotFound:
      status = 404;
      lead = "見つかりません。";
      break;
    case ErrorKind::kConflict:
      status = 409;
      lead = "ほかの操作と競合したため、実行しませんでした。";
      break;
    case ErrorKind::kInvalidInput:
      status = 400;
      lead = "入力内容に問題があります。";
      break;
    default:
      break;
  }
  return Page(v, "エラー", "message",
              {{"message", lead}, {"detail", v.session->Unspool(why.message())}, {"back", ""}},
              status);
}

// ---- routing -----------------------------------------------------------------

WebResponse ConsoleApp::Impl::Route(Visit& v) {
  const std::string& p = v.req.path;
  const bool get = v.req.method == "GET";
  const bool post = v.req.method == "POST";
  std::smatch m;
  if (get && p == "/") return Dashboard(v);
  if (get && p == "/contractors") return Contractors(v);
  static const std::regex kContractor("/contractors/([^/]+)");
  static const std::regex kNda("/contractors/([^/]+)/nda");
  if (get && std::regex_match(p, m, kContractor)) return Contractor(v, m[1]);
  if (post && std::regex_match(p, m, kNda)) return NdaAdd(v, m[1]);
  if (get && p == "/profiles") return Profiles(v);
  if (post && p == "/profiles/propose") return ProfilePropose(v);
  static const std::regex kProfile("/profiles/([^/]+)");
  if (get && std::regex_match(p, m, kProfile)) return Profile(v, m[1]);
  if (get && p == "/approvals") return Approvals(v);
  static const std::regex kApproval("/approvals/([0-9]+)");
  static const std::regex kDecide("/approvals/([0-9]+)/(approve|reject)");
  if (get && std::regex_match(p, m, kApproval)) return Approval(v, m[1]);
  if (post && std::regex_match(p, m, kDecide)) return ApprovalDecide(v, m[1], m[2]);
  if (get && p == "/deliver") return DeliverForm(v);
  if (post && p == "/deliver") return DeliverUpload(v);
  static const std::regex kStage("/deliver/([0-9a-f]{64})");
  static const std::regex kConfirm("/deliver/([0-9a-f]{64})/confirm");
  if (get && std::regex_match(p, m, kStage)) return DeliverStage(v, m[1]);
  if (post && std::regex_match(p, m, kConfirm)) return DeliverConfirm(v, m[1]);
  static const std::regex kJob("/jobs/([0-9a-f]{64})");
  static const std::regex kJobFile("/jobs/([0-9a-f]{64})/files/([^/]+)");
  if (get && std::regex_match(p, m, kJob)) return JobPage(v, m[1]);
  if (get && std::regex_match(p, m, kJobFile)) return JobDownload(v, m[1], m[2]);
  if (get && p == "/history") return History(v);
  if (get && p == "/breach-scope") return BreachScope(v, false);
  if (get && p == "/breach-scope.csv") return BreachScope(v, true);
  if (get && p == "/requests") return Requests(v);
  static const std::regex kRequest("/requests/([0-9]+)");
  static const std::regex kStep("/requests/([0-9]+)/(decide|instruct|answer|close|notify)");
  if (get && std::regex_match(p, m, kRequest)) return Request(v, m[1]);
  if (post && std::regex_match(p, m, kStep)) return RequestStep(v, m[1], m[2]);
  if (get && p == "/audit") return Audit(v);
  if (post && p == "/audit/verify") return AuditVerify(v);
  if (get && p == "/staff") return Staff(v);
  if (get && p == "/media") return Media(v);
  static const std::regex kMediaStep("/media/([0-9]+)/(handover|returned|destroyed|cancel)");
  if (post && std::regex_match(p, m, kMediaStep)) return MediaStep(v, "media", m[1], m[2]);
  static const std::regex kPaperStep("/paper/([0-9]+)/(handover|returned|shredded|cancel)");
  if (post && std::regex_match(p, m, kPaperStep)) return MediaStep(v, "paper", m[1], m[2]);
  static const std::regex kNdaWithdraw("/ndas/([0-9]+)/withdraw");
  if (post && std::regex_match(p, m, kNdaWithdraw)) return NdaWithdraw(v, m[1]);
  if (post && p == "/special") return SpecialAdd(v);
  static const std::regex kSpecialEnd("/special/([0-9]+)/end");
  if (post && std::regex_match(p, m, kSpecialEnd)) return SpecialEnd(v, m[1]);
  if (get && p == "/supervision") return Supervision(v);
  if (post && p == "/supervision/contracts") return SupervisionContract(v);
  if (post && p == "/supervision/checks") return SupervisionCheck(v);
  if (post && p == "/supervision/subcontractors") return SupervisionSubcontractor(v);
  if (post && p == "/supervision/contracts/withdraw") return SupervisionWithdraw(v);
  if (get && p == "/supervision/register.csv") return RegisterDownload(v, "csv");
  if (get && p == "/supervision/register.pdf") return RegisterDownload(v, "pdf");
  if (get && p == "/disposals") return Disposals(v);
  static const std::regex kDisposal("/disposals/([0-9]+)/record");
  static const std::regex kSlip("/disposals/([0-9]+)/slip\\.pdf");
  if (post && std::regex_match(p, m, kDisposal)) return DisposalRecord(v, m[1]);
  if (get && std::regex_match(p, m, kSlip)) return SlipDownload(v, m[1]);
  if (get && p == "/incidents") return Incidents(v);
  if (post && p == "/incidents") return IncidentOpen(v);
  static const std::regex kIncident("/incidents/([0-9]+)");
  static const std::regex kIncidentStep("/incidents/([0-9]+)/(update|publication|reported)");
  static const std::regex kIncidentDraft(
      "/incidents/([0-9]+)/drafts/(preliminary|final|publication)\\.(pdf|json)");
  if (get && std::regex_match(p, m, kIncident)) return Incident(v, m[1]);
  if (post && std::regex_match(p, m, kIncidentStep)) return IncidentStep(v, m[1], m[2]);
  if (get && std::regex_match(p, m, kIncidentDraft)) return IncidentDraft(v, m[1], m[2], m[3]);
  static const std::regex kEnrolCode("/staff/([^/]+)/enrol-code");
  if (post && std::regex_match(p, m, kEnrolCode)) return StaffEnrolCode(v, m[1]);
  return Page(v, "ページが見つかりません", "message",
              {{"message", "このアドレスのページはありません。"}, {"detail", ""}, {"back", "/"}},
              404);
}

// ---- ダッシュボード ------------------------------------------------------------

WebResponse ConsoleApp::Impl::Dashboard(Visit& v) {
  Json sections = Json::array();
  const std::string today = TodayText(v);
  // NDAs ending within 30 days.
  Json rows = Json::array();
  auto ndas = v.session->Read("nda.list", [](Context& c) { return NdaList(c, std::nullopt, 30); });
  if (ndas.ok()) {
    for (const auto& n : ndas->json) {
      const std::string c = Str(n, "contractor");
      const auto until = ParseDate(Str(n, "in_force_until"));
      const auto now = ParseDate(today);
      rows.push_back({Cell(c, "/contractors/" + PercentEncode(c)), Cell("#" + Str(n, "id")),
                      Cell(Str(n, "in_force_until")),
                      Cell(until && now ? std::to_string(DaysBetween(*now, *until)) + " 日" : "")});
    }
  }
  sections.push_back(Section("30日以内に終了するNDA(機密保持契約)", "ndas-ending",
                             {"委託先", "NDA", "終了日", "残り"}, rows,
                             ndas.ok() ? "ありません。" : "表示できません。"));
  // Contractors without an NDA in force today.
  rows = Json::array();
  auto contractors =
      v.session->Read("contractor.list", [](Context& c) { return ContractorList(c); });
  auto all_ndas = v.session->Read(
      "nda.list", [](Context& c) { return NdaList(c, std::nullopt, std::nullopt); });
  if (contractors.ok() && all_ndas.ok()) {
    std::set<std::string> covered;
    for (const auto& n : all_ndas->json) {
      if (!Str(n, "withdrawn_at").empty()) continue;
      if (Str(n, "in_force_from") <= today && today <= Str(n, "in_force_until")) {
        covered.insert(Str(n, "contractor"));
      }
    }
    for (const auto& c : contractors->json) {
      if (Str(c, "status") != "active" || covered.count(Str(c, "id"))) continue;
      rows.push_back({Cell(Str(c, "id"), "/contractors/" + PercentEncode(Str(c, "id"))),
                      Cell(Str(c, "name")),
                      Cell("提供できません(NDAを登録してください)", "", "warn")});
    }
  }
  sections.push_back(
      Section("有効なNDAのない委託先", "no-nda", {"委託先", "名称", ""}, rows, "ありません。"));
  // Media outstanding.
  rows = Json::array();
  auto media = v.session->Read("media.list", [](Context& c) { return MediaList(c, true); });
  if (media.ok()) {
    for (const auto& mrec : media->json) {
      const std::string overdue = Str(mrec, "overdue");
      rows.push_back({Cell("#" + Str(mrec, "delivery_id"), "/media#m-" + Str(mrec, "delivery_id")),
                      Cell(Str(mrec, "package")),
                      Cell(Str(mrec, "transport") == "paper" ? PaperStateLabel(Str(mrec, "state"))
                                                             : StateLabel(Str(mrec, "state"))),
                      Cell(Str(mrec, "handed_to")), Cell(Jst(Str(mrec, "handed_over_at"))),
                      Cell(Str(mrec, "delete_by")),
                      Cell(overdue.empty() || overdue == "false" ? "" : "消去期限超過", "",
                           overdue.empty() || overdue == "false" ? "" : "warn")});
    }
  }
  sections.push_back(Section("未返却・未廃棄の媒体", "media-outstanding",
                             {"提供", "パッケージ", "状態", "受領者", "引渡し日時", "消去期限", ""},
                             rows, "ありません。"));
  // Supervision (6 指示・監督): disposals past their delete-by day, periodic
  // checks overdue, and incident reports due within 3 days or overdue.
  auto counted = [](std::string heading, const Json& rows) {
    return rows.empty() ? heading : heading + "(" + std::to_string(rows.size()) + " 件)";
  };
  rows = Json::array();
  auto disposals = v.session->Read("disposal.list", [](Context& c) {
    return ::itaku::gateway::DisposalList(c, std::nullopt, true);
  });
  if (disposals.ok()) {
    for (const auto& t : disposals->json) {
      const std::string id = Str(t, "delivery");
      rows.push_back({Cell("#" + id, "/disposals#d-" + id), Cell(Str(t, "contractor")),
                      Cell(Str(t, "transport")), Cell(Str(t, "delete_by")),
                      Cell("期限超過", "", "warn")});
    }
  }
  sections.push_back(Section(counted("返却・廃棄の期限を過ぎた提供", rows), "disposals-overdue",
                             {"提供", "委託先", "方法", "消去期限", ""}, rows,
                             disposals.ok() ? "ありません。" : "表示できません。"));
  rows = Json::array();
  auto checks = v.session->Read(
      "check.list", [](Context& c) { return ::itaku::gateway::CheckList(c, std::nullopt); });
  auto contracts_all = v.session->Read(
      "contract.list", [](Context& c) { return ::itaku::gateway::ContractList(c, std::nullopt); });
  if (contractors.ok() && checks.ok() && contracts_all.ok()) {
    for (const auto& c : contractors->json) {
      const std::string id = Str(c, "id");
      if (Str(c, "status") != "active") continue;
      const Json* last = LatestCheck(checks->json, id);
      const std::string href = "/supervision#c-" + PercentEncode(id);
      if (!last) {
        // Never checked: pressing only for a contractor under a contract.
        bool contracted = false;
        for (const auto& k : contracts_all->json) {
          contracted |= Str(k, "contractor_id") == id && k.value("in_force", false);
        }
        if (!contracted) continue;
        rows.push_back({Cell(id, href), Cell(Str(c, "name")), Cell("未実施"),
                        Cell("点検の記録がありません", "", "warn")});
        continue;
      }
      const std::string due = Str(*last, "next_due");
      if (!(due < today)) continue;
      const auto a = ParseDate(due);
      const auto b = ParseDate(today);
      rows.push_back(
          {Cell(id, href), Cell(Str(c, "name")), Cell(Str(*last, "checked_on")),
           Cell(due + " 期限超過" +
                    (a && b ? "(" + std::to_string(DaysBetween(*a, *b)) + " 日)" : std::string()),
                "", "warn")});
    }
  }
  sections.push_back(
      Section(counted("定期点検の期限を過ぎた委託先", rows), "checks-overdue",
              {"委託先", "名称", "前回の点検", "次回の点検期限"}, rows,
              checks.ok() && contracts_all.ok() ? "ありません。" : "表示できません。"));
  {
    rows = Json::array();
    auto incidents = v.session->Read("incident.list", [](Context& c) { return IncidentList(c); });
    if (incidents.ok() && incidents->json.is_array()) {
      for (const auto& i : incidents->json) {
        const std::string id = Str(i, "id");
        for (const auto& [report, label] :
             {std::pair<std::string, std::string>{"preliminary", "速報"}, {"final", "確報"}}) {
          bool pressing = false;
          Json cell = DeadlineCell(i, report, today, &pressing);
          if (!pressing) continue;
          rows.push_back({Cell("#" + id, "/incidents/" + id),
                          Cell(Either(i, "contractor", "contractor_id")), Cell(label), cell});
        }
      }
    }
    sections.push_back(Section(counted("報告期限が3日以内または過ぎた漏えい等事案", rows),
                               "incident-deadlines", {"事案", "委託先", "報告", "期限"}, rows,
                               incidents.ok() ? "ありません。" : "表示できません。"));
  }
  // Overdue corrective-action requests.
  rows = Json::array();
  auto overdue = v.session->Read(
      "request.list", [](Context& c) { return RequestList(c, true, std::nullopt, std::nullopt); });
  if (overdue.ok()) {
    for (const auto& r : overdue->json) {
      const Json req = r.contains("request") ? r["request"] : r;
      const std::string id = Str(req, "id");
      rows.push_back(
          {Cell("#" + id, "/requests/" + id), Cell(Either(req, "contractor_id", "contractor")),
           Cell(StateLabel(Str(req, "state"))), Cell(Overdue(r.value("overdue", Json())))});
    }
  }
  sections.push_back(Section("期限を過ぎた是正の申し入れ", "requests-overdue",
                             {"申し入れ", "委託先", "状態", "超過した期限"}, rows, "ありません。"));
  // Proposals waiting.
  rows = Json::array();
  auto proposals =
      v.session->Read("approval.list", [](Context& c) { return ApprovalList(c, false); });
  if (proposals.ok()) {
    for (const auto& p : proposals->json) {
      const std::string id = Str(p, "id");
      rows.push_back({Cell("#" + id, "/approvals/" + id), Cell(Str(p, "subject")),
                      Cell(Str(p, "proposed_by")), Cell(Jst(Str(p, "expires_at")))});
    }
  }
  sections.push_back(Section("承認待ちの変更(二人目の承認が必要)", "proposals",
                             {"提案", "対象", "提案者", "期限"}, rows, "ありません。"));
  // Refusals of the last 7 days, and the chain.
  rows = Json::array();
  auto refusals = v.session->Read("audit.events", [](Context& c) {
    AuditEventFilter f;
    f.action = ".refused";
    f.limit = 50;
    return AuditEvents(c, f);
  });
  if (refusals.ok()) {
    for (const auto& e : refusals->json["events"]) {
      rows.push_back({Cell(Jst(Str(e, "at")), "/audit?action=" + PercentEncode(Str(e, "action"))),
                      Cell(Str(e, "actor")), Cell(Str(e, "action")),
                      Cell(e["details"].is_object() ? Str(e["details"], "reason") : "")});
    }
  }
  sections.push_back(Section("直近7日間の拒否", "refusals", {"日時", "実行者", "操作", "理由"},
                             rows, refusals.ok() ? "ありません。" : "表示できません。"));
  std::string chain = "記録はまだありません。";
  if (refusals.ok() && refusals->json.contains("newest")) {
    const Json& j = refusals->json;
    chain =
        "最新のイベント: #" + Str(j["newest"], "seq") + "(" + Jst(Str(j["newest"], "at")) + ")\n";
    chain += j.contains("checkpoint")
                 ? "最新のチェックポイント: #" + Str(j["checkpoint"], "seq") + "(" +
                       Jst(Str(j["checkpoint"], "at")) + ")コード " + Str(j["checkpoint"], "code")
                 : "チェックポイントはまだありません。";
    chain += "\n全体の検証は「監査ログ」の「検証する」で行えます。";
  }
  Json cs = Pre("監査証跡の状態", "audit-chain", chain);
  cs["link"] = "監査ログを開く";
  cs["link_href"] = "/audit";
  sections.push_back(cs);
  return Page(v, "ダッシュボード", "page", View(sections));
}

// ---- 委託先 ------------------------------------------------------------------

WebResponse ConsoleApp::Impl::Contractors(Visit& v) {
  auto contractors = Run(v, "contractor.list", {"contractor", "list"});
  if (!contractors.ok()) return Problem(v, contractors.status());
  auto ndas = Run(v, "nda.list", {"nda", "list"});
  const std::string today = TodayText(v);
  Json rows = Json::array();
  for (const auto& c : contractors->json) {
    std::string nda = "なし";
    if (ndas.ok()) {
      for (const auto& n : ndas->json) {
        if (Str(n, "contractor") != Str(c, "id") || !Str(n, "withdrawn_at").empty()) continue;
        if (Str(n, "in_force_from") <= today && today <= Str(n, "in_force_until")) {
          nda = "有効(" + Str(n, "in_force_until") + " まで)";
        }
      }
    }
    rows.push_back({Cell(Str(c, "id"), "/contractors/" + PercentEncode(Str(c, "id"))),
                    Cell(Str(c, "name")), Cell(StateLabel(Str(c, "status"))),
                    Cell(nda, "", nda == "なし" ? "warn" : "")});
  }
  return Page(v, "委託先", "page",
              View(Json::array({Section("委託先一覧", "contractors", {"ID", "名称", "状態", "NDA"},
                                        rows, "委託先は登録されていません。")})));
}

WebResponse ConsoleApp::Impl::Contractor(Visit& v, const std::string& id) {
  auto shown = Run(v, "contractor.show", {"contractor", "show"}, {{"id", {id}}});
  if (!shown.ok()) return Problem(v, shown.status());
  const Json& c = shown->json;
  Json sections = Json::array();
  sections.push_back(Section(
      "基本情報", "basics", {"項目", "内容"},
      Json::array(
          {Json::array({Cell("ID"), Cell(Str(c, "id"))}),
           Json::array({Cell("名称"), Cell(Str(c, "name"))}),
           Json::array({Cell("状態"), Cell(StateLabel(Str(c, "status")))}),
           Json::array({Cell("連絡先"), Cell(Str(c, "email"))}),
           Json::array({Cell("暗号化の証明書"),
                        Cell(c["certificate"].is_object() ? Str(c["certificate"], "fingerprint")
                                                          : "なし")}),
           Json::array(
               {Cell("SFTP"), Cell(c["sftp"].is_object() ? Str(c["sftp"], "url") : "なし")})}),
      ""));
  Json rows = Json::array();
  for (const auto& n : c["ndas"]) {
    rows.push_back(
        {Cell("#" + Str(n, "id")), Cell(Str(n, "signed_on")),
         Cell(Str(n, "in_force_from") + " ~ " + Str(n, "in_force_until")), Text(n["signatories"]),
         Cell(Str(n, "withdrawn_at").empty() ? "" : "撤回: " + Str(n, "withdrawn_reason"))});
  }
  sections.push_back(Section("NDA(機密保持契約)", "ndas",
                             {"NDA", "締結日", "有効期間", "署名者", ""}, rows,
                             "登録されていません。"));
  rows = Json::array();
  auto profiles = Run(v, "profile.list", {"profile", "list"});
  if (profiles.ok()) {
    for (const auto& p : profiles->json) {
      if (Str(p, "contractor") != id) continue;
      rows.push_back({Cell(Str(p, "id"), "/profiles/" + PercentEncode(Str(p, "id"))),
                      Cell("v" + Str(p, "version")), Cell(Str(p, "purpose")),
                      Text(p["transports"])});
    }
  }
  sections.push_back(Section("契約プロファイル", "profiles", {"ID", "版", "目的", "提供方法"}, rows,
                             "ありません。"));
  rows = Json::array();
  auto deliveries = Run(v, "delivery.list", {"delivery", "list"}, {{"--contractor", {id}}});
  if (deliveries.ok()) {
    for (const auto& d : deliveries->json) {
      rows.push_back({Cell("#" + Str(d, "delivery_id")), Cell(Jst(Str(d, "ordered_at"))),
                      Cell(Str(d, "profile") + " v" + Str(d, "profile_version")),
                      Cell(Str(d, "transport")), Cell(StateLabel(Str(d, "outcome"))),
                      Cell(Str(d, "records"))});
    }
  }
  sections.push_back(Section("提供(直近31日)", "deliveries",
                             {"提供", "日時", "プロファイル", "方法", "結果", "件数"}, rows,
                             "ありません。"));
  rows = Json::array();
  auto requests = Run(v, "request.list", {"request", "list"}, {{"--contractor", {id}}});
  if (requests.ok()) {
    for (const auto& r : requests->json) {
      const Json req = r.contains("request") ? r["request"] : r;
      rows.push_back({Cell("#" + Str(req, "id"), "/requests/" + Str(req, "id")),
                      Cell(StateLabel(Str(req, "state"))), Cell(Jst(Str(req, "received_at")))});
    }
  }
  sections.push_back(
      Section("是正の申し入れ", "requests", {"申し入れ", "状態", "受付"}, rows, "ありません。"));
  Json forms = Json::array();
  if (May(v, "nda.add")) {
    Json f = Form(
        "NDAを登録する", "/contractors/" + PercentEncode(id) + "/nda",
        Json::array({Field("signed", "締結日", "date"), Field("from", "有効期間の開始日", "date"),
                     Field("until", "有効期間の終了日", "date"),
                     Field("signatories", "署名者(複数の場合は読点「、」で区切る)"),
                     Field("document", "署名済みNDAのスキャン(PDF)", "file")}),
        "登録する", {}, true);
    f["form_error"] = v.req.Query("error");
    forms.push_back(f);
  }
  if (May(v, "nda.withdraw")) {
    for (const auto& n : c["ndas"]) {
      if (!Str(n, "withdrawn_at").empty()) continue;
      forms.push_back(Form("NDA #" + Str(n, "id") + " を撤回する(誤って登録した場合)",
                           "/ndas/" + Str(n, "id") + "/withdraw",
                           Json::array({TextArea("reason", "撤回の理由")}), "撤回する",
                           {{"contractor", id}}, false, "danger"));
    }
  }
  Json view = View(sections, forms);
  view["notice"] = v.req.Query("notice");
  return Page(v, "委託先: " + Str(c, "name"), "page", view);
}

WebResponse ConsoleApp::Impl::NdaAdd(Visit& v, const std::string& id) {
  const std::string back = "/contractors/" + PercentEncode(id);
  std::string folder;
  std::string name;
  for (const auto& f : v.req.files) {
    if (f.field == "document") {
      folder = fs::path(f.path).parent_path().string();
      name = f.name;
    }
  }
  if (folder.empty())
    return WebResponse::Redirect(
        back + "?error=" + PercentEncode("署名済みNDAのファイルを選んでください。"));
  auto upload = v.session->Adopt(folder);
  if (!upload.ok()) return Problem(v, upload.status());
  std::vector<std::string> signatories;
  std::string all = v.req.Form("signatories");
  for (size_t at = 0; at <= all.size();) {
    size_t next = all.find("、", at);
    const size_t comma = all.find(',', at);
    size_t len = 3;
    if (comma != std::string::npos && (next == std::string::npos || comma < next)) {
      next = comma;
      len = 1;
    }
    std::string one = all.substr(at, next == std::string::npos ? std::string::npos : next - at);
    while (!one.empty() && one.front() == ' ') one.erase(0, 1);
    while (!one.empty() && one.back() == ' ') one.pop_back();
    if (!one.empty()) signatories.push_back(one);
    if (next == std::string::npos) break;
    at = next + len;
  }
  auto out = Run(v, "nda.add", {"nda", "add"},
                 {{"contractor", {id}},
                  {"--signed", {v.req.Form("signed")}},
                  {"--from", {v.req.Form("from")}},
                  {"--until", {v.req.Form("until")}},
                  {"--document", {"upload:" + upload.value() + "/" + name}},
                  {"--signatory", signatories}});
  if (!out.ok()) {
    if (out.kind() == ErrorKind::kRefused) return Problem(v, out.status());
    return WebResponse::Redirect(
        back +
        "?error=" + PercentEncode("登録できませんでした: " + v.session->Unspool(out.message())));
  }
  return WebResponse::Redirect(back + "?notice=" + PercentEncode("NDAを登録しました。"));
}

// ---- 契約プロファイル -------------------------------------------------------------

WebResponse ConsoleApp::Impl::Profiles(Visit& v) {
  auto profiles = Run(v, "profile.list", {"profile", "list"});
  if (!profiles.ok()) return Problem(v, profiles.status());
  Json rows = Json::array();
  for (const auto& p : profiles->json) {
    std::string fields;
    for (const auto& f : p["fields"])
      fields += (fields.empty() ? "" : "、") + Label(f.get<std::string>());
    rows.push_back({Cell(Str(p, "id"), "/profiles/" + PercentEncode(Str(p, "id"))),
                    Cell("v" + Str(p, "version")), Cell(Str(p, "contractor")),
                    Cell(Str(p, "purpose")), Cell(fields), Text(p["transports"])});
  }
  Json forms = Json::array();
  if (May(v, "profile.import")) {
    forms.push_back(Form("変更を提案する(TOML)", "/profiles/propose",
                         Json::array({TextArea("toml", "プロファイル(TOML)")}), "提案する"));
  }
  return Page(
      v, "契約プロファイル", "page",
      View(Json::array({Section("契約プロファイル(最新版)", "profiles",
                                {"ID", "版", "委託先", "目的", "提供する項目", "提供方法"}, rows,
                                "ありません。")}),
           forms,
           "提供する項目・提供方法を広げる変更は、二人目の職員が承認するまで有効になりません。"));
}

WebResponse ConsoleApp::Impl::Profile(Visit& v, const std::string& id) {
  auto latest = Run(v, "profile.show", {"profile", "show"}, {{"id", {id}}});
  if (!latest.ok()) return Problem(v, latest.status());
  const int newest = latest->json.value("version", 1);
  auto number = [&](const std::string& q, int fallback) {
    try {
      const int n = std::stoi(v.req.Query(q));
      return n >= 1 && n <= newest ? n : fallback;
    } catch (...) {
      return fallback;
    }
  };
  const int b = number("b", newest);
  const int a = number("a", std::max(1, b - 1));
  auto left = Run(v, "profile.show", {"profile", "show"},
                  {{"id", {id}}, {"--version", {std::to_string(a)}}});
  auto right = Run(v, "profile.show", {"profile", "show"},
                   {{"id", {id}}, {"--version", {std::to_string(b)}}});
  if (!left.ok()) return Problem(v, left.status());
  if (!right.ok()) return Problem(v, right.status());
  const Json& L = left->json;
  const Json& R = right->json;
  Json rows = Json::array();
  auto row = [&](const std::string& label, const std::string& l, const std::string& r) {
    const std::string cls = l == r ? "" : "diff";
    rows.push_back({Cell(label, "", cls), Cell(l, "", cls), Cell(r, "", cls)});
  };
  auto flat = [](const Json& j) { return j.is_string() ? j.get<std::string>() : j.dump(); };
  row("委託先", Str(L, "contractor"), Str(R, "contractor"));
  row("目的", Str(L, "purpose"), Str(R, "purpose"));
  std::set<std::string> fields;
  for (const auto& f : L["fields"]) fields.insert(f.get<std::string>());
  for (const auto& f : R["fields"]) fields.insert(f.get<std::string>());
  auto has = [](const Json& p, const std::string& f) {
    for (const auto& x : p["fields"]) {
      if (x == f) return true;
    }
    return false;
  };
  for (const auto& f : fields) {
    auto shown = [&](const Json& p) {
      if (!has(p, f)) return std::string("提供しない");
      const Json& masks = p["masks"];
      if (masks.is_object() && masks.contains(f)) return "提供(マスク: " + flat(masks[f]) + ")";
      return std::string("提供");
    };
    row("項目: " + Label(f), shown(L), shown(R));
  }
  row("提供方法", Text(L["transports"])["text"], Text(R["transports"])["text"]);
  row("有効期間", Str(L, "valid_from") + " ~ " + Str(L, "valid_until"),
      Str(R, "valid_from") + " ~ " + Str(R, "valid_until"));
  row("保存日数", Str(L, "retention_days"), Str(R, "retention_days"));
  auto output = [&](const Json& p) {
    return Str(p["output"], "format") + "、" + Str(p["output"], "encoding") + "、" +
           Str(p["output"], "package");
  };
  row("出力形式", output(L), output(R));
  row("取込み", Str(L, "imported_by") + " " + Jst(Str(L, "imported_at")),
      Str(R, "imported_by") + " " + Jst(Str(R, "imported_at")));
  Json s = Section("版の比較(違いを強調表示)", "compare",
                   {"", "v" + std::to_string(a), "v" + std::to_string(b)}, rows, "");
  std::vector<std::pair<std::string, std::string>> versions;
  for (int i = 1; i <= newest; ++i)
    versions.push_back({std::to_string(i), "v" + std::to_string(i)});
  Json pick = Json::array({Select("a", "左の版", versions, std::to_string(a)),
                           Select("b", "右の版", versions, std::to_string(b))});
  Json view = View(Json::array({s}));
  view["get_form"] = {
      {"action", "/profiles/" + PercentEncode(id)}, {"fields", pick}, {"button", "比較する"}};
  return Page(v, "契約プロファイル: " + id, "page", view);
}

WebResponse ConsoleApp::Impl::ProfilePropose(Visit& v) {
  const std::string toml = v.req.Form("toml");
  if (toml.empty()) return Problem(v, Status::Error("プロファイル(TOML)を入力してください。"));
  auto folder = RandomHex32();
  if (!folder.ok()) return Problem(v, folder.status());
  const std::string dir = options.staged_root + "/" + folder.value();
  std::error_code ec;
  fs::create_directory(dir, ec);
  {
    std::ofstream out(dir + "/profile.toml", std::ios::binary);
    out << toml;
  }
  auto upload = v.session->Adopt(dir);
  if (!upload.ok()) return Problem(v, upload.status());
  auto out = Run(v, "profile.import", {"profile", "import"},
                 {{"file", {"upload:" + upload.value() + "/profile.toml"}}});
  if (!out.ok()) return Problem(v, out.status());
  if (out->json.is_object() && out->json.contains("proposal")) {
    return WebResponse::Redirect(
        "/approvals/" + Str(out->json, "proposal") +
        "?notice=" + PercentEncode("提案しました。二人目の職員が承認すると有効になります。"));
  }
  const std::string pid = Str(out->json, "id");
  return WebResponse::Redirect(pid.empty() ? "/profiles" : "/profiles/" + PercentEncode(pid));
}

// ---- 承認 --------------------------------------------------------------------

WebResponse ConsoleApp::Impl::Approvals(Visit& v) {
  auto list = Run(v, "approval.list", {"approval", "list"}, {{"--all", {}}});
  if (!list.ok()) return Problem(v, list.status());
  Json rows = Json::array();
  for (const auto& p : list->json) {
    const std::string id = Str(p, "id");
    rows.push_back({Cell("#" + id, "/approvals/" + id), Cell(Str(p, "subject")),
                    Cell(StateLabel(Str(p, "state"))), Cell(Str(p, "proposed_by")),
                    Cell(Jst(Str(p, "proposed_at"))), Cell(Str(p, "decided_by"))});
  }
  return Page(v, "承認", "page",
              View(Json::array({Section("提案された変更", "proposals",
                                        {"提案", "対象", "状態", "提案者", "提案日時", "判断者"},
                                        rows, "ありません。")})));
}

WebResponse ConsoleApp::Impl::Approval(Visit& v, const std::string& id) {
  auto shown = Run(v, "approval.show", {"approval", "show"}, {{"id", {id}}});
  if (!shown.ok()) return Problem(v, shown.status());
  const Json& p = shown->json;
  Json rows = Json::array();
  if (p["changes"].is_array()) {
    for (const auto& c : p["changes"]) {
      rows.push_back({Cell(ChangeItem(Str(c, "item"))), Cell(ChangeValue(c.value("from", Json()))),
                      Cell(ChangeValue(c.value("to", Json())))});
    }
  }
  Json info = Json::array({Json::array({Cell("対象"), Cell(Str(p, "subject"))}),
                           Json::array({Cell("状態"), Cell(StateLabel(Str(p, "state")))}),
                           Json::array({Cell("提案者"), Cell(Str(p, "proposed_by"))}),
                           Json::array({Cell("提案日時"), Cell(Jst(Str(p, "proposed_at")))}),
                           Json::array({Cell("期限"), Cell(Jst(Str(p, "expires_at")))}),
                           Json::array({Cell("判断者"), Cell(Str(p, "decided_by"))}),
                           Json::array({Cell("メモ"), Cell(Str(p, "note"))})});
  Json sections = Json::array(
      {Section("提案", "proposal", {"項目", "内容"}, info, ""),
       Section("変更内容", "changes", {"項目", "変更前", "変更後"}, rows, "変更はありません。")});
  Json forms = Json::array();
  const bool mine = Str(p, "proposed_by") == v.session->staff()->name;
  if (Str(p, "state") == "pending" && !mine) {
    forms.push_back(Form("承認する", "/approvals/" + id + "/approve",
                         Json::array({Field("note", "メモ(任意)")}), "承認する"));
    forms.push_back(Form("却下する", "/approvals/" + id + "/reject",
                         Json::array({Field("note", "却下の理由")}), "却下する", {}, false,
                         "danger"));
  }
  Json view =
      View(sections, forms,
           mine && Str(p, "state") == "pending" ? "ご自身の提案は、ほかの職員が承認します。" : "");
  view["notice"] = v.req.Query("notice");
  return Page(v, "提案 #" + id, "page", view);
}

WebResponse ConsoleApp::Impl::ApprovalDecide(Visit& v, const std::string& id,
                                             const std::string& how) {
  Args args = {{"id", {id}}};
  if (!v.req.Form("note").empty()) args.push_back({"--note", {v.req.Form("note")}});
  auto out = Run(v, "approval." + how, {"approval", how}, args);
  if (!out.ok()) return Problem(v, out.status());
  return WebResponse::Redirect("/approvals/" + id + "?notice=" +
                               PercentEncode(how == "approve"
                                                 ? "承認しました。変更は有効になりました。"
                                                 : "却下しました。"));
}

}  // namespace itaku::gateway::console
