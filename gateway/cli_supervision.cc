// CLI: supervising contractors (policy 6 指示・監督): contracts, disposals,
// periodic checks and the register.
#include "gateway/cli_commands.h"
#include "gateway/incident.h"
#include "gateway/supervision.h"

namespace itaku::gateway {
namespace {

class Supervision : public CommandGroup {
 public:
  using CommandGroup::CommandGroup;
  void Register(CLI::App& app) override {
    RegisterContractCommands(app);
    RegisterDisposalCommands(app);
    RegisterCheckCommands(app);
    RegisterIncidentCommands(app);
    CLI::App* reg = Group(app, "register", "the register of contractors (委託先管理台帳)");
    CLI::App* r_export = Sub(*reg, "export", "write the register as CSV (UTF-8 with BOM) or PDF");
    r_export->add_option("--format", r_format, "csv or pdf")
        ->required()
        ->check(CLI::IsMember({"csv", "pdf"}));
    OutputFile(r_export->add_option("--out", r_out, "the file to write (not overwritten)"))
        ->required();
    on(r_export, "register.export",
       [&](Context& c) { return itaku::gateway::RegisterExport(c, r_format, r_out); });
  }

 private:
  void RegisterContractCommands(CLI::App& app) {
    CLI::App* contract =
        Group(app, "contract", "outsourcing contracts (業務委託契約) in the register");
    CLI::App* k_add = Sub(*contract, "add", "register a signed outsourcing contract");
    k_add->add_option("contractor", kargs.contractor)->required();
    k_add->add_option("--signed", kargs.signed_on, "signed on (YYYY-MM-DD)")->required();
    k_add->add_option("--from", kargs.from, "in force from (YYYY-MM-DD)")->required();
    k_add->add_option("--until", kargs.until, "in force until (YYYY-MM-DD)")->required();
    k_add
        ->add_option("--purpose", kargs.purposes,
                     "a purpose it covers (catalog id, e.g. billing; repeat for each)")
        ->required();
    k_add
        ->add_option("--incident-contact", kargs.incident_contact,
                     "who at the contractor answers for a leak (name, phone)")
        ->required();
    k_add
        ->add_option("--reoutsourcing", kargs.reoutsourcing,
                     "再委託: forbidden, approval (prior written approval) or named")
        ->required();
    Input(k_add->add_option("--document", kargs.document,
                            "the signed contract (copied into the store)"))
        ->required();
    on(k_add, "contract.add", [&](Context& c) { return itaku::gateway::ContractAdd(c, kargs); });
    CLI::App* k_list = Sub(*contract, "list", "list contracts with their subcontractors");
    k_list->add_option("--contractor", k_contractor);
    on(k_list, "contract.list",
       [&](Context& c) { return itaku::gateway::ContractList(c, k_contractor); });
    CLI::App* k_withdraw =
        Sub(*contract, "withdraw", "withdraw a contract entered in error (privacy officer)");
    k_withdraw->add_option("id", k_id)->required();
    k_withdraw->add_option("--reason", k_reason, "why (kept in the audit trail)")->required();
    on(k_withdraw, "contract.withdraw",
       [&](Context& c) { return itaku::gateway::ContractWithdraw(c, k_id, k_reason); });
    CLI::App* k_sub = Sub(*contract, "subcontractor",
                          "name a subcontractor under a contract (再委託先; privacy officer)");
    k_sub->add_option("contract", sargs.contract_id)->required();
    k_sub->add_option("--name", sargs.name, "the subcontractor's name")->required();
    k_sub->add_option("--work", sargs.work, "what it does for the contractor")->required();
    Input(k_sub->add_option("--nda", sargs.nda, "its signed NDA with the contractor"))->required();
    k_sub->add_option("--nda-from", sargs.nda_from, "its NDA in force from")->required();
    k_sub->add_option("--nda-until", sargs.nda_until, "its NDA in force until")->required();
    on(k_sub, "contract.subcontractor",
       [&](Context& c) { return itaku::gateway::SubcontractorAdd(c, sargs); });
  }

  void RegisterDisposalCommands(CLI::App& app) {
    CLI::App* disposal = Group(app, "disposal",
                               "return or destruction of delivered data (返却・廃棄) by the "
                               "delete-by day");
    CLI::App* d_list = Sub(*disposal, "list", "deliveries whose delete-by day has come");
    d_list->add_option("--contractor", d_contractor);
    d_list->add_flag("--overdue", d_overdue, "only those past their delete-by day");
    on(d_list, "disposal.list",
       [&](Context& c) { return itaku::gateway::DisposalList(c, d_contractor, d_overdue); });
    CLI::App* d_record = Sub(*disposal, "record",
                             "record a delivery's data returned or destroyed, with the "
                             "contractor's certificate (廃棄証明書)");
    d_record->add_option("delivery", dinput.delivery_id)->required();
    d_record
        ->add_option("--method", dinput.method,
                     "shredded (裁断), erased (消去), returned (返却) or dissolved (溶解)")
        ->required();
    d_record->add_option("--on", dinput.disposed_on, "the day it was done (YYYY-MM-DD)")
        ->required();
    Input(d_record->add_option("--certificate", dinput.certificate_file,
                               "the contractor's certificate (copied into the store)"))
        ->required();
    on(d_record, "disposal.record",
       [&](Context& c) { return itaku::gateway::DisposalRecord(c, dinput); });
  }

  void RegisterCheckCommands(CLI::App& app) {
    CLI::App* check = Group(app, "check", "periodic checks of contractors (定期点検)");
    CLI::App* c_record = Sub(*check, "record", "record a check of a contractor");
    c_record->add_option("contractor", cargs.contractor)->required();
    c_record->add_option("--on", cargs.on, "the day of the check (YYYY-MM-DD)")->required();
    c_record->add_option("--result", cargs.result, "pass, findings or fail")->required();
    c_record->add_option("--findings", cargs.findings, "what was found (required unless pass)");
    Input(c_record->add_option("--evidence", cargs.evidence,
                               "the checklist or report (copied into the store)"));
    c_record->add_option("--next-due", cargs.next_due, "when the next check is due")->required();
    on(c_record, "check.record", [&](Context& c) { return itaku::gateway::CheckRecord(c, cargs); });
    CLI::App* c_list = Sub(*check, "list", "checks recorded");
    c_list->add_option("--contractor", c_contractor);
    on(c_list, "check.list",
       [&](Context& c) { return itaku::gateway::CheckList(c, c_contractor); });
  }

  void RegisterIncidentCommands(CLI::App& app) {
    CLI::App* incident =
        Group(app, "incident",
              "a leak at a contractor (漏えい等事案, policy 7): scope, reports, notices");
    CLI::App* i_open = Sub(*incident, "open", "open an incident: its scope fixed from the record");
    i_open->add_option("--contractor", oargs.contractor)->required();
    i_open->add_option("--since", oargs.since, "first JST day of the deliveries in scope")
        ->required();
    i_open->add_option("--until", oargs.until, "last JST day of the deliveries in scope")
        ->required();
    i_open->add_option("--discovered", oargs.discovered, "the day the leak became known")
        ->required();
    i_open->add_option("--summary", oargs.summary, "概要 (no personal data)")->required();
    i_open->add_flag("--malicious", oargs.malicious,
                     "不正の目的によるおそれ: the final report is due in 60 days, not 30");
    on(i_open, "incident.open", [&](Context& c) { return itaku::gateway::IncidentOpen(c, oargs); });
    CLI::App* i_list = Sub(*incident, "list", "incidents with their report deadlines");
    on(i_list, "incident.list", [](Context& c) { return itaku::gateway::IncidentList(c); });
    CLI::App* i_show = Sub(*incident, "show", "one incident: scope, deadlines, notices");
    i_show->add_option("id", i_id)->required();
    on(i_show, "incident.show", [&](Context& c) { return itaku::gateway::IncidentShow(c, i_id); });
    CLI::App* i_update = Sub(*incident, "update", "what the final report needs, as it is known");
    i_update->add_option("id", uargs.id)->required();
    i_update->add_option("--cause", uargs.cause, "原因");
    i_update->add_option("--harm", uargs.harm, "二次被害又はそのおそれの有無及びその内容");
    i_update->add_option("--response", uargs.response, "本人への対応の実施状況");
    i_update->add_option("--measures", uargs.measures, "再発防止のための措置");
    i_update->add_option("--other", uargs.other, "その他参考となる事項");
    on(i_update, "incident.update",
       [&](Context& c) { return itaku::gateway::IncidentUpdate(c, uargs); });
    CLI::App* i_pub = Sub(*incident, "publication",
                          "decide publication (7(1)[2]) or record why not (7(2); privacy officer)");
    i_pub->add_option("id", pargs.id)->required();
    i_pub->add_flag("--publish", pargs.publish, "publish the facts");
    i_pub->add_option("--text", pargs.text, "the announcement");
    i_pub->add_flag("--withhold", pargs.withhold, "do not publish");
    i_pub->add_option("--reason", pargs.reason, "5(1)[1] .. 5(1)[7]");
    i_pub->add_option("--note", pargs.note, "why that ground applies");
    on(i_pub, "incident.publication",
       [&](Context& c) { return itaku::gateway::IncidentPublication(c, pargs); });
    CLI::App* i_reported =
        Sub(*incident, "reported", "record that a report went to the Commission today");
    i_reported->add_option("id", i_id)->required();
    i_reported->add_option("--report", i_report, "preliminary or final")->required();
    on(i_reported, "incident.reported",
       [&](Context& c) { return itaku::gateway::IncidentReported(c, i_id, i_report); });
    CLI::App* i_draft =
        Sub(*incident, "draft", "the draft of the 速報 (preliminary), 確報 (final) or publication");
    i_draft->add_option("id", i_id)->required();
    i_draft->add_option("--report", i_report, "preliminary, final or publication")->required();
    i_draft->add_option("--format", i_format, "pdf or json")->required();
    OutputFile(i_draft->add_option("--out", i_out, "the file to write (not overwritten)"))
        ->required();
    on(i_draft, "incident.draft", [&](Context& c) {
      return itaku::gateway::IncidentDraft(c, i_id, i_report, i_format, i_out);
    });
    CLI::App* i_notify = Sub(*incident, "notify",
                             "notify the persons affected (7(1)[1]): e-mail where the export "
                             "gives one, else a printable letter; run again to resume");
    i_notify->add_option("id", nargs.id)->required();
    Input(i_notify->add_option("--contacts", nargs.contacts,
                               "the subscriber export with names, e-mail and postal addresses"))
        ->required();
    i_notify->add_option("--limit", nargs.limit, "at most this many notices in this run");
    i_notify->add_flag("--resend-uncertain", nargs.resend_uncertain,
                       "also send those a stopped run may or may not have sent");
    on(i_notify, "incident.notify",
       [&](Context& c) { return itaku::gateway::IncidentNotify(c, nargs); });
  }

  IncidentOpenArgs oargs;
  IncidentUpdateArgs uargs;
  IncidentPublicationArgs pargs;
  IncidentNotifyArgs nargs;
  int64_t i_id = 0;
  std::string i_report, i_format, i_out;
  ContractArgs kargs;
  std::optional<std::string> k_contractor;
  int64_t k_id = 0;
  std::string k_reason;
  SubcontractorArgs sargs;
  std::optional<std::string> d_contractor;
  bool d_overdue = false;
  DisposalInput dinput;
  CheckArgs cargs;
  std::optional<std::string> c_contractor;
  std::string r_format, r_out;
};

}  // namespace

std::unique_ptr<CommandGroup> SupervisionCommandGroup(CommandLine& line) {
  return std::make_unique<Supervision>(line);
}

}  // namespace itaku::gateway
