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

#include "policies/projector.h"
#include "tests/bench/bench_options.h"

namespace {

int Usage(const std::string& why) {
  return itaku::bench::Usage("itaku-bench-projection",
                             "--input FILE --output FILE --fields a,b,c [--encoding utf-8|cp932]",
                             why);
}

}  // namespace

int main(int argc, char** argv) {
  namespace p = itaku::policies;
  std::string input, output, fields, encoding = "utf-8";
  const std::string error = itaku::bench::ReadOptions(argc, argv,
                                                      {{"--input", &input},
                                                       {"--output", &output},
                                                       {"--fields", &fields},
                                                       {"--encoding", &encoding}});
  if (!error.empty()) return Usage(error);
  if (encoding != "utf-8" && encoding != "cp932") return Usage("--encoding is utf-8 or cp932");
  if (input.empty() || output.empty() || fields.empty()) {
    return Usage("--input, --output and --fields are required");
  }
  p::ProjectionSpec spec;
  spec.output_encoding = encoding == "cp932" ? p::Encoding::kCp932 : p::Encoding::kUtf8;
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
