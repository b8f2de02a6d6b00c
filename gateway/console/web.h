// What the console's HTTPS listener hands the console and gets back: one
// request, already read (a multipart body streamed to files on disk), and
// one response. Plain data, so pages are tested without sockets.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "contracts/base/strings.h"

namespace itaku::gateway::console {

struct UploadedFile {
  std::string field;  // the form field's name
  std::string name;   // the file name the browser gave (one path component)
  std::string path;   // where the listener wrote it
  uint64_t size = 0;
};

struct WebRequest {
  std::string method;  // "GET", "POST"
  std::string path;    // percent-decoded, without the query
  std::multimap<std::string, std::string> query;
  std::multimap<std::string, std::string> form;  // urlencoded or multipart text fields
  std::map<std::string, std::string> cookies;
  std::vector<UploadedFile> files;
  std::string peer;  // "127.0.0.1:52345"

  // The first value of a query parameter or form field; "" when absent.
  std::string Query(const std::string& key) const;
  std::string Form(const std::string& key) const;
  std::vector<std::string> FormAll(const std::string& key) const;
};

struct WebResponse {
  int status = 200;
  std::string content_type = "text/html; charset=utf-8";
  std::string body;
  // When set, the body is this file, streamed; deleted after sending when
  // delete_file is set.
  std::string file;
  bool delete_file = false;
  std::vector<std::pair<std::string, std::string>> headers;  // extra (Set-Cookie, Location)

  static WebResponse Redirect(const std::string& to);  // 303 See Other
  static WebResponse Plain(int status, const std::string& body,
                           const std::string& type = "text/plain; charset=utf-8");
};

// application/x-www-form-urlencoded (also a query string): '+' is a space,
// %XX a byte; malformed escapes are kept as they are.
std::multimap<std::string, std::string> ParseUrlEncoded(const std::string& text);
std::string PercentDecode(const std::string& text, bool plus_is_space);
// name=value pairs of a Cookie header.
std::map<std::string, std::string> ParseCookies(const std::string& header);
// &, <, >, ", ' and ` as character references.
std::string HtmlEscape(const std::string& text);

}  // namespace itaku::gateway::console
