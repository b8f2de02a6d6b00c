// libFuzzer target for the notices of policy 6(3)-(4) (gateway/notices.h):
// the built-in templates and an operator's template, rendered with fuzzed
// subscriber and request values.
//
// The input is one mode byte, then fields separated by 0x1E (record
// separator): an operator's template file ("件名: …", an empty line, the
// body), then the values of kKeys in that order (absent ones are empty).
// The template is rendered as given (first line the subject, the rest the
// body); with mode bit 0 it is also written to a file and read through
// LoadTemplate() (slower: a write and a read). Mode bits 1-4 are the index in
// kKeys of a value left out (9-15: none).
//
// Traps when one of these does not hold:
// - the built-in templates load and render with exactly their documented
//   values, and refuse when one of them is missing;
// - an error never depends on the values, which hold personal data: it is
//   the same error with every value replaced by a canary;
// - a rendering is the canary rendering with each canary replaced by its
//   value, verbatim: values go in once and are never scanned again, so no
//   placeholder survives unless a value brought it;
// - a rendered subject is one line, and so is every error.
// Built by the `fuzz` preset (clang); run ops/fuzz.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>
#include <vector>

#include "gateway/notices.h"

namespace {

namespace g = itaku::gateway;

constexpr int kKeyCount = 9;
constexpr const char* kKeys[kKeyCount] = {"subscriber_name", "request_text", "received_on",
                                          "contractor_name", "outcome",      "reason",
                                          "operator_name",   "request_id",   "instruction_text"};
// The values each built-in template documents, as indexes into kKeys.
const std::vector<int> kInstructionKeys = {3, 7, 8, 2, 6};
const std::vector<int> kOutcomeKeys = {0, 1, 2, 3, 4, 5, 6};
const std::vector<int> kAllKeys = {0, 1, 2, 3, 4, 5, 6, 7, 8};

void Check(bool holds) {
  if (!holds) __builtin_trap();
}

// Stands for the value of kKeys[k]; no template in a check holds '\x01'.
std::string Canary(int k) { return {'\x01', static_cast<char>('A' + k), '\x02'}; }

// `rendered` with each canary replaced by its value (CR, LF and tab as
// spaces in a subject, as RenderTemplate() writes them).
std::string Restore(const std::string& rendered, const std::vector<std::string>& values,
                    bool subject) {
  std::string out;
  for (size_t i = 0; i < rendered.size(); ++i) {
    if (rendered[i] != '\x01') {
      out.push_back(rendered[i]);
      continue;
    }
    Check(i + 2 < rendered.size() && rendered[i + 2] == '\x02');
    const int k = rendered[i + 1] - 'A';
    Check(k >= 0 && k < kKeyCount);
    std::string value = values[static_cast<size_t>(k)];
    if (subject) {
      for (char& c : value) {
        if (c == '\r' || c == '\n' || c == '\t') c = ' ';
      }
    }
    out += value;
    i += 2;
  }
  return out;
}

// Renders `t` as `name` with the values of `keys` but `missing`, once with
// the fuzzed values and once with canaries; checks the invariants above.
// Whether it rendered.
bool CheckRender(const std::string& name, const g::NoticeTemplate& t, const std::vector<int>& keys,
                 int missing, const std::vector<std::string>& values) {
  std::map<std::string, std::string> real, canaries;
  bool braces = false;
  for (int k : keys) {
    if (k == missing) continue;
    const std::string& value = values[static_cast<size_t>(k)];
    real[kKeys[k]] = value;
    canaries[kKeys[k]] = Canary(k);
    braces = braces || value.find('{') != std::string::npos;
  }
  const auto got = g::RenderTemplate(name, t, real);
  const auto want = g::RenderTemplate(name, t, canaries);
  Check(got.ok() == want.ok());
  if (!got.ok()) {
    Check(got.message() == want.message());
    Check(got.message().rfind("template \"" + name + "\": ", 0) == 0);
    Check(got.message().find('\n') == std::string::npos);
    return false;
  }
  Check(got->subject.find_first_of("\r\n\t") == std::string::npos);
  if ((t.subject + t.body).find('\x01') == std::string::npos) {
    Check(got->subject == Restore(want->subject, values, /*subject=*/true));
    Check(got->body == Restore(want->body, values, /*subject=*/false));
  }
  if (!braces) {
    Check(got->subject.find("{{") == std::string::npos);
    Check(got->body.find("{{") == std::string::npos);
  }
  return true;
}

// A folder of this process's for override files, removed at exit.
const std::string& OverrideDir() {
  static const std::string* const dir = [] {
    std::string pattern =
        (std::filesystem::temp_directory_path() / "itaku-fuzz-notice-XXXXXX").string();
    if (::mkdtemp(pattern.data()) == nullptr) {
      std::perror("itaku-fuzz-notice: mkdtemp");
      std::abort();
    }
    auto* kept = new std::string(pattern);  // outlives the atexit handler below
    std::atexit([] {
      std::error_code ec;
      std::filesystem::remove_all(OverrideDir(), ec);
    });
    return kept;
  }();
  return *dir;
}

// The operator's file through LoadTemplate(); then rendered.
void CheckOverrideFile(const std::string& text, int missing,
                       const std::vector<std::string>& values) {
  const std::string& dir = OverrideDir();
  const std::string path = dir + "/fuzz.txt";
  {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out << text;
    if (!out) return;  // the machine's trouble, not the code's
  }
  const auto loaded = g::LoadTemplate("fuzz", dir);
  if (!loaded.ok()) {
    Check(loaded.message().rfind("template " + path + ": ", 0) == 0);
    Check(loaded.message().find('\n') == std::string::npos);
    return;
  }
  const std::string& subject = loaded->subject;
  Check(!subject.empty() && subject.find('\n') == std::string::npos);
  Check(subject.front() != ' ' && subject.front() != '\t');
  Check(subject.back() != ' ' && subject.back() != '\t');
  Check(!loaded->body.empty());
  CheckRender("fuzz", loaded.value(), kAllKeys, missing, values);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const uint8_t mode = data[0];
  std::vector<std::string> fields;
  std::string_view rest(reinterpret_cast<const char*>(data + 1), size - 1);
  while (true) {
    const size_t end = rest.find('\x1e');
    fields.emplace_back(rest.substr(0, end));
    if (end == std::string_view::npos) break;
    rest.remove_prefix(end + 1);
  }
  const std::string text = fields[0];
  std::vector<std::string> values(fields.begin() + 1, fields.end());
  values.resize(kKeyCount);
  const int missing = (mode >> 1) & 15;  // kKeyCount and above: none

  for (const auto& [name, keys] :
       {std::pair{"instruction", &kInstructionKeys}, std::pair{"outcome", &kOutcomeKeys}}) {
    const auto builtin = g::LoadTemplate(name, "");
    Check(builtin.ok());
    bool uses_missing = false;
    for (int k : *keys) uses_missing = uses_missing || k == missing;
    Check(CheckRender(name, builtin.value(), *keys, missing, values) == !uses_missing);
  }

  const size_t eol = text.find('\n');
  g::NoticeTemplate given;
  given.subject = text.substr(0, eol);
  given.body = eol == std::string::npos ? "" : text.substr(eol + 1);
  CheckRender("fuzz", given, kAllKeys, missing, values);

  if (mode & 1) CheckOverrideFile(text, missing, values);
  return 0;
}
