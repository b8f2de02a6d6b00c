// The SQLite store: deliveries, who received what (history, breach scope),
// certificates, SFTP endpoints and delivery attempts.
#include <Poco/Data/Statement.h>
#include <Poco/Nullable.h>
#include <Poco/Tuple.h>

#include "contracts/detail/sqlite_store.h"
#include "contracts/detail/sqlite_util.h"

namespace itaku::contracts::detail {
namespace {

const std::string kDelivered(ToString(DeliveryOutcome::kDelivered));
// An SFTP delivery whose upload began and has no outcome yet (or whose run
// died): the data may have reached the contractor, so it counts as received.
const std::string kSending(ToString(DeliveryOutcome::kSending));

constexpr const char* kDeliveryColumns =
    "id, ordered_by, ordered_at, contractor_id, profile_id, profile_version, nda_id, transport,"
    " outcome, reason, fields, record_count, input_name, package_sha256";
using DeliveryRow = Poco::Tuple<Int64, std::string, std::string, std::string, std::string, int,
                                Poco::Nullable<Int64>, std::string, std::string, std::string,
                                std::string, Int64, std::string, std::string>;

Result<DeliveryRecord> ToDelivery(const DeliveryRow& row) {
  DeliveryRecord d;
  d.id = row.get<0>();
  d.ordered_by = row.get<1>();
  d.ordered_at = row.get<2>();
  d.contractor_id = row.get<3>();
  d.profile_id = row.get<4>();
  d.profile_version = row.get<5>();
  if (!row.get<6>().isNull()) d.nda_id = row.get<6>().value();
  d.reason = row.get<9>();
  Decoder decode("delivery " + std::to_string(d.id));
  decode.Word("transport", row.get<7>(), &d.transport);
  decode.Word("outcome", row.get<8>(), &d.outcome);
  decode.Json("fields", row.get<10>(), &d.fields);
  d.record_count = row.get<11>();
  d.input_name = row.get<12>();
  d.package_sha256 = row.get<13>();
  if (!decode.status().ok()) return decode.status();
  return d;
}

constexpr const char* kReceiptColumns =
    "d.id, s.subscriber_id, d.ordered_at, d.contractor_id, d.profile_id, d.profile_version,"
    " d.transport, d.fields";
using ReceiptRow = Poco::Tuple<Int64, std::string, std::string, std::string, std::string, int,
                               std::string, std::string>;

// Receipts of one delivery share its field list: decode it once per delivery.
class ReceiptDecoder {
 public:
  Result<Receipt> operator()(const ReceiptRow& row) {
    Receipt r;
    r.delivery_id = row.get<0>();
    r.subscriber_id = row.get<1>();
    r.delivered_at = row.get<2>();
    r.contractor_id = row.get<3>();
    r.profile_id = row.get<4>();
    r.profile_version = row.get<5>();
    Decoder decode("delivery " + std::to_string(r.delivery_id));
    decode.Word("transport", row.get<6>(), &r.transport);
    if (!decode.status().ok()) return decode.status();
    if (r.delivery_id != fields_of_ || fields_text_ != row.get<7>()) {
      decode.Json("fields", row.get<7>(), &fields_);
      if (!decode.status().ok()) return decode.status();
      fields_of_ = r.delivery_id;
      fields_text_ = row.get<7>();
    }
    r.fields = fields_;
    return r;
  }

 private:
  int64_t fields_of_ = -1;
  std::string fields_text_;
  std::vector<std::string> fields_;
};

}  // namespace

// ---- Deliveries ------------------------------------------------------------

bool SqliteStore::DeliveryExists(int64_t id) {
  int count = 0;
  session_ << "SELECT COUNT(*) FROM delivery WHERE id = ?", into(count), bind(Int64{id}), now;
  return count > 0;
}

Result<int64_t> SqliteStore::AddDelivery(const DeliveryRecord& d) {
  return Guard("cannot add delivery", [&]() -> Result<int64_t> {
    Int64 id = 0;
    Poco::Nullable<Int64> nda_id;
    if (d.nda_id) nda_id = *d.nda_id;
    session_ << "INSERT INTO delivery (ordered_by, ordered_at, contractor_id, profile_id,"
                " profile_version, nda_id, transport, outcome, reason, fields, record_count,"
                " input_name, package_sha256)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
        into(id), bind(d.ordered_by), bind(d.ordered_at), bind(d.contractor_id), bind(d.profile_id),
        bind(d.profile_version), use(nda_id), bind(std::string(ToString(d.transport))),
        bind(std::string(ToString(d.outcome))), bind(d.reason), bind(ToJson(d.fields)),
        bind(Int64{d.record_count}), bind(d.input_name), bind(d.package_sha256), now;
    return int64_t{id};
  });
}

Status SqliteStore::AddDeliverySubscribers(int64_t delivery_id,
                                           const std::vector<std::string>& subscriber_ids) {
  const std::string what = "cannot add subscribers to delivery " + std::to_string(delivery_id);
  return RunTransaction(what, [&]() -> Status {
    if (!DeliveryExists(delivery_id)) {
      return Status::NotFound("unknown delivery " + std::to_string(delivery_id));
    }
    if (subscriber_ids.empty()) return Status::Ok();
    // One prepared statement, stepped once per element of the bound vectors.
    // Sorted first: the subscriber index then grows in key order instead of
    // at random pages (1M ids: ~3 s instead of ~17 s).
    std::vector<std::string> ids = subscriber_ids;
    std::sort(ids.begin(), ids.end());
    std::vector<Int64> delivery_ids(ids.size(), delivery_id);
    // Inside the write transaction nobody else inserts, so the new rows are
    // exactly the seqs after `before`.
    Poco::Nullable<Int64> before;
    session_ << "SELECT MAX(seq) FROM delivery_subscriber", into(before), now;
    const Int64 first = before.isNull() ? 1 : before.value() + 1;
    session_ << "INSERT INTO delivery_subscriber (delivery_id, subscriber_id) VALUES (?, ?)",
        use(delivery_ids), use(ids), now;
    const Int64 last = first + static_cast<Int64>(ids.size()) - 1;
    session_ << "UPDATE delivery SET first_receipt = COALESCE(first_receipt, ?),"
                " last_receipt = ? WHERE id = ?",
        bind(first), bind(last), bind(Int64{delivery_id}), now;
    return Status::Ok();
  });
}

Status SqliteStore::SetDeliveryOutcome(int64_t delivery_id, DeliveryOutcome outcome,
                                       const std::string& reason, int64_t record_count,
                                       const std::string& package_sha256) {
  const std::string what = "cannot set outcome of delivery " + std::to_string(delivery_id);
  return RunTransaction(what, [&]() -> Status {
    if (!DeliveryExists(delivery_id)) {
      return Status::NotFound("unknown delivery " + std::to_string(delivery_id));
    }
    session_ << "UPDATE delivery SET outcome = ?, reason = ?, record_count = ?,"
                " package_sha256 = ? WHERE id = ?",
        bind(std::string(ToString(outcome))), bind(reason), bind(Int64{record_count}),
        bind(package_sha256), bind(Int64{delivery_id}), now;
    return Status::Ok();
  });
}

Result<std::optional<DeliveryRecord>> SqliteStore::FindDelivery(int64_t id) {
  using Found = Result<std::optional<DeliveryRecord>>;
  return Guard("cannot read delivery " + std::to_string(id), [&]() -> Found {
    std::vector<DeliveryRow> rows;
    session_ << "SELECT " + std::string(kDeliveryColumns) + " FROM delivery WHERE id = ?",
        into(rows), bind(Int64{id}), now;
    return DecodeFirst<DeliveryRecord>(rows, ToDelivery);
  });
}

Result<std::vector<Receipt>> SqliteStore::History(const std::string& subscriber_id) {
  return Guard("cannot read history of subscriber " + subscriber_id,
               [&]() -> Result<std::vector<Receipt>> {
                 std::vector<ReceiptRow> rows;
                 session_ << "SELECT " + std::string(kReceiptColumns) +
                                 " FROM delivery_subscriber s JOIN delivery d"
                                 " ON d.id = s.delivery_id"
                                 " WHERE s.subscriber_id = ? AND d.outcome IN (?, ?)"
                                 " ORDER BY d.ordered_at, d.id",
                     into(rows), bind(subscriber_id), bind(kDelivered), bind(kSending), now;
                 ReceiptDecoder decode;
                 return DecodeAll<Receipt>(rows, decode);
               });
}

Status SqliteStore::ForEachReceipt(const std::string& contractor_id, const Date& since,
                                   const Date& until,
                                   const std::function<void(const Receipt&)>& visit) {
  return Guard("cannot read receipts of contractor " + contractor_id, [&]() -> Status {
    // ordered_at is "YYYY-MM-DDTHH:MM:SSZ" in UTC: its first ten characters
    // are the UTC date, and ISO dates compare as text.
    std::vector<ReceiptRow> rows;
    Statement select(session_);
    select << "SELECT " + std::string(kReceiptColumns) +
                  " FROM delivery d JOIN delivery_subscriber s"
                  " ON s.seq BETWEEN d.first_receipt AND d.last_receipt AND s.delivery_id = d.id"
                  " WHERE d.contractor_id = ? AND d.outcome IN (?, ?)"
                  " AND substr(d.ordered_at, 1, 10) >= ? AND substr(d.ordered_at, 1, 10) <= ?"
                  " ORDER BY d.id, s.seq",
        into(rows), bind(contractor_id), bind(kDelivered), bind(kSending), bind(FormatDate(since)),
        bind(FormatDate(until)), limit(kStreamBatch);
    ReceiptDecoder decode;
    while (!select.done()) {
      rows.clear();
      select.execute();
      for (const ReceiptRow& row : rows) {
        Result<Receipt> receipt = decode(row);
        if (!receipt.ok()) return receipt.status();
        visit(*receipt);
      }
    }
    return Status::Ok();
  });
}

// ---- Certificates ----------------------------------------------------------

Status SqliteStore::PutContractorCertificate(const ContractorCertificate& c) {
  const std::string what = "cannot store certificate of contractor " + c.contractor_id;
  return RunTransaction(what, [&]() -> Status {
    if (!ContractorExists(c.contractor_id)) {
      return Status::NotFound("unknown contractor " + c.contractor_id);
    }
    session_ << "DELETE FROM contractor_certificate WHERE contractor_id = ? AND use = ?",
        bind(c.contractor_id), bind(c.use), now;
    session_ << "INSERT INTO contractor_certificate (contractor_id, use, pem, fingerprint,"
                " subject, not_after, registered_by, registered_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        bind(c.contractor_id), bind(c.use), bind(c.pem), bind(c.fingerprint), bind(c.subject),
        bind(c.not_after), bind(c.registered_by), bind(c.registered_at), now;
    return Status::Ok();
  });
}

Result<std::optional<ContractorCertificate>> SqliteStore::FindContractorCertificate(
    const std::string& contractor_id, const std::string& use) {
  using Found = Result<std::optional<ContractorCertificate>>;
  return Guard("cannot read certificate of contractor " + contractor_id, [&]() -> Found {
    using Row =
        Poco::Tuple<std::string, std::string, std::string, std::string, std::string, std::string>;
    std::vector<Row> rows;
    session_ << "SELECT pem, fingerprint, subject, not_after, registered_by, registered_at"
                " FROM contractor_certificate WHERE contractor_id = ? AND use = ?",
        into(rows), bind(contractor_id), bind(use), now;
    return DecodeFirst<ContractorCertificate>(rows, [&](const Row& r) {
      return ContractorCertificate{contractor_id, use,        r.get<0>(), r.get<1>(),
                                   r.get<2>(),    r.get<3>(), r.get<4>(), r.get<5>()};
    });
  });
}

// ---- SFTP endpoints and attempts ------------------------------------------

Status SqliteStore::PutSftpEndpoint(const SftpEndpointRecord& e) {
  const std::string what = "cannot store SFTP endpoint of contractor " + e.contractor_id;
  return RunTransaction(what, [&]() -> Status {
    if (!ContractorExists(e.contractor_id)) {
      return Status::NotFound("unknown contractor " + e.contractor_id);
    }
    session_ << "DELETE FROM sftp_endpoint WHERE contractor_id = ?", bind(e.contractor_id), now;
    session_ << "INSERT INTO sftp_endpoint (contractor_id, url, host_key, key_path,"
                " passphrase_source, registered_by, registered_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
        bind(e.contractor_id), bind(e.url), bind(e.host_key), bind(e.key_path),
        bind(e.passphrase_source), bind(e.registered_by), bind(e.registered_at), now;
    return Status::Ok();
  });
}

Result<std::optional<SftpEndpointRecord>> SqliteStore::FindSftpEndpoint(
    const std::string& contractor_id) {
  using Found = Result<std::optional<SftpEndpointRecord>>;
  return Guard("cannot read SFTP endpoint of contractor " + contractor_id, [&]() -> Found {
    using Row =
        Poco::Tuple<std::string, std::string, std::string, std::string, std::string, std::string>;
    std::vector<Row> rows;
    session_ << "SELECT url, host_key, key_path, passphrase_source, registered_by, registered_at"
                " FROM sftp_endpoint WHERE contractor_id = ?",
        into(rows), bind(contractor_id), now;
    return DecodeFirst<SftpEndpointRecord>(rows, [&](const Row& r) {
      return SftpEndpointRecord{contractor_id, r.get<0>(), r.get<1>(), r.get<2>(),
                                r.get<3>(),    r.get<4>(), r.get<5>()};
    });
  });
}

Status SqliteStore::AddDeliveryAttempt(const DeliveryAttempt& a) {
  const std::string what = "cannot record attempt of delivery " + std::to_string(a.delivery_id);
  return RunTransaction(what, [&]() -> Status {
    if (!DeliveryExists(a.delivery_id)) {
      return Status::NotFound("unknown delivery " + std::to_string(a.delivery_id));
    }
    session_ << "INSERT INTO delivery_attempt (delivery_id, attempt, started_at, finished_at,"
                " outcome, error) VALUES (?, ?, ?, ?, ?, ?)",
        bind(Int64{a.delivery_id}), bind(a.attempt), bind(a.started_at), bind(a.finished_at),
        bind(std::string(ToString(a.outcome))), bind(a.error), now;
    return Status::Ok();
  });
}

Result<std::vector<DeliveryAttempt>> SqliteStore::ListDeliveryAttempts(int64_t delivery_id) {
  using Listed = Result<std::vector<DeliveryAttempt>>;
  return Guard("cannot read attempts of delivery " + std::to_string(delivery_id), [&]() -> Listed {
    using Row = Poco::Tuple<int, std::string, std::string, std::string, std::string>;
    std::vector<Row> rows;
    session_ << "SELECT attempt, started_at, finished_at, outcome, error FROM delivery_attempt"
                " WHERE delivery_id = ? ORDER BY attempt",
        into(rows), bind(Int64{delivery_id}), now;
    std::vector<DeliveryAttempt> out;
    for (const Row& r : rows) {
      DeliveryAttempt a;
      a.delivery_id = delivery_id;
      a.attempt = r.get<0>();
      a.started_at = r.get<1>();
      a.finished_at = r.get<2>();
      Decoder decode("attempt " + std::to_string(a.attempt) + " of delivery " +
                     std::to_string(delivery_id));
      decode.Word("outcome", r.get<3>(), &a.outcome);
      if (!decode.status().ok()) return decode.status();
      a.error = r.get<4>();
      out.push_back(std::move(a));
    }
    return out;
  });
}

}  // namespace itaku::contracts::detail
