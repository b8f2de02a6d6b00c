// itaku-bench-projection: runs policies::Project over a file, for
// ops/bench/projection.
//
//   itaku-bench-projection --input FILE --output FILE --fields a,b,c
//                          [--encoding utf-8|cp932]
//
// Prints the number of records projected; on error prints the error and
// exits 1.
#include <fstream>
#include <iostream>
#include <string>
#include <string_view>

#include "policies/projector.h"

namespace {

int Usage(const std::string& why) {
  std::cerr << "itaku-bench-projection: " << why << "\n"
            << "usage: itaku-bench-projection --input FILE --output FILE --fields a,b,c "
               "[--encoding utf-8|cp932]\n";
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  namespace p = itaku::policies;
  std::string input, output, fields;
  p::ProjectionSpec spec;
  for (int i = 1; i < argc; ++i) {
    std::string_view a = argv[i];
    if (i + 1 >= argc) return Usage("missing value for " + std::string(a));
    std::string v = argv[++i];
    if (a == "--input") {
      input = v;
    } else if (a == "--output") {
      output = v;
    } else if (a == "--fields") {
      fields = v;
    } else if (a == "--encoding") {
      if (v != "utf-8" && v != "cp932") return Usage("--encoding is utf-8 or cp932");
      spec.output_encoding = v == "cp932" ? p::Encoding::kCp932 : p::Encoding::kUtf8;
    } else {
      return Usage("unknown option " + std::string(a));
    }
  }
  if (input.empty() || output.empty() || fields.empty()) {
    return Usage("--input, --output and --fields are required");
  }
  for (size_t start = 0; start <= fields.size();) {
    size_t comma = fields.find(',', start);
    if (comma == std::string::npos) comma = fields.size();
    if (comma > start) spec.fields.push_back(fields.substr(start, comma - start));
    start = comma + 1;
  }

  std::ifstream in(input, std::ios::binary);
  if (!in) return Usage("cannot open " + input);
  std::ofstream out(output, std::ios::binary | std::ios::trunc);
  if (!out) return Usage("cannot open " + output);
  auto result = p::Project(spec, in, input, &out, p::RecordCallback());
  if (!result.ok()) {
    std::cerr << result.message() << "\n";
    return 1;
  }
  std::cout << result->records << "\n";
  return 0;
}
