// itaku-bench-portal: an HTTPS load generator that presents a client
// certificate (wrk cannot), for ops/bench/portal.
//
//   itaku-bench-portal --url https://127.0.0.1:PORT/path --cert C --key K --cacert CA
//                      [--clients 64] [--duration SECONDS] [--requests-per-client N]
//                      [--expect-bytes N]
//
// Each client is one thread with one blocking TLS connection (the server's
// certificate verified against CA, and its name or IP against the URL's
// host) sending HTTP/1.1 keep-alive GETs in a loop; every response must be
// 200 with a Content-Length, the whole body is read and its size checked
// (against --expect-bytes, else against the first response seen). A client
// reconnects when the server closes. Clients stop starting requests once
// --duration has passed (or after --requests-per-client each); requests in
// flight finish, and the rate is over the whole run, first connect to last
// byte. Latency is per request, request sent to last body byte; the first
// request on a connection includes the TCP connect and TLS handshake.
//
// Prints (MB = 10^6 bytes):
//   tls <protocol> <cipher>
//   downloads N  errors E  downloads/s X  MB/s Y  p50 A ms  p99 B ms
//   RESULT downloads_per_s=X p99_ms=B
// and the first few distinct errors on stderr. Exits 1 when no download
// succeeded, 2 on bad arguments.
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace {

using Clock = std::chrono::steady_clock;

constexpr int kSocketTimeoutSeconds = 60;
constexpr std::size_t kMaxHeadBytes = 64 * 1024;
constexpr std::size_t kReadBytes = 256 * 1024;

int Usage(const std::string& why) {
  std::cerr << "itaku-bench-portal: " << why << "\n"
            << "usage: itaku-bench-portal --url https://HOST:PORT/PATH --cert CLIENT.pem "
               "--key CLIENT.key --cacert CA.pem [--clients N] [--duration SECONDS] "
               "[--requests-per-client N] [--expect-bytes N]\n";
  return 2;
}

struct Url {
  std::string host, port, path;
};

std::optional<Url> ParseUrl(std::string_view url) {
  constexpr std::string_view kScheme = "https://";
  if (!url.starts_with(kScheme)) return std::nullopt;
  url.remove_prefix(kScheme.size());
  const std::size_t slash = url.find('/');
  std::string_view authority = url.substr(0, slash);
  Url out;
  out.path = slash == std::string_view::npos ? "/" : std::string(url.substr(slash));
  out.port = "443";
  if (authority.starts_with("[")) {
    const std::size_t close = authority.find(']');
    if (close == std::string_view::npos) return std::nullopt;
    out.host = std::string(authority.substr(1, close - 1));
    authority.remove_prefix(close + 1);
    if (authority.starts_with(":")) out.port = std::string(authority.substr(1));
  } else {
    const std::size_t colon = authority.rfind(':');
    out.host = std::string(authority.substr(0, colon));
    if (colon != std::string_view::npos) out.port = std::string(authority.substr(colon + 1));
  }
  if (out.host.empty() || out.port.empty()) return std::nullopt;
  return out;
}

bool ParseNumber(std::string_view s, uint64_t& out) {
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc() && end == s.data() + s.size();
}

std::string OpenSslError() {
  const unsigned long e = ERR_get_error();
  ERR_clear_error();
  if (e == 0) return "unknown TLS error";
  char buf[256];
  ERR_error_string_n(e, buf, sizeof buf);
  return buf;
}

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

struct Options {
  Url url;
  std::string cert, key, cacert;
  int clients = 64;
  double duration_s = 0;
  uint64_t requests_per_client = 0;
  uint64_t expect_bytes = 0;
};

// What every client shares.
struct Shared {
  const Options* options = nullptr;
  SSL_CTX* ctx = nullptr;
  addrinfo* addresses = nullptr;
  Clock::time_point deadline = Clock::time_point::max();
  std::atomic<uint64_t> expected_bytes{0};  // 0 until the first response fixes it
  std::mutex mu;
  std::map<std::string, uint64_t> errors;  // message -> count
  std::string tls;                         // "protocol cipher" of the first handshake

  void Error(const std::string& what) {
    std::lock_guard lock(mu);
    ++errors[what];
  }
};

struct ClientResult {
  uint64_t downloads = 0, errors = 0, bytes = 0;
  std::vector<double> latencies_ms;
};

// One blocking TLS connection.
class Connection {
 public:
  explicit Connection(Shared& shared) : shared_(shared) {}
  ~Connection() { Close(); }
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  bool open() const { return ssl_ != nullptr; }
  bool fresh() const { return requests_ == 0; }

  // Connects and handshakes; on failure returns the reason.
  std::optional<std::string> Open() {
    Close();
    for (addrinfo* a = shared_.addresses; a != nullptr; a = a->ai_next) {
      fd_ = ::socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC, a->ai_protocol);
      if (fd_ < 0) continue;
      if (::connect(fd_, a->ai_addr, a->ai_addrlen) == 0) break;
      ::close(fd_);
      fd_ = -1;
    }
    if (fd_ < 0) return "connect: " + std::string(std::strerror(errno));
    const int one = 1;
    ::setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    timeval tv{kSocketTimeoutSeconds, 0};
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    ::setsockopt(fd_, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);

    ssl_ = SSL_new(shared_.ctx);
    if (ssl_ == nullptr) return "SSL_new: " + OpenSslError();
    const std::string& host = shared_.options->url.host;
    SSL_set_fd(ssl_, fd_);
    X509_VERIFY_PARAM* param = SSL_get0_param(ssl_);
    if (X509_VERIFY_PARAM_set1_ip_asc(param, host.c_str()) != 1) {
      ERR_clear_error();
      SSL_set_tlsext_host_name(ssl_, host.c_str());
      X509_VERIFY_PARAM_set1_host(param, host.c_str(), host.size());
    }
    if (SSL_connect(ssl_) != 1) {
      const long verify = SSL_get_verify_result(ssl_);
      std::string why = verify != X509_V_OK ? std::string("server certificate: ") +
                                                  X509_verify_cert_error_string(verify)
                                            : OpenSslError();
      Close();
      return "TLS handshake: " + why;
    }
    {
      std::lock_guard lock(shared_.mu);
      if (shared_.tls.empty()) {
        shared_.tls = std::string(SSL_get_version(ssl_)) + " " + SSL_get_cipher_name(ssl_);
      }
    }
    requests_ = 0;
    buffered_.clear();
    return std::nullopt;
  }

  void Close() {
    if (ssl_ != nullptr) {
      SSL_free(ssl_);
      ssl_ = nullptr;
    }
    if (fd_ >= 0) {
      ::close(fd_);
      fd_ = -1;
    }
  }

  // Sends one GET and reads the whole response. Sets `nothing_back` when the
  // connection was closed before a single response byte arrived (a keep-alive
  // connection the server had already given up on).
  std::optional<std::string> Get(uint64_t& body_bytes, bool& keep_alive, bool& nothing_back) {
    nothing_back = false;
    const Url& u = shared_.options->url;
    const std::string request = "GET " + u.path + " HTTP/1.1\r\nHost: " + u.host + ":" + u.port +
                                "\r\nUser-Agent: itaku-bench-portal\r\nAccept: */*\r\n\r\n";
    ++requests_;
    if (auto err = WriteAll(request)) return err;

    // The head.
    std::size_t head_end;
    bool any = !buffered_.empty();
    while ((head_end = buffered_.find("\r\n\r\n")) == std::string::npos) {
      if (buffered_.size() > kMaxHeadBytes) return "response head too large";
      char buf[16 * 1024];
      const int n = Read(buf, sizeof buf);
      if (n <= 0) {
        nothing_back = !any;
        return n == 0 ? "connection closed before the response head" : read_error_;
      }
      any = true;
      buffered_.append(buf, static_cast<std::size_t>(n));
    }
    const std::string head = buffered_.substr(0, head_end);
    buffered_.erase(0, head_end + 4);

    int status = 0;
    if (head.size() < 12 || !head.starts_with("HTTP/1.")) return "malformed status line";
    status = std::atoi(head.c_str() + 9);
    std::optional<uint64_t> content_length;
    keep_alive = head.compare(0, 8, "HTTP/1.1") == 0;
    std::size_t pos = head.find("\r\n");
    while (pos != std::string::npos && pos < head.size()) {
      const std::size_t start = pos + 2;
      const std::size_t end = std::min(head.find("\r\n", start), head.size());
      const std::string_view line(head.data() + start, end - start);
      const std::size_t colon = line.find(':');
      if (colon != std::string_view::npos) {
        const std::string name = Lower(line.substr(0, colon));
        std::string_view value = line.substr(colon + 1);
        while (!value.empty() && (value.front() == ' ' || value.front() == '\t')) {
          value.remove_prefix(1);
        }
        while (!value.empty() && (value.back() == ' ' || value.back() == '\t')) {
          value.remove_suffix(1);
        }
        if (name == "content-length") {
          uint64_t n;
          if (!ParseNumber(value, n)) return "bad Content-Length";
          content_length = n;
        } else if (name == "connection") {
          const std::string v = Lower(value);
          if (v.find("close") != std::string::npos) keep_alive = false;
          if (v.find("keep-alive") != std::string::npos) keep_alive = true;
        } else if (name == "transfer-encoding") {
          return "unexpected Transfer-Encoding (need Content-Length)";
        }
      }
      pos = end;
    }
    if (!content_length) return "no Content-Length";

    // The body, counted and discarded.
    uint64_t remaining = *content_length;
    const uint64_t from_buffer = std::min<uint64_t>(remaining, buffered_.size());
    buffered_.erase(0, static_cast<std::size_t>(from_buffer));
    remaining -= from_buffer;
    while (remaining > 0) {
      const int n = Read(body_.data(), static_cast<int>(std::min<uint64_t>(remaining, kReadBytes)));
      if (n <= 0) {
        return "body cut short: " + std::to_string(*content_length - remaining) + " of " +
               std::to_string(*content_length) + " bytes (" +
               (n == 0 ? std::string("closed") : read_error_) + ")";
      }
      remaining -= static_cast<uint64_t>(n);
    }
    body_bytes = *content_length;
    if (status != 200) return "HTTP status " + std::to_string(status);
    return std::nullopt;
  }

 private:
  std::optional<std::string> WriteAll(std::string_view data) {
    while (!data.empty()) {
      size_t written = 0;
      if (SSL_write_ex(ssl_, data.data(), data.size(), &written) != 1) {
        return "write: " + OpenSslError();
      }
      data.remove_prefix(written);
    }
    return std::nullopt;
  }

  // > 0 bytes read, 0 on a close, < 0 on an error (read_error_ says which).
  int Read(char* buf, int size) {
    size_t got = 0;
    errno = 0;
    if (SSL_read_ex(ssl_, buf, static_cast<size_t>(size), &got) == 1) return static_cast<int>(got);
    const int e = SSL_get_error(ssl_, 0);
    if (e == SSL_ERROR_ZERO_RETURN) return 0;
    if (e == SSL_ERROR_SYSCALL && errno == 0) {
      ERR_clear_error();
      return 0;  // EOF without close_notify
    }
    if (e == SSL_ERROR_SYSCALL) {
      read_error_ = "read: " + std::string(std::strerror(errno));
      ERR_clear_error();
    } else {
      read_error_ = "read: " + OpenSslError();
    }
    return -1;
  }

  Shared& shared_;
  int fd_ = -1;
  SSL* ssl_ = nullptr;
  uint64_t requests_ = 0;
  std::string buffered_;
  std::string read_error_;
  std::vector<char> body_ = std::vector<char>(kReadBytes);
};

void RunClient(Shared& shared, ClientResult& result) {
  const Options& o = *shared.options;
  Connection conn(shared);
  uint64_t started = 0;
  while (Clock::now() < shared.deadline &&
         (o.requests_per_client == 0 || started < o.requests_per_client)) {
    ++started;
    const auto t0 = Clock::now();
    bool retried = false;
    std::optional<std::string> err;
    uint64_t bytes = 0;
    bool keep_alive = false, nothing_back = false;
    while (true) {
      if (!conn.open()) {
        if ((err = conn.Open())) break;
      }
      const bool fresh = conn.fresh();
      err = conn.Get(bytes, keep_alive, nothing_back);
      if (err && nothing_back && !fresh && !retried) {
        conn.Close();  // an idle keep-alive connection the server closed: once more
        retried = true;
        continue;
      }
      break;
    }
    const auto t1 = Clock::now();
    if (!err) {
      uint64_t expected = shared.expected_bytes.load();
      if (expected == 0 && shared.expected_bytes.compare_exchange_strong(expected, bytes)) {
        expected = bytes;
      }
      if (bytes != expected) {
        err = "body is " + std::to_string(bytes) + " bytes, expected " + std::to_string(expected);
      }
    }
    if (err) {
      ++result.errors;
      shared.Error(*err);
      conn.Close();
      continue;
    }
    ++result.downloads;
    result.bytes += bytes;
    result.latencies_ms.push_back(std::chrono::duration<double, std::milli>(t1 - t0).count());
    if (!keep_alive) conn.Close();
  }
}

double Percentile(const std::vector<double>& sorted, double p) {
  if (sorted.empty()) return 0;
  // Nearest rank.
  std::size_t rank =
      static_cast<std::size_t>(std::ceil(p / 100.0 * static_cast<double>(sorted.size())));
  rank = std::clamp<std::size_t>(rank, 1, sorted.size());
  return sorted[rank - 1];
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  std::string url;
  for (int i = 1; i < argc; ++i) {
    const std::string_view a = argv[i];
    if (i + 1 >= argc) return Usage("missing value for " + std::string(a));
    const std::string v = argv[++i];
    uint64_t n = 0;
    if (a == "--url") {
      url = v;
    } else if (a == "--cert") {
      o.cert = v;
    } else if (a == "--key") {
      o.key = v;
    } else if (a == "--cacert") {
      o.cacert = v;
    } else if (a == "--clients") {
      if (!ParseNumber(v, n) || n == 0 || n > 10000) return Usage("bad --clients " + v);
      o.clients = static_cast<int>(n);
    } else if (a == "--duration") {
      char* end = nullptr;
      o.duration_s = std::strtod(v.c_str(), &end);
      if (end == v.c_str() || *end != '\0' || !(o.duration_s > 0)) {
        return Usage("bad --duration " + v);
      }
    } else if (a == "--requests-per-client") {
      if (!ParseNumber(v, n) || n == 0) return Usage("bad --requests-per-client " + v);
      o.requests_per_client = n;
    } else if (a == "--expect-bytes") {
      if (!ParseNumber(v, n) || n == 0) return Usage("bad --expect-bytes " + v);
      o.expect_bytes = n;
    } else {
      return Usage("unknown option " + std::string(a));
    }
  }
  if (url.empty() || o.cert.empty() || o.key.empty() || o.cacert.empty()) {
    return Usage("--url, --cert, --key and --cacert are required");
  }
  if (o.duration_s == 0 && o.requests_per_client == 0) {
    return Usage("give --duration or --requests-per-client (or both)");
  }
  auto parsed = ParseUrl(url);
  if (!parsed) return Usage("--url must be https://HOST[:PORT]/PATH, got " + url);
  o.url = *parsed;

  Shared shared;
  shared.options = &o;
  shared.expected_bytes = o.expect_bytes;
  shared.ctx = SSL_CTX_new(TLS_client_method());
  if (shared.ctx == nullptr) {
    std::cerr << "itaku-bench-portal: " << OpenSslError() << "\n";
    return 1;
  }
  SSL_CTX_set_min_proto_version(shared.ctx, TLS1_2_VERSION);
  SSL_CTX_set_verify(shared.ctx, SSL_VERIFY_PEER, nullptr);
  if (SSL_CTX_load_verify_locations(shared.ctx, o.cacert.c_str(), nullptr) != 1) {
    std::cerr << "itaku-bench-portal: CA " << o.cacert << ": " << OpenSslError() << "\n";
    return 1;
  }
  if (SSL_CTX_use_certificate_chain_file(shared.ctx, o.cert.c_str()) != 1) {
    std::cerr << "itaku-bench-portal: certificate " << o.cert << ": " << OpenSslError() << "\n";
    return 1;
  }
  if (SSL_CTX_use_PrivateKey_file(shared.ctx, o.key.c_str(), SSL_FILETYPE_PEM) != 1 ||
      SSL_CTX_check_private_key(shared.ctx) != 1) {
    std::cerr << "itaku-bench-portal: key " << o.key << ": " << OpenSslError() << "\n";
    return 1;
  }

  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  if (const int rc = getaddrinfo(o.url.host.c_str(), o.url.port.c_str(), &hints, &shared.addresses);
      rc != 0) {
    std::cerr << "itaku-bench-portal: " << o.url.host << ":" << o.url.port << ": "
              << gai_strerror(rc) << "\n";
    return 1;
  }

  std::vector<ClientResult> results(static_cast<std::size_t>(o.clients));
  std::vector<std::thread> threads;
  threads.reserve(results.size());
  const auto start = Clock::now();
  if (o.duration_s > 0) {
    shared.deadline = start + std::chrono::duration_cast<Clock::duration>(
                                  std::chrono::duration<double>(o.duration_s));
  }
  for (auto& r : results) threads.emplace_back([&shared, &r] { RunClient(shared, r); });
  for (auto& t : threads) t.join();
  const double elapsed = std::chrono::duration<double>(Clock::now() - start).count();
  freeaddrinfo(shared.addresses);
  SSL_CTX_free(shared.ctx);

  uint64_t downloads = 0, errors = 0, bytes = 0;
  std::vector<double> latencies;
  for (const auto& r : results) {
    downloads += r.downloads;
    errors += r.errors;
    bytes += r.bytes;
    latencies.insert(latencies.end(), r.latencies_ms.begin(), r.latencies_ms.end());
  }
  std::sort(latencies.begin(), latencies.end());
  const double rate = static_cast<double>(downloads) / elapsed;
  const double p50 = Percentile(latencies, 50), p99 = Percentile(latencies, 99);

  int shown = 0;
  for (const auto& [what, count] : shared.errors) {
    if (++shown > 5) {
      std::cerr << "itaku-bench-portal: ... and " << shared.errors.size() - 5
                << " more kinds of error\n";
      break;
    }
    std::cerr << "itaku-bench-portal: " << count << "x " << what << "\n";
  }
  if (!shared.tls.empty()) std::printf("tls %s\n", shared.tls.c_str());
  std::printf(
      "downloads %llu  errors %llu  downloads/s %.2f  MB/s %.1f  p50 %.1f ms  p99 %.1f ms  "
      "(%d clients, %.1f s, %llu bytes each)\n",
      static_cast<unsigned long long>(downloads), static_cast<unsigned long long>(errors), rate,
      static_cast<double>(bytes) / 1e6 / elapsed, p50, p99, o.clients, elapsed,
      static_cast<unsigned long long>(shared.expected_bytes.load()));
  std::printf("RESULT downloads_per_s=%.2f p99_ms=%.1f\n", rate, p99);
  return downloads > 0 ? 0 : 1;
}
