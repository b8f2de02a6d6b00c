// Dates and instants as the registry stores them. A Date is a calendar day
// ("YYYY-MM-DD") with no time zone; an instant is UTC, written
// "YYYY-MM-DDTHH:MM:SSZ". The operator's calendar is Japan's (UTC+9, no
// daylight saving): JapanDay() turns an instant into the day the operator
// calls it. No clock here: callers hand in "now" and "today".
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

namespace itaku {

using Date = std::chrono::year_month_day;

// Parses "YYYY-MM-DD"; nullopt when malformed or not a real day.
std::optional<Date> ParseDate(std::string_view text);
std::string FormatDate(const Date& date);
// Whole days from `from` to `to` (negative when `to` is earlier).
int DaysBetween(const Date& from, const Date& to);
Date AddDays(const Date& date, int days);

using Instant = std::chrono::sys_seconds;

// "YYYY-MM-DDTHH:MM:SSZ" (UTC), whole seconds.
std::string FormatUtc(std::chrono::system_clock::time_point t);
// Parses "YYYY-MM-DDTHH:MM:SSZ"; nullopt when malformed.
std::optional<Instant> ParseUtc(std::string_view text);
// The operator's calendar day (Japan, UTC+9) at `t`.
Date JapanDay(std::chrono::system_clock::time_point t);
// The same for a stored UTC instant ("YYYY-MM-DDTHH:MM:SSZ"); a bare
// "YYYY-MM-DD" counts as its midnight UTC. nullopt when malformed.
std::optional<Date> JapanDayOf(std::string_view utc);

}  // namespace itaku
