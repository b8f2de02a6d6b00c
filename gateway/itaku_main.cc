// itaku: the command line. Parses arguments (CLI11), opens the store, runs
// one command from commands.h, prints text or --json, and turns every
// refusal into one line on stderr, an audit event and a non-zero exit.
#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <iostream>

#include "gateway/commands.h"
#include "gateway/portal_commands.h"
#include "gateway/requests.h"

namespace {

using itaku::Result;
using itaku::Status;
using itaku::gateway::Context;
using itaku::gateway::Output;

std::string DefaultActor() {
  if (const char* a = std::getenv("ITAKU_ACTOR"); a && *a) return a;
  if (const passwd* pw = getpwuid(geteuid())) return pw->pw_name;
  return "unknown";
}

std::string DefaultDb() {
  if (const char* d = std::getenv("ITAKU_DB"); d && *d) return d;
  return "./itaku.db";
}

CLI::App* Sub(CLI::App& parent, const std::string& name, const std::string& help) {
  CLI::App* s = parent.add_subcommand(name, help);
  s->fallthrough();
  return s;
}

}  // namespace

int main(int argc, char** argv) {
  // Everything Itaku writes (the store, keys, packages, letters, consent
  // copies) is the operator's alone unless a transport says otherwise.
  ::umask(077);
  CLI::App app{"itaku — contractor data-exchange gateway (委託先への個人情報提供の管理)"};
  app.require_subcommand(1);
  app.fallthrough();
  std::string db = DefaultDb();
  std::string actor = DefaultActor();
  bool json = false;
  app.add_option("--db", db, "store file (default $ITAKU_DB or ./itaku.db)");
  app.add_option("--actor", actor, "acting staff member (default $ITAKU_ACTOR or the OS user)");
  app.add_flag("--json", json, "print JSON for machines");

  // The command to run once the store is open; set by the parsed subcommand.
  std::function<Result<Output>(Context&)> run;
  std::string command;
  auto on = [&](CLI::App* sub, std::string name, std::function<Result<Output>(Context&)> f) {
    sub->callback([&, name, f] {
      command = name;
      run = f;
    });
  };

  bool fields = false;
  Sub(app, "fields", "the field catalog (policy 1) and the purposes (2(3))")
      ->callback([&] { fields = true; });
  CLI::App* init = Sub(app, "init", "create the store (SQLite) and its per-installation secret");
  on(init, "init", [](Context& c) { return itaku::gateway::Init(c); });

  // contractor
  CLI::App* contractor = Sub(app, "contractor", "register and manage contractors (委託先)");
  contractor->require_subcommand(1);
  itaku::gateway::ContractorArgs cargs;
  CLI::App* c_add = Sub(*contractor, "add", "register a contractor");
  c_add->add_option("id", cargs.id, "contractor id, e.g. agency-a")->required();
  c_add->add_option("--name", cargs.name, "the contractor's name")->required();
  c_add->add_option("--email", cargs.email, "contact e-mail");
  c_add->add_option("--cert", cargs.cert_file,
                    "X.509 certificate (PEM) packages are encrypted to (RSA >= 2048 or EC)");
  auto sftp_options = [&](CLI::App* sub) {
    sub->add_option("--sftp", cargs.sftp_url,
                    "the contractor's SFTP server: sftp://user@host:port/path (path relative to "
                    "the login's home; //path for an absolute one)");
    sub->add_option("--host-key", cargs.host_key,
                    "the server's pinned host key, SHA256:<base64> as ssh-keygen -lf prints it");
    sub->add_option("--key", cargs.key_file,
                    "private key to log in with (ed25519, ECDSA or RSA >= 2048); copied into "
                    "the store");
    sub->add_option("--key-passphrase-env", cargs.key_passphrase_env,
                    "environment variable holding the key's passphrase at delivery time");
    sub->add_option("--key-passphrase-file", cargs.key_passphrase_file,
                    "file whose first line is the key's passphrase");
  };
  sftp_options(c_add);
  c_add->add_option("--portal-cert", cargs.portal_cert_file,
                    "client certificate (PEM) it signs in to the portal with");
  on(c_add, "contractor.add", [&](Context& c) { return itaku::gateway::ContractorAdd(c, cargs); });
  CLI::App* c_update =
      Sub(*contractor, "update", "change a contractor's name, e-mail, certificate or SFTP server");
  c_update->add_option("id", cargs.id)->required();
  c_update->add_option("--name", cargs.name);
  c_update->add_option("--email", cargs.email);
  c_update->add_option("--cert", cargs.cert_file, "a new certificate (PEM) for packages");
  sftp_options(c_update);
  c_update->add_option("--portal-cert", cargs.portal_cert_file,
                       "a new client certificate (PEM) for the portal");
  on(c_update, "contractor.update",
     [&](Context& c) { return itaku::gateway::ContractorUpdate(c, cargs); });
  std::string probe_id;
  CLI::App* c_probe =
      Sub(*contractor, "probe", "show the SFTP server's host key and whether it matches the pin");
  c_probe->add_option("id", probe_id)->required();
  on(c_probe, "contractor.probe",
     [&](Context& c) { return itaku::gateway::ContractorProbe(c, probe_id); });
  CLI::App* c_list = Sub(*contractor, "list", "list contractors");
  on(c_list, "contractor.list", [](Context& c) { return itaku::gateway::ContractorList(c); });
  std::string cid, creason;
  CLI::App* c_show = Sub(*contractor, "show", "show a contractor and its NDAs");
  c_show->add_option("id", cid)->required();
  on(c_show, "contractor.show", [&](Context& c) { return itaku::gateway::ContractorShow(c, cid); });
  for (const auto& [verb, status] : std::vector<std::pair<std::string, std::string>>{
           {"suspend", "suspended"}, {"activate", "active"}, {"terminate", "terminated"}}) {
    CLI::App* s = Sub(*contractor, verb, "mark a contractor " + status);
    s->add_option("id", cid)->required();
    s->add_option("--reason", creason, "why (kept in the audit trail)");
    on(s, "contractor." + verb, [&, status = status](Context& c) {
      return itaku::gateway::ContractorSetStatus(c, cid, status, creason);
    });
  }

  // nda
  CLI::App* nda = Sub(app, "nda", "register non-disclosure agreements (機密保持契約)");
  nda->require_subcommand(1);
  itaku::gateway::NdaArgs nargs;
  CLI::App* n_add = Sub(*nda, "add", "register a signed NDA");
  n_add->add_option("contractor", nargs.contractor)->required();
  n_add->add_option("--signed", nargs.signed_on, "signed on (YYYY-MM-DD)")->required();
  n_add->add_option("--from", nargs.from, "in force from (YYYY-MM-DD)")->required();
  n_add->add_option("--until", nargs.until, "in force until (YYYY-MM-DD)")->required();
  n_add->add_option("--document", nargs.document, "the signed document (copied into the store)")
      ->required();
  n_add->add_option("--signatory", nargs.signatories, "a signatory (repeat for each)")->required();
  on(n_add, "nda.add", [&](Context& c) { return itaku::gateway::NdaAdd(c, nargs); });
  std::optional<std::string> n_contractor;
  std::optional<int> n_within;
  CLI::App* n_list = Sub(*nda, "list", "list NDAs");
  n_list->add_option("--contractor", n_contractor);
  n_list->add_option("--expiring-within", n_within, "only NDAs ending within DAYS");
  on(n_list, "nda.list",
     [&](Context& c) { return itaku::gateway::NdaList(c, n_contractor, n_within); });

  // profile
  CLI::App* profile = Sub(app, "profile", "contract profiles: what a contractor may receive");
  profile->require_subcommand(1);
  std::string pfile, pid;
  std::optional<int> pversion;
  CLI::App* p_import =
      Sub(*profile, "import", "import a profile from TOML (new version on change)");
  p_import->add_option("file", pfile)->required();
  on(p_import, "profile.import",
     [&](Context& c) { return itaku::gateway::ProfileImport(c, pfile); });
  CLI::App* p_show = Sub(*profile, "show", "show a profile");
  p_show->add_option("id", pid)->required();
  p_show->add_option("--version", pversion);
  on(p_show, "profile.show",
     [&](Context& c) { return itaku::gateway::ProfileShow(c, pid, pversion); });
  CLI::App* p_list = Sub(*profile, "list", "list profiles (latest versions)");
  on(p_list, "profile.list", [](Context& c) { return itaku::gateway::ProfileList(c); });

  // deliver
  itaku::gateway::DeliverRequest dreq;
  std::string input_encoding = "auto";
  CLI::App* deliver = Sub(app, "deliver", "deliver an export to a contractor under a profile");
  deliver->add_option("--profile", dreq.profile_id)->required();
  deliver->add_option("--profile-version", dreq.profile_version);
  deliver->add_option("--input", dreq.input_path, "the export (CSV)")->required();
  deliver->add_option("--attachments", dreq.attachments_dir, "folder of house drawings");
  deliver->add_option("--via", dreq.transport, "media | sftp | portal | paper")->required();
  deliver->add_flag("--dry-run", dreq.dry_run, "decide and project, send nothing");
  deliver->add_option("--out", dreq.out_dir,
                      "media: the folder (mount point) to write the package to");
  deliver->add_flag("--password-recipient", dreq.password_recipient,
                    "media, contractor without a certificate: encrypt to a generated passphrase "
                    "shown once (tell it by phone, never mail it)");
  deliver->add_option("--expires-in", dreq.expires_in,
                      "portal: how long the package stays available, e.g. 7d, 48h (default 7d)");
  deliver->add_option("--max-downloads", dreq.max_downloads,
                      "portal: complete downloads allowed (default 3)");
  deliver->add_option("--retries", dreq.retries, "sftp: retries after a network error (default 3)")
      ->check(CLI::Range(0, 20));
  deliver
      ->add_option("--retry-wait", dreq.retry_wait_s,
                   "sftp: seconds before the first retry, doubling each time (default 5)")
      ->check(CLI::Range(0.0, 3600.0));
  double connect_timeout_s = 10, io_timeout_s = 30;
  deliver
      ->add_option("--connect-timeout", connect_timeout_s,
                   "sftp: seconds to connect and log in (default 10)")
      ->check(CLI::Range(0.1, 600.0));
  deliver
      ->add_option("--io-timeout", io_timeout_s,
                   "sftp: seconds a stalled transfer is given (default 30)")
      ->check(CLI::Range(0.1, 3600.0));
  deliver->add_option("--input-encoding", input_encoding, "auto | utf-8 | cp932")
      ->check(CLI::IsMember({"auto", "utf-8", "cp932"}));
  on(deliver, "deliver", [&](Context& c) {
    dreq.input_encoding = input_encoding == "utf-8"   ? itaku::policies::InputEncoding::kUtf8
                          : input_encoding == "cp932" ? itaku::policies::InputEncoding::kCp932
                                                      : itaku::policies::InputEncoding::kAuto;
    dreq.connect_timeout_ms = static_cast<int>(connect_timeout_s * 1000);
    dreq.io_timeout_ms = static_cast<int>(io_timeout_s * 1000);
    return itaku::gateway::DeliverCommand(c, dreq);
  });

  // delivery
  CLI::App* delivery = Sub(app, "delivery", "recorded deliveries");
  delivery->require_subcommand(1);
  int64_t d_id = 0;
  CLI::App* d_show = Sub(*delivery, "show", "one delivery with every SFTP attempt");
  d_show->add_option("id", d_id)->required();
  on(d_show, "delivery.show", [&](Context& c) { return itaku::gateway::DeliveryShow(c, d_id); });

  // history, breach-scope, audit
  std::string subscriber;
  CLI::App* history = Sub(app, "history", "who received what about a subscriber (policy 5)");
  history->add_option("--subscriber", subscriber)->required();
  on(history, "history", [&](Context& c) { return itaku::gateway::History(c, subscriber); });
  std::string b_contractor, b_since;
  std::optional<std::string> b_until;
  CLI::App* breach = Sub(app, "breach-scope", "what a contractor received in a period (policy 7)");
  breach->add_option("--contractor", b_contractor)->required();
  breach->add_option("--since", b_since)->required();
  breach->add_option("--until", b_until);
  on(breach, "breach-scope",
     [&](Context& c) { return itaku::gateway::BreachScope(c, b_contractor, b_since, b_until); });
  CLI::App* audit = Sub(app, "audit", "the hash-chained audit trail");
  audit->require_subcommand(1);
  CLI::App* verify =
      Sub(*audit, "verify", "check that no audit event was edited, inserted or deleted");
  on(verify, "audit.verify", [](Context& c) { return itaku::gateway::AuditVerify(c); });

  // media
  CLI::App* media = Sub(app, "media", "the physical media packages travel on (policy 6(2))");
  media->require_subcommand(1);
  int64_t m_delivery = 0;
  std::string m_medium, m_to;
  bool m_outstanding = false;
  CLI::App* m_handover =
      Sub(*media, "handover", "record that a medium was handed to the contractor");
  m_handover->add_option("delivery", m_delivery)->required();
  m_handover->add_option("--medium", m_medium, "which medium, e.g. \"USB serial 4C530001\"")
      ->required();
  m_handover->add_option("--to", m_to, "the person at the contractor who received it")->required();
  on(m_handover, "media.handover",
     [&](Context& c) { return itaku::gateway::MediaHandover(c, m_delivery, m_medium, m_to); });
  for (const std::string state : {"returned", "destroyed"}) {
    CLI::App* m = Sub(*media, state, "record that the medium was " + state);
    m->add_option("delivery", m_delivery)->required();
    on(m, "media." + state,
       [&, state](Context& c) { return itaku::gateway::MediaClose(c, m_delivery, state); });
  }
  CLI::App* m_list = Sub(*media, "list", "list media packages");
  m_list->add_flag("--outstanding", m_outstanding, "only media not yet returned or destroyed");
  on(m_list, "media.list", [&](Context& c) { return itaku::gateway::MediaList(c, m_outstanding); });

  // portal
  CLI::App* portal = Sub(app, "portal", "packages published on the contractor portal");
  portal->require_subcommand(1);
  std::optional<std::string> po_contractor;
  std::string po_id;
  CLI::App* po_list = Sub(*portal, "list", "packages, their state and every download");
  po_list->add_option("--contractor", po_contractor);
  on(po_list, "portal.list",
     [&](Context& c) { return itaku::gateway::PortalList(c, po_contractor); });
  CLI::App* po_revoke = Sub(*portal, "revoke", "withdraw a package at once");
  po_revoke->add_option("package", po_id)->required();
  on(po_revoke, "portal.revoke",
     [&](Context& c) { return itaku::gateway::PortalRevoke(c, po_id); });
  itaku::gateway::ServeArgs serve_args;
  CLI::App* serve = Sub(app, "serve", "run the contractor portal (HTTPS, client certificates)");
  serve->add_option("--config", serve_args.config_file, "TOML with a [portal] table");
  serve->add_option("--portal-listen", serve_args.listen, "ADDR:PORT (default 127.0.0.1:8443)");
  serve->add_option("--portal-cert", serve_args.cert_file, "the portal's certificate (PEM)");
  serve->add_option("--portal-key", serve_args.key_file, "the portal's private key (PEM)");
  serve->add_option("--header-timeout-ms", serve_args.header_timeout_ms,
                    "a request head must arrive within this (default 10000)");
  on(serve, "serve", [&](Context& c) { return itaku::gateway::Serve(c, serve_args); });

  // staff
  CLI::App* staff = Sub(app, "staff", "staff and their roles");
  staff->require_subcommand(1);
  std::string s_name, s_role;
  CLI::App* s_add = Sub(*staff, "add", "register a staff member");
  s_add->add_option("name", s_name)->required();
  s_add->add_option("--role", s_role, "operator | privacy-officer | auditor")->required();
  on(s_add, "staff.add", [&](Context& c) { return itaku::gateway::StaffAdd(c, s_name, s_role); });
  CLI::App* s_list = Sub(*staff, "list", "list staff");
  on(s_list, "staff.list", [](Context& c) { return itaku::gateway::StaffList(c); });
  CLI::App* s_remove = Sub(*staff, "remove", "remove a staff member");
  s_remove->add_option("name", s_name)->required();
  on(s_remove, "staff.remove", [&](Context& c) { return itaku::gateway::StaffRemove(c, s_name); });

  // special requests
  CLI::App* special =
      Sub(app, "special", "a subscriber's special requests about a contractor (policy 6(1))");
  special->require_subcommand(1);
  itaku::gateway::SpecialArgs sp;
  CLI::App* sp_add = Sub(*special, "add", "record a special request");
  sp_add->add_option("--subscriber", sp.subscriber)->required();
  sp_add->add_option("--contractor", sp.contractor, "the contractor it concerns");
  sp_add->add_option("--purpose", sp.purpose, "or every contractor working for this purpose");
  sp_add->add_flag("--exclude", sp.exclude, "leave the subscriber out entirely");
  sp_add->add_option("--withhold", sp.withhold, "fields not to pass on for this subscriber");
  sp_add->add_option("--extend", sp.extend, "fields to pass on as well, with consent");
  sp_add->add_option("--consent", sp.consent_file, "the consent evidence (with --extend)");
  sp_add->add_option("--from", sp.from, "in force from (default today)");
  sp_add->add_option("--until", sp.until, "in force until (default open)");
  on(sp_add, "special.add", [&](Context& c) { return itaku::gateway::SpecialAdd(c, sp); });
  std::optional<std::string> sp_subscriber;
  bool sp_all = false;
  CLI::App* sp_list = Sub(*special, "list", "list special requests in force");
  sp_list->add_option("--subscriber", sp_subscriber);
  sp_list->add_flag("--all", sp_all, "ended ones too");
  on(sp_list, "special.list",
     [&](Context& c) { return itaku::gateway::SpecialList(c, sp_subscriber, sp_all); });
  int64_t sp_id = 0;
  std::string sp_reason;
  CLI::App* sp_end = Sub(*special, "end", "end a special request (privacy officer)");
  sp_end->add_option("id", sp_id)->required();
  sp_end->add_option("--reason", sp_reason, "why (kept in the audit trail)");
  on(sp_end, "special.end",
     [&](Context& c) { return itaku::gateway::SpecialEnd(c, sp_id, sp_reason); });

  // corrective-action requests
  CLI::App* request =
      Sub(app, "request", "corrective-action requests and outcome notices (policy 6(3)-(4))");
  request->require_subcommand(1);
  itaku::gateway::MailConfig mail;
  auto mail_options = [&](CLI::App* sub) {
    sub->add_option("--smtp", mail.smtp_url,
                    "SMTP server, smtp://[user@]host[:port] (else $ITAKU_SMTP or [smtp] in "
                    "--config); password from $ITAKU_SMTP_PASSWORD");
    sub->add_option("--config", mail.config_file, "TOML with [smtp] and [requests] tables");
    sub->add_option("--letters", mail.letters_dir,
                    "folder for printable letters (default <db>.d/letters)");
  };
  itaku::gateway::RequestAddArgs ra;
  CLI::App* r_add = Sub(*request, "add", "record a request as received");
  r_add->add_option("--subscriber", ra.subscriber, "the requester's subscriber id")->required();
  r_add->add_option("--contractor", ra.contractor, "the contractor concerned")->required();
  r_add->add_option("--channel", ra.channel, "phone | letter | web | counter")->required();
  r_add->add_option("--text", ra.text, "what was asked")->required();
  r_add->add_option("--email", ra.email,
                    "where the outcome notice goes, when the requester gave it");
  r_add->add_option("--received-at", ra.received_at, "when it came in (default now)");
  on(r_add, "request.add", [&](Context& c) { return itaku::gateway::RequestAdd(c, ra); });
  int64_t r_id = 0;
  std::string r_reason, r_text;
  bool r_yes = false, r_no = false;
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
  mail_options(r_instruct);
  on(r_instruct, "request.instruct",
     [&](Context& c) { return itaku::gateway::RequestInstruct(c, r_id, r_text, mail); });
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
  itaku::gateway::NotifyArgs na;
  CLI::App* r_notify = Sub(*request, "notify", "tell the requester the outcome (e-mail or letter)");
  r_notify->add_option("id", r_id)->required();
  r_notify->add_option("--email", na.email, "the requester's address");
  r_notify->add_option("--subscriber-data", na.subscriber_data,
                       "an export holding the requester's name, address and e-mail");
  r_notify->add_flag("--letter", na.letter, "a printable letter even when an address is known");
  mail_options(r_notify);
  on(r_notify, "request.notify",
     [&](Context& c) { return itaku::gateway::RequestNotify(c, r_id, na, mail); });
  CLI::App* r_show = Sub(*request, "show", "one request, step by step");
  r_show->add_option("id", r_id)->required();
  on(r_show, "request.show", [&](Context& c) { return itaku::gateway::RequestShow(c, r_id); });
  bool r_overdue = false;
  std::optional<std::string> r_contractor, r_state;
  CLI::App* r_list = Sub(*request, "list", "list requests");
  r_list->add_flag("--overdue", r_overdue, "only those past a deadline");
  r_list->add_option("--contractor", r_contractor);
  r_list->add_option("--state", r_state,
                     "received | decided | instructed | answered | closed | notified");
  on(r_list, "request.list", [&](Context& c) {
    return itaku::gateway::RequestList(c, r_overdue, r_contractor, r_state, mail);
  });
  std::optional<int> r_decide_within, r_notify_within;
  CLI::App* r_deadlines =
      Sub(*request, "deadlines", "show or set what \"without delay\" means, in days");
  r_deadlines->add_option("--decide-within", r_decide_within, "days from receipt (default 7)");
  r_deadlines->add_option("--notify-within", r_notify_within, "days from receipt (default 14)");
  on(r_deadlines, "request.deadlines", [&](Context& c) {
    return itaku::gateway::RequestDeadlinesCommand(c, r_decide_within, r_notify_within);
  });

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : 2;
  }

  auto fail = [&](const std::string& why) {
    std::cerr << "itaku: " << why << "\n";
    if (json) std::cout << nlohmann::json{{"ok", false}, {"error", why}}.dump(2) << "\n";
    return 1;
  };

  if (fields) {
    const Output out = itaku::gateway::Fields();
    std::cout << (json ? out.json.dump(2) : out.text) << "\n";
    return 0;
  }

  Context ctx;
  ctx.actor = actor;
  ctx.db_path = db;
  ctx.clock = std::make_unique<itaku::gateway::SystemClock>();
  if (command != "init" && !std::filesystem::exists(db)) {
    return fail("no store at " + db + " (run: itaku init, or set --db / ITAKU_DB)");
  }
  auto store = itaku::contracts::Store::OpenSqlite(db);
  if (!store.ok()) return fail(store.message());
  ctx.store = std::move(store).value();
  ctx.audit = std::make_unique<itaku::gateway::AuditTrail>(*ctx.store, *ctx.clock);

  Result<Output> out = run(ctx);
  if (!out.ok()) {
    // Every refusal is on record. The broker audits its own; a broken audit
    // trail is not extended.
    if (command != "deliver" && command != "audit.verify") {
      Status audited =
          ctx.audit->Append(ctx.actor, command + ".refused", command, {{"reason", out.message()}});
      return fail(itaku::gateway::WithAuditFailure(out.message(), audited));
    }
    return fail(out.message());
  }
  if (json) {
    std::cout << out->json.dump(2) << "\n";
  } else {
    std::cout << out->text << "\n";
  }
  return 0;
}
