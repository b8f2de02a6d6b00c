// ParseSftpUrl (sftp_transport.h): sftp://user@host:port/path.
#include <cctype>
#include <string_view>

#include "transports/sftp_transport.h"

namespace itaku::transports {
namespace {

// %XX escapes; false on a bad or NUL escape.
bool PercentDecode(std::string_view in, std::string* out) {
  auto hex = [](char ch) -> int {
    if (ch >= '0' && ch <= '9') return ch - '0';
    if (ch >= 'a' && ch <= 'f') return ch - 'a' + 10;
    if (ch >= 'A' && ch <= 'F') return ch - 'A' + 10;
    return -1;
  };
  out->clear();
  for (size_t i = 0; i < in.size(); ++i) {
    if (in[i] != '%') {
      out->push_back(in[i]);
      continue;
    }
    if (i + 2 >= in.size()) return false;
    const int hi = hex(in[i + 1]);
    const int lo = hex(in[i + 2]);
    if (hi < 0 || lo < 0 || (hi == 0 && lo == 0)) return false;
    out->push_back(static_cast<char>(hi * 16 + lo));
    i += 2;
  }
  return true;
}

// "host", "host:port", "[v6]" or "[v6]:port" into e->host and e->port; the
// error names the URL.
Status ParseHostPort(std::string_view host_port, const std::string& url, SftpEndpoint* e) {
  std::string_view host = host_port;
  std::string_view port;
  bool has_port = false;
  if (!host_port.empty() && host_port.front() == '[') {
    const size_t close = host_port.find(']');
    if (close == std::string_view::npos) return Status::Error("sftp URL has no host: " + url);
    host = host_port.substr(1, close - 1);
    const std::string_view after = host_port.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') return Status::Error("sftp URL has a bad port: " + url);
      port = after.substr(1);
      has_port = true;
    }
  } else if (const size_t colon = host_port.rfind(':'); colon != std::string_view::npos) {
    host = host_port.substr(0, colon);
    port = host_port.substr(colon + 1);
    has_port = true;
  }
  if (host.empty()) return Status::Error("sftp URL has no host: " + url);
  e->host = std::string(host);
  if (!has_port) return Status::Ok();
  int value = 0;
  for (char ch : port) {
    if (ch < '0' || ch > '9' || value > 65535) {
      value = -1;
      break;
    }
    value = value * 10 + (ch - '0');
  }
  if (port.empty() || value < 1 || value > 65535) {
    return Status::Error("sftp URL has a bad port: " + url);
  }
  e->port = value;
  return Status::Ok();
}

}  // namespace

Result<SftpEndpoint> ParseSftpUrl(const std::string& url) {
  // A password must never be echoed, so look for one before anything else.
  const size_t scheme_end = url.find("://");
  const size_t authority_begin = scheme_end == std::string::npos ? 0 : scheme_end + 3;
  const size_t authority_end = std::min(url.find('/', authority_begin), url.size());
  const std::string_view authority =
      std::string_view(url).substr(authority_begin, authority_end - authority_begin);
  const size_t at = authority.rfind('@');
  if (at != std::string_view::npos && authority.substr(0, at).find(':') != std::string_view::npos) {
    return Result<SftpEndpoint>::Error("sftp URL must not contain a password");
  }

  std::string scheme = url.substr(0, scheme_end == std::string::npos ? 0 : scheme_end);
  for (char& ch : scheme) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  if (scheme_end == std::string::npos || scheme != "sftp") {
    return Result<SftpEndpoint>::Error("not an sftp:// URL: " + url);
  }
  if (url.find_first_of("?#;") != std::string::npos) {
    return Result<SftpEndpoint>::Error("sftp URL must not contain '?', '#' or ';': " + url);
  }
  if (at == std::string_view::npos || at == 0) {
    return Result<SftpEndpoint>::Error("sftp URL has no user name: " + url);
  }

  SftpEndpoint e;
  if (Status hp = ParseHostPort(authority.substr(at + 1), url, &e); !hp.ok()) return hp;
  std::string_view path;
  if (authority_end < url.size()) path = std::string_view(url).substr(authority_end + 1);
  if (path.substr(0, 2) == "~/") path.remove_prefix(2);
  if (path == "~") path = "";
  if (!PercentDecode(authority.substr(0, at), &e.user) || !PercentDecode(path, &e.remote_dir)) {
    return Result<SftpEndpoint>::Error("sftp URL has a bad %-escape: " + url);
  }
  return e;
}

}  // namespace itaku::transports
