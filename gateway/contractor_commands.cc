// Contractors (委託先): registration, certificates, the SFTP endpoint and its
// host-key pin, status, and the probe.
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include "contracts/base/atomic_file.h"
#include "contracts/base/date.h"
#include "contracts/base/files.h"
#include "contracts/base/layout.h"
#include "contracts/base/strings.h"
#include "contracts/profile_toml.h"
#include "gateway/commands.h"
#include "gateway/detail/command_util.h"
#include "gateway/records_json.h"
#include "policies/catalog.h"
#include "policies/profile_rules.h"
#include "policies/registry_rules.h"
#include "transports/certificate.h"
#include "transports/sftp_transport.h"
#include "transports/ssh_key.h"

namespace itaku::gateway {
namespace fs = std::filesystem;
using contracts::ContractorStatus;
using Json = nlohmann::json;
namespace {

// Reads and judges a contractor's certificate: expired, weak or not a
// certificate at all is refused with the reason.
Result<contracts::ContractorCertificate> ReadCertificate(Context& ctx, const std::string& id,
                                                         const std::string& file,
                                                         const std::string& use) {
  using R = Result<contracts::ContractorCertificate>;
  std::ifstream in(file, std::ios::binary);
  if (!in) return R::Error("contractor " + id + ": cannot read certificate " + file);
  std::stringstream buf;
  buf << in.rdbuf();
  auto info = transports::InspectCertificate(buf.str(), ctx.clock->Now());
  if (!info.ok()) return R::Error("contractor " + id + ": " + file + ": " + info.message());
  contracts::ContractorCertificate c;
  c.contractor_id = id;
  c.use = use;
  c.pem = buf.str();
  c.fingerprint = info->fingerprint;
  c.subject = info->subject;
  c.not_after = info->not_after;
  c.registered_by = ctx.actor;
  c.registered_at = ctx.clock->NowUtc();
  return c;
}

// The certificate named by --cert, when one is.
Result<std::optional<contracts::ContractorCertificate>> ReadOptionalCertificate(
    Context& ctx, const std::string& id, const std::string& file,
    const std::string& use = "package") {
  if (file.empty()) return std::optional<contracts::ContractorCertificate>();
  auto read = ReadCertificate(ctx, id, file, use);
  if (!read.ok()) return read.status();
  if (use == "portal") {
    auto owner = ctx.store->FindContractorByCertificate(read->fingerprint, "portal");
    if (!owner.ok()) return owner.status();
    if (std::string why = policies::PortalCertificateRefusal(id, read->fingerprint, owner.value());
        !why.empty()) {
      return Status::Conflict(why);
    }
  }
  return std::optional<contracts::ContractorCertificate>(std::move(read).value());
}

// The package and portal certificates named by --cert and --portal-cert.
struct Certificates {
  std::optional<contracts::ContractorCertificate> package, portal;
};
Result<Certificates> ReadCertificates(Context& ctx, const ContractorArgs& a) {
  auto package = ReadOptionalCertificate(ctx, a.id, a.cert_file);
  if (!package.ok()) return package.status();
  auto portal = ReadOptionalCertificate(ctx, a.id, a.portal_cert_file, "portal");
  if (!portal.ok()) return portal.status();
  return Certificates{std::move(package).value(), std::move(portal).value()};
}

Status StoreCertificate(Context& ctx, const contracts::ContractorCertificate& c) {
  if (Status s = ctx.store->PutContractorCertificate(c); !s.ok()) return s;
  return ctx.audit->Append(ctx.actor, "contractor.certificate", "contractor:" + c.contractor_id,
                           ToJson(c));
}

Output WithCertificate(Json j, std::string text,
                       const std::optional<contracts::ContractorCertificate>& cert) {
  if (cert) {
    j["certificate"] = ToJson(*cert);
    text += "\ncertificate " + cert->fingerprint + " (" + cert->subject + ", valid until " +
            ShowJst(cert->not_after) + ")";
  }
  return Output{j, text};
}

bool WantsSftpChange(const ContractorArgs& a) {
  return !a.sftp_url.empty() || !a.host_key.empty() || !a.key_file.empty() ||
         !a.key_passphrase_env.empty() || !a.key_passphrase_file.empty();
}

// What `contractor add|update --sftp/--host-key/--key/...` asks for, checked
// and ready to store; the key's text is copied only when everything holds.
struct SftpChange {
  contracts::SftpEndpointRecord record;
  std::string key_text;  // the new private key; empty when unchanged
  transports::SshKeyInfo key;
  bool pin_dropped = false;  // the server moved and no new pin was given
};

// The key is judged now, with its passphrase when one is named and
// reachable, so that a weak or unusable key never gets registered.
Status JudgeKey(Context& ctx, const ContractorArgs& a, SftpChange& change) {
  const std::string who = "contractor " + a.id + ": ";
  contracts::SftpEndpointRecord& r = change.record;
  const bool passphrase_named = !a.key_passphrase_env.empty() || !a.key_passphrase_file.empty();

  std::string key_text;
  if (!a.key_file.empty()) {
    std::ifstream in(a.key_file, std::ios::binary);
    if (!in) return Status::Error(who + "cannot read private key " + a.key_file);
    std::stringstream buf;
    buf << in.rdbuf();
    key_text = buf.str();
  } else if (!r.key_path.empty()) {
    std::ifstream in(r.key_path, std::ios::binary);
    if (!in) return Status::Error(who + "cannot read the registered key " + r.key_path);
    std::stringstream buf;
    buf << in.rdbuf();
    key_text = buf.str();
  }
  // A variable may be set only where deliveries run: unset here is no error.
  std::string passphrase;
  const auto source = policies::ParsePassphraseSource(r.passphrase_source);
  const bool from_env = source && source->kind == policies::PassphraseSource::Kind::kEnv;
  if (auto read = ReadKeyPassphrase(r.passphrase_source); read.ok()) {
    passphrase = std::move(read).value();
  } else if (!from_env) {
    return Status::Error(who + read.message());
  }
  const std::string key_name = a.key_file.empty() ? r.key_path : a.key_file;
  auto info = transports::InspectPrivateKey(key_text, passphrase);
  if (!info.ok() && passphrase.empty() && from_env) {
    return Status::Error(who + key_name + " is a PEM key protected by a passphrase, and " +
                         source->name + " is not set here, so it cannot be checked");
  }
  if (!info.ok()) return Status::Error(who + key_name + ": " + info.message());
  if (std::string why = policies::KeySourceRefusal(info->encrypted,
                                                   source.value_or(policies::PassphraseSource{}));
      !why.empty()) {
    return Status::Error(who + key_name + " " + why);
  }
  if (!policies::KeepsPassphraseSource(info->encrypted, !a.key_file.empty(), passphrase_named)) {
    r.passphrase_source.clear();
  }
  change.key = info.value();
  if (!a.key_file.empty()) {
    change.key_text = std::move(key_text);
    r.key_path = StoreLayout(ctx.db_path).Keys() + "/" + a.id + ".key";
  }
  return Status::Ok();
}

Result<SftpChange> PrepareSftp(Context& ctx, const ContractorArgs& a,
                               const std::optional<contracts::SftpEndpointRecord>& existing) {
  using R = Result<SftpChange>;
  const std::string who = "contractor " + a.id + ": ";
  SftpChange change;
  contracts::SftpEndpointRecord& r = change.record;
  if (existing) r = *existing;
  r.contractor_id = a.id;
  r.registered_by = ctx.actor;
  r.registered_at = ctx.clock->NowUtc();
  if (!existing && (a.sftp_url.empty() || a.key_file.empty())) {
    return R::Error(who + "an SFTP server needs --sftp URL and --key FILE");
  }
  if (!a.sftp_url.empty()) {
    auto parsed = transports::ParseSftpUrl(a.sftp_url);
    if (!parsed.ok()) return R::Error(who + parsed.message());
    if (existing) {
      auto before = transports::ParseSftpUrl(existing->url);
      change.pin_dropped =
          !before.ok() || before->host != parsed->host || before->port != parsed->port;
    }
    r.url = a.sftp_url;
  }
  std::string new_pin;
  if (!a.host_key.empty()) {
    std::optional<std::string> pin = policies::NormalisedHostKeyPin(a.host_key);
    if (!pin) {
      return R::Error(who +
                      "--host-key must read SHA256:<43 base64 characters>, as "
                      "ssh-keygen -lf or itaku contractor probe prints it");
    }
    new_pin = *pin;
  }
  r.host_key = policies::PinAfterChange(r.host_key, new_pin, change.pin_dropped);
  change.pin_dropped = change.pin_dropped && new_pin.empty();
  const policies::PassphraseChoice choice = policies::ChoosePassphraseSource(
      policies::ParsePassphraseSource(r.passphrase_source).value_or(policies::PassphraseSource{}),
      a.key_passphrase_env,
      a.key_passphrase_file.empty() ? "" : fs::absolute(a.key_passphrase_file).string());
  if (!choice.refusal.empty()) return R::Error(who + choice.refusal);
  r.passphrase_source = policies::ToString(choice.source);
  if (Status k = JudgeKey(ctx, a, change); !k.ok()) return k;
  return change;
}

// Copies the key (if new) and stores the endpoint; inside the caller's
// transaction.
Status StoreSftp(Context& ctx, const SftpChange& change) {
  if (!change.key_text.empty()) {
    const fs::path dir = fs::path(change.record.key_path).parent_path();
    std::error_code ec;
    fs::create_directories(dir, ec);
    fs::permissions(dir, fs::perms::owner_all, fs::perm_options::replace, ec);
    // A replaced key replaces the file; AtomicFile makes it 0600 from the start.
    if (Status w = WriteFileAtomically(change.record.key_path, change.key_text,
                                       AtomicFile::Overwrite::kReplace);
        !w.ok()) {
      return w;
    }
  }
  if (Status s = ctx.store->PutSftpEndpoint(change.record); !s.ok()) return s;
  Json details = ToJson(change.record);
  details["client_key"] = {{"type", change.key.type},
                           {"bits", change.key.bits},
                           {"fingerprint", change.key.fingerprint},
                           {"replaced", !change.key_text.empty()}};
  return ctx.audit->Append(ctx.actor, "contractor.sftp",
                           "contractor:" + change.record.contractor_id, details);
}

std::string SftpText(const SftpChange& c) {
  std::string text =
      "\nSFTP server " + c.record.url + "\nhost key: " +
      (c.record.host_key.empty()
           ? std::string(c.pin_dropped ? "pin dropped (the server changed); " : "not pinned; ") +
                 "no delivery until pinned (itaku contractor probe " + c.record.contractor_id + ")"
           : "pinned " + c.record.host_key) +
      "\nclient key: " + c.key.type + " " + std::to_string(c.key.bits) + " bits" +
      (c.key.fingerprint.empty() ? "" : " " + c.key.fingerprint) +
      (c.key.encrypted ? ", passphrase from " + c.record.passphrase_source : "");
  return text;
}

void AddPortalCertificate(Output& out,
                          const std::optional<contracts::ContractorCertificate>& cert) {
  if (!cert) return;
  out.json["portal_certificate"] = ToJson(*cert);
  out.text += "\nportal certificate " + cert->fingerprint + " (" + cert->subject +
              ", valid until " + ShowJst(cert->not_after) + ")";
}

// The contractor's certificates and SFTP server, when given; inside the
// caller's transaction.
Status StoreEndpoints(Context& ctx, const std::optional<contracts::ContractorCertificate>& cert,
                      const std::optional<contracts::ContractorCertificate>& portal_cert,
                      const std::optional<SftpChange>& sftp) {
  for (const auto* c : {&cert, &portal_cert}) {
    if (*c) {
      if (Status st = StoreCertificate(ctx, **c); !st.ok()) return st;
    }
  }
  return sftp ? StoreSftp(ctx, *sftp) : Status::Ok();
}

// --name, --email, --postal-code and --address as given (any may be empty:
// not changed): printed
// on terminals, in the console and in letters, so free of line breaks,
// terminal escapes and bidirectional controls. The id is checked already.
Status CheckNameAndEmail(const ContractorArgs& a) {
  for (const auto& [what, value] : {std::pair{"name", &a.name},
                                    {"e-mail", &a.email},
                                    {"postal code", &a.postal_code},
                                    {"address", &a.address}}) {
    if (value->empty()) continue;
    const std::string why =
        policies::DisplayNameRefusal(std::string(what) + " of contractor " + a.id, *value);
    if (!why.empty()) return Status::Error(why);
  }
  return Status::Ok();
}

}  // namespace

Result<Output> ContractorAdd(Context& ctx, const ContractorArgs& a) {
  if (std::string why = policies::ContractorIdRefusal(a.id); !why.empty()) {
    return Result<Output>::Error(why);
  }
  if (a.name.empty()) return Result<Output>::Error("contractor " + a.id + ": --name is required");
  if (Status s = CheckNameAndEmail(a); !s.ok()) return s;
  contracts::Contractor c;
  c.id = a.id;
  c.name = a.name;
  c.email = a.email;
  c.postal_code = a.postal_code;
  c.address = a.address;
  c.created_at = ctx.clock->NowUtc();
  auto certs = ReadCertificates(ctx, a);
  if (!certs.ok()) return certs.status();
  const auto& [cert, portal_cert] = certs.value();
  std::optional<SftpChange> sftp;
  if (WantsSftpChange(a)) {
    auto prepared = PrepareSftp(ctx, a, std::nullopt);
    if (!prepared.ok()) return prepared.status();
    sftp = std::move(prepared).value();
  }
  Status s = ctx.store->Transaction([&]() -> Status {
    if (Status add = ctx.store->AddContractor(c); !add.ok()) return add;
    if (Status au = ctx.audit->Append(ctx.actor, "contractor.add", "contractor:" + c.id, ToJson(c));
        !au.ok())
      return au;
    return StoreEndpoints(ctx, cert, portal_cert, sftp);
  });
  if (!s.ok()) return s;
  Output out =
      WithCertificate(ToJson(c), "added contractor " + c.id + " (" + c.name + "), active", cert);
  AddPortalCertificate(out, portal_cert);
  if (sftp) {
    out.json["sftp"] = ToJson(sftp->record);
    out.text += SftpText(*sftp);
  }
  return out;
}

namespace {

// Every change of where a contractor's data goes or who can open it: the
// package and portal certificates, the SFTP server, its pinned host key
// and the client key. Each waits for a second person (two-person rule).
Result<Json> WhereDataGoesChanges(Context& ctx, const std::string& id,
                                  const std::optional<contracts::ContractorCertificate>& cert,
                                  const std::optional<contracts::ContractorCertificate>& portal,
                                  const std::optional<SftpChange>& sftp) {
  Json changes = Json::array();
  auto add = [&](const std::string& item, const std::string& from, const std::string& to) {
    if (from == to) return;
    changes.push_back({{"item", item},
                       {"from", from.empty() ? Json() : Json(from)},
                       {"to", to.empty() ? Json() : Json(to)}});
  };
  for (const auto& [use, next] : {std::pair{"package", &cert}, {"portal", &portal}}) {
    if (!*next) continue;
    auto old = ctx.store->FindContractorCertificate(id, use);
    if (!old.ok()) return old.status();
    add(std::string(use) + " certificate", old.value() ? old.value()->fingerprint : "",
        (*next)->fingerprint);
  }
  if (sftp) {
    auto old = ctx.store->FindSftpEndpoint(id);
    if (!old.ok()) return old.status();
    const contracts::SftpEndpointRecord before =
        old.value().value_or(contracts::SftpEndpointRecord{});
    add("sftp server", before.url, sftp->record.url);
    add("sftp host key pin", before.host_key, sftp->record.host_key);
    if (!sftp->key_text.empty()) {
      add("sftp client key", before.key_path.empty() ? "" : "registered",
          sftp->key.fingerprint.empty() ? "a new " + sftp->key.type + " key"
                                        : sftp->key.fingerprint);
    }
    add("sftp key passphrase source", before.passphrase_source, sftp->record.passphrase_source);
  }
  return changes;
}

}  // namespace

Result<Output> ContractorUpdate(Context& ctx, const ContractorArgs& a) {
  auto c = RequireContractor(ctx, a.id);
  if (!c.ok()) return c.status();
  if (Status s = CheckNameAndEmail(a); !s.ok()) return s;
  auto certs = ReadCertificates(ctx, a);
  if (!certs.ok()) return certs.status();
  const auto& [cert, portal_cert] = certs.value();
  const bool details =
      !a.name.empty() || !a.email.empty() || !a.postal_code.empty() || !a.address.empty();
  if (!cert && !portal_cert && !details && !WantsSftpChange(a)) {
    return Result<Output>::Error("contractor update " + a.id + ": nothing to change");
  }
  std::optional<SftpChange> sftp;
  if (WantsSftpChange(a)) {
    auto existing = ctx.store->FindSftpEndpoint(a.id);
    if (!existing.ok()) return existing.status();
    auto prepared = PrepareSftp(ctx, a, existing.value());
    if (!prepared.ok()) return prepared.status();
    sftp = std::move(prepared).value();
  }
  auto changes = WhereDataGoesChanges(ctx, a.id, cert, portal_cert, sftp);
  if (!changes.ok()) return changes.status();
  if (auto proposed = ProposeIfWidening(ctx, "contractor:" + a.id, changes.value())) {
    return *proposed;
  }
  contracts::Contractor updated = c.value();
  if (!a.name.empty()) updated.name = a.name;
  if (!a.email.empty()) updated.email = a.email;
  if (!a.postal_code.empty()) updated.postal_code = a.postal_code;
  if (!a.address.empty()) updated.address = a.address;
  Status s = ctx.store->Transaction([&]() -> Status {
    if (details) {
      if (Status u = ctx.store->UpdateContractor(updated); !u.ok()) return u;
      if (Status au = ctx.audit->Append(ctx.actor, "contractor.update", "contractor:" + a.id,
                                        ToJson(updated));
          !au.ok())
        return au;
    }
    return StoreEndpoints(ctx, cert, portal_cert, sftp);
  });
  if (!s.ok()) return s;
  Output out = WithCertificate(ToJson(updated), "updated contractor " + a.id, cert);
  AddPortalCertificate(out, portal_cert);
  if (sftp) {
    out.json["sftp"] = ToJson(sftp->record);
    out.text += SftpText(*sftp);
  }
  return out;
}

Result<Output> ContractorList(Context& ctx) {
  return Listing(
      ctx.store->ListContractors(),
      [](const contracts::Contractor& c) {
        return c.id + "\t" + std::string(contracts::ToString(c.status)) + "\t" + c.name + "\t" +
               c.email;
      },
      "no contractors registered");
}

Result<Output> ContractorShow(Context& ctx, const std::string& id) {
  auto c = RequireContractor(ctx, id);
  if (!c.ok()) return c.status();
  auto ndas = ctx.store->ListNdas(id);
  if (!ndas.ok()) return ndas.status();
  Output out;
  out.json = ToJson(c.value());
  out.json["ndas"] = Json::array();
  auto cert = ctx.store->FindContractorCertificate(id, "package");
  if (!cert.ok()) return cert.status();
  out.json["certificate"] = cert.value() ? ToJson(*cert.value()) : Json();
  std::ostringstream text;
  text << c->id << ": " << c->name << "\nstatus: " << contracts::ToString(c->status)
       << "\nemail: " << c->email << "\naddress: "
       << (c->address.empty()
               ? std::string("none (needed for letters: --postal-code, --address)")
               : (c->postal_code.empty() ? "" : "〒" + c->postal_code + " ") + c->address)
       << "\nregistered: " << ShowJst(c->created_at) << "\ncertificate: "
       << (cert.value() ? cert.value()->fingerprint + " (valid until " +
                              ShowJst(cert.value()->not_after) + ")"
                        : std::string("none"))
       << "\nSFTP: ";
  auto sftp = ctx.store->FindSftpEndpoint(id);
  if (!sftp.ok()) return sftp.status();
  out.json["sftp"] = sftp.value() ? ToJson(*sftp.value()) : Json();
  if (sftp.value()) {
    text << sftp.value()->url << ", host key "
         << (sftp.value()->host_key.empty() ? "not pinned (no delivery)" : sftp.value()->host_key);
  } else {
    text << "none";
  }
  text << "\nNDAs:";
  if (ndas->empty()) text << " none";
  for (const auto& n : ndas.value()) {
    out.json["ndas"].push_back(ToJson(n));
    text << "\n  #" << n.id << " in force " << FormatDate(n.in_force_from) << " to "
         << FormatDate(n.in_force_until) << ", signed " << FormatDate(n.signed_on);
  }
  out.text = text.str();
  return out;
}

Result<Output> ContractorSetStatus(Context& ctx, const std::string& id, const std::string& status,
                                   const std::string& reason) {
  auto parsed = contracts::Parse<contracts::ContractorStatus>(status);
  if (!parsed) return Result<Output>::Error("unknown contractor status " + status);
  auto c = RequireContractor(ctx, id);
  if (!c.ok()) return c.status();
  Status s = ctx.store->Transaction([&]() -> Status {
    if (Status st = ctx.store->SetContractorStatus(id, *parsed); !st.ok()) return st;
    return ctx.audit->Append(ctx.actor, "contractor.status", "contractor:" + id,
                             {{"from", std::string(contracts::ToString(c->status))},
                              {"to", status},
                              {"reason", reason}});
  });
  if (!s.ok()) return s;
  return Output{{{"id", id}, {"status", status}}, "contractor " + id + " is now " + status};
}

Result<Output> ContractorProbe(Context& ctx, const std::string& id) {
  auto c = RequireContractor(ctx, id);
  if (!c.ok()) return c.status();
  auto found = ctx.store->FindSftpEndpoint(id);
  if (!found.ok()) return found.status();
  if (!found.value()) {
    return Result<Output>::Error("contractor " + id +
                                 " has no SFTP server registered (itaku contractor update " + id +
                                 " --sftp URL --key FILE)");
  }
  const contracts::SftpEndpointRecord& r = *found.value();
  auto endpoint = transports::ParseSftpUrl(r.url);
  if (!endpoint.ok()) return Result<Output>::Error("contractor " + id + ": " + endpoint.message());
  const std::string where = endpoint->host + ":" + std::to_string(endpoint->port);
  auto seen = transports::ProbeHostKey(endpoint.value(), transports::SftpTimeouts{});
  if (!seen.ok()) {
    return Result<Output>::Error("contractor " + id + ": " + seen.message());
  }
  const std::string& fingerprint = seen.value();
  const std::string verdict = r.host_key.empty()          ? "not pinned"
                              : r.host_key == fingerprint ? "matches"
                                                          : "does not match";
  Json j = {{"contractor", id},
            {"server", where},
            {"host_key", fingerprint},
            {"pinned", r.host_key.empty() ? Json() : Json(r.host_key)},
            {"verdict", verdict}};
  if (Status a = ctx.audit->Append(ctx.actor, "contractor.probe", "contractor:" + id, j); !a.ok()) {
    return a;
  }
  if (verdict == "does not match") {
    return Result<Output>::Error("contractor " + id + ": host key of " + where + " is " +
                                 fingerprint + ", which does not match the pinned " + r.host_key +
                                 "; nothing will be delivered there");
  }
  std::string text = "host key of " + where + ": " + fingerprint + "\n";
  if (verdict == "matches") {
    text += "matches the pinned key";
  } else {
    text +=
        "no key is pinned, so nothing will be delivered. Check this fingerprint with the "
        "contractor's IT person (ssh-keygen -lf on the server's host key), then pin it:\n"
        "  itaku contractor update " +
        id + " --host-key " + fingerprint;
  }
  return Output{j, text};
}

}  // namespace itaku::gateway
