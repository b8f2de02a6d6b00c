// One staff member acting through the daemon: the per-command authorisation
// (policies/access_rules.h), the two-person rule's proposals, the refusals
// on record, and the files a command reads and writes. The staff API runs
// one per connection, the console one per request; both therefore act
// through exactly the same checks.
//
// Files: a command never opens a path its caller names. Inputs arrive as
// "upload:ID/NAME", where ID is a folder NewFolder() made in this session's
// spool; outputs are written into spool folders and offered as downloads.
// The spool folder is removed with the session.
//
// Not thread-safe: one request at a time. Commands that change anything run
// one at a time across the daemon, under the writer mutex in the options.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "contracts/base/status.h"
#include "gateway/audit_keys.h"
#include "gateway/context.h"
#include "policies/subscriber_id.h"

namespace CLI {
class App;
}

namespace itaku::gateway {

class CommandLine;

struct StaffSessionOptions {
  std::string db_path;      // the store
  std::string config_file;  // serve --config: the daemon's [smtp] and [requests]
  AuditKeys audit_keys;     // the daemon's, loaded once at start
  std::optional<policies::SubscriberIdPattern> subscriber_id_pattern;
  std::string spool_root;        // "<db>.d/spool": each session makes its own folder here
  std::mutex* writer = nullptr;  // shared by every session of the daemon
};

// A name a caller gives an uploaded file: one path component, printable.
bool SafeUploadName(const std::string& name);
// An upload folder's id as NewFolder makes them (64 hex digits).
bool SafeUploadId(const std::string& id);

class StaffSession {
 public:
  // Opens the session's own store connection.
  static Result<std::unique_ptr<StaffSession>> Open(const StaffSessionOptions& options);
  ~StaffSession();
  StaffSession(const StaffSession&) = delete;
  StaffSession& operator=(const StaffSession&) = delete;

  Context& context() { return ctx_; }
  // From now on, commands run as `staff` (identified by the caller: the
  // socket's peer uid, or a signed-in console session).
  void ActAs(const contracts::StaffMember& staff);
  const std::optional<contracts::StaffMember>& staff() const { return ctx_.staff; }

  // Runs `command` ("contractor.list") with `args` as the staff API carries
  // them ({"path": [...], "args": [[NAME, [VALUE...]]...]}): the role check
  // (refusals audited), then the CLI's own parse and the command. Only
  // after ActAs().
  Result<Output> Run(const std::string& command, const nlohmann::json& args);

  // A read-only command (one whose access is "read") called directly, with
  // the same role check and refusal on record as Run() but without the
  // CLI's parse: the console's dashboard and history pages, many times a
  // second. `call` gets the session's context. Refused (internal) for a
  // command that changes anything: those go through Run().
  Result<Output> Read(const std::string& command,
                      const std::function<Result<Output>(Context&)>& call);

  // A new upload folder in this session's spool; its id.
  Result<std::string> NewFolder();
  // Moves an existing folder (the console's upload) into the spool as a
  // new upload folder; its id ("upload:ID/NAME" then names its files).
  Result<std::string> Adopt(const std::string& folder);
  // Moves upload folder `id` back out to `folder` (kept for a later request).
  Status Release(const std::string& id, const std::string& folder);
  // The session's spool folder ("" until the first NewFolder()).
  const std::string& spool() const { return spool_; }
  // What the last commands wrote for the caller: id ("FOLDER/NAME") -> path.
  std::map<std::string, std::string>& downloads() { return downloads_; }
  // The daemon's spool paths in `text` as the caller named them ("upload:").
  std::string Unspool(std::string text) const;
  // Records `why` as "<command>.refused" and returns it (with the audit
  // failure, if any).
  Status Audited(const std::string& command, const Status& why);

 private:
  explicit StaffSession(const StaffSessionOptions& options) : options_(options) {}
  Result<std::string> Spool();
  Result<Output> Execute(const std::string& command, const nlohmann::json& args, bool kept);
  Result<nlohmann::json> Rewrite(CLI::App& app, const CommandLine& line, nlohmann::json args,
                                 bool kept);
  Result<std::string> InputPath(const std::string& option, const std::string& value, bool kept);
  Output Relabel(Output out);
  Result<Output> Propose(const std::string& command, nlohmann::json args,
                         const std::string& subject, const nlohmann::json& changes);
  Result<Output> CarryOut(const contracts::Proposal& p);

  const StaffSessionOptions options_;
  Context ctx_;
  std::string spool_;
  std::vector<std::pair<std::string, std::string>> outputs_;  // caller's label, spool folder
  std::map<std::string, std::string> downloads_;              // id -> spool path
};

}  // namespace itaku::gateway
