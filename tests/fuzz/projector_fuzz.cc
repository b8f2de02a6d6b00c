// libFuzzer target for the projector: arbitrary bytes as an export, in
// every input encoding, projected with masks to a discarded stream, with the
// formula guard on or off. Finds crashes, overflows (with ASan) and hangs in
// the CSV reader, the CP932 tables, the masks and the formula guard. Built by
// the `fuzz` preset (clang); run ops/fuzz.
#include <cstddef>
#include <cstdint>
#include <sstream>
#include <string>

#include "policies/projector.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  namespace p = itaku::policies;
  if (size == 0) return 0;
  // The first byte picks the encodings, the rest is the export.
  const uint8_t mode = data[0];
  std::string text(reinterpret_cast<const char*>(data + 1), size - 1);
  p::ProjectionSpec spec;
  spec.fields = {"subscriber_id", "name", "postal_code", "birth_date", "phone"};
  spec.masks = {{"postal_code", p::Mask::kPrefix3},
                {"birth_date", p::Mask::kYear},
                {"phone", p::Mask::kLast4},
                {"subscriber_id", p::Mask::kPseudonym}};
  spec.pseudonym_key = "fuzz";
  spec.input_encoding = static_cast<p::InputEncoding>(mode % 3);
  spec.output_encoding = (mode & 4) ? p::Encoding::kCp932 : p::Encoding::kUtf8;
  spec.formula_guard = (mode & 16) == 0;
  std::istringstream in(text);
  std::ostringstream out;
  (void)p::Project(spec, in, "fuzz.csv", (mode & 8) ? nullptr : &out, p::RecordCallback());
  return 0;
}
