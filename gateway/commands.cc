#include "gateway/commands.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include "contracts/base/files.h"
#include "contracts/base/layout.h"
#include "contracts/profile_toml.h"
#include "gateway/records_json.h"
#include "policies/catalog.h"
#include "policies/profile_rules.h"
#include "transports/certificate.h"
#include "transports/sftp_transport.h"
#include "transports/ssh_key.h"

namespace itaku::gateway {
namespace fs = std::filesystem;
namespace {

using contracts::ContractorStatus;
using Json = nlohmann::json;

std::string Join(const std::vector<std::string>& parts, const char* sep = ", ") {
  std::string out;
  for (const auto& p : parts) {
    if (!out.empty()) out += sep;
    out += p;
  }
  return out;
}

Json ContractorJson(const contracts::Contractor& c) {
  return {{"id", c.id},
          {"name", c.name},
          {"status", std::string(contracts::ToString(c.status))},
          {"email", c.email},
          {"created_at", c.created_at}};
}

Json NdaJson(const contracts::Nda& n) {
  return {{"id", n.id},
          {"contractor", n.contractor_id},
          {"signed_on", FormatDate(n.signed_on)},
          {"in_force_from", FormatDate(n.in_force_from)},
          {"in_force_until", FormatDate(n.in_force_until)},
          {"signatories", n.signatories},
          {"document_sha256", n.document_sha256},
          {"document_path", n.document_path},
          {"registered_by", n.registered_by},
          {"registered_at", n.registered_at}};
}

Json ProfileJson(const contracts::ContractProfile& p) {
  return {{"id", p.id},
          {"version", p.version},
          {"contractor", p.contractor_id},
          {"purpose", p.purpose},
          {"fields", p.fields},
          {"masks", p.masks},
          {"transports", p.transports},
          {"valid_from", FormatDate(p.valid_from)},
          {"valid_until", FormatDate(p.valid_until)},
          {"retention_days", p.retention_days},
          {"output",
           {{"format", p.output_format},
            {"encoding", p.output_encoding},
            {"package", p.output_package}}},
          {"source_sha256", p.source_sha256},
          {"imported_by", p.imported_by},
          {"imported_at", p.imported_at}};
}

Json CertificateJson(const contracts::ContractorCertificate& c) {
  return {{"fingerprint", c.fingerprint},
          {"subject", c.subject},
          {"not_after", c.not_after},
          {"use", c.use}};
}

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
    // One certificate, one contractor: the fingerprint is the identity.
    auto owner = ctx.store->FindContractorByCertificate(read->fingerprint, "portal");
    if (!owner.ok()) return owner.status();
    if (owner.value() && *owner.value() != id) {
      return Result<std::optional<contracts::ContractorCertificate>>::Error(
          "contractor " + id + ": portal certificate " + read->fingerprint +
          " is already registered for contractor " + *owner.value());
    }
  }
  return std::optional<contracts::ContractorCertificate>(std::move(read).value());
}

Status StoreCertificate(Context& ctx, const contracts::ContractorCertificate& c) {
  if (Status s = ctx.store->PutContractorCertificate(c); !s.ok()) return s;
  return ctx.audit->Append(ctx.actor, "contractor.certificate", "contractor:" + c.contractor_id,
                           CertificateJson(c));
}

Output WithCertificate(Json j, std::string text,
                       const std::optional<contracts::ContractorCertificate>& cert) {
  if (cert) {
    j["certificate"] = CertificateJson(*cert);
    text += "\ncertificate " + cert->fingerprint + " (" + cert->subject + ", valid until " +
            cert->not_after + ")";
  }
  return Output{j, text};
}

Json SftpJson(const contracts::SftpEndpointRecord& e) {
  return {{"url", e.url},
          {"host_key", e.host_key.empty() ? Json() : Json(e.host_key)},
          {"passphrase_source", e.passphrase_source},
          {"registered_by", e.registered_by},
          {"registered_at", e.registered_at}};
}

bool WantsSftpChange(const ContractorArgs& a) {
  return !a.sftp_url.empty() || !a.host_key.empty() || !a.key_file.empty() ||
         !a.key_passphrase_env.empty() || !a.key_passphrase_file.empty();
}

// "SHA256:" + 43 base64 characters (OpenSSH drops the padding; a trailing
// '=' is accepted and dropped).
Result<std::string> ParseHostKeyPin(const std::string& id, std::string pin) {
  while (!pin.empty() && pin.back() == '=') pin.pop_back();
  const bool shaped = pin.rfind("SHA256:", 0) == 0 && pin.size() == 7 + 43 &&
                      pin.find_first_not_of(
                          "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                          "0123456789+/",
                          7) == std::string::npos;
  if (!shaped) {
    return Result<std::string>::Error("contractor " + id +
                                      ": --host-key must read SHA256:<43 base64 characters>, as "
                                      "ssh-keygen -lf or itaku contractor probe prints it");
  }
  return pin;
}

// Writes `data` as `path`, readable by the owner only from the first byte,
// through a temporary name.
Status WritePrivateFile(const fs::path& path, const std::string& data) {
  const fs::path temp = path.string() + ".new";
  ::unlink(temp.c_str());
  const int fd = ::open(temp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) return Status::Error("cannot write " + temp.string() + ": " + std::strerror(errno));
  size_t done = 0;
  while (done < data.size()) {
    const ssize_t n = ::write(fd, data.data() + done, data.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    done += static_cast<size_t>(n);
  }
  const bool ok = done == data.size() && ::fsync(fd) == 0;
  ::close(fd);
  if (!ok || ::rename(temp.c_str(), path.c_str()) != 0) {
    ::unlink(temp.c_str());
    return Status::Error("cannot write " + path.string());
  }
  return Status::Ok();
}

// What `contractor add|update --sftp/--host-key/--key/...` asks for, checked
// and ready to store; the key's text is copied only when everything holds.
struct SftpChange {
  contracts::SftpEndpointRecord record;
  std::string key_text;  // the new private key; empty when unchanged
  transports::SshKeyInfo key;
  bool pin_dropped = false;  // the server moved and no new pin was given
};

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
  if (!a.host_key.empty()) {
    auto pin = ParseHostKeyPin(a.id, a.host_key);
    if (!pin.ok()) return pin.status();
    r.host_key = pin.value();
    change.pin_dropped = false;
  } else if (change.pin_dropped) {
    r.host_key.clear();
  }
  if (!a.key_passphrase_env.empty() && !a.key_passphrase_file.empty()) {
    return R::Error(who + "give --key-passphrase-env or --key-passphrase-file, not both");
  }
  if (!a.key_passphrase_env.empty()) r.passphrase_source = "env:" + a.key_passphrase_env;
  if (!a.key_passphrase_file.empty()) {
    r.passphrase_source = "file:" + fs::absolute(a.key_passphrase_file).string();
  }
  const bool passphrase_named = !a.key_passphrase_env.empty() || !a.key_passphrase_file.empty();

  // The key is judged now, with its passphrase when one is named and
  // reachable, so that a weak or unusable key never gets registered.
  std::string key_text;
  if (!a.key_file.empty()) {
    std::ifstream in(a.key_file, std::ios::binary);
    if (!in) return R::Error(who + "cannot read private key " + a.key_file);
    std::stringstream buf;
    buf << in.rdbuf();
    key_text = buf.str();
  } else if (!r.key_path.empty()) {
    std::ifstream in(r.key_path, std::ios::binary);
    if (!in) return R::Error(who + "cannot read the registered key " + r.key_path);
    std::stringstream buf;
    buf << in.rdbuf();
    key_text = buf.str();
  }
  // A variable may be set only where deliveries run: unset here is no error.
  std::string passphrase;
  const bool from_env = r.passphrase_source.rfind("env:", 0) == 0;
  if (auto read = ReadKeyPassphrase(r.passphrase_source); read.ok()) {
    passphrase = std::move(read).value();
  } else if (!from_env) {
    return R::Error(who + read.message());
  }
  const std::string key_name = a.key_file.empty() ? r.key_path : a.key_file;
  auto info = transports::InspectPrivateKey(key_text, passphrase);
  if (!info.ok() && passphrase.empty() && from_env) {
    return R::Error(who + key_name + " is a PEM key protected by a passphrase, and " +
                    r.passphrase_source.substr(4) + " is not set here, so it cannot be checked");
  }
  if (!info.ok()) return R::Error(who + key_name + ": " + info.message());
  if (info->encrypted && r.passphrase_source.empty()) {
    return R::Error(who + key_name +
                    " is protected by a passphrase: say where it comes from with "
                    "--key-passphrase-env NAME or --key-passphrase-file PATH");
  }
  // A new key without a passphrase needs no source; an old one would only
  // make deliveries wait for a variable nobody sets any more.
  if (!info->encrypted && !a.key_file.empty() && !passphrase_named) r.passphrase_source.clear();
  change.key = info.value();
  if (!a.key_file.empty()) {
    change.key_text = std::move(key_text);
    r.key_path = StoreLayout(ctx.db_path).Keys() + "/" + a.id + ".key";
  }
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
    if (Status w = WritePrivateFile(change.record.key_path, change.key_text); !w.ok()) return w;
  }
  if (Status s = ctx.store->PutSftpEndpoint(change.record); !s.ok()) return s;
  Json details = SftpJson(change.record);
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
  out.json["portal_certificate"] = CertificateJson(*cert);
  out.text += "\nportal certificate " + cert->fingerprint + " (" + cert->subject +
              ", valid until " + cert->not_after + ")";
}

Result<Date> ParseDateArg(const std::string& flag, const std::string& value) {
  auto d = ParseDate(value);
  if (!d) return Result<Date>::Error(flag + " must be a date like 2026-04-01, got " + value);
  return *d;
}

Result<contracts::Contractor> RequireContractor(Context& ctx, const std::string& id) {
  auto c = ctx.store->FindContractor(id);
  if (!c.ok()) return c.status();
  if (!c.value()) {
    return Result<contracts::Contractor>::Error("unknown contractor " + id +
                                                " (register it with: itaku contractor add)");
  }
  return *c.value();
}

}  // namespace

Result<Output> Init(Context& ctx) {
  auto key = ctx.store->GetMeta("pseudonym_key");
  if (!key.ok()) return key.status();
  bool created = false;
  if (!key.value()) {
    auto secret = RandomHex32();
    if (!secret.ok()) return secret.status();
    Status s = ctx.store->Transaction([&]() -> Status {
      if (Status m = ctx.store->SetMeta("pseudonym_key", secret.value()); !m.ok()) return m;
      return ctx.audit->Append(ctx.actor, "store.init", "store",
                               {{"schema_version", contracts::Store::kSchemaVersion}});
    });
    if (!s.ok()) return s;
    created = true;
  }
  Output out;
  out.json = {{"db", ctx.db_path},
              {"schema_version", contracts::Store::kSchemaVersion},
              {"created", created}};
  out.text = (created ? "initialised store " : "store already initialised: ") + ctx.db_path +
             " (schema version " + std::to_string(contracts::Store::kSchemaVersion) + ")";
  return out;
}

Result<Output> ContractorAdd(Context& ctx, const ContractorArgs& a) {
  if (a.id.empty() || a.id.find_first_of(" /\\:") != std::string::npos) {
    return Result<Output>::Error(
        "contractor id must be non-empty without spaces, slashes or colons");
  }
  if (a.name.empty()) return Result<Output>::Error("contractor " + a.id + ": --name is required");
  contracts::Contractor c;
  c.id = a.id;
  c.name = a.name;
  c.email = a.email;
  c.created_at = ctx.clock->NowUtc();
  auto read = ReadOptionalCertificate(ctx, a.id, a.cert_file);
  if (!read.ok()) return read.status();
  const std::optional<contracts::ContractorCertificate>& cert = read.value();
  auto read_portal = ReadOptionalCertificate(ctx, a.id, a.portal_cert_file, "portal");
  if (!read_portal.ok()) return read_portal.status();
  const std::optional<contracts::ContractorCertificate>& portal_cert = read_portal.value();
  std::optional<SftpChange> sftp;
  if (WantsSftpChange(a)) {
    auto prepared = PrepareSftp(ctx, a, std::nullopt);
    if (!prepared.ok()) return prepared.status();
    sftp = std::move(prepared).value();
  }
  Status s = ctx.store->Transaction([&]() -> Status {
    if (Status add = ctx.store->AddContractor(c); !add.ok()) return add;
    if (Status au =
            ctx.audit->Append(ctx.actor, "contractor.add", "contractor:" + c.id, ContractorJson(c));
        !au.ok())
      return au;
    if (cert) {
      if (Status st = StoreCertificate(ctx, *cert); !st.ok()) return st;
    }
    if (portal_cert) {
      if (Status st = StoreCertificate(ctx, *portal_cert); !st.ok()) return st;
    }
    return sftp ? StoreSftp(ctx, *sftp) : Status::Ok();
  });
  if (!s.ok()) return s;
  Output out = WithCertificate(ContractorJson(c),
                               "added contractor " + c.id + " (" + c.name + "), active", cert);
  AddPortalCertificate(out, portal_cert);
  if (sftp) {
    out.json["sftp"] = SftpJson(sftp->record);
    out.text += SftpText(*sftp);
  }
  return out;
}

Result<Output> ContractorUpdate(Context& ctx, const ContractorArgs& a) {
  auto c = RequireContractor(ctx, a.id);
  if (!c.ok()) return c.status();
  auto read = ReadOptionalCertificate(ctx, a.id, a.cert_file);
  if (!read.ok()) return read.status();
  const std::optional<contracts::ContractorCertificate>& cert = read.value();
  auto read_portal = ReadOptionalCertificate(ctx, a.id, a.portal_cert_file, "portal");
  if (!read_portal.ok()) return read_portal.status();
  const std::optional<contracts::ContractorCertificate>& portal_cert = read_portal.value();
  if (!cert && !portal_cert && a.name.empty() && a.email.empty() && !WantsSftpChange(a)) {
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
  contracts::Contractor updated = c.value();
  if (!a.name.empty()) updated.name = a.name;
  if (!a.email.empty()) updated.email = a.email;
  Status s = ctx.store->Transaction([&]() -> Status {
    if (!a.name.empty() || !a.email.empty()) {
      if (Status u = ctx.store->UpdateContractor(updated); !u.ok()) return u;
      if (Status au = ctx.audit->Append(ctx.actor, "contractor.update", "contractor:" + a.id,
                                        ContractorJson(updated));
          !au.ok())
        return au;
    }
    if (cert) {
      if (Status st = StoreCertificate(ctx, *cert); !st.ok()) return st;
    }
    if (portal_cert) {
      if (Status st = StoreCertificate(ctx, *portal_cert); !st.ok()) return st;
    }
    return sftp ? StoreSftp(ctx, *sftp) : Status::Ok();
  });
  if (!s.ok()) return s;
  Output out = WithCertificate(ContractorJson(updated), "updated contractor " + a.id, cert);
  AddPortalCertificate(out, portal_cert);
  if (sftp) {
    out.json["sftp"] = SftpJson(sftp->record);
    out.text += SftpText(*sftp);
  }
  return out;
}

Result<Output> ContractorList(Context& ctx) {
  auto list = ctx.store->ListContractors();
  if (!list.ok()) return list.status();
  Output out;
  out.json = Json::array();
  for (const auto& c : list.value()) {
    out.json.push_back(ContractorJson(c));
    out.text += c.id + "\t" + std::string(contracts::ToString(c.status)) + "\t" + c.name + "\t" +
                c.email + "\n";
  }
  if (out.text.empty()) out.text = "no contractors registered";
  if (out.text.back() == '\n') out.text.pop_back();
  return out;
}

Result<Output> ContractorShow(Context& ctx, const std::string& id) {
  auto c = RequireContractor(ctx, id);
  if (!c.ok()) return c.status();
  auto ndas = ctx.store->ListNdas(id);
  if (!ndas.ok()) return ndas.status();
  Output out;
  out.json = ContractorJson(c.value());
  out.json["ndas"] = Json::array();
  auto cert = ctx.store->FindContractorCertificate(id, "package");
  if (!cert.ok()) return cert.status();
  out.json["certificate"] = cert.value() ? CertificateJson(*cert.value()) : Json();
  std::ostringstream text;
  text << c->id << ": " << c->name << "\nstatus: " << contracts::ToString(c->status)
       << "\nemail: " << c->email << "\nregistered: " << c->created_at << "\ncertificate: "
       << (cert.value()
               ? cert.value()->fingerprint + " (valid until " + cert.value()->not_after + ")"
               : std::string("none"))
       << "\nSFTP: ";
  auto sftp = ctx.store->FindSftpEndpoint(id);
  if (!sftp.ok()) return sftp.status();
  out.json["sftp"] = sftp.value() ? SftpJson(*sftp.value()) : Json();
  if (sftp.value()) {
    text << sftp.value()->url << ", host key "
         << (sftp.value()->host_key.empty() ? "not pinned (no delivery)" : sftp.value()->host_key);
  } else {
    text << "none";
  }
  text << "\nNDAs:";
  if (ndas->empty()) text << " none";
  for (const auto& n : ndas.value()) {
    out.json["ndas"].push_back(NdaJson(n));
    text << "\n  #" << n.id << " in force " << FormatDate(n.in_force_from) << " to "
         << FormatDate(n.in_force_until) << ", signed " << FormatDate(n.signed_on);
  }
  out.text = text.str();
  return out;
}

Result<Output> ContractorSetStatus(Context& ctx, const std::string& id, const std::string& status,
                                   const std::string& reason) {
  auto parsed = contracts::ParseContractorStatus(status);
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

Result<Output> NdaAdd(Context& ctx, const NdaArgs& a) {
  auto c = RequireContractor(ctx, a.contractor);
  if (!c.ok()) return c.status();
  auto signed_on = ParseDateArg("--signed", a.signed_on);
  if (!signed_on.ok()) return signed_on.status();
  auto from = ParseDateArg("--from", a.from);
  if (!from.ok()) return from.status();
  auto until = ParseDateArg("--until", a.until);
  if (!until.ok()) return until.status();
  if (until.value() < from.value()) {
    return Result<Output>::Error("NDA for " + a.contractor + ": --until " + a.until +
                                 " is before --from " + a.from);
  }
  if (a.signatories.empty()) {
    return Result<Output>::Error("NDA for " + a.contractor +
                                 ": at least one --signatory is required");
  }
  if (a.document.empty() || !fs::is_regular_file(a.document)) {
    return Result<Output>::Error("NDA for " + a.contractor + ": document " + a.document +
                                 " is not a readable file");
  }
  auto sha = Sha256File(a.document);
  if (!sha.ok()) return sha.status();

  contracts::Nda n;
  n.contractor_id = a.contractor;
  n.signed_on = signed_on.value();
  n.in_force_from = from.value();
  n.in_force_until = until.value();
  n.signatories = a.signatories;
  n.document_sha256 = sha.value();
  n.document_path = (fs::path(ctx.store->DocumentDir()) /
                     (sha.value() + fs::path(a.document).extension().string()))
                        .string();
  n.registered_by = ctx.actor;
  n.registered_at = ctx.clock->NowUtc();
  if (Status cp = CopyFileAtomically(a.document, n.document_path); !cp.ok()) return cp;
  Status s = ctx.store->Transaction([&]() -> Status {
    auto id = ctx.store->AddNda(n);
    if (!id.ok()) return id.status();
    n.id = id.value();
    // Signatories are the contractor's staff: kept in the registry, not
    // repeated in the audit trail.
    Json details = NdaJson(n);
    details.erase("signatories");
    return ctx.audit->Append(ctx.actor, "nda.add", "nda:" + std::to_string(n.id), details);
  });
  if (!s.ok()) return s;
  return Output{NdaJson(n), "registered NDA #" + std::to_string(n.id) + " for " + a.contractor +
                                ", in force " + a.from + " to " + a.until + ", document sha256 " +
                                n.document_sha256};
}

Result<Output> NdaList(Context& ctx, const std::optional<std::string>& contractor,
                       std::optional<int> within) {
  auto ndas = ctx.store->ListNdas(contractor);
  if (!ndas.ok()) return ndas.status();
  const Date today = ctx.clock->Today();
  Output out;
  out.json = Json::array();
  for (const auto& n : ndas.value()) {
    const int days_left = DaysBetween(today, n.in_force_until);
    if (within) {
      // Expiry warnings: NDAs in force (or not yet started) ending soon.
      if (days_left < 0 || days_left > *within) continue;
    }
    Json j = NdaJson(n);
    j["days_left"] = days_left;
    const bool in_force = n.in_force_from <= today && today <= n.in_force_until;
    j["in_force"] = in_force;
    out.json.push_back(j);
    out.text +=
        "#" + std::to_string(n.id) + "\t" + n.contractor_id + "\t" + FormatDate(n.in_force_from) +
        " to " + FormatDate(n.in_force_until) + "\t" +
        (in_force ? "in force, " + std::to_string(days_left) + " days left"
                  : (days_left < 0 ? std::string("ended") : std::string("not yet in force"))) +
        "\n";
  }
  if (out.text.empty()) {
    out.text = within ? "no NDA ends within " + std::to_string(*within) + " days" : "no NDAs";
  } else {
    out.text.pop_back();
  }
  return out;
}

Result<Output> ProfileImport(Context& ctx, const std::string& file) {
  std::ifstream in(file, std::ios::binary);
  if (!in) return Result<Output>::Error("cannot read profile " + file);
  std::stringstream buf;
  buf << in.rdbuf();
  const std::string name = fs::path(file).filename().string();
  auto parsed = contracts::ParseProfileToml(buf.str(), name);
  if (!parsed.ok()) return parsed.status();
  contracts::ContractProfile p = std::move(parsed).value();
  if (Status v = policies::ValidateProfile(p); !v.ok()) {
    return Result<Output>::Error(name + ": profile " + p.id + " refused: " + v.message());
  }
  auto c = RequireContractor(ctx, p.contractor_id);
  if (!c.ok())
    return Result<Output>::Error(name + ": profile " + p.id + " refused: " + c.message());
  p.imported_by = ctx.actor;
  p.imported_at = ctx.clock->NowUtc();
  bool created = false;
  Status s = ctx.store->Transaction([&]() -> Status {
    auto version = ctx.store->PutProfile(p, &created);
    if (!version.ok()) return version.status();
    p.version = version.value();
    if (!created) return Status::Ok();
    return ctx.audit->Append(ctx.actor, "profile.import",
                             "profile:" + p.id + "@" + std::to_string(p.version), ProfileJson(p));
  });
  if (!s.ok()) return s;
  Json j = ProfileJson(p);
  j["created"] = created;
  return Output{
      j, created
             ? "imported profile " + p.id + " version " + std::to_string(p.version) + " for " +
                   p.contractor_id + " (purpose " + p.purpose + "; fields " + Join(p.fields) + ")"
             : "profile " + p.id + " unchanged (version " + std::to_string(p.version) + ")"};
}

Result<Output> ProfileShow(Context& ctx, const std::string& id, std::optional<int> version) {
  auto p = ctx.store->FindProfile(id, version);
  if (!p.ok()) return p.status();
  if (!p.value()) return Result<Output>::Error("unknown profile " + id);
  const auto& pr = *p.value();
  std::ostringstream text;
  text << pr.id << " version " << pr.version << " for " << pr.contractor_id
       << "\npurpose: " << pr.purpose << "\nfields: " << Join(pr.fields)
       << "\ntransports: " << Join(pr.transports) << "\nvalid: " << FormatDate(pr.valid_from)
       << " to " << FormatDate(pr.valid_until) << "\nretention: " << pr.retention_days
       << " days\noutput: " << pr.output_format << ", " << pr.output_encoding;
  for (const auto& [f, m] : pr.masks) text << "\nmask: " << f << " = " << m;
  return Output{ProfileJson(pr), text.str()};
}

Result<Output> ProfileList(Context& ctx) {
  auto list = ctx.store->ListProfiles();
  if (!list.ok()) return list.status();
  Output out;
  out.json = Json::array();
  for (const auto& p : list.value()) {
    out.json.push_back(ProfileJson(p));
    out.text += p.id + "\tv" + std::to_string(p.version) + "\t" + p.contractor_id + "\t" +
                p.purpose + "\t" + FormatDate(p.valid_from) + " to " + FormatDate(p.valid_until) +
                "\n";
  }
  if (out.text.empty()) {
    out.text = "no profiles";
  } else {
    out.text.pop_back();
  }
  return out;
}

Result<Output> DeliverCommand(Context& ctx, const DeliverRequest& req) {
  auto r = Deliver(ctx, req);
  if (!r.ok()) return r.status();
  const auto& rec = r->record;
  Json j = ToJson(rec);
  j.update({{"decision", r->allowed() ? "allow" : "refuse"},
            {"reasons", r->reasons},
            {"dry_run", req.dry_run},
            {"withheld", r->withheld},
            {"masks", r->masks},
            {"special_requests", r->special_requests},
            {"notes", r->notes}});
  if (!r->allowed()) {
    // A refusal is printed in full and still makes the command fail.
    return Result<Output>::Error("delivery " + std::to_string(rec.id) +
                                 " refused: " + Join(r->reasons, "; "));
  }
  std::ostringstream text;
  if (!req.dry_run) {
    j["package"] = r->package_path;
    j["package_sha256"] = rec.package_sha256;
    if (rec.transport == "sftp") {
      j["attempts"] = ToJson(r->attempts);
      const bool already = !r->attempts.empty() && r->attempts.back().outcome == "already-there";
      text << "delivery " << rec.id << ": " << (already ? "already on the server at " : "sent to ")
           << r->package_path << " (attempt " << r->attempts.size() << ")\n";
    } else if (rec.transport == "portal") {
      j["portal_package"] = r->portal_package_id;
      j["expires_at"] = r->portal_expires_at;
      j["max_downloads"] = req.max_downloads;
      text << "delivery " << rec.id << ": published on the portal as package "
           << r->portal_package_id << " for " << rec.contractor_id << " until "
           << r->portal_expires_at << ", " << req.max_downloads << " downloads\n";
    } else {
      text << "delivery " << rec.id << ": written " << r->package_path << "\n";
    }
    text << "package sha256: " << rec.package_sha256 << "\n";
    if (!r->passphrase.empty()) {
      // Shown once, never stored: told to the contractor by phone, never mailed.
      j["passphrase"] = r->passphrase;
      text << "passphrase (tell it by phone; it is not stored and will not be shown again): "
           << r->passphrase << "\n";
    }
  } else {
    text << "dry run " << rec.id << ": allowed — nothing was sent\n";
  }
  text << "contractor: " << rec.contractor_id << "\nprofile: " << rec.profile_id << " v"
       << rec.profile_version << "\nNDA: #" << (rec.nda_id ? *rec.nda_id : 0)
       << "\ntransport: " << rec.transport << "\nfields sent: " << Join(rec.fields);
  for (const auto& [f, m] : r->masks) text << "\n  " << f << " masked: " << m;
  text << "\nfields withheld: " << (r->withheld.empty() ? "none" : Join(r->withheld))
       << "\nrecords: " << rec.record_count;
  if (!r->special_requests.empty()) {
    std::vector<std::string> ids;
    for (int64_t id : r->special_requests) ids.push_back("#" + std::to_string(id));
    text << "\nshaped by special requests: " << Join(ids);
  }
  for (const auto& note : r->notes) text << "\nnote: " << note;
  return Output{j, text.str()};
}

Result<Output> DeliveryShow(Context& ctx, int64_t delivery_id) {
  auto found = ctx.store->FindDelivery(delivery_id);
  if (!found.ok()) return found.status();
  if (!found.value()) {
    return Result<Output>::Error("unknown delivery " + std::to_string(delivery_id));
  }
  const contracts::DeliveryRecord& rec = *found.value();
  auto attempts = ctx.store->ListDeliveryAttempts(delivery_id);
  if (!attempts.ok()) return attempts.status();
  Json j = ToJson(rec);
  j["attempts"] = ToJson(attempts.value());
  std::ostringstream text;
  text << "delivery " << rec.id << ": " << rec.outcome << "\ncontractor: " << rec.contractor_id
       << "\nprofile: " << rec.profile_id << " v" << rec.profile_version
       << "\ntransport: " << rec.transport << "\nordered: " << rec.ordered_at << " by "
       << rec.ordered_by << "\nrecords: " << rec.record_count << "\nfields: " << Join(rec.fields);
  if (!rec.reason.empty()) text << "\nreason: " << rec.reason;
  if (!rec.package_sha256.empty()) text << "\npackage sha256: " << rec.package_sha256;
  for (const auto& a : attempts.value()) {
    text << "\nattempt " << a.attempt << " " << a.started_at << " " << a.outcome;
    if (!a.error.empty()) text << ": " << a.error;
  }
  return Output{j, text.str()};
}

Result<Output> History(Context& ctx, const std::string& subscriber_id) {
  auto receipts = ctx.store->History(subscriber_id);
  if (!receipts.ok()) return receipts.status();
  Output out;
  out.json = {{"subscriber", subscriber_id}, {"receipts", Json::array()}};
  for (const auto& r : receipts.value()) {
    out.json["receipts"].push_back({{"delivery_id", r.delivery_id},
                                    {"delivered_at", r.delivered_at},
                                    {"contractor", r.contractor_id},
                                    {"profile", r.profile_id},
                                    {"profile_version", r.profile_version},
                                    {"transport", r.transport},
                                    {"fields", r.fields}});
    out.text +=
        r.delivered_at + "\t" + r.contractor_id + "\t" + r.transport + "\t" + Join(r.fields) + "\n";
  }
  if (out.text.empty()) {
    out.text = "no contractor has received data about " + subscriber_id;
  } else {
    out.text.pop_back();
  }
  return out;
}

Result<Output> BreachScope(Context& ctx, const std::string& contractor, const std::string& since,
                           const std::optional<std::string>& until) {
  auto c = RequireContractor(ctx, contractor);
  if (!c.ok()) return c.status();
  auto from = ParseDateArg("--since", since);
  if (!from.ok()) return from.status();
  Date to = ctx.clock->Today();
  if (until) {
    auto u = ParseDateArg("--until", *until);
    if (!u.ok()) return u.status();
    to = u.value();
  }
  if (to < from.value()) return Result<Output>::Error("--until is before --since");

  // Per subscriber: every field received in the period and the deliveries.
  std::map<std::string, std::pair<std::set<std::string>, std::vector<int64_t>>> subs;
  std::map<int64_t, Json> deliveries;
  Status s =
      ctx.store->ForEachReceipt(contractor, from.value(), to, [&](const contracts::Receipt& r) {
        auto& [fields, ids] = subs[r.subscriber_id];
        fields.insert(r.fields.begin(), r.fields.end());
        if (ids.empty() || ids.back() != r.delivery_id) ids.push_back(r.delivery_id);
        if (!deliveries.count(r.delivery_id)) {
          deliveries[r.delivery_id] = {
              {"delivery_id", r.delivery_id}, {"delivered_at", r.delivered_at},
              {"profile", r.profile_id},      {"profile_version", r.profile_version},
              {"transport", r.transport},     {"fields", r.fields}};
        }
      });
  if (!s.ok()) return s;
  Output out;
  out.json = {{"contractor", contractor},        {"since", FormatDate(from.value())},
              {"until", FormatDate(to)},         {"deliveries", Json::array()},
              {"subscriber_count", subs.size()}, {"subscribers", Json::array()}};
  for (auto& [id, d] : deliveries) out.json["deliveries"].push_back(d);
  for (const auto& [sid, v] : subs) {
    out.json["subscribers"].push_back(
        {{"subscriber_id", sid},
         {"fields", std::vector<std::string>(v.first.begin(), v.first.end())},
         {"deliveries", v.second}});
  }
  out.text = contractor + " received data about " + std::to_string(subs.size()) +
             " subscribers in " + std::to_string(deliveries.size()) + " deliveries between " +
             FormatDate(from.value()) + " and " + FormatDate(to);
  for (auto& [id, d] : deliveries) {
    out.text += "\n  delivery " + std::to_string(id) + " " + d["delivered_at"].get<std::string>() +
                " via " + d["transport"].get<std::string>() + ": " +
                Join(d["fields"].get<std::vector<std::string>>());
  }
  return out;
}

namespace {

Json MediaJson(const contracts::MediaRecord& m) {
  return {{"delivery_id", m.delivery_id},
          {"package", m.package_name},
          {"state", m.state},
          {"medium", m.medium},
          {"handed_to", m.handed_to},
          {"handed_over_at", m.handed_over_at},
          {"handed_over_by", m.handed_over_by},
          {"closed_at", m.closed_at},
          {"closed_by", m.closed_by}};
}

Result<contracts::MediaRecord> RequireMedium(Context& ctx, int64_t delivery_id) {
  auto m = ctx.store->FindMediaRecord(delivery_id);
  if (!m.ok()) return m.status();
  if (!m.value()) {
    return Result<contracts::MediaRecord>::Error("delivery " + std::to_string(delivery_id) +
                                                 " has no media package on record");
  }
  return *m.value();
}

}  // namespace

Result<Output> MediaHandover(Context& ctx, int64_t delivery_id, const std::string& medium,
                             const std::string& to) {
  auto m = RequireMedium(ctx, delivery_id);
  if (!m.ok()) return m.status();
  if (m->state != "written") {
    return Result<Output>::Error("delivery " + std::to_string(delivery_id) +
                                 ": medium is already " + m->state);
  }
  if (medium.empty() || to.empty()) {
    return Result<Output>::Error("media handover needs --medium and --to");
  }
  contracts::MediaRecord r = m.value();
  r.state = "handed-over";
  r.medium = medium;
  r.handed_to = to;
  r.handed_over_at = ctx.clock->NowUtc();
  r.handed_over_by = ctx.actor;
  Status s = ctx.store->Transaction([&]() -> Status {
    if (Status u = ctx.store->UpdateMediaRecord(r); !u.ok()) return u;
    return ctx.audit->Append(ctx.actor, "media.handover", "delivery:" + std::to_string(delivery_id),
                             MediaJson(r));
  });
  if (!s.ok()) return s;
  return Output{MediaJson(r), "delivery " + std::to_string(delivery_id) + ": " + r.package_name +
                                  " handed over on " + medium + " to " + to};
}

Result<Output> MediaClose(Context& ctx, int64_t delivery_id, const std::string& state) {
  auto m = RequireMedium(ctx, delivery_id);
  if (!m.ok()) return m.status();
  if (m->state != "handed-over") {
    return Result<Output>::Error("delivery " + std::to_string(delivery_id) + ": medium is " +
                                 m->state + ", not handed over");
  }
  contracts::MediaRecord r = m.value();
  r.state = state;
  r.closed_at = ctx.clock->NowUtc();
  r.closed_by = ctx.actor;
  Status s = ctx.store->Transaction([&]() -> Status {
    if (Status u = ctx.store->UpdateMediaRecord(r); !u.ok()) return u;
    return ctx.audit->Append(ctx.actor, "media." + state, "delivery:" + std::to_string(delivery_id),
                             MediaJson(r));
  });
  if (!s.ok()) return s;
  return Output{MediaJson(r), "delivery " + std::to_string(delivery_id) + ": medium " + state};
}

Result<Output> MediaList(Context& ctx, bool outstanding_only) {
  auto list = ctx.store->ListMediaRecords(outstanding_only);
  if (!list.ok()) return list.status();
  Output out;
  out.json = Json::array();
  for (const auto& m : list.value()) {
    out.json.push_back(MediaJson(m));
    out.text += std::to_string(m.delivery_id) + "\t" + m.package_name + "\t" + m.state +
                (m.medium.empty() ? "" : "\t" + m.medium + "\t" + m.handed_to) + "\n";
  }
  if (out.text.empty()) {
    out.text = outstanding_only ? "no media outstanding" : "no media on record";
  } else {
    out.text.pop_back();
  }
  return out;
}

Result<Output> AuditVerify(Context& ctx) {
  auto v = ctx.audit->Verify();
  if (!v.ok()) return v.status();
  if (!v->intact) return Result<Output>::Error("audit trail broken: " + v->problem);
  return Output{{{"intact", true}, {"events", v->events}},
                "audit trail intact: " + std::to_string(v->events) + " events"};
}

}  // namespace itaku::gateway
