// CLI: staff, special requests and corrective-action requests.
#include "gateway/cli_commands.h"
#include "gateway/commands.h"
#include "gateway/portal_commands.h"
#include "gateway/requests.h"

namespace itaku::gateway {
namespace {

class StaffSpecial : public CommandGroup {
 public:
  using CommandGroup::CommandGroup;
  void Register(CLI::App& app) override {
    RegisterStaffCommands(app);
    RegisterSpecialCommands(app);
    RegisterApprovalCommands(app);
  }

 private:
  void RegisterStaffCommands(CLI::App& app) {
    CLI::App* staff = Group(app, "staff", "staff and their roles");
    CLI::App* s_add = Sub(*staff, "add", "register a staff member");
    s_add->add_option("name", s_name)->required();
    s_add->add_option("--os-user", s_os_user, "the OS account they sign in to this machine with")
        ->required();
    s_add->add_option("--role", s_role, "operator | privacy-officer | auditor")->required();
    on(s_add, "staff.add",
       [&](Context& c) { return itaku::gateway::StaffAdd(c, s_name, s_os_user, s_role); });
    CLI::App* s_list = Sub(*staff, "list", "list staff");
    on(s_list, "staff.list", [](Context& c) { return itaku::gateway::StaffList(c); });
    CLI::App* s_remove = Sub(*staff, "remove", "remove a staff member");
    s_remove->add_option("name", s_name)->required();
    on(s_remove, "staff.remove",
       [&](Context& c) { return itaku::gateway::StaffRemove(c, s_name); });
    CLI::App* s_code = Sub(*staff, "enrol-code",
                           "issue a one-time code with which a staff member sets their console "
                           "password and authenticator (TOTP)");
    s_code->add_option("name", s_name)->required();
    on(s_code, "staff.enrol-code",
       [&](Context& c) { return itaku::gateway::StaffEnrolCode(c, s_name); });
  }
  void RegisterApprovalCommands(CLI::App& app) {
    CLI::App* whoami =
        Sub(app, "whoami", "who the daemon knows you as (your OS account's staff record)");
    on(whoami, "whoami", [](Context& c) { return itaku::gateway::Whoami(c); });
    CLI::App* approval = Group(
        app, "approval", "changes that widen what or where data goes, waiting for a second person");
    CLI::App* a_list = Sub(*approval, "list", "proposals waiting for approval");
    a_list->add_flag("--all", a_all, "decided and expired ones too");
    on(a_list, "approval.list", [&](Context& c) { return itaku::gateway::ApprovalList(c, a_all); });
    CLI::App* a_show = Sub(*approval, "show", "one proposal and exactly what it changes");
    a_show->add_option("id", a_id)->required();
    on(a_show, "approval.show", [&](Context& c) { return itaku::gateway::ApprovalShow(c, a_id); });
    for (const bool approve : {true, false}) {
      const std::string verb = approve ? "approve" : "reject";
      CLI::App* d = Sub(*approval, verb, verb + " a proposal (not your own)");
      d->add_option("id", a_id)->required();
      d->add_option("--note", a_note, "why (kept in the audit trail)");
      on(d, "approval." + verb, [&, approve](Context& c) {
        return itaku::gateway::ApprovalDecide(c, a_id, approve, a_note);
      });
    }
  }
  void RegisterSpecialCommands(CLI::App& app) {
    CLI::App* special =
        Group(app, "special", "a subscriber's special requests about a contractor (policy 6(1))");
    CLI::App* sp_add = Sub(*special, "add", "record a special request");
    sp_add->add_option("--subscriber", sp.subscriber)->required();
    sp_add->add_option("--contractor", sp.contractor, "the contractor it concerns");
    sp_add->add_option("--purpose", sp.purpose, "or every contractor working for this purpose");
    sp_add->add_flag("--exclude", sp.exclude, "leave the subscriber out entirely");
    sp_add->add_option("--withhold", sp.withhold, "fields not to pass on for this subscriber");
    sp_add->add_option("--extend", sp.extend, "fields to pass on as well, with consent");
    Input(sp_add->add_option("--consent", sp.consent_file, "the consent evidence (with --extend)"));
    sp_add->add_option("--from", sp.from, "in force from (default today)");
    sp_add->add_option("--until", sp.until, "in force until (default open)");
    on(sp_add, "special.add", [&](Context& c) { return itaku::gateway::SpecialAdd(c, sp); });
    CLI::App* sp_list = Sub(*special, "list", "list special requests in force");
    sp_list->add_option("--subscriber", sp_subscriber);
    sp_list->add_flag("--all", sp_all, "ended ones too");
    on(sp_list, "special.list",
       [&](Context& c) { return itaku::gateway::SpecialList(c, sp_subscriber, sp_all); });
    CLI::App* sp_end = Sub(*special, "end",
                           "end a special request (the staff member who entered it, or a "
                           "privacy officer)");
    sp_end->add_option("id", sp_id)->required();
    sp_end->add_option("--reason", sp_reason, "why (kept in the audit trail)")->required();
    on(sp_end, "special.end",
       [&](Context& c) { return itaku::gateway::SpecialEnd(c, sp_id, sp_reason); });
  }

  std::string s_name, s_os_user, s_role;
  bool a_all = false;
  int64_t a_id = 0;
  std::string a_note;
  itaku::gateway::SpecialArgs sp;
  std::optional<std::string> sp_subscriber;
  bool sp_all = false;
  int64_t sp_id = 0;
  std::string sp_reason;
};

class Requests : public CommandGroup {
 public:
  using CommandGroup::CommandGroup;
  void Register(CLI::App& app) override {
    CLI::App* request = RegisterSteps(app);
    RegisterNotices(request);
  }

 private:
  // add, decide, instruct, answer, close.
  CLI::App* RegisterSteps(CLI::App& app) {
    CLI::App* request =
        Group(app, "request", "corrective-action requests and outcome notices (policy 6(3)-(4))");

    CLI::App* r_add = Sub(*request, "add", "record a request as received");
    r_add->add_option("--subscriber", ra.subscriber, "the requester's subscriber id")->required();
    r_add->add_option("--contractor", ra.contractor, "the contractor concerned")->required();
    r_add->add_option("--channel", ra.channel, "phone | letter | web | counter")->required();
    r_add->add_option("--text", ra.text, "what was asked")->required();
    r_add->add_option("--email", ra.email,
                      "where the outcome notice goes, when the requester gave it");
    r_add->add_option("--received-at", ra.received_at, "when it came in (default now)");
    on(r_add, "request.add", [&](Context& c) { return itaku::gateway::RequestAdd(c, ra); });
    CLI::App* r_decide = Sub(*request, "decide", "judge a request (privacy officer)");
    r_decide->add_option("id", r_id)->required();
    auto* justified = r_decide->add_flag("--justified", r_yes);
    r_decide->add_flag("--not-justified", r_no)->excludes(justified);
    r_decide->add_option("--reason", r_reason)->required();
    on(r_decide, "request.decide", [&](Context& c) {
      std::optional<bool> j;
      if (r_yes || r_no) j = r_yes;
      return itaku::gateway::RequestDecide(c, r_id, j, r_reason);
    });
    CLI::App* r_instruct = Sub(*request, "instruct", "instruct the contractor (e-mail or letter)");
    r_instruct->add_option("id", r_id)->required();
    r_instruct->add_option("--text", r_text, "the instruction")->required();
    r_instruct->add_flag("--letter", r_letter,
                         "a printable letter (PDF) to the contractor's postal address even when "
                         "it has an e-mail address");
    mail_options(r_instruct);
    on(r_instruct, "request.instruct", [&](Context& c) {
      return itaku::gateway::RequestInstruct(c, r_id, r_text, mail, r_letter);
    });
    CLI::App* r_answer = Sub(*request, "answer", "record what the contractor reported");
    r_answer->add_option("id", r_id)->required();
    r_answer->add_option("--text", r_text)->required();
    on(r_answer, "request.answer",
       [&](Context& c) { return itaku::gateway::RequestAnswer(c, r_id, r_text); });
    CLI::App* r_close = Sub(*request, "close", "record whether it was carried out");
    r_close->add_option("id", r_id)->required();
    auto* carried = r_close->add_flag("--carried-out", r_yes);
    r_close->add_flag("--not-carried-out", r_no)->excludes(carried);
    r_close->add_option("--reason", r_reason, "why not (told to the requester, policy 6(4))");
    on(r_close, "request.close", [&](Context& c) {
      std::optional<bool> done;
      if (r_yes || r_no) done = r_yes;
      return itaku::gateway::RequestClose(c, r_id, done, r_reason);
    });
    return request;
  }
  // notify, show, list, deadlines.
  void RegisterNotices(CLI::App* request) {
    CLI::App* r_notify =
        Sub(*request, "notify", "tell the requester the outcome (e-mail or letter)");
    r_notify->add_option("id", r_id)->required();
    r_notify->add_option("--email", na.email, "the requester's address");
    Input(r_notify->add_option("--subscriber-data", na.subscriber_data,
                               "an export holding the requester's name, address and e-mail"));
    r_notify->add_flag("--letter", na.letter, "a printable letter even when an address is known");
    mail_options(r_notify);
    on(r_notify, "request.notify",
       [&](Context& c) { return itaku::gateway::RequestNotify(c, r_id, na, mail); });
    CLI::App* r_show = Sub(*request, "show", "one request, step by step");
    r_show->add_option("id", r_id)->required();
    on(r_show, "request.show", [&](Context& c) { return itaku::gateway::RequestShow(c, r_id); });
    CLI::App* r_list = Sub(*request, "list", "list requests");
    r_list->add_flag("--overdue", r_overdue, "only those past a deadline");
    r_list->add_option("--contractor", r_contractor);
    r_list->add_option("--state", r_state,
                       "received | decided | instructed | answered | closed | notified");
    on(r_list, "request.list", [&](Context& c) {
      return itaku::gateway::RequestList(c, r_overdue, r_contractor, r_state);
    });
    CLI::App* r_deadlines =
        Sub(*request, "deadlines", "show or set what \"without delay\" means, in days");
    r_deadlines->add_option("--decide-within", r_decide_within, "days from receipt (default 7)");
    r_deadlines->add_option("--notify-within", r_notify_within, "days from receipt (default 14)");
    // Showing the deadlines is open to everyone; setting them is an
    // officer's proposal (two-person rule).
    r_deadlines->callback([this] {
      Set(
          r_decide_within || r_notify_within ? "request.deadlines.set" : "request.deadlines",
          [this](Context& c) {
            return itaku::gateway::RequestDeadlinesCommand(c, r_decide_within, r_notify_within);
          },
          true, false);
    });
  }
  void mail_options(CLI::App* sub) {
    sub->add_option("--smtp", mail.smtp_url,
                    "SMTP server, smtp://[user@]host[:port] (else $ITAKU_SMTP or [smtp] in "
                    "--config); password from $ITAKU_SMTP_PASSWORD");
    Input(sub->add_option("--config", mail.config_file, "TOML with [smtp] and [requests] tables"));
    OutputFolder(sub->add_option("--letters", mail.letters_dir,
                                 "folder to receive the printable letters in (default: kept by "
                                 "the daemon in <db>.d/letters)"));
  }

  itaku::gateway::MailConfig mail;
  itaku::gateway::RequestAddArgs ra;
  int64_t r_id = 0;
  std::string r_reason, r_text;
  bool r_yes = false, r_no = false, r_letter = false;
  itaku::gateway::NotifyArgs na;
  bool r_overdue = false;
  std::optional<std::string> r_contractor, r_state;
  std::optional<int> r_decide_within, r_notify_within;
};

}  // namespace

std::unique_ptr<CommandGroup> StaffSpecialCommandGroup(CommandLine& line) {
  return std::make_unique<StaffSpecial>(line);
}
std::unique_ptr<CommandGroup> RequestCommandGroup(CommandLine& line) {
  return std::make_unique<Requests>(line);
}

}  // namespace itaku::gateway
