// What every file of the SQLite store shares: the boundary between Poco's
// throwing world and Status, and Poco's binding names.
#pragma once

#include <Poco/Data/Statement.h>
#include <Poco/DateTimeFormatter.h>
#include <Poco/Exception.h>
#include <Poco/Timestamp.h>

#include <exception>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "contracts/base/status.h"

namespace itaku::contracts::detail {

using namespace Poco::Data::Keywords;
using Poco::Int64;
using Poco::Data::Statement;

// Rows fetched per step when a query streams its results.
inline constexpr std::size_t kStreamBatch = 1000;

// How long a connection waits for another's lock (sqlite3_busy_timeout).
inline constexpr std::size_t kBusyTimeoutSeconds = 5;

// Poco and SQLite messages may span lines; ours are one line.
inline std::string OneLine(std::string text) {
  for (char& c : text) {
    if (c == '\n' || c == '\r') c = ' ';
  }
  while (!text.empty() && text.back() == ' ') text.pop_back();
  return text;
}

inline std::string Describe(const std::exception_ptr& error) {
  try {
    std::rethrow_exception(error);
  } catch (const Poco::Exception& e) {
    return OneLine(e.displayText());
  } catch (const std::exception& e) {
    return OneLine(e.what());
  } catch (...) {
    return "unknown error";
  }
}

// The first of `rows` as `decode` (Row -> Result<T>) makes it, or nullopt
// when there is none.
template <typename T, typename Row, typename Decode>
Result<std::optional<T>> DecodeFirst(const std::vector<Row>& rows, Decode decode) {
  if (rows.empty()) return std::optional<T>();
  Result<T> one = decode(rows.front());  // decode may return T or Result<T>
  if (!one.ok()) return one.status();
  return std::optional<T>(std::move(one).value());
}

// Every row decoded, or the first that cannot be.
template <typename T, typename Row, typename Decode>
Result<std::vector<T>> DecodeAll(const std::vector<Row>& rows, Decode decode) {
  std::vector<T> out;
  out.reserve(rows.size());
  for (const Row& row : rows) {
    Result<T> one = decode(row);
    if (!one.ok()) return one.status();
    out.push_back(std::move(one).value());
  }
  return out;
}

// Runs `body` (returning Status or Result<T>); an exception becomes
// "<what>: <reason>". The boundary between Poco's throwing world and ours.
template <typename Body>
auto Guard(const std::string& what, Body&& body) -> decltype(body()) {
  try {
    return body();
  } catch (...) {
    return decltype(body())(Status::Io(what + ": " + Describe(std::current_exception())));
  }
}

// Lists and maps are stored as JSON text.
inline std::string NowUtc() {
  return Poco::DateTimeFormatter::format(Poco::Timestamp(), "%Y-%m-%dT%H:%M:%SZ");
}

inline std::string ToJson(const std::vector<std::string>& list) {
  return nlohmann::json(list).dump();
}
inline std::string ToJson(const std::map<std::string, std::string>& map) {
  return nlohmann::json(map).dump();
}

inline bool FromJson(const std::string& text, std::vector<std::string>* out) {
  nlohmann::json json = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (!json.is_array()) return false;
  out->clear();
  for (const auto& element : json) {
    if (!element.is_string()) return false;
    out->push_back(element.get<std::string>());
  }
  return true;
}

inline bool FromJson(const std::string& text, std::map<std::string, std::string>* out) {
  nlohmann::json json = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (!json.is_object()) return false;
  out->clear();
  for (const auto& [key, value] : json.items()) {
    if (!value.is_string()) return false;
    (*out)[key] = value.get<std::string>();
  }
  return true;
}

// Reads a stored value back; `record` names the row in the error.
class Decoder {
 public:
  explicit Decoder(std::string record) : record_(std::move(record)) {}

  void Date(const std::string& column, const std::string& text, itaku::Date* out) {
    std::optional<itaku::Date> date = ParseDate(text);
    if (date) {
      *out = *date;
    } else {
      Fail(column + " is not a date: '" + text + "'");
    }
  }
  template <typename T>
  void Json(const std::string& column, const std::string& text, T* out) {
    if (!FromJson(text, out)) Fail(column + " is not valid JSON of the expected shape");
  }
  // A stored word of one of the enums in types.h.
  template <typename E>
  void Word(const std::string& column, const std::string& text, E* out) {
    std::optional<E> value = Parse<E>(text);
    if (value) {
      *out = *value;
    } else {
      Fail("unknown " + column + " '" + text + "'");
    }
  }
  itaku::Status status() const { return status_; }

 private:
  void Fail(const std::string& what) {
    if (status_.ok()) status_ = itaku::Status::Error("corrupt " + record_ + ": " + what);
  }
  std::string record_;
  itaku::Status status_;
};

}  // namespace itaku::contracts::detail
