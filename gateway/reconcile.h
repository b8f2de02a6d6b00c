// What a daemon that stopped mid-delivery left behind, settled when the
// next one starts, before it takes a request. A delivery is on record
// ("writing") before its package can have its final name anywhere, so the
// store always knows every package that may exist:
//   - "writing": the package never left the gateway (a media package waits
//     in the connection's spool, which the new daemon empties; a portal
//     package is not published until its record is complete; a paper PDF
//     is not printable until then either). Its file,
//     if any, is removed and the delivery recorded "failed", with why.
//   - "sending" (SFTP): the contractor's server is asked. The complete
//     package under its final name with the recorded hash: "delivered".
//     Nothing there: "failed". A partial upload, a different file, or a
//     server that cannot be reached: it stays "sending" (counted as
//     received) and the line says why.
// Leftovers are removed: the outbox, temporary ".NAME.partial-*" files in
// the portal and paper folders, and paper PDFs whose sheets were handed
// over or cancelled (a removal that failed, or a daemon that stopped first). Every settlement is an audit event
// "delivery.reconciled" naming what it corrects.
#pragma once

#include <string>
#include <vector>

#include "contracts/base/status.h"
#include "gateway/context.h"

namespace itaku::gateway {

// One line per delivery looked at, for the daemon's log (ids and outcomes,
// never personal data).
Result<std::vector<std::string>> Reconcile(Context& ctx);

}  // namespace itaku::gateway
