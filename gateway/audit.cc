#include "gateway/audit.h"

#include <cstdio>
#include <cstdlib>
#include <map>
#include <optional>
#include <set>

#include "contracts/base/date.h"
#include "contracts/base/files.h"

namespace itaku::gateway {

const char kAuditGenesis[] = "0000000000000000000000000000000000000000000000000000000000000000";

namespace {

constexpr char kHeadKey[] = "audit_head";  // "<seq> <hash> <tag>" of the newest event
constexpr char kKeyedFromKey[] = "audit_keyed_from";  // "<seq> <legacy delivery max> <tag>"
constexpr char kAnomalyKey[] = "clock_anomaly_at";  // the time the last clock.anomaly held to
constexpr size_t kMaxProblems = 20;

// Seconds `now` is behind `last` (both "YYYY-MM-DDTHH:MM:SSZ"); 0 when not.
int64_t SecondsBehind(const std::string& now, const std::string& last) {
  auto n = ParseUtc(now);
  auto l = ParseUtc(last);
  if (!n || !l || *n >= *l) return 0;
  return (*l - *n).count();
}

std::vector<std::string> Words(const std::string& text) {
  std::vector<std::string> out;
  size_t at = 0;
  while (at < text.size()) {
    size_t end = text.find(' ', at);
    if (end == std::string::npos) end = text.size();
    if (end > at) out.push_back(text.substr(at, end - at));
    at = end + 1;
  }
  return out;
}

std::string HeadTagInput(int64_t seq, const std::string& hash) {
  return "head " + std::to_string(seq) + " " + hash;
}
std::string KeyedFromTagInput(int64_t seq, int64_t legacy_deliveries) {
  return "keyed-from " + std::to_string(seq) + " " + std::to_string(legacy_deliveries);
}

// The delivery a subject is about: "delivery:N" itself, "portal:ID" through
// its package.
Result<std::optional<int64_t>> DeliveryOf(contracts::Store& store, const std::string& subject) {
  if (subject.rfind("delivery:", 0) == 0) {
    try {
      return std::optional<int64_t>(std::stoll(subject.substr(9)));
    } catch (...) {
      return std::optional<int64_t>();
    }
  }
  if (subject.rfind("portal:", 0) == 0) {
    auto pkg = store.FindPortalPackage(subject.substr(7));
    if (!pkg.ok()) return pkg.status();
    if (!pkg.value()) return std::optional<int64_t>();
    return std::optional<int64_t>(pkg.value()->delivery_id);
  }
  return std::optional<int64_t>();
}

// Column positions in the delivery row ForEachRecordRow("delivery") spells.
constexpr size_t kRowOutcome = 8;
constexpr size_t kRowReceiptsCount = 18;
constexpr size_t kRowReceiptsSha = 19;

bool InFlight(const std::string& outcome) { return outcome == "writing" || outcome == "sending"; }

}  // namespace

std::string AuditHashInput(const contracts::AuditEvent& e) {
  return nlohmann::json::array({e.seq, e.at, e.actor, e.action, e.subject, e.details, e.prev_hash})
      .dump();
}

std::string AuditHash(const contracts::AuditEvent& e) { return Sha256Hex(AuditHashInput(e)); }

std::string WithAuditFailure(const std::string& refusal, const Status& audited) {
  if (audited.ok()) return refusal;
  return refusal +
         " (and this refusal could not be written to the audit trail: " + audited.message() + ")";
}

// ---- Receipts digest --------------------------------------------------------

ReceiptsDigest::ReceiptsDigest() : ctx_(EVP_MD_CTX_new()) {
  EVP_DigestInit_ex(ctx_, EVP_sha256(), nullptr);
}
ReceiptsDigest::~ReceiptsDigest() {
  if (ctx_ != nullptr) EVP_MD_CTX_free(ctx_);
}
ReceiptsDigest::ReceiptsDigest(ReceiptsDigest&& other) noexcept
    : ctx_(other.ctx_), count_(other.count_) {
  other.ctx_ = nullptr;
}
ReceiptsDigest& ReceiptsDigest::operator=(ReceiptsDigest&& other) noexcept {
  std::swap(ctx_, other.ctx_);
  std::swap(count_, other.count_);
  return *this;
}

void ReceiptsDigest::Add(std::string_view subscriber_id, int64_t carried) {
  char tail[32];
  const int n = std::snprintf(tail, sizeof tail, "\t%lld\n", static_cast<long long>(carried));
  EVP_DigestUpdate(ctx_, subscriber_id.data(), subscriber_id.size());
  EVP_DigestUpdate(ctx_, tail, static_cast<size_t>(n));
  ++count_;
}

std::string ReceiptsDigest::Finish() {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int size = 0;
  EVP_DigestFinal_ex(ctx_, digest, &size);
  static const char kDigits[] = "0123456789abcdef";
  std::string out;
  for (unsigned int i = 0; i < size; ++i) {
    out += kDigits[digest[i] >> 4];
    out += kDigits[digest[i] & 15];
  }
  return out;
}

Result<std::pair<int64_t, std::string>> StoredReceiptsDigest(contracts::Store& store,
                                                             int64_t delivery_id) {
  ReceiptsDigest digest;
  Status s = store.ForEachReceiptRow(
      delivery_id,
      [&](int64_t, std::string_view id, int64_t carried) { digest.Add(id, carried); });
  if (!s.ok()) return s;
  if (digest.count() == 0) return std::pair<int64_t, std::string>(0, "");
  const int64_t count = digest.count();
  return std::pair<int64_t, std::string>(count, digest.Finish());
}

// ---- Checkpoints ------------------------------------------------------------

std::string CheckpointMessage(const contracts::AuditCheckpoint& c) {
  return "itaku audit checkpoint v1\n" + std::to_string(c.seq) + "\n" + c.head + "\n" + c.at + "\n";
}

std::string CheckpointCode(int64_t seq, const std::string& head) {
  static const char kCrockford[] = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";
  // 20 hex digits = 80 bits = 16 base32 digits.
  std::string bits;
  for (size_t i = 0; i < 20 && i < head.size(); ++i) {
    const char c = head[i];
    const int v = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : 0;
    for (int b = 3; b >= 0; --b) bits += ((v >> b) & 1) ? '1' : '0';
  }
  std::string code = std::to_string(seq);
  for (size_t i = 0; i + 5 <= bits.size(); i += 5) {
    if (i % 20 == 0) code += '-';
    code += kCrockford[std::stoi(bits.substr(i, 5), nullptr, 2)];
  }
  return code;
}

nlohmann::json SignedCheckpoint::ToJson() const {
  return {{"itaku_audit_checkpoint", 1},
          {"seq", checkpoint.seq},
          {"head", checkpoint.head},
          {"at", checkpoint.at},
          {"key_id", checkpoint.key_id},
          {"public_key", public_key},
          {"signature", checkpoint.signature},
          {"code", code}};
}

nlohmann::json AuditVerification::ToJson() const {
  return {{"intact", intact},
          {"events", events},
          {"problems", problems},
          {"checked", checked},
          {"not_ruled_out", not_ruled_out}};
}

// ---- The chain ------------------------------------------------------------

std::string AuditTrail::Hash(const contracts::AuditEvent& e) const {
  return keys_.Mac(AuditHashInput(e));
}

Result<nlohmann::json> AuditTrail::Commitments(const std::string& subject) {
  auto delivery = DeliveryOf(store_, subject);
  if (!delivery.ok()) return delivery.status();
  if (!delivery.value()) return nlohmann::json();
  const int64_t id = *delivery.value();
  nlohmann::json rows = nlohmann::json::object();
  std::string outcome;
  for (const char* table : {"delivery", "media", "portal"}) {
    Status s = store_.ForEachRecordRow(
        table, id, [&](int64_t, const std::string& key, const std::string& row) {
          rows[std::string(table) + ":" + key] = Sha256Hex(row);
          if (std::string(table) == "delivery") {
            auto parsed = nlohmann::json::parse(row, nullptr, false);
            if (parsed.is_array() && parsed.size() > kRowOutcome && parsed[kRowOutcome].is_string()) {
              outcome = parsed[kRowOutcome].get<std::string>();
            }
          }
        });
    if (!s.ok()) return s;
  }
  if (rows.empty()) return nlohmann::json();
  return nlohmann::json{{"delivery", id}, {"outcome", outcome}, {"rows", rows}};
}

Status AuditTrail::Append(const std::string& actor, const std::string& action,
                          const std::string& subject, const nlohmann::json& details) {
  return store_.Transaction([&]() -> Status {
    auto last = store_.LastAuditEvent();
    if (!last.ok()) return last.status();
    std::optional<contracts::AuditEvent> prev = last.value();
    // A chain begun before schema 7 is unkeyed up to here: the point where
    // keying began is kept beside it, keyed itself.
    auto keyed_from = store_.GetMeta(kKeyedFromKey);
    if (!keyed_from.ok()) return keyed_from.status();
    if (!keyed_from.value() && prev && AuditHash(*prev) == prev->hash) {
      int64_t legacy = 0;
      Status s = store_.ForEachRecordRow(
          "delivery", std::nullopt,
          [&](int64_t id, const std::string&, const std::string&) { legacy = std::max(legacy, id); });
      if (!s.ok()) return s;
      const int64_t from = prev->seq + 1;
      if (Status m = store_.SetMeta(kKeyedFromKey,
                                    std::to_string(from) + " " + std::to_string(legacy) + " " +
                                        keys_.Mac(KeyedFromTagInput(from, legacy)));
          !m.ok()) {
        return m;
      }
    }
    const std::string now = clock_.NowUtc();
    auto append = [&](const std::string& who, const std::string& what, const std::string& about,
                      const std::string& text) -> Status {
      contracts::AuditEvent e;
      e.seq = prev ? prev->seq + 1 : 1;
      e.prev_hash = prev ? prev->hash : kAuditGenesis;
      e.at = prev && now < prev->at ? prev->at : now;
      e.actor = who;
      e.action = what;
      e.subject = about;
      e.details = text;
      e.hash = Hash(e);
      if (Status s = store_.AppendAuditEvent(e); !s.ok()) return s;
      prev = e;
      return Status::Ok();
    };
    // The head must name the newest event. When it does not (events deleted
    // behind the daemon's back, the head reset), appending would hide it:
    // the finding goes into the chain first, where verify reports it.
    auto head = store_.GetMeta(kHeadKey);
    if (!head.ok()) return head.status();
    if (head.value() || prev) {
      const auto w = Words(head.value().value_or(""));
      std::string why;
      if (!head.value()) {
        why = "the chain head is missing";
      } else if (w.size() == 3 && keys_.Mac(HeadTagInput(std::atoll(w[0].c_str()), w[1])) != w[2]) {
        why = "the chain head was changed without the audit key";
      } else if (w.size() < 2 || !prev || std::atoll(w[0].c_str()) != prev->seq ||
                 w[1] != prev->hash) {
        why = "the chain head names event " + (w.empty() ? std::string("?") : w[0]) +
              ", but the newest event is " + std::to_string(prev ? prev->seq : 0) +
              " (events deleted or added outside Itaku)";
      }
      if (!why.empty()) {
        const nlohmann::json found = {{"found", why}};
        if (Status s = append("itaku", "audit.head-mismatch", "audit", found.dump()); !s.ok()) {
          return s;
        }
      }
    }
    const int64_t behind = prev ? SecondsBehind(now, prev->at) : 0;
    if (behind > kClockSlackSeconds) {
      // Once per episode: while the clock is behind, every event carries the
      // same time, the one the anomaly names.
      auto noted = store_.GetMeta(kAnomalyKey);
      if (!noted.ok()) return noted.status();
      if (noted.value().value_or("") != prev->at) {
        const nlohmann::json anomaly = {
            {"machine_time", now}, {"newest_event_at", prev->at}, {"behind_seconds", behind}};
        if (Status s = append("itaku", "clock.anomaly", "clock", anomaly.dump()); !s.ok()) {
          return s;
        }
        if (Status s = store_.SetMeta(kAnomalyKey, prev->at); !s.ok()) return s;
      }
    }
    nlohmann::json text = details.is_null() ? nlohmann::json::object() : details;
    auto commits = Commitments(subject);
    if (!commits.ok()) return commits.status();
    if (!commits->is_null() && text.is_object()) text["commits"] = commits.value();
    if (Status s = append(actor, action, subject, text.dump()); !s.ok()) return s;
    return store_.SetMeta(kHeadKey, std::to_string(prev->seq) + " " + prev->hash + " " +
                                        keys_.Mac(HeadTagInput(prev->seq, prev->hash)));
  });
}

Result<std::string> AuditTrail::ClockBehind() {
  auto last = store_.LastAuditEvent();
  if (!last.ok()) return last.status();
  if (!last.value()) return std::string();
  const std::string now = clock_.NowUtc();
  const int64_t behind = SecondsBehind(now, last.value()->at);
  if (behind <= kClockSlackSeconds) return std::string();
  return "the machine's clock (" + IsoJst(now) + ") is " + std::to_string(behind) +
         " s behind the newest audit event (" + IsoJst(last.value()->at) +
         "); deliveries wait until the clock is right again (clock.anomaly recorded)";
}

Result<SignedCheckpoint> AuditTrail::Checkpoint(const std::string& actor) {
  SignedCheckpoint out;
  Status s = store_.Transaction([&]() -> Status {
    auto last = store_.LastAuditEvent();
    if (!last.ok()) return last.status();
    if (!last.value()) return Status::Error("the audit trail is empty: nothing to sign");
    contracts::AuditCheckpoint& c = out.checkpoint;
    c.seq = last.value()->seq;
    c.head = last.value()->hash;
    c.at = std::max(clock_.NowUtc(), last.value()->at);
    c.key_id = keys_.key_id();
    c.signature = keys_.Sign(CheckpointMessage(c));
    if (c.signature.empty()) return Status::Error("cannot sign the audit checkpoint");
    out.public_key = keys_.public_key();
    out.code = CheckpointCode(c.seq, c.head);
    if (Status a = store_.AddAuditCheckpoint(c); !a.ok()) return a;
    return Append(actor, "audit.checkpoint", "audit",
                  {{"seq", c.seq},
                   {"head", c.head},
                   {"key_id", c.key_id},
                   {"signature", c.signature},
                   {"code", out.code}});
  });
  if (!s.ok()) return s;
  return out;
}

Result<std::optional<SignedCheckpoint>> AuditTrail::LatestCheckpoint() {
  auto all = store_.ListAuditCheckpoints();
  if (!all.ok()) return all.status();
  if (all->empty()) return std::optional<SignedCheckpoint>();
  SignedCheckpoint c;
  c.checkpoint = all->back();
  c.public_key = keys_.public_key();
  c.code = CheckpointCode(c.checkpoint.seq, c.checkpoint.head);
  return std::optional<SignedCheckpoint>(std::move(c));
}

namespace {

// One checkpoint to compare with the chain, whatever it came from.
struct Anchor {
  std::string source;
  int64_t seq = 0;
  std::string head;  // full hash, or empty when only a code is known
  std::string code;
  std::string at;
  bool external = false;  // brought from outside the machine
};

struct Commitment {
  std::string sha;
  std::string outcome;
  int64_t seq = 0;
  int64_t delivery = 0;
};

}  // namespace

Result<AuditVerification> AuditTrail::Verify(const std::vector<CheckpointClaim>& claims) {
  AuditVerification v;
  auto problem = [&](const std::string& text) {
    if (v.problems.size() < kMaxProblems) v.problems.push_back(text);
  };

  // Where keying began (a chain begun before schema 7), itself keyed.
  int64_t keyed_from = 1, legacy_deliveries = 0;
  auto keyed_meta = store_.GetMeta(kKeyedFromKey);
  if (!keyed_meta.ok()) return keyed_meta.status();
  if (keyed_meta.value()) {
    const auto w = Words(*keyed_meta.value());
    try {
      if (w.size() != 3) throw std::invalid_argument("words");
      const int64_t from = std::stoll(w[0]), legacy = std::stoll(w[1]);
      if (keys_.Mac(KeyedFromTagInput(from, legacy)) != w[2]) throw std::invalid_argument("tag");
      keyed_from = from;
      legacy_deliveries = legacy;
    } catch (...) {
      problem("the record of where the keyed chain begins was changed without the audit key");
    }
  }

  // The checkpoints to compare: kept in the store, and brought by staff.
  std::vector<Anchor> anchors;
  auto stored = store_.ListAuditCheckpoints();
  if (!stored.ok()) return stored.status();
  for (const contracts::AuditCheckpoint& c : stored.value()) {
    const std::string source = "stored checkpoint of event " + std::to_string(c.seq);
    if (c.key_id != keys_.key_id() ||
        !VerifySignature(keys_.public_key(), CheckpointMessage(c), c.signature)) {
      problem(source + ": its signature does not match this machine's audit key (altered)");
      continue;
    }
    anchors.push_back({source, c.seq, c.head, "", c.at, false});
  }
  for (const CheckpointClaim& claim : claims) {
    if (claim.file) {
      const nlohmann::json& j = *claim.file;
      contracts::AuditCheckpoint c;
      std::string public_key;
      try {
        c.seq = j.at("seq").get<int64_t>();
        c.head = j.at("head").get<std::string>();
        c.at = j.at("at").get<std::string>();
        c.key_id = j.at("key_id").get<std::string>();
        c.signature = j.at("signature").get<std::string>();
        public_key = j.at("public_key").get<std::string>();
      } catch (...) {
        problem(claim.source + ": not an Itaku audit checkpoint");
        continue;
      }
      if (KeyIdOf(public_key) != c.key_id ||
          !VerifySignature(public_key, CheckpointMessage(c), c.signature)) {
        problem(claim.source + ": its signature does not match (the checkpoint was altered)");
        continue;
      }
      if (c.key_id != keys_.key_id()) {
        problem(claim.source + ": signed by audit key " + c.key_id +
                ", but this machine's audit key is now " + keys_.key_id() +
                " (the audit keys were replaced)");
      }
      anchors.push_back({claim.source, c.seq, c.head, "", c.at, true});
    } else {
      const size_t dash = claim.code.find('-');
      int64_t seq = 0;
      try {
        seq = std::stoll(claim.code.substr(0, dash));
      } catch (...) {
        problem(claim.source + ": not a checkpoint code (it reads like 42-ABCD-EFGH-JKMN-PQRS)");
        continue;
      }
      anchors.push_back({claim.source, seq, "", claim.code, "", true});
    }
  }
  std::set<int64_t> wanted;
  for (const Anchor& a : anchors) wanted.insert(a.seq);
  std::map<int64_t, std::string> hash_at;

  // The chain itself.
  std::string prev_hash = kAuditGenesis;
  int64_t expected_seq = 1;
  std::string chain_problem;
  std::map<std::string, Commitment> committed;  // "delivery:N" etc. -> newest commitment
  Status walked = store_.ForEachAuditEvent([&](const contracts::AuditEvent& e) {
    const std::string where = "audit event " + std::to_string(e.seq) + " (" + e.action + ")";
    if (e.seq != expected_seq) {
      chain_problem = e.seq > expected_seq
                          ? where + ": events " + std::to_string(expected_seq) + " to " +
                                std::to_string(e.seq - 1) + " are missing (deleted)"
                          : where + ": out of sequence (inserted)";
    } else if (e.prev_hash != prev_hash) {
      chain_problem = where + ": does not link to the event before it (inserted or replaced)";
    } else if (e.seq < keyed_from ? AuditHash(e) != e.hash : Hash(e) != e.hash) {
      chain_problem = where +
                      ": contents do not match its keyed hash (edited, or the chain was "
                      "recomputed without this machine's audit key)";
    }
    if (!chain_problem.empty()) return false;
    if (wanted.count(e.seq)) hash_at[e.seq] = e.hash;
    if (e.action == "audit.head-mismatch") {
      auto d = nlohmann::json::parse(e.details, nullptr, false);
      problem(where + ": when the daemon next wrote, " +
              (d.is_object() ? d.value("found", std::string()) : std::string()));
    }
    if (e.details.find("\"commits\"") != std::string::npos) {
      auto d = nlohmann::json::parse(e.details, nullptr, false);
      if (d.is_object() && d.contains("commits") && d["commits"].is_object()) {
        const nlohmann::json& c = d["commits"];
        const int64_t delivery = c.value("delivery", int64_t{0});
        // Itaku corrects records, it never deletes them: a row committed
        // once stays expected even when a later event does not name it.
        const std::string outcome =
            c.contains("outcome") && c["outcome"].is_string() ? c["outcome"].get<std::string>() : "";
        auto rows = c.find("rows");
        if (rows != c.end() && rows->is_object()) {
          for (auto row = rows->begin(); row != rows->end(); ++row) {
            if (!row.value().is_string()) continue;
            committed[row.key()] = {row.value().get<std::string>(), outcome, e.seq, delivery};
          }
        }
      }
    }
    prev_hash = e.hash;
    ++expected_seq;
    ++v.events;
    return true;
  });
  if (!walked.ok()) return walked;
  if (!chain_problem.empty()) problem(chain_problem);

  // The keyed head beside the chain catches deletion of the newest events.
  if (chain_problem.empty()) {
    auto head = store_.GetMeta(kHeadKey);
    if (!head.ok()) return head.status();
    if (!head.value()) {
      problem(v.events == 0 ? "the audit trail is empty and its head is gone (every event deleted)"
                            : "the chain head is missing (removed from the store)");
    } else {
      const auto w = Words(*head.value());
      int64_t head_seq = -1;
      try {
        head_seq = std::stoll(w.at(0));
      } catch (...) {
      }
      if (w.size() != 3 || head_seq < 0 || keys_.Mac(HeadTagInput(head_seq, w[1])) != w[2]) {
        problem(
            "the chain head was changed without the audit key (the newest events may have been "
            "deleted)");
      } else if (head_seq > v.events) {
        problem("audit event " + std::to_string(v.events + 1) +
                ": missing at the end of the chain (events " + std::to_string(v.events + 1) +
                " to " + std::to_string(head_seq) + " deleted; the head names event " +
                std::to_string(head_seq) + ")");
      } else if (head_seq != v.events || w[1] != prev_hash) {
        problem("the chain head does not match the newest event (edited)");
      } else {
        v.checked.push_back("chain of " + std::to_string(v.events) +
                            " events and its head hold under this machine's audit key " +
                            keys_.key_id());
      }
    }
  }

  // Checkpoints: the chain must still hold what each one signed.
  int64_t newest_external = 0;
  for (const Anchor& a : anchors) {
    if (a.seq > v.events) {
      problem(a.source + " names event " + std::to_string(a.seq) + ", but the chain ends at event " +
              std::to_string(v.events) + " (events " + std::to_string(v.events + 1) + " to " +
              std::to_string(a.seq) + " deleted: truncated)");
      continue;
    }
    auto it = hash_at.find(a.seq);
    if (it == hash_at.end()) continue;  // past a broken link: already a problem
    const bool same =
        a.head.empty() ? CheckpointCode(a.seq, it->second) == a.code : a.head == it->second;
    if (!same) {
      problem(a.source + ": event " + std::to_string(a.seq) + " is not what was signed" +
              (a.at.empty() ? "" : " on " + ShowJst(a.at)) + " (events 1 to " +
              std::to_string(a.seq) + " were rewritten)");
      continue;
    }
    v.checked.push_back(a.source + ": event " + std::to_string(a.seq) + " matches" +
                        (a.at.empty() ? "" : " (signed " + ShowJst(a.at) + ")"));
    if (a.external) newest_external = std::max(newest_external, a.seq);
  }

  // Records against their newest commitments, receipts against their rows;
  // past a broken link the commitments are not known, so only the break is
  // reported.
  if (!chain_problem.empty()) {
    v.intact = false;
    v.problem = v.problems.front();
    return v;
  }
  std::map<int64_t, ReceiptsDigest> digests;
  Status receipts = store_.ForEachReceiptRow(
      std::nullopt, [&](int64_t delivery, std::string_view id, int64_t carried) {
        digests[delivery].Add(id, carried);
      });
  if (!receipts.ok()) return receipts;
  int64_t receipt_count = 0;
  std::map<std::string, int64_t> counts;  // table -> rows checked
  std::set<std::string> seen;
  for (const char* table : {"delivery", "media", "portal"}) {
    const std::string t = table;
    Status s = store_.ForEachRecordRow(
        t, std::nullopt, [&](int64_t delivery, const std::string& key, const std::string& row) {
          const std::string name = t + ":" + key;
          const std::string label = (t == "portal" ? "portal package " : t + " ") + key;
          seen.insert(name);
          ++counts[t];
          auto it = committed.find(name);
          const bool legacy = delivery <= legacy_deliveries;
          if (it == committed.end()) {
            if (!legacy) problem(label + " is not in the audit trail (added outside Itaku)");
            return;
          }
          if (it->second.sha != Sha256Hex(row)) {
            // A package still being written or sent changes between events.
            auto parsed = t == "delivery" ? nlohmann::json::parse(row, nullptr, false)
                                          : nlohmann::json();
            const std::string now_outcome =
                parsed.is_array() ? parsed[kRowOutcome].get<std::string>() : "";
            if (!(InFlight(it->second.outcome) && now_outcome == it->second.outcome)) {
              problem(label + " differs from what audit event " + std::to_string(it->second.seq) +
                      " recorded (changed outside Itaku)");
            }
            return;
          }
          if (t != "delivery") return;
          auto parsed = nlohmann::json::parse(row, nullptr, false);
          if (!parsed.is_array() || parsed.size() <= kRowReceiptsSha) return;
          const int64_t want_count = parsed[kRowReceiptsCount].get<int64_t>();
          const std::string want_sha = parsed[kRowReceiptsSha].get<std::string>();
          auto d = digests.find(delivery);
          const int64_t have_count = d == digests.end() ? 0 : d->second.count();
          std::string have_sha = d == digests.end() ? "" : d->second.Finish();
          if (d != digests.end()) digests.erase(d);
          receipt_count += have_count;
          if (want_sha.empty() && (legacy || InFlight(it->second.outcome))) return;
          if (have_count != want_count || have_sha != want_sha) {
            problem("delivery " + key + ": its receipts differ from the " +
                    std::to_string(want_count) + " recorded (" + std::to_string(have_count) +
                    " now; receipts deleted, added or changed outside Itaku)");
          }
        });
    if (!s.ok()) return s;
  }
  for (const auto& [name, c] : committed) {
    if (seen.count(name)) continue;
    const size_t colon = name.find(':');
    const std::string t = name.substr(0, colon);
    problem((t == "portal" ? "portal package " : t + " ") + name.substr(colon + 1) +
            " is missing (deleted); audit event " + std::to_string(c.seq) + " recorded it");
  }
  for (auto& [delivery, digest] : digests) {
    if (delivery > legacy_deliveries) {
      problem("receipts of delivery " + std::to_string(delivery) +
              " remain, but the delivery is missing (deleted)");
    }
  }
  if (v.problems.empty()) {
    v.checked.push_back(std::to_string(counts["delivery"]) + " deliveries, " +
                        std::to_string(receipt_count) + " receipts, " +
                        std::to_string(counts["media"]) + " media and " +
                        std::to_string(counts["portal"]) +
                        " portal packages match what the trail recorded");
  }
  if (newest_external == 0) {
    v.not_ruled_out.push_back(
        "no checkpoint from outside this machine was given: a consistent rewrite by someone "
        "holding this machine's audit keys cannot be ruled out (give the newest with "
        "--checkpoint FILE|CODE)");
  } else if (newest_external < v.events) {
    v.not_ruled_out.push_back("events " + std::to_string(newest_external + 1) + " to " +
                              std::to_string(v.events) +
                              " come after the newest checkpoint given: a consistent rewrite of "
                              "them by someone holding this machine's audit keys cannot be ruled "
                              "out");
  }
  v.intact = v.problems.empty();
  if (!v.intact) v.problem = v.problems.front();
  return v;
}

}  // namespace itaku::gateway
