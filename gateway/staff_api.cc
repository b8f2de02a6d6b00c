#include "gateway/staff_api.h"

#include <poll.h>
#include <pwd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <atomic>
#include <limits>
#include <boost/asio/io_context.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <filesystem>
#include <map>
#include <mutex>
#include <thread>

#include "contracts/base/date.h"
#include "contracts/base/files.h"
#include "contracts/base/layout.h"
#include "gateway/cli_commands.h"
#include "gateway/commands.h"
#include "gateway/records_json.h"
#include "policies/access_rules.h"

namespace itaku::gateway {
namespace {

namespace beast = boost::beast;
namespace http = boost::beast::http;
namespace fs = std::filesystem;
using Local = boost::asio::local::stream_protocol;
using Json = nlohmann::json;

constexpr char kCommands[] = "/v1/commands/";
constexpr char kUploads[] = "/v1/uploads";
constexpr char kDownloads[] = "/v1/downloads/";
constexpr char kUploadRef[] = "upload:";
constexpr char kKeptRef[] = "kept:";

http::status StatusOf(ErrorKind kind) {
  switch (kind) {
    case ErrorKind::kInvalidInput:
      return http::status::bad_request;
    case ErrorKind::kRefused:
      return http::status::forbidden;
    case ErrorKind::kNotFound:
      return http::status::not_found;
    case ErrorKind::kConflict:
      return http::status::conflict;
    case ErrorKind::kNetwork:
      return http::status::bad_gateway;
    case ErrorKind::kIo:
    case ErrorKind::kInternal:
      break;
  }
  return http::status::internal_server_error;
}

Json ErrorBody(const Status& why) {
  return {{"ok", false}, {"error", why.message()}, {"kind", ToString(why.kind())}};
}

// A name a caller gives an uploaded file: one path component, printable.
bool SafeName(const std::string& name) {
  if (name.empty() || name.size() > 255 || name == "." || name == "..") return false;
  for (unsigned char c : name) {
    if (c == '/' || c < 0x20 || c == 0x7f) return false;
  }
  return true;
}

// An upload id as NewFolder makes them: RandomHex32's 64 hex digits.
bool SafeId(const std::string& id) {
  if (id.size() != 64) return false;
  for (char c : id) {
    if (!std::isxdigit(static_cast<unsigned char>(c))) return false;
  }
  return true;
}

// A path segment as the client percent-encoded it; nullopt when malformed.
std::optional<std::string> Decoded(const std::string& segment) {
  std::string out;
  for (size_t i = 0; i < segment.size(); ++i) {
    if (segment[i] != '%') {
      out += segment[i];
      continue;
    }
    if (i + 2 >= segment.size() || !std::isxdigit(static_cast<unsigned char>(segment[i + 1])) ||
        !std::isxdigit(static_cast<unsigned char>(segment[i + 2]))) {
      return std::nullopt;
    }
    out += static_cast<char>(std::stoi(segment.substr(i + 1, 2), nullptr, 16));
    i += 2;
  }
  return out;
}

// Who is on the other end of the socket, as the kernel says.
struct Caller {
  uid_t uid = static_cast<uid_t>(-1);
  std::string os_name;
  std::optional<contracts::StaffMember> staff;
  std::string Label() const {
    return "uid " + std::to_string(uid) + (os_name.empty() ? "" : " (" + os_name + ")");
  }
};

Result<Caller> PeerOf(int fd) {
  ucred cred{};
  socklen_t len = sizeof cred;
  if (::getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0) {
    return Status::Internal("staff API: cannot read the caller's credentials");
  }
  Caller c;
  c.uid = cred.uid;
  if (const passwd* pw = ::getpwuid(cred.uid)) c.os_name = pw->pw_name;
  return c;
}

}  // namespace

struct StaffApiServer::Impl {
  StaffApiOptions options;
  int listen_fd = -1;
  std::atomic<bool> stopping{false};
  std::atomic<int> in_flight{0};
  // Commands that change anything run one at a time: two staff acting on
  // the same request, profile or package see each other's result (the
  // second gets 409 with the state the first left).
  std::mutex writer;
  std::string spool_root;

  ~Impl() {
    if (listen_fd >= 0) ::close(listen_fd);
  }
  void Serve(int fd);
};

namespace {

class Connection {
 public:
  Connection(StaffApiServer::Impl& server, int fd)
      : server_(server), io_(), socket_(io_) {
    socket_.assign(Local(), fd);
  }
  ~Connection() {
    std::error_code ec;
    if (!spool_.empty()) fs::remove_all(spool_, ec);
  }

  void Serve(Caller caller) {
    caller_ = std::move(caller);
    auto store = contracts::Store::OpenSqlite(server_.options.db_path);
    if (!store.ok()) return;  // nothing to answer with; the daemon logged at start
    ctx_.store = std::move(store).value();
    ctx_.clock = std::make_unique<SystemClock>();
    ctx_.audit =
        std::make_unique<AuditTrail>(*ctx_.store, *ctx_.clock, server_.options.audit_keys);
    ctx_.db_path = server_.options.db_path;
    ctx_.daemon_config = server_.options.config_file;
    ctx_.subscriber_id_pattern = server_.options.subscriber_id_pattern;
    for (;;) {
      pollfd p{socket_.native_handle(), POLLIN, 0};
      if (::poll(&p, 1, server_.options.idle_timeout_ms) <= 0 || server_.stopping) return;
      http::request_parser<http::empty_body> head;
      head.header_limit(16 * 1024);
      // The body's limit is the endpoint's (Command, UploadFile), set once
      // the target is known; Beast would otherwise refuse a declared length
      // over 1 MiB while reading the head.
      head.body_limit(std::numeric_limits<std::uint64_t>::max());
      beast::error_code ec;
      http::read_header(socket_, buffer_, head, ec);
      if (ec == http::error::end_of_stream || ec == boost::asio::error::eof) return;
      if (ec) {
        Reply(http::status::bad_request, ErrorBody(Status::Error("malformed request: " + ec.message())),
              false);
        return;
      }
      if (!Handle(head)) return;
    }
  }

 private:
  // Answers one request; false closes the connection.
  bool Handle(http::request_parser<http::empty_body>& head) {
    const auto& req = head.get();
    const std::string target(req.target());
    const bool keep = req.keep_alive();
    if (!Identify(target)) {
      Reply(http::status::forbidden,
            ErrorBody(Status::Refused("not registered staff: " + caller_.Label())), false);
      return false;
    }
    if (req.method() == http::verb::post && target.rfind(kCommands, 0) == 0) {
      return Command(head, target.substr(sizeof kCommands - 1), keep);
    }
    if (req.method() == http::verb::post && target == kUploads) return NewUpload(head, keep);
    if (req.method() == http::verb::put && target.rfind(std::string(kUploads) + "/", 0) == 0) {
      return UploadFile(head, target.substr(sizeof kUploads), keep);
    }
    if (req.method() == http::verb::get && target.rfind(kDownloads, 0) == 0) {
      return Download(target.substr(sizeof kDownloads - 1), keep);
    }
    if (req.method() == http::verb::get && target == "/v1/whoami") {
      Json me = ForPeople(ToJson(*caller_.staff));
      return Reply(http::status::ok, {{"ok", true}, {"json", me}, {"text", caller_.staff->name}},
                   keep);
    }
    return Reply(http::status::not_found,
                 ErrorBody(Status::NotFound("no such staff API endpoint: " +
                                            std::string(req.method_string()) + " " + target)),
                 false);
  }

  // The staff member registered for the caller's uid; an unregistered caller
  // is refused and the refusal audited with the uid.
  bool Identify(const std::string& target) {
    auto staff = ctx_.store->FindStaffByUid(caller_.uid);
    if (staff.ok() && staff.value()) {
      caller_.staff = *staff.value();
      ctx_.staff = caller_.staff;
      ctx_.actor = caller_.staff->name;
      return true;
    }
    // What an outsider asked for, kept short and printable in the record.
    std::string asked;
    for (unsigned char c : target.substr(0, 200)) asked += c >= 0x20 && c < 0x7f ? c : '?';
    (void)ctx_.audit->Append(caller_.Label(), "api.refused", asked,
                             {{"reason", staff.ok() ? "not registered staff" : staff.message()}});
    return false;
  }

  bool Reply(http::status status, const Json& body, bool keep) {
    http::response<http::string_body> res{status, 11};
    res.set(http::field::content_type, "application/json; charset=utf-8");
    res.set(http::field::cache_control, "no-store");
    res.keep_alive(keep);
    res.body() = body.dump(-1, ' ', false, Json::error_handler_t::replace);
    res.prepare_payload();
    beast::error_code ec;
    http::write(socket_, res, ec);
    return keep && !ec;
  }

  Result<std::string> Spool() {
    if (spool_.empty()) {
      auto id = RandomHex32();
      if (!id.ok()) return id.status();
      std::error_code ec;
      fs::create_directories(server_.spool_root, ec);
      spool_ = server_.spool_root + "/" + id.value();
      if (!fs::create_directory(spool_, ec)) return Status::Io("staff API: cannot make a spool folder");
    }
    return spool_;
  }

  Result<std::string> NewFolder() {
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

  bool NewUpload(http::request_parser<http::empty_body>& head, bool keep) {
    if (!Drain(head)) return false;
    auto id = NewFolder();
    if (!id.ok()) return Reply(StatusOf(id.kind()), ErrorBody(id.status()), false);
    return Reply(http::status::created, {{"ok", true}, {"upload", id.value()}}, keep);
  }

  // The body of a request that carries none we want: refused if it has one.
  bool Drain(http::request_parser<http::empty_body>& head) {
    if (head.content_length().value_or(0) > 0 || head.chunked()) {
      Reply(http::status::bad_request, ErrorBody(Status::Error("this request takes no body")),
            false);
      return false;
    }
    return true;
  }

  // PUT /v1/uploads/ID/NAME: streamed to the spool, never held in memory.
  bool UploadFile(http::request_parser<http::empty_body>& head, const std::string& rest,
                  bool keep) {
    const auto slash = rest.find('/');
    const std::string id = rest.substr(0, slash);
    const std::string name =
        Decoded(slash == std::string::npos ? "" : rest.substr(slash + 1)).value_or("");
    if (!SafeId(id) || !SafeName(name) || spool_.empty() || !fs::is_directory(spool_ + "/" + id)) {
      return Reply(http::status::bad_request,
                   ErrorBody(Status::Error("unknown upload or bad file name")), false);
    }
    const std::string path = spool_ + "/" + id + "/" + name;
    if (TooLarge(head, server_.options.max_upload_bytes, "upload")) return false;
    http::request_parser<http::file_body> body{std::move(head)};
    body.body_limit(server_.options.max_upload_bytes);
    beast::error_code ec;
    body.get().body().open(path.c_str(), beast::file_mode::write_new, ec);
    if (ec) {
      return Reply(http::status::conflict, ErrorBody(Status::Conflict("upload " + name + " exists")),
                   false);
    }
    http::read(socket_, buffer_, body, ec);
    if (ec == http::error::body_limit) {
      return ReplyTooLarge(server_.options.max_upload_bytes, "upload");
    }
    if (ec) return false;  // the caller went away mid-upload; the spool goes with it
    body.get().body().close();
    return Reply(http::status::created, {{"ok", true}, {"name", name}}, keep);
  }

  bool Download(const std::string& rest, bool keep) {
    auto it = downloads_.find(Decoded(rest).value_or(""));
    if (it == downloads_.end()) {
      return Reply(http::status::not_found, ErrorBody(Status::NotFound("no such download")), false);
    }
    http::response<http::file_body> res{http::status::ok, 11};
    beast::error_code ec;
    res.body().open(it->second.c_str(), beast::file_mode::scan, ec);
    if (ec) return Reply(http::status::gone, ErrorBody(Status::NotFound("download gone")), false);
    res.set(http::field::content_type, "application/octet-stream");
    res.keep_alive(keep);
    res.prepare_payload();
    http::write(socket_, res, ec);
    if (ec) return false;  // not handed over; the spool goes with the connection
    std::error_code rm;
    fs::remove(it->second, rm);  // handed over: the daemon keeps no copy
    downloads_.erase(it);
    return keep;
  }

  // 413 for a body declared larger than `limit` (Beast checks a declared
  // length only while reading the head, before the endpoint is known).
  bool TooLarge(http::request_parser<http::empty_body>& head, uint64_t limit, const char* what) {
    if (head.content_length().value_or(0) <= limit) return false;
    ReplyTooLarge(limit, what);
    return true;
  }
  // 413; closes the connection (false).
  bool ReplyTooLarge(uint64_t limit, const char* what) {
    Reply(http::status::payload_too_large,
          ErrorBody(Status::Error(std::string(what) + " too large (limit " +
                                  std::to_string(limit) + " bytes)")),
          false);
    return false;
  }

  bool Command(http::request_parser<http::empty_body>& head, const std::string& command,
               bool keep) {
    if (TooLarge(head, server_.options.max_json_bytes, "request body")) return false;
    http::request_parser<http::string_body> body{std::move(head)};
    body.body_limit(server_.options.max_json_bytes);
    beast::error_code ec;
    http::read(socket_, buffer_, body, ec);
    if (ec == http::error::body_limit) {
      return ReplyTooLarge(server_.options.max_json_bytes, "request body");
    }
    if (ec) return false;
    Json args = Json::parse(body.get().body(), nullptr, false);
    if (args.is_discarded() || !args.is_object()) {
      return Reply(http::status::bad_request,
                   ErrorBody(Status::Error("request body is not a JSON object")), false);
    }
    auto out = Run(command, args);
    if (!out.ok()) {
      return Reply(StatusOf(out.kind()),
                   ErrorBody(out.status().WithMessage(Unspool(out.message()))), keep);
    }
    // The one place a command's JSON leaves the daemon: instants in JST.
    Json reply = {{"ok", true},
                  {"json", ForPeople(out->json)},
                  {"text", out->text},
                  {"downloads", Json::array()}};
    for (const auto& [id, path] : downloads_) {
      std::error_code size_ec;
      reply["downloads"].push_back(
          {{"id", id}, {"name", fs::path(path).filename().string()},
           {"size", fs::file_size(path, size_ec)}});
    }
    const bool proposed = out->json.is_object() && out->json.value("state", "") == "pending" &&
                          out->json.contains("proposal");
    return Reply(proposed ? http::status::accepted : http::status::ok, reply, keep);
  }

  // Runs `command` as the caller: authorisation, then the same parse as the
  // CLI's, with every file the caller named replaced by its upload.
  Result<Output> Run(const std::string& command, const Json& args) {
    const auto access = policies::CommandAccess(command);
    if (!access) return Status::NotFound("no staff API command " + command);
    if (std::string why = policies::AccessRefusal(command, *access, caller_.staff->role);
        !why.empty()) {
      Status refused = Status::Refused(why);
      Status audited = ctx_.audit->Append(ctx_.actor, command + ".refused", command,
                                          {{"reason", why}});
      return refused.WithMessage(WithAuditFailure(why, audited));
    }
    std::unique_lock<std::mutex> lock(server_.writer, std::defer_lock);
    if (*access != policies::Access::kRead) lock.lock();
    ctx_.propose = [&](const std::string& subject, const Json& changes) {
      return Propose(command, args, subject, changes);
    };
    ctx_.carry_out = [&](const contracts::Proposal& p) { return CarryOut(p); };
    ctx_.approval.reset();
    return Execute(command, args, false);
  }

  // Parses and runs `args` as `command`. `kept` allows the files of an
  // approved proposal ("kept:") in place of uploads.
  Result<Output> Execute(const std::string& command, const Json& args, bool kept) {
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
      return Audited(command, Status::Error("the arguments are for " + line.command + ", not " +
                                            command));
    }
    Result<Output> out = line.run(ctx_);
    if (!out.ok() && line.audit_refusals) return Audited(command, out.status());
    if (out.ok()) out = Relabel(std::move(out).value());
    return out;
  }

  Status Audited(const std::string& command, const Status& why) {
    Status audited = ctx_.audit->Append(ctx_.actor, command + ".refused", command,
                                        {{"reason", why.message()}});
    return why.WithMessage(WithAuditFailure(why.message(), audited));
  }

  // Inputs: "upload:ID[/NAME]" becomes the daemon's own copy; anything else
  // is a path the daemon will not open for the caller. Outputs: the
  // caller's folder name becomes a spool folder, fetched afterwards.
  Result<Json> Rewrite(CLI::App& app, const CommandLine& line, Json args, bool kept) {
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

  Result<std::string> InputPath(const std::string& option, const std::string& value, bool kept) {
    const std::string refusal =
        option + ": the daemon does not open files by name for its callers; send the file's "
                 "content (the itaku command does)";
    if (kept && value.rfind(kKeptRef, 0) == 0) {
      return StoreLayout(ctx_.db_path).Root() + "/proposals/" + value.substr(sizeof kKeptRef - 1);
    }
    if (value.rfind(kUploadRef, 0) != 0 || spool_.empty()) return Status::Error(refusal);
    const std::string ref = value.substr(sizeof kUploadRef - 1);
    const auto slash = ref.find('/');
    const std::string id = ref.substr(0, slash);
    const std::string name = slash == std::string::npos ? "" : ref.substr(slash + 1);
    if (!SafeId(id) || (!name.empty() && !SafeName(name))) return Status::Error(refusal);
    const std::string path = spool_ + "/" + ref;
    std::error_code ec;
    if (!fs::exists(path, ec)) return Status::Error(option + ": unknown upload " + ref);
    return path;
  }

  // The daemon's copy of an upload, in what a command says, as the caller
  // named it: "upload:ID/NAME" (the CLI puts its own path back).
  std::string Unspool(std::string text) const {
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
  Output Relabel(Output out) {
    for (const auto& [label, dir] : outputs_) {
      std::error_code ec;
      for (const auto& entry : fs::directory_iterator(dir, ec)) {
        if (!entry.is_regular_file()) continue;
        const std::string id = fs::path(dir).filename().string() + "/" +
                               entry.path().filename().string();
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
  Result<Output> Propose(const std::string& command, Json args, const std::string& subject,
                         const Json& changes) {
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
    out.text = "proposed: " + subject + " widens what or where data goes; it takes effect when a "
               "second person approves it (itaku approval show " + std::to_string(p.id) +
               ", itaku approval approve " + std::to_string(p.id) + "); expires " +
               ShowJst(p.expires_at);
    return out;
  }

  // Runs an approved proposal's command as its proposer.
  Result<Output> CarryOut(const contracts::Proposal& p) {
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

  StaffApiServer::Impl& server_;
  boost::asio::io_context io_;
  Local::socket socket_;
  beast::flat_buffer buffer_;
  Caller caller_;
  Context ctx_;
  std::string spool_;
  std::vector<std::pair<std::string, std::string>> outputs_;  // caller's label, spool folder
  std::map<std::string, std::string> downloads_;              // id -> spool path
};

}  // namespace

void StaffApiServer::Impl::Serve(int fd) {
  auto caller = PeerOf(fd);
  if (!caller.ok()) {
    ::close(fd);
    return;
  }
  Connection connection(*this, fd);
  connection.Serve(std::move(caller).value());
}

Result<std::unique_ptr<StaffApiServer>> StaffApiServer::Create(const StaffApiOptions& options) {
  auto impl = std::make_unique<Impl>();
  impl->options = options;
  impl->spool_root = StoreLayout(options.db_path).Root() + "/spool";
  std::error_code ec;
  fs::remove_all(impl->spool_root, ec);  // uploads of a daemon that stopped
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (options.socket_path.empty() || options.socket_path.size() >= sizeof addr.sun_path) {
    return Status::Error("staff API: socket path must be 1 to " +
                         std::to_string(sizeof addr.sun_path - 1) + " bytes");
  }
  std::memcpy(addr.sun_path, options.socket_path.c_str(), options.socket_path.size());
  fs::create_directories(fs::path(options.socket_path).parent_path(), ec);
  // A socket left by a daemon that died: replace it, but never remove
  // anything else that happens to have that name.
  struct stat st{};
  if (::lstat(options.socket_path.c_str(), &st) == 0) {
    if (!S_ISSOCK(st.st_mode)) {
      return Status::Conflict("staff API: " + options.socket_path + " exists and is not a socket");
    }
    ::unlink(options.socket_path.c_str());
  }
  impl->listen_fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (impl->listen_fd < 0 ||
      ::bind(impl->listen_fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      ::listen(impl->listen_fd, 64) != 0) {
    return Status::Io("staff API: cannot listen on " + options.socket_path + ": " +
                      std::strerror(errno));
  }
  // Anyone on the machine may connect; the uid decides what they may do.
  ::chmod(options.socket_path.c_str(), 0666);
  return std::unique_ptr<StaffApiServer>(new StaffApiServer(std::move(impl)));
}

StaffApiServer::StaffApiServer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

StaffApiServer::~StaffApiServer() {
  Stop();
  while (impl_->in_flight > 0) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  ::unlink(impl_->options.socket_path.c_str());
}

void StaffApiServer::Stop() { impl_->stopping = true; }

void StaffApiServer::Run() {
  Impl& s = *impl_;
  while (!s.stopping) {
    pollfd p{s.listen_fd, POLLIN, 0};
    if (::poll(&p, 1, 200) <= 0) continue;
    const int fd = ::accept4(s.listen_fd, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0) continue;
    if (s.in_flight >= s.options.max_connections) {
      const std::string body =
          ErrorBody(Status::Io("the daemon is busy; try again in a moment")).dump();
      const std::string busy =
          "HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\n"
          "Content-Length: " + std::to_string(body.size()) + "\r\nConnection: close\r\n\r\n" +
          body;
      (void)!::write(fd, busy.data(), busy.size());
      ::close(fd);
      continue;
    }
    ++s.in_flight;
    std::thread([&s, fd] {
      s.Serve(fd);
      --s.in_flight;
    }).detach();
  }
}

}  // namespace itaku::gateway
