// Letters for the post (policy 6(3)-(4) notices): a notice rendered from its
// template, laid out as a PDF for a 長形3号 window envelope
// (transports/paper_pdf.h), signed with the operator's own details.
#pragma once

#include <string>

#include "contracts/base/date.h"
#include "contracts/base/status.h"
#include "gateway/notices.h"
#include "gateway/operator_identity.h"

namespace itaku::gateway {

// Who a letter is to: the block that shows through the envelope's window.
struct Addressee {
  std::string postal_code;  // a 7-digit code is printed 〒123-4567; empty: left out
  std::string address;
  std::string name;
  std::string honorific;  // "様" (added unless the name ends with it) or "御中"
};

// Writes a printable letter for the post as a PDF laid out for a 長形3号
// window envelope (transports/paper_pdf.h): the addressee in the window,
// the date (JST, 和暦 when the operator chose it) and the operator's sender
// block, a reference ("受付番号 17"), the subject and the body. Written
// under a temporary name and renamed, so `path` is complete or absent; a
// letter written again (a notice retried) replaces the earlier one.
Status WriteLetter(const std::string& path, const Addressee& to, const OperatorIdentity& op,
                   const Date& day, const std::string& reference, const NoticeTemplate& notice);

}  // namespace itaku::gateway
