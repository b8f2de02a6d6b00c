// A streaming multipart/form-data parser (RFC 7578): fed the body in chunks
// of any size, it hands each part's head and then its bytes to the caller as
// they arrive, holding at most one delimiter's length of data back. Memory
// does not grow with the size of a part.
#pragma once

#include <cstddef>
#include <functional>
#include <string>

#include "contracts/base/status.h"

namespace itaku::gateway::console {

class MultipartParser {
 public:
  struct Callbacks {
    // A part begins: its form field name and, for a file, the file name the
    // browser sent (`is_file` false for a plain field). A non-ok status
    // stops the parse with it.
    std::function<Status(const std::string& name, const std::string& filename, bool is_file)> begin;
    std::function<Status(const char* data, size_t size)> data;  // the current part's bytes
    std::function<Status()> end;                                // the current part is complete
  };
  MultipartParser(std::string boundary, Callbacks callbacks);

  // Errors: "malformed multipart body" (a missing first boundary, a part
  // head over 16 KiB or without a blank line), or what a callback returned.
  Status Feed(const char* data, size_t size);
  // After the last chunk: ok only when the closing boundary was seen.
  Status Finish() const;

 private:
  enum class State { kPreamble, kHead, kBody, kAfterBoundary, kDone };
  Status Step(bool* progressed);

  const std::string delimiter_;  // "\r\n--BOUNDARY"
  Callbacks callbacks_;
  State state_ = State::kPreamble;
  std::string buffer_;
};

// The parameter `key` of a header value like `form-data; name="x";
// filename="a.csv"` (quoted or not); "" when absent. `found` says whether it
// was there at all.
std::string HeaderParameter(const std::string& value, const std::string& key, bool* found);

}  // namespace itaku::gateway::console
