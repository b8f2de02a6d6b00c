#include "gateway/clock.h"

#include <chrono>
#include <cstdio>
#include <ctime>

namespace itaku::gateway {
namespace {

constexpr auto kJapan = std::chrono::hours(9);

std::string Format(std::chrono::sys_seconds t) {
  std::time_t tt = std::chrono::system_clock::to_time_t(t);
  std::tm tm{};
  gmtime_r(&tt, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

// Parses "YYYY-MM-DDTHH:MM:SSZ".
bool Parse(const std::string& s, std::chrono::sys_seconds* out) {
  if (s.size() != 20 || s[10] != 'T' || s[19] != 'Z') return false;
  auto date = ParseDate(std::string_view(s).substr(0, 10));
  int h = 0, m = 0, sec = 0;
  if (!date || std::sscanf(s.c_str() + 11, "%2d:%2d:%2d", &h, &m, &sec) != 3) return false;
  if (h > 23 || m > 59 || sec > 60) return false;
  *out = std::chrono::sys_days{*date} + std::chrono::hours(h) + std::chrono::minutes(m) +
         std::chrono::seconds(sec);
  return true;
}

Date JapanDay(std::chrono::sys_seconds t) {
  return Date{std::chrono::floor<std::chrono::days>(t + kJapan)};
}

}  // namespace

std::string SystemClock::NowUtc() {
  return Format(std::chrono::floor<std::chrono::seconds>(std::chrono::system_clock::now()));
}

std::chrono::system_clock::time_point SystemClock::Now() {
  return std::chrono::system_clock::now();
}

std::chrono::system_clock::time_point FixedClock::Now() {
  std::chrono::sys_seconds t{};
  Parse(now_, &t);
  return t;
}

Date SystemClock::Today() {
  return JapanDay(std::chrono::floor<std::chrono::seconds>(std::chrono::system_clock::now()));
}

Date FixedClock::Today() {
  std::chrono::sys_seconds t{};
  Parse(now_, &t);
  return JapanDay(t);
}

}  // namespace itaku::gateway
