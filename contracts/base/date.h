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
#include <utility>

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

// Stored instants as staff see them, in Japan's time (JST, UTC+9). Only
// what is shown changes: the store and the audit trail keep UTC.
//
// For people, to the minute: "2026-12-02T16:00:00Z" -> "2026-12-03 01:00 JST".
// Anything that is not a stored instant (empty, malformed, a bare date) is
// returned unchanged, so a caller can pass an optional field as it is.
std::string ShowJst(std::string_view utc);
// For machines, ISO 8601 with the offset: "2026-12-02T16:00:00Z" ->
// "2026-12-03T01:00:00+09:00". Anything else is returned unchanged.
std::string IsoJst(std::string_view utc);
// The operator's calendar days `first` through `last` as stored instants,
// [start, end): start is 00:00 JST on `first`, end 00:00 JST on the day
// after `last` ({"2026-12-01T15:00:00Z", "2026-12-02T15:00:00Z"} for
// 2026-12-02 through 2026-12-02). Stored instants compare as strings, so a
// range query is `start <= at && at < end`.
std::pair<std::string, std::string> JapanDayBoundsUtc(const Date& first, const Date& last);

}  // namespace itaku
