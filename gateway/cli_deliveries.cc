// CLI: deliveries, their records, media and the portal.
#include <map>

#include "gateway/cli_commands.h"
#include "gateway/commands.h"
#include "gateway/portal_commands.h"
#include "gateway/requests.h"
#include "gateway/supervision.h"

namespace itaku::gateway {
namespace {

// --via's words, from the one table in contracts/types.cc.
std::map<std::string, contracts::Transport> TransportNames() {
  using contracts::Transport;
  std::map<std::string, Transport> names;
  for (Transport t : {Transport::kMedia, Transport::kSftp, Transport::kPortal, Transport::kPaper}) {
    names.emplace(contracts::ToString(t), t);
  }
  return names;
}

class Deliveries : public CommandGroup {
 public:
  using CommandGroup::CommandGroup;
  void Register(CLI::App& app) override {
    RegisterDeliverCommands(app);
    RegisterDeliveryCommands(app);
    RegisterRecordCommands(app);
  }

 private:
  void RegisterDeliverCommands(CLI::App& app) {
    CLI::App* deliver = Sub(app, "deliver", "deliver an export to a contractor under a profile");
    deliver->add_option("--profile", dreq.profile_id)->required();
    deliver->add_option("--profile-version", dreq.profile_version);
    Input(deliver->add_option("--input", dreq.input_path, "the export (CSV)"))->required();
    Input(deliver->add_option("--attachments", dreq.attachments_dir, "folder of house drawings"));
    deliver->add_option("--via", dreq.transport, "media | sftp | portal | paper")
        ->required()
        ->transform(CLI::CheckedTransformer(TransportNames()));
    deliver->add_flag("--dry-run", dreq.dry_run, "decide and project, send nothing");
    OutputFolder(deliver->add_option("--out", dreq.out_dir,
                                     "media: the folder (mount point) to write the package to; "
                                     "paper: the folder to put the printable PDF in"));
    deliver->add_flag("--password-recipient", dreq.password_recipient,
                      "media, contractor without a certificate: encrypt to a generated passphrase "
                      "shown once (tell it by phone, never mail it)");
    deliver->add_option("--expires-in", dreq.expires_in,
                        "portal: how long the package stays available, e.g. 7d, 48h (default 7d)");
    deliver->add_option("--max-downloads", dreq.max_downloads,
                        "portal: complete downloads allowed (default 3)");
    deliver
        ->add_option("--retries", dreq.retries, "sftp: retries after a network error (default 3)")
        ->check(CLI::Range(0, 20));
    deliver
        ->add_option("--retry-wait", dreq.retry_wait_s,
                     "sftp: seconds before the first retry, doubling each time (default 5)")
        ->check(CLI::Range(0.0, 3600.0));
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
    on_self_audited(deliver, "deliver", [&](Context& c) {
      dreq.input_encoding = input_encoding == "utf-8"   ? itaku::policies::InputEncoding::kUtf8
                            : input_encoding == "cp932" ? itaku::policies::InputEncoding::kCp932
                                                        : itaku::policies::InputEncoding::kAuto;
      dreq.connect_timeout_ms = static_cast<int>(connect_timeout_s * 1000);
      dreq.io_timeout_ms = static_cast<int>(io_timeout_s * 1000);
      return itaku::gateway::DeliverCommand(c, dreq);
    });
  }
  void RegisterDeliveryCommands(CLI::App& app) {
    CLI::App* delivery = Group(app, "delivery", "recorded deliveries");
    CLI::App* d_list = Sub(*delivery, "list", "deliveries by period (default the last 31 days)");
    d_list->add_option("--contractor", dl_contractor);
    d_list->add_option("--since", dl_since, "first JST day (YYYY-MM-DD)");
    d_list->add_option("--until", dl_until, "last JST day (default today)");
    d_list->add_option("--limit", dl_limit, "at most this many (default 500)");
    on(d_list, "delivery.list", [&](Context& c) {
      return itaku::gateway::DeliveryList(c, dl_contractor, dl_since, dl_until, dl_limit);
    });
    CLI::App* d_show = Sub(*delivery, "show", "one delivery with every SFTP attempt");
    d_show->add_option("id", d_id)->required();
    on(d_show, "delivery.show", [&](Context& c) { return itaku::gateway::DeliveryShow(c, d_id); });
    CLI::App* d_slip =
        Sub(*delivery, "slip", "the 授受記録 of one delivery as a PDF (policy 6: 指示・監督)");
    d_slip->add_option("id", d_id)->required();
    OutputFile(d_slip->add_option("--out", d_slip_out, "the PDF to write (not overwritten)"))
        ->required();
    on(d_slip, "delivery.slip",
       [&](Context& c) { return itaku::gateway::DeliverySlip(c, d_id, d_slip_out); });
  }
  void RegisterRecordCommands(CLI::App& app) {
    CLI::App* history = Sub(app, "history", "who received what about a subscriber (policy 5)");
    history->add_option("--subscriber", subscriber)->required();
    on(history, "history", [&](Context& c) { return itaku::gateway::History(c, subscriber); });
    CLI::App* breach =
        Sub(app, "breach-scope", "what a contractor received in a period (policy 7)");
    breach->add_option("--contractor", b_contractor)->required();
    breach->add_option("--since", b_since)->required();
    breach->add_option("--until", b_until);
    OutputFile(breach->add_option(
        "--subscribers-csv", b_csv,
        "write the affected subscribers and the fields each received to FILE (policy 7(1) "
        "notices)"));
    on(breach, "breach-scope", [&](Context& c) {
      return itaku::gateway::BreachScope(c, b_contractor, b_since, b_until, b_csv);
    });
    CLI::App* audit = Group(app, "audit", "the hash-chained audit trail");
    CLI::App* verify =
        Sub(*audit, "verify", "check that no audit event was edited, inserted or deleted");
    InputOrWord(verify->add_option(
        "--checkpoint", checkpoints,
        "a checkpoint kept elsewhere: a file (audit checkpoint --json, an e-mailed one, or a "
        "package's manifest.json) or a code from the paper ledger; repeatable"));
    on_self_audited(verify, "audit.verify",
                    [&](Context& c) { return itaku::gateway::AuditVerify(c, checkpoints); });
    CLI::App* checkpoint = Sub(*audit, "checkpoint",
                               "sign the audit chain's newest event now and print its code for "
                               "the paper ledger");
    on(checkpoint, "audit.checkpoint",
       [](Context& c) { return itaku::gateway::AuditCheckpoint(c); });
    CLI::App* events =
        Sub(*audit, "events", "list audit events by period, actor, action, contractor");
    events->add_option("--since", ev.since, "first JST day (YYYY-MM-DD; default 7 days ago)");
    events->add_option("--until", ev.until, "last JST day (default today)");
    events->add_option("--actor", ev.actor, "who acted");
    events->add_option("--action", ev.action,
                       "an action (nda.add), a prefix (deliver.) or a suffix (.refused)");
    events->add_option("--contractor", ev.contractor);
    events->add_option("--limit", ev.limit, "at most this many (default 200)");
    on(events, "audit.events", [&](Context& c) { return itaku::gateway::AuditEvents(c, ev); });
  }

  itaku::gateway::DeliverRequest dreq;
  std::string input_encoding = "auto";
  double connect_timeout_s = 10, io_timeout_s = 30;
  int64_t d_id = 0;
  std::string d_slip_out;
  std::string subscriber;
  std::vector<std::string> checkpoints;
  std::string b_contractor, b_since, b_csv;
  std::optional<std::string> b_until;
  itaku::gateway::AuditEventFilter ev;
  std::string dl_contractor, dl_since, dl_until;
  int dl_limit = 500;
};

class MediaPortal : public CommandGroup {
 public:
  using CommandGroup::CommandGroup;
  void Register(CLI::App& app) override {
    RegisterMediaCommands(app);
    RegisterPaperCommands(app);
    RegisterPortalCommands(app);
  }

 private:
  void RegisterMediaCommands(CLI::App& app) {
    CLI::App* media = Group(app, "media", "the physical media packages travel on (policy 6(2))");
    CLI::App* m_handover =
        Sub(*media, "handover", "record that a medium was handed to the contractor");
    m_handover->add_option("delivery", m_delivery)->required();
    m_handover->add_option("--medium", m_medium, "which medium, e.g. \"USB serial 4C530001\"")
        ->required();
    m_handover->add_option("--to", m_to, "the person at the contractor who received it")
        ->required();
    on(m_handover, "media.handover",
       [&](Context& c) { return itaku::gateway::MediaHandover(c, m_delivery, m_medium, m_to); });
    for (const auto step : {policies::MediaStep::kReturn, policies::MediaStep::kDestroy}) {
      const std::string state(contracts::ToString(policies::MediaStateAfter(step)));
      CLI::App* m = Sub(*media, state, "record that the medium was " + state);
      m->add_option("delivery", m_delivery)->required();
      Input(m->add_option("--certificate", m_certificate,
                          "the contractor's certificate of it (kept in the store by its hash)"));
      on(m, std::string(policies::AuditAction(step)), [&, step](Context& c) {
        return itaku::gateway::MediaClose(c, m_delivery, step, m_certificate);
      });
    }
    CLI::App* m_cancel =
        Sub(*media, "cancel", "cancel a package written but never handed over (with a reason)");
    m_cancel->add_option("delivery", m_delivery)->required();
    m_cancel->add_option("--reason", m_reason, "why (kept on the delivery and in the audit trail)")
        ->required();
    on(m_cancel, "media.cancel",
       [&](Context& c) { return itaku::gateway::MediaCancel(c, m_delivery, m_reason); });
    CLI::App* m_list = Sub(*media, "list", "list media packages and paper deliveries' sheets");
    m_list->add_flag("--outstanding", m_outstanding,
                     "only those not yet returned, destroyed or shredded");
    on(m_list, "media.list",
       [&](Context& c) { return itaku::gateway::MediaList(c, m_outstanding); });
  }
  void RegisterPaperCommands(CLI::App& app) {
    CLI::App* paper =
        Group(app, "paper", "the printed sheets of paper deliveries (policy 6(2) 紙)");
    CLI::App* p_handover = Sub(*paper, "handover",
                               "record that the printed sheets were handed to the contractor "
                               "(the daemon's PDF is deleted; its hash stays on record)");
    p_handover->add_option("delivery", m_delivery)->required();
    p_handover->add_option("--to", m_to, "the person at the contractor who received them")
        ->required();
    on(p_handover, "paper.handover",
       [&](Context& c) { return itaku::gateway::PaperHandover(c, m_delivery, m_to); });
    for (const auto& [step, word] : {std::pair{policies::MediaStep::kReturn, "returned"},
                                     std::pair{policies::MediaStep::kDestroy, "shredded"}}) {
      CLI::App* m = Sub(*paper, word, std::string("record that the sheets were ") + word);
      m->add_option("delivery", m_delivery)->required();
      Input(m->add_option("--certificate", m_certificate,
                          "the contractor's 返却・廃棄確認書 (kept in the store by its hash)"));
      on(m, std::string(policies::PaperAuditAction(step)), [&, step](Context& c) {
        return itaku::gateway::PaperClose(c, m_delivery, step, m_certificate);
      });
    }
    CLI::App* p_cancel =
        Sub(*paper, "cancel", "cancel sheets printed but never handed over (with a reason)");
    p_cancel->add_option("delivery", m_delivery)->required();
    p_cancel->add_option("--reason", m_reason, "why (kept on the delivery and in the audit trail)")
        ->required();
    on(p_cancel, "paper.cancel",
       [&](Context& c) { return itaku::gateway::PaperCancel(c, m_delivery, m_reason); });
    CLI::App* p_list = Sub(*paper, "list", "list paper deliveries and where their sheets are");
    p_list->add_flag("--outstanding", m_outstanding, "only sheets not yet returned or shredded");
    on(p_list, "paper.list",
       [&](Context& c) { return itaku::gateway::PaperList(c, m_outstanding); });
  }
  void RegisterPortalCommands(CLI::App& app) {
    CLI::App* portal = Group(app, "portal", "packages published on the contractor portal");
    CLI::App* po_list = Sub(*portal, "list", "packages, their state and every download");
    po_list->add_option("--contractor", po_contractor);
    on(po_list, "portal.list",
       [&](Context& c) { return itaku::gateway::PortalList(c, po_contractor); });
    CLI::App* po_revoke = Sub(*portal, "revoke", "withdraw a package at once");
    po_revoke->add_option("package", po_id)->required();
    on(po_revoke, "portal.revoke",
       [&](Context& c) { return itaku::gateway::PortalRevoke(c, po_id); });
    CLI::App* serve = Sub(app, "serve",
                          "the daemon (service account): the staff API on --socket, and the "
                          "contractor portal (HTTPS, client certificates) when configured");
    serve->add_option("--config", serve_args.config_file,
                      "TOML with [portal], [staff_api], [smtp] and [requests] tables");
    serve->add_option("--portal-listen", serve_args.listen, "ADDR:PORT (default 127.0.0.1:8443)");
    serve->add_option("--console-listen", serve_args.console_listen,
                      "the staff console's ADDR:PORT (default 127.0.0.1:8444)");
    serve->add_option("--console-cert", serve_args.console_cert,
                      "the staff console's certificate (PEM)");
    serve->add_option("--console-key", serve_args.console_key,
                      "the staff console's private key (PEM)");
    serve->add_option("--portal-cert", serve_args.cert_file, "the portal's certificate (PEM)");
    serve->add_option("--portal-key", serve_args.key_file, "the portal's private key (PEM)");
    serve->add_option("--header-timeout-ms", serve_args.header_timeout_ms,
                      "a request head must arrive within this (default 10000)");
    on_local(serve, "serve", [&](Context& c) {
      serve_args.socket_path = line().socket;
      return itaku::gateway::Serve(c, serve_args);
    });
  }

  int64_t m_delivery = 0;
  std::string m_medium, m_to, m_reason, m_certificate;
  bool m_outstanding = false;
  std::optional<std::string> po_contractor;
  std::string po_id;
  itaku::gateway::ServeArgs serve_args;
};

}  // namespace

std::unique_ptr<CommandGroup> DeliveryCommandGroup(CommandLine& line) {
  return std::make_unique<Deliveries>(line);
}
std::unique_ptr<CommandGroup> MediaPortalCommandGroup(CommandLine& line) {
  return std::make_unique<MediaPortal>(line);
}

}  // namespace itaku::gateway
