#include "gateway/letters.h"

#include <filesystem>

#include "transports/paper_pdf.h"

namespace itaku::gateway {
namespace {

namespace fs = std::filesystem;

// Exports and staff write postal codes in many ways (６７０－００１１,
// 〒670-0011, 670 0011, 670ｰ0011); the envelope's window takes them as
// ASCII digits with one hyphen.
std::string AsciiPostalCode(const std::string& code) {
  std::string out;
  for (size_t i = 0; i < code.size();) {
    const auto c = static_cast<unsigned char>(code[i]);
    // 〒 (U+3012, E3 80 92), spaces (ASCII, U+3000 E3 80 80): left out.
    if (code[i] == ' ') {
      ++i;
      continue;
    }
    if (code.compare(i, 3, "\xE3\x80\x92") == 0 || code.compare(i, 3, "\xE3\x80\x80") == 0) {
      i += 3;
      continue;
    }
    // Half-width ｰ (U+FF70, EF BD B0): a hyphen.
    if (code.compare(i, 3, "\xEF\xBD\xB0") == 0) {
      out += '-';
      i += 3;
      continue;
    }
    // U+FF10..U+FF19 (０..９) are EF BC 90..99; U+FF0D (－) is EF BC 8D;
    // U+2212 (−) is E2 88 92; U+30FC (ー) is E3 83 BC.
    if (c == 0xEF && i + 2 < code.size() && static_cast<unsigned char>(code[i + 1]) == 0xBC) {
      const auto d = static_cast<unsigned char>(code[i + 2]);
      if (d >= 0x90 && d <= 0x99) {
        out += static_cast<char>('0' + (d - 0x90));
        i += 3;
        continue;
      }
      if (d == 0x8D) {
        out += '-';
        i += 3;
        continue;
      }
    }
    if (code.compare(i, 3, "\xE2\x88\x92") == 0 || code.compare(i, 3, "\xE3\x83\xBC") == 0) {
      out += '-';
      i += 3;
      continue;
    }
    out += code[i++];
  }
  return out;
}

}  // namespace

Status WriteLetter(const std::string& path, const Addressee& to, const OperatorIdentity& op,
                   const Date& day, const std::string& reference, const NoticeTemplate& notice) {
  transports::Letter letter;
  letter.recipient.postal_code = AsciiPostalCode(to.postal_code);
  if (!to.address.empty()) letter.recipient.address_lines.push_back(to.address);
  const std::string& h = to.honorific;
  const bool has_honorific = !h.empty() && to.name.size() >= h.size() &&
                             to.name.compare(to.name.size() - h.size(), h.size(), h) == 0;
  letter.recipient.name = has_honorific || h.empty() ? to.name : to.name + " " + h;
  letter.sender_lines = SenderLines(op);
  letter.date = JapaneseDate(day, op.wareki);
  letter.reference = reference;
  letter.subject = notice.subject;
  letter.body = notice.body;
  // A notice retried replaces its earlier letter, which stays until the new
  // one is complete: written beside it, then renamed over it.
  const std::string next =
      (fs::path(path).parent_path() / ("." + fs::path(path).filename().string() + ".next"))
          .string();
  std::error_code ec;
  fs::remove(next, ec);  // left by a run that stopped before its rename
  auto written = transports::WriteLetterPdf(letter, next);
  if (!written.ok()) {
    return written.status().WithMessage("letter " + path + ": " + written.message());
  }
  fs::rename(next, path, ec);
  if (ec) {
    fs::remove(next, ec);
    return Status::Io("letter " + path + ": cannot put it in place");
  }
  return Status::Ok();
}

}  // namespace itaku::gateway
