// Subscriber ids as Itaku compares them (policy 5: who received what about
// me; policy 6(1): whose data must not go out). The same subscriber reaches
// us typed and exported in several shapes ("S90001 ", " S90001", full-width
// "Ｓ９０００１"); every id is normalised the same way wherever it enters
// (an export row, a special or corrective request, a lookup), and then
// checked against the operator's id pattern, so that an id that is not an
// id (a shifted column, a typo like "S9OO12") is refused, naming where, and
// never silently matches nobody.
//
// Pure functions; SubscriberIdPattern is immutable and may be shared
// between threads.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <utility>

#include "contracts/base/status.h"

namespace itaku::policies {

// Unicode NFKC (full-width letters and digits become ASCII, U+3000 becomes
// U+0020), then surrounding white space removed. A value that is not valid
// UTF-8 is returned unchanged: no pattern matches it, so the check refuses
// it rather than this function guessing.
std::string NormalizeSubscriberId(std::string_view raw);

// The same without allocating on the common path: printable ASCII with no
// surrounding space is already normalised, and `raw` itself is returned.
// Otherwise the normalised id is written to `*scratch` (reused by the
// caller, so that a projection does not allocate per row) and a view of it
// is returned; it stays valid until `*scratch` is next changed.
std::string_view NormalizeSubscriberId(std::string_view raw, std::string* scratch);

// Letters, digits, '-' and '_', starting with a letter or digit, at most 64
// characters: every subscriber id scheme we have seen (billing system
// numbers, "S90001", "CATV-000123") fits, and it shuts out what an id never
// is: a name, an address, a date with slashes, anything with spaces. An
// operator whose ids are narrower configures its own ([records]
// subscriber_id_pattern, e.g. "S[0-9]{5}"), which catches "S9OO12" too.
inline constexpr char kDefaultSubscriberIdPattern[] = "[A-Za-z0-9][A-Za-z0-9_-]{0,63}";

// A compiled id pattern (PCRE2, UTF mode, JIT when available). Matches()
// is a whole-string match: the pattern need not carry ^ and $. Cheap to
// copy (the compiled code is shared) and safe to use from several threads.
class SubscriberIdPattern {
 public:
  // A pattern PCRE2 cannot compile is an error naming the pattern and
  // PCRE2's reason:
  //   "subscriber id pattern S[0-9 is not a valid regular expression:
  //    missing terminating ] for character class (at offset 5)"
  static Result<SubscriberIdPattern> Compile(const std::string& pattern);

  // `normalized` as NormalizeSubscriberId returns it. Invalid UTF-8 never
  // matches.
  bool Matches(std::string_view normalized) const;
  // The pattern as configured, for messages.
  const std::string& text() const { return text_; }

  struct Code;  // the compiled pattern (subscriber_id.cc)

 private:
  SubscriberIdPattern(std::string text, std::shared_ptr<const Code> code)
      : text_(std::move(text)), code_(std::move(code)) {}
  std::string text_;
  std::shared_ptr<const Code> code_;
};

// kDefaultSubscriberIdPattern, compiled once.
const SubscriberIdPattern& DefaultSubscriberIdPattern();

// The message for an id outside `pattern`. It never carries the id: an
// export's "id" may be someone's name when a column is shifted.
//   "subscriber id does not match the configured pattern S[0-9]{5}"
std::string SubscriberIdMismatch(const SubscriberIdPattern& pattern);

// `raw` normalised, or the refusal above (kind invalid-input). An empty id
// (also one of spaces only) is "subscriber id is empty".
Result<std::string> CheckSubscriberId(std::string_view raw, const SubscriberIdPattern& pattern);

}  // namespace itaku::policies
