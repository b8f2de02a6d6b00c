#include "policies/masks.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "contracts/base/hex.h"

namespace itaku::policies {
namespace {

bool IsDigit(char c) { return c >= '0' && c <= '9'; }

}  // namespace

Status AppendMasked(Mask mask, std::string_view value, std::string_view pseudonym_key,
                    std::string* out) {
  if (value.empty()) return Status::Ok();
  switch (mask) {
    case Mask::kNone:
      out->append(value);
      return Status::Ok();
    case Mask::kRedact:
      return Status::Ok();
    case Mask::kLast4: {
      size_t code_points = 0;
      for (char c : value) code_points += (static_cast<unsigned char>(c) & 0xC0) != 0x80;
      if (code_points < kLast4MinLength) {
        // Four of seven would show more than half: a short value shows none.
        out->append(code_points, '*');
        return Status::Ok();
      }
      // Keep the bytes of the last four code points.
      size_t keep_from = value.size();
      for (int seen = 0; seen < 4;) {
        --keep_from;
        if ((static_cast<unsigned char>(value[keep_from]) & 0xC0) != 0x80) ++seen;
      }
      out->append(code_points - 4, '*');
      out->append(value.substr(keep_from));
      return Status::Ok();
    }
    case Mask::kYear:
      if (value.size() < 4 || !IsDigit(value[0]) || !IsDigit(value[1]) || !IsDigit(value[2]) ||
          !IsDigit(value[3])) {
        return Status::Error("not a date starting with a 4-digit year (mask year)");
      }
      out->append(value.substr(0, 4));
      return Status::Ok();
    case Mask::kPrefix3:
      if (value.size() < 3 || !IsDigit(value[0]) || !IsDigit(value[1]) || !IsDigit(value[2])) {
        return Status::Error("not a postal code starting with 3 digits (mask prefix3)");
      }
      out->append(value.substr(0, 3));
      return Status::Ok();
    case Mask::kPseudonym: {
      unsigned char mac[EVP_MAX_MD_SIZE];
      unsigned int mac_len = 0;
      if (HMAC(EVP_sha256(), pseudonym_key.data(), static_cast<int>(pseudonym_key.size()),
               reinterpret_cast<const unsigned char*>(value.data()), value.size(), mac,
               &mac_len) == nullptr) {
        return Status::Error("HMAC-SHA256 failed (mask pseudonym)");
      }
      AppendHex(out, mac, mac_len);
      return Status::Ok();
    }
  }
  return Status::Error("unknown mask");
}

Result<std::string> ApplyMask(Mask mask, std::string_view value, std::string_view pseudonym_key) {
  std::string out;
  Status s = AppendMasked(mask, value, pseudonym_key, &out);
  if (!s.ok()) return s;
  return out;
}

}  // namespace itaku::policies
