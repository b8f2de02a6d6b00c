// Staff, special requests (policy 6(1)) and corrective-action requests with
// outcome notices (6(3)-(4)): one function per CLI command, as in
// commands.h. Every step is audited with its actor and time; refusals are
// one line naming the request, the actor or the clause.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "contracts/base/status.h"
#include "gateway/context.h"
#include "policies/projector.h"
#include "policies/request_rules.h"
#include "transports/smtp_client.h"

namespace itaku::gateway {

using transports::MailMessage;
using transports::SmtpSettings;

// Registers OS user `os_user` as staff member `name`. Operators and
// auditors at once; a privacy officer through a proposal (ctx.propose).
Result<Output> StaffAdd(Context& ctx, const std::string& name, const std::string& os_user,
                        const std::string& role);
Result<Output> StaffList(Context& ctx);
// Refuses to remove the only privacy officer.
Result<Output> StaffRemove(Context& ctx, const std::string& name);
// A one-time code with which `name` sets their console password and TOTP
// (gateway/console): valid for kEnrolmentHours, shown once, kept only as
// its hash. Issuing a new one replaces any earlier code; enrolling with it
// replaces the member's password and TOTP and ends their sessions (a lost
// phone, a forgotten password).
Result<Output> StaffEnrolCode(Context& ctx, const std::string& name);
constexpr int kEnrolmentHours = 72;
// `itaku init --officer OSUSER`: the first privacy officer, on an empty staff list.
Result<Output> InitOfficer(Context& ctx, const std::string& os_user);

// The caller as the staff API knows them.
Result<Output> Whoami(Context& ctx);

// Proposals (two-person rule): list (pending ones unless `all`), show with
// the field-by-field changes, and approve (carries the change out through
// ctx.carry_out) or reject. policies/access_rules.h says who may decide.
Result<Output> ApprovalList(Context& ctx, bool all);
Result<Output> ApprovalShow(Context& ctx, int64_t id);
Result<Output> ApprovalDecide(Context& ctx, int64_t id, bool approve, const std::string& note);

struct SpecialArgs {
  std::string subscriber;
  std::string contractor;  // one of contractor and purpose
  std::string purpose;
  bool exclude = false;  // one of exclude, withhold and extend
  std::vector<std::string> withhold;
  std::vector<std::string> extend;
  std::string consent_file;  // required with extend
  std::string from;          // default: today
  std::string until;         // default: open-ended
};
// Accepted for an id no delivery has carried so far, with a warning (text
// "warning: ..." lines, JSON "warnings"): it may be mistyped.
Result<Output> SpecialAdd(Context& ctx, const SpecialArgs& args);
Result<Output> SpecialList(Context& ctx, const std::optional<std::string>& subscriber, bool all);
// The operator who entered a special request, or a privacy officer, ends
// it, with a reason (policies::SpecialEndRefusal).
Result<Output> SpecialEnd(Context& ctx, int64_t id, const std::string& reason);

// The special requests in force today for a delivery to `contractor` under
// `purpose` (policies::ShapeBySpecialRequests over the stored ones).
using policies::SpecialShaping;
Result<SpecialShaping> ShapeBySpecialRequests(Context& ctx, const std::string& contractor,
                                              const std::string& purpose,
                                              const std::vector<std::string>& profile_fields);

// Where notices go: --smtp, else $ITAKU_SMTP, else the [smtp] table of the
// config file; a password only from $ITAKU_SMTP_PASSWORD or the config's
// password_env. Empty url: no SMTP configured.
struct MailConfig {
  std::string smtp_url;
  std::string config_file;  // TOML with [smtp] url, from, from_name, ca_file, password_env,
                            // require_tls; [requests] decide_within_days, notify_within_days,
                            // operator_name, templates
  std::string letters_dir;  // default "<db>.d/letters"
  int send_attempts = 3;    // a failed send is retried this many times in all
  double retry_wait_s = 1;  // before the first retry, doubling
};

struct RequestAddArgs {
  std::string subscriber, contractor, channel, text, email, received_at;
};
Result<Output> RequestAdd(Context& ctx, const RequestAddArgs& args);
Result<Output> RequestDecide(Context& ctx, int64_t id, std::optional<bool> justified,
                             const std::string& reason);
// By e-mail to the contractor's address, or as a letter (PDF for a window
// envelope, to the contractor's registered postal address) when it has
// none or `letter` asks for one. Refused while the operator's details the
// notice needs are still placeholders (see operator_identity.h), and a
// letter while the contractor has no postal address.
Result<Output> RequestInstruct(Context& ctx, int64_t id, const std::string& text,
                               const MailConfig& mail, bool letter = false);
Result<Output> RequestAnswer(Context& ctx, int64_t id, const std::string& text);
Result<Output> RequestClose(Context& ctx, int64_t id, std::optional<bool> carried_out,
                            const std::string& reason);
struct NotifyArgs {
  std::string email;            // overrides the request's contact address
  std::string subscriber_data;  // an export holding the subscriber's name, address, e-mail
  bool letter = false;          // a printable letter even when an e-mail address is known
};
Result<Output> RequestNotify(Context& ctx, int64_t id, const NotifyArgs& args,
                             const MailConfig& mail);
Result<Output> RequestShow(Context& ctx, int64_t id);
// Requests (or one contractor's, or in one state), each with why it is
// overdue today (empty when it is not); only overdue ones when asked.
struct ListedRequest {
  contracts::CorrectiveRequest request;
  std::vector<std::string> overdue;
};
Result<std::vector<ListedRequest>> ListRequests(Context& ctx, bool overdue_only,
                                                const std::optional<std::string>& contractor,
                                                std::optional<contracts::RequestState> state);
Result<Output> RequestList(Context& ctx, bool overdue, const std::optional<std::string>& contractor,
                           const std::optional<std::string>& state);
// Shows, and with values sets, the deadlines (stored in the store).
Result<Output> RequestDeadlinesCommand(Context& ctx, std::optional<int> decide_within,
                                       std::optional<int> notify_within);

}  // namespace itaku::gateway
