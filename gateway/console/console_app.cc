// Sign-in, enrolment, sessions and routing. The pages are in
// console_pages.cc.
#include "gateway/console/console_app.h"

#include <sodium.h>

#include <filesystem>
#include <regex>
#include <thread>

#include "contracts/base/date.h"
#include "contracts/base/files.h"
#include "gateway/console/console_impl.h"
#include "gateway/records_json.h"
#include "policies/access_rules.h"

namespace itaku::gateway::console {
namespace {

namespace fs = std::filesystem;

constexpr char kSessionCookie[] = "__Host-itaku";
constexpr char kPreCookie[] = "__Host-itaku-pre";
constexpr int kMaxFailures = 5;

bool SameToken(const std::string& a, const std::string& b) {
  return !a.empty() && a.size() == b.size() && sodium_memcmp(a.data(), b.data(), a.size()) == 0;
}

std::string Cookie(const std::string& name, const std::string& value, int max_age_s) {
  return name + "=" + value + "; Path=/; Secure; HttpOnly; SameSite=Strict" +
         (max_age_s >= 0 ? "; Max-Age=" + std::to_string(max_age_s) : "");
}

// What a person typed as a name, fit for the record: printable, short.
std::string Printable(const std::string& typed) {
  std::string out;
  for (unsigned char c : typed.substr(0, 64)) out += (c < 0x20 || c == 0x7f) ? '?' : char(c);
  return out;
}

}  // namespace

Result<std::unique_ptr<ConsoleApp>> ConsoleApp::Create(const ConsoleOptions& options) {
  auto key = ConsoleKey::LoadOrCreate(options.keys_dir);
  if (!key.ok()) return key.status();
  auto decoy = NewSessionId();
  if (!decoy.ok()) return decoy.status();
  auto decoy_hash = HashPassword(decoy.value());
  if (!decoy_hash.ok()) return decoy_hash.status();
  auto impl = std::unique_ptr<Impl>(
      new Impl{options, std::move(key).value(), decoy_hash.value(), {}, {}, {}});
  std::error_code ec;
  fs::remove_all(options.staged_root, ec);  // uploads of a daemon that stopped
  fs::create_directories(options.staged_root, ec);
  fs::permissions(options.staged_root, fs::perms::owner_all, ec);
  return std::unique_ptr<ConsoleApp>(new ConsoleApp(std::move(impl)));
}

ConsoleApp::ConsoleApp(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
ConsoleApp::~ConsoleApp() {
  // A delivery started from a page finishes (and is recorded) first.
  while (impl_->running > 0) std::this_thread::sleep_for(std::chrono::milliseconds(50));
}

namespace {

// The signed-in member for a request's cookie, or why not.
struct SignedIn {
  std::optional<contracts::StaffMember> staff;
  std::string id;        // the cookie's session id
  bool expired = false;  // a session that was, and timed out
};

SignedIn Identify(ConsoleApp::Impl& app, StaffSession& session, const WebRequest& req) {
  SignedIn out;
  auto cookie = req.cookies.find(kSessionCookie);
  if (cookie == req.cookies.end() || cookie->second.empty()) return out;
  Context& ctx = session.context();
  const std::string hash = SessionIdHash(cookie->second);
  auto found = ctx.store->FindConsoleSession(hash);
  if (!found.ok() || !found.value()) return out;
  const contracts::ConsoleSession& s = *found.value();
  const auto now = ctx.clock->Now();
  auto last = ParseUtc(s.last_seen_at);
  auto created = ParseUtc(s.created_at);
  if (!last || !created || now - *last > std::chrono::minutes(app.options.idle_minutes) ||
      now - *created > std::chrono::hours(app.options.absolute_hours)) {
    (void)ctx.store->EndConsoleSession(hash);
    (void)ctx.audit->Append(s.staff, "console.session-expired", "staff:" + s.staff,
                            {{"idle_since", s.last_seen_at}, {"created_at", s.created_at}});
    out.expired = true;
    return out;
  }
  auto staff = ctx.store->FindStaff(s.staff);
  if (!staff.ok() || !staff.value()) {
    (void)ctx.store->EndConsoleSession(hash);
    return out;
  }
  // Seen again: written at most every 30 s, so a page of requests is one write.
  if (now - *last > std::chrono::seconds(30)) {
    (void)ctx.store->TouchConsoleSession(hash, ctx.clock->NowUtc());
  }
  out.staff = *staff.value();
  out.id = cookie->second;
  return out;
}

}  // namespace

std::variant<std::string, WebResponse> ConsoleApp::UploadFolder(const WebRequest& head) {
  Impl& app = *impl_;
  auto session = StaffSession::Open(app.options.staff);
  if (!session.ok()) return WebResponse::Plain(500, "store unavailable");
  SignedIn who = Identify(app, *session.value(), head);
  if (!who.staff) return WebResponse::Redirect("/signin");
  // Only these forms take files; a member whose role may not run their
  // command is refused before anything is read (and on record, as the
  // command would record it).
  std::string command;
  if (head.path == "/deliver") command = "deliver";
  if (std::regex_match(head.path, std::regex("/contractors/[^/]+/nda"))) command = "nda.add";
  if (head.path == "/supervision/contracts") command = "contract.add";
  if (head.path == "/supervision/checks") command = "check.record";
  if (head.path == "/supervision/subcontractors") command = "contract.subcontractor";
  if (std::regex_match(head.path, std::regex("/disposals/[0-9]+/record"))) {
    command = "disposal.record";
  }
  if (command.empty()) return WebResponse::Plain(400, "このページはファイルを受け付けません");
  const auto access = policies::CommandAccess(command);
  if (std::string why = policies::AccessRefusal(command, *access, who.staff->role); !why.empty()) {
    session.value()->ActAs(*who.staff);
    (void)session.value()->Audited(command, Status::Refused(why));
    return WebResponse::Plain(403, "この操作は、あなたの役割では行えません: " + why);
  }
  auto id = RandomHex32();
  if (!id.ok()) return WebResponse::Plain(500, "no random");
  const std::string folder = app.options.staged_root + "/" + id.value();
  std::error_code ec;
  fs::create_directory(folder, ec);
  if (ec) return WebResponse::Plain(500, "cannot stage");
  return folder;
}

WebResponse ConsoleApp::Handle(WebRequest& req) {
  Impl& app = *impl_;
  if (req.method == "GET" && req.path.rfind("/static/", 0) == 0) {
    const auto* file = StaticFile(req.path.substr(8));
    if (file == nullptr) return WebResponse::Plain(404, "not found");
    return WebResponse::Plain(200, file->second, file->first);
  }
  auto session = StaffSession::Open(app.options.staff);
  if (!session.ok()) {
    return WebResponse::Plain(503, "the store cannot be opened");
  }
  Visit v{req, std::move(session).value(), ""};
  SignedIn who = Identify(app, *v.session, req);
  if (who.staff) {
    v.session->ActAs(*who.staff);
    v.csrf = app.key.Mac("csrf:" + who.id);
    if (req.method == "POST" && !SameToken(req.Form("csrf"), v.csrf)) {
      (void)v.session->Audited("console." + Printable(req.path.substr(1, 40)),
                               Status::Refused("console: a form without a valid CSRF token"));
      return app.Page(v, "操作を受け付けませんでした", "message",
                      {{"message",
                        "フォームの有効期限が切れたか、別の画面から送信されました。"
                        "ページを開き直してからやり直してください。"}},
                      403);
    }
    if (req.path == "/signin" || req.path == "/enrol") return WebResponse::Redirect("/");
    if (req.method == "POST" && req.path == "/signout") {
      (void)v.session->context().store->EndConsoleSession(SessionIdHash(who.id));
      (void)v.session->context().audit->Append(who.staff->name, "console.signout",
                                               "staff:" + who.staff->name, Json::object());
      WebResponse r = WebResponse::Redirect("/signin?signed_out=1");
      r.headers.push_back({"Set-Cookie", Cookie(kSessionCookie, "", 0)});
      return r;
    }
    if (req.method == "POST" && req.path == "/signout-everywhere") {
      (void)v.session->context().store->EndConsoleSessions(who.staff->name);
      (void)v.session->context().audit->Append(who.staff->name, "console.signout-everywhere",
                                               "staff:" + who.staff->name, Json::object());
      WebResponse r = WebResponse::Redirect("/signin?signed_out=1");
      r.headers.push_back({"Set-Cookie", Cookie(kSessionCookie, "", 0)});
      return r;
    }
    return app.Route(v);
  }
  // Not signed in: the sign-in and enrolment pages only, each form bound to
  // a pre-session cookie.
  std::string pre;
  if (auto c = req.cookies.find(kPreCookie); c != req.cookies.end() && c->second.size() == 43) {
    pre = c->second;
  }
  std::vector<std::string> set_cookies;
  if (pre.empty()) {
    pre = NewSessionId().value_or("");
    set_cookies.push_back(Cookie(kPreCookie, pre, -1));
  }
  v.csrf = app.key.Mac("pre:" + pre);
  auto with_cookies = [&](WebResponse r) {
    for (const auto& c : set_cookies) r.headers.push_back({"Set-Cookie", c});
    return r;
  };
  const bool sign_in_form =
      req.path == "/signin" || req.path == "/enrol" || req.path == "/enrol/finish";
  if (req.method == "POST" && !sign_in_form) {
    return with_cookies(WebResponse::Redirect(who.expired ? "/signin?expired=1" : "/signin"));
  }
  if (req.method == "POST" && !SameToken(req.Form("csrf"), v.csrf)) {
    return with_cookies(
        app.Page(v, "サインイン", "signin",
                 {{"error", "フォームの有効期限が切れました。もう一度入力してください。"}}, 403));
  }
  Context& ctx = v.session->context();
  if (req.path == "/signin" && req.method == "GET") {
    Json view = Json::object();
    if (who.expired || req.Query("expired") == "1") {
      view["notice"] =
          "一定時間操作がなかったため、サインアウトしました。もう一度サインインしてください。";
    }
    if (req.Query("signed_out") == "1") view["notice"] = "サインアウトしました。";
    if (req.Query("enrolled") == "1")
      view["notice"] = "登録が完了しました。サインインしてください。";
    return with_cookies(app.Page(v, "サインイン", "signin", view));
  }
  if (req.path == "/signin" && req.method == "POST") {
    const std::string name = req.Form("name");
    const std::string label = Printable(name);
    auto fail = [&](const std::string& reason, const std::string& shown, int status) {
      (void)ctx.audit->Append("console (" + req.peer.substr(0, req.peer.rfind(':')) + ")",
                              "console.signin-failed", "staff:" + label, {{"reason", reason}});
      Json view = {{"error", shown}, {"name", name}};
      return with_cookies(app.Page(v, "サインイン", "signin", view, status));
    };
    const std::string generic = "職員名、パスワード、確認コードのいずれかが違います。";
    auto cred = ctx.store->FindCredential(name);
    auto staff = ctx.store->FindStaff(name);
    if (!cred.ok() || !staff.ok()) return app.Problem(v, Status::Io("store unavailable"));
    if (!staff.value() || !cred.value() || cred.value()->password_hash.empty()) {
      // The same work as a real check, so timing does not tell who exists.
      (void)VerifyPassword(app.decoy_hash, req.Form("password"));
      return fail("unknown or not enrolled", generic, 401);
    }
    contracts::StaffCredential c = *cred.value();
    const std::string now = ctx.clock->NowUtc();
    if (!c.locked_until.empty() && c.locked_until > now) {
      return fail(
          "locked until " + c.locked_until,
          "サインインの失敗が続いたため、" + Jst(c.locked_until) + " までサインインできません。",
          429);
    }
    bool ok = VerifyPassword(c.password_hash, req.Form("password"));
    std::optional<int64_t> step;
    if (ok) {
      auto secret = app.key.Open(c.totp_sealed);
      const int64_t unix_now =
          std::chrono::duration_cast<std::chrono::seconds>(ctx.clock->Now().time_since_epoch())
              .count();
      if (secret.ok())
        step = MatchTotp(secret.value(), req.Form("totp"), unix_now, c.last_totp_step);
      ok = step.has_value();
    }
    if (!ok) {
      c.failures += 1;
      const int lock = LockoutSeconds(c.failures);
      if (lock > 0) c.locked_until = FormatUtc(ctx.clock->Now() + std::chrono::seconds(lock));
      (void)ctx.store->PutCredential(c);
      if (lock > 0) {
        (void)ctx.audit->Append("console", "console.locked", "staff:" + c.staff,
                                {{"failures", c.failures}, {"until", c.locked_until}});
      }
      return fail("wrong password or TOTP code (" + std::to_string(c.failures) + " in a row)",
                  lock > 0 ? generic + "失敗が続いたため、" + Jst(c.locked_until) +
                                 " までサインインできません。"
                           : generic,
                  lock > 0 ? 429 : 401);
    }
    c.failures = 0;
    c.locked_until.clear();
    c.last_totp_step = *step;
    auto id = NewSessionId();
    if (!id.ok()) return app.Problem(v, id.status());
    contracts::ConsoleSession s{SessionIdHash(id.value()), c.staff, now, now};
    Status saved = ctx.store->Transaction([&]() -> Status {
      if (Status put = ctx.store->PutCredential(c); !put.ok()) return put;
      if (Status add = ctx.store->AddConsoleSession(s); !add.ok()) return add;
      return ctx.audit->Append(c.staff, "console.signin", "staff:" + c.staff,
                               {{"from", req.peer.substr(0, req.peer.rfind(':'))}});
    });
    if (!saved.ok()) return app.Problem(v, saved);
    // Old sessions of anyone are pruned now and then, here.
    (void)ctx.store->PruneConsoleSessions(
        FormatUtc(ctx.clock->Now() - std::chrono::minutes(app.options.idle_minutes)),
        FormatUtc(ctx.clock->Now() - std::chrono::hours(app.options.absolute_hours)));
    WebResponse r = WebResponse::Redirect("/");
    r.headers.push_back({"Set-Cookie", Cookie(kSessionCookie, id.value(), -1)});
    r.headers.push_back({"Set-Cookie", Cookie(kPreCookie, "", 0)});
    return r;
  }
  if (req.path == "/enrol" && req.method == "GET") {
    return with_cookies(app.Page(v, "初回登録", "enrol", Json::object()));
  }
  if (req.path == "/enrol" || req.path == "/enrol/finish") {
    if (req.method != "POST") return WebResponse::Redirect("/enrol");
    const std::string name = req.Form("name");
    const std::string code = NormaliseEnrolmentCode(req.Form("code"));
    auto cred = ctx.store->FindCredential(name);
    if (!cred.ok()) return app.Problem(v, cred.status());
    const std::string now = ctx.clock->NowUtc();
    if (!cred.value() || cred.value()->enrol_code_hash.empty() ||
        !SameToken(cred.value()->enrol_code_hash, EnrolmentCodeHash(code)) ||
        cred.value()->enrol_expires_at < now) {
      (void)ctx.audit->Append("console (" + req.peer.substr(0, req.peer.rfind(':')) + ")",
                              "console.enrol-failed", "staff:" + Printable(name),
                              {{"reason", "unknown, used or expired enrolment code"}});
      return with_cookies(app.Page(v, "初回登録", "enrol",
                                   {{"name", name},
                                    {"code_error",
                                     "登録コードが違うか、使用済みまたは期限切れです。"
                                     "個人情報保護管理者に新しいコードを依頼してください。"}},
                                   400));
    }
    contracts::StaffCredential c = *cred.value();
    if (req.path == "/enrol") {
      // Step 1 passed: a TOTP secret is offered (sealed, pending until confirmed).
      auto secret = NewTotpSecret();
      if (!secret.ok()) return app.Problem(v, secret.status());
      c.pending_totp_sealed = app.key.Seal(secret.value());
      if (Status put = ctx.store->PutCredential(c); !put.ok()) return app.Problem(v, put);
      return with_cookies(app.Page(
          v, "初回登録: パスワードと確認コード", "enrol2",
          {{"name", name},
           {"code", code},
           {"secret", Base32(secret.value())},
           {"qr", QrSvg(OtpauthUri(app.options.issuer, name, secret.value())).value_or("")}}));
    }
    // Step 2: password and the first code from the authenticator.
    auto secret = app.key.Open(c.pending_totp_sealed);
    Json view = {{"name", name}, {"code", code}};
    if (secret.ok()) {
      view["secret"] = Base32(secret.value());
      view["qr"] = QrSvg(OtpauthUri(app.options.issuer, name, secret.value())).value_or("");
    }
    const std::string password = req.Form("password");
    std::string problem = PasswordProblem(password, name);
    if (problem.empty() && password != req.Form("password_again")) {
      problem = "確認のために入力したパスワードが一致しません。";
    }
    if (!problem.empty()) {
      view["password_error"] = problem;
      return with_cookies(app.Page(v, "初回登録: パスワードと確認コード", "enrol2", view, 400));
    }
    const int64_t unix_now =
        std::chrono::duration_cast<std::chrono::seconds>(ctx.clock->Now().time_since_epoch())
            .count();
    std::optional<int64_t> step;
    if (secret.ok()) step = MatchTotp(secret.value(), req.Form("totp"), unix_now, 0);
    if (!step) {
      view["totp_error"] =
          "確認コードが違います。認証アプリに表示されている6桁の数字を入力してください。";
      return with_cookies(app.Page(v, "初回登録: パスワードと確認コード", "enrol2", view, 400));
    }
    auto hash = HashPassword(password);
    if (!hash.ok()) return app.Problem(v, hash.status());
    c.password_hash = hash.value();
    c.totp_sealed = c.pending_totp_sealed;
    c.pending_totp_sealed.clear();
    c.enrol_code_hash.clear();
    c.enrol_expires_at.clear();
    c.enrolled_at = now;
    c.last_totp_step = *step;
    c.failures = 0;
    c.locked_until.clear();
    Status saved = ctx.store->Transaction([&]() -> Status {
      if (Status put = ctx.store->PutCredential(c); !put.ok()) return put;
      if (Status end = ctx.store->EndConsoleSessions(c.staff); !end.ok()) return end;
      return ctx.audit->Append(c.staff, "staff.enrolled", "staff:" + c.staff,
                               {{"code_issued_by", c.enrol_issued_by}});
    });
    if (!saved.ok()) return app.Problem(v, saved);
    return with_cookies(WebResponse::Redirect("/signin?enrolled=1"));
  }
  return with_cookies(WebResponse::Redirect(who.expired ? "/signin?expired=1" : "/signin"));
}

}  // namespace itaku::gateway::console
