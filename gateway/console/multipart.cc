#include "gateway/console/multipart.h"

#include <string.h>

#include <algorithm>
#include <cctype>

namespace itaku::gateway::console {
namespace {

constexpr size_t kMaxHead = 16 * 1024;

Status Malformed() { return Status::Error("malformed multipart body"); }

std::string Lower(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

}  // namespace

std::string HeaderParameter(const std::string& value, const std::string& key, bool* found) {
  *found = false;
  size_t at = value.find(';');
  while (at != std::string::npos && at < value.size()) {
    ++at;
    while (at < value.size() && (value[at] == ' ' || value[at] == '\t')) ++at;
    const size_t eq = value.find('=', at);
    if (eq == std::string::npos) return "";
    const std::string name = Lower(value.substr(at, eq - at));
    std::string v;
    size_t next;
    if (eq + 1 < value.size() && value[eq + 1] == '"') {
      size_t i = eq + 2;
      for (; i < value.size() && value[i] != '"'; ++i) {
        if (value[i] == '\\' && i + 1 < value.size()) ++i;
        v += value[i];
      }
      next = value.find(';', i);
    } else {
      next = value.find(';', eq);
      v = value.substr(eq + 1, next == std::string::npos ? std::string::npos : next - eq - 1);
      while (!v.empty() && (v.back() == ' ' || v.back() == '\t')) v.pop_back();
    }
    if (name == key) {
      *found = true;
      return v;
    }
    at = next;
  }
  return "";
}

MultipartParser::MultipartParser(std::string boundary, Callbacks callbacks)
    : delimiter_("\r\n--" + std::move(boundary)), callbacks_(std::move(callbacks)) {}

Status MultipartParser::Feed(const char* data, size_t size) {
  if (state_ == State::kDone) return Status::Ok();  // an epilogue is ignored
  buffer_.append(data, size);
  for (bool progressed = true; progressed;) {
    progressed = false;
    if (Status s = Step(&progressed); !s.ok()) return s;
    if (state_ == State::kDone) {
      buffer_.clear();
      break;
    }
  }
  return Status::Ok();
}

Status MultipartParser::Finish() const {
  return state_ == State::kDone ? Status::Ok() : Malformed();
}

Status MultipartParser::Step(bool* progressed) {
  switch (state_) {
    case State::kPreamble: {
      // The first boundary has no CRLF before it (unless a preamble does).
      const std::string first = delimiter_.substr(2);
      const size_t at = buffer_.find(first);
      if (at == std::string::npos) {
        if (buffer_.size() > kMaxHead) return Malformed();
        return Status::Ok();
      }
      buffer_.erase(0, at + first.size());
      state_ = State::kAfterBoundary;
      *progressed = true;
      return Status::Ok();
    }
    case State::kAfterBoundary: {
      if (buffer_.size() < 2) return Status::Ok();
      if (buffer_.compare(0, 2, "--") == 0) {
        state_ = State::kDone;
      } else if (buffer_.compare(0, 2, "\r\n") == 0) {
        buffer_.erase(0, 2);
        state_ = State::kHead;
      } else {
        return Malformed();
      }
      *progressed = true;
      return Status::Ok();
    }
    case State::kHead: {
      const size_t end = buffer_.find("\r\n\r\n");
      if (end == std::string::npos) {
        if (buffer_.size() > kMaxHead) return Malformed();
        return Status::Ok();
      }
      std::string disposition;
      size_t line = 0;
      while (line < end) {
        size_t eol = buffer_.find("\r\n", line);
        if (eol == std::string::npos || eol > end) eol = end;
        const std::string header = buffer_.substr(line, eol - line);
        const size_t colon = header.find(':');
        if (colon != std::string::npos && Lower(header.substr(0, colon)) == "content-disposition") {
          disposition = header.substr(colon + 1);
        }
        line = eol + 2;
      }
      buffer_.erase(0, end + 4);
      bool has_name = false, is_file = false;
      const std::string name = HeaderParameter(disposition, "name", &has_name);
      const std::string filename = HeaderParameter(disposition, "filename", &is_file);
      if (!has_name) return Malformed();
      if (Status s = callbacks_.begin(name, filename, is_file); !s.ok()) return s;
      state_ = State::kBody;
      *progressed = true;
      return Status::Ok();
    }
    case State::kBody: {
      const void* hit =
          ::memmem(buffer_.data(), buffer_.size(), delimiter_.data(), delimiter_.size());
      if (hit != nullptr) {
        const size_t at = static_cast<const char*>(hit) - buffer_.data();
        if (at > 0) {
          if (Status s = callbacks_.data(buffer_.data(), at); !s.ok()) return s;
        }
        if (Status s = callbacks_.end(); !s.ok()) return s;
        buffer_.erase(0, at + delimiter_.size());
        state_ = State::kAfterBoundary;
        *progressed = true;
        return Status::Ok();
      }
      // Everything but what could be the start of a delimiter goes out now.
      if (buffer_.size() >= delimiter_.size()) {
        const size_t safe = buffer_.size() - (delimiter_.size() - 1);
        if (Status s = callbacks_.data(buffer_.data(), safe); !s.ok()) return s;
        buffer_.erase(0, safe);
      }
      return Status::Ok();
    }
    case State::kDone:
      return Status::Ok();
  }
  return Status::Ok();
}

}  // namespace itaku::gateway::console
