#include "gateway/requests.h"

#include <toml++/toml.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <streambuf>
#include <thread>

#include "contracts/base/files.h"
#include "gateway/notices.h"
#include "policies/catalog.h"
#include "policies/csv.h"
#include "policies/request_rules.h"
#include "contracts/base/layout.h"

namespace itaku::gateway {
namespace fs = std::filesystem;
namespace {

using Json = nlohmann::json;
using contracts::CorrectiveRequest;
using contracts::SpecialRequest;
using policies::RequestStep;

constexpr const char* kRoles[] = {"operator", "privacy-officer", "auditor"};
constexpr const char* kChannels[] = {"phone", "letter", "web", "counter"};
constexpr const char* kDecideKey = "requests.decide_within_days";
constexpr const char* kNotifyKey = "requests.notify_within_days";
constexpr const char* kDefaultOperatorName = "当社";  // set [requests] operator_name

std::string Join(const std::vector<std::string>& parts, const char* sep = ", ") {
  std::string out;
  for (const auto& p : parts) {
    if (!out.empty()) out += sep;
    out += p;
  }
  return out;
}

template <size_t N>
bool OneOf(const std::string& value, const char* const (&options)[N]) {
  return std::any_of(std::begin(options), std::end(options),
                     [&](const char* o) { return value == o; });
}

Result<std::string> ActorRole(Context& ctx) {
  auto staff = ctx.store->FindStaff(ctx.actor);
  if (!staff.ok()) return staff.status();
  return staff.value() ? staff.value()->role : std::string();
}

// ---- Staff -------------------------------------------------------------------

Json StaffJson(const contracts::StaffMember& m) {
  return {{"name", m.name}, {"role", m.role}, {"added_by", m.added_by}, {"added_at", m.added_at}};
}

// ---- Special requests ----------------------------------------------------------

Json SpecialJson(const SpecialRequest& s) {
  return {{"id", s.id},
          {"subscriber", s.subscriber_id},
          {"contractor", s.contractor_id.empty() ? Json() : Json(s.contractor_id)},
          {"purpose", s.purpose.empty() ? Json() : Json(s.purpose)},
          {"kind", s.kind},
          {"fields", s.fields},
          {"consent_sha256", s.consent_sha256.empty() ? Json() : Json(s.consent_sha256)},
          {"from", FormatDate(s.valid_from)},
          {"until", s.valid_until ? Json(FormatDate(*s.valid_until)) : Json()},
          {"created_by", s.created_by},
          {"created_at", s.created_at},
          {"ended_by", s.ended_by.empty() ? Json() : Json(s.ended_by)},
          {"ended_at", s.ended_at.empty() ? Json() : Json(s.ended_at)},
          {"end_reason", s.end_reason}};
}

std::string SpecialLine(const SpecialRequest& s) {
  std::string what = s.kind == "exclude" ? "exclude" : s.kind + " " + Join(s.fields);
  return "#" + std::to_string(s.id) + "\t" + s.subscriber_id + "\t" +
         (s.contractor_id.empty() ? "purpose " + s.purpose : "contractor " + s.contractor_id) +
         "\t" + what + "\t" + FormatDate(s.valid_from) + " to " +
         (s.valid_until ? FormatDate(*s.valid_until) : std::string("open")) +
         (s.ended_at.empty() ? "" : "\tended " + s.ended_at + " by " + s.ended_by);
}

// ---- Corrective-action requests ------------------------------------------------

Json OptionalBool(const std::optional<bool>& b) { return b ? Json(*b) : Json(); }

Json RequestJson(const CorrectiveRequest& r) {
  return {{"id", r.id},
          {"subscriber", r.subscriber_id},
          {"contractor", r.contractor_id},
          {"channel", r.channel},
          {"state", r.state},
          {"request_text", r.request_text},
          {"received_at", r.received_at},
          {"received_by", r.received_by},
          {"justified", OptionalBool(r.justified)},
          {"decision_reason", r.decision_reason},
          {"decided_by", r.decided_by},
          {"decided_at", r.decided_at},
          {"instruction_text", r.instruction_text},
          {"instruction_via", r.instruction_via},
          {"instructed_to", r.instructed_to},
          {"instructed_by", r.instructed_by},
          {"instructed_at", r.instructed_at},
          {"answer_text", r.answer_text},
          {"answered_by", r.answered_by},
          {"answered_at", r.answered_at},
          {"carried_out", OptionalBool(r.carried_out)},
          {"close_reason", r.close_reason},
          {"closed_by", r.closed_by},
          {"closed_at", r.closed_at},
          {"notified", r.state == "notified"},
          {"notice_via", r.notice_via},
          {"notice_to", r.notice_to},
          {"notice_subject", r.notice_subject},
          {"notice_text", r.notice_text},
          {"notified_by", r.notified_by},
          {"notified_at", r.notified_at},
          {"notice_error", r.notice_error},
          {"notice_error_at", r.notice_error_at}};
}

// What the audit trail keeps of a step: who, what state, the yes/no
// answers and the hashes of the texts (the texts stay in the store: a
// subscriber's own words may hold personal data).
Json StepDetails(const CorrectiveRequest& r, const std::string& text) {
  Json j = {{"subscriber", r.subscriber_id},
            {"contractor", r.contractor_id},
            {"state", r.state},
            {"justified", OptionalBool(r.justified)},
            {"carried_out", OptionalBool(r.carried_out)}};
  if (!text.empty()) j["text_sha256"] = Sha256Hex(text);
  return j;
}

// "YYYY-MM-DD" or "YYYY-MM-DDTHH:MM:SSZ" (UTC) with sane fields.
bool ValidReceivedAt(const std::string& t) { return JapanDayOf(t).has_value(); }

// The operator's calendar day of a stored UTC timestamp (Japan, UTC+9).
Date JstDateOf(const std::string& utc) { return JapanDayOf(utc).value_or(Date{}); }

Result<policies::RequestDeadlines> LoadDeadlines(Context& ctx) {
  policies::RequestDeadlines d;
  for (auto [key, out] : {std::pair{kDecideKey, &d.decide_within_days},
                          std::pair{kNotifyKey, &d.notify_within_days}}) {
    auto v = ctx.store->GetMeta(key);
    if (!v.ok()) return v.status();
    if (v.value()) *out = std::atoi(v.value()->c_str());
  }
  return d;
}

Result<CorrectiveRequest> RequireRequest(Context& ctx, int64_t id) {
  auto r = ctx.store->FindCorrectiveRequest(id);
  if (!r.ok()) return r.status();
  if (!r.value()) return Result<CorrectiveRequest>::Error("unknown request " + std::to_string(id));
  return *r.value();
}

// Checks the step against the rules; refusals are joined into one line.
Status CheckStep(const CorrectiveRequest& r, RequestStep step, const policies::StepInput& in) {
  std::vector<std::string> why = policies::RefuseStep(r, step, in);
  if (why.empty()) return Status::Ok();
  return Status::Error("request " + std::to_string(r.id) + ": cannot " +
                       std::string(policies::ToString(step)) + ": " + Join(why, "; "));
}

// Loads the request, fills in the acting staff member's role and checks
// that `step` may be taken now.
Result<CorrectiveRequest> BeginStep(Context& ctx, int64_t id, RequestStep step,
                                    policies::StepInput& in) {
  auto r = RequireRequest(ctx, id);
  if (!r.ok()) return r.status();
  auto role = ActorRole(ctx);
  if (!role.ok()) return role.status();
  in.actor_role = role.value();
  if (Status c = CheckStep(r.value(), step, in); !c.ok()) return c;
  return r;
}

// Stores the request in its new state and audits the step, together.
Status SaveStep(Context& ctx, const CorrectiveRequest& r, RequestStep step,
                const std::string& text) {
  return ctx.store->Transaction([&]() -> Status {
    if (Status s = ctx.store->UpdateCorrectiveRequest(r); !s.ok()) return s;
    return ctx.audit->Append(ctx.actor, "request." + std::string(policies::ToString(step)),
                             "request:" + std::to_string(r.id), StepDetails(r, text));
  });
}

Output RequestOutput(const CorrectiveRequest& r, const std::string& text) {
  Json j = RequestJson(r);
  return Output{j, text};
}

// ---- Mail ------------------------------------------------------------------------

struct MailSetup {
  std::optional<SmtpSettings> smtp;  // absent: no SMTP configured
  std::string templates_dir;
  std::string operator_name = kDefaultOperatorName;
  std::string letters_dir;
};

Result<MailSetup> ResolveMail(Context& ctx, const MailConfig& config) {
  using R = Result<MailSetup>;
  MailSetup m;
  const StoreLayout layout(ctx.db_path);
  m.templates_dir = layout.Templates();
  m.letters_dir = config.letters_dir.empty() ? layout.Letters() : config.letters_dir;
  std::string url = config.smtp_url;
  if (url.empty()) {
    if (const char* env = std::getenv("ITAKU_SMTP"); env && *env) url = env;
  }
  std::string from, from_name, ca_file, password_env = "ITAKU_SMTP_PASSWORD";
  bool require_tls = false;
  if (!config.config_file.empty()) {
    toml::table table;
    try {
      table = toml::parse_file(config.config_file);
    } catch (const toml::parse_error& e) {
      return R::Error(config.config_file + ":" + std::to_string(e.source().begin.line) + ": " +
                      std::string(e.description()));
    }
    if (const toml::table* smtp = table["smtp"].as_table()) {
      if (url.empty()) url = (*smtp)["url"].value_or(std::string());
      from = (*smtp)["from"].value_or(std::string());
      from_name = (*smtp)["from_name"].value_or(std::string());
      ca_file = (*smtp)["ca_file"].value_or(std::string());
      password_env = (*smtp)["password_env"].value_or(password_env);
      require_tls = (*smtp)["require_tls"].value_or(false);
    }
    if (const toml::table* req = table["requests"].as_table()) {
      m.operator_name = (*req)["operator_name"].value_or(m.operator_name);
      m.templates_dir = (*req)["templates"].value_or(m.templates_dir);
    }
  }
  if (from.empty()) {
    if (const char* env = std::getenv("ITAKU_SMTP_FROM"); env && *env) from = env;
  }
  if (url.empty()) return m;
  auto settings = transports::ParseSmtpUrl(url);
  if (!settings.ok()) return settings.status();
  SmtpSettings s = std::move(settings).value();
  s.from = from.empty() ? "privacy@localhost" : from;
  s.from_name = from_name.empty() ? m.operator_name : from_name;
  s.ca_file = ca_file;
  s.require_tls = s.require_tls || require_tls;
  if (!s.user.empty()) {
    const char* pw = std::getenv(password_env.c_str());
    if (pw == nullptr || *pw == '\0') {
      return R::Error("SMTP user " + s.user + " is configured but " + password_env +
                      " holds no password");
    }
    s.password = pw;
  }
  m.smtp = s;
  return m;
}

// Sends with retries; the last error when every attempt failed.
Result<std::string> SendWithRetries(const SmtpSettings& smtp, const MailMessage& message,
                                    const MailConfig& config) {
  Result<std::string> sent = Result<std::string>::Error("not sent");
  for (int attempt = 1; attempt <= std::max(1, config.send_attempts); ++attempt) {
    sent = transports::SendMail(smtp, message);
    if (sent.ok()) return sent;
    if (attempt < config.send_attempts) {
      std::this_thread::sleep_for(std::chrono::duration<double>(
          config.retry_wait_s * static_cast<double>(1 << std::min(attempt - 1, 10))));
    }
  }
  return sent;
}

// ---- The subscriber's contact details, from an export ---------------------------

// Keeps, of the CSV written through it, only the records whose first field
// is `subscriber_id`; everything else is dropped as it streams by.
class RecordPicker : public std::streambuf {
 public:
  explicit RecordPicker(std::string subscriber_id) : key_(std::move(subscriber_id)) {}
  const std::string& picked() const { return picked_; }

 protected:
  int_type overflow(int_type ch) override {
    if (ch == traits_type::eof()) return traits_type::not_eof(ch);
    const char c = traits_type::to_char_type(ch);
    if (c == '"') quoted_ = !quoted_;
    current_.push_back(c);
    if (c == '\n' && !quoted_) {
      std::string_view line(current_);
      if (line.rfind("\xEF\xBB\xBF", 0) == 0) line.remove_prefix(3);
      if (line.size() > key_.size() && line.compare(0, key_.size(), key_) == 0 &&
          line[key_.size()] == ',') {
        picked_.assign(line);
      }
      current_.clear();
    }
    return ch;
  }

 private:
  const std::string key_;
  std::string current_;
  std::string picked_;
  bool quoted_ = false;
};

struct Contact {
  std::string name, postal_code, address, email;
};

// Reads the subscriber's row from an export through the projector (any
// encoding and header style the projector takes), keeping nothing else.
Result<std::optional<Contact>> FindContact(const std::string& export_path,
                                           const std::string& subscriber_id) {
  std::ifstream in(export_path, std::ios::binary);
  if (!in) return Result<std::optional<Contact>>::Error("cannot read " + export_path);
  // Only the columns the export has: the projector refuses a missing one.
  static const std::vector<std::string> kWanted = {"name", "postal_code", "address", "email"};
  std::vector<std::string> fields = {"subscriber_id"};
  auto columns = policies::ExportColumns(export_path);
  if (!columns.ok()) return columns.status();
  for (const auto& f : kWanted) {
    if (std::find(columns->begin(), columns->end(), f) != columns->end()) fields.push_back(f);
  }
  policies::ProjectionSpec spec;
  spec.fields = fields;
  RecordPicker picker(subscriber_id);
  std::ostream out(&picker);
  auto summary =
      policies::Project(spec, in, export_path, &out, [](std::string_view) { return Status::Ok(); });
  if (!summary.ok()) return summary.status();
  if (picker.picked().empty()) return std::optional<Contact>();
  std::istringstream row(picker.picked());
  policies::CsvReader reader(row, export_path);
  auto got = reader.Next();
  if (!got.ok()) return got.status();
  Contact c;
  const auto& values = reader.fields();
  for (size_t i = 1; i < fields.size() && i < values.size(); ++i) {
    const std::string v(values[i]);
    if (fields[i] == "name") c.name = v;
    if (fields[i] == "postal_code") c.postal_code = v;
    if (fields[i] == "address") c.address = v;
    if (fields[i] == "email") c.email = v;
  }
  return std::optional<Contact>(c);
}

std::string Today(Context& ctx) { return FormatDate(ctx.clock->Today()); }

}  // namespace

// ---- Staff ---------------------------------------------------------------------

Result<Output> StaffAdd(Context& ctx, const std::string& name, const std::string& role) {
  if (name.empty()) return Result<Output>::Error("staff name must not be empty");
  if (!OneOf(role, kRoles)) {
    return Result<Output>::Error("unknown role " + role +
                                 " (operator, privacy-officer or auditor)");
  }
  contracts::StaffMember m{name, role, ctx.actor, ctx.clock->NowUtc()};
  Status s = ctx.store->Transaction([&]() -> Status {
    if (Status a = ctx.store->AddStaff(m); !a.ok()) return a;
    return ctx.audit->Append(ctx.actor, "staff.add", "staff:" + name, StaffJson(m));
  });
  if (!s.ok()) return s;
  return Output{StaffJson(m), "added " + name + " as " + role};
}

Result<Output> StaffList(Context& ctx) {
  auto list = ctx.store->ListStaff();
  if (!list.ok()) return list.status();
  Output out{Json::array(), ""};
  for (const auto& m : list.value()) {
    out.json.push_back(StaffJson(m));
    out.text += m.name + "\t" + m.role + "\tadded " + m.added_at + " by " + m.added_by + "\n";
  }
  if (out.text.empty()) out.text = "no staff registered\n";
  out.text.pop_back();
  return out;
}

Result<Output> StaffRemove(Context& ctx, const std::string& name) {
  Status s = ctx.store->Transaction([&]() -> Status {
    if (Status r = ctx.store->RemoveStaff(name); !r.ok()) return r;
    return ctx.audit->Append(ctx.actor, "staff.remove", "staff:" + name, Json::object());
  });
  if (!s.ok()) return s;
  return Output{{{"name", name}, {"removed", true}}, "removed " + name};
}

// ---- Special requests ------------------------------------------------------------

Result<Output> SpecialAdd(Context& ctx, const SpecialArgs& a) {
  using R = Result<Output>;
  const std::string who = "special request for subscriber " + a.subscriber + ": ";
  if (a.subscriber.empty()) return R::Error("special request: --subscriber is required");
  if (a.contractor.empty() == a.purpose.empty()) {
    return R::Error(who + "give exactly one of --contractor and --purpose");
  }
  const int kinds = (a.exclude ? 1 : 0) + (a.withhold.empty() ? 0 : 1) + (a.extend.empty() ? 0 : 1);
  if (kinds != 1) return R::Error(who + "give exactly one of --exclude, --withhold and --extend");
  if (!a.contractor.empty()) {
    auto c = ctx.store->FindContractor(a.contractor);
    if (!c.ok()) return c.status();
    if (!c.value()) return R::Error(who + "unknown contractor " + a.contractor);
  }
  if (!a.purpose.empty() && policies::FindPurpose(a.purpose) == nullptr) {
    return R::Error(who + "unknown purpose " + a.purpose + " (policy 2(3))");
  }
  SpecialRequest s;
  s.subscriber_id = a.subscriber;
  s.contractor_id = a.contractor;
  s.purpose = a.purpose;
  s.kind = a.exclude ? "exclude" : !a.withhold.empty() ? "withhold" : "extend";
  s.fields = a.exclude ? std::vector<std::string>{} : !a.withhold.empty() ? a.withhold : a.extend;
  for (const auto& f : s.fields) {
    const policies::FieldInfo* info = policies::FindField(f);
    if (info == nullptr || info->id != f) {
      return R::Error(who + "unknown field " + f + " (not in the field catalog, policy 1)");
    }
    if (f == "subscriber_id") {
      return R::Error(who + "subscriber_id identifies the record; use --exclude instead");
    }
  }
  if (s.kind == "extend") {
    auto role = ActorRole(ctx);
    if (!role.ok()) return role.status();
    if (role.value() != "privacy-officer") {
      return R::Error(who + "only a privacy officer records an extension (" + ctx.actor + " is " +
                      (role->empty() ? std::string("not registered staff") : *role) + ")");
    }
    if (a.purpose == "statistics") {
      return R::Error(who + "statistics are sent pseudonymised; nothing can be added to them");
    }
    if (a.consent_file.empty()) {
      return R::Error(who +
                      "an extension needs the subscriber's consent on file: --consent FILE "
                      "(policy 6(1))");
    }
    if (!fs::is_regular_file(a.consent_file)) {
      return R::Error(who + "consent " + a.consent_file + " is not a readable file");
    }
    auto sha = Sha256File(a.consent_file);
    if (!sha.ok()) return sha.status();
    s.consent_sha256 = sha.value();
    s.consent_path = (fs::path(ctx.store->DocumentDir()) /
                      (sha.value() + fs::path(a.consent_file).extension().string()))
                         .string();
    if (Status cp = CopyFileAtomically(a.consent_file, s.consent_path); !cp.ok()) return cp;
  } else if (!a.consent_file.empty()) {
    return R::Error(who + "--consent goes with --extend only");
  }
  s.valid_from = ctx.clock->Today();
  if (!a.from.empty()) {
    auto d = ParseDate(a.from);
    if (!d) return R::Error(who + "--from must be a date like 2026-04-01, got " + a.from);
    s.valid_from = *d;
  }
  if (!a.until.empty()) {
    s.valid_until = ParseDate(a.until);
    if (!s.valid_until) return R::Error(who + "--until must be a date like 2027-03-31");
    if (*s.valid_until < s.valid_from) return R::Error(who + "--until is before --from");
  }
  s.created_by = ctx.actor;
  s.created_at = ctx.clock->NowUtc();
  Status st = ctx.store->Transaction([&]() -> Status {
    auto id = ctx.store->AddSpecialRequest(s);
    if (!id.ok()) return id.status();
    s.id = id.value();
    Json details = SpecialJson(s);
    return ctx.audit->Append(ctx.actor, "special.add", "special:" + std::to_string(s.id), details);
  });
  if (!st.ok()) return st;
  return Output{SpecialJson(s), "special request " + SpecialLine(s)};
}

Result<Output> SpecialList(Context& ctx, const std::optional<std::string>& subscriber, bool all) {
  auto list = ctx.store->ListSpecialRequests(subscriber, all);
  if (!list.ok()) return list.status();
  Output out{Json::array(), ""};
  for (const auto& s : list.value()) {
    out.json.push_back(SpecialJson(s));
    out.text += SpecialLine(s) + "\n";
  }
  if (out.text.empty()) out.text = "no special requests\n";
  out.text.pop_back();
  return out;
}

Result<Output> SpecialEnd(Context& ctx, int64_t id, const std::string& reason) {
  auto role = ActorRole(ctx);
  if (!role.ok()) return role.status();
  if (role.value() != "privacy-officer") {
    return Result<Output>::Error(
        "only a privacy officer ends a special request (" + ctx.actor + " is " +
        (role->empty() ? std::string("not registered staff") : *role) + ")");
  }
  auto found = ctx.store->FindSpecialRequest(id);
  if (!found.ok()) return found.status();
  if (!found.value()) return Result<Output>::Error("unknown special request " + std::to_string(id));
  SpecialRequest s = *found.value();
  if (!s.ended_at.empty()) {
    return Result<Output>::Error("special request " + std::to_string(id) + " already ended on " +
                                 s.ended_at);
  }
  s.ended_by = ctx.actor;
  s.ended_at = ctx.clock->NowUtc();
  s.end_reason = reason;
  Status st = ctx.store->Transaction([&]() -> Status {
    if (Status u = ctx.store->UpdateSpecialRequest(s); !u.ok()) return u;
    return ctx.audit->Append(ctx.actor, "special.end", "special:" + std::to_string(id),
                             {{"subscriber", s.subscriber_id}, {"reason", reason}});
  });
  if (!st.ok()) return st;
  return Output{SpecialJson(s), "ended special request " + SpecialLine(s)};
}

Result<SpecialShaping> ShapeBySpecialRequests(Context& ctx, const std::string& contractor,
                                              const std::string& purpose,
                                              const std::vector<std::string>& profile_fields) {
  auto list = ctx.store->ListSpecialRequests(std::nullopt, false);
  if (!list.ok()) return list.status();
  const Date today = ctx.clock->Today();
  auto sends = [&](const std::string& f) {
    return std::find(profile_fields.begin(), profile_fields.end(), f) != profile_fields.end();
  };
  SpecialShaping shaping;
  std::set<std::string> extra;
  for (const SpecialRequest& s : list.value()) {
    if (!policies::SpecialRequestApplies(s, contractor, purpose, today)) continue;
    policies::SubscriberOverride& o = shaping.overrides[s.subscriber_id];
    bool changes = false;
    if (s.kind == "exclude") {
      o.excluded = true;
      changes = true;
    }
    for (const auto& f : s.fields) {
      if (s.kind == "withhold") {
        // Always handed on: it also cancels another request's extension of
        // the same field (withholding wins in the projector).
        o.withheld.insert(f);
        changes = true;
      }
      // Statistics go out pseudonymised: no extension puts raw values next
      // to them.
      if (s.kind == "extend" && !sends(f) && purpose != "statistics") {
        o.extended.insert(f);
        extra.insert(f);
        changes = true;
      }
    }
    if (changes) o.sources.push_back(s.id);
  }
  // Drop subscribers nothing applies to, so the projector's map stays small.
  for (auto it = shaping.overrides.begin(); it != shaping.overrides.end();) {
    it = it->second.sources.empty() ? shaping.overrides.erase(it) : std::next(it);
  }
  // Catalog order for the extra columns, so the header is stable.
  for (const auto& info : policies::Catalog()) {
    if (extra.count(std::string(info.id))) shaping.extra_fields.emplace_back(info.id);
  }
  return shaping;
}

// ---- Corrective-action requests ------------------------------------------------

Result<Output> RequestAdd(Context& ctx, const RequestAddArgs& a) {
  using R = Result<Output>;
  if (a.subscriber.empty()) return R::Error("request: --subscriber is required");
  if (!OneOf(a.channel, kChannels)) {
    return R::Error("request: --channel must be phone, letter, web or counter");
  }
  if (a.text.empty()) return R::Error("request: --text (what was asked) is required");
  auto c = ctx.store->FindContractor(a.contractor);
  if (!c.ok()) return c.status();
  if (!c.value()) return R::Error("request: unknown contractor " + a.contractor);
  CorrectiveRequest r;
  r.subscriber_id = a.subscriber;
  r.contractor_id = a.contractor;
  r.channel = a.channel;
  r.request_text = a.text;
  r.contact_email = a.email;
  r.received_by = ctx.actor;
  r.received_at = ctx.clock->NowUtc();
  if (!a.received_at.empty()) {
    if (!ValidReceivedAt(a.received_at)) {
      return R::Error(
          "request: --received-at must be a date or a UTC time like 2026-12-01T01:00:00Z");
    }
    r.received_at = a.received_at.size() == 10 ? a.received_at + "T00:00:00Z" : a.received_at;
  }
  Status s = ctx.store->Transaction([&]() -> Status {
    auto id = ctx.store->AddCorrectiveRequest(r);
    if (!id.ok()) return id.status();
    r.id = id.value();
    Json details = StepDetails(r, r.request_text);
    details["channel"] = r.channel;
    details["received_at"] = r.received_at;
    return ctx.audit->Append(ctx.actor, "request.add", "request:" + std::to_string(r.id), details);
  });
  if (!s.ok()) return s;
  auto deadlines = LoadDeadlines(ctx);
  if (!deadlines.ok()) return deadlines.status();
  const Date on = JstDateOf(r.received_at);
  Output out = RequestOutput(
      r, "request " + std::to_string(r.id) + " received from subscriber " + r.subscriber_id +
             " about " + r.contractor_id + " (" + r.channel + ")\ndecide by " +
             FormatDate(AddDays(on, deadlines->decide_within_days)) + ", tell the requester by " +
             FormatDate(AddDays(on, deadlines->notify_within_days)));
  return out;
}

Result<Output> RequestDecide(Context& ctx, int64_t id, std::optional<bool> justified,
                             const std::string& reason) {
  policies::StepInput in;
  in.justified = justified;
  in.reason = reason;
  auto r = BeginStep(ctx, id, RequestStep::kDecide, in);
  if (!r.ok()) return r.status();
  CorrectiveRequest next = r.value();
  next.justified = justified;
  next.decision_reason = reason;
  next.decided_by = ctx.actor;
  next.decided_at = ctx.clock->NowUtc();
  next.state = policies::StateAfter(next, RequestStep::kDecide, in);
  if (Status s = SaveStep(ctx, next, RequestStep::kDecide, reason); !s.ok()) return s;
  return RequestOutput(
      next, "request " + std::to_string(id) + " decided: " +
                (*justified ? "justified" : "not justified") + " (" + ctx.actor + ")" +
                (*justified ? "; next: itaku request instruct " + std::to_string(id) + " --text ..."
                            : "; next: itaku request notify " + std::to_string(id)));
}

Result<Output> RequestInstruct(Context& ctx, int64_t id, const std::string& text,
                               const MailConfig& config) {
  policies::StepInput in;
  in.text = text;
  auto r = BeginStep(ctx, id, RequestStep::kInstruct, in);
  if (!r.ok()) return r.status();
  auto contractor = ctx.store->FindContractor(r->contractor_id);
  if (!contractor.ok()) return contractor.status();
  if (!contractor.value()) return Result<Output>::Error("unknown contractor " + r->contractor_id);
  auto mail = ResolveMail(ctx, config);
  if (!mail.ok()) return mail.status();
  auto tmpl = LoadTemplate("instruction", mail->templates_dir);
  if (!tmpl.ok()) return tmpl.status();
  auto notice = RenderTemplate("instruction", tmpl.value(),
                               {{"contractor_name", contractor.value()->name},
                                {"request_id", std::to_string(id)},
                                {"instruction_text", text},
                                {"received_on", FormatDate(JstDateOf(r->received_at))},
                                {"operator_name", mail->operator_name}});
  if (!notice.ok()) return notice.status();

  CorrectiveRequest next = r.value();
  const std::string email = contractor.value()->email;
  if (!email.empty()) {
    if (!mail->smtp) {
      return Result<Output>::Error(
          "request " + std::to_string(id) + ": contractor " + r->contractor_id +
          " is instructed by e-mail, but no SMTP server is configured (--smtp URL, ITAKU_SMTP or "
          "[smtp] in --config)");
    }
    auto sent = SendWithRetries(
        *mail->smtp, {email, contractor.value()->name, notice->subject, notice->body}, config);
    if (!sent.ok()) {
      Status audited =
          ctx.audit->Append(ctx.actor, "request.instruct.failed", "request:" + std::to_string(id),
                            {{"error", sent.message()}});
      return Result<Output>::Error(
          WithAuditFailure("request " + std::to_string(id) +
                               ": the instruction was not sent (still decided, not "
                               "instructed): " +
                               sent.message(),
                           audited));
    }
    next.instruction_via = "email";
    next.instructed_to = email;
  } else {
    const std::string path =
        (fs::path(mail->letters_dir) / ("request-" + std::to_string(id) + "-instruction.txt"))
            .string();
    std::error_code ec;
    fs::create_directories(mail->letters_dir, ec);
    if (Status w = WriteLetter(path, "", "", contractor.value()->name, Today(ctx), notice.value());
        !w.ok())
      return w;
    next.instruction_via = "letter";
    next.instructed_to = path;
  }
  next.instruction_text = text;
  next.instructed_by = ctx.actor;
  next.instructed_at = ctx.clock->NowUtc();
  next.state = policies::StateAfter(next, RequestStep::kInstruct, in);
  if (Status s = SaveStep(ctx, next, RequestStep::kInstruct, text); !s.ok()) return s;
  return RequestOutput(next, "request " + std::to_string(id) + ": instruction sent to " +
                                 r->contractor_id + " by " + next.instruction_via + " (" +
                                 next.instructed_to + ")");
}

Result<Output> RequestAnswer(Context& ctx, int64_t id, const std::string& text) {
  policies::StepInput in;
  in.text = text;
  auto r = BeginStep(ctx, id, RequestStep::kAnswer, in);
  if (!r.ok()) return r.status();
  CorrectiveRequest next = r.value();
  next.answer_text = text;
  next.answered_by = ctx.actor;
  next.answered_at = ctx.clock->NowUtc();
  next.state = policies::StateAfter(next, RequestStep::kAnswer, in);
  if (Status s = SaveStep(ctx, next, RequestStep::kAnswer, text); !s.ok()) return s;
  return RequestOutput(next, "request " + std::to_string(id) + ": contractor's answer recorded");
}

Result<Output> RequestClose(Context& ctx, int64_t id, std::optional<bool> carried_out,
                            const std::string& reason) {
  policies::StepInput in;
  in.carried_out = carried_out;
  in.reason = reason;
  auto r = BeginStep(ctx, id, RequestStep::kClose, in);
  if (!r.ok()) return r.status();
  CorrectiveRequest next = r.value();
  next.carried_out = carried_out;
  next.close_reason = reason;
  next.closed_by = ctx.actor;
  next.closed_at = ctx.clock->NowUtc();
  next.state = policies::StateAfter(next, RequestStep::kClose, in);
  if (Status s = SaveStep(ctx, next, RequestStep::kClose, reason); !s.ok()) return s;
  return RequestOutput(next, "request " + std::to_string(id) +
                                 " closed: " + (*carried_out ? "carried out" : "not carried out") +
                                 "; next: itaku request notify " + std::to_string(id));
}

Result<Output> RequestNotify(Context& ctx, int64_t id, const NotifyArgs& args,
                             const MailConfig& config) {
  policies::StepInput notify_in;
  auto r = BeginStep(ctx, id, RequestStep::kNotify, notify_in);
  if (!r.ok()) return r.status();
  auto contractor = ctx.store->FindContractor(r->contractor_id);
  if (!contractor.ok()) return contractor.status();
  const std::string contractor_name =
      contractor.value() ? contractor.value()->name : r->contractor_id;

  Contact contact;
  contact.email = r->contact_email;
  if (!args.subscriber_data.empty()) {
    auto found = FindContact(args.subscriber_data, r->subscriber_id);
    if (!found.ok()) return found.status();
    if (!found.value()) {
      return Result<Output>::Error("request " + std::to_string(id) + ": subscriber " +
                                   r->subscriber_id + " is not in " + args.subscriber_data);
    }
    contact = *found.value();
    // The address the requester gave with the request comes first.
    if (!r->contact_email.empty()) contact.email = r->contact_email;
  }
  if (!args.email.empty()) contact.email = args.email;

  auto mail = ResolveMail(ctx, config);
  if (!mail.ok()) return mail.status();
  auto tmpl = LoadTemplate("outcome", mail->templates_dir);
  if (!tmpl.ok()) return tmpl.status();
  const bool unjustified = r->justified.has_value() && !*r->justified;
  const bool done = !unjustified && r->carried_out.value_or(false);
  std::string reason;
  if (unjustified) {
    reason = r->decision_reason;
  } else if (!done) {
    reason = r->close_reason;
  }
  auto notice = RenderTemplate(
      "outcome", tmpl.value(),
      {{"subscriber_name", contact.name.empty() ? std::string("ご契約者") : contact.name},
       {"request_text", r->request_text},
       {"received_on", FormatDate(JstDateOf(r->received_at))},
       {"contractor_name", contractor_name},
       {"outcome", done ? "対応いたしました" : "対応いたしませんでした"},
       {"reason", done ? std::string("―") : reason},
       {"operator_name", mail->operator_name}});
  if (!notice.ok()) return notice.status();

  CorrectiveRequest next = r.value();
  const bool by_letter = args.letter || contact.email.empty();
  if (by_letter) {
    if (contact.address.empty()) {
      return Result<Output>::Error("request " + std::to_string(id) +
                                   ": no e-mail address for subscriber " + r->subscriber_id +
                                   " and no postal address to write to (--email ADDRESS, or "
                                   "--subscriber-data EXPORT with the subscriber's address)");
    }
    const std::string path =
        (fs::path(mail->letters_dir) / ("request-" + std::to_string(id) + "-outcome.txt")).string();
    std::error_code ec;
    fs::create_directories(mail->letters_dir, ec);
    if (Status w = WriteLetter(path, contact.postal_code, contact.address,
                               contact.name.empty() ? "ご契約者" : contact.name, Today(ctx),
                               notice.value());
        !w.ok())
      return w;
    next.notice_via = "letter";
    next.notice_to = path;
  } else {
    if (!mail->smtp) {
      return Result<Output>::Error(
          "request " + std::to_string(id) +
          ": no SMTP server is configured (--smtp URL, ITAKU_SMTP or [smtp] in --config)");
    }
    auto sent = SendWithRetries(
        *mail->smtp, {contact.email, contact.name, notice->subject, notice->body}, config);
    if (!sent.ok()) {
      // Not notified: the failure stays on the request for the overdue list.
      next.notice_error = sent.message();
      next.notice_error_at = ctx.clock->NowUtc();
      Status s = ctx.store->Transaction([&]() -> Status {
        if (Status u = ctx.store->UpdateCorrectiveRequest(next); !u.ok()) return u;
        return ctx.audit->Append(ctx.actor, "request.notify.failed",
                                 "request:" + std::to_string(id),
                                 {{"subscriber", next.subscriber_id}, {"error", sent.message()}});
      });
      if (!s.ok()) return s;
      return Result<Output>::Error(
          "request " + std::to_string(id) +
          ": not yet notified, the notice was not accepted: " + sent.message());
    }
    next.notice_via = "email";
    next.notice_to = contact.email;
  }
  next.notice_subject = notice->subject;
  next.notice_text = notice->body;
  next.notice_error.clear();
  next.notice_error_at.clear();
  next.notified_by = ctx.actor;
  next.notified_at = ctx.clock->NowUtc();
  next.state = policies::StateAfter(next, RequestStep::kNotify, {});
  if (Status s = SaveStep(ctx, next, RequestStep::kNotify, notice->body); !s.ok()) return s;
  return RequestOutput(next, "request " + std::to_string(id) + ": requester notified by " +
                                 next.notice_via +
                                 (by_letter ? " (print and post " + next.notice_to + ")" : "") +
                                 "; outcome: " + (done ? "carried out" : "not carried out"));
}

Result<Output> RequestShow(Context& ctx, int64_t id) {
  auto r = RequireRequest(ctx, id);
  if (!r.ok()) return r.status();
  auto deadlines = LoadDeadlines(ctx);
  if (!deadlines.ok()) return deadlines.status();
  const CorrectiveRequest& q = r.value();
  std::vector<std::string> overdue =
      policies::OverdueReasons(q, JstDateOf(q.received_at), deadlines.value(), ctx.clock->Today());
  Json j = RequestJson(q);
  j["overdue"] = overdue;
  std::ostringstream t;
  t << "request " << q.id << ": " << q.state << (overdue.empty() ? "" : " — " + Join(overdue))
    << "\nsubscriber: " << q.subscriber_id << "\ncontractor: " << q.contractor_id
    << "\nreceived: " << q.received_at << " by " << q.received_by << " (" << q.channel << ")"
    << "\nasked: " << q.request_text;
  if (!q.decided_at.empty()) {
    t << "\ndecided: " << q.decided_at << " by " << q.decided_by << ": "
      << (*q.justified ? "justified" : "not justified") << " — " << q.decision_reason;
  }
  if (!q.instructed_at.empty()) {
    t << "\ninstructed: " << q.instructed_at << " by " << q.instructed_by << " via "
      << q.instruction_via << ": " << q.instruction_text;
  }
  if (!q.answered_at.empty()) t << "\nanswered: " << q.answered_at << ": " << q.answer_text;
  if (!q.closed_at.empty()) {
    t << "\nclosed: " << q.closed_at << " by " << q.closed_by << ": "
      << (*q.carried_out ? "carried out" : "not carried out")
      << (q.close_reason.empty() ? "" : " — " + q.close_reason);
  }
  if (!q.notified_at.empty()) {
    t << "\nnotified: " << q.notified_at << " by " << q.notified_by << " via " << q.notice_via;
  } else if (!q.notice_error.empty()) {
    t << "\nnot yet notified: last attempt " << q.notice_error_at << " failed: " << q.notice_error;
  }
  return Output{j, t.str()};
}

Result<Output> RequestList(Context& ctx, bool overdue_only,
                           const std::optional<std::string>& contractor,
                           const std::optional<std::string>& state, const MailConfig&) {
  auto list = ctx.store->ListCorrectiveRequests(contractor, state);
  if (!list.ok()) return list.status();
  auto deadlines = LoadDeadlines(ctx);
  if (!deadlines.ok()) return deadlines.status();
  const Date today = ctx.clock->Today();
  Output out{Json::array(), ""};
  for (const CorrectiveRequest& r : list.value()) {
    std::vector<std::string> overdue =
        policies::OverdueReasons(r, JstDateOf(r.received_at), deadlines.value(), today);
    if (overdue_only && overdue.empty()) continue;
    Json j = {{"id", r.id},
              {"subscriber", r.subscriber_id},
              {"contractor", r.contractor_id},
              {"state", r.state},
              {"received_at", r.received_at},
              {"justified", OptionalBool(r.justified)},
              {"notified", r.state == "notified"},
              {"notice_error", r.notice_error},
              {"overdue", overdue}};
    out.json.push_back(j);
    out.text += "#" + std::to_string(r.id) + "\t" + r.state + "\t" + r.subscriber_id + "\t" +
                r.contractor_id + "\treceived " + r.received_at +
                (r.state != "notified" && !r.notice_error.empty() ? "\tnot yet notified" : "") +
                (overdue.empty() ? "" : "\t" + Join(overdue)) + "\n";
  }
  if (out.text.empty()) out.text = overdue_only ? "no overdue requests\n" : "no requests\n";
  out.text.pop_back();
  return out;
}

Result<Output> RequestDeadlinesCommand(Context& ctx, std::optional<int> decide_within,
                                       std::optional<int> notify_within) {
  for (auto v : {decide_within, notify_within}) {
    if (v && (*v < 0 || *v > 365)) {
      return Result<Output>::Error("deadlines are whole days from receipt, 0 to 365");
    }
  }
  auto current = LoadDeadlines(ctx);
  if (!current.ok()) return current.status();
  policies::RequestDeadlines d = current.value();
  if (decide_within) d.decide_within_days = *decide_within;
  if (notify_within) d.notify_within_days = *notify_within;
  if (d.notify_within_days < d.decide_within_days) {
    return Result<Output>::Error(
        "the requester cannot be told before the decision is due: "
        "--notify-within must be at least --decide-within");
  }
  Json j = {{"decide_within_days", d.decide_within_days},
            {"notify_within_days", d.notify_within_days}};
  if (decide_within || notify_within) {
    Status s = ctx.store->Transaction([&]() -> Status {
      if (Status a = ctx.store->SetMeta(kDecideKey, std::to_string(d.decide_within_days)); !a.ok())
        return a;
      if (Status b = ctx.store->SetMeta(kNotifyKey, std::to_string(d.notify_within_days)); !b.ok())
        return b;
      return ctx.audit->Append(ctx.actor, "request.deadlines", "requests", j);
    });
    if (!s.ok()) return s;
  }
  return Output{j, "decide within " + std::to_string(d.decide_within_days) +
                       " days of receipt; tell the requester within " +
                       std::to_string(d.notify_within_days) + " days of receipt"};
}

}  // namespace itaku::gateway
