#include "contracts/base/date.h"

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

std::string FormatUtc(std::chrono::system_clock::time_point t) {
  const auto secs = std::chrono::floor<std::chrono::seconds>(t);
  const auto day = std::chrono::floor<std::chrono::days>(secs);
  const std::chrono::hh_mm_ss<std::chrono::seconds> hms(secs - day);
  char buf[16];
  std::snprintf(buf, sizeof buf, "T%02d:%02d:%02dZ", static_cast<int>(hms.hours().count()),
                static_cast<int>(hms.minutes().count()), static_cast<int>(hms.seconds().count()));
  return FormatDate(Date(day)) + buf;
}

std::optional<Instant> ParseUtc(std::string_view s) {
  if (s.size() != 20 || s[10] != 'T' || s[13] != ':' || s[16] != ':' || s[19] != 'Z') {
    return std::nullopt;
  }
  std::optional<Date> date = ParseDate(s.substr(0, 10));
  int v[3] = {0, 0, 0};
  for (int i = 0; i < 3; ++i) {
    const char a = s[11 + 3 * i], b = s[12 + 3 * i];
    if (a < '0' || a > '9' || b < '0' || b > '9') return std::nullopt;
    v[i] = (a - '0') * 10 + (b - '0');
  }
  if (!date || v[0] > 23 || v[1] > 59 || v[2] > 59) return std::nullopt;
  return std::chrono::sys_days{*date} + std::chrono::hours(v[0]) + std::chrono::minutes(v[1]) +
         std::chrono::seconds(v[2]);
}

Date JapanDay(std::chrono::system_clock::time_point t) {
  return Date{std::chrono::floor<std::chrono::days>(t + std::chrono::hours(9))};
}

namespace {

constexpr std::chrono::hours kJapanOffset{9};

// "YYYY-MM-DDTHH:MM:SS" in whole seconds throughout: system_clock's
// nanoseconds (FormatUtc) end in 2262, the days staff may type in 9999.
std::string FormatSeconds(Instant t) {
  const auto day = std::chrono::floor<std::chrono::days>(t);
  const std::chrono::hh_mm_ss<std::chrono::seconds> hms(t - day);
  char buf[16];
  std::snprintf(buf, sizeof buf, "T%02d:%02d:%02d", static_cast<int>(hms.hours().count()),
                static_cast<int>(hms.minutes().count()), static_cast<int>(hms.seconds().count()));
  return FormatDate(Date{day}) + buf;
}

// The wall clock in Japan at a stored instant, "2026-12-03T01:00:00";
// nullopt when `utc` is not a stored instant or Japan is already in 10000.
std::optional<std::string> JapanWallClock(std::string_view utc) {
  std::optional<Instant> t = ParseUtc(utc);
  if (!t) return std::nullopt;
  const Instant local = *t + kJapanOffset;
  const Date day{std::chrono::floor<std::chrono::days>(local)};
  if (static_cast<int>(day.year()) > 9999) return std::nullopt;
  return FormatSeconds(local);
}

}  // namespace

std::string ShowJst(std::string_view utc) {
  std::optional<std::string> local = JapanWallClock(utc);
  if (!local) return std::string(utc);
  return local->substr(0, 10) + " " + local->substr(11, 5) + " JST";
}

std::string IsoJst(std::string_view utc) {
  std::optional<std::string> local = JapanWallClock(utc);
  if (!local) return std::string(utc);
  return *local + "+09:00";
}

std::pair<std::string, std::string> JapanDayBoundsUtc(const Date& first, const Date& last) {
  const auto midnight = [](const Date& day) {
    return FormatSeconds(std::chrono::sys_days{day} - kJapanOffset) + "Z";
  };
  return {midnight(first), midnight(AddDays(last, 1))};
}

std::optional<Date> JapanDayOf(std::string_view utc) {
  if (utc.size() == 10) {
    std::optional<Date> day = ParseDate(utc);
    if (!day) return std::nullopt;
    return JapanDay(std::chrono::sys_days{*day});
  }
  std::optional<Instant> t = ParseUtc(utc);
  if (!t) return std::nullopt;
  return JapanDay(*t);
}

}  // namespace itaku
