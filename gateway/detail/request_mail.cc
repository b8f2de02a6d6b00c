#include "gateway/detail/request_mail.h"

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <streambuf>
#include <thread>

#include "contracts/base/layout.h"
#include "contracts/base/strings.h"
#include "contracts/config.h"
#include "policies/csv.h"
#include "policies/projector.h"

namespace itaku::gateway {
namespace {

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

}  // namespace

Result<MailSetup> ResolveMail(Context& ctx, const MailConfig& config) {
  using R = Result<MailSetup>;
  MailSetup m;
  const StoreLayout layout(ctx.db_path);
  m.templates_dir = layout.Templates();
  m.letters_dir = config.letters_dir.empty() ? layout.Letters() : config.letters_dir;
  // The daemon's own settings (serve --config, its environment) come first;
  // a command may name another server and sender, but what names a file or
  // a secret of the daemon's (ca_file, password_env, templates) is the
  // daemon's alone: a caller could otherwise have it read a file, or send a
  // password to a server of the caller's choosing.
  auto daemon = contracts::Config::Load(ctx.daemon_config);
  if (!daemon.ok()) return daemon.status();
  auto caller = contracts::Config::Load(config.config_file);
  if (!caller.ok()) return caller.status();
  constexpr char kUnset[] = "\x01";
  for (const auto& [table, key] : {std::pair{"smtp", "ca_file"}, std::pair{"smtp", "password_env"},
                                   std::pair{"requests", "templates"}}) {
    if (caller->String(table, key, kUnset) != kUnset) {
      return R::Error("--config: [" + std::string(table) + "] " + key +
                      " is the daemon's setting (serve --config), not a command's");
    }
  }
  std::string url = config.smtp_url;
  if (url.empty()) url = caller->String("smtp", "url", "");
  const bool callers_server = !url.empty();
  if (url.empty()) url = daemon->String("smtp", "url", "");
  if (url.empty()) {
    if (const char* env = std::getenv("ITAKU_SMTP"); env && *env) url = env;
  }
  auto setting = [&](const char* table, const char* key, const std::string& fallback) {
    return caller->String(table, key, daemon->String(table, key, fallback));
  };
  const std::string from = [&] {
    std::string f = setting("smtp", "from", "");
    if (f.empty()) {
      if (const char* env = std::getenv("ITAKU_SMTP_FROM"); env && *env) f = env;
    }
    return f;
  }();
  const std::string from_name = setting("smtp", "from_name", "");
  const std::string ca_file = daemon->String("smtp", "ca_file", "");
  const std::string password_env = daemon->String("smtp", "password_env", "ITAKU_SMTP_PASSWORD");
  const bool require_tls =
      caller->Bool("smtp", "require_tls", daemon->Bool("smtp", "require_tls", false));
  auto op = LoadOperatorIdentity(ctx.daemon_config, config.config_file);
  if (!op.ok()) return op.status();
  m.op = std::move(op).value();
  m.sender_set = !from.empty();
  m.templates_dir = daemon->String("requests", "templates", m.templates_dir);
  if (!daemon->status().ok()) return daemon->status();
  if (!caller->status().ok()) return caller->status();
  if (url.empty()) return m;
  auto settings = transports::ParseSmtpUrl(url);
  if (!settings.ok()) return settings.status();
  SmtpSettings s = std::move(settings).value();
  s.from = from.empty() ? kDefaultSender : from;
  s.from_name = from_name.empty() ? m.op.name : from_name;
  s.ca_file = ca_file;
  s.require_tls = s.require_tls || require_tls;
  if (!s.user.empty()) {
    if (callers_server) {
      return R::Error("SMTP server " + s.host +
                      ": a command may not name a server with a user "
                      "(the daemon's password goes only to the daemon's [smtp] url)");
    }
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

std::string MailRefusal(const MailSetup& mail) {
  std::vector<std::string> unset;
  if (mail.op.name.empty() || mail.op.name == kDefaultOperatorName) {
    unset.push_back("[requests] operator_name");
  }
  if (!mail.sender_set) unset.push_back("[smtp] from");
  if (unset.empty()) return "";
  return "e-mail needs the operator's own details: set " + Join(unset) +
         " in the daemon's config (serve --config)";
}

std::string LetterRefusal(const MailSetup& mail) {
  return PlaceholderRefusal(mail.op, "a letter",
                            {"operator_name", "operator_address", "operator_phone"});
}

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
Result<std::optional<Contact>> FindContact(const std::string& export_path,
                                           const std::string& subscriber_id) {
  std::ifstream in(export_path, std::ios::binary);
  if (!in) return Result<std::optional<Contact>>::Error("cannot read " + export_path);
  // Only the columns the export has: the projector refuses a missing one.
  static const std::vector<std::string> kWanted = {"name", "postal_code", "address", "email"};
  std::vector<std::string> fields = {"subscriber_id"};
  std::ifstream header(export_path, std::ios::binary);
  auto columns = policies::ExportColumns(header, export_path);
  if (!columns.ok()) return columns.status();
  for (const auto& f : kWanted) {
    if (std::find(columns->begin(), columns->end(), f) != columns->end()) fields.push_back(f);
  }
  policies::ProjectionSpec spec;
  spec.fields = fields;
  spec.formula_guard = false;  // read into a notice to the subscriber, not a spreadsheet
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

}  // namespace itaku::gateway
