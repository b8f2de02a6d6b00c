#include "policies/subscriber_id.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>
#include <utf8proc.h>

#include <cstdlib>
#include <memory>
#include <string>
#include <utility>

namespace itaku::policies {

struct SubscriberIdPattern::Code {
  pcre2_code* code = nullptr;
  // kDefaultSubscriberIdPattern, checked by hand: a projection checks every
  // row's id, and PCRE2 takes several times as long for this one.
  bool is_default = false;
  ~Code() { pcre2_code_free(code); }
};

namespace {

// Printable ASCII, not starting or ending with a space: NFKC leaves it as
// it is and there is nothing to trim. Nearly every row of an export.
bool IsPlainAscii(std::string_view s) {
  if (s.empty()) return true;
  if (s.front() == ' ' || s.back() == ' ') return false;
  for (char c : s) {
    if (c < 0x20 || c > 0x7E) return false;  // char may be signed: bytes >= 0x80 are < 0
  }
  return true;
}

// The length of the white space at the start of `s` (`from_end` false) or
// at its end: ASCII white space, and what NFKC does not already turn into
// U+0020 (U+0085 NEL, U+1680 OGHAM SPACE MARK, U+2028, U+2029).
size_t SpaceAt(std::string_view s, bool from_end) {
  static constexpr std::string_view kSpaces[] = {
      " ",  "\t",       "\n",           "\v",           "\f",
      "\r", "\xC2\x85", "\xE1\x9A\x80", "\xE2\x80\xA8", "\xE2\x80\xA9"};
  for (std::string_view sp : kSpaces) {
    if (from_end ? s.ends_with(sp) : s.starts_with(sp)) return sp.size();
  }
  return 0;
}

std::string_view Trim(std::string_view s) {
  while (size_t n = SpaceAt(s, false)) s.remove_prefix(n);
  while (size_t n = SpaceAt(s, true)) s.remove_suffix(n);
  return s;
}

bool IsIdChar(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

// Exactly kDefaultSubscriberIdPattern.
bool MatchesDefault(std::string_view s) {
  if (s.empty() || s.size() > 64 || !IsIdChar(s[0])) return false;
  for (char c : s.substr(1)) {
    if (!IsIdChar(c) && c != '-' && c != '_') return false;
  }
  return true;
}

struct MatchDataFree {
  void operator()(pcre2_match_data* md) const { pcre2_match_data_free(md); }
};

}  // namespace

std::string_view NormalizeSubscriberId(std::string_view raw, std::string* scratch) {
  if (IsPlainAscii(raw)) return raw;
  utf8proc_uint8_t* mapped = nullptr;
  const utf8proc_ssize_t n = utf8proc_map(
      reinterpret_cast<const utf8proc_uint8_t*>(raw.data()),
      static_cast<utf8proc_ssize_t>(raw.size()), &mapped,
      static_cast<utf8proc_option_t>(UTF8PROC_STABLE | UTF8PROC_COMPOSE | UTF8PROC_COMPAT));
  if (n < 0) return raw;  // not UTF-8: left for the pattern check to refuse
  scratch->assign(
      Trim(std::string_view(reinterpret_cast<const char*>(mapped), static_cast<size_t>(n))));
  std::free(mapped);  // utf8proc allocates with malloc
  return *scratch;
}

std::string NormalizeSubscriberId(std::string_view raw) {
  std::string scratch;
  return std::string(NormalizeSubscriberId(raw, &scratch));
}

Result<SubscriberIdPattern> SubscriberIdPattern::Compile(const std::string& pattern) {
  int error = 0;
  PCRE2_SIZE offset = 0;
  // Anchored at both ends: the whole id must match, whatever the pattern
  // says (an operator writing "S[0-9]{5}" means exactly that, not "contains").
  pcre2_code* code =
      pcre2_compile(reinterpret_cast<PCRE2_SPTR>(pattern.data()), pattern.size(),
                    PCRE2_UTF | PCRE2_ANCHORED | PCRE2_ENDANCHORED, &error, &offset, nullptr);
  if (code == nullptr) {
    PCRE2_UCHAR message[256];
    pcre2_get_error_message(error, message, sizeof message);
    return Result<SubscriberIdPattern>::Error(
        "subscriber id pattern " + pattern + " is not a valid regular expression: " +
        reinterpret_cast<const char*>(message) + " (at offset " + std::to_string(offset) + ")");
  }
  auto compiled = std::make_shared<Code>();
  compiled->code = code;
  compiled->is_default = pattern == kDefaultSubscriberIdPattern;
  // Without JIT (not built in, or no executable memory) the interpreter
  // gives the same answers, only slower.
  (void)pcre2_jit_compile(code, PCRE2_JIT_COMPLETE);
  return SubscriberIdPattern(pattern, std::move(compiled));
}

bool SubscriberIdPattern::Matches(std::string_view normalized) const {
  if (code_->is_default) return MatchesDefault(normalized);
  // Only "matched or not" is wanted, so one ovector pair serves every
  // pattern; one block per thread, so a projection does not allocate per
  // row and threads sharing a pattern do not share match data.
  thread_local const std::unique_ptr<pcre2_match_data, MatchDataFree> match_data(
      pcre2_match_data_create(1, nullptr));
  if (match_data == nullptr) return false;
  // PCRE2 10.42 refuses a null subject even when it is empty.
  const char* subject = normalized.data() != nullptr ? normalized.data() : "";
  // ASCII is valid UTF-8: PCRE2's own check of the subject is skipped for
  // the ids of nearly every row, and does its work for the others.
  bool ascii = true;
  for (char c : normalized) ascii = ascii && static_cast<unsigned char>(c) < 0x80;
  const int rc = pcre2_match(code_->code, reinterpret_cast<PCRE2_SPTR>(subject), normalized.size(),
                             0, ascii ? PCRE2_NO_UTF_CHECK : 0, match_data.get(), nullptr);
  // Negative: no match, or an error (invalid UTF-8, a limit): not an id.
  return rc >= 0;
}

const SubscriberIdPattern& DefaultSubscriberIdPattern() {
  // The constant compiles (the unit test says so); value() of an error
  // would throw here, at first use, not silently match everything.
  static const SubscriberIdPattern kPattern =
      SubscriberIdPattern::Compile(kDefaultSubscriberIdPattern).value();
  return kPattern;
}

std::string SubscriberIdMismatch(const SubscriberIdPattern& pattern) {
  return "subscriber id does not match the configured pattern " + pattern.text();
}

Result<std::string> CheckSubscriberId(std::string_view raw, const SubscriberIdPattern& pattern) {
  std::string id = NormalizeSubscriberId(raw);
  if (id.empty()) return Result<std::string>::Error("subscriber id is empty");
  if (!pattern.Matches(id)) return Result<std::string>::Error(SubscriberIdMismatch(pattern));
  return id;
}

}  // namespace itaku::policies
