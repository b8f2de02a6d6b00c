#include "contracts/date.h"

#include <cstdio>

namespace itaku {

std::optional<Date> ParseDate(std::string_view text) {
  if (text.size() != 10 || text[4] != '-' || text[7] != '-') return std::nullopt;
  int parts[3] = {0, 0, 0};
  const int starts[3] = {0, 5, 8};
  const int lens[3] = {4, 2, 2};
  for (int p = 0; p < 3; ++p) {
    for (int i = 0; i < lens[p]; ++i) {
      char c = text[starts[p] + i];
      if (c < '0' || c > '9') return std::nullopt;
      parts[p] = parts[p] * 10 + (c - '0');
    }
  }
  Date d{std::chrono::year{parts[0]}, std::chrono::month{static_cast<unsigned>(parts[1])},
         std::chrono::day{static_cast<unsigned>(parts[2])}};
  if (!d.ok()) return std::nullopt;
  return d;
}

std::string FormatDate(const Date& date) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "%04d-%02u-%02u", static_cast<int>(date.year()),
                static_cast<unsigned>(date.month()), static_cast<unsigned>(date.day()));
  return buf;
}

int DaysBetween(const Date& from, const Date& to) {
  return static_cast<int>((std::chrono::sys_days{to} - std::chrono::sys_days{from}).count());
}

Date AddDays(const Date& date, int days) {
  return Date{std::chrono::sys_days{date} + std::chrono::days{days}};
}

}  // namespace itaku
