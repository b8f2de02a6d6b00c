#include "gateway/staff_api.h"

#include <poll.h>
#include <pwd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <atomic>
#include <boost/asio/io_context.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <filesystem>
#include <limits>
#include <map>
#include <mutex>
#include <thread>

#include "contracts/base/date.h"
#include "contracts/base/files.h"
#include "contracts/base/layout.h"
#include "gateway/cli_commands.h"
#include "gateway/commands.h"
#include "gateway/package_builder.h"
#include "gateway/records_json.h"
#include "gateway/staff_session.h"
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
  Connection(StaffApiServer::Impl& server, int fd) : server_(server), io_(), socket_(io_) {
    socket_.assign(Local(), fd);
  }

  void Serve(Caller caller) {
    caller_ = std::move(caller);
    StaffSessionOptions options;
    options.db_path = server_.options.db_path;
    options.config_file = server_.options.config_file;
    options.audit_keys = server_.options.audit_keys;
    options.subscriber_id_pattern = server_.options.subscriber_id_pattern;
    options.spool_root = server_.spool_root;
    options.writer = &server_.writer;
    auto session = StaffSession::Open(options);
    if (!session.ok()) return;  // nothing to answer with; the daemon logged at start
    session_ = std::move(session).value();
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
        Reply(http::status::bad_request,
              ErrorBody(Status::Error("malformed request: " + ec.message())), false);
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
    if (req.method() == http::verb::get && target == "/v1/limits") {
      // What the CLI checks before it sends a drawings folder: the daemon's
      // [attachments] limits (each delivery judges its drawings again).
      auto limits = LoadDrawingLimits(session_->context().daemon_config);
      if (!limits.ok()) return Reply(StatusOf(limits.kind()), ErrorBody(limits.status()), keep);
      return Reply(http::status::ok,
                   {{"ok", true},
                    {"attachments",
                     {{"max_file_bytes", limits->max_file_bytes},
                      {"max_delivery_bytes", limits->max_delivery_bytes}}}},
                   keep);
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
    Context& ctx = session_->context();
    auto staff = ctx.store->FindStaffByUid(caller_.uid);
    if (staff.ok() && staff.value()) {
      caller_.staff = *staff.value();
      session_->ActAs(*caller_.staff);
      return true;
    }
    // What an outsider asked for, kept short and printable in the record.
    std::string asked;
    for (unsigned char c : target.substr(0, 200)) asked += c >= 0x20 && c < 0x7f ? c : '?';
    (void)ctx.audit->Append(caller_.Label(), "api.refused", asked,
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

  bool NewUpload(http::request_parser<http::empty_body>& head, bool keep) {
    if (!Drain(head)) return false;
    auto id = session_->NewFolder();
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
    const std::string& spool = session_->spool();
    if (!SafeUploadId(id) || !SafeUploadName(name) || spool.empty() ||
        !fs::is_directory(spool + "/" + id)) {
      return Reply(http::status::bad_request,
                   ErrorBody(Status::Error("unknown upload or bad file name")), false);
    }
    const std::string path = spool + "/" + id + "/" + name;
    if (TooLarge(head, server_.options.max_upload_bytes, "upload")) return false;
    http::request_parser<http::file_body> body{std::move(head)};
    body.body_limit(server_.options.max_upload_bytes);
    beast::error_code ec;
    body.get().body().open(path.c_str(), beast::file_mode::write_new, ec);
    if (ec) {
      return Reply(http::status::conflict,
                   ErrorBody(Status::Conflict("upload " + name + " exists")), false);
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
    auto& downloads = session_->downloads();
    auto it = downloads.find(Decoded(rest).value_or(""));
    if (it == downloads.end()) {
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
    downloads.erase(it);
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
          ErrorBody(Status::Error(std::string(what) + " too large (limit " + std::to_string(limit) +
                                  " bytes)")),
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
    auto out = session_->Run(command, args);
    if (!out.ok()) {
      return Reply(StatusOf(out.kind()),
                   ErrorBody(out.status().WithMessage(session_->Unspool(out.message()))), keep);
    }
    // The one place a command's JSON leaves the daemon: instants in JST.
    Json reply = {{"ok", true},
                  {"json", ForPeople(out->json)},
                  {"text", out->text},
                  {"downloads", Json::array()}};
    for (const auto& [id, path] : session_->downloads()) {
      std::error_code size_ec;
      reply["downloads"].push_back({{"id", id},
                                    {"name", fs::path(path).filename().string()},
                                    {"size", fs::file_size(path, size_ec)}});
    }
    const bool proposed = out->json.is_object() && out->json.value("state", "") == "pending" &&
                          out->json.contains("proposal");
    return Reply(proposed ? http::status::accepted : http::status::ok, reply, keep);
  }

  StaffApiServer::Impl& server_;
  boost::asio::io_context io_;
  Local::socket socket_;
  beast::flat_buffer buffer_;
  Caller caller_;
  std::unique_ptr<StaffSession> session_;
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
  struct stat st {};
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

std::mutex* StaffApiServer::writer() { return &impl_->writer; }

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
          "Content-Length: " +
          std::to_string(body.size()) + "\r\nConnection: close\r\n\r\n" + body;
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
