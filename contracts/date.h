// Calendar dates as the registry stores them ("YYYY-MM-DD"). A date is a
// value: no time zone, no clock. Callers hand in "today".
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

}  // namespace itaku
