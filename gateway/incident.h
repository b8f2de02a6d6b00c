// Answering a leak (policy 7; APPI art. 26): an incident's scope fixed from
// the record, drafts of the reports to the Personal Information Protection
// Commission (速報 and 確報), the publication decision, and notices to the
// persons affected.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "contracts/base/date.h"
#include "contracts/types.h"
#include "gateway/context.h"

namespace itaku::gateway {

// `itaku incident open --contractor ID --since D --until D --discovered D
// --summary TEXT [--malicious]`.
struct IncidentOpenArgs {
  std::string contractor, since, until, discovered, summary;
  bool malicious = false;
};
Result<Output> IncidentOpen(Context& ctx, const IncidentOpenArgs& args);
// Every incident with its report deadlines and notice progress.
Result<Output> IncidentList(Context& ctx);
Result<Output> IncidentShow(Context& ctx, int64_t id);

// `itaku incident update ID [--cause T] [--harm T] [--response T]
// [--measures T] [--other T]`: what the final report needs, as it becomes
// known.
struct IncidentUpdateArgs {
  int64_t id = 0;
  std::optional<std::string> cause, harm, response, measures, other;
};
Result<Output> IncidentUpdate(Context& ctx, const IncidentUpdateArgs& args);

// `itaku incident publication ID --publish --text T` or `--withhold
// --reason 5(1)[n] [--note T]`: 7(1)[2], or why not under 7(2).
struct IncidentPublicationArgs {
  int64_t id = 0;
  bool publish = false, withhold = false;
  std::string text, reason, note;
};
Result<Output> IncidentPublication(Context& ctx, const IncidentPublicationArgs& args);

// `itaku incident reported ID --report preliminary|final`: the report went
// to the Commission today (it leaves the deadline list).
Result<Output> IncidentReported(Context& ctx, int64_t id, const std::string& report);

// `itaku incident draft ID --report preliminary|final|publication --format
// json|pdf --out FILE`: the draft, with the items the Commission's form
// asks for.
Result<Output> IncidentDraft(Context& ctx, int64_t id, const std::string& report,
                             const std::string& format, const std::string& out);

// The report deadlines: 速報 within 5 days of discovery (the Commission's
// guideline says about 3 to 5 days), 確報 within 30 days (60 when
// malicious).
struct IncidentDeadlines {
  Date preliminary;
  Date final_report;
};
IncidentDeadlines DeadlinesOf(const contracts::Incident& incident);

// `itaku incident notify ID --contacts EXPORT [--limit N]`: notices under
// 7(1)[1] to the persons affected (gateway/incident_notices.cc).
struct IncidentNotifyArgs {
  int64_t id = 0;
  std::string contacts;  // the daemon's own copy of the operator's export
  int limit = 0;         // at most this many notices in this run (0: all)
  bool resend_uncertain = false;
};
Result<Output> IncidentNotify(Context& ctx, const IncidentNotifyArgs& args);

}  // namespace itaku::gateway
