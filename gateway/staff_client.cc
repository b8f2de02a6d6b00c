#include "gateway/staff_client.h"

#include <algorithm>
#include <boost/asio/io_context.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <filesystem>
#include <iostream>
#include <limits>
#include <set>

#include "contracts/base/atomic_file.h"
#include "contracts/base/status.h"
#include "contracts/base/strings.h"
#include "transports/media_package.h"

namespace itaku::gateway {
namespace {

namespace beast = boost::beast;
namespace http = boost::beast::http;
namespace fs = std::filesystem;
using Local = boost::asio::local::stream_protocol;
using Json = nlohmann::json;

class Client {
 public:
  explicit Client(std::string socket_path) : socket_path_(std::move(socket_path)), socket_(io_) {}

  Status Connect() {
    beast::error_code ec;
    socket_.connect(Local::endpoint(socket_path_), ec);
    if (ec) {
      return Status::Network("cannot reach the Itaku daemon at " + socket_path_ + " (" +
                             ec.message() +
                             "); start it as the service account with: itaku serve "
                             "(or name another socket with --socket / ITAKU_SOCKET)");
    }
    return Status::Ok();
  }

  // One request with a JSON (or empty) body; the daemon's JSON answer.
  Result<Json> Call(http::verb verb, const std::string& target, const std::string& body) {
    http::request<http::string_body> req{verb, target, 11};
    req.set(http::field::host, "itaku");
    req.set(http::field::content_type, "application/json");
    req.keep_alive(true);
    req.body() = body;
    req.prepare_payload();
    beast::error_code ec;
    http::write(socket_, req, ec);
    if (ec) return Lost();
    return ReadJson();
  }

  // PUT the file at `path` as upload `id`'s `name`, streamed from disk.
  Result<Json> Put(const std::string& id, const std::string& name, const std::string& path) {
    http::request<http::file_body> req{http::verb::put,
                                       "/v1/uploads/" + id + "/" + PercentEncode(name), 11};
    beast::error_code ec;
    req.body().open(path.c_str(), beast::file_mode::scan, ec);
    if (ec) return Status::Io("cannot read " + path + ": " + ec.message());
    req.set(http::field::host, "itaku");
    req.set(http::field::content_type, "application/octet-stream");
    req.keep_alive(true);
    req.prepare_payload();
    http::write(socket_, req, ec);
    if (ec) return Lost();
    return ReadJson();
  }

  // GET a download into `dest`, written under a temporary name and renamed
  // when complete; refuses to replace a file already there.
  Status Fetch(const std::string& id, const std::string& dest) {
    const auto slash = id.find('/');
    const std::string target =
        "/v1/downloads/" + id.substr(0, slash) +
        (slash == std::string::npos ? "" : "/" + PercentEncode(id.substr(slash + 1)));
    http::request<http::empty_body> req{http::verb::get, target, 11};
    req.set(http::field::host, "itaku");
    req.keep_alive(true);
    beast::error_code ec;
    http::write(socket_, req, ec);
    if (ec) return Lost().status();
    auto file = AtomicFile::Create(dest);
    if (!file.ok()) return file.status();
    http::response_parser<http::buffer_body> res;
    res.body_limit(std::numeric_limits<std::uint64_t>::max());  // (boost::none misbehaves in 1.74)
    http::read_header(socket_, buffer_, res, ec);
    if (ec) return Lost().status();
    if (res.get().result() != http::status::ok) {
      return Status::Io("the daemon did not hand over " + dest);
    }
    char chunk[64 * 1024];
    while (!res.is_done()) {
      res.get().body().data = chunk;
      res.get().body().size = sizeof chunk;
      http::read(socket_, buffer_, res, ec);
      if (ec == http::error::need_buffer) ec = {};
      if (ec) return file->Abandon(Lost().status());
      const size_t got = sizeof chunk - res.get().body().size;
      if (Status w = file->Write(std::string_view(chunk, got)); !w.ok()) return file->Abandon(w);
    }
    return file->Commit();
  }

 private:
  Result<Json> ReadJson() {
    http::response_parser<http::string_body> res;
    res.body_limit(std::numeric_limits<std::uint64_t>::max());  // a breach scope can be large
    beast::error_code ec;
    http::read(socket_, buffer_, res, ec);
    if (ec) return Lost();
    Json body = Json::parse(res.get().body(), nullptr, false);
    if (body.is_discarded() || !body.is_object()) {
      return Status::Internal("the daemon answered " + std::to_string(res.get().result_int()) +
                              " without a JSON body");
    }
    return body;
  }

  Result<Json> Lost() {
    return Status::Network("the daemon at " + socket_path_ +
                           " closed the connection before answering (was it stopped?); check "
                           "with a list or show command whether the change took effect");
  }

  std::string socket_path_;
  boost::asio::io_context io_;
  Local::socket socket_;
  beast::flat_buffer buffer_;
};

// The status a daemon's answer stands for.
Status FromReply(const Json& reply) {
  const std::string message = reply.value("error", std::string("the daemon refused"));
  const std::string kind = reply.value("kind", std::string("internal"));
  for (ErrorKind k : {ErrorKind::kInvalidInput, ErrorKind::kRefused, ErrorKind::kNotFound,
                      ErrorKind::kConflict, ErrorKind::kIo, ErrorKind::kNetwork}) {
    if (kind == ToString(k)) return Status::Make(k, message);
  }
  return Status::Internal(message);
}

// The files of an input folder to send: the regular files directly in it
// (subfolders are left out). An entry that is a symbolic link, a FIFO, a
// device or a socket is refused, not followed (the daemon would pack what
// a link points at, read with the caller's rights), and so is, for
// --attachments, a file over the daemon's limit per file: then nothing is
// sent at all.
Result<std::set<fs::path>> FolderFiles(Client& client, const std::string& option,
                                       const std::string& path) {
  uint64_t max_file = std::numeric_limits<uint64_t>::max();
  if (option == "--attachments") {
    auto limits = client.Call(http::verb::get, "/v1/limits", "");
    if (!limits.ok()) return limits.status();
    if (!limits->value("ok", false)) return FromReply(limits.value());
    max_file = limits->value("attachments", Json::object()).value("max_file_bytes", max_file);
  }
  std::set<fs::path> files;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(path, ec)) {
    std::error_code entry_ec;
    const fs::file_status s = entry.symlink_status(entry_ec);
    if (!entry_ec && fs::is_directory(s)) continue;
    const std::string name = entry.path().filename().string();
    if (entry_ec || !fs::is_regular_file(s)) {
      return Status::Refused(option + " " + path + ": " + name +
                             " is not a regular file (symlinks are not followed)");
    }
    const uint64_t size = entry.file_size(entry_ec);
    if (entry_ec) return Status::Io("cannot read " + entry.path().string());
    if (size > max_file) {
      return Status::Refused(option + " " + path + ": " + name + " is " +
                             transports::ByteSizeText(size) + ", over the " +
                             transports::ByteSizeText(max_file) +
                             " limit per file ([attachments] max_file_mb)");
    }
    files.insert(entry.path());
  }
  if (ec) return Status::Io("cannot read folder " + path + ": " + ec.message());
  return files;
}

// Uploads what an input option names: a file as itself, a folder as
// FolderFiles says. Returns the value the daemon resolves.
Result<std::string> Upload(Client& client, const std::string& option, const std::string& path) {
  std::error_code ec;
  const fs::file_status st = fs::status(path, ec);
  if (ec || (!fs::is_regular_file(st) && !fs::is_directory(st))) {
    return Status::Error(option + " " + path + " is not a readable file or folder");
  }
  std::set<fs::path> files;
  if (fs::is_directory(st)) {
    auto listed = FolderFiles(client, option, path);
    if (!listed.ok()) return listed.status();
    files = std::move(listed).value();
  }
  auto made = client.Call(http::verb::post, "/v1/uploads", "");
  if (!made.ok()) return made.status();
  if (!made->value("ok", false)) return FromReply(made.value());
  const std::string id = made->value("upload", std::string());
  if (fs::is_regular_file(st)) {
    const std::string name = fs::path(path).filename().string();
    auto put = client.Put(id, name, path);
    if (!put.ok()) return put.status();
    if (!put->value("ok", false)) return FromReply(put.value());
    return "upload:" + id + "/" + name;
  }
  for (const auto& file : files) {
    auto put = client.Put(id, file.filename().string(), file.string());
    if (!put.ok()) return put.status();
    if (!put->value("ok", false)) return FromReply(put.value());
  }
  return "upload:" + id;
}

// What the caller sent as "upload:ID[/NAME]", by the path they named: the
// daemon's answers name an upload that way, and the caller reads its own.
class Uploads {
 public:
  void Add(const std::string& ref, const std::string& path) { refs_.emplace_back(ref, path); }
  std::string Restore(std::string text) const {
    // Longest first: "upload:ID/NAME" before the folder's "upload:ID".
    auto refs = refs_;
    std::sort(refs.begin(), refs.end(),
              [](const auto& a, const auto& b) { return a.first.size() > b.first.size(); });
    for (const auto& [ref, path] : refs) {
      for (size_t at = 0; (at = text.find(ref, at)) != std::string::npos; at += path.size()) {
        text.replace(at, ref.size(), path);
      }
    }
    return text;
  }
  Json Restore(const Json& j) const {
    Json back = Json::parse(Restore(j.dump()), nullptr, false);
    return back.is_discarded() ? j : back;
  }

 private:
  std::vector<std::pair<std::string, std::string>> refs_;
};

int Fail(const Status& why, bool json) {
  std::cerr << "itaku: " << why.message() << "\n";
  if (json) {
    std::cout << Json{{"ok", false}, {"error", why.message()}, {"kind", ToString(why.kind())}}.dump(
                     2)
              << "\n";
  }
  return 1;
}

}  // namespace

int RunThroughDaemon(const CLI::App& app, const CommandLine& line, const std::string& socket,
                     bool json) {
  Client client(socket);
  if (Status c = client.Connect(); !c.ok()) return Fail(c, json);
  Json arguments = CommandLine::Arguments(app);
  // The leaf's options, to know which name a file the caller reads or a
  // folder it receives files in.
  const CLI::App* leaf = &app;
  while (!leaf->get_subcommands().empty()) leaf = leaf->get_subcommands().front();
  std::string out_folder;
  Uploads uploads;
  for (auto& entry : arguments["args"]) {
    const std::string name = entry[0].get<std::string>();
    const CLI::Option* option = nullptr;
    for (const CLI::Option* o : leaf->get_options()) {
      if (o->get_name() == name) option = o;
    }
    if (option == nullptr) continue;
    for (auto& value : entry[1]) {
      const std::string v = value.get<std::string>();
      if (line.IsInput(option) && line.IsWordAllowed(option) && !fs::exists(v)) {
        continue;  // a word (a checkpoint code) travels as it is
      }
      if (line.IsInput(option)) {
        auto sent = Upload(client, name, v);
        if (!sent.ok()) return Fail(sent.status(), json);
        uploads.Add(sent.value(), v);
        value = sent.value();
      } else if (line.IsOutputFile(option)) {
        const fs::path file(v);
        const std::string parent = file.parent_path().empty() ? "." : file.parent_path().string();
        if (!fs::is_directory(parent)) {
          return Fail(Status::Error(name + " " + v + ": " + parent + " is not a folder"), json);
        }
        std::error_code ec;
        if (fs::exists(fs::symlink_status(file, ec))) {
          return Fail(Status::Error(name + " " + v + " already exists; refusing to overwrite"),
                      json);
        }
        out_folder = parent;
      } else if (line.IsOutput(option)) {
        if (!fs::is_directory(v)) {
          return Fail(Status::Error(name + " " + v + " is not a folder"), json);
        }
        out_folder = v;
      }
    }
  }
  auto reply = client.Call(http::verb::post, "/v1/commands/" + line.command, arguments.dump());
  if (!reply.ok()) return Fail(reply.status(), json);
  if (!reply->value("ok", false)) {
    const Status why = FromReply(reply.value());
    return Fail(why.WithMessage(uploads.Restore(why.message())), json);
  }
  for (const auto& d : reply->value("downloads", Json::array())) {
    // The daemon names the file; only its last component is taken.
    const std::string name = fs::path(d.value("name", std::string())).filename().string();
    if (name.empty() || name == "." || name == "..") {
      return Fail(Status::Internal("the daemon handed back a file without a name"), json);
    }
    const std::string dest = (fs::path(out_folder) / name).string();
    if (Status got = client.Fetch(d.value("id", std::string()), dest); !got.ok()) {
      return Fail(got, json);
    }
  }
  if (json) {
    std::cout << uploads.Restore(reply->value("json", Json())).dump(2) << "\n";
  } else {
    std::cout << uploads.Restore(reply->value("text", std::string())) << "\n";
  }
  return 0;
}

}  // namespace itaku::gateway
