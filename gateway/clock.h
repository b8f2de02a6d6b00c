// Time comes in through this interface so unit tests can fix it (LevelDB's
// Env). The binary always runs on SystemClock: nothing a caller types sets
// the time; end-to-end tests move the process's clock (libfaketime) instead.
#pragma once

#include <memory>
#include <string>

#include "contracts/base/date.h"

namespace itaku::gateway {

class Clock {
 public:
  virtual ~Clock() = default;
  // UTC, "YYYY-MM-DDTHH:MM:SSZ".
  virtual std::string NowUtc() = 0;
  virtual std::chrono::system_clock::time_point Now() = 0;
  // The operator's calendar day (Japan, UTC+9): NDAs and profiles are
  // dated in the operator's local calendar.
  virtual Date Today() = 0;
};

class SystemClock : public Clock {
 public:
  std::string NowUtc() override;
  std::chrono::system_clock::time_point Now() override;
  Date Today() override;
};

// A clock stopped at one instant ("YYYY-MM-DDTHH:MM:SSZ"), for unit tests.
class FixedClock : public Clock {
 public:
  explicit FixedClock(std::string now_utc) : now_(std::move(now_utc)) {}
  std::string NowUtc() override { return now_; }
  std::chrono::system_clock::time_point Now() override;
  Date Today() override;

 private:
  const std::string now_;
};

}  // namespace itaku::gateway
