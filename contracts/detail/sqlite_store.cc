#include "contracts/detail/sqlite_store.h"

#include <Poco/Data/Limit.h>
#include <Poco/Data/SQLite/Connector.h>
#include <Poco/Data/Statement.h>
#include <Poco/DateTimeFormatter.h>
#include <Poco/Exception.h>
#include <Poco/File.h>
#include <Poco/Nullable.h>
#include <Poco/Timestamp.h>
#include <Poco/Tuple.h>

#include <algorithm>
#include <exception>
#include <mutex>
#include <nlohmann/json.hpp>
#include <type_traits>
#include <utility>

#include "contracts/base/layout.h"
#include "contracts/detail/migrations.h"
#include "contracts/detail/sqlite_util.h"
#include "contracts/profile_toml.h"

namespace itaku::contracts {

Store::~Store() = default;

Result<std::unique_ptr<Store>> Store::OpenSqlite(const std::string& path) {
  return detail::SqliteStore::Open(path);
}

namespace detail {
namespace {

// ---- Row shapes: the SELECT lists below and these tuples change together.

constexpr const char* kContractorColumns =
    "id, name, status, email, created_at, postal_code, address";
using ContractorRow = Poco::Tuple<std::string, std::string, std::string, std::string, std::string,
                                  std::string, std::string>;

Result<Contractor> ToContractor(const ContractorRow& row) {
  Contractor c;
  c.id = row.get<0>();
  c.name = row.get<1>();
  c.email = row.get<3>();
  c.created_at = row.get<4>();
  c.postal_code = row.get<5>();
  c.address = row.get<6>();
  Decoder decode("contractor " + c.id);
  decode.Word("status", row.get<2>(), &c.status);
  if (!decode.status().ok()) return decode.status();
  return c;
}

constexpr const char* kNdaColumns =
    "id, contractor_id, signed_on, in_force_from, in_force_until, signatories, document_sha256,"
    " document_path, registered_by, registered_at, withdrawn_at, withdrawn_by, withdrawn_reason";
using NdaRow =
    Poco::Tuple<Int64, std::string, std::string, std::string, std::string, std::string, std::string,
                std::string, std::string, std::string, std::string, std::string, std::string>;

Result<Nda> ToNda(const NdaRow& row) {
  Nda n;
  n.id = row.get<0>();
  n.contractor_id = row.get<1>();
  Decoder decode("NDA " + std::to_string(n.id));
  decode.Date("signed_on", row.get<2>(), &n.signed_on);
  decode.Date("in_force_from", row.get<3>(), &n.in_force_from);
  decode.Date("in_force_until", row.get<4>(), &n.in_force_until);
  decode.Json("signatories", row.get<5>(), &n.signatories);
  n.document_sha256 = row.get<6>();
  n.document_path = row.get<7>();
  n.registered_by = row.get<8>();
  n.registered_at = row.get<9>();
  n.withdrawn_at = row.get<10>();
  n.withdrawn_by = row.get<11>();
  n.withdrawn_reason = row.get<12>();
  if (!decode.status().ok()) return decode.status();
  return n;
}

constexpr const char* kProfileColumns =
    "id, version, contractor_id, purpose, fields, transports, valid_from, valid_until,"
    " retention_days, output_format, output_encoding, masks, source, source_sha256, imported_by,"
    " imported_at, output_package";
using ProfileRow = Poco::Tuple<std::string, int, std::string, std::string, std::string, std::string,
                               std::string, std::string, int, std::string, std::string, std::string,
                               std::string, std::string, std::string, std::string, std::string>;

Result<ContractProfile> ToProfile(const ProfileRow& row) {
  ContractProfile p;
  p.id = row.get<0>();
  p.version = row.get<1>();
  p.contractor_id = row.get<2>();
  p.purpose = row.get<3>();
  Decoder decode("profile " + p.id + " v" + std::to_string(p.version));
  decode.Json("fields", row.get<4>(), &p.fields);
  decode.Json("transports", row.get<5>(), &p.transports);
  decode.Date("valid_from", row.get<6>(), &p.valid_from);
  decode.Date("valid_until", row.get<7>(), &p.valid_until);
  p.retention_days = row.get<8>();
  p.output_format = row.get<9>();
  p.output_encoding = row.get<10>();
  decode.Json("masks", row.get<11>(), &p.masks);
  p.source = row.get<12>();
  p.formula_guard = FormulaGuardOf(p.source);  // kept in the version's text, not a column
  p.source_sha256 = row.get<13>();
  p.imported_by = row.get<14>();
  p.imported_at = row.get<15>();
  p.output_package = row.get<16>();
  if (!decode.status().ok()) return decode.status();
  return p;
}

constexpr const char* kAuditColumns = "seq, at, actor, action, subject, details, prev_hash, hash";
using AuditRow = Poco::Tuple<Int64, std::string, std::string, std::string, std::string, std::string,
                             std::string, std::string>;

AuditEvent ToAuditEvent(const AuditRow& row) {
  return AuditEvent{row.get<0>(), row.get<1>(), row.get<2>(), row.get<3>(),
                    row.get<4>(), row.get<5>(), row.get<6>(), row.get<7>()};
}

void RegisterConnectorOnce() {
  static std::once_flag once;
  std::call_once(once, [] { Poco::Data::SQLite::Connector::registerConnector(); });
}

}  // namespace

// ---- Opening and schema ----------------------------------------------------

SqliteStore::SqliteStore(std::string path, Poco::Data::Session session)
    : path_(std::move(path)),
      document_dir_(StoreLayout(path_).Documents()),
      session_(std::move(session)) {}

Result<std::unique_ptr<Store>> SqliteStore::Open(const std::string& path) {
  const std::string what = "cannot open store " + path;
  RegisterConnectorOnce();
  std::unique_ptr<SqliteStore> store;
  Status opened = Guard(what, [&]() -> Status {
    Poco::Data::Session session(Poco::Data::SQLite::Connector::KEY, path, kBusyTimeoutSeconds);
    session.setConnectionTimeout(kBusyTimeoutSeconds);  // sqlite3_busy_timeout
    std::string journal_mode;
    session << "PRAGMA journal_mode=WAL", into(journal_mode), now;
    if (journal_mode != "wal") {
      return Status::Error(what + ": WAL journal mode refused (got '" + journal_mode + "')");
    }
    session << "PRAGMA foreign_keys=ON", now;
    // Deleted rows (a key moved out of the store) are zeroed, not left in free pages.
    int secure_delete = 0;
    session << "PRAGMA secure_delete=ON", into(secure_delete), now;
    store.reset(new SqliteStore(path, std::move(session)));
    Poco::File(store->document_dir_).createDirectories();
    return Status::Ok();
  });
  if (!opened.ok()) return opened;
  if (Status migrated = store->Migrate(); !migrated.ok()) {
    return Status::Error(what + ": " + migrated.message());
  }
  return std::unique_ptr<Store>(std::move(store));
}

Status SqliteStore::Migrate() {
  return RunTransaction("schema migration failed", [&]() -> Status {
    session_ << kCreateSchemaMigrations, now;
    int current = 0;
    session_ << "SELECT COALESCE(MAX(version), 0) FROM schema_migrations", into(current), now;
    if (current > kSchemaVersion) {
      return Status::Error("schema version " + std::to_string(current) +
                           " is newer than this program's " + std::to_string(kSchemaVersion));
    }
    for (const Migration& migration : Migrations()) {
      if (migration.version <= current) continue;
      for (const std::string& statement : migration.statements) {
        session_ << statement, now;
      }
      session_ << "INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)",
          bind(migration.version), bind(NowUtc()), now;
    }
    return Status::Ok();
  });
}

Result<int> SqliteStore::SchemaVersion() {
  return Guard("cannot read schema version", [&]() -> Result<int> {
    int version = 0;
    session_ << "SELECT COALESCE(MAX(version), 0) FROM schema_migrations", into(version), now;
    return version;
  });
}

Status SqliteStore::DeferCheckpoints() {
  return Guard("cannot defer checkpoints", [&] {
    session_ << "PRAGMA wal_autocheckpoint=0", now;
    return Status::Ok();
  });
}

Status SqliteStore::CheckpointLog() {
  return Guard("cannot checkpoint the write-ahead log", [&] {
    // One row: busy, frames in the log, frames copied.
    int busy = 0, frames = 0, copied = 0;
    session_ << "PRAGMA wal_checkpoint(PASSIVE)", into(busy), into(frames), into(copied), now;
    return Status::Ok();
  });
}

// ---- Transactions ----------------------------------------------------------

Status SqliteStore::Transaction(const std::function<Status()>& body) {
  return RunTransaction("transaction failed", body);
}

Status SqliteStore::RunTransaction(const std::string& what, const std::function<Status()>& body) {
  // Savepoint names are derived from the depth, never from data.
  const bool outermost = depth_ == 0;
  const std::string savepoint = "itaku_nested_" + std::to_string(depth_);
  Status begun = Guard(what, [&] {
    session_ << (outermost ? std::string("BEGIN IMMEDIATE") : "SAVEPOINT " + savepoint), now;
    return Status::Ok();
  });
  if (!begun.ok()) return begun;

  ++depth_;
  Status status = Guard(what, body);
  --depth_;

  if (status.ok()) {
    Status committed = Guard(what, [&] {
      session_ << (outermost ? std::string("COMMIT") : "RELEASE SAVEPOINT " + savepoint), now;
      return Status::Ok();
    });
    if (committed.ok()) return committed;
    status = committed;  // fall through: undo what the body wrote
  }
  // Best effort: if the rollback itself fails the body's error is the news.
  Guard(what, [&] {
    if (outermost) {
      session_ << "ROLLBACK", now;
    } else {
      session_ << "ROLLBACK TO SAVEPOINT " + savepoint, now;
      session_ << "RELEASE SAVEPOINT " + savepoint, now;
    }
    return Status::Ok();
  });
  return status;
}

// ---- Meta ------------------------------------------------------------------

Result<std::optional<std::string>> SqliteStore::GetMeta(const std::string& key) {
  return Guard("cannot read meta " + key, [&]() -> Result<std::optional<std::string>> {
    std::vector<std::string> values;
    session_ << "SELECT value FROM meta WHERE key = ?", into(values), bind(key), now;
    if (values.empty()) return std::optional<std::string>();
    return std::optional<std::string>(values.front());
  });
}

Status SqliteStore::SetMeta(const std::string& key, const std::string& value) {
  return Guard("cannot write meta " + key, [&] {
    session_ << "INSERT INTO meta (key, value) VALUES (?, ?)"
                " ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        bind(key), bind(value), now;
    return Status::Ok();
  });
}

Status SqliteStore::DeleteMeta(const std::string& key) {
  return Guard("cannot delete meta " + key, [&] {
    session_ << "DELETE FROM meta WHERE key = ?", bind(key), now;
    return Status::Ok();
  });
}

// ---- Contractors -----------------------------------------------------------

bool SqliteStore::ContractorExists(const std::string& id) {
  int count = 0;
  session_ << "SELECT COUNT(*) FROM contractor WHERE id = ?", into(count), bind(id), now;
  return count > 0;
}

Status SqliteStore::AddContractor(const Contractor& c) {
  const std::string what = "cannot add contractor " + c.id;
  return RunTransaction(what, [&]() -> Status {
    if (ContractorExists(c.id)) return Status::Conflict("contractor " + c.id + " already exists");
    session_ << "INSERT INTO contractor (id, name, status, email, created_at, postal_code, address)"
                " VALUES (?, ?, ?, ?, ?, ?, ?)",
        bind(c.id), bind(c.name), bind(std::string(ToString(c.status))), bind(c.email),
        bind(c.created_at), bind(c.postal_code), bind(c.address), now;
    return Status::Ok();
  });
}

Result<std::optional<Contractor>> SqliteStore::FindContractor(const std::string& id) {
  return Guard("cannot read contractor " + id, [&]() -> Result<std::optional<Contractor>> {
    std::vector<ContractorRow> rows;
    session_ << "SELECT " + std::string(kContractorColumns) + " FROM contractor WHERE id = ?",
        into(rows), bind(id), now;
    return DecodeFirst<Contractor>(rows, ToContractor);
  });
}

Result<std::vector<Contractor>> SqliteStore::ListContractors() {
  return Guard("cannot list contractors", [&]() -> Result<std::vector<Contractor>> {
    std::vector<ContractorRow> rows;
    session_ << "SELECT " + std::string(kContractorColumns) + " FROM contractor ORDER BY id",
        into(rows), now;
    return DecodeAll<Contractor>(rows, ToContractor);
  });
}

Status SqliteStore::SetContractorStatus(const std::string& id, ContractorStatus status) {
  return RunTransaction("cannot set status of contractor " + id, [&]() -> Status {
    if (!ContractorExists(id)) return Status::NotFound("unknown contractor " + id);
    session_ << "UPDATE contractor SET status = ? WHERE id = ?",
        bind(std::string(ToString(status))), bind(id), now;
    return Status::Ok();
  });
}

Status SqliteStore::UpdateContractor(const Contractor& c) {
  return RunTransaction("cannot update contractor " + c.id, [&]() -> Status {
    if (!ContractorExists(c.id)) return Status::NotFound("unknown contractor " + c.id);
    session_ << "UPDATE contractor SET name = ?, email = ?, postal_code = ?, address = ?"
                " WHERE id = ?",
        bind(c.name), bind(c.email), bind(c.postal_code), bind(c.address), bind(c.id), now;
    return Status::Ok();
  });
}

// ---- NDAs ------------------------------------------------------------------

Result<int64_t> SqliteStore::AddNda(const Nda& n) {
  int64_t id = 0;
  Status status =
      RunTransaction("cannot add NDA for contractor " + n.contractor_id, [&]() -> Status {
        if (!ContractorExists(n.contractor_id)) {
          return Status::NotFound("unknown contractor " + n.contractor_id);
        }
        // RETURNING: SQLite >= 3.35 and PostgreSQL alike.
        session_ << "INSERT INTO nda (contractor_id, signed_on, in_force_from, in_force_until,"
                    " signatories, document_sha256, document_path, registered_by, registered_at)"
                    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
            into(id), bind(n.contractor_id), bind(FormatDate(n.signed_on)),
            bind(FormatDate(n.in_force_from)), bind(FormatDate(n.in_force_until)),
            bind(ToJson(n.signatories)), bind(n.document_sha256), bind(n.document_path),
            bind(n.registered_by), bind(n.registered_at), now;
        return Status::Ok();
      });
  if (!status.ok()) return status;
  return id;
}

Result<std::vector<Nda>> SqliteStore::ListNdas(const std::optional<std::string>& contractor_id) {
  return Guard("cannot list NDAs", [&]() -> Result<std::vector<Nda>> {
    std::vector<NdaRow> rows;
    const std::string select = "SELECT " + std::string(kNdaColumns) + " FROM nda";
    if (contractor_id) {
      session_ << select + " WHERE contractor_id = ? ORDER BY in_force_until, id", into(rows),
          bind(*contractor_id), now;
    } else {
      session_ << select + " ORDER BY in_force_until, id", into(rows), now;
    }
    return DecodeAll<Nda>(rows, ToNda);
  });
}

Status SqliteStore::WithdrawNda(int64_t id, const std::string& at, const std::string& by,
                                const std::string& reason) {
  const std::string name = "NDA " + std::to_string(id);
  return RunTransaction("cannot withdraw " + name, [&]() -> Status {
    std::vector<std::string> withdrawn_at;
    session_ << "SELECT withdrawn_at FROM nda WHERE id = ?", into(withdrawn_at), bind(Int64{id}),
        now;
    if (withdrawn_at.empty()) return Status::NotFound("unknown " + name);
    if (!withdrawn_at.front().empty()) {
      return Status::Conflict(name + " was already withdrawn on " + ShowJst(withdrawn_at.front()));
    }
    // The row stays: what was registered, and that it was withdrawn, by whom
    // and why, are both on record.
    session_ << "UPDATE nda SET withdrawn_at = ?, withdrawn_by = ?, withdrawn_reason = ?"
                " WHERE id = ? AND withdrawn_at = ''",
        bind(at), bind(by), bind(reason), bind(Int64{id}), now;
    return Status::Ok();
  });
}

Result<std::vector<DeliveryRecord>> SqliteStore::ListDeliveriesByNda(int64_t nda_id) {
  using Listed = Result<std::vector<DeliveryRecord>>;
  return Guard("cannot list deliveries under NDA " + std::to_string(nda_id), [&]() -> Listed {
    // What may have left the gateway under the NDA: the outcomes that count
    // as received.
    const std::string delivered(ToString(DeliveryOutcome::kDelivered));
    const std::string sending(ToString(DeliveryOutcome::kSending));
    const std::string writing(ToString(DeliveryOutcome::kWriting));
    using Row = Poco::Tuple<Int64, std::string, std::string, std::string, std::string, int,
                            std::string, std::string>;
    std::vector<Row> rows;
    session_ << "SELECT id, ordered_by, ordered_at, contractor_id, profile_id, profile_version,"
                " transport, outcome FROM delivery"
                " WHERE nda_id = ? AND outcome IN (?, ?, ?) ORDER BY id",
        into(rows), bind(Int64{nda_id}), bind(delivered), bind(sending), bind(writing), now;
    std::vector<DeliveryRecord> out;
    for (const Row& r : rows) {
      DeliveryRecord d;
      d.id = r.get<0>();
      d.ordered_by = r.get<1>();
      d.ordered_at = r.get<2>();
      d.contractor_id = r.get<3>();
      d.profile_id = r.get<4>();
      d.profile_version = r.get<5>();
      d.nda_id = nda_id;
      Decoder decode("delivery " + std::to_string(d.id));
      decode.Word("transport", r.get<6>(), &d.transport);
      decode.Word("outcome", r.get<7>(), &d.outcome);
      if (!decode.status().ok()) return decode.status();
      out.push_back(std::move(d));
    }
    return out;
  });
}

// ---- Profiles --------------------------------------------------------------

Result<int> SqliteStore::PutProfile(const ContractProfile& p, bool* created) {
  int version = 0;
  bool is_new = false;
  Status status = RunTransaction("cannot store profile " + p.id, [&]() -> Status {
    if (!ContractorExists(p.contractor_id)) {
      return Status::NotFound("unknown contractor " + p.contractor_id);
    }
    std::vector<Poco::Tuple<int, std::string>> latest;
    session_ << "SELECT version, source_sha256 FROM profile WHERE id = ?"
                " ORDER BY version DESC LIMIT 1",
        into(latest), bind(p.id), now;
    if (!latest.empty() && latest.front().get<1>() == p.source_sha256) {
      version = latest.front().get<0>();
      return Status::Ok();
    }
    version = latest.empty() ? 1 : latest.front().get<0>() + 1;
    is_new = true;
    session_ << "INSERT INTO profile (" + std::string(kProfileColumns) +
                    ") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        bind(p.id), bind(version), bind(p.contractor_id), bind(p.purpose), bind(ToJson(p.fields)),
        bind(ToJson(p.transports)), bind(FormatDate(p.valid_from)), bind(FormatDate(p.valid_until)),
        bind(p.retention_days), bind(p.output_format), bind(p.output_encoding),
        bind(ToJson(p.masks)), bind(p.source), bind(p.source_sha256), bind(p.imported_by),
        bind(p.imported_at), bind(p.output_package), now;
    return Status::Ok();
  });
  if (!status.ok()) return status;
  if (created != nullptr) *created = is_new;
  return version;
}

Result<std::optional<ContractProfile>> SqliteStore::FindProfile(const std::string& id,
                                                                std::optional<int> version) {
  using Found = Result<std::optional<ContractProfile>>;
  return Guard("cannot read profile " + id, [&]() -> Found {
    std::vector<ProfileRow> rows;
    const std::string select = "SELECT " + std::string(kProfileColumns) + " FROM profile";
    if (version) {
      session_ << select + " WHERE id = ? AND version = ?", into(rows), bind(id), bind(*version),
          now;
    } else {
      session_ << select + " WHERE id = ? ORDER BY version DESC LIMIT 1", into(rows), bind(id), now;
    }
    return DecodeFirst<ContractProfile>(rows, ToProfile);
  });
}

Result<std::vector<ContractProfile>> SqliteStore::ListProfiles() {
  return Guard("cannot list profiles", [&]() -> Result<std::vector<ContractProfile>> {
    std::vector<ProfileRow> rows;
    session_ << "SELECT " + std::string(kProfileColumns) +
                    " FROM profile p WHERE version ="
                    " (SELECT MAX(version) FROM profile q WHERE q.id = p.id) ORDER BY id",
        into(rows), now;
    return DecodeAll<ContractProfile>(rows, ToProfile);
  });
}

// ---- Audit trail -----------------------------------------------------------

Result<std::optional<AuditEvent>> SqliteStore::LastAuditEvent() {
  return Guard("cannot read audit trail", [&]() -> Result<std::optional<AuditEvent>> {
    std::vector<AuditRow> rows;
    session_ << "SELECT " + std::string(kAuditColumns) +
                    " FROM audit_event ORDER BY seq DESC LIMIT 1",
        into(rows), now;
    return DecodeFirst<AuditEvent>(rows, ToAuditEvent);
  });
}

Status SqliteStore::AppendAuditEvent(const AuditEvent& e) {
  const std::string what = "cannot append audit event " + std::to_string(e.seq);
  return RunTransaction(what, [&]() -> Status {
    int count = 0;
    session_ << "SELECT COUNT(*) FROM audit_event WHERE seq = ?", into(count), bind(Int64{e.seq}),
        now;
    if (count > 0)
      return Status::Conflict("audit event " + std::to_string(e.seq) + " already exists");
    session_ << "INSERT INTO audit_event (" + std::string(kAuditColumns) +
                    ") VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        bind(Int64{e.seq}), bind(e.at), bind(e.actor), bind(e.action), bind(e.subject),
        bind(e.details), bind(e.prev_hash), bind(e.hash), now;
    return Status::Ok();
  });
}

Status SqliteStore::AddAuditCheckpoint(const AuditCheckpoint& c) {
  return RunTransaction("cannot add audit checkpoint " + std::to_string(c.seq), [&]() -> Status {
    session_ << "INSERT INTO audit_checkpoint (seq, head, at, key_id, signature)"
                " VALUES (?, ?, ?, ?, ?)",
        bind(Int64{c.seq}), bind(c.head), bind(c.at), bind(c.key_id), bind(c.signature), now;
    return Status::Ok();
  });
}

Result<std::vector<AuditCheckpoint>> SqliteStore::ListAuditCheckpoints() {
  using Listed = Result<std::vector<AuditCheckpoint>>;
  return Guard("cannot read audit checkpoints", [&]() -> Listed {
    using Row = Poco::Tuple<Int64, std::string, std::string, std::string, std::string>;
    std::vector<Row> rows;
    session_ << "SELECT seq, head, at, key_id, signature FROM audit_checkpoint ORDER BY seq",
        into(rows), now;
    std::vector<AuditCheckpoint> out;
    for (const Row& r : rows) {
      out.push_back({r.get<0>(), r.get<1>(), r.get<2>(), r.get<3>(), r.get<4>()});
    }
    return out;
  });
}

Result<std::vector<AuditEvent>> SqliteStore::ListAuditEvents(
    const std::string& from_utc, const std::string& to_utc, const std::string& actor,
    const std::string& action, const std::string& contractor, int limit) {
  // LIKE patterns are built from the filter with its wildcards escaped.
  auto escaped = [](const std::string& text) {
    std::string out;
    for (char c : text) {
      if (c == '%' || c == '_' || c == '\\') out += '\\';
      out += c;
    }
    return out;
  };
  std::string action_like;
  if (!action.empty()) {
    if (action.back() == '.') {
      action_like = escaped(action) + "%";
    } else if (action.front() == '.') {
      action_like = "%" + escaped(action);
    } else {
      action_like = escaped(action);
    }
  }
  const std::string detail_like =
      contractor.empty() ? "" : "%\"contractor\":\"" + escaped(contractor) + "\"%";
  return Guard("cannot read audit trail", [&]() -> Result<std::vector<AuditEvent>> {
    std::vector<AuditRow> rows;
    session_ << "SELECT " + std::string(kAuditColumns) +
                    " FROM audit_event WHERE at >= ? AND at < ?"
                    " AND (? = '' OR actor = ?)"
                    " AND (? = '' OR action LIKE ? ESCAPE '\\')"
                    " AND (? = '' OR subject = ? OR details LIKE ? ESCAPE '\\')"
                    " ORDER BY seq DESC LIMIT ?",
        into(rows), bind(from_utc), bind(to_utc), bind(actor), bind(actor), bind(action_like),
        bind(action_like), bind(contractor), bind("contractor:" + contractor), bind(detail_like),
        bind(limit), now;
    std::vector<AuditEvent> out;
    for (const AuditRow& row : rows) out.push_back(ToAuditEvent(row));
    return out;
  });
}

Status SqliteStore::ForEachAuditEvent(const std::function<bool(const AuditEvent&)>& visit) {
  return Guard("cannot read audit trail", [&]() -> Status {
    std::vector<AuditRow> rows;
    Statement select(session_);
    select << "SELECT " + std::string(kAuditColumns) + " FROM audit_event ORDER BY seq", into(rows),
        limit(kStreamBatch);
    while (!select.done()) {
      rows.clear();
      select.execute();
      for (const AuditRow& row : rows) {
        if (!visit(ToAuditEvent(row))) return Status::Ok();
      }
    }
    return Status::Ok();
  });
}

}  // namespace detail
}  // namespace itaku::contracts
