#include "gateway/console/web.h"

namespace itaku::gateway::console {
namespace {

std::string First(const std::multimap<std::string, std::string>& m, const std::string& key) {
  auto it = m.find(key);
  return it == m.end() ? "" : it->second;
}

int Hex(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

std::string WebRequest::Query(const std::string& key) const { return First(query, key); }
std::string WebRequest::Form(const std::string& key) const { return First(form, key); }
std::vector<std::string> WebRequest::FormAll(const std::string& key) const {
  std::vector<std::string> out;
  auto [from, to] = form.equal_range(key);
  for (auto it = from; it != to; ++it) out.push_back(it->second);
  return out;
}

WebResponse WebResponse::Redirect(const std::string& to) {
  WebResponse r;
  r.status = 303;
  r.headers.push_back({"Location", to});
  return r;
}

WebResponse WebResponse::Plain(int status, const std::string& body, const std::string& type) {
  WebResponse r;
  r.status = status;
  r.body = body;
  r.content_type = type;
  return r;
}

std::string PercentDecode(const std::string& text, bool plus_is_space) {
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (c == '+' && plus_is_space) {
      out += ' ';
    } else if (c == '%' && i + 2 < text.size() && Hex(text[i + 1]) >= 0 && Hex(text[i + 2]) >= 0) {
      out += static_cast<char>(Hex(text[i + 1]) * 16 + Hex(text[i + 2]));
      i += 2;
    } else {
      out += c;
    }
  }
  return out;
}

std::multimap<std::string, std::string> ParseUrlEncoded(const std::string& text) {
  std::multimap<std::string, std::string> out;
  size_t at = 0;
  while (at <= text.size()) {
    size_t end = text.find('&', at);
    if (end == std::string::npos) end = text.size();
    const std::string pair = text.substr(at, end - at);
    if (!pair.empty()) {
      const size_t eq = pair.find('=');
      out.emplace(PercentDecode(pair.substr(0, eq), true),
                  eq == std::string::npos ? "" : PercentDecode(pair.substr(eq + 1), true));
    }
    at = end + 1;
  }
  return out;
}

std::map<std::string, std::string> ParseCookies(const std::string& header) {
  std::map<std::string, std::string> out;
  size_t at = 0;
  while (at < header.size()) {
    size_t end = header.find(';', at);
    if (end == std::string::npos) end = header.size();
    std::string pair = header.substr(at, end - at);
    while (!pair.empty() && pair.front() == ' ') pair.erase(0, 1);
    const size_t eq = pair.find('=');
    if (eq != std::string::npos) out.emplace(pair.substr(0, eq), pair.substr(eq + 1));
    at = end + 1;
  }
  return out;
}

std::string HtmlEscape(const std::string& text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&#39;";
        break;
      case '`':
        out += "&#96;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

}  // namespace itaku::gateway::console
