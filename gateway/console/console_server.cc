#include "gateway/console/console_server.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <set>
#include <thread>

#include "gateway/console/multipart.h"
#include "transports/listen_address.h"

namespace itaku::gateway::console {
namespace {

namespace beast = boost::beast;
namespace http = boost::beast::http;
namespace net = boost::asio;
namespace ssl = boost::asio::ssl;
namespace fs = std::filesystem;
using tcp = net::ip::tcp;
using Clock = std::chrono::steady_clock;
using Stream = ssl::stream<tcp::socket>;

constexpr char kTls12Ciphers[] =
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"
    "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"
    "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305";

// Every response, whatever produced it: no inline script or style, no
// framing, nothing cached, nothing sniffed, no referrer.
constexpr char kPolicy[] =
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

// The file name a browser sent, as one printable path component.
std::string SafeFileName(std::string name) {
  const auto slash = name.find_last_of("/\\");
  if (slash != std::string::npos) name = name.substr(slash + 1);
  std::string out;
  for (unsigned char c : name) {
    if (c >= 0x20 && c != 0x7f) out += static_cast<char>(c);
  }
  if (out.empty() || out == "." || out == ".." || out.size() > 200) return "";
  return out;
}

bool SafeFieldName(const std::string& name) {
  if (name.empty() || name.size() > 40) return false;
  for (char c : name) {
    if (!(std::islower(static_cast<unsigned char>(c)) || c == '_')) return false;
  }
  return true;
}

}  // namespace

struct ConsoleServer::Impl {
  ConsoleServerOptions options;
  ConsoleHandler* handler = nullptr;
  net::io_context io;
  ssl::context tls{ssl::context::tls_server};
  tcp::acceptor acceptor{io};
  std::atomic<bool> stopping{false};
  std::atomic<int> in_flight{0};
  // The watchdog: fd -> when it is shut down unless the deadline moves.
  std::mutex deadlines_mutex;
  std::map<int, Clock::time_point> deadlines;
  std::thread watchdog;

  void SetDeadline(int fd, int ms) {
    std::lock_guard<std::mutex> lock(deadlines_mutex);
    deadlines[fd] = Clock::now() + std::chrono::milliseconds(ms);
  }
  void ClearDeadline(int fd) {
    std::lock_guard<std::mutex> lock(deadlines_mutex);
    deadlines.erase(fd);
  }
  void Watch() {
    while (!stopping || in_flight > 0) {
      std::this_thread::sleep_for(std::chrono::milliseconds(250));
      std::lock_guard<std::mutex> lock(deadlines_mutex);
      const auto now = Clock::now();
      for (auto it = deadlines.begin(); it != deadlines.end();) {
        if (it->second <= now) {
          ::shutdown(it->first, SHUT_RDWR);  // the blocked read returns; the thread ends
          it = deadlines.erase(it);
        } else {
          ++it;
        }
      }
    }
  }
  void Serve(tcp::socket socket);
};

namespace {

class Connection {
 public:
  Connection(ConsoleServer::Impl& server, tcp::socket socket)
      : server_(server), stream_(std::move(socket), server.tls) {
    fd_ = stream_.next_layer().native_handle();
    try {
      peer_ = stream_.next_layer().remote_endpoint().address().to_string() + ":" +
              std::to_string(stream_.next_layer().remote_endpoint().port());
    } catch (...) {
    }
  }
  ~Connection() { server_.ClearDeadline(fd_); }

  void Serve() {
    beast::error_code ec;
    server_.SetDeadline(fd_, server_.options.header_timeout_ms);
    stream_.handshake(ssl::stream_base::server, ec);
    if (ec) return;
    for (;;) {
      if (server_.stopping) return;
      server_.SetDeadline(fd_, server_.options.header_timeout_ms);
      http::request_parser<http::empty_body> head;
      head.header_limit(16 * 1024);
      head.body_limit(std::numeric_limits<std::uint64_t>::max());
      http::read_header(stream_, buffer_, head, ec);
      if (ec) return;
      WebResponse res;
      bool keep = head.get().keep_alive();
      if (!Read(head, &res, &keep)) {
        Write(res, false);
        return;
      }
      server_.ClearDeadline(fd_);
      if (res.status == 0) res = server_.handler->Handle(request_);
      for (const auto& f : request_.files) {
        std::error_code rm;
        fs::remove(f.path, rm);                          // the handler moved what it keeps
        fs::remove(fs::path(f.path).parent_path(), rm);  // the field's folder, when empty
      }
      if (!upload_folder_.empty()) {
        std::error_code rm;
        fs::remove(upload_folder_, rm);  // only when nothing in it was kept
        upload_folder_.clear();
      }
      if (!Write(res, keep) || !keep) return;
    }
  }

 private:
  // Reads the rest of the request into request_; false (with `res` set)
  // when it is refused before the handler sees it. res->status stays 0 when
  // the handler is to answer.
  bool Read(http::request_parser<http::empty_body>& head, WebResponse* res, bool* keep) {
    const auto& req = head.get();
    request_ = WebRequest();
    request_.method = std::string(req.method_string());
    const std::string target(req.target());
    const auto q = target.find('?');
    request_.path = PercentDecode(target.substr(0, q), false);
    if (q != std::string::npos) request_.query = ParseUrlEncoded(target.substr(q + 1));
    request_.cookies = ParseCookies(std::string(req[http::field::cookie]));
    request_.peer = peer_;
    res->status = 0;
    const uint64_t length = head.content_length().value_or(0);
    const bool has_body = length > 0 || head.chunked();
    if (req.method() != http::verb::post) {
      if (has_body) return Refuse(res, 400, "このリクエストには本文を付けられません");
      return true;
    }
    const std::string type(req[http::field::content_type]);
    if (type.rfind("multipart/form-data", 0) == 0) {
      if (length > server_.options.max_upload_bytes) return TooLarge(res);
      auto folder = server_.handler->UploadFolder(request_);
      if (auto* refused = std::get_if<WebResponse>(&folder)) {
        *res = std::move(*refused);
        *keep = false;
        return false;
      }
      upload_folder_ = std::get<std::string>(folder);
      return ReadMultipart(head, type, upload_folder_, res);
    }
    if (length > server_.options.max_form_bytes) return TooLarge(res);
    http::request_parser<http::string_body> body{std::move(head)};
    body.body_limit(server_.options.max_form_bytes);
    beast::error_code ec;
    server_.SetDeadline(fd_, server_.options.io_timeout_ms);
    http::read(stream_, buffer_, body, ec);
    if (ec == http::error::body_limit) return TooLarge(res);
    if (ec) return Refuse(res, 400, "リクエストを読み取れませんでした");
    if (type.rfind("application/x-www-form-urlencoded", 0) == 0) {
      request_.form = ParseUrlEncoded(body.get().body());
    } else if (!body.get().body().empty()) {
      return Refuse(res, 415, "この形式の本文は受け付けません");
    }
    return true;
  }

  bool ReadMultipart(http::request_parser<http::empty_body>& head, const std::string& type,
                     const std::string& folder, WebResponse* res) {
    bool has_boundary = false;
    const std::string boundary = HeaderParameter(type, "boundary", &has_boundary);
    if (boundary.empty() || boundary.size() > 200) {
      return Refuse(res, 400, "マルチパートの区切りがありません");
    }
    // The part being read: a text field's value, or a file's descriptor.
    struct Part {
      std::string field, name, path, text;
      int fd = -1;  // -1: a text field, or a file part that is skipped
      bool file = false;
      uint64_t size = 0;
    } part;
    size_t text_bytes = 0;
    int parts = 0;
    std::string refusal;
    int refusal_status = 400;
    auto refuse = [&](int status, const std::string& why) {
      refusal_status = status;
      refusal = why;
      return Status::Error(why);
    };
    MultipartParser::Callbacks callbacks;
    callbacks.begin = [&](const std::string& field, const std::string& filename,
                          bool is_file) -> Status {
      if (++parts > 10000) return refuse(413, "ファイルが多すぎます");
      part = Part();
      part.field = field;
      part.file = is_file;
      if (!is_file) return Status::Ok();
      part.name = SafeFileName(filename);
      if (part.name.empty()) return Status::Ok();  // an empty file input: skipped
      if (!SafeFieldName(field)) return refuse(400, "フォームの項目名が不正です");
      std::error_code ec;
      fs::create_directories(folder + "/" + field, ec);
      part.path = folder + "/" + field + "/" + part.name;
      part.fd = ::open(part.path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
      if (part.fd < 0) return refuse(400, "同じ名前のファイルが2つあります: " + part.name);
      request_.files.push_back({field, part.name, part.path, 0});
      return Status::Ok();
    };
    callbacks.data = [&](const char* data, size_t size) -> Status {
      if (!part.file) {
        text_bytes += size;
        if (text_bytes > server_.options.max_form_bytes) return refuse(413, "入力が大きすぎます");
        part.text.append(data, size);
        return Status::Ok();
      }
      if (part.fd < 0) return Status::Ok();
      for (size_t done = 0; done < size;) {
        const ssize_t n = ::write(part.fd, data + done, size - done);
        if (n <= 0) return refuse(507, "ファイルを保存できませんでした(ディスクの空き容量)");
        done += static_cast<size_t>(n);
      }
      part.size += size;
      return Status::Ok();
    };
    callbacks.end = [&]() -> Status {
      if (!part.file) {
        request_.form.emplace(part.field, std::move(part.text));
      } else if (part.fd >= 0) {
        ::close(part.fd);
        part.fd = -1;
        request_.files.back().size = part.size;
      }
      return Status::Ok();
    };
    MultipartParser parser(boundary, std::move(callbacks));
    http::request_parser<http::buffer_body> body{std::move(head)};
    body.body_limit(server_.options.max_upload_bytes);
    std::vector<char> chunk(256 * 1024);
    Status parsed = Status::Ok();
    while (!body.is_done()) {
      server_.SetDeadline(fd_, server_.options.io_timeout_ms);
      body.get().body().data = chunk.data();
      body.get().body().size = chunk.size();
      beast::error_code ec;
      http::read_some(stream_, buffer_, body, ec);
      if (ec == http::error::need_buffer) ec = {};
      if (ec == http::error::body_limit) {
        parsed = refuse(413, "");
        break;
      }
      if (ec) {
        parsed = refuse(400, "アップロードが途中で切れました");
        break;
      }
      const size_t n = chunk.size() - body.get().body().size;
      parsed = parser.Feed(chunk.data(), n);
      if (!parsed.ok()) break;
    }
    if (part.fd >= 0) ::close(part.fd);
    if (parsed.ok()) parsed = parser.Finish();
    if (!parsed.ok()) {
      if (refusal_status == 413 && refusal.empty()) return TooLarge(res);
      return Refuse(res, refusal.empty() ? 400 : refusal_status,
                    refusal.empty() ? "アップロードの形式が正しくありません" : refusal);
    }
    return true;
  }

  bool Refuse(WebResponse* res, int status, const std::string& why) {
    for (const auto& f : request_.files) {
      std::error_code ec;
      fs::remove(f.path, ec);
      fs::remove(fs::path(f.path).parent_path(), ec);
    }
    request_.files.clear();
    if (!upload_folder_.empty()) {
      std::error_code ec;
      fs::remove(upload_folder_, ec);
      upload_folder_.clear();
    }
    res->status = status;
    res->body =
        "<!doctype html><html lang=\"ja\"><meta charset=\"utf-8\"><title>エラー</title>"
        "<p role=\"alert\">" +
        HtmlEscape(why) + "</p><p><a href=\"/\">戻る</a></p></html>";
    return false;
  }
  bool TooLarge(WebResponse* res) {
    return Refuse(
        res, 413,
        "大きすぎます(上限 " + std::to_string(server_.options.max_upload_bytes >> 20) + " MiB)");
  }

  bool Write(const WebResponse& r, bool keep) {
    server_.SetDeadline(fd_, server_.options.io_timeout_ms);
    auto fill = [&](auto& res) {
      res.set(http::field::content_type, r.content_type);
      res.set("Content-Security-Policy", kPolicy);
      res.set("X-Frame-Options", "DENY");
      res.set("X-Content-Type-Options", "nosniff");
      res.set("Referrer-Policy", "no-referrer");
      res.set("Strict-Transport-Security", "max-age=31536000");
      res.set("Cross-Origin-Opener-Policy", "same-origin");
      res.set(http::field::cache_control, "no-store");
      for (const auto& [k, v] : r.headers) res.insert(k, v);
      res.keep_alive(keep);
    };
    beast::error_code ec;
    if (!r.file.empty()) {
      http::response<http::file_body> res{static_cast<http::status>(r.status), 11};
      res.body().open(r.file.c_str(), beast::file_mode::scan, ec);
      if (ec) return false;
      fill(res);
      res.prepare_payload();
      http::write(stream_, res, ec);
      if (r.delete_file && !ec) {
        std::error_code rm;
        fs::remove(r.file, rm);
      }
    } else {
      http::response<http::string_body> res{static_cast<http::status>(r.status), 11};
      fill(res);
      res.body() = r.body;
      res.prepare_payload();
      http::write(stream_, res, ec);
    }
    return !ec;
  }

  ConsoleServer::Impl& server_;
  Stream stream_;
  int fd_ = -1;
  std::string peer_;
  beast::flat_buffer buffer_;
  WebRequest request_;
  std::string upload_folder_;  // the handler's folder for this request's files
};

}  // namespace

void ConsoleServer::Impl::Serve(tcp::socket socket) {
  Connection c(*this, std::move(socket));
  c.Serve();
}

Result<std::unique_ptr<ConsoleServer>> ConsoleServer::Create(const ConsoleServerOptions& options,
                                                             ConsoleHandler& handler) {
  auto impl = std::make_unique<Impl>();
  impl->options = options;
  impl->handler = &handler;
  boost::system::error_code ec;
  impl->tls.set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 |
                            ssl::context::no_sslv3 | ssl::context::no_tlsv1 |
                            ssl::context::no_tlsv1_1,
                        ec);
  SSL_CTX* ctx = impl->tls.native_handle();
  SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
  SSL_CTX_set_options(
      ctx, SSL_OP_CIPHER_SERVER_PREFERENCE | SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_COMPRESSION);
  SSL_CTX_set_cipher_list(ctx, kTls12Ciphers);
  if (::access(options.cert_file.c_str(), R_OK) != 0) {
    return Status::Error("console certificate " + options.cert_file + ": " + std::strerror(errno));
  }
  impl->tls.use_certificate_chain_file(options.cert_file, ec);
  if (ec) return Status::Error("console certificate " + options.cert_file + ": " + ec.message());
  if (::access(options.key_file.c_str(), R_OK) != 0) {
    return Status::Error("console key " + options.key_file + ": " + std::strerror(errno));
  }
  impl->tls.use_private_key_file(options.key_file, ssl::context::pem, ec);
  if (ec) return Status::Error("console key " + options.key_file + ": " + ec.message());
  auto endpoint = transports::ParseListenAddress(options.listen);
  if (!endpoint) {
    return Status::Error("console listen address \"" + options.listen + "\": expected ADDR:PORT");
  }
  impl->acceptor.open(endpoint->protocol(), ec);
  if (!ec) impl->acceptor.set_option(tcp::acceptor::reuse_address(true), ec);
  if (!ec) impl->acceptor.bind(*endpoint, ec);
  if (!ec) impl->acceptor.listen(net::socket_base::max_listen_connections, ec);
  if (ec) return Status::Io("cannot listen on " + options.listen + ": " + ec.message());
  return std::unique_ptr<ConsoleServer>(new ConsoleServer(std::move(impl)));
}

ConsoleServer::ConsoleServer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

ConsoleServer::~ConsoleServer() {
  Stop();
  while (impl_->in_flight > 0) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  if (impl_->watchdog.joinable()) impl_->watchdog.join();
}

int ConsoleServer::port() const { return impl_->acceptor.local_endpoint().port(); }

void ConsoleServer::Stop() { impl_->stopping = true; }

void ConsoleServer::Run() {
  Impl& s = *impl_;
  s.watchdog = std::thread([&s] { s.Watch(); });
  const int listen_fd = s.acceptor.native_handle();
  while (!s.stopping) {
    pollfd p{listen_fd, POLLIN, 0};
    if (::poll(&p, 1, 200) <= 0) continue;
    boost::system::error_code ec;
    tcp::socket socket(s.io);
    s.acceptor.accept(socket, ec);
    if (ec) continue;
    if (s.in_flight >= s.options.max_connections) continue;  // closed as it goes out of scope
    // A page is often two TLS records; without this the second waits for
    // the browser's delayed ACK (about 40 ms).
    socket.set_option(tcp::no_delay(true), ec);
    ++s.in_flight;
    std::thread([&s, sock = std::move(socket)]() mutable {
      s.Serve(std::move(sock));
      --s.in_flight;
    }).detach();
  }
  // Connections in flight finish (or meet their deadline).
  {
    std::lock_guard<std::mutex> lock(s.deadlines_mutex);
    for (auto& [fd, when] : s.deadlines)
      when = std::min(when, Clock::now() + std::chrono::seconds(5));
  }
  while (s.in_flight > 0) std::this_thread::sleep_for(std::chrono::milliseconds(20));
}

}  // namespace itaku::gateway::console
