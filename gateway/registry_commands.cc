// The store itself, NDAs (機密保持契約), contract profiles and the audit check.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
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
#include "contracts/base/strings.h"
#include "contracts/profile_toml.h"
#include "gateway/commands.h"
#include "gateway/detail/command_util.h"
#include "gateway/pseudonym_key.h"
#include "gateway/records_json.h"
#include "gateway/requests.h"
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

Result<Output> Init(Context& ctx, const std::string& officer) {
  // The per-installation secret is the pseudonym key, kept beside the store
  // (pseudonym_key.h); a store made before it moved out gives it up here.
  auto key = InitPseudonymKey(ctx, [&](const std::string& fingerprint) {
    return ctx.audit->Append(
        ctx.actor, "store.init", "store",
        {{"schema_version", contracts::Store::kSchemaVersion}, {"pseudonym_key", fingerprint}});
  });
  if (!key.ok()) return key.status();
  const bool created = key.value();
  auto first = InitOfficer(ctx, officer);
  if (!first.ok() && first.kind() != ErrorKind::kConflict) return first.status();
  Output out;
  out.json = {{"db", ctx.db_path},
              {"schema_version", contracts::Store::kSchemaVersion},
              {"created", created},
              {"officer", first.ok() ? first->json : nlohmann::json()}};
  out.text = (created ? "initialised store " : "store already initialised: ") + ctx.db_path +
             " (schema version " + std::to_string(contracts::Store::kSchemaVersion) + ")\n" +
             (first.ok() ? first->text : first.message());
  return out;
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
  contracts::Nda n;
  n.contractor_id = a.contractor;
  n.signed_on = signed_on.value();
  n.in_force_from = from.value();
  n.in_force_until = until.value();
  n.signatories = a.signatories;
  if (std::string why = policies::NdaRefusal(n); !why.empty()) return Status::Refused(why);
  if (a.document.empty() || !fs::is_regular_file(a.document)) {
    return Result<Output>::Error("NDA for " + a.contractor + ": document " + a.document +
                                 " is not a readable file");
  }
  auto sha = Sha256File(a.document);
  if (!sha.ok()) return sha.status();

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
    Json details = ToJson(n);
    details.erase("signatories");
    return ctx.audit->Append(ctx.actor, "nda.add", "nda:" + std::to_string(n.id), details);
  });
  if (!s.ok()) return s;
  return Output{ToJson(n), "registered NDA #" + std::to_string(n.id) + " for " + a.contractor +
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
    const bool withdrawn = !n.withdrawn_at.empty();
    if (within) {
      // Expiry warnings: NDAs in force (or not yet started) ending soon; a
      // withdrawn one ends nothing.
      if (withdrawn || days_left < 0 || days_left > *within) continue;
    }
    Json j = ToJson(n);
    j["days_left"] = days_left;
    // A withdrawn NDA was entered in error: it covers no day.
    const bool in_force = !withdrawn && n.in_force_from <= today && today <= n.in_force_until;
    j["in_force"] = in_force;
    out.json.push_back(j);
    std::string state = days_left < 0 ? "ended" : "not yet in force";
    if (withdrawn) {
      state = "not in force (withdrawn: " + n.withdrawn_reason + ")";
    } else if (in_force) {
      state = "in force, " + std::to_string(days_left) + " days left";
    }
    out.text += "#" + std::to_string(n.id) + "\t" + n.contractor_id + "\t" +
                FormatDate(n.in_force_from) + " to " + FormatDate(n.in_force_until) + "\t" + state +
                "\n";
  }
  if (out.text.empty()) {
    out.text = within ? "no NDA ends within " + std::to_string(*within) + " days" : "no NDAs";
  } else {
    out.text.pop_back();
  }
  return out;
}

Result<Output> NdaWithdraw(Context& ctx, int64_t id, const std::string& reason) {
  auto role = ActorRole(ctx);
  if (!role.ok()) return role.status();
  if (role.value() != contracts::StaffRole::kPrivacyOfficer) {
    return Status::Refused("only a privacy officer withdraws an NDA (" + ctx.actor + " is " +
                           policies::RoleName(role.value()) + ")");
  }
  if (reason.empty()) return Result<Output>::Error("nda withdraw needs --reason");
  const std::string subject = "nda:" + std::to_string(id);
  contracts::Nda nda;
  std::vector<int64_t> relied;
  Status s = ctx.store->Transaction([&]() -> Status {
    if (Status w = ctx.store->WithdrawNda(id, ctx.clock->NowUtc(), ctx.actor, reason); !w.ok()) {
      return w;
    }
    auto ndas = ctx.store->ListNdas(std::nullopt);
    if (!ndas.ok()) return ndas.status();
    for (const auto& n : ndas.value()) {
      if (n.id == id) nda = n;
    }
    // Deliveries made under it stay on record as they were; the officer is
    // shown them to judge what the error means for each.
    auto deliveries = ctx.store->ListDeliveriesByNda(id);
    if (!deliveries.ok()) return deliveries.status();
    for (const auto& d : deliveries.value()) relied.push_back(d.id);
    return ctx.audit->Append(ctx.actor, "nda.withdraw", subject,
                             {{"corrects", subject},
                              {"contractor", nda.contractor_id},
                              {"reason", reason},
                              {"deliveries", relied}});
  });
  if (!s.ok()) return s;
  Json j = ToJson(nda);
  j["deliveries"] = relied;
  std::vector<std::string> ids;
  for (int64_t d : relied) ids.push_back(std::to_string(d));
  return Output{j, "NDA " + std::to_string(id) + " of " + nda.contractor_id +
                       " withdrawn: " + reason + "\n" +
                       (ids.empty() ? std::string("no delivery relied on it")
                                    : "deliveries that relied on it: " + Join(ids))};
}

namespace {

// Where a contractor's data goes by `transport`, as registered now.
Result<std::string> Destination(Context& ctx, const std::string& contractor,
                                const std::string& transport) {
  auto fingerprint = [&](const char* use) -> Result<std::string> {
    auto cert = ctx.store->FindContractorCertificate(contractor, use);
    if (!cert.ok()) return cert.status();
    return cert.value() ? std::string(use) + " certificate " + cert.value()->fingerprint
                        : "no " + std::string(use) + " certificate registered";
  };
  if (transport == "sftp") {
    auto sftp = ctx.store->FindSftpEndpoint(contractor);
    if (!sftp.ok()) return sftp.status();
    if (!sftp.value()) return std::string("no SFTP server registered");
    return sftp.value()->url + " (host key " +
           (sftp.value()->host_key.empty() ? "not pinned" : sftp.value()->host_key) + ")";
  }
  if (transport == "portal") {
    auto portal = fingerprint("portal");
    if (!portal.ok()) return portal.status();
    auto package = fingerprint("package");
    if (!package.ok()) return package.status();
    return "the portal, signed in with " + portal.value() + "; packages to " + package.value();
  }
  if (transport == "media") {
    auto package = fingerprint("package");
    if (!package.ok()) return package.status();
    return "a medium handed over, packages encrypted to " + package.value();
  }
  return transport;
}

// The profile file's text. One larger than any profile is refused by its
// size before it is read, and a file that grows (or has no size) is read to
// one byte past the limit at most.
Result<std::string> ReadProfileFile(const std::string& file, const std::string& name) {
  const Status too_large =
      Status::Error(name + ": larger than 1 MiB; a profile is a few kilobytes");
  const Status unreadable = Status::Io("cannot read profile " + file);
  const int fd = ::open(file.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return unreadable;
  std::string text;
  Status status;
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    status = unreadable;
  } else if (S_ISREG(st.st_mode) &&
             static_cast<uint64_t>(st.st_size) > contracts::kMaxProfileBytes) {
    status = too_large;
  } else {
    char block[16384];
    while (status.ok() && text.size() <= contracts::kMaxProfileBytes) {
      const size_t want = std::min(sizeof block, contracts::kMaxProfileBytes + 1 - text.size());
      const ssize_t got = ::read(fd, block, want);
      if (got < 0 && errno == EINTR) continue;
      if (got < 0) status = unreadable;
      if (got <= 0) break;
      text.append(block, static_cast<size_t>(got));
    }
    if (status.ok() && text.size() > contracts::kMaxProfileBytes) status = too_large;
  }
  ::close(fd);
  if (!status.ok()) return status;
  return text;
}

}  // namespace

Result<Output> ProfileImport(Context& ctx, const std::string& file) {
  const std::string name = fs::path(file).filename().string();
  auto text = ReadProfileFile(file, name);
  if (!text.ok()) return text.status();
  auto parsed = contracts::ParseProfileToml(text.value(), name);
  if (!parsed.ok()) return parsed.status();
  contracts::ContractProfile p = std::move(parsed).value();
  // An id that breaks the rule is not repeated here: the refusal shows it escaped.
  const std::string who =
      policies::ProfileIdRefusal(p.id).empty() ? name + ": profile " + p.id : name + ": profile";
  if (Status v = policies::ValidateProfile(p); !v.ok()) {
    return Result<Output>::Error(who + " refused: " + v.message());
  }
  auto c = RequireContractor(ctx, p.contractor_id);
  if (!c.ok()) return Result<Output>::Error(who + " refused: " + c.message());
  auto current = ctx.store->FindProfile(p.id, std::nullopt);
  if (!current.ok()) return current.status();
  // Checked here, so also when an approved proposal is carried out (it runs
  // this import again): the id may have been taken by another contractor's
  // version since it was proposed.
  if (std::string why = policies::ProfileOwnerRefusal(current.value(), p); !why.empty()) {
    return Status::Refused(name + ": " + why);
  }
  // A version that widens what or where data goes waits for a second person.
  Json changes = Json::array();
  for (const auto& c : policies::ProfileWidening(current.value(), p)) {
    changes.push_back({{"item", c.item},
                       {"from", c.from.empty() ? Json() : Json(c.from)},
                       {"to", c.to.empty() ? Json() : Json(c.to)}});
  }
  // For each transport it newly allows, where the data would then go, so
  // the second person sees the destination and not only the contractor.
  for (const auto& t : p.transports) {
    const bool had = current.value() && std::count(current.value()->transports.begin(),
                                                   current.value()->transports.end(), t) > 0;
    if (had || changes.empty()) continue;
    auto where = Destination(ctx, p.contractor_id, t);
    if (!where.ok()) return where.status();
    changes.push_back({{"item", "destination via " + t}, {"from", nullptr}, {"to", where.value()}});
  }
  if (auto proposed = ProposeIfWidening(ctx, "profile:" + p.id, changes)) return *proposed;
  p.imported_by = ctx.actor;
  p.imported_at = ctx.clock->NowUtc();
  bool created = false;
  Status s = ctx.store->Transaction([&]() -> Status {
    auto version = ctx.store->PutProfile(p, &created);
    if (!version.ok()) return version.status();
    p.version = version.value();
    if (!created) return Status::Ok();
    return ctx.audit->Append(ctx.actor, "profile.import",
                             "profile:" + p.id + "@" + std::to_string(p.version), ToJson(p));
  });
  if (!s.ok()) return s;
  Json j = ToJson(p);
  j["created"] = created;
  return Output{
      j, created ? "imported profile " + p.id + " version " + std::to_string(p.version) + " for " +
                       p.contractor_id + " (purpose " + p.purpose + "; fields " + Join(p.fields) +
                       (p.formula_guard ? "" : "; formula guard off") + ")"
                 : "profile " + p.id + " unchanged (version " + std::to_string(p.version) + ")"};
}

Result<Output> ProfileShow(Context& ctx, const std::string& id, std::optional<int> version) {
  auto p = ctx.store->FindProfile(id, version);
  if (!p.ok()) return p.status();
  if (!p.value()) return Status::NotFound("unknown profile " + id);
  const auto& pr = *p.value();
  std::ostringstream text;
  text << pr.id << " version " << pr.version << " for " << pr.contractor_id
       << "\npurpose: " << pr.purpose << "\nfields: " << Join(pr.fields)
       << "\ntransports: " << Join(pr.transports) << "\nvalid: " << FormatDate(pr.valid_from)
       << " to " << FormatDate(pr.valid_until) << "\nretention: " << pr.retention_days
       << " days\noutput: " << pr.output_format << ", " << pr.output_encoding << "\nformula guard: "
       << (pr.formula_guard ? "on (cells a spreadsheet would evaluate are neutralised)"
                            : "off (cells are sent as they are)");
  for (const auto& [f, m] : pr.masks) text << "\nmask: " << f << " = " << m;
  return Output{ToJson(pr), text.str()};
}

Result<Output> ProfileList(Context& ctx) {
  return Listing(
      ctx.store->ListProfiles(),
      [](const contracts::ContractProfile& p) {
        return p.id + "\tv" + std::to_string(p.version) + "\t" + p.contractor_id + "\t" +
               p.purpose + "\t" + FormatDate(p.valid_from) + " to " + FormatDate(p.valid_until);
      },
      "no profiles");
}

namespace {

// A checkpoint's time as signed: UTC. Output for people carries it as
// "+09:00" (ForPeople), so a saved --json file may hold either.
std::string SignedTime(const std::string& at) {
  if (at.size() == 25 && at.compare(19, 6, "+09:00") == 0) {
    if (auto t = ParseUtc(at.substr(0, 19) + "Z")) {
      return FormatUtc(*t - std::chrono::hours(9));
    }
  }
  return at;
}

}  // namespace

Result<Output> AuditVerify(Context& ctx, const std::vector<std::string>& checkpoints) {
  std::vector<CheckpointClaim> claims;
  for (const std::string& value : checkpoints) {
    CheckpointClaim claim;
    if (value.find('/') == std::string::npos) {
      claim.source = "code " + value;
      claim.code = value;
    } else {
      std::ifstream in(value, std::ios::binary);
      std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
      if (!in && text.empty()) return Result<Output>::Error("cannot read checkpoint " + value);
      auto parsed = nlohmann::json::parse(text, nullptr, false);
      // A package's manifest.json carries one under "audit_checkpoint".
      if (parsed.is_object() && parsed.contains("audit_checkpoint")) {
        parsed = parsed["audit_checkpoint"];
      }
      if (!parsed.is_object()) {
        return Result<Output>::Error("checkpoint " + value +
                                     " is neither a checkpoint file nor a package manifest");
      }
      if (parsed.contains("at") && parsed["at"].is_string()) {
        parsed["at"] = SignedTime(parsed["at"].get<std::string>());
      }
      claim.source = "checkpoint " + value;
      claim.file = parsed;
    }
    claims.push_back(std::move(claim));
  }
  auto v = ctx.audit->Verify(claims);
  if (!v.ok()) return v.status();
  if (!v->intact) {
    std::string more;
    for (size_t i = 1; i < v->problems.size(); ++i) more += "; " + v->problems[i];
    return Result<Output>::Error("audit trail broken: " + v->problem + more);
  }
  std::string text = "audit trail intact: " + std::to_string(v->events) + " events";
  for (const auto& line : v->checked) text += "\n  checked: " + line;
  for (const auto& line : v->not_ruled_out) text += "\n  not ruled out: " + line;
  return Output{v->ToJson(), text};
}

Result<Output> AuditCheckpoint(Context& ctx) {
  auto c = ctx.audit->Checkpoint(ctx.actor);
  if (!c.ok()) return c.status();
  return Output{c->ToJson(), "checkpoint of audit event " + std::to_string(c->checkpoint.seq) +
                                 " (" + ShowJst(c->checkpoint.at) + "), signed by audit key " +
                                 c->checkpoint.key_id + "\ncode for the paper ledger: " + c->code};
}

}  // namespace itaku::gateway
