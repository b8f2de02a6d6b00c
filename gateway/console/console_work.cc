// The console's working pages: 提供 (upload, dry run, delivery in the
// background), 履歴, 漏えい範囲, 申し入れ, 監査ログ, 職員, and the supervision
// of contractors: 委託先管理, 返却・廃棄 and 漏えい等事案.
#include <filesystem>
#include <fstream>
#include <set>
#include <thread>

#include "contracts/base/date.h"
#include "contracts/base/files.h"
#include "gateway/commands.h"
#include "gateway/console/console_impl.h"
#include "gateway/console/views.h"
#include "gateway/incident.h"
#include "gateway/requests.h"
#include "gateway/supervision.h"
#include "policies/access_rules.h"
#include "policies/catalog.h"

namespace itaku::gateway::console {
namespace {

namespace fs = std::filesystem;

}  // namespace

// ---- 提供 --------------------------------------------------------------------

WebResponse ConsoleApp::Impl::DeliverForm(Visit& v, const std::string& error) {
  auto profiles = Run(v, "profile.list", {"profile", "list"});
  if (!profiles.ok()) return Problem(v, profiles.status());
  std::vector<std::pair<std::string, std::string>> options;
  for (const auto& p : profiles->json) {
    options.push_back({Str(p, "id"), Str(p, "id") + "(" + Str(p, "contractor") + "、" +
                                         Str(p, "purpose") + "、v" + Str(p, "version") + ")"});
  }
  Json fields = Json::array(
      {Select("profile", "契約プロファイル", options, v.req.Form("profile")),
       Select("via", "提供方法",
              {{"media", "電子媒体の引渡し(暗号化パッケージをダウンロード)"},
               {"sftp", "電子的な送信(SFTP)"},
               {"portal", "サーバへのアクセス(委託先ポータル)"},
               {"paper", "紙(印刷用PDFをダウンロード)"}}),
       Select("encoding", "エクスポートの文字コード",
              {{"auto", "自動判定"}, {"cp932", "Shift_JIS(CP932)"}, {"utf-8", "UTF-8"}}),
       Field("export", "エクスポート(CSV)", "file"),
       Field("drawings", "宅内図面(複数選択可、図面を提供するプロファイルのみ)", "file")});
  fields[4]["multiple"] = true;
  Json form =
      Form("提供するデータを選ぶ", "/deliver", fields, "アップロードして事前確認する", {}, true);
  form["form_error"] = error;
  return Page(v, "提供", "page",
              View(Json::array(), Json::array({form}),
                   "アップロードしたファイルはまず事前確認(送信なし)"
                   "に使われます。内容を確認してから提供を確定してください。"),
              error.empty() ? 200 : 400);
}

WebResponse ConsoleApp::Impl::DeliverUpload(Visit& v) {
  if (!May(v, "deliver")) {
    // Refused as the staff API refuses it, and on record the same way.
    const std::string why =
        policies::AccessRefusal("deliver", policies::Access::kOperate, v.session->staff()->role);
    return Problem(v, v.session->Audited("deliver", Status::Refused(why)));
  }
  Stage stage;
  stage.staff = v.session->staff()->name;
  stage.made = std::chrono::steady_clock::now();
  stage.values = {{"profile", v.req.Form("profile")},
                  {"via", v.req.Form("via")},
                  {"encoding", v.req.Form("encoding")}};
  std::string export_name;
  std::string stage_folder;
  for (const auto& f : v.req.files) {
    stage_folder = fs::path(f.path).parent_path().parent_path().string();
    if (f.field == "export") export_name = f.name;
  }
  if (export_name.empty()) return DeliverForm(v, "エクスポート(CSV)のファイルを選んでください。");
  auto id = RandomHex32();
  if (!id.ok()) return Problem(v, id.status());
  // The stage folder holds one folder per form field ("export", "drawings").
  stage.folder = stage_folder;
  stage.refs["export"] = export_name;
  {
    std::lock_guard<std::mutex> lock(mutex);
    // Stages older than an hour are dropped with their files.
    for (auto it = stages.begin(); it != stages.end();) {
      if (std::chrono::steady_clock::now() - it->second.made > std::chrono::hours(1)) {
        std::error_code ec;
        fs::remove_all(it->second.folder, ec);
        it = stages.erase(it);
      } else {
        ++it;
      }
    }
    stages[id.value()] = stage;
  }
  // Keep the files: the listener removes what is left in the request.
  v.req.files.clear();
  return WebResponse::Redirect("/deliver/" + id.value());
}

namespace {

// The deliver command's arguments for a stage, with its folders adopted
// into `session`'s spool (the ids, to release them again).
Result<std::vector<std::string>> Adopted(StaffSession& session, const Stage& stage, Args* args) {
  std::vector<std::string> ids;
  auto ex = session.Adopt(stage.folder + "/export");
  if (!ex.ok()) return ex.status();
  ids.push_back(ex.value());
  args->push_back({"--profile", {stage.values.at("profile")}});
  args->push_back({"--input", {"upload:" + ex.value() + "/" + stage.refs.at("export")}});
  if (!stage.values.at("via").empty()) args->push_back({"--via", {stage.values.at("via")}});
  if (!stage.values.at("encoding").empty()) {
    args->push_back({"--input-encoding", {stage.values.at("encoding")}});
  }
  std::error_code ec;
  if (fs::is_directory(stage.folder + "/drawings", ec)) {
    auto dr = session.Adopt(stage.folder + "/drawings");
    if (!dr.ok()) return dr.status();
    ids.push_back(dr.value());
    args->push_back({"--attachments", {"upload:" + dr.value()}});
  }
  return ids;
}

}  // namespace

std::optional<Stage> ConsoleApp::Impl::FindStage(Visit& v, const std::string& id, bool take) {
  std::lock_guard<std::mutex> lock(mutex);
  auto it = stages.find(id);
  if (it == stages.end() || it->second.staff != v.session->staff()->name) return std::nullopt;
  Stage stage = it->second;
  if (take) stages.erase(it);
  return stage;
}

WebResponse ConsoleApp::Impl::DeliverStage(Visit& v, const std::string& id) {
  auto found = FindStage(v, id, false);
  if (!found)
    return Problem(v, Status::NotFound("この事前確認は見つかりません(1時間で消えます)。"));
  const Stage stage = *found;
  Args args;
  auto ids = Adopted(*v.session, stage, &args);
  if (!ids.ok()) return Problem(v, ids.status());
  args.push_back({"--dry-run", {}});
  if (stage.values.at("via") == "media" || stage.values.at("via") == "paper" ||
      stage.values.at("via").empty()) {
    args.push_back({"--out", {"package"}});  // required for media and paper; nothing is written
  }
  auto out = Run(v, "deliver", {"deliver"}, args);
  // The files go back to the stage for the real run.
  (void)v.session->Release(ids.value()[0], stage.folder + "/export");
  if (ids->size() > 1) (void)v.session->Release(ids.value()[1], stage.folder + "/drawings");
  if (!out.ok()) {
    return Page(
        v, "提供: 事前確認", "page",
        View(Json::array({Pre("提供できません", "problems", v.session->Unspool(out.message()))}),
             Json::array(),
             "次の理由で、この提供は行えません。内容を直して、もう一度アップロードしてください。"),
        out.kind() == ErrorKind::kRefused ? 403 : 400);
  }
  const Json& j = out->json;
  Json rows = Json::array();
  std::set<std::string> masked;
  if (j["masks"].is_object()) {
    for (auto it = j["masks"].begin(); it != j["masks"].end(); ++it) masked.insert(it.key());
  }
  for (const auto& f : j["fields"]) {
    const std::string id_ = f.get<std::string>();
    const auto* info = policies::FindField(id_);
    rows.push_back(
        {Cell(info ? std::string(info->label) : id_), Cell(id_),
         Cell(masked.count(id_) ? "提供(マスク: " + Str(j["masks"], id_.c_str()) + ")" : "提供")});
  }
  for (const auto& f : j["withheld"]) {
    const std::string id_ = f.get<std::string>();
    const auto* info = policies::FindField(id_);
    rows.push_back({Cell(info ? std::string(info->label) : id_, "", "withheld"),
                    Cell(id_, "", "withheld"), Cell("提供しない", "", "withheld")});
  }
  Json summary = Json::array(
      {Json::array({Cell("委託先"), Cell(Str(j, "contractor"))}),
       Json::array(
           {Cell("契約プロファイル"), Cell(Str(j, "profile") + " v" + Str(j, "profile_version"))}),
       Json::array({Cell("NDA"), Cell("#" + Str(j, "nda_id"))}),
       Json::array({Cell("提供方法"), Cell(Str(j, "transport"))}),
       Json::array({Cell("件数"), Cell(Str(j, "records") + " 件")}),
       Json::array(
           {Cell("適用される特別な申し入れ"),
            Cell(j["special_requests"].empty() ? "なし" : "#" + Joined(j["special_requests"]))})});
  Json notes = Json::array();
  for (const auto& n : j["notes"]) notes.push_back({Cell(n.get<std::string>(), "", "warn")});
  Json sections =
      Json::array({Section("概要", "summary", {"項目", "内容"}, summary, ""),
                   Section("項目ごとの扱い", "fields", {"項目", "ID", "扱い"}, rows, ""),
                   Section("確認が必要な点", "notes", {"内容"}, notes, "ありません。")});
  Json forms = Json::array(
      {Form("この内容で提供する", "/deliver/" + id + "/confirm", Json::array(), "提供を確定する")});
  return Page(
      v, "提供: 事前確認", "page",
      View(sections, forms, "まだ何も送信していません。内容を確認して、提供を確定してください。"));
}

WebResponse ConsoleApp::Impl::DeliverConfirm(Visit& v, const std::string& id) {
  auto found = FindStage(v, id, true);
  if (!found)
    return Problem(v, Status::NotFound("この事前確認は見つかりません(1時間で消えます)。"));
  const Stage stage = *found;
  auto job_id = RandomHex32();
  if (!job_id.ok()) return Problem(v, job_id.status());
  auto job = std::make_shared<Job>();
  job->staff = v.session->staff()->name;
  job->title = "提供: " + stage.values.at("profile");
  job->started = std::chrono::steady_clock::now();
  {
    std::lock_guard<std::mutex> lock(mutex);
    // Finished jobs are kept for a working day, then go with their files.
    for (auto it = jobs.begin(); it != jobs.end();) {
      if (it->second->done &&
          std::chrono::steady_clock::now() - it->second->started > std::chrono::hours(8)) {
        std::error_code ec;
        fs::remove_all(options.staged_root + "/job-" + it->first, ec);
        it = jobs.erase(it);
      } else {
        ++it;
      }
    }
    jobs[job_id.value()] = job;
  }
  // The delivery runs on its own thread with its own session (its own
  // store connection), as the same staff member; the page polls.
  ++running;
  std::thread([this, job, stage, staff = *v.session->staff(), folder = job_id.value()]() {
    auto session = StaffSession::Open(options.staff);
    Result<Output> out = Status::Internal("the store cannot be opened");
    std::map<std::string, std::string> kept;
    if (session.ok()) {
      session.value()->ActAs(staff);
      Args args;
      auto ids = Adopted(*session.value(), stage, &args);
      if (ids.ok()) {
        if (stage.values.at("via") == "media" || stage.values.at("via") == "paper" ||
            stage.values.at("via").empty()) {
          args.push_back({"--out", {"package"}});
        }
        out = session.value()->Run("deliver", CommandArgs({"deliver"}, args));
        // Files written for the staff member move to the job's folder.
        const std::string keep = options.staged_root + "/job-" + folder;
        std::error_code ec;
        fs::create_directories(keep, ec);
        for (const auto& [did, path] : session.value()->downloads()) {
          const std::string name = fs::path(path).filename().string();
          fs::rename(path, keep + "/" + name, ec);
          if (!ec) kept[name] = keep + "/" + name;
        }
      } else {
        out = ids.status();
      }
    }
    std::error_code ec;
    fs::remove_all(stage.folder, ec);
    {
      std::lock_guard<std::mutex> lock(mutex);
      job->done = true;
      job->ok = out.ok();
      if (out.ok()) {
        job->json = out->json;
        job->text = out->text;
      } else {
        job->error = session.ok() ? session.value()->Unspool(out.message()) : out.message();
      }
      job->downloads = kept;
    }
    if (session.ok()) session.value().reset();  // its spool and store connection, now
    --running;                                  // last: the console may go away from here on
  }).detach();
  return WebResponse::Redirect("/jobs/" + job_id.value());
}

WebResponse ConsoleApp::Impl::JobPage(Visit& v, const std::string& id) {
  std::shared_ptr<Job> job;
  Job copy;
  {
    std::lock_guard<std::mutex> lock(mutex);
    auto it = jobs.find(id);
    if (it == jobs.end() || it->second->staff != v.session->staff()->name) {
      return Problem(v, Status::NotFound("この処理は見つかりません。"));
    }
    copy = *it->second;
  }
  const auto seconds = std::chrono::duration_cast<std::chrono::seconds>(
                           std::chrono::steady_clock::now() - copy.started)
                           .count();
  if (!copy.done) {
    Json view = View(Json::array({Pre("実行中", "progress",
                                      "提供を実行しています(経過 " + std::to_string(seconds) +
                                          " 秒)。このページは自動で更新されます。")}));
    view["refresh"] = true;
    return Page(v, copy.title, "page", view);
  }
  if (!copy.ok) {
    return Page(v, copy.title, "page",
                View(Json::array({Pre("提供できませんでした", "result", copy.error)})), 200);
  }
  const Json& j = copy.json;
  Json rows = Json::array(
      {Json::array({Cell("提供番号"), Cell("#" + Str(j, "delivery_id"))}),
       Json::array({Cell("委託先"), Cell(Str(j, "contractor"),
                                         "/contractors/" + PercentEncode(Str(j, "contractor")))}),
       Json::array({Cell("件数"), Cell(Str(j, "records") + " 件")}),
       Json::array({Cell("提供した項目"), Cell(Joined(j["fields"], true))}),
       Json::array({Cell("提供しなかった項目"), Cell(Joined(j["withheld"], true))}),
       Json::array({Cell("パッケージの SHA-256"), Cell(Str(j, "package_sha256"))})});
  Json files = Json::array();
  for (const auto& [name, path] : copy.downloads) {
    files.push_back({Cell(name, "/jobs/" + id + "/files/" + PercentEncode(name))});
  }
  Json sections = Json::array({Section("提供しました", "result", {"項目", "内容"}, rows, "")});
  if (!files.empty()) {
    sections.push_back(
        Section("ダウンロード", "downloads", {"ファイル"}, files, "",
                "委託先の証明書で暗号化されています。媒体に書き込み、引き渡してください。"
                "ダウンロードは1回限りです。"));
  }
  if (j.contains("passphrase")) {
    sections.push_back(Pre("パスフレーズ(電話で伝えてください。再表示できません)", "passphrase",
                           Str(j, "passphrase")));
  }
  return Page(v, copy.title, "page", View(sections));
}

WebResponse ConsoleApp::Impl::JobDownload(Visit& v, const std::string& id,
                                          const std::string& file) {
  std::string path;
  {
    std::lock_guard<std::mutex> lock(mutex);
    auto it = jobs.find(id);
    if (it == jobs.end() || it->second->staff != v.session->staff()->name) {
      return Problem(v, Status::NotFound("この処理は見つかりません。"));
    }
    auto f = it->second->downloads.find(file);
    if (f == it->second->downloads.end()) {
      return Problem(v, Status::NotFound("このファイルはダウンロード済みか、ありません。"));
    }
    path = f->second;
    it->second->downloads.erase(f);  // handed over once; the daemon keeps no copy
  }
  (void)v.session->context().audit->Append(v.session->staff()->name, "console.download",
                                           "job:" + id.substr(0, 16), {{"file", file}});
  WebResponse r;
  r.content_type = "application/octet-stream";
  r.file = path;
  r.delete_file = true;
  r.headers.push_back({"Content-Disposition", "attachment; filename=\"" + file + "\""});
  return r;
}

// ---- 履歴 / 漏えい範囲 ------------------------------------------------------------

WebResponse ConsoleApp::Impl::History(Visit& v) {
  const std::string subscriber = v.req.Query("subscriber");
  Json forms = Json::array();
  Json get = {{"action", "/history"},
              {"fields", Json::array({Field("subscriber", "加入者ID", "text", subscriber)})},
              {"button", "表示する"}};
  Json sections = Json::array();
  if (!subscriber.empty()) {
    auto out = v.session->Read(
        "history", [&](Context& c) { return ::itaku::gateway::History(c, subscriber); });
    if (!out.ok()) {
      Json view = View(Json::array());
      view["get_form"] = get;
      view["get_form"]["field_error"] = v.session->Unspool(out.message());
      return Page(v, "履歴", "page", view, out.kind() == ErrorKind::kRefused ? 403 : 400);
    }
    Json rows = Json::array();
    for (const auto& r : out->json["receipts"]) {
      rows.push_back(
          {Cell(Jst(Str(r, "delivered_at"))),
           Cell(Str(r, "contractor"), "/contractors/" + PercentEncode(Str(r, "contractor"))),
           Cell(Str(r, "profile") + " v" + Str(r, "profile_version")), Cell(Str(r, "transport")),
           Cell(Joined(r["fields"], true)), Cell("#" + Str(r, "delivery_id"))});
    }
    sections.push_back(Section("加入者 " + Str(out->json, "subscriber") + " のデータの提供先",
                               "receipts",
                               {"日時", "委託先", "プロファイル", "方法", "提供した項目", "提供"},
                               rows, "この加入者のデータを提供した記録はありません。"));
    Json sr = Json::array();
    for (const auto& s : out->json["special_requests"]) {
      sr.push_back({Cell("#" + Str(s, "id")),
                    Cell(Str(s, "contractor_id").empty() ? "目的: " + Str(s, "purpose")
                                                         : Str(s, "contractor_id")),
                    Cell(Str(s, "kind")), Cell(Joined(s["fields"], true))});
    }
    sections.push_back(
        Section("特別な申し入れ", "special", {"番号", "対象", "種類", "項目"}, sr, "ありません。"));
  }
  Json view = View(sections);
  view["get_form"] = get;
  return Page(v, "履歴", "page", view);
}

WebResponse ConsoleApp::Impl::BreachScope(Visit& v, bool csv) {
  const std::string contractor = v.req.Query("contractor");
  const std::string since = v.req.Query("since");
  const std::string until = v.req.Query("until");
  Json get = {{"action", "/breach-scope"},
              {"fields", Json::array({Field("contractor", "委託先ID", "text", contractor),
                                      Field("since", "期間の開始日", "date", since),
                                      Field("until", "期間の終了日", "date", until)})},
              {"button", "調べる"}};
  Json sections = Json::array();
  if (!contractor.empty() && !since.empty()) {
    Args args = {{"--contractor", {contractor}}, {"--since", {since}}};
    if (!until.empty()) args.push_back({"--until", {until}});
    if (csv) args.push_back({"--subscribers-csv", {"subscribers.csv"}});
    auto out = Run(v, "breach-scope", {"breach-scope"}, args);
    if (!out.ok()) {
      Json view = View(Json::array());
      view["get_form"] = get;
      view["get_form"]["field_error"] = v.session->Unspool(out.message());
      return Page(v, "漏えい範囲", "page", view, out.kind() == ErrorKind::kRefused ? 403 : 400);
    }
    if (csv) {
      for (auto& [id, path] : v.session->downloads()) {
        // Out of the session's spool before the session (and its folder) ends.
        const std::string kept = options.staged_root + "/csv-" + RandomHex32().value_or("x");
        std::error_code ec;
        fs::rename(path, kept, ec);
        if (ec) break;
        WebResponse r;
        r.content_type = "text/csv; charset=utf-8";
        r.file = kept;
        r.delete_file = true;
        r.headers.push_back({"Content-Disposition", "attachment; filename=\"breach-scope-" +
                                                        contractor + "-" + since + ".csv\""});
        return r;
      }
      return Problem(v, Status::Internal("CSV was not written"));
    }
    Json rows = Json::array();
    for (const auto& d : out->json["deliveries"]) {
      rows.push_back({Cell("#" + Str(d, "delivery_id")), Cell(Jst(Str(d, "ordered_at"))),
                      Cell(Str(d, "profile") + " v" + Str(d, "profile_version")),
                      Cell(Joined(d["fields_received"], true)), Cell(Str(d, "records"))});
    }
    Json s = Section("提供 " + std::to_string(out->json["deliveries"].size()) + " 件、加入者 " +
                         Str(out->json, "subscriber_count") + " 人",
                     "scope", {"提供", "日時", "プロファイル", "提供した項目", "件数"}, rows,
                     "この期間の提供はありません。");
    s["link"] = "対象の加入者一覧をCSVでダウンロード";
    s["link_href"] = "/breach-scope.csv?contractor=" + PercentEncode(contractor) +
                     "&since=" + PercentEncode(since) + "&until=" + PercentEncode(until);
    sections.push_back(s);
  }
  Json view = View(sections);
  view["get_form"] = get;
  return Page(v, "漏えい範囲", "page", view);
}

// ---- 申し入れ -------------------------------------------------------------------

WebResponse ConsoleApp::Impl::Requests(Visit& v) {
  auto list = Run(v, "request.list", {"request", "list"});
  if (!list.ok()) return Problem(v, list.status());
  Json rows = Json::array();
  for (const auto& r : list->json) {
    const Json req = r.contains("request") ? r["request"] : r;
    const std::string overdue = Overdue(r.value("overdue", Json()));
    rows.push_back({Cell("#" + Str(req, "id"), "/requests/" + Str(req, "id")),
                    Cell(Either(req, "subscriber_id", "subscriber")),
                    Cell(Either(req, "contractor_id", "contractor")),
                    Cell(StateLabel(Str(req, "state"))), Cell(Jst(Str(req, "received_at"))),
                    Cell(overdue, "", overdue.empty() ? "" : "warn")});
  }
  Json sections = Json::array(
      {Section("是正の申し入れ(6(3)・6(4))", "requests",
               {"番号", "加入者ID", "委託先", "状態", "受付", "期限超過"}, rows, "ありません。")});
  auto special = Run(v, "special.list", {"special", "list"});
  if (special.ok()) {
    Json srows = Json::array();
    for (const auto& s : special->json) {
      const std::string kind = Str(s, "kind");
      srows.push_back(
          {Cell("#" + Str(s, "id")), Cell(Str(s, "subscriber_id")),
           Cell(Str(s, "contractor_id").empty() ? "目的: " + Str(s, "purpose")
                                                : Str(s, "contractor_id")),
           Cell((kind == "exclude"    ? std::string("提供しない(全項目)")
                 : kind == "withhold" ? "提供しない項目: " + Joined(s["fields"], true)
                                      : "同意により追加: " + Joined(s["fields"], true))),
           Cell(Str(s, "valid_from") + " ~ " + Str(s, "valid_until"))});
    }
    sections.push_back(Section("特別な申し入れ(6(1))", "special",
                               {"番号", "加入者ID", "対象", "内容", "期間"}, srows,
                               "ありません。"));
  }
  Json forms = Json::array();
  if (May(v, "special.add")) {
    std::vector<std::pair<std::string, std::string>> targets;
    auto contractors = Run(v, "contractor.list", {"contractor", "list"});
    if (contractors.ok()) {
      for (const auto& c : contractors->json) {
        targets.push_back({Str(c, "id"), Str(c, "id") + "(" + Str(c, "name") + ")"});
      }
    }
    for (const auto& p : policies::Purposes()) {
      targets.push_back({"purpose:" + std::string(p.id), "目的: " + std::string(p.description)});
    }
    Json withhold = Select("fields", "提供しない項目(複数選択: Ctrl または Shift)", {});
    for (const auto& f : policies::Catalog()) {
      if (std::string(f.id) == "subscriber_id") continue;
      withhold["options"].push_back(
          {{"value", std::string(f.id)}, {"text", std::string(f.label)}, {"selected", false}});
    }
    withhold["multiple"] = true;
    forms.push_back(Form("特別な申し入れを記録する(6(1))", "/special",
                         Json::array({Field("subscriber", "加入者ID"),
                                      Select("contractor", "対象の委託先または目的", targets),
                                      Select("kind", "内容",
                                             {{"withhold", "選んだ項目を提供しない"},
                                              {"exclude", "この加入者を提供しない"}}),
                                      withhold, Field("from", "開始日(省略時は今日)", "date"),
                                      Field("until", "終了日(省略時は無期限)", "date")}),
                         "記録する"));
  }
  if (special.ok() && May(v, "special.end")) {
    for (const auto& sr : special->json) {
      forms.push_back(Form(
          "特別な申し入れ #" + Str(sr, "id") + " を終了する", "/special/" + Str(sr, "id") + "/end",
          Json::array({TextArea("reason", "終了の理由")}), "終了する", {}, false, "danger"));
    }
  }
  Json view = View(sections, forms);
  view["notice"] = v.req.Query("notice");
  return Page(v, "申し入れ", "page", view);
}

WebResponse ConsoleApp::Impl::Request(Visit& v, const std::string& id) {
  auto shown = Run(v, "request.show", {"request", "show"}, {{"id", {id}}});
  if (!shown.ok()) return Problem(v, shown.status());
  const Json& j = shown->json;
  const Json r = j.contains("request") ? j["request"] : j;
  static const std::vector<std::pair<const char*, const char*>> kLabels = {
      {"subscriber_id", "加入者ID"},
      {"contractor_id", "委託先"},
      {"channel", "受付方法"},
      {"request_text", "申し入れの内容"},
      {"received_at", "受付日時"},
      {"received_by", "受付者"},
      {"state", "状態"},
      {"justified", "正当か"},
      {"decision_reason", "判断の理由"},
      {"decided_by", "判断者"},
      {"decided_at", "判断日時"},
      {"instruction_text", "委託先への指示"},
      {"instruction_via", "指示の方法"},
      {"instructed_by", "指示者"},
      {"instructed_at", "指示日時"},
      {"answer_text", "委託先の報告"},
      {"answered_by", "報告の記録者"},
      {"answered_at", "報告の記録日時"},
      {"carried_out", "実施したか"},
      {"close_reason", "実施しなかった理由"},
      {"closed_by", "結果の記録者"},
      {"closed_at", "結果の記録日時"},
      {"notice_via", "申出者への通知方法"},
      {"notified_by", "通知者"},
      {"notified_at", "通知日時"},
      {"notice_error", "通知の失敗"}};
  Json rows = Json::array();
  for (const auto& [key, label] : kLabels) {
    if (!r.contains(key) || r[key].is_null() || r[key] == "") continue;
    std::string value =
        r[key].is_boolean() ? (r[key].get<bool>() ? "はい" : "いいえ") : Jst(Str(r, key));
    if (std::string(key) == "state") value = StateLabel(value);
    rows.push_back({Cell(label), Cell(value)});
  }
  Json sections = Json::array({Section("申し入れ #" + id, "request", {"項目", "内容"}, rows, "")});
  if (j.contains("overdue") && !j["overdue"].empty()) {
    sections.push_back(Pre("期限超過", "overdue", Overdue(j["overdue"])));
  }
  Json forms = Json::array();
  const std::string base = "/requests/" + id + "/";
  const std::string state = Str(r, "state");
  const bool justified = r.value("justified", Json()) == Json(true);
  // Only the next step, and only when the role may take it.
  if (state == "received" && May(v, "request.decide")) {
    forms.push_back(Form(
        "判断する(個人情報保護管理者)", base + "decide",
        Json::array({Select("justified", "判断", {{"yes", "正当である"}, {"no", "正当でない"}}),
                     TextArea("reason", "理由")}),
        "判断を記録する"));
  }
  if (state == "decided" && justified && May(v, "request.instruct")) {
    forms.push_back(Form("委託先へ指示する", base + "instruct",
                         Json::array({TextArea("text", "指示の内容")}), "指示を記録する"));
  }
  if (state == "instructed" && May(v, "request.answer")) {
    forms.push_back(Form("委託先の報告を記録する", base + "answer",
                         Json::array({TextArea("text", "報告の内容")}), "記録する"));
  }
  if (state == "answered" && May(v, "request.close")) {
    forms.push_back(Form(
        "結果を記録する", base + "close",
        Json::array({Select("carried", "結果", {{"yes", "実施した"}, {"no", "実施しなかった"}}),
                     TextArea("reason", "実施しなかった理由(申出者に伝えます)")}),
        "結果を記録する"));
  }
  if ((state == "closed" || (state == "decided" && !justified)) && May(v, "request.notify")) {
    sections.push_back(Pre("次の手順", "next",
                           "申出者への結果の通知は、コマンドで行います: itaku request notify " +
                               id + " [--email ADDRESS | --letter]"));
  }
  Json view = View(sections, forms);
  view["notice"] = v.req.Query("notice");
  return Page(v, "申し入れ #" + id, "page", view);
}

WebResponse ConsoleApp::Impl::RequestStep(Visit& v, const std::string& id,
                                          const std::string& step) {
  Args args = {{"id", {id}}};
  if (step == "decide") {
    args.push_back({v.req.Form("justified") == "yes" ? "--justified" : "--not-justified", {}});
    args.push_back({"--reason", {v.req.Form("reason")}});
  } else if (step == "instruct" || step == "answer") {
    args.push_back({"--text", {v.req.Form("text")}});
  } else if (step == "close") {
    args.push_back({v.req.Form("carried") == "yes" ? "--carried-out" : "--not-carried-out", {}});
    if (!v.req.Form("reason").empty()) args.push_back({"--reason", {v.req.Form("reason")}});
  }
  auto out = Run(v, "request." + step, {"request", step}, args);
  if (!out.ok()) return Problem(v, out.status());
  return WebResponse::Redirect("/requests/" + id + "?notice=" + PercentEncode("記録しました。"));
}

// ---- 監査ログ --------------------------------------------------------------------

WebResponse ConsoleApp::Impl::Audit(Visit& v) {
  Args args;
  for (const char* key : {"since", "until", "actor", "contractor", "action"}) {
    const std::string value = v.req.Query(key);
    if (!value.empty()) args.push_back({std::string("--") + key, {value}});
  }
  Json get = {
      {"action", "/audit"},
      {"fields", Json::array({Field("since", "開始日", "date", v.req.Query("since")),
                              Field("until", "終了日", "date", v.req.Query("until")),
                              Field("actor", "実行者", "text", v.req.Query("actor")),
                              Field("contractor", "委託先ID", "text", v.req.Query("contractor")),
                              Field("action", "操作(例: deliver、.refused)", "text",
                                    v.req.Query("action"))})},
      {"button", "絞り込む"}};
  auto out = Run(v, "audit.events", {"audit", "events"}, args);
  Json view = View(Json::array());
  view["get_form"] = get;
  if (!out.ok()) {
    view["get_form"]["field_error"] = v.session->Unspool(out.message());
    return Page(v, "監査ログ", "page", view, 400);
  }
  Json rows = Json::array();
  for (const auto& e : out->json["events"]) {
    rows.push_back({Cell(Str(e, "seq")), Cell(Jst(Str(e, "at"))), Cell(Str(e, "actor")),
                    Cell(Str(e, "action")), Cell(Str(e, "subject")),
                    Cell(e["details"].is_object() && e["details"].contains("reason")
                             ? Str(e["details"], "reason")
                             : "")});
  }
  view["sections"] = Json::array({Section(
      "イベント(新しい順、最大 " + Str(out->json, "limit") + " 件)", "events",
      {"番号", "日時", "実行者", "操作", "対象", "理由"}, rows, "該当するイベントはありません。")});
  view["forms"] =
      Json::array({Form("監査証跡を検証する", "/audit/verify", Json::array(), "検証する")});
  return Page(v, "監査ログ", "page", view);
}

WebResponse ConsoleApp::Impl::AuditVerify(Visit& v) {
  auto out = Run(v, "audit.verify", {"audit", "verify"});
  Json sections = Json::array({Pre(
      out.ok() ? "検証の結果: 改ざんは見つかりませんでした" : "検証の結果: 問題が見つかりました",
      "verify", out.ok() ? out->text : v.session->Unspool(out.message()))});
  return Page(v, "監査証跡の検証", "page", View(sections), out.ok() ? 200 : 409);
}

// ---- 職員 --------------------------------------------------------------------

WebResponse ConsoleApp::Impl::Staff(Visit& v) {
  auto list = Run(v, "staff.list", {"staff", "list"});
  if (!list.ok()) return Problem(v, list.status());
  Json rows = Json::array();
  Json forms = Json::array();
  for (const auto& m : list->json) {
    rows.push_back({Cell(Str(m, "name")), Cell(RoleLabel(Str(m, "role"))), Cell(Str(m, "os_user")),
                    Cell(Jst(Str(m, "added_at")))});
    if (May(v, "staff.enrol-code")) {
      forms.push_back(Form(Str(m, "name") + " の登録コードを発行する",
                           "/staff/" + PercentEncode(Str(m, "name")) + "/enrol-code", Json::array(),
                           "登録コードを発行する"));
    }
  }
  return Page(v, "職員", "page",
              View(Json::array({Section("職員", "staff",
                                        {"職員名", "役割", "OSアカウント", "登録日時"}, rows, "")}),
                   forms,
                   "登録コードは1回限り、" + std::to_string(kEnrolmentHours) +
                       "時間有効です。本人に直接手渡してください。"));
}

WebResponse ConsoleApp::Impl::StaffEnrolCode(Visit& v, const std::string& name) {
  auto out = Run(v, "staff.enrol-code", {"staff", "enrol-code"}, {{"name", {name}}});
  if (!out.ok()) return Problem(v, out.status());
  return Page(v, "登録コード", "page",
              View(Json::array({Pre(name + " の登録コード", "enrol-code",
                                    Str(out->json, "code") +
                                        "\n有効期限: " + Jst(Str(out->json, "expires_at")))}),
                   Json::array(),
                   "このコードは二度と表示されません。本人に手渡し、コンソールの「初回登録」で使っ"
                   "てもらってください。"));
}

// ---- 媒体 --------------------------------------------------------------------

WebResponse ConsoleApp::Impl::Media(Visit& v) {
  auto list = Run(v, "media.list", {"media", "list"});
  if (!list.ok()) return Problem(v, list.status());
  Json rows = Json::array();
  Json forms = Json::array();
  const bool operate = May(v, "media.handover");
  for (const auto& m : list->json) {
    const std::string id = Str(m, "delivery_id");
    const std::string state = Str(m, "state");
    const bool overdue = m.value("overdue", false);
    const bool paper = Str(m, "transport") == "paper";
    rows.push_back({Cell("#" + id), Cell(Str(m, "package")),
                    Cell(paper ? PaperStateLabel(state) : StateLabel(state)),
                    Cell(Str(m, "medium")), Cell(Str(m, "handed_to")),
                    Cell(Jst(Str(m, "handed_over_at"))), Cell(Str(m, "delete_by")),
                    Cell(overdue ? "消去期限超過" : "", "", overdue ? "warn" : "")});
    if (!operate) continue;
    if (paper) {
      // Printed sheets: handed to a person, returned or shredded.
      const std::string base = "/paper/" + id + "/";
      if (state == "written") {
        Json f = Form("#" + id + " 印刷物を引き渡す", base + "handover",
                      Json::array({Field("to", "受領者(委託先の担当者)")}),
                      "引渡しを記録する(PDFは消去されます)");
        f["sid"] = "m-" + id;
        forms.push_back(f);
        forms.push_back(Form("#" + id + " 取り消す(引き渡していない場合)", base + "cancel",
                             Json::array({TextArea("reason", "取消しの理由")}), "取り消す", {},
                             false, "danger"));
      } else if (state == "handed-over") {
        forms.push_back(Form("#" + id + " 印刷物の返却を記録する", base + "returned", Json::array(),
                             "返却を記録する"));
        forms.push_back(Form("#" + id + " 印刷物の裁断を記録する", base + "shredded", Json::array(),
                             "裁断を記録する"));
      }
      continue;
    }
    const std::string base = "/media/" + id + "/";
    if (state == "written") {
      Json f = Form("#" + id + " 媒体を引き渡す", base + "handover",
                    Json::array({Field("medium", "媒体(例: USB 4C530001)"),
                                 Field("to", "受領者(委託先の担当者)")}),
                    "引渡しを記録する");
      f["sid"] = "m-" + id;
      forms.push_back(f);
      forms.push_back(Form("#" + id + " 取り消す(引き渡していない場合)", base + "cancel",
                           Json::array({TextArea("reason", "取消しの理由")}), "取り消す", {}, false,
                           "danger"));
    } else if (state == "handed-over") {
      forms.push_back(
          Form("#" + id + " 返却を記録する", base + "returned", Json::array(), "返却を記録する"));
      forms.push_back(
          Form("#" + id + " 廃棄を記録する", base + "destroyed", Json::array(), "廃棄を記録する"));
    }
  }
  Json view = View(Json::array({Section("媒体・紙(電子記録媒体の引渡し・印刷物)", "media",
                                        {"提供", "パッケージ", "状態", "媒体", "受領者",
                                         "引渡し日時", "消去期限", ""},
                                        rows, "媒体・紙による提供の記録はありません。")}),
                   forms);
  view["notice"] = v.req.Query("notice");
  return Page(v, "媒体", "page", view);
}

WebResponse ConsoleApp::Impl::MediaStep(Visit& v, const std::string& group,
                                        const std::string& delivery, const std::string& step) {
  Args args = {{"delivery", {delivery}}};
  if (step == "handover") {
    if (group == "media") args.push_back({"--medium", {v.req.Form("medium")}});
    args.push_back({"--to", {v.req.Form("to")}});
  } else if (step == "cancel") {
    args.push_back({"--reason", {v.req.Form("reason")}});
  }
  auto out = Run(v, group + "." + step, {group, step}, args);
  if (!out.ok()) return Problem(v, out.status());
  return WebResponse::Redirect("/media?notice=" + PercentEncode("記録しました。"));
}

WebResponse ConsoleApp::Impl::NdaWithdraw(Visit& v, const std::string& id) {
  auto out = Run(v, "nda.withdraw", {"nda", "withdraw"},
                 {{"id", {id}}, {"--reason", {v.req.Form("reason")}}});
  if (!out.ok()) return Problem(v, out.status());
  return WebResponse::Redirect("/contractors/" + PercentEncode(v.req.Form("contractor")) +
                               "?notice=" + PercentEncode("NDA #" + id + " を撤回しました。"));
}

// ---- 特別な申し入れ(6(1)) --------------------------------------------------------------

WebResponse ConsoleApp::Impl::SpecialAdd(Visit& v) {
  Args args = {{"--subscriber", {v.req.Form("subscriber")}}};
  const std::string target = v.req.Form("contractor");
  if (target.rfind("purpose:", 0) == 0) {
    args.push_back({"--purpose", {target.substr(8)}});
  } else {
    args.push_back({"--contractor", {target}});
  }
  if (v.req.Form("kind") == "exclude") {
    args.push_back({"--exclude", {}});
  } else {
    std::vector<std::string> fields = v.req.FormAll("fields");
    args.push_back({"--withhold", fields});
  }
  if (!v.req.Form("from").empty()) args.push_back({"--from", {v.req.Form("from")}});
  if (!v.req.Form("until").empty()) args.push_back({"--until", {v.req.Form("until")}});
  auto out = Run(v, "special.add", {"special", "add"}, args);
  if (!out.ok()) return Problem(v, out.status());
  return WebResponse::Redirect("/requests?notice=" +
                               PercentEncode("特別な申し入れを記録しました。"));
}

WebResponse ConsoleApp::Impl::SpecialEnd(Visit& v, const std::string& id) {
  auto out = Run(v, "special.end", {"special", "end"},
                 {{"id", {id}}, {"--reason", {v.req.Form("reason")}}});
  if (!out.ok()) return Problem(v, out.status());
  return WebResponse::Redirect("/requests?notice=" +
                               PercentEncode("特別な申し入れ #" + id + " を終了しました。"));
}

// ---- 委託先管理・返却・廃棄・漏えい等事案 (6 指示・監督, 7) ---------------------------

namespace {

using Options = std::vector<std::pair<std::string, std::string>>;

const Options& DisposalMethods() {
  static const Options k = {
      {"shredded", "裁断"}, {"erased", "消去"}, {"returned", "返却"}, {"dissolved", "溶解"}};
  return k;
}
const Options& CheckResults() {
  static const Options k = {{"pass", "適合"}, {"findings", "指摘事項あり"}, {"fail", "不適合"}};
  return k;
}
const Options& ReoutsourcingTerms() {
  static const Options k = {{"forbidden", "禁止"},
                            {"approval", "事前の書面承認を要する"},
                            {"named", "指定の再委託先のみ"}};
  return k;
}
// 7(2): publication is withheld only for a reason of 5(1)[1]-[7].
const Options& WithholdReasons() {
  static const Options k = {
      {"5(1)[1]", "5(1)[1] 本人又は第三者の生命、身体、財産その他の権利利益を害する恐れ"},
      {"5(1)[2]", "5(1)[2] この施設の権利・正当な利益を損ない、業務の適正な実施に著しい支障"},
      {"5(1)[3]", "5(1)[3] 違法又は不当な行為を助長し、又は誘発する恐れ"},
      {"5(1)[4]", "5(1)[4] 国の安全、他国・国際機関との信頼関係や交渉を害する恐れ"},
      {"5(1)[5]", "5(1)[5] 犯罪の予防・捜査その他公共の安全と秩序の維持に支障"},
      {"5(1)[6]", "5(1)[6] 国の機関・地方公共団体の法令上の事務に支障"},
      {"5(1)[7]", "5(1)[7] 他の法令に違反することとなる"}};
  return k;
}
// The Japanese of a value in one of the lists above (the value itself
// when unknown).
std::string Word(const Options& options, const std::string& value) {
  for (const auto& [v, text] : options) {
    if (v == value) return text;
  }
  return value;
}

std::string PurposeText(const std::string& id) {
  const auto* p = policies::FindPurpose(id);
  return p ? std::string(p->description) : id;
}

Options ContractorOptions(const Result<Output>& contractors) {
  Options out;
  if (!contractors.ok()) return out;
  for (const auto& c : contractors->json) {
    out.push_back({Str(c, "id"), Str(c, "id") + "(" + Str(c, "name") + ")"});
  }
  return out;
}

// The file a multipart form sent as `field`: the folder the listener wrote
// it in, and its name; nullopt when none was chosen.
std::optional<std::pair<std::string, std::string>> UploadOf(Visit& v, const std::string& field) {
  for (const auto& f : v.req.files) {
    if (f.field == field) return std::make_pair(fs::path(f.path).parent_path().string(), f.name);
  }
  return std::nullopt;
}

// Back to `page`, the one-line reason shown over the form `form` (its
// section id), scrolled to it.
WebResponse BackTo(const std::string& page, const std::string& form, const std::string& error) {
  return WebResponse::Redirect(page + "?form=" + form + "&error=" + PercentEncode(error) + "#" +
                               form);
}
// When `command` failed: a role that may not run it gets the 403 page (the
// refusal is on record), a step someone else took first the 409 page;
// anything else, a rule's refusal included, goes back to the form with the
// command's one line.
WebResponse Failed(ConsoleApp::Impl& app, Visit& v, const std::string& command, const Status& why,
                   const std::string& page, const std::string& form, const std::string& lead) {
  if (!May(v, command) || why.kind() == ErrorKind::kConflict) return app.Problem(v, why);
  return BackTo(page, form, lead + v.session->Unspool(why.message()));
}
// The error for form `form` when the page was reached through BackTo.
std::string FormError(Visit& v, const std::string& form) {
  return v.req.Query("form") == form ? v.req.Query("error") : "";
}

// Days from `today` to `day` (negative: past); nullopt when either is not a date.
std::optional<int> DaysUntil(const std::string& today, const std::string& day) {
  const auto a = ParseDate(today);
  const auto b = ParseDate(day);
  if (!a || !b) return std::nullopt;
  return DaysBetween(*a, *b);
}

bool Flag(const Json& j, const std::string& key) {
  return j.is_object() && j.contains(key) && j[key].is_boolean() && j[key].get<bool>();
}

std::string NoticeState(const std::string& state) {
  static const std::map<std::string, std::string> k = {{"pending", "未通知"},
                                                       {"sending", "送信中"},
                                                       {"sent", "電子メール送信済み"},
                                                       {"letter", "通知書(郵送)作成済み"},
                                                       {"failed", "失敗"},
                                                       {"no-contact", "連絡先なし"}};
  auto it = k.find(state);
  return it == k.end() ? state : it->second;
}
// {"sent": 3, "pending": 2} -> "電子メール送信済み 3、未通知 2"
std::string NoticeProgress(const Json& notices) {
  if (!notices.is_object() || notices.empty()) return "未着手";
  std::string out;
  for (auto it = notices.begin(); it != notices.end(); ++it) {
    out += (out.empty() ? "" : "、") + NoticeState(it.key()) + " " +
           (it.value().is_string() ? it.value().get<std::string>() : it.value().dump());
  }
  return out;
}

}  // namespace

Json DeadlineCell(const Json& i, const std::string& report, const std::string& today,
                  bool* pressing) {
  if (pressing) *pressing = false;
  const std::string sent = Str(i, (report + "_reported_at").c_str());
  if (!sent.empty()) return Cell("報告済み(" + Jst(sent) + ")");
  const std::string due = i.contains("deadlines") ? Str(i["deadlines"], report.c_str()) : "";
  const auto left = DaysUntil(today, due);
  if (Flag(i, report + "_overdue") || (left && *left < 0)) {
    if (pressing) *pressing = true;
    return Cell(due + " 期限超過", "", "warn");
  }
  if (left && *left <= 3) {
    if (pressing) *pressing = true;
    return Cell(due + (*left == 0 ? "(今日まで)" : "(あと " + std::to_string(*left) + " 日)"), "",
                "warn");
  }
  return Cell(due + (left ? "(あと " + std::to_string(*left) + " 日)" : ""));
}

const Json* LatestCheck(const Json& checks, const std::string& contractor) {
  const Json* last = nullptr;
  if (!checks.is_array()) return last;
  for (const auto& k : checks) {
    if (Str(k, "contractor_id") != contractor) continue;
    if (!last || Str(k, "checked_on") > Str(*last, "checked_on") ||
        (Str(k, "checked_on") == Str(*last, "checked_on") &&
         k.value("id", 0) > last->value("id", 0))) {
      last = &k;
    }
  }
  return last;
}

WebResponse ConsoleApp::Impl::Download(Visit& v, const std::string& content_type,
                                       const std::string& filename) {
  for (auto& [id, path] : v.session->downloads()) {
    // Out of the session's spool before the session (and its folder) ends.
    const std::string kept = options.staged_root + "/dl-" + RandomHex32().value_or("x");
    std::error_code ec;
    fs::rename(path, kept, ec);
    if (ec) break;
    WebResponse r;
    r.content_type = content_type;
    r.file = kept;
    r.delete_file = true;
    r.headers.push_back({"Content-Disposition", "attachment; filename=\"" + filename + "\""});
    return r;
  }
  return Problem(v, Status::Internal("the file was not written"));
}

// ---- 委託先管理 -------------------------------------------------------------------

WebResponse ConsoleApp::Impl::Supervision(Visit& v) {
  const std::string today = FormatDate(v.session->context().clock->Today());
  auto contractors =
      v.session->Read("contractor.list", [](Context& c) { return ContractorList(c); });
  if (!contractors.ok()) return Problem(v, contractors.status());
  auto contracts = v.session->Read(
      "contract.list", [](Context& c) { return ::itaku::gateway::ContractList(c, std::nullopt); });
  if (!contracts.ok()) return Problem(v, contracts.status());
  auto checks = v.session->Read(
      "check.list", [](Context& c) { return ::itaku::gateway::CheckList(c, std::nullopt); });
  if (!checks.ok()) return Problem(v, checks.status());
  auto tasks = v.session->Read("disposal.list", [](Context& c) {
    return ::itaku::gateway::DisposalList(c, std::nullopt, false);
  });
  if (!tasks.ok()) return Problem(v, tasks.status());

  Json summary = Json::array();
  Json sections = Json::array();
  for (const auto& c : contractors->json) {
    const std::string id = Str(c, "id");
    // Contracts: in force first, then those not yet or no longer in force.
    Json rows = Json::array();
    int in_force = 0;
    for (int pass = 0; pass < 2; ++pass) {
      for (const auto& k : contracts->json) {
        if (Str(k, "contractor_id") != id || !Str(k, "withdrawn_at").empty()) continue;
        const bool now = Flag(k, "in_force");
        if (now != (pass == 0)) continue;
        in_force += now;
        std::string purposes;
        for (const auto& p : k["purposes"]) {
          purposes += (purposes.empty() ? "" : "、") + PurposeText(p.get<std::string>());
        }
        std::string terms = Word(ReoutsourcingTerms(), Str(k, "reoutsourcing"));
        std::string subs;
        for (const auto& s : k["subcontractors"]) {
          subs += (subs.empty() ? "" : "、") + Str(s, "name") + "(" + Str(s, "work") + ")";
        }
        if (!subs.empty()) terms += ": " + subs;
        const std::string state =
            now ? "有効" : (today < Str(k, "in_force_from") ? "開始前" : "終了");
        rows.push_back({Cell("#" + Str(k, "id")), Cell(Str(k, "signed_on")),
                        Cell(Str(k, "in_force_from") + " ~ " + Str(k, "in_force_until")),
                        Cell(purposes), Cell(terms), Cell(Str(k, "incident_contact")),
                        Cell(state, "", now ? "" : "withheld")});
      }
    }
    const Json* last = LatestCheck(checks->json, id);
    int open = 0, overdue = 0;
    for (const auto& t : tasks->json) {
      if (Str(t, "contractor") != id) continue;
      ++open;
      overdue += Flag(t, "overdue");
    }
    Json last_cell = Cell("未実施", "", in_force ? "warn" : "");
    Json next_cell = Cell("―");
    if (last) {
      last_cell = Cell(Str(*last, "checked_on") + " " + Word(CheckResults(), Str(*last, "result")));
      const std::string due = Str(*last, "next_due");
      next_cell = due < today ? Cell(due + " 期限超過", "", "warn") : Cell(due);
    }
    summary.push_back(
        {Cell(id, "#c-" + id), Cell(Str(c, "name")), Cell(StateLabel(Str(c, "status"))),
         Cell(in_force ? std::to_string(in_force) + " 件" : "なし", "", in_force ? "" : "warn"),
         last_cell, next_cell,
         Cell(std::to_string(open) + " 件", open ? "/disposals" : "", open ? "warn" : ""),
         Cell(overdue ? std::to_string(overdue) + " 件 期限超過" : "なし",
              overdue ? "/disposals" : "", overdue ? "warn" : "")});
    sections.push_back(Section("業務委託契約: " + Str(c, "name") + "(" + id + ")", "c-" + id,
                               {"契約", "締結日", "期間", "目的", "再委託", "事故時連絡先", "状態"},
                               rows, "登録されていません(この委託先へは提供できません)。"));
  }
  sections.insert(sections.begin(),
                  Section("委託先ごとの状況", "summary",
                          {"委託先", "名称", "状態", "有効な契約", "前回の点検", "次回の点検期限",
                           "返却・廃棄(期限到来)", "うち期限超過"},
                          summary, "委託先は登録されていません。"));
  // Every check recorded, newest first.
  Json rows = Json::array();
  for (auto it = checks->json.rbegin(); it != checks->json.rend(); ++it) {
    const Json& k = *it;
    const std::string evidence = Str(k, "evidence_sha256");
    rows.push_back({Cell(Str(k, "contractor_id"), "#c-" + Str(k, "contractor_id")),
                    Cell(Str(k, "checked_on")), Cell(Word(CheckResults(), Str(k, "result"))),
                    Cell(Str(k, "findings")), Cell(Str(k, "next_due")),
                    Cell(evidence.empty() ? "なし" : "SHA-256 " + evidence.substr(0, 16) + "…"),
                    Cell(Str(k, "recorded_by"))});
  }
  sections.push_back(
      Section("定期点検の記録", "checks",
              {"委託先", "点検日", "結果", "指摘事項", "次回の期限", "証跡", "記録者"}, rows,
              "記録はありません。"));
  sections.push_back(Section(
      "委託先管理台帳", "register", {"形式"},
      Json::array({Json::array({Cell("CSV(Excel で開けます)", "/supervision/register.csv")}),
                   Json::array({Cell("PDF(印刷用)", "/supervision/register.pdf")})}),
      "", "今日の時点の台帳を作成してダウンロードします(作成は監査ログに記録されます)。"));

  Json forms = Json::array();
  const Options who = ContractorOptions(contractors);
  if (May(v, "check.record")) {
    Json findings = TextArea("findings", "指摘事項(適合以外のときは必須)");
    findings["rows"] = "4";
    Json f =
        Form("定期点検を記録する", "/supervision/checks",
             Json::array({Select("contractor", "委託先", who), Field("on", "点検日", "date", today),
                          Select("result", "結果", CheckResults()), findings,
                          Field("evidence", "点検表・報告書(任意)", "file"),
                          Field("next_due", "次回の点検期限", "date")}),
             "記録する", {}, true);
    f["sid"] = "check";
    f["form_error"] = FormError(v, "check");
    forms.push_back(f);
  }
  if (May(v, "contract.add")) {
    Options purposes;
    for (const auto& p : policies::Purposes()) {
      purposes.push_back({std::string(p.id), std::string(p.description)});
    }
    Json f =
        Form("業務委託契約を登録する", "/supervision/contracts",
             Json::array({Select("contractor", "委託先", who), Field("signed", "締結日", "date"),
                          Field("from", "有効期間の開始日", "date"),
                          Field("until", "有効期間の終了日", "date"),
                          Checks("purposes", "委託する業務(利用目的)", purposes),
                          Field("incident_contact", "事故時の連絡先(委託先の担当部署・氏名・電話)"),
                          Select("reoutsourcing", "再委託", ReoutsourcingTerms()),
                          Field("document", "署名済み契約書のスキャン(PDF)", "file")}),
             "登録する", {}, true);
    f["sid"] = "contract";
    f["form_error"] = FormError(v, "contract");
    forms.push_back(f);
  }
  // The privacy officer's steps: naming a subcontractor under a contract
  // that allows only named ones, and withdrawing a contract entered in error.
  Options named, withdrawable;
  for (const auto& k : contracts->json) {
    if (!Str(k, "withdrawn_at").empty()) continue;
    const std::string text = "#" + Str(k, "id") + " " + Str(k, "contractor_id") + "(" +
                             Str(k, "in_force_from") + " ~ " + Str(k, "in_force_until") + ")";
    withdrawable.push_back({Str(k, "id"), text});
    if (Str(k, "reoutsourcing") == "named") named.push_back({Str(k, "id"), text});
  }
  if (May(v, "contract.subcontractor") && !named.empty()) {
    Json f = Form("再委託先を登録する", "/supervision/subcontractors",
                  Json::array({Select("contract", "業務委託契約(指定の再委託先のみのもの)", named),
                               Field("name", "再委託先の名称"), Field("work", "再委託する業務"),
                               Field("nda", "再委託先との機密保持契約のスキャン(PDF)", "file"),
                               Field("nda_from", "機密保持契約の開始日", "date"),
                               Field("nda_until", "機密保持契約の終了日", "date")}),
                  "登録する", {}, true);
    f["sid"] = "sub";
    f["form_error"] = FormError(v, "sub");
    forms.push_back(f);
  }
  if (May(v, "contract.withdraw") && !withdrawable.empty()) {
    Json f = Form("業務委託契約を取り消す(誤って登録したもの)", "/supervision/contracts/withdraw",
                  Json::array({Select("contract", "業務委託契約", withdrawable),
                               TextArea("reason", "取消しの理由(監査ログに残ります)")}),
                  "取り消す", {}, false, "danger");
    f["sid"] = "withdraw";
    f["form_error"] = FormError(v, "withdraw");
    forms.push_back(f);
  }
  Json view = View(sections, forms,
                   "委託先ごとの業務委託契約・定期点検・返却・廃棄の状況です(6 指示・監督)。"
                   "提供には、目的を含む有効な業務委託契約が必要です。");
  view["notice"] = v.req.Query("notice");
  return Page(v, "委託先管理", "page", view);
}

WebResponse ConsoleApp::Impl::SupervisionContract(Visit& v) {
  const std::string page = "/supervision";
  auto doc = UploadOf(v, "document");
  if (!doc) return BackTo(page, "contract", "署名済み契約書のファイルを選んでください。");
  const std::vector<std::string> purposes = v.req.FormAll("purposes");
  if (purposes.empty()) return BackTo(page, "contract", "委託する業務(利用目的)を選んでください。");
  auto upload = v.session->Adopt(doc->first);
  if (!upload.ok()) return Problem(v, upload.status());
  auto out = Run(v, "contract.add", {"contract", "add"},
                 {{"contractor", {v.req.Form("contractor")}},
                  {"--signed", {v.req.Form("signed")}},
                  {"--from", {v.req.Form("from")}},
                  {"--until", {v.req.Form("until")}},
                  {"--purpose", purposes},
                  {"--incident-contact", {v.req.Form("incident_contact")}},
                  {"--reoutsourcing", {v.req.Form("reoutsourcing")}},
                  {"--document", {"upload:" + upload.value() + "/" + doc->second}}});
  if (!out.ok())
    return Failed(*this, v, "contract.add", out.status(), page, "contract",
                  "登録できませんでした: ");
  return WebResponse::Redirect(
      page +
      "?notice=" + PercentEncode("業務委託契約 #" + Str(out->json, "id") + " を登録しました。") +
      "#c-" + v.req.Form("contractor"));
}

WebResponse ConsoleApp::Impl::SupervisionSubcontractor(Visit& v) {
  const std::string page = "/supervision";
  auto nda = UploadOf(v, "nda");
  if (!nda) return BackTo(page, "sub", "再委託先との機密保持契約のファイルを選んでください。");
  auto upload = v.session->Adopt(nda->first);
  if (!upload.ok()) return Problem(v, upload.status());
  auto out = Run(v, "contract.subcontractor", {"contract", "subcontractor"},
                 {{"contract", {v.req.Form("contract")}},
                  {"--name", {v.req.Form("name")}},
                  {"--work", {v.req.Form("work")}},
                  {"--nda", {"upload:" + upload.value() + "/" + nda->second}},
                  {"--nda-from", {v.req.Form("nda_from")}},
                  {"--nda-until", {v.req.Form("nda_until")}}});
  if (!out.ok()) {
    return Failed(*this, v, "contract.subcontractor", out.status(), page, "sub",
                  "登録できませんでした: ");
  }
  return WebResponse::Redirect(
      page + "?notice=" +
      PercentEncode("業務委託契約 #" + v.req.Form("contract") + " の再委託先を登録しました。") +
      "#summary");
}

WebResponse ConsoleApp::Impl::SupervisionWithdraw(Visit& v) {
  const std::string page = "/supervision";
  const std::string id = v.req.Form("contract");
  auto out = Run(v, "contract.withdraw", {"contract", "withdraw"},
                 {{"id", {id}}, {"--reason", {v.req.Form("reason")}}});
  if (!out.ok()) {
    return Failed(*this, v, "contract.withdraw", out.status(), page, "withdraw",
                  "取り消せませんでした: ");
  }
  return WebResponse::Redirect(
      page + "?notice=" + PercentEncode("業務委託契約 #" + id + " を取り消しました。") +
      "#summary");
}

WebResponse ConsoleApp::Impl::SupervisionCheck(Visit& v) {
  const std::string page = "/supervision";
  Args args = {{"contractor", {v.req.Form("contractor")}},
               {"--on", {v.req.Form("on")}},
               {"--result", {v.req.Form("result")}},
               {"--next-due", {v.req.Form("next_due")}}};
  if (!v.req.Form("findings").empty()) args.push_back({"--findings", {v.req.Form("findings")}});
  if (auto evidence = UploadOf(v, "evidence")) {
    auto upload = v.session->Adopt(evidence->first);
    if (!upload.ok()) return Problem(v, upload.status());
    args.push_back({"--evidence", {"upload:" + upload.value() + "/" + evidence->second}});
  }
  auto out = Run(v, "check.record", {"check", "record"}, args);
  if (!out.ok())
    return Failed(*this, v, "check.record", out.status(), page, "check", "記録できませんでした: ");
  return WebResponse::Redirect(page + "?notice=" + PercentEncode("定期点検を記録しました。") +
                               "#checks");
}

WebResponse ConsoleApp::Impl::RegisterDownload(Visit& v, const std::string& format) {
  auto out = Run(v, "register.export", {"register", "export"},
                 {{"--format", {format}}, {"--out", {"register." + format}}});
  if (!out.ok()) return Problem(v, out.status());
  const std::string today = FormatDate(v.session->context().clock->Today());
  return Download(v, format == "csv" ? "text/csv; charset=utf-8" : "application/pdf",
                  "itaku-register-" + today + "." + format);
}

// ---- 返却・廃棄 -------------------------------------------------------------------

WebResponse ConsoleApp::Impl::Disposals(Visit& v) {
  const std::string today = FormatDate(v.session->context().clock->Today());
  auto tasks = v.session->Read("disposal.list", [](Context& c) {
    return ::itaku::gateway::DisposalList(c, std::nullopt, false);
  });
  if (!tasks.ok()) return Problem(v, tasks.status());
  Json rows = Json::array();
  Json forms = Json::array();
  const bool record = May(v, "disposal.record");
  const bool slip = May(v, "delivery.slip");
  for (const auto& t : tasks->json) {
    const std::string id = Str(t, "delivery");
    const bool overdue = Flag(t, "overdue");
    const std::string transport = Str(t, "transport");
    rows.push_back(
        {Cell("#" + id, record ? "#d-" + id : ""),
         Cell(Str(t, "contractor"), "/contractors/" + PercentEncode(Str(t, "contractor"))),
         Cell(Str(t, "profile")), Cell(transport), Cell(Jst(Str(t, "delivered_at"))),
         Cell(Str(t, "record_count") + " 件"), Cell(Str(t, "delete_by")),
         Cell(overdue ? "期限超過" : "期限到来", "", overdue ? "warn" : ""),
         Cell(slip ? "授受記録(PDF)" : "", slip ? "/disposals/" + id + "/slip.pdf" : "")});
    if (!record) continue;
    Json f =
        Form("#" + id + "(" + Str(t, "contractor") + ")の返却・廃棄を記録する",
             "/disposals/" + id + "/record",
             Json::array(
                 {Select("method", "方法", DisposalMethods()), Field("on", "実施日", "date", today),
                  Field("certificate", "委託先の廃棄証明書・返却の受領書(PDF・画像)", "file")}),
             "記録する", {}, true);
    f["sid"] = "d-" + id;
    f["form_error"] = FormError(v, "d-" + id);
    forms.push_back(f);
  }
  Json view =
      View(Json::array({Section("消去期限が来た提供(返却・廃棄が未了)", "disposals",
                                {"提供", "委託先", "プロファイル", "方法", "提供日時", "件数",
                                 "消去期限", "状態", "授受記録"},
                                rows, "返却・廃棄の期限が来た提供はありません。")}),
           forms,
           "提供したデータは、消去期限までに委託先から返却されるか、廃棄されなければなりません"
           "(6 指示・監督)。委託先の証明書を添えて記録すると、この一覧から外れます。");
  view["notice"] = v.req.Query("notice");
  return Page(v, "返却・廃棄", "page", view);
}

WebResponse ConsoleApp::Impl::DisposalRecord(Visit& v, const std::string& delivery) {
  const std::string page = "/disposals";
  const std::string form = "d-" + delivery;
  auto certificate = UploadOf(v, "certificate");
  if (!certificate) {
    return BackTo(page, form, "廃棄証明書(または返却の受領書)のファイルを選んでください。");
  }
  auto upload = v.session->Adopt(certificate->first);
  if (!upload.ok()) return Problem(v, upload.status());
  auto out = Run(v, "disposal.record", {"disposal", "record"},
                 {{"delivery", {delivery}},
                  {"--method", {v.req.Form("method")}},
                  {"--on", {v.req.Form("on")}},
                  {"--certificate", {"upload:" + upload.value() + "/" + certificate->second}}});
  if (!out.ok())
    return Failed(*this, v, "disposal.record", out.status(), page, form, "記録できませんでした: ");
  return WebResponse::Redirect(
      page + "?notice=" +
      PercentEncode("#" + delivery + " の" + Word(DisposalMethods(), v.req.Form("method")) +
                    "を記録しました(証明書 SHA-256 " +
                    Str(out->json, "certificate_sha256").substr(0, 16) + "…)。"));
}

WebResponse ConsoleApp::Impl::SlipDownload(Visit& v, const std::string& delivery) {
  auto out = Run(v, "delivery.slip", {"delivery", "slip"},
                 {{"id", {delivery}}, {"--out", {"slip-" + delivery + ".pdf"}}});
  if (!out.ok()) return Problem(v, out.status());
  return Download(v, "application/pdf", "itaku-slip-" + delivery + ".pdf");
}

// ---- 漏えい等事案 -----------------------------------------------------------------

WebResponse ConsoleApp::Impl::Incidents(Visit& v) {
  const std::string today = FormatDate(v.session->context().clock->Today());
  auto list = v.session->Read("incident.list",
                              [](Context& c) { return ::itaku::gateway::IncidentList(c); });
  if (!list.ok()) return Problem(v, list.status());
  Json rows = Json::array();
  for (const auto& i : list->json) {
    const std::string id = Str(i, "id");
    rows.push_back({Cell("#" + id, "/incidents/" + id),
                    Cell(Either(i, "contractor", "contractor_id")), Cell(Str(i, "discovered_on")),
                    Cell(Str(i, "persons") + " 人"), DeadlineCell(i, "preliminary", today),
                    DeadlineCell(i, "final", today),
                    Cell(NoticeProgress(i.value("notices", Json())))});
  }
  Json forms = Json::array();
  if (May(v, "incident.open")) {
    auto contractors =
        v.session->Read("contractor.list", [](Context& c) { return ContractorList(c); });
    Json summary = TextArea("summary", "概要(個人データは書かないでください)");
    summary["rows"] = "4";
    Json f =
        Form("事案を登録する", "/incidents",
             Json::array({Select("contractor", "委託先", ContractorOptions(contractors)),
                          Field("since", "対象期間の開始日(この日以降の提供)", "date"),
                          Field("until", "対象期間の終了日", "date", today),
                          Field("discovered", "発覚日", "date", today), summary,
                          Checks("malicious", "不正の目的",
                                 {{"yes", "不正の目的によるおそれがある(確報の期限は60日)"}})}),
             "登録して範囲を確定する");
    f["sid"] = "open";
    f["form_error"] = FormError(v, "open");
    forms.push_back(f);
  }
  Json view =
      View(Json::array({Section(
               "漏えい等事案", "incidents",
               {"事案", "委託先", "発覚日", "本人の数", "速報の期限", "確報の期限", "本人への通知"},
               rows, "登録された事案はありません。")}),
           forms,
           "個人情報保護委員会への報告は、速報を発覚から速やかに(5日以内)、確報を30日以内"
           "(不正の目的によるおそれがあるときは60日以内)に行います(7 漏洩した場合の措置)。");
  view["notice"] = v.req.Query("notice");
  return Page(v, "漏えい等事案", "page", view);
}

WebResponse ConsoleApp::Impl::IncidentOpen(Visit& v) {
  Args args = {{"--contractor", {v.req.Form("contractor")}},
               {"--since", {v.req.Form("since")}},
               {"--until", {v.req.Form("until")}},
               {"--discovered", {v.req.Form("discovered")}},
               {"--summary", {v.req.Form("summary")}}};
  if (v.req.Form("malicious") == "yes") args.push_back({"--malicious", {}});
  auto out = Run(v, "incident.open", {"incident", "open"}, args);
  if (!out.ok())
    return Failed(*this, v, "incident.open", out.status(), "/incidents", "open",
                  "登録できませんでした: ");
  const std::string id = Str(out->json, "id");
  if (id.empty()) return WebResponse::Redirect("/incidents");
  return WebResponse::Redirect("/incidents/" + id + "?notice=" +
                               PercentEncode("事案 #" + id + " を登録し、範囲を確定しました。"));
}

WebResponse ConsoleApp::Impl::Incident(Visit& v, const std::string& id) {
  const std::string today = FormatDate(v.session->context().clock->Today());
  auto shown = Run(v, "incident.show", {"incident", "show"}, {{"id", {id}}});
  if (!shown.ok()) return Problem(v, shown.status());
  const Json& j = shown->json;
  Json sections = Json::array();
  auto row = [](const std::string& label, const std::string& value) {
    return Json::array({Cell(label), Cell(value)});
  };
  std::string delivered;
  if (j.contains("deliveries") && j["deliveries"].is_array()) {
    for (const auto& d : j["deliveries"]) {
      std::string one = d.is_string() ? d.get<std::string>() : d.dump();
      if (d.is_object()) one = Str(d, "delivery_id").empty() ? Str(d, "id") : Str(d, "delivery_id");
      delivered += (delivered.empty() ? "#" : "、#") + one;
    }
  }
  sections.push_back(
      Section("概要", "summary", {"項目", "内容"},
              Json::array({row("委託先", Either(j, "contractor", "contractor_id")),
                           row("対象期間", Str(j, "since") + " ~ " + Str(j, "until")),
                           row("発覚日", Str(j, "discovered_on")),
                           row("不正の目的", Flag(j, "malicious") ? "おそれあり" : "なし"),
                           row("概要", Str(j, "summary")),
                           row("登録", Str(j, "opened_by") + " " + Jst(Str(j, "opened_at"))),
                           row("対象の提供", delivered.empty() ? "なし" : delivered)}),
              ""));
  // The scope: persons, and per data item how many of them it reached.
  Json items = Json::array();
  const Json by_item = j.value("persons_by_item", j.value("items", Json()));
  if (by_item.is_object()) {
    // In catalog order, then anything else.
    std::set<std::string> shown_items;
    for (const auto& f : policies::Catalog()) {
      const std::string key(f.id);
      if (!by_item.contains(key)) continue;
      shown_items.insert(key);
      items.push_back({Cell(Label(key)), Cell(key), Cell(Str(by_item, key.c_str()) + " 人")});
    }
    for (auto it = by_item.begin(); it != by_item.end(); ++it) {
      if (shown_items.count(it.key())) continue;
      items.push_back(
          {Cell(Label(it.key())), Cell(it.key()), Cell(Str(by_item, it.key().c_str()) + " 人")});
    }
  }
  sections.push_back(Section("範囲: 本人 " + Str(j, "persons") + " 人", "scope",
                             {"項目", "ID", "本人の数"}, items,
                             "対象期間にこの委託先へ提供した項目はありません。"));
  Json dl = Json::array(
      {Json::array({Cell("速報"), DeadlineCell(j, "preliminary", today)}),
       Json::array({Cell("確報"), DeadlineCell(j, "final", today)}),
       Json::array({Cell("本人への通知"), Cell(NoticeProgress(j.value("notices", Json())))})});
  sections.push_back(
      Section("個人情報保護委員会への報告", "deadlines", {"報告", "期限・状況"}, dl, ""));
  const std::string publication = Str(j, "publication");
  std::string decided = "未決定";
  if (publication == "publish") decided = "公表する: " + Str(j, "publication_text");
  if (publication == "withhold") {
    decided = "公表しない(" + Word(WithholdReasons(), Str(j, "publication_reason")) + ")";
    if (!Str(j, "publication_note").empty()) decided += " " + Str(j, "publication_note");
  }
  static const std::vector<std::pair<const char*, const char*>> kFinal = {
      {"cause", "発生原因"},
      {"secondary_harm", "二次被害又はそのおそれの有無及びその内容"},
      {"response", "本人への対応の実施状況"},
      {"measures", "再発防止のための措置"},
      {"other", "その他参考となる事項"}};
  Json fr = Json::array();
  for (const auto& [key, label] : kFinal) {
    const std::string value = Str(j, key);
    fr.push_back(
        {Cell(label), Cell(value.empty() ? "(未記入)" : value, "", value.empty() ? "warn" : "")});
  }
  fr.push_back({Cell("公表(7(1)[2])"), Cell(decided, "", publication.empty() ? "warn" : "")});
  sections.push_back(Section("確報の記載事項", "final", {"項目", "内容"}, fr, ""));
  const std::string base = "/incidents/" + id;
  if (May(v, "incident.draft")) {
    Json drafts = Json::array({Json::array({Cell("速報(PDF)", base + "/drafts/preliminary.pdf"),
                                            Cell("速報(JSON)", base + "/drafts/preliminary.json")}),
                               Json::array({Cell("確報(PDF)", base + "/drafts/final.pdf"),
                                            Cell("確報(JSON)", base + "/drafts/final.json")})});
    if (publication == "publish") {
      drafts.push_back({Cell("公表文(PDF)", base + "/drafts/publication.pdf"),
                        Cell("公表文(JSON)", base + "/drafts/publication.json")});
    }
    sections.push_back(Section("報告書の下書き", "drafts", {"PDF", "JSON"}, drafts, "",
                               "委員会の報告様式の項目に沿った下書きです。"
                               "内容を確かめてから提出してください。"));
  }
  if (May(v, "incident.notify")) {
    sections.push_back(Pre("本人への通知(7(1)[1])", "notify",
                           "本人への通知は、連絡先のエクスポートを添えてコマンドで行います: "
                           "itaku incident notify " +
                               id + " --contacts EXPORT"));
  }
  Json forms = Json::array();
  if (May(v, "incident.reported")) {
    for (const auto& [report, label] :
         {std::pair<std::string, std::string>{"preliminary", "速報"}, {"final", "確報"}}) {
      if (!Str(j, (report + "_reported_at").c_str()).empty()) continue;
      Json f = Form(label + "を提出したことを記録する", base + "/reported", Json::array(),
                    label + "を提出済みにする", {{"report", report}});
      f["sid"] = "reported-" + report;
      f["form_error"] = FormError(v, "reported-" + report);
      forms.push_back(f);
    }
  }
  if (May(v, "incident.update")) {
    Json fields = Json::array();
    for (const auto& [key, label] : kFinal) {
      Json t = TextArea(key, label, Str(j, key));
      t["rows"] = "3";
      fields.push_back(t);
    }
    Json f = Form("確報の記載事項を更新する", base + "/update", fields, "更新する");
    f["sid"] = "update";
    f["form_error"] = FormError(v, "update");
    forms.push_back(f);
  }
  if (May(v, "incident.publication")) {
    Json text = TextArea("text", "公表する場合: 公表文", Str(j, "publication_text"));
    text["rows"] = "4";
    Options reasons = {{"", "(公表する場合は選ばない)"}};
    for (const auto& r : WithholdReasons()) reasons.push_back(r);
    Json f = Form(
        "公表について決定する(7(1)[2]・7(2))", base + "/publication",
        Json::array({Select("choice", "決定", {{"publish", "公表する"}, {"withhold", "公表しない"}},
                            publication),
                     text,
                     Select("reason", "公表しない場合: 理由(5(1)の該当号)", reasons,
                            Str(j, "publication_reason")),
                     Field("note", "公表しない場合: その号に当たる事情", "text",
                           Str(j, "publication_note"))}),
        "決定を記録する");
    f["sid"] = "publication";
    f["form_error"] = FormError(v, "publication");
    forms.push_back(f);
  }
  Json view = View(sections, forms);
  view["notice"] = v.req.Query("notice");
  return Page(v, "漏えい等事案 #" + id, "page", view);
}

WebResponse ConsoleApp::Impl::IncidentStep(Visit& v, const std::string& id,
                                           const std::string& step) {
  const std::string page = "/incidents/" + id;
  Args args = {{"id", {id}}};
  std::string form = step;
  std::string done = "記録しました。";
  if (step == "update") {
    for (const char* key : {"cause", "harm", "response", "measures", "other"}) {
      // The form names the harm as the record does (secondary_harm).
      const std::string field = std::string(key) == "harm" ? "secondary_harm" : key;
      const std::string value = v.req.Form(field);
      if (!value.empty()) args.push_back({std::string("--") + key, {value}});
    }
    done = "確報の記載事項を更新しました。";
  } else if (step == "publication") {
    if (v.req.Form("choice") == "publish") {
      args.push_back({"--publish", {}});
      args.push_back({"--text", {v.req.Form("text")}});
    } else {
      args.push_back({"--withhold", {}});
      args.push_back({"--reason", {v.req.Form("reason")}});
      args.push_back({"--note", {v.req.Form("note")}});
    }
    done = "公表についての決定を記録しました。";
  } else {
    const std::string report = v.req.Form("report");
    form = "reported-" + report;
    args.push_back({"--report", {report}});
    done = std::string(report == "final" ? "確報" : "速報") + "を提出済みとして記録しました。";
  }
  auto out = Run(v, "incident." + step, {"incident", step}, args);
  if (!out.ok()) {
    return Failed(*this, v, "incident." + step, out.status(), page, form, "記録できませんでした: ");
  }
  return WebResponse::Redirect(page + "?notice=" + PercentEncode(done));
}

WebResponse ConsoleApp::Impl::IncidentDraft(Visit& v, const std::string& id,
                                            const std::string& report, const std::string& format) {
  const std::string name = "incident-" + id + "-" + report + "." + format;
  auto out = Run(v, "incident.draft", {"incident", "draft"},
                 {{"id", {id}}, {"--report", {report}}, {"--format", {format}}, {"--out", {name}}});
  if (!out.ok()) return Problem(v, out.status());
  return Download(v, format == "pdf" ? "application/pdf" : "application/json", "itaku-" + name);
}

}  // namespace itaku::gateway::console
