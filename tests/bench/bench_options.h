// The benchmark tools' command lines: "--name value" pairs only.
#pragma once

#include <iostream>
#include <map>
#include <string>
#include <string_view>

namespace itaku::bench {

// Says why the command line is refused, and how to use `tool`; exit status 2.
inline int Usage(std::string_view tool, std::string_view usage, const std::string& why) {
  std::cerr << tool << ": " << why << "\nusage: " << tool << " " << usage << "\n";
  return 2;
}

// Reads argv's "--name value" pairs into the strings `options` maps the
// names to. The first problem ("missing value for --x", "unknown option
// --y"), or empty.
inline std::string ReadOptions(int argc, char** argv,
                               const std::map<std::string_view, std::string*>& options) {
  for (int i = 1; i < argc; ++i) {
    const std::string_view name = argv[i];
    if (i + 1 >= argc) return "missing value for " + std::string(name);
    const auto it = options.find(name);
    if (it == options.end()) return "unknown option " + std::string(name);
    *it->second = argv[++i];
  }
  return "";
}

}  // namespace itaku::bench
