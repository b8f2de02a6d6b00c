// Inside the console: what every page handler shares (console_app.cc holds
// sign-in and routing, console_pages.cc the pages, templates.cc the HTML).
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "gateway/console/console_app.h"
#include "gateway/detail/command_util.h"

namespace itaku::gateway::console {

using Json = nlohmann::json;

// One request being answered.
struct Visit {
  WebRequest& req;
  std::unique_ptr<StaffSession> session;  // acts as the signed-in member
  std::string csrf;                       // the token this page's forms carry
};

// A command's arguments: (option or positional name, values).
using Args = std::vector<std::pair<std::string, std::vector<std::string>>>;

// A delivery being prepared: its uploads, kept between the dry run and the
// confirmation, for the staff member who made them.
struct Stage {
  std::string staff;
  std::string folder;                         // staged_root/ID: the StaffSession's spool
  std::map<std::string, std::string> refs;    // form field -> "upload:ID/NAME" or "upload:ID"
  std::map<std::string, std::string> values;  // profile, via, ...
  std::chrono::steady_clock::time_point made;
};

// A command run in the background (a delivery), shown at /jobs/ID.
struct Job {
  std::string staff;
  std::string title;
  bool done = false;
  bool ok = false;
  Json json;
  std::string text;
  std::string error;
  std::map<std::string, std::string> downloads;  // id -> file kept for the staff member
  std::chrono::steady_clock::time_point started;
};

struct ConsoleApp::Impl {
  ConsoleOptions options;
  ConsoleKey key;
  // A real argon2id hash of a random password, checked for unknown names so
  // that a sign-in takes as long whether or not the name exists.
  std::string decoy_hash;
  std::mutex mutex;  // stages, jobs
  std::map<std::string, Stage> stages;
  std::map<std::string, std::shared_ptr<Job>> jobs;
  // Deliveries running on their own threads; the console waits for them
  // before it goes away.
  std::atomic<int> running{0};

  // Runs a command as the visit's staff member.
  Result<Output> Run(Visit& v, const std::string& command, const std::vector<std::string>& path,
                     const Args& args = {});
  // A page in the layout: `content` is the template's output for `view`.
  WebResponse Page(Visit& v, const std::string& title, const std::string& tmpl, Json view,
                   int status = 200);
  // An error page (403 for a refusal, 404, 409, ...).
  WebResponse Problem(Visit& v, const Status& why);

  WebResponse Route(Visit& v);
  // The visit's member's stage `id` (a copy; removed from the table when
  // `take`), or nullopt when there is none.
  std::optional<Stage> FindStage(Visit& v, const std::string& id, bool take);
  // The pages (console_pages.cc).
  WebResponse Dashboard(Visit& v);
  WebResponse Contractors(Visit& v);
  WebResponse Contractor(Visit& v, const std::string& id);
  WebResponse NdaAdd(Visit& v, const std::string& id);
  WebResponse Profiles(Visit& v);
  WebResponse Profile(Visit& v, const std::string& id);
  WebResponse ProfilePropose(Visit& v);
  WebResponse Approvals(Visit& v);
  WebResponse Approval(Visit& v, const std::string& id);
  WebResponse ApprovalDecide(Visit& v, const std::string& id, const std::string& how);
  WebResponse DeliverForm(Visit& v, const std::string& error = "");
  WebResponse DeliverUpload(Visit& v);
  WebResponse DeliverStage(Visit& v, const std::string& id);
  WebResponse DeliverConfirm(Visit& v, const std::string& id);
  WebResponse JobPage(Visit& v, const std::string& id);
  WebResponse JobDownload(Visit& v, const std::string& id, const std::string& file);
  WebResponse History(Visit& v);
  WebResponse BreachScope(Visit& v, bool csv);
  WebResponse Requests(Visit& v);
  WebResponse Request(Visit& v, const std::string& id);
  WebResponse RequestStep(Visit& v, const std::string& id, const std::string& step);
  WebResponse Audit(Visit& v);
  WebResponse AuditVerify(Visit& v);
  WebResponse Staff(Visit& v);
  WebResponse Media(Visit& v);
  // `group`: "media" for a medium, "paper" for printed sheets.
  WebResponse MediaStep(Visit& v, const std::string& group, const std::string& delivery,
                        const std::string& step);
  WebResponse NdaWithdraw(Visit& v, const std::string& id);
  WebResponse SpecialAdd(Visit& v);
  WebResponse SpecialEnd(Visit& v, const std::string& id);
  WebResponse StaffEnrolCode(Visit& v, const std::string& name);
  // 委託先管理・返却・廃棄・漏えい等事案 (console_work.cc).
  WebResponse Supervision(Visit& v);
  WebResponse SupervisionContract(Visit& v);
  WebResponse SupervisionCheck(Visit& v);
  WebResponse SupervisionSubcontractor(Visit& v);
  WebResponse SupervisionWithdraw(Visit& v);
  WebResponse RegisterDownload(Visit& v, const std::string& format);
  WebResponse Disposals(Visit& v);
  WebResponse DisposalRecord(Visit& v, const std::string& delivery);
  WebResponse SlipDownload(Visit& v, const std::string& delivery);
  WebResponse Incidents(Visit& v);
  WebResponse IncidentOpen(Visit& v);
  WebResponse Incident(Visit& v, const std::string& id);
  // `step`: update, publication or reported.
  WebResponse IncidentStep(Visit& v, const std::string& id, const std::string& step);
  WebResponse IncidentDraft(Visit& v, const std::string& id, const std::string& report,
                            const std::string& format);
  // What the last command wrote for the member (its first download), sent
  // as an attachment named `filename`; the daemon keeps no copy.
  WebResponse Download(Visit& v, const std::string& content_type, const std::string& filename);
};

// The staff API's JSON for a command's path and arguments; a flag (no
// values) is sent as ["true"], as the CLI sends it.
Json CommandArgs(const std::vector<std::string>& path, const Args& args);

// The first of two keys a command's JSON spells a value with (request.list
// says "contractor", request.show "contractor_id"); "" when neither.
std::string Either(const Json& j, const char* key, const char* other);
// A request's overdue deadlines in Japanese ("decision overdue since D" ->
// "判断の期限超過(D から)").
std::string Overdue(const Json& list);

// The latest periodic check of `contractor` (by day, then the order
// recorded) in check.list's JSON; nullptr when never checked.
const Json* LatestCheck(const Json& checks, const std::string& contractor);
// An incident report's deadline as a cell (`report`: "preliminary" 速報 or
// "final" 確報, from incident.list's JSON): sent, overdue, or the days left.
// `pressing`: not sent, and overdue or due within 3 days (marked).
Json DeadlineCell(const Json& incident, const std::string& report, const std::string& today,
                  bool* pressing = nullptr);

// A form field's element id, unique on a page with several forms
// ("f-requests-3-decide-reason" for /requests/3/decide's "reason").
std::string FieldId(const std::string& action, const std::string& name);

// templates.cc
const std::string& Template(const std::string& name);
std::string Render(const std::string& tmpl, const Json& view);
// Static files: /static/NAME -> (content type, body); nullptr when unknown.
const std::pair<std::string, std::string>* StaticFile(const std::string& name);

// Japanese for what commands print in English (roles, states, keys).
// States: StateLabel (gateway/detail/command_util.h), shared with the PDFs.
std::string RoleLabel(const std::string& role);
// A paper delivery's sheets: 印刷済み(未引渡し), 裁断済み, else StateLabel.
std::string PaperStateLabel(const std::string& state);
// A UTC or +09:00 instant as staff read it: "2026-12-02 19:04 JST".
std::string Jst(const std::string& instant);

}  // namespace itaku::gateway::console
