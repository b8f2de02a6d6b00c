#include "gateway/staff_session.h"

#include <CLI/CLI.hpp>
#include <filesystem>

#include "contracts/base/date.h"
#include "contracts/base/files.h"
#include "contracts/base/layout.h"
#include "gateway/cli_commands.h"
#include "gateway/records_json.h"
#include "policies/access_rules.h"

namespace itaku::gateway {
namespace {

namespace fs = std::filesystem;
using Json = nlohmann::json;

constexpr char kUploadRef[] = "upload:";
constexpr char kKeptRef[] = "kept:";

}  // namespace

bool SafeUploadName(const std::string& name) {
  if (name.empty() || name.size() > 255 || name == "." || name == "..") return false;
  for (unsigned char c : name) {
    if (c == '/' || c < 0x20 || c == 0x7f) return false;
  }
  return true;
}

bool SafeUploadId(const std::string& id) {
  if (id.size() != 64) return false;
  for (char c : id) {
    if (!std::isxdigit(static_cast<unsigned char>(c))) return false;
  }
  return true;
}

Result<std::unique_ptr<StaffSession>> StaffSession::Open(const StaffSessionOptions& options) {
  std::unique_ptr<StaffSession> s(new StaffSession(options));
  auto store = contracts::Store::OpenSqlite(options.db_path);
  if (!store.ok()) return store.status();
  s->ctx_.store = std::move(store).value();
  // The daemon's checkpoint thread copies the log back (LogCheckpoints).
  if (Status deferred = s->ctx_.store->DeferCheckpoints(); !deferred.ok()) return deferred;
  s->ctx_.clock = std::make_unique<SystemClock>();
  s->ctx_.audit = std::make_unique<AuditTrail>(*s->ctx_.store, *s->ctx_.clock, options.audit_keys);
  s->ctx_.db_path = options.db_path;
  s->ctx_.daemon_config = options.config_file;
  s->ctx_.subscriber_id_pattern = options.subscriber_id_pattern;
  return s;
}

StaffSession::~StaffSession() {
  std::error_code ec;
  if (!spool_.empty()) fs::remove_all(spool_, ec);
}

void StaffSession::ActAs(const contracts::StaffMember& staff) {
  ctx_.staff = staff;
  ctx_.actor = staff.name;
}

Result<std::string> StaffSession::Spool() {
  if (spool_.empty()) {
    auto id = RandomHex32();
    if (!id.ok()) return id.status();
    std::error_code ec;
    fs::create_directories(options_.spool_root, ec);
    spool_ = options_.spool_root + "/" + id.value();
    if (!fs::create_directory(spool_, ec))
      return Status::Io("staff API: cannot make a spool folder");
  }
  return spool_;
}

Result<std::string> StaffSession::NewFolder() {
  auto spool = Spool();
  if (!spool.ok()) return spool.status();
  auto id = RandomHex32();
  if (!id.ok()) return id.status();
  std::error_code ec;
  if (!fs::create_directory(spool.value() + "/" + id.value(), ec)) {
    return Status::Io("staff API: cannot make an upload folder");
  }
  return id.value();
}

// Runs `command` as the caller: authorisation, then the same parse as the
// CLI's, with every file the caller named replaced by its upload.
Result<std::string> StaffSession::Adopt(const std::string& folder) {
  auto spool = Spool();
  if (!spool.ok()) return spool.status();
  auto id = RandomHex32();
  if (!id.ok()) return id.status();
  std::error_code ec;
  fs::rename(folder, spool.value() + "/" + id.value(), ec);
  if (ec) return Status::Io("staff session: cannot take over an upload");
  return id.value();
}

Status StaffSession::Release(const std::string& id, const std::string& folder) {
  if (!SafeUploadId(id) || spool_.empty()) return Status::Error("unknown upload");
  std::error_code ec;
  fs::rename(spool_ + "/" + id, folder, ec);
  if (ec) return Status::Io("staff session: cannot keep an upload");
  return Status::Ok();
}

Result<Output> StaffSession::Run(const std::string& command, const Json& args) {
  if (!ctx_.staff) return Status::Internal("staff session: no staff member to act as");
  const auto access = policies::CommandAccess(command);
  if (!access) return Status::NotFound("no staff API command " + command);
  if (std::string why = policies::AccessRefusal(command, *access, ctx_.staff->role); !why.empty()) {
    Status refused = Status::Refused(why);
    Status audited =
        ctx_.audit->Append(ctx_.actor, command + ".refused", command, {{"reason", why}});
    return refused.WithMessage(WithAuditFailure(why, audited));
  }
  std::unique_lock<std::mutex> lock(*options_.writer, std::defer_lock);
  if (*access != policies::Access::kRead) lock.lock();
  ctx_.propose = [&](const std::string& subject, const Json& changes) {
    return Propose(command, args, subject, changes);
  };
  ctx_.carry_out = [&](const contracts::Proposal& p) { return CarryOut(p); };
  ctx_.approval.reset();
  return Execute(command, args, false);
}

Result<Output> StaffSession::Read(const std::string& command,
                                  const std::function<Result<Output>(Context&)>& call) {
  if (!ctx_.staff) return Status::Internal("staff session: no staff member to act as");
  const auto access = policies::CommandAccess(command);
  if (!access || *access != policies::Access::kRead) {
    return Status::Internal("staff session: " + command + " is not a read-only command");
  }
  if (std::string why = policies::AccessRefusal(command, *access, ctx_.staff->role); !why.empty()) {
    return Audited(command, Status::Refused(why));
  }
  Result<Output> out = call(ctx_);
  if (!out.ok()) return Audited(command, out.status());
  return out;
}

// Parses and runs `args` as `command`. `kept` allows the files of an
// approved proposal ("kept:") in place of uploads.
Result<Output> StaffSession::Execute(const std::string& command, const Json& args, bool kept) {
  CLI::App app;
  CommandLine line;
  line.RegisterAll(app);
  auto rewritten = Rewrite(app, line, args, kept);
  if (!rewritten.ok()) return Audited(command, rewritten.status());
  auto argv = CommandLine::Argv(app, rewritten.value());
  if (!argv.ok()) return Audited(command, argv.status());
  std::vector<std::string> reversed(argv->rbegin(), argv->rend());
  try {
    app.parse(reversed);
  } catch (const CLI::ParseError& e) {
    return Audited(command, Status::Error(command + ": " + e.what()));
  }
  if (line.command != command || line.local || !line.run) {
    return Audited(command,
                   Status::Error("the arguments are for " + line.command + ", not " + command));
  }
  Result<Output> out = line.run(ctx_);
  if (!out.ok() && line.audit_refusals) return Audited(command, out.status());
  if (out.ok()) out = Relabel(std::move(out).value());
  return out;
}

Status StaffSession::Audited(const std::string& command, const Status& why) {
  Status audited =
      ctx_.audit->Append(ctx_.actor, command + ".refused", command, {{"reason", why.message()}});
  return why.WithMessage(WithAuditFailure(why.message(), audited));
}

// Inputs: "upload:ID[/NAME]" becomes the daemon's own copy; anything else
// is a path the daemon will not open for the caller. Outputs: the
// caller's folder name becomes a spool folder, fetched afterwards.
Result<Json> StaffSession::Rewrite(CLI::App& app, const CommandLine& line, Json args, bool kept) {
  if (!args.contains("args") || !args["args"].is_array()) return args;  // Argv says why
  CLI::App* leaf = CommandLine::Leaf(app, args.value("path", Json()));
  if (leaf == nullptr) return args;
  for (auto& entry : args["args"]) {
    if (!entry.is_array() || entry.size() != 2 || !entry[0].is_string() || !entry[1].is_array())
      continue;
    CLI::Option* o = CommandLine::OptionNamed(*leaf, entry[0].get<std::string>());
    if (o == nullptr) continue;
    for (auto& value : entry[1]) {
      if (!value.is_string()) continue;
      if (line.IsInput(o) && line.IsWordAllowed(o) &&
          value.get<std::string>().rfind("upload:", 0) != 0 &&
          value.get<std::string>().rfind("kept:", 0) != 0 &&
          value.get<std::string>().find('/') == std::string::npos) {
        continue;  // a word (a checkpoint code), never opened as a file
      }
      if (line.IsInput(o)) {
        auto path = InputPath(o->get_name(), value.get<std::string>(), kept);
        if (!path.ok()) return path.status();
        value = path.value();
      } else if (line.IsOutput(o)) {
        auto dir = NewFolder();
        if (!dir.ok()) return dir.status();
        if (line.IsOutputFile(o)) {
          // One file: written under its own name in a folder of ours.
          const fs::path asked(value.get<std::string>());
          const std::string name = asked.filename().string();
          if (name.empty() || name == "." || name == "..") {
            return Status::Error(o->get_name() + " must name a file");
          }
          const std::string parent =
              asked.parent_path().empty() ? "." : asked.parent_path().string();
          outputs_.push_back({parent, spool_ + "/" + dir.value()});
          value = outputs_.back().second + "/" + name;
        } else {
          outputs_.push_back({value.get<std::string>(), spool_ + "/" + dir.value()});
          value = outputs_.back().second;
        }
      }
    }
  }
  return args;
}

Result<std::string> StaffSession::InputPath(const std::string& option, const std::string& value,
                                            bool kept) {
  const std::string refusal =
      option +
      ": the daemon does not open files by name for its callers; send the file's "
      "content (the itaku command does)";
  if (kept && value.rfind(kKeptRef, 0) == 0) {
    return StoreLayout(ctx_.db_path).Root() + "/proposals/" + value.substr(sizeof kKeptRef - 1);
  }
  if (value.rfind(kUploadRef, 0) != 0 || spool_.empty()) return Status::Error(refusal);
  const std::string ref = value.substr(sizeof kUploadRef - 1);
  const auto slash = ref.find('/');
  const std::string id = ref.substr(0, slash);
  const std::string name = slash == std::string::npos ? "" : ref.substr(slash + 1);
  if (!SafeUploadId(id) || (!name.empty() && !SafeUploadName(name))) return Status::Error(refusal);
  const std::string path = spool_ + "/" + ref;
  std::error_code ec;
  if (!fs::exists(path, ec)) return Status::Error(option + ": unknown upload " + ref);
  return path;
}

// The daemon's copy of an upload, in what a command says, as the caller
// named it: "upload:ID/NAME" (the CLI puts its own path back).
std::string StaffSession::Unspool(std::string text) const {
  if (spool_.empty()) return text;
  const std::string from = spool_ + "/";
  for (size_t at = 0; (at = text.find(from, at)) != std::string::npos;) {
    text.replace(at, from.size(), kUploadRef);
    at += sizeof kUploadRef - 1;
  }
  return text;
}

// After a command: each file it wrote into an output folder becomes a
// download, and the spool folder's name in what it printed becomes the
// caller's.
Output StaffSession::Relabel(Output out) {
  for (const auto& [label, dir] : outputs_) {
    std::error_code ec;
    for (const auto& entry : fs::directory_iterator(dir, ec)) {
      if (!entry.is_regular_file()) continue;
      const std::string id =
          fs::path(dir).filename().string() + "/" + entry.path().filename().string();
      downloads_[id] = entry.path().string();
    }
    auto swap = [&](std::string text) {
      for (size_t at = 0; (at = text.find(dir, at)) != std::string::npos; at += label.size()) {
        text.replace(at, dir.size(), label);
      }
      return text;
    };
    out.text = swap(out.text);
    out.json = Json::parse(swap(out.json.dump()), nullptr, false);
  }
  out.text = Unspool(out.text);
  out.json = Json::parse(Unspool(out.json.dump()), nullptr, false);
  return out;
}

// A widening change waits: its files move from the spool to the
// proposal's folder, and the record keeps the arguments that carry it out.
Result<Output> StaffSession::Propose(const std::string& command, Json args,
                                     const std::string& subject, const Json& changes) {
  auto folder = RandomHex32();
  if (!folder.ok()) return folder.status();
  const std::string keep_root = StoreLayout(ctx_.db_path).Root() + "/proposals";
  std::error_code ec;
  fs::create_directories(keep_root + "/" + folder.value(), ec);
  for (auto& entry : args["args"]) {
    for (auto& value : entry[1]) {
      const std::string v = value.get<std::string>();
      if (v.rfind(kUploadRef, 0) != 0) continue;
      const std::string ref = v.substr(sizeof kUploadRef - 1);
      const std::string id = ref.substr(0, ref.find('/'));
      fs::rename(spool_ + "/" + id, keep_root + "/" + folder.value() + "/" + id, ec);
      if (ec) return Status::Io("cannot keep the files of the proposal");
      value = std::string(kKeptRef) + folder.value() + "/" + ref;
    }
  }
  contracts::Proposal p;
  p.command = command;
  p.subject = subject;
  p.args = args.dump();
  p.changes = changes.dump();
  p.proposed_by = ctx_.actor;
  p.proposed_at = ctx_.clock->NowUtc();
  p.expires_at = FormatUtc(ctx_.clock->Now() + std::chrono::hours(24 * policies::kProposalDays));
  Result<int64_t> id = 0;
  Status s = ctx_.store->Transaction([&]() -> Status {
    id = ctx_.store->AddProposal(p);
    if (!id.ok()) return id.status();
    return ctx_.audit->Append(ctx_.actor, "proposal.add", "proposal:" + std::to_string(*id),
                              {{"command", command}, {"subject", subject}, {"changes", changes}});
  });
  if (!s.ok()) return s;
  p.id = id.value();
  Output out;
  out.json = ToJson(p);
  out.json["proposal"] = p.id;
  out.text = "proposed: " + subject +
             " widens what or where data goes; it takes effect when a "
             "second person approves it (itaku approval show " +
             std::to_string(p.id) + ", itaku approval approve " + std::to_string(p.id) +
             "); expires " + ShowJst(p.expires_at);
  return out;
}

// Runs an approved proposal's command as its proposer.
Result<Output> StaffSession::CarryOut(const contracts::Proposal& p) {
  Json args = Json::parse(p.args, nullptr, false);
  Json changes = Json::parse(p.changes, nullptr, false);
  if (args.is_discarded() || changes.is_discarded()) {
    return Status::Internal("proposal " + std::to_string(p.id) + ": stored record is damaged");
  }
  const std::string approver = ctx_.actor;
  ctx_.actor = p.proposed_by;
  ctx_.approval = Approval{p.id, approver, changes};
  ctx_.propose = nullptr;
  Result<Output> out = Execute(p.command, args, true);
  ctx_.actor = approver;
  ctx_.approval.reset();
  return out;
}

}  // namespace itaku::gateway
