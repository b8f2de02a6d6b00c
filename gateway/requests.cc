#include "gateway/requests.h"

#include <toml++/toml.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <set>
#include <sstream>
#include <streambuf>
#include <thread>

#include "contracts/base/files.h"
#include "contracts/base/layout.h"
#include "contracts/base/strings.h"
#include "contracts/record_json.h"
#include "gateway/detail/command_util.h"
#include "gateway/detail/request_mail.h"
#include "gateway/letters.h"
#include "gateway/notices.h"
#include "gateway/records_json.h"
#include "policies/catalog.h"
#include "policies/csv.h"
#include "policies/request_rules.h"

namespace itaku::gateway {
namespace fs = std::filesystem;
namespace {

using Json = nlohmann::json;
using contracts::CorrectiveRequest;
using contracts::RequestState;
using contracts::SpecialRequest;
using policies::RequestStep;

constexpr const char* kChannels[] = {"phone", "letter", "web", "counter"};
constexpr const char* kDecideKey = "requests.decide_within_days";
constexpr const char* kNotifyKey = "requests.notify_within_days";

Json OptionalBool(const std::optional<bool>& b) { return b ? Json(*b) : Json(); }

// The stored spelling (contracts/record_json.h), with the id and whether
// the requester has been told; the requester's address stays in the store.
Json RequestJson(const CorrectiveRequest& r) {
  Json j = contracts::ToJson(r);
  j.erase("contact_email");
  j["id"] = r.id;
  j["notified"] = r.state == RequestState::kNotified;
  return j;
}

// What the audit trail keeps of a step: who, what state, the yes/no
// answers and the hashes of the texts (the texts stay in the store: a
// subscriber's own words may hold personal data).
Json StepDetails(const CorrectiveRequest& r, const std::string& text) {
  Json j = {{"subscriber", r.subscriber_id},
            {"contractor", r.contractor_id},
            {"state", contracts::ToString(r.state)},
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
  if (!r.value()) return Status::NotFound("unknown request " + std::to_string(id));
  return *r.value();
}

// Checks the step against the rules; refusals are joined into one line.
Status CheckStep(const CorrectiveRequest& r, RequestStep step, const policies::StepInput& in) {
  std::vector<std::string> why = policies::RefuseStep(r, step, in);
  if (why.empty()) return Status::Ok();
  const std::string line = "request " + std::to_string(r.id) + ": cannot " +
                           std::string(policies::ToString(step)) + ": " + Join(why, "; ");
  // A request already at or past where the step would take it was acted on
  // (perhaps by someone else a moment ago): a conflict, with its state now.
  if (r.state >= policies::StateAfter(r, step, in)) {
    return Status::Conflict(line + " (it is " + std::string(contracts::ToString(r.state)) + ")");
  }
  return Status::Refused(line);
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

// Takes `step` on request `id`: checks the rules, lets `record` write what
// the step records (it is given the time), moves the request to its next
// state, and saves and audits it (the audit keeps `text`'s hash).
Result<CorrectiveRequest> TakeStep(
    Context& ctx, int64_t id, RequestStep step, policies::StepInput in, const std::string& text,
    const std::function<void(CorrectiveRequest&, const std::string& now)>& record) {
  auto r = BeginStep(ctx, id, step, in);
  if (!r.ok()) return r.status();
  CorrectiveRequest next = std::move(r).value();
  record(next, ctx.clock->NowUtc());
  next.state = policies::StateAfter(next, step, in);
  if (Status s = SaveStep(ctx, next, step, text); !s.ok()) return s;
  return next;
}

Output RequestOutput(const CorrectiveRequest& r, const std::string& text) {
  Json j = RequestJson(r);
  return Output{j, text};
}

// A notice or letter that may not go out. Like every refused step, it is
// recorded by the caller (the staff session appends "<command>.refused").
Status Refuse(int64_t id, const std::string& why) {
  return Status::Refused("request " + std::to_string(id) + ": " + why);
}

}  // namespace

Result<Output> RequestAdd(Context& ctx, const RequestAddArgs& a) {
  using R = Result<Output>;
  if (a.subscriber.empty()) return R::Error("request: --subscriber is required");
  // Kept as normalised, as deliveries record their subscribers.
  auto subscriber = TypedSubscriberId(ctx, a.subscriber);
  if (!subscriber.ok()) return R::Error("request: " + subscriber.message());
  if (!OneOf(a.channel, kChannels)) {
    return R::Error("request: --channel must be phone, letter, web or counter");
  }
  if (a.text.empty()) return R::Error("request: --text (what was asked) is required");
  auto c = ctx.store->FindContractor(a.contractor);
  if (!c.ok()) return c.status();
  if (!c.value()) return R::Error("request: unknown contractor " + a.contractor);
  CorrectiveRequest r;
  r.subscriber_id = *subscriber;
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
  auto next = TakeStep(ctx, id, RequestStep::kDecide, in, reason,
                       [&](CorrectiveRequest& q, const std::string& now) {
                         q.justified = justified;
                         q.decision_reason = reason;
                         q.decided_by = ctx.actor;
                         q.decided_at = now;
                       });
  if (!next.ok()) return next.status();
  return RequestOutput(
      *next,
      "request " + std::to_string(id) +
          " decided: " + (*justified ? "justified" : "not justified") + " (" + ctx.actor + ")" +
          (*justified ? "; next: itaku request instruct " + std::to_string(id) + " --text ..."
                      : "; next: itaku request notify " + std::to_string(id)));
}

Result<Output> RequestInstruct(Context& ctx, int64_t id, const std::string& text,
                               const MailConfig& config, bool letter) {
  policies::StepInput in;
  in.text = text;
  auto r = BeginStep(ctx, id, RequestStep::kInstruct, in);
  if (!r.ok()) return r.status();
  auto contractor = ctx.store->FindContractor(r->contractor_id);
  if (!contractor.ok()) return contractor.status();
  if (!contractor.value()) return Status::NotFound("unknown contractor " + r->contractor_id);
  auto mail = ResolveMail(ctx, config);
  if (!mail.ok()) return mail.status();
  auto tmpl = LoadTemplate("instruction", mail->templates_dir);
  if (!tmpl.ok()) return tmpl.status();
  auto notice = RenderTemplate("instruction", tmpl.value(),
                               {{"contractor_name", contractor.value()->name},
                                {"request_id", std::to_string(id)},
                                {"instruction_text", text},
                                {"received_on", FormatDate(JstDateOf(r->received_at))},
                                {"operator_name", mail->op.name}});
  if (!notice.ok()) return notice.status();

  CorrectiveRequest next = r.value();
  const contracts::Contractor& to = *contractor.value();
  const std::string email = letter ? std::string() : to.email;
  // Nothing leaves signed by a placeholder, nor for a contractor the post
  // cannot reach.
  std::string refusal = email.empty() ? LetterRefusal(*mail) : MailRefusal(*mail);
  if (refusal.empty() && email.empty() && to.address.empty()) {
    refusal = "contractor " + to.id +
              " has no postal address for the letter (itaku contractor update " + to.id +
              " --postal-code CODE --address ADDRESS)";
  }
  if (!refusal.empty()) return Refuse(id, refusal);
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
        (fs::path(mail->letters_dir) / ("request-" + std::to_string(id) + "-instruction.pdf"))
            .string();
    std::error_code ec;
    fs::create_directories(mail->letters_dir, ec);
    if (Status w =
            WriteLetter(path, {to.postal_code, to.address, to.name, "御中"}, mail->op,
                        ctx.clock->Today(), "受付番号 " + std::to_string(id), notice.value());
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
  auto next = TakeStep(ctx, id, RequestStep::kAnswer, in, text,
                       [&](CorrectiveRequest& q, const std::string& now) {
                         q.answer_text = text;
                         q.answered_by = ctx.actor;
                         q.answered_at = now;
                       });
  if (!next.ok()) return next.status();
  return RequestOutput(*next, "request " + std::to_string(id) + ": contractor's answer recorded");
}

Result<Output> RequestClose(Context& ctx, int64_t id, std::optional<bool> carried_out,
                            const std::string& reason) {
  policies::StepInput in;
  in.carried_out = carried_out;
  in.reason = reason;
  auto next = TakeStep(ctx, id, RequestStep::kClose, in, reason,
                       [&](CorrectiveRequest& q, const std::string& now) {
                         q.carried_out = carried_out;
                         q.close_reason = reason;
                         q.closed_by = ctx.actor;
                         q.closed_at = now;
                       });
  if (!next.ok()) return next.status();
  return RequestOutput(*next, "request " + std::to_string(id) +
                                  " closed: " + (*carried_out ? "carried out" : "not carried out") +
                                  "; next: itaku request notify " + std::to_string(id));
}

namespace {

// Who the outcome notice goes to: the request's own address first, then an
// export's row for the subscriber, then --email.
Result<Contact> RequesterContact(const CorrectiveRequest& r, const NotifyArgs& args) {
  Contact contact;
  contact.email = r.contact_email;
  if (!args.subscriber_data.empty()) {
    auto found = FindContact(args.subscriber_data, r.subscriber_id);
    if (!found.ok()) return found.status();
    if (!found.value()) {
      return Result<Contact>::Error("request " + std::to_string(r.id) + ": subscriber " +
                                    r.subscriber_id + " is not in " + args.subscriber_data);
    }
    contact = *found.value();
    if (!r.contact_email.empty()) contact.email = r.contact_email;
  }
  if (!args.email.empty()) contact.email = args.email;
  return contact;
}

Result<NoticeTemplate> OutcomeNotice(Context& ctx, const CorrectiveRequest& r,
                                     const Contact& contact, const MailSetup& mail) {
  auto contractor = ctx.store->FindContractor(r.contractor_id);
  if (!contractor.ok()) return contractor.status();
  auto tmpl = LoadTemplate("outcome", mail.templates_dir);
  if (!tmpl.ok()) return tmpl.status();
  const policies::NoticeOutcome outcome = policies::OutcomeForNotice(r);
  return RenderTemplate(
      "outcome", tmpl.value(),
      {{"subscriber_name", contact.name.empty() ? std::string("ご契約者") : contact.name},
       {"request_text", r.request_text},
       {"received_on", FormatDate(JstDateOf(r.received_at))},
       {"contractor_name", contractor.value() ? contractor.value()->name : r.contractor_id},
       {"outcome", outcome.carried_out ? "対応いたしました" : "対応いたしませんでした"},
       {"reason", outcome.carried_out ? std::string("―") : outcome.reason},
       {"operator_name", mail.op.name}});
}

// The notice as a printable letter; sets how it went in `next`.
Status NotifyByLetter(Context& ctx, const Contact& contact, const MailSetup& mail,
                      const NoticeTemplate& notice, CorrectiveRequest& next) {
  const std::string id = std::to_string(next.id);
  if (contact.address.empty()) {
    return Status::Error("request " + id + ": no e-mail address for subscriber " +
                         next.subscriber_id +
                         " and no postal address to write to (--email ADDRESS, or "
                         "--subscriber-data EXPORT with the subscriber's address)");
  }
  const std::string path =
      (fs::path(mail.letters_dir) / ("request-" + id + "-outcome.pdf")).string();
  std::error_code ec;
  fs::create_directories(mail.letters_dir, ec);
  if (Status w = WriteLetter(path,
                             {contact.postal_code, contact.address,
                              contact.name.empty() ? "ご契約者" : contact.name, "様"},
                             mail.op, ctx.clock->Today(), "受付番号 " + id, notice);
      !w.ok())
    return w;
  next.notice_via = "letter";
  next.notice_to = path;
  return Status::Ok();
}

// The notice by e-mail; a failure stays on the request (for the overdue
// list) and in the audit trail, and the request is not notified.
Status NotifyByMail(Context& ctx, const Contact& contact, const MailSetup& mail,
                    const MailConfig& config, const NoticeTemplate& notice,
                    CorrectiveRequest& next) {
  const std::string id = std::to_string(next.id);
  if (!mail.smtp) {
    return Status::Error(
        "request " + id +
        ": no SMTP server is configured (--smtp URL, ITAKU_SMTP or [smtp] in --config)");
  }
  auto sent = SendWithRetries(*mail.smtp,
                              {contact.email, contact.name, notice.subject, notice.body}, config);
  if (sent.ok()) {
    next.notice_via = "email";
    next.notice_to = contact.email;
    return Status::Ok();
  }
  next.notice_error = sent.message();
  next.notice_error_at = ctx.clock->NowUtc();
  Status s = ctx.store->Transaction([&]() -> Status {
    if (Status u = ctx.store->UpdateCorrectiveRequest(next); !u.ok()) return u;
    return ctx.audit->Append(ctx.actor, "request.notify.failed", "request:" + id,
                             {{"subscriber", next.subscriber_id}, {"error", sent.message()}});
  });
  if (!s.ok()) return s;
  return Status::Error("request " + id +
                       ": not yet notified, the notice was not accepted: " + sent.message());
}

}  // namespace

Result<Output> RequestNotify(Context& ctx, int64_t id, const NotifyArgs& args,
                             const MailConfig& config) {
  policies::StepInput notify_in;
  auto r = BeginStep(ctx, id, RequestStep::kNotify, notify_in);
  if (!r.ok()) return r.status();
  auto contact = RequesterContact(r.value(), args);
  if (!contact.ok()) return contact.status();
  auto mail = ResolveMail(ctx, config);
  if (!mail.ok()) return mail.status();
  auto notice = OutcomeNotice(ctx, r.value(), contact.value(), mail.value());
  if (!notice.ok()) return notice.status();

  CorrectiveRequest next = r.value();
  const bool by_letter = args.letter || contact->email.empty();
  // Nothing leaves signed by a placeholder.
  if (std::string why = by_letter ? LetterRefusal(*mail) : MailRefusal(*mail); !why.empty()) {
    return Refuse(id, why);
  }
  Status sent =
      by_letter ? NotifyByLetter(ctx, contact.value(), mail.value(), notice.value(), next)
                : NotifyByMail(ctx, contact.value(), mail.value(), config, notice.value(), next);
  if (!sent.ok()) return sent;
  next.notice_subject = notice->subject;
  next.notice_text = notice->body;
  next.notice_error.clear();
  next.notice_error_at.clear();
  next.notified_by = ctx.actor;
  next.notified_at = ctx.clock->NowUtc();
  next.state = policies::StateAfter(next, RequestStep::kNotify, {});
  if (Status s = SaveStep(ctx, next, RequestStep::kNotify, notice->body); !s.ok()) return s;
  const bool done = policies::OutcomeForNotice(next).carried_out;
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
  t << "request " << q.id << ": " << contracts::ToString(q.state)
    << (overdue.empty() ? "" : " — " + Join(overdue)) << "\nsubscriber: " << q.subscriber_id
    << "\ncontractor: " << q.contractor_id << "\nreceived: " << ShowJst(q.received_at) << " by "
    << q.received_by << " (" << q.channel << ")"
    << "\nasked: " << q.request_text;
  if (!q.decided_at.empty()) {
    t << "\ndecided: " << ShowJst(q.decided_at) << " by " << q.decided_by << ": "
      << (*q.justified ? "justified" : "not justified") << " — " << q.decision_reason;
  }
  if (!q.instructed_at.empty()) {
    t << "\ninstructed: " << ShowJst(q.instructed_at) << " by " << q.instructed_by << " via "
      << q.instruction_via << ": " << q.instruction_text;
  }
  if (!q.answered_at.empty()) {
    t << "\nanswered: " << ShowJst(q.answered_at) << ": " << q.answer_text;
  }
  if (!q.closed_at.empty()) {
    t << "\nclosed: " << ShowJst(q.closed_at) << " by " << q.closed_by << ": "
      << (*q.carried_out ? "carried out" : "not carried out")
      << (q.close_reason.empty() ? "" : " — " + q.close_reason);
  }
  if (!q.notified_at.empty()) {
    t << "\nnotified: " << ShowJst(q.notified_at) << " by " << q.notified_by << " via "
      << q.notice_via;
  } else if (!q.notice_error.empty()) {
    t << "\nnot yet notified: last attempt " << ShowJst(q.notice_error_at)
      << " failed: " << q.notice_error;
  }
  return Output{j, t.str()};
}

Result<std::vector<ListedRequest>> ListRequests(Context& ctx, bool overdue_only,
                                                const std::optional<std::string>& contractor,
                                                std::optional<RequestState> state) {
  auto list = ctx.store->ListCorrectiveRequests(contractor, state);
  if (!list.ok()) return list.status();
  auto deadlines = LoadDeadlines(ctx);
  if (!deadlines.ok()) return deadlines.status();
  const Date today = ctx.clock->Today();
  std::vector<ListedRequest> out;
  for (CorrectiveRequest& r : list.value()) {
    std::vector<std::string> overdue =
        policies::OverdueReasons(r, JstDateOf(r.received_at), deadlines.value(), today);
    if (overdue_only && overdue.empty()) continue;
    out.push_back({std::move(r), std::move(overdue)});
  }
  return out;
}

Result<Output> RequestList(Context& ctx, bool overdue_only,
                           const std::optional<std::string>& contractor,
                           const std::optional<std::string>& state) {
  std::optional<RequestState> wanted;
  if (state) {
    wanted = contracts::Parse<RequestState>(*state);
    if (!wanted) {
      return Result<Output>::Error("unknown state " + *state +
                                   " (received, decided, instructed, answered, closed, notified)");
    }
  }
  auto list = ListRequests(ctx, overdue_only, contractor, wanted);
  if (!list.ok()) return list.status();
  Output out{Json::array(), ""};
  for (const auto& [r, overdue] : list.value()) {
    Json j = {{"id", r.id},
              {"subscriber", r.subscriber_id},
              {"contractor", r.contractor_id},
              {"state", contracts::ToString(r.state)},
              {"received_at", r.received_at},
              {"justified", OptionalBool(r.justified)},
              {"notified", r.state == RequestState::kNotified},
              {"notice_error", r.notice_error},
              {"overdue", overdue}};
    out.json.push_back(j);
    out.text +=
        "#" + std::to_string(r.id) + "\t" + std::string(contracts::ToString(r.state)) + "\t" +
        r.subscriber_id + "\t" + r.contractor_id + "\treceived " + ShowJst(r.received_at) +
        (r.state != RequestState::kNotified && !r.notice_error.empty() ? "\tnot yet notified"
                                                                       : "") +
        (overdue.empty() ? "" : "\t" + Join(overdue)) + "\n";
  }
  if (out.text.empty()) out.text = overdue_only ? "no overdue requests\n" : "no requests\n";
  out.text.pop_back();
  return out;
}

Result<Output> RequestDeadlinesCommand(Context& ctx, std::optional<int> decide_within,
                                       std::optional<int> notify_within) {
  auto current = LoadDeadlines(ctx);
  if (!current.ok()) return current.status();
  policies::RequestDeadlines d = current.value();
  if (decide_within) d.decide_within_days = *decide_within;
  if (notify_within) d.notify_within_days = *notify_within;
  if (std::string why = policies::DeadlinesRefusal(d); !why.empty()) {
    return Result<Output>::Error(why);
  }
  Json j = {{"decide_within_days", d.decide_within_days},
            {"notify_within_days", d.notify_within_days}};
  // Changing what "without delay" means takes a second person.
  Json changes = Json::array();
  if (d.decide_within_days != current->decide_within_days) {
    changes.push_back({{"item", "decide_within_days"},
                       {"from", current->decide_within_days},
                       {"to", d.decide_within_days}});
  }
  if (d.notify_within_days != current->notify_within_days) {
    changes.push_back({{"item", "notify_within_days"},
                       {"from", current->notify_within_days},
                       {"to", d.notify_within_days}});
  }
  if (auto proposed = ProposeIfWidening(ctx, "requests:deadlines", changes)) return *proposed;
  if (!changes.empty()) {
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
