// Reading back a PDF with poppler's command-line tools (pdftotext, pdfinfo,
// pdffonts), shared by the paper and document tests.
#pragma once

#include <regex>
#include <sstream>
#include <string>
#include <vector>

#include "tests/transports/test_util.h"

namespace itaku::transports::test_util {

inline std::string Quote(const std::string& s) { return "'" + s + "'"; }

// The text pdftotext reads (UTF-8), with its `options`.
inline std::string PdfText(const std::string& pdf, const std::string& options = "") {
  return Output("pdftotext -enc UTF-8 " + options + " " + Quote(pdf) + " -");
}

// The text of one page.
inline std::string PageText(const std::string& pdf, int page) {
  const std::string p = std::to_string(page);
  return PdfText(pdf, "-f " + p + " -l " + p);
}

// The page count pdfinfo reports; -1 when it reports none.
inline int PdfPages(const std::string& pdf) {
  const std::string info = Output("pdfinfo " + Quote(pdf));
  std::smatch m;
  if (!std::regex_search(info, m, std::regex("Pages:\\s+(\\d+)"))) return -1;
  return std::stoi(m[1]);
}

// The fonts pdffonts lists, and how many of them are not embedded.
struct FontReport {
  int fonts = 0;
  int not_embedded = 0;
  std::string text;  // pdffonts' listing
};
inline FontReport PdfFonts(const std::string& pdf) {
  FontReport report;
  report.text = Output("pdffonts " + Quote(pdf));
  std::istringstream lines(report.text);
  std::string line;
  int n = 0;
  while (std::getline(lines, line)) {
    if (++n <= 2 || line.empty()) continue;  // the header and the dashes
    std::istringstream words(line);
    std::vector<std::string> w;
    for (std::string word; words >> word;) w.push_back(word);
    if (w.size() < 6) continue;
    ++report.fonts;
    if (w[w.size() - 5] != "yes") ++report.not_embedded;
  }
  return report;
}

}  // namespace itaku::transports::test_util
