// What the supervision commands share with the register, the slip and the
// console: a delivery's disposal task.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "contracts/base/date.h"
#include "contracts/types.h"
#include "gateway/context.h"

namespace itaku::gateway {

// A delivery whose data must come back or be destroyed by its delete-by
// day (the JST day it was made plus its profile's retention_days).
struct DisposalTask {
  contracts::DeliveryRecord delivery;
  Date delete_by;
  std::optional<contracts::Disposal> disposal;  // recorded: the task is closed
  bool closed_by_media = false;  // media/paper returned or destroyed with a certificate
  bool due = false;              // open, and the delete-by day has come
  bool overdue = false;          // open, and the delete-by day has passed
};

// Every delivery that reached a contractor (or one contractor's): by
// default only open tasks that are due; with `include_closed`, every
// delivery with its task's state (cancelled media and paper are left out:
// nothing of them left).
Result<std::vector<DisposalTask>> DisposalTasks(Context& ctx,
                                                const std::optional<std::string>& contractor,
                                                bool include_closed);

}  // namespace itaku::gateway
