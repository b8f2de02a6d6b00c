// `itaku incident notify`: the notices of policy 7(1)[1] to every person an
// incident reached, by e-mail where the operator's export gives an address,
// else as a printable letter, resumable and exactly once.
//
// Itaku keeps no contact details: the persons are the incident's notices
// (subscriber ids), and the operator's export (--contacts) is read for
// them in passes of at most kPassPersons, in subscriber id order. Each pass
// reads the export once, keeping the rows of that pass's persons only, and
// the incident's receipts once, for the items each of them lost; memory
// holds one pass, whatever the size of the export or the incident.
//
// Exactly once: a notice is committed as "sending" before its message goes
// to the SMTP server, and as "sent" once the server took it. A run cut off
// in between leaves it "sending": uncertain, reported and not sent again
// unless --resend-uncertain. The final state of a notice is committed with
// the next notice's "sending" (one commit per message), so a notice whose
// message went out is never seen pending. The SMTP dialogue runs on its
// own thread (MailWorker), so that the next notice's commit overlaps the
// current message: a run cut off leaves at most two notices "sending", the
// one on the wire and the next. Letters and "no-contact" are committed in
// batches: a letter a cut-off run wrote is written again, over itself.
// Running the command again resumes: notices still pending, failed or
// without contact are tried.
#include <algorithm>
#include <condition_variable>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <streambuf>
#include <string>
#include <string_view>
#include <thread>
#include <unordered_map>
#include <utility>
#include <vector>

#include "contracts/base/date.h"
#include "contracts/base/strings.h"
#include "gateway/audit.h"
#include "gateway/clock.h"
#include "gateway/detail/command_util.h"
#include "gateway/detail/request_mail.h"
#include "gateway/incident.h"
#include "gateway/letters.h"
#include "gateway/notices.h"
#include "gateway/operator_identity.h"
#include "policies/catalog.h"
#include "policies/encoding.h"
#include "policies/projector.h"
#include "transports/smtp_client.h"

namespace itaku::gateway {
namespace {

namespace fs = std::filesystem;
using Json = nlohmann::json;
using contracts::IncidentNotice;

// Persons per pass: each pass reads the export and the receipts once, so
// fewer passes are faster, and a pass's contacts are what memory holds
// (about 300 bytes a person).
constexpr size_t kPassPersons = 50000;
// Notices read from the store at a time.
constexpr int kPage = 1000;
// Messages in a row the server fails before the run stops: the server is
// down or refuses everything, and the rest would fail alike.
constexpr int kMaxFailuresInARow = 20;
// A progress line in the daemon's log every this many notices.
constexpr int64_t kProgressEvery = 1000;
// Final states waiting for the next commit, at most.
constexpr size_t kMaxDeferred = 1000;

// The built-in notice; <templates>/incident.txt replaces it (notices.h
// gives the file's format). Placeholders: {{subscriber_name}}
// {{operator_name}} {{contractor_name}} {{discovered_on}} {{summary}}
// {{items}} {{cause}} {{harm}} {{response}} {{contact}} {{incident_id}}.
constexpr std::string_view kSubject = "個人情報の漏えいに関するお詫びとお知らせ";
constexpr std::string_view kBody =
    R"({{subscriber_name}} 様

平素より{{operator_name}}をご利用いただき、誠にありがとうございます。

このたび、当社が業務を委託しております{{contractor_name}}において、お客様の
個人情報が漏えいした、又は漏えいしたおそれがあることが判明いたしました
（{{discovered_on}}判明）。お客様には多大なるご迷惑とご心配をおかけいたします
ことを、心より深くお詫び申し上げます。
当社個人情報保護方針 第7条(1)に基づき、下記のとおりお知らせいたします。

記

1. 事案の概要
{{summary}}

2. 漏えい等が発生し、又は発生したおそれがあるお客様の個人データの項目
{{items}}

3. 原因
{{cause}}

4. 二次被害又はそのおそれの有無及びその内容
{{harm}}

5. 当社の対応
{{response}}

6. お問い合わせ先
{{contact}}

以上

当社を装った電話や電子メール等にご注意ください。当社からお客様に
暗証番号やパスワードをお尋ねすることはございません。
（事案番号 {{incident_id}}）
)";

constexpr char kInvestigating[] = "現在調査中です。判明し次第お知らせいたします。";
constexpr char kResponse[] =
    "委託先に対し、事実関係の調査と被害の拡大防止を指示するとともに、原因の究明と"
    "再発防止策の策定を進めております。";

Result<NoticeTemplate> IncidentTemplate(const std::string& templates_dir) {
  std::error_code ec;
  if (!templates_dir.empty() && fs::exists(fs::path(templates_dir) / "incident.txt", ec)) {
    return LoadTemplate("incident", templates_dir);
  }
  return NoticeTemplate{std::string(kSubject), std::string(kBody)};
}

// Without the spaces around it, ASCII and full-width (U+3000), as exports
// pad cells.
std::string Trim(std::string_view s) {
  constexpr std::string_view kWide = "\xE3\x80\x80";
  for (;;) {
    if (!s.empty() &&
        (s.front() == ' ' || s.front() == '\t' || s.front() == '\r' || s.front() == '\n')) {
      s.remove_prefix(1);
    } else if (s.substr(0, kWide.size()) == kWide) {
      s.remove_prefix(kWide.size());
    } else {
      break;
    }
  }
  for (;;) {
    if (!s.empty() &&
        (s.back() == ' ' || s.back() == '\t' || s.back() == '\r' || s.back() == '\n')) {
      s.remove_suffix(1);
    } else if (s.size() >= kWide.size() && s.substr(s.size() - kWide.size()) == kWide) {
      s.remove_suffix(kWide.size());
    } else {
      break;
    }
  }
  return std::string(s);
}

// A subscriber id as a file name: the configured id pattern may allow
// characters a path must not have.
std::string FileNameOf(const std::string& id) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : id) {
    const bool plain = (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
                       c == '-' || c == '_';
    if (plain) {
      out.push_back(static_cast<char>(c));
    } else {
      out += {'%', kHex[c >> 4], kHex[c & 15]};
    }
  }
  return out + ".pdf";
}

// ---- The export, read for one pass ---------------------------------------------

// The export's encoding, from all of its bytes: UTF-8 unless some byte
// sequence is not, then CP932. The projector decides from the header
// alone, and a header of catalog ids is ASCII in either encoding.
Result<policies::InputEncoding> SniffEncoding(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Result<policies::InputEncoding>::Error("cannot read " + path);
  std::string block(size_t{1} << 20, '\0');
  std::string carry;
  while (in) {
    in.read(block.data(), static_cast<std::streamsize>(block.size()));
    const auto n = static_cast<size_t>(in.gcount());
    if (n == 0) break;
    std::string text = carry + block.substr(0, n);
    // Cut after the last LF: an ASCII byte, never inside a character.
    const size_t lf = in ? text.rfind('\n') : text.size() - 1;
    const size_t cut = lf == std::string::npos ? 0 : lf + 1;
    carry = text.substr(cut);
    if (carry.size() > (size_t{64} << 20)) carry.clear();  // the reader refuses such a line
    if (!policies::IsValidUtf8(std::string_view(text).substr(0, cut))) {
      return policies::InputEncoding::kCp932;
    }
  }
  if (in.bad()) return Result<policies::InputEncoding>::Error("cannot read " + path);
  if (!carry.empty() && !policies::IsValidUtf8(carry)) return policies::InputEncoding::kCp932;
  return policies::InputEncoding::kUtf8;
}

// One person of a pass.
struct Person {
  IncidentNotice notice;
  uint64_t items = 0;  // bits over Items::names
  bool found = false;  // the export has their row
  Contact contact;
};

// Persons of a pass by subscriber id (views into Person::notice).
using PassIndex = std::unordered_map<std::string_view, size_t>;

// Receives the projection of the export (subscriber_id and the contact
// columns, UTF-8, CRLF) and keeps the contacts of the pass's persons: a
// record is parsed only when its first field is one of theirs. Written to
// by the projector's writer thread; read after Project() has returned.
class ContactSink : public std::streambuf {
 public:
  ContactSink(const PassIndex& index, std::vector<Person>& persons,
              std::vector<std::string> columns)
      : index_(index), persons_(persons), columns_(std::move(columns)) {}

 protected:
  std::streamsize xsputn(const char* s, std::streamsize n) override {
    const char* p = s;
    const char* const end = s + n;
    while (p < end) {
      const char* q = p;
      while (q < end && *q != '"' && *q != '\n') ++q;
      record_.append(p, q);
      if (q == end) break;
      record_.push_back(*q);
      if (*q == '"') {
        quoted_ = !quoted_;  // a doubled quote toggles twice
      } else if (!quoted_) {
        Take();
        record_.clear();
      }
      p = q + 1;
    }
    return n;
  }
  int_type overflow(int_type ch) override {
    if (traits_type::eq_int_type(ch, traits_type::eof())) return traits_type::not_eof(ch);
    const char c = traits_type::to_char_type(ch);
    xsputn(&c, 1);
    return ch;
  }

 private:
  // RFC 4180 fields of one record (its CRLF included), unquoted.
  static void Split(std::string_view record, std::vector<std::string>* fields) {
    fields->clear();
    while (!record.empty() && (record.back() == '\n' || record.back() == '\r')) {
      record.remove_suffix(1);
    }
    std::string field;
    size_t i = 0;
    for (;;) {
      field.clear();
      if (i < record.size() && record[i] == '"') {
        for (++i; i < record.size(); ++i) {
          if (record[i] == '"') {
            if (i + 1 < record.size() && record[i + 1] == '"') {
              field.push_back('"');
              ++i;
            } else {
              ++i;
              break;
            }
          } else {
            field.push_back(record[i]);
          }
        }
      }
      const size_t comma = record.find(',', i);
      field.append(record.substr(i, comma == std::string_view::npos ? comma : comma - i));
      fields->push_back(field);
      if (comma == std::string_view::npos) return;
      i = comma + 1;
    }
  }

  void Take() {
    if (!header_seen_) {  // the projection's own header (after a BOM)
      header_seen_ = true;
      return;
    }
    const std::string_view record(record_);
    std::string_view id = record.substr(0, record.find_first_of(",\r\n"));
    // Ids match the configured pattern and are seldom quoted; a quoted one
    // is read properly before it is looked up.
    const bool quoted = !id.empty() && id.front() == '"';
    if (quoted) {
      Split(record, &fields_);
      id = fields_[0];
    }
    const auto it = index_.find(id);
    if (it == index_.end()) return;
    Person& person = persons_[it->second];
    if (person.found) return;  // the first row of a subscriber counts
    if (!quoted) Split(record, &fields_);
    person.found = true;
    for (size_t i = 1; i < columns_.size() && i < fields_.size(); ++i) {
      const std::string& column = columns_[i];
      std::string value = Trim(fields_[i]);
      if (column == "name") person.contact.name = std::move(value);
      if (column == "postal_code") person.contact.postal_code = std::move(value);
      if (column == "address") person.contact.address = std::move(value);
      if (column == "email") person.contact.email = std::move(value);
    }
  }

  const PassIndex& index_;
  std::vector<Person>& persons_;
  const std::vector<std::string> columns_;  // the projection's, subscriber_id first
  std::string record_;
  std::vector<std::string> fields_;
  bool quoted_ = false;
  bool header_seen_ = false;
};

struct ExportSpec {
  std::string path;
  policies::InputEncoding encoding = policies::InputEncoding::kUtf8;
  std::vector<std::string> columns;  // subscriber_id, then the contact columns it has
  bool has_email = false;
  bool has_address = false;
};

Result<ExportSpec> ReadExportSpec(const std::string& path) {
  ExportSpec spec;
  spec.path = path;
  auto encoding = SniffEncoding(path);
  if (!encoding.ok()) return encoding.status();
  spec.encoding = encoding.value();
  std::ifstream header(path, std::ios::binary);
  auto columns = policies::ExportColumns(header, path, spec.encoding);
  if (!columns.ok()) return columns.status();
  spec.columns = {"subscriber_id"};
  for (const char* c : {"name", "postal_code", "address", "email"}) {
    if (std::find(columns->begin(), columns->end(), c) != columns->end()) spec.columns.push_back(c);
  }
  auto has = [&](const char* c) {
    return std::find(spec.columns.begin(), spec.columns.end(), c) != spec.columns.end();
  };
  spec.has_email = has("email");
  spec.has_address = has("address");
  return spec;
}

// Fills in the contacts of the pass's persons from one read of the export.
Status ReadContacts(Context& ctx, const ExportSpec& e, const PassIndex& index,
                    std::vector<Person>& persons) {
  std::ifstream in(e.path, std::ios::binary);
  if (!in) return Status::Io("cannot read " + e.path);
  policies::ProjectionSpec spec;
  spec.fields = e.columns;
  spec.input_encoding = e.encoding;
  spec.subscriber_id_pattern = ctx.subscriber_id_pattern;
  spec.formula_guard = false;  // read into a notice, never a spreadsheet
  ContactSink sink(index, persons, e.columns);
  std::ostream out(&sink);
  auto summary =
      policies::Project(spec, in, e.path, &out, [](std::string_view) { return Status::Ok(); });
  return summary.status();
}

// ---- What each person lost ---------------------------------------------------

// The data items of the incident's deliveries, each a bit, in the order
// first met; the Japanese labels of a set of them, in catalog order.
class Items {
 public:
  // The columns of each delivery (fields ++ extra_fields) as item bits.
  Status Load(Context& ctx, const std::vector<int64_t>& deliveries) {
    for (int64_t id : deliveries) {
      auto d = ctx.store->FindDelivery(id);
      if (!d.ok()) return d.status();
      if (!d.value())
        return Status::NotFound("delivery " + std::to_string(id) + " of the incident");
      std::vector<size_t>& bits = columns_[id];
      for (const auto* list : {&d.value()->fields, &d.value()->extra_fields}) {
        for (const std::string& f : *list) bits.push_back(BitOf(f));
      }
    }
    return Status::Ok();
  }

  // ORs into each pass person's items what their receipts carried.
  Status Scan(Context& ctx, const PassIndex& index, std::vector<Person>& persons) const {
    for (const auto& [delivery, bits] : columns_) {
      Status s = ctx.store->ForEachReceiptRow(
          delivery, [&](int64_t, std::string_view subscriber_id, int64_t carried) {
            const auto it = index.find(subscriber_id);
            if (it == index.end()) return;
            uint64_t items = 0;
            for (size_t i = 0; i < bits.size() && i < 64; ++i) {
              // -1: recorded before receipts said which fields a row carried.
              if (carried == -1 || ((static_cast<uint64_t>(carried) >> i) & 1)) {
                if (bits[i] < 64) items |= uint64_t{1} << bits[i];
              }
            }
            persons[it->second].items |= items;
          });
      if (!s.ok()) return s;
    }
    return Status::Ok();
  }

  // "氏名、住所、電子メールアドレス", each set rendered once.
  const std::string& Labels(uint64_t items) {
    auto [it, fresh] = labels_.try_emplace(items);
    if (!fresh) return it->second;
    std::vector<std::string> ids;
    for (size_t b = 0; b < names_.size() && b < 64; ++b) {
      if ((items >> b) & 1) ids.push_back(names_[b]);
    }
    const auto& catalog = policies::Catalog();
    auto rank = [&](const std::string& id) {
      for (size_t i = 0; i < catalog.size(); ++i) {
        if (catalog[i].id == id) return i;
      }
      return catalog.size();
    };
    std::stable_sort(ids.begin(), ids.end(),
                     [&](const auto& a, const auto& b) { return rank(a) < rank(b); });
    std::string text;
    for (const std::string& id : ids) {
      text += (text.empty() ? "" : "、") + FieldLabel(id);
    }
    it->second = text.empty() ? "（記録上、特定できませんでした）" : text;
    return it->second;
  }

 private:
  size_t BitOf(const std::string& field) {
    for (size_t i = 0; i < names_.size(); ++i) {
      if (names_[i] == field) return i;
    }
    names_.push_back(field);
    return names_.size() - 1;
  }

  std::vector<std::string> names_;
  std::map<int64_t, std::vector<size_t>> columns_;  // delivery -> item bit per column
  std::unordered_map<uint64_t, std::string> labels_;
};

// ---- The SMTP side -------------------------------------------------------------

// One SMTP session on a thread of its own, one message at a time: Start()
// hands a message over, Wait() its outcome. The store is never touched
// from this thread.
class MailWorker {
 public:
  struct Outcome {
    Result<std::string> sent;
    transports::SmtpFailure failure;
  };

  explicit MailWorker(const transports::SmtpSettings& settings)
      : session_(settings), thread_([this] { Loop(); }) {}
  ~MailWorker() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      quit_ = true;
    }
    cv_.notify_all();
    thread_.join();
  }
  MailWorker(const MailWorker&) = delete;
  MailWorker& operator=(const MailWorker&) = delete;

  // At most one message at a time: Wait() for the previous first.
  void Start(transports::MailMessage message) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      message_ = std::move(message);
      outcome_.reset();
    }
    cv_.notify_all();
  }
  Outcome Wait() {
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait(lock, [&] { return outcome_.has_value(); });
    Outcome out = std::move(*outcome_);
    outcome_.reset();
    return out;
  }
  // QUIT; only between messages.
  void Close() {
    std::lock_guard<std::mutex> lock(mu_);
    session_.Close();
  }

 private:
  void Loop() {
    std::unique_lock<std::mutex> lock(mu_);
    for (;;) {
      cv_.wait(lock, [&] { return quit_ || message_.has_value(); });
      if (quit_) return;
      transports::MailMessage message = std::move(*message_);
      message_.reset();
      lock.unlock();
      Result<std::string> sent = session_.Send(message);
      const transports::SmtpFailure failure = session_.last_failure();
      lock.lock();
      outcome_.emplace(Outcome{std::move(sent), failure});
      cv_.notify_all();
    }
  }

  transports::SmtpSession session_;  // used by the thread while a message is out
  std::mutex mu_;
  std::condition_variable cv_;
  std::optional<transports::MailMessage> message_;
  std::optional<Outcome> outcome_;
  bool quit_ = false;
  std::thread thread_;  // last: started once the rest is in place
};

// ---- The run -----------------------------------------------------------------

struct Counts {
  int64_t sent = 0, letters = 0, no_contact = 0, failed = 0, not_in_contacts = 0;
  int64_t uncertain = 0;  // made uncertain by this run (the connection broke mid-message)
  int64_t Notices() const { return sent + letters + failed + uncertain; }
  Json ToJson() const {
    return {{"sent", sent},     {"letters", letters},     {"no_contact", no_contact},
            {"failed", failed}, {"uncertain", uncertain}, {"not_in_contacts", not_in_contacts}};
  }
};

// Notice states as the store keeps them: "sending" committed at once (the
// message may leave next); final states deferred to that commit, or the
// end of the run.
class Recorder {
 public:
  explicit Recorder(Context& ctx) : ctx_(ctx) {}
  Status Sending(const IncidentNotice& n) {
    return ctx_.store->Transaction([&]() -> Status {
      if (Status s = WriteDeferred(); !s.ok()) return s;
      return ctx_.store->UpdateIncidentNotice(n);
    });
  }
  Status Final(const IncidentNotice& n) {
    deferred_.push_back(n);
    return deferred_.size() >= kMaxDeferred ? Flush() : Status::Ok();
  }
  Status Flush() {
    if (deferred_.empty()) return Status::Ok();
    return ctx_.store->Transaction([&] { return WriteDeferred(); });
  }

 private:
  Status WriteDeferred() {
    for (const IncidentNotice& n : deferred_) {
      if (Status s = ctx_.store->UpdateIncidentNotice(n); !s.ok()) return s;
    }
    deferred_.clear();
    return Status::Ok();
  }
  Context& ctx_;
  std::vector<IncidentNotice> deferred_;
};

class NoticeRun {
 public:
  NoticeRun(Context& ctx, const IncidentNotifyArgs& args, const contracts::Incident& incident,
            const MailSetup& mail, const NoticeTemplate& notice, std::string contractor_name,
            const ExportSpec& contacts)
      : ctx_(ctx),
        args_(args),
        incident_(incident),
        mail_(mail),
        template_(notice),
        contractor_name_(std::move(contractor_name)),
        contacts_(contacts),
        recorder_(ctx),
        who_("incident " + std::to_string(incident.id)) {
    if (mail.smtp) mailer_ = std::make_unique<MailWorker>(*mail.smtp);
  }

  // Renders the notice once with sample values, so that a template the
  // operator edited fails before anything is sent.
  Status CheckTemplate() { return Render(Contact(), "").status(); }

  Status Run() {
    if (Status s = items_.Load(ctx_, incident_.deliveries); !s.ok()) return s;
    std::vector<std::string> states = {"pending", "failed", "no-contact"};
    if (args_.resend_uncertain) states.push_back("sending");
    std::string after;
    bool more = true;
    while (more && !stopped()) {
      std::vector<Person> persons;
      while (persons.size() < kPassPersons) {
        const int want = static_cast<int>(std::min<size_t>(kPage, kPassPersons - persons.size()));
        auto page = ctx_.store->ListIncidentNotices(incident_.id, states, after, want);
        if (!page.ok()) return page.status();
        for (auto& n : page.value()) {
          persons.emplace_back();
          persons.back().notice = std::move(n);
        }
        if (!page->empty()) after = persons.back().notice.subscriber_id;
        if (static_cast<int>(page->size()) < want) {
          more = false;
          break;
        }
      }
      if (persons.empty()) break;
      if (Status s = Pass(persons); !s.ok()) return s;
    }
    return Finish();
  }

  // Waits for the message on the wire and records what became of it, then
  // everything deferred; also after an error, so that nothing done is lost.
  Status Finish() {
    Status collected = Collect();
    if (mailer_) mailer_->Close();
    Status flushed = recorder_.Flush();
    return collected.ok() ? flushed : collected;
  }

  const Counts& counts() const { return counts_; }
  bool stopped() const { return !stop_reason_.empty(); }
  const std::string& stop_reason() const { return stop_reason_; }
  const std::string& last_error() const { return last_error_; }
  std::string letters_dir() const {
    return (fs::path(mail_.letters_dir) / ("incident-" + std::to_string(incident_.id))).string();
  }

 private:
  // One pass; the message of its last person is collected before its
  // persons go.
  Status Pass(std::vector<Person>& persons) {
    Status s = Notify(persons);
    Status collected = Collect();
    return s.ok() ? collected : s;
  }

  Status Notify(std::vector<Person>& persons) {
    PassIndex index;
    index.reserve(persons.size());
    for (size_t i = 0; i < persons.size(); ++i) index.emplace(persons[i].notice.subscriber_id, i);
    if (Status s = ReadContacts(ctx_, contacts_, index, persons); !s.ok()) return s;
    if (Status s = items_.Scan(ctx_, index, persons); !s.ok()) return s;
    for (Person& p : persons) {
      if (args_.limit > 0 && counts_.Notices() + (in_flight_ ? 1 : 0) >= args_.limit) {
        stop_reason_ = "limit";
        break;
      }
      if (!p.found) {
        ++counts_.not_in_contacts;  // left as it is, for a later run with a fuller export
        continue;
      }
      Status s = !p.contact.email.empty()     ? ByMail(p)
                 : !p.contact.address.empty() ? ByLetter(p)
                                              : NoContact(p);
      if (!s.ok()) return s;
      if (stopped()) break;
    }
    return Status::Ok();
  }

  Result<NoticeTemplate> Render(const Contact& c, const std::string& items) {
    const auto& i = incident_;
    std::string response = kResponse;
    if (!Trim(i.measures).empty()) response += "\n再発防止のための措置：" + i.measures;
    return RenderTemplate(
        "incident", template_,
        {{"subscriber_name", c.name.empty() ? std::string("ご契約者") : c.name},
         {"operator_name", mail_.op.name},
         {"contractor_name", contractor_name_},
         {"discovered_on", JapaneseDate(i.discovered_on, mail_.op.wareki)},
         {"summary", i.summary},
         {"items", items},
         {"cause", Trim(i.cause).empty() ? std::string(kInvestigating) : i.cause},
         {"harm", Trim(i.secondary_harm).empty() ? std::string(kInvestigating) : i.secondary_harm},
         {"response", response},
         {"contact", Join(SenderLines(mail_.op), "\n")},
         {"incident_id", std::to_string(i.id)}});
  }

  IncidentNotice Next(const Person& p, const std::string& state, const std::string& via) {
    IncidentNotice n = p.notice;
    n.state = state;
    n.via = via;
    n.updated_at = ctx_.clock->NowUtc();
    n.error.clear();
    return n;
  }

  void Progress() {
    const int64_t done = counts_.Notices();
    if (done == 0 || done % kProgressEvery != 0) return;
    std::cerr << "itaku serve: " << who_ << " notices: " << counts_.sent << " sent, "
              << counts_.letters << " letters, " << counts_.failed << " failed so far (of "
              << incident_.persons << " persons)" << std::endl;
  }

  Status ByMail(Person& p) {
    auto notice = Render(p.contact, items_.Labels(p.items));
    if (!notice.ok()) return notice.status();
    IncidentNotice n = Next(p, "sending", "email");
    ++n.attempts;
    // Committed before the message may leave: a run cut off from here on
    // finds it "sending" and does not send it again on its own. The commit
    // overlaps the previous message's dialogue.
    if (Status s = recorder_.Sending(n); !s.ok()) return s;
    if (Status s = Collect(); !s.ok()) return s;
    if (stopped()) return recorder_.Final(p.notice);  // never left: as it was
    mailer_->Start({p.contact.email, p.contact.name, notice->subject, notice->body});
    in_flight_ = InFlight{std::move(n), &p};
    return Status::Ok();
  }

  // The outcome of the message on the wire, if any.
  Status Collect() {
    if (!in_flight_) return Status::Ok();
    MailWorker::Outcome outcome = mailer_->Wait();
    IncidentNotice n = std::move(in_flight_->notice);
    Person& p = *in_flight_->person;
    in_flight_.reset();
    const transports::SmtpFailure failure = outcome.failure;
    const Result<std::string>& sent = outcome.sent;
    n.updated_at = ctx_.clock->NowUtc();
    if (sent.ok()) {
      n.state = "sent";
      ++counts_.sent;
      failures_in_a_row_ = 0;
    } else if (failure == transports::SmtpFailure::kUncertain) {
      // The server may have it: left "sending", with why.
      n.error = "uncertain: " + sent.message();
      ++counts_.uncertain;
      ++failures_in_a_row_;
      last_error_ = sent.message();
    } else if (failure == transports::SmtpFailure::kInvalid && !p.contact.address.empty()) {
      // An address no server would take (nothing was sent): the post
      // reaches the person instead.
      return ByLetter(p);
    } else {
      n.state = "failed";
      n.error = sent.message();
      ++counts_.failed;
      last_error_ = sent.message();
      // An address no server would take says nothing about the server.
      if (failure != transports::SmtpFailure::kInvalid) ++failures_in_a_row_;
    }
    if (Status s = recorder_.Final(n); !s.ok()) return s;
    Progress();
    if (failures_in_a_row_ >= kMaxFailuresInARow) stop_reason_ = "smtp";
    return Status::Ok();
  }

  Status ByLetter(Person& p) {
    auto notice = Render(p.contact, items_.Labels(p.items));
    if (!notice.ok()) return notice.status();
    const std::string dir = letters_dir();
    std::error_code ec;
    fs::create_directories(dir, ec);
    if (ec) return Status::Io(who_ + ": cannot make the letters folder " + dir);
    const std::string path = (fs::path(dir) / FileNameOf(p.notice.subscriber_id)).string();
    IncidentNotice n = Next(p, "letter", "letter");
    ++n.attempts;
    Status written = WriteLetter(path,
                                 {p.contact.postal_code, p.contact.address,
                                  p.contact.name.empty() ? "ご契約者" : p.contact.name, "様"},
                                 mail_.op, ctx_.clock->Today(),
                                 "事案番号 " + std::to_string(incident_.id), notice.value());
    if (!written.ok()) return written;  // the disk, not the person: stop
    ++counts_.letters;
    if (Status s = recorder_.Final(n); !s.ok()) return s;
    Progress();
    return Status::Ok();
  }

  Status NoContact(Person& p) {
    ++counts_.no_contact;
    if (p.notice.state == "no-contact") return Status::Ok();
    return recorder_.Final(Next(p, "no-contact", ""));
  }

  Context& ctx_;
  const IncidentNotifyArgs& args_;
  const contracts::Incident& incident_;
  const MailSetup& mail_;
  const NoticeTemplate& template_;
  const std::string contractor_name_;
  const ExportSpec& contacts_;
  Recorder recorder_;
  Items items_;
  std::unique_ptr<MailWorker> mailer_;
  // The message on the wire: its notice ("sending") and person.
  struct InFlight {
    IncidentNotice notice;
    Person* person;
  };
  std::optional<InFlight> in_flight_;
  const std::string who_;
  Counts counts_;
  int failures_in_a_row_ = 0;
  std::string stop_reason_;  // "limit" | "smtp" | ""
  std::string last_error_;   // the last SMTP error, no personal data
};

int64_t CountOf(const std::map<std::string, int64_t>& counts, const std::string& state) {
  const auto it = counts.find(state);
  return it == counts.end() ? 0 : it->second;
}

}  // namespace

Result<Output> IncidentNotify(Context& ctx, const IncidentNotifyArgs& args) {
  const std::string who = "incident " + std::to_string(args.id);
  if (args.limit < 0) return Result<Output>::Error(who + ": --limit must be 0 (all) or more");
  if (args.contacts.empty()) return Result<Output>::Error(who + ": --contacts EXPORT is required");
  auto found = ctx.store->FindIncident(args.id);
  if (!found.ok()) return found.status();
  if (!found.value()) return Status::NotFound("unknown incident " + std::to_string(args.id));
  const contracts::Incident incident = std::move(*found.value());

  auto contacts = ReadExportSpec(args.contacts);
  if (!contacts.ok()) return contacts.status();
  if (!contacts->has_email && !contacts->has_address) {
    return Result<Output>::Error(who + ": " + args.contacts +
                                 " has neither an email nor an address column; a notice needs "
                                 "one of them");
  }
  auto mail = ResolveMail(ctx, MailConfig{});
  if (!mail.ok()) return mail.status();
  // Nothing leaves signed by a placeholder, nor without the operator's
  // address and telephone: the person must be able to ask.
  std::string why = PlaceholderRefusal(mail->op, "a notice to the persons",
                                       {"operator_name", "operator_address", "operator_phone"});
  if (why.empty() && contacts->has_email) why = MailRefusal(mail.value());
  if (!why.empty()) return Status::Refused(who + ": " + why);
  if (contacts->has_email && !mail->smtp) {
    return Result<Output>::Error(who +
                                 ": the contacts file has e-mail addresses, but no SMTP server is "
                                 "configured ([smtp] url in the daemon's config, or ITAKU_SMTP)");
  }
  auto notice = IncidentTemplate(mail->templates_dir);
  if (!notice.ok()) return notice.status();
  auto contractor = ctx.store->FindContractor(incident.contractor_id);
  if (!contractor.ok()) return contractor.status();
  const std::string contractor_name =
      contractor.value() ? contractor.value()->name : incident.contractor_id;

  NoticeRun run(ctx, args, incident, mail.value(), notice.value(), contractor_name,
                contacts.value());
  if (Status s = run.CheckTemplate(); !s.ok()) return s;
  Status ran = run.Run();
  if (!ran.ok()) (void)run.Finish();  // what was done is kept

  auto after = ctx.store->CountIncidentNotices(incident.id);
  if (!after.ok()) return after.status();
  const auto& states = after.value();
  const Counts& c = run.counts();
  const int64_t to_notify = CountOf(states, "pending") + CountOf(states, "failed");
  const int64_t uncertain = CountOf(states, "sending");

  Json details = {{"run", c.ToJson()},
                  {"via", {{"email", c.sent}, {"letter", c.letters}}},
                  {"notices", states},
                  {"limit", args.limit},
                  {"resend_uncertain", args.resend_uncertain}};
  if (run.stopped()) details["stopped"] = run.stop_reason();
  if (!ran.ok()) details["error"] = ran.message();
  Status audited = ctx.audit->Append(ctx.actor, "incident.notify",
                                     "incident:" + std::to_string(incident.id), details);

  const std::string resume = "; run the same command again to resume";
  if (!ran.ok()) {
    return ran.WithMessage(WithAuditFailure(
        who + ": notices stopped: " + ran.message() + " (" + std::to_string(c.sent) +
            " sent in this run, " + std::to_string(to_notify) + " still to notify)" + resume,
        audited));
  }
  if (run.stop_reason() == "smtp") {
    return Status::Network(WithAuditFailure(
        who + ": notices stopped: the SMTP server failed " + std::to_string(kMaxFailuresInARow) +
            " messages in a row (last: " + run.last_error() + "); " + std::to_string(c.sent) +
            " sent in this run, " + std::to_string(to_notify) + " still to notify" + resume,
        audited));
  }
  if (!audited.ok()) return audited;

  Output out;
  out.json = {{"incident", incident.id},
              {"run", c.ToJson()},
              {"notices", states},
              {"still_to_notify", to_notify},
              {"uncertain", uncertain},
              {"no_contact", CountOf(states, "no-contact")},
              {"complete", to_notify == 0 && uncertain == 0}};
  if (run.stopped()) out.json["stopped"] = run.stop_reason();
  if (c.letters > 0) out.json["letters_dir"] = run.letters_dir();
  std::string t = who + ": notices to the persons (policy 7(1)[1])";
  auto line = [&](const std::string& label, int64_t n, const std::string& note = "") {
    std::string padded = label;
    padded.resize(std::max<size_t>(padded.size(), 24), ' ');
    t += "\n  " + padded + std::to_string(n) + (note.empty() || n == 0 ? "" : "  " + note);
  };
  line("sent by e-mail:", c.sent);
  line("letters to print:", c.letters, "(" + run.letters_dir() + ")");
  line("no contact:", c.no_contact, "(neither e-mail nor postal address in the contacts file)");
  line("failed:", c.failed, "(tried again when the command is run again)");
  line("not in contacts file:", c.not_in_contacts, "(left pending)");
  line("uncertain:", uncertain,
       "(cut off after the message went out; not sent again unless --resend-uncertain)");
  line("still to notify:", to_notify);
  if (run.stop_reason() == "limit") {
    t += "\nstopped at --limit " + std::to_string(args.limit) +
         (to_notify > 0 ? resume : std::string());
  }
  out.text = t;
  return out;
}

}  // namespace itaku::gateway
