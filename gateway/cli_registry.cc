// CLI: contractors, NDAs, profiles and the daemon's keys.
#include "gateway/cli_commands.h"
#include "gateway/commands.h"
#include "gateway/portal_commands.h"
#include "gateway/pseudonym_key.h"
#include "gateway/requests.h"

namespace itaku::gateway {
namespace {

class Contractors : public CommandGroup {
 public:
  using CommandGroup::CommandGroup;
  void Register(CLI::App& app) override { RegisterContractorCommands(app); }

 private:
  void RegisterContractorCommands(CLI::App& app) {
    CLI::App* contractor = Group(app, "contractor", "register and manage contractors (委託先)");
    CLI::App* c_add = Sub(*contractor, "add", "register a contractor");
    c_add->add_option("id", cargs.id, "contractor id, e.g. agency-a")->required();
    c_add->add_option("--name", cargs.name, "the contractor's name")->required();
    c_add->add_option("--email", cargs.email, "contact e-mail");
    c_add->add_option("--postal-code", cargs.postal_code, "postal code, for letters");
    c_add->add_option("--address", cargs.address, "postal address, for letters");
    Input(
        c_add->add_option("--cert", cargs.cert_file,
                          "X.509 certificate (PEM) packages are encrypted to (RSA >= 2048 or EC)"));
    auto sftp_options = [&](CLI::App* sub) {
      sub->add_option("--sftp", cargs.sftp_url,
                      "the contractor's SFTP server: sftp://user@host:port/path (path relative to "
                      "the login's home; //path for an absolute one)");
      sub->add_option("--host-key", cargs.host_key,
                      "the server's pinned host key, SHA256:<base64> as ssh-keygen -lf prints it");
      Input(
          sub->add_option("--key", cargs.key_file,
                          "private key to log in with (ed25519, ECDSA or RSA >= 2048); copied into "
                          "the store"));
      sub->add_option("--key-passphrase-env", cargs.key_passphrase_env,
                      "environment variable holding the key's passphrase at delivery time");
      sub->add_option("--key-passphrase-file", cargs.key_passphrase_file,
                      "file whose first line is the key's passphrase");
    };
    sftp_options(c_add);
    Input(c_add->add_option("--portal-cert", cargs.portal_cert_file,
                            "client certificate (PEM) it signs in to the portal with"));
    on(c_add, "contractor.add",
       [&](Context& c) { return itaku::gateway::ContractorAdd(c, cargs); });
    CLI::App* c_update = Sub(*contractor, "update",
                             "change a contractor's name, e-mail, certificate or SFTP server");
    c_update->add_option("id", cargs.id)->required();
    c_update->add_option("--name", cargs.name);
    c_update->add_option("--email", cargs.email);
    c_update->add_option("--postal-code", cargs.postal_code, "postal code, for letters");
    c_update->add_option("--address", cargs.address, "postal address, for letters");
    Input(c_update->add_option("--cert", cargs.cert_file, "a new certificate (PEM) for packages"));
    sftp_options(c_update);
    Input(c_update->add_option("--portal-cert", cargs.portal_cert_file,
                               "a new client certificate (PEM) for the portal"));
    on(c_update, "contractor.update",
       [&](Context& c) { return itaku::gateway::ContractorUpdate(c, cargs); });
    CLI::App* c_probe =
        Sub(*contractor, "probe", "show the SFTP server's host key and whether it matches the pin");
    c_probe->add_option("id", probe_id)->required();
    on(c_probe, "contractor.probe",
       [&](Context& c) { return itaku::gateway::ContractorProbe(c, probe_id); });
    CLI::App* c_list = Sub(*contractor, "list", "list contractors");
    on(c_list, "contractor.list", [](Context& c) { return itaku::gateway::ContractorList(c); });
    CLI::App* c_show = Sub(*contractor, "show", "show a contractor and its NDAs");
    c_show->add_option("id", cid)->required();
    on(c_show, "contractor.show",
       [&](Context& c) { return itaku::gateway::ContractorShow(c, cid); });
    for (const auto& [verb, status] : std::vector<std::pair<std::string, std::string>>{
             {"suspend", "suspended"}, {"activate", "active"}, {"terminate", "terminated"}}) {
      CLI::App* s = Sub(*contractor, verb, "mark a contractor " + status);
      s->add_option("id", cid)->required();
      s->add_option("--reason", creason, "why (kept in the audit trail)");
      on(s, "contractor." + verb, [&, status = status](Context& c) {
        return itaku::gateway::ContractorSetStatus(c, cid, status, creason);
      });
    }
  }

  itaku::gateway::ContractorArgs cargs;
  std::string probe_id;
  std::string cid, creason;
};

class Registry : public CommandGroup {
 public:
  using CommandGroup::CommandGroup;
  void Register(CLI::App& app) override {
    RegisterNdaCommands(app);
    RegisterProfileCommands(app);
    RegisterKeyCommands(app);
  }

 private:
  void RegisterNdaCommands(CLI::App& app) {
    CLI::App* nda = Group(app, "nda", "register non-disclosure agreements (機密保持契約)");
    CLI::App* n_add = Sub(*nda, "add", "register a signed NDA");
    n_add->add_option("contractor", nargs.contractor)->required();
    n_add->add_option("--signed", nargs.signed_on, "signed on (YYYY-MM-DD)")->required();
    n_add->add_option("--from", nargs.from, "in force from (YYYY-MM-DD)")->required();
    n_add->add_option("--until", nargs.until, "in force until (YYYY-MM-DD)")->required();
    Input(n_add->add_option("--document", nargs.document,
                            "the signed document (copied into the store)"))
        ->required();
    n_add->add_option("--signatory", nargs.signatories, "a signatory (repeat for each)")
        ->required();
    on(n_add, "nda.add", [&](Context& c) { return itaku::gateway::NdaAdd(c, nargs); });
    CLI::App* n_list = Sub(*nda, "list", "list NDAs");
    n_list->add_option("--contractor", n_contractor);
    n_list->add_option("--expiring-within", n_within, "only NDAs ending within DAYS");
    on(n_list, "nda.list",
       [&](Context& c) { return itaku::gateway::NdaList(c, n_contractor, n_within); });
    CLI::App* n_withdraw =
        Sub(*nda, "withdraw", "withdraw an NDA entered in error (privacy officer)");
    n_withdraw->add_option("id", n_id)->required();
    n_withdraw->add_option("--reason", n_reason, "why (kept on the NDA and in the audit trail)")
        ->required();
    on(n_withdraw, "nda.withdraw",
       [&](Context& c) { return itaku::gateway::NdaWithdraw(c, n_id, n_reason); });
  }
  void RegisterProfileCommands(CLI::App& app) {
    CLI::App* profile = Group(app, "profile", "contract profiles: what a contractor may receive");
    CLI::App* p_import =
        Sub(*profile, "import", "import a profile from TOML (new version on change)");
    Input(p_import->add_option("file", pfile))->required();
    on(p_import, "profile.import",
       [&](Context& c) { return itaku::gateway::ProfileImport(c, pfile); });
    CLI::App* p_show = Sub(*profile, "show", "show a profile");
    p_show->add_option("id", pid)->required();
    p_show->add_option("--version", pversion);
    on(p_show, "profile.show",
       [&](Context& c) { return itaku::gateway::ProfileShow(c, pid, pversion); });
    CLI::App* p_list = Sub(*profile, "list", "list profiles (latest versions)");
    on(p_list, "profile.list", [](Context& c) { return itaku::gateway::ProfileList(c); });
  }

  void RegisterKeyCommands(CLI::App& app) {
    CLI::App* keys = Group(app, "keys", "the daemon's keys kept beside the store");
    // Its effect, stated where staff ask for it (README: the pseudonym key).
    constexpr char kRotateHelp[] =
        "replace the pseudonym key (privacy officer). Deliveries from now on carry new "
        "pseudonyms: a subscriber's pseudonym differs from the one in earlier deliveries, so a "
        "contractor cannot link records across the rotation. Earlier deliveries are unchanged. "
        "The old key is kept as <db>.d/pseudonym-keys/pseudonym.key.<UTC>.retired: keep it to "
        "re-identify earlier pseudonyms, delete it to make that impossible";
    CLI::App* k_rotate = Sub(*keys, "rotate-pseudonym", kRotateHelp);
    k_rotate->add_option("--reason", k_reason, "why (kept in the audit trail)")->required();
    on(k_rotate, "keys.rotate-pseudonym",
       [&](Context& c) { return itaku::gateway::RotatePseudonymKey(c, k_reason); });
  }

  itaku::gateway::NdaArgs nargs;
  std::optional<std::string> n_contractor;
  std::optional<int> n_within;
  int64_t n_id = 0;
  std::string n_reason;
  std::string pfile, pid;
  std::optional<int> pversion;
  std::string k_reason;
};

}  // namespace

std::unique_ptr<CommandGroup> ContractorCommandGroup(CommandLine& line) {
  return std::make_unique<Contractors>(line);
}
std::unique_ptr<CommandGroup> RegistryCommands(CommandLine& line) {
  return std::make_unique<Registry>(line);
}

}  // namespace itaku::gateway
