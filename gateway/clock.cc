#include "gateway/clock.h"

#include <chrono>

namespace itaku::gateway {

std::string SystemClock::NowUtc() { return FormatUtc(std::chrono::system_clock::now()); }

std::chrono::system_clock::time_point SystemClock::Now() {
  return std::chrono::system_clock::now();
}

Date SystemClock::Today() { return JapanDay(std::chrono::system_clock::now()); }

std::chrono::system_clock::time_point FixedClock::Now() {
  return ParseUtc(now_).value_or(Instant{});
}

Date FixedClock::Today() { return JapanDay(Now()); }

}  // namespace itaku::gateway
