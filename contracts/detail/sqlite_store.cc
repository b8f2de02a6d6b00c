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

#include "contracts/detail/migrations.h"
#include "contracts/base/layout.h"

namespace itaku::contracts {

Store::~Store() = default;

Result<std::unique_ptr<Store>> Store::OpenSqlite(const std::string& path) {
  return detail::SqliteStore::Open(path);
}

namespace detail {
namespace {

using namespace Poco::Data::Keywords;
using Poco::Int64;
using Poco::Data::Statement;

constexpr std::size_t kBusyTimeoutSeconds = 5;
constexpr std::size_t kStreamBatch = 1000;
constexpr const char* kDelivered = "delivered";
// An SFTP delivery whose upload began and has no outcome yet (or whose run
// died): the data may have reached the contractor, so it counts as received.
constexpr const char* kSending = "sending";

// Poco and SQLite messages may span lines; ours are one line.
std::string OneLine(std::string text) {
  for (char& c : text) {
    if (c == '\n' || c == '\r') c = ' ';
  }
  while (!text.empty() && text.back() == ' ') text.pop_back();
  return text;
}

std::string Describe(const std::exception_ptr& error) {
  try {
    std::rethrow_exception(error);
  } catch (const Poco::Exception& e) {
    return OneLine(e.displayText());
  } catch (const std::exception& e) {
    return OneLine(e.what());
  } catch (...) {
    return "unknown error";
  }
}

// Runs `body` (returning Status or Result<T>); an exception becomes
// "<what>: <reason>". The boundary between Poco's throwing world and ours.
template <typename Body>
auto Guard(const std::string& what, Body&& body) -> decltype(body()) {
  try {
    return body();
  } catch (...) {
    return decltype(body())(Status::Error(what + ": " + Describe(std::current_exception())));
  }
}

std::string NowUtc() {
  return Poco::DateTimeFormatter::format(Poco::Timestamp(), "%Y-%m-%dT%H:%M:%SZ");
}

std::string ToJson(const std::vector<std::string>& list) { return nlohmann::json(list).dump(); }
std::string ToJson(const std::map<std::string, std::string>& map) {
  return nlohmann::json(map).dump();
}

bool FromJson(const std::string& text, std::vector<std::string>* out) {
  nlohmann::json json = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (!json.is_array()) return false;
  out->clear();
  for (const auto& element : json) {
    if (!element.is_string()) return false;
    out->push_back(element.get<std::string>());
  }
  return true;
}

bool FromJson(const std::string& text, std::map<std::string, std::string>* out) {
  nlohmann::json json = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (!json.is_object()) return false;
  out->clear();
  for (const auto& [key, value] : json.items()) {
    if (!value.is_string()) return false;
    (*out)[key] = value.get<std::string>();
  }
  return true;
}

// Reads a stored value back; `record` names the row in the error.
class Decoder {
 public:
  explicit Decoder(std::string record) : record_(std::move(record)) {}

  void Date(const std::string& column, const std::string& text, itaku::Date* out) {
    std::optional<itaku::Date> date = ParseDate(text);
    if (date) {
      *out = *date;
    } else {
      Fail(column + " is not a date: '" + text + "'");
    }
  }
  template <typename T>
  void Json(const std::string& column, const std::string& text, T* out) {
    if (!FromJson(text, out)) Fail(column + " is not valid JSON of the expected shape");
  }
  void ContractorStatusOf(const std::string& text, ContractorStatus* out) {
    std::optional<ContractorStatus> status = ParseContractorStatus(text);
    if (status) {
      *out = *status;
    } else {
      Fail("unknown status '" + text + "'");
    }
  }
  itaku::Status status() const { return status_; }

 private:
  void Fail(const std::string& what) {
    if (status_.ok()) status_ = itaku::Status::Error("corrupt " + record_ + ": " + what);
  }
  std::string record_;
  itaku::Status status_;
};

// ---- Row shapes: the SELECT lists below and these tuples change together.

constexpr const char* kContractorColumns = "id, name, status, email, created_at";
using ContractorRow = Poco::Tuple<std::string, std::string, std::string, std::string, std::string>;

Result<Contractor> ToContractor(const ContractorRow& row) {
  Contractor c;
  c.id = row.get<0>();
  c.name = row.get<1>();
  c.email = row.get<3>();
  c.created_at = row.get<4>();
  Decoder decode("contractor " + c.id);
  decode.ContractorStatusOf(row.get<2>(), &c.status);
  if (!decode.status().ok()) return decode.status();
  return c;
}

constexpr const char* kNdaColumns =
    "id, contractor_id, signed_on, in_force_from, in_force_until, signatories, document_sha256,"
    " document_path, registered_by, registered_at";
using NdaRow = Poco::Tuple<Int64, std::string, std::string, std::string, std::string, std::string,
                           std::string, std::string, std::string, std::string>;

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
  p.source_sha256 = row.get<13>();
  p.imported_by = row.get<14>();
  p.imported_at = row.get<15>();
  p.output_package = row.get<16>();
  if (!decode.status().ok()) return decode.status();
  return p;
}

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
  d.transport = row.get<7>();
  d.outcome = row.get<8>();
  d.reason = row.get<9>();
  Decoder decode("delivery " + std::to_string(d.id));
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
    r.transport = row.get<6>();
    if (r.delivery_id != fields_of_ || fields_text_ != row.get<7>()) {
      Decoder decode("delivery " + std::to_string(r.delivery_id));
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
    : path_(std::move(path)), document_dir_(StoreLayout(path_).Documents()), session_(std::move(session)) {}

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

// ---- Contractors -----------------------------------------------------------

bool SqliteStore::ContractorExists(const std::string& id) {
  int count = 0;
  session_ << "SELECT COUNT(*) FROM contractor WHERE id = ?", into(count), bind(id), now;
  return count > 0;
}

Status SqliteStore::AddContractor(const Contractor& c) {
  const std::string what = "cannot add contractor " + c.id;
  return RunTransaction(what, [&]() -> Status {
    if (ContractorExists(c.id)) return Status::Error("contractor " + c.id + " already exists");
    session_ << "INSERT INTO contractor (id, name, status, email, created_at)"
                " VALUES (?, ?, ?, ?, ?)",
        bind(c.id), bind(c.name), bind(std::string(ToString(c.status))), bind(c.email),
        bind(c.created_at), now;
    return Status::Ok();
  });
}

Result<std::optional<Contractor>> SqliteStore::FindContractor(const std::string& id) {
  return Guard("cannot read contractor " + id, [&]() -> Result<std::optional<Contractor>> {
    std::vector<ContractorRow> rows;
    session_ << "SELECT " + std::string(kContractorColumns) + " FROM contractor WHERE id = ?",
        into(rows), bind(id), now;
    if (rows.empty()) return std::optional<Contractor>();
    Result<Contractor> contractor = ToContractor(rows.front());
    if (!contractor.ok()) return contractor.status();
    return std::optional<Contractor>(std::move(contractor).value());
  });
}

Result<std::vector<Contractor>> SqliteStore::ListContractors() {
  return Guard("cannot list contractors", [&]() -> Result<std::vector<Contractor>> {
    std::vector<ContractorRow> rows;
    session_ << "SELECT " + std::string(kContractorColumns) + " FROM contractor ORDER BY id",
        into(rows), now;
    std::vector<Contractor> contractors;
    for (const ContractorRow& row : rows) {
      Result<Contractor> contractor = ToContractor(row);
      if (!contractor.ok()) return contractor.status();
      contractors.push_back(std::move(contractor).value());
    }
    return contractors;
  });
}

Status SqliteStore::SetContractorStatus(const std::string& id, ContractorStatus status) {
  return RunTransaction("cannot set status of contractor " + id, [&]() -> Status {
    if (!ContractorExists(id)) return Status::Error("unknown contractor " + id);
    session_ << "UPDATE contractor SET status = ? WHERE id = ?",
        bind(std::string(ToString(status))), bind(id), now;
    return Status::Ok();
  });
}

Status SqliteStore::UpdateContractor(const Contractor& c) {
  return RunTransaction("cannot update contractor " + c.id, [&]() -> Status {
    if (!ContractorExists(c.id)) return Status::Error("unknown contractor " + c.id);
    session_ << "UPDATE contractor SET name = ?, email = ? WHERE id = ?", bind(c.name),
        bind(c.email), bind(c.id), now;
    return Status::Ok();
  });
}

// ---- NDAs ------------------------------------------------------------------

Result<int64_t> SqliteStore::AddNda(const Nda& n) {
  int64_t id = 0;
  Status status =
      RunTransaction("cannot add NDA for contractor " + n.contractor_id, [&]() -> Status {
        if (!ContractorExists(n.contractor_id)) {
          return Status::Error("unknown contractor " + n.contractor_id);
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
    std::vector<Nda> ndas;
    for (const NdaRow& row : rows) {
      Result<Nda> nda = ToNda(row);
      if (!nda.ok()) return nda.status();
      ndas.push_back(std::move(nda).value());
    }
    return ndas;
  });
}

// ---- Profiles --------------------------------------------------------------

Result<int> SqliteStore::PutProfile(const ContractProfile& p, bool* created) {
  int version = 0;
  bool is_new = false;
  Status status = RunTransaction("cannot store profile " + p.id, [&]() -> Status {
    if (!ContractorExists(p.contractor_id)) {
      return Status::Error("unknown contractor " + p.contractor_id);
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
    if (rows.empty()) return std::optional<ContractProfile>();
    Result<ContractProfile> profile = ToProfile(rows.front());
    if (!profile.ok()) return profile.status();
    return std::optional<ContractProfile>(std::move(profile).value());
  });
}

Result<std::vector<ContractProfile>> SqliteStore::ListProfiles() {
  return Guard("cannot list profiles", [&]() -> Result<std::vector<ContractProfile>> {
    std::vector<ProfileRow> rows;
    session_ << "SELECT " + std::string(kProfileColumns) +
                    " FROM profile p WHERE version ="
                    " (SELECT MAX(version) FROM profile q WHERE q.id = p.id) ORDER BY id",
        into(rows), now;
    std::vector<ContractProfile> profiles;
    for (const ProfileRow& row : rows) {
      Result<ContractProfile> profile = ToProfile(row);
      if (!profile.ok()) return profile.status();
      profiles.push_back(std::move(profile).value());
    }
    return profiles;
  });
}

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
        bind(d.profile_version), use(nda_id), bind(d.transport), bind(d.outcome), bind(d.reason),
        bind(ToJson(d.fields)), bind(Int64{d.record_count}), bind(d.input_name),
        bind(d.package_sha256), now;
    return int64_t{id};
  });
}

Status SqliteStore::AddDeliverySubscribers(int64_t delivery_id,
                                           const std::vector<std::string>& subscriber_ids) {
  const std::string what = "cannot add subscribers to delivery " + std::to_string(delivery_id);
  return RunTransaction(what, [&]() -> Status {
    if (!DeliveryExists(delivery_id)) {
      return Status::Error("unknown delivery " + std::to_string(delivery_id));
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

Status SqliteStore::SetDeliveryOutcome(int64_t delivery_id, const std::string& outcome,
                                       const std::string& reason, int64_t record_count,
                                       const std::string& package_sha256) {
  const std::string what = "cannot set outcome of delivery " + std::to_string(delivery_id);
  return RunTransaction(what, [&]() -> Status {
    if (!DeliveryExists(delivery_id)) {
      return Status::Error("unknown delivery " + std::to_string(delivery_id));
    }
    session_ << "UPDATE delivery SET outcome = ?, reason = ?, record_count = ?,"
                " package_sha256 = ? WHERE id = ?",
        bind(outcome), bind(reason), bind(Int64{record_count}), bind(package_sha256),
        bind(Int64{delivery_id}), now;
    return Status::Ok();
  });
}

Result<std::optional<DeliveryRecord>> SqliteStore::FindDelivery(int64_t id) {
  using Found = Result<std::optional<DeliveryRecord>>;
  return Guard("cannot read delivery " + std::to_string(id), [&]() -> Found {
    std::vector<DeliveryRow> rows;
    session_ << "SELECT " + std::string(kDeliveryColumns) + " FROM delivery WHERE id = ?",
        into(rows), bind(Int64{id}), now;
    if (rows.empty()) return std::optional<DeliveryRecord>();
    Result<DeliveryRecord> delivery = ToDelivery(rows.front());
    if (!delivery.ok()) return delivery.status();
    return std::optional<DeliveryRecord>(std::move(delivery).value());
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
                     into(rows), bind(subscriber_id), bind(std::string(kDelivered)),
                     bind(std::string(kSending)), now;
                 ReceiptDecoder decode;
                 std::vector<Receipt> receipts;
                 for (const ReceiptRow& row : rows) {
                   Result<Receipt> receipt = decode(row);
                   if (!receipt.ok()) return receipt.status();
                   receipts.push_back(std::move(receipt).value());
                 }
                 return receipts;
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
        into(rows), bind(contractor_id), bind(std::string(kDelivered)), bind(std::string(kSending)),
        bind(FormatDate(since)), bind(FormatDate(until)), limit(kStreamBatch);
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
      return Status::Error("unknown contractor " + c.contractor_id);
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
    if (rows.empty()) return std::optional<ContractorCertificate>();
    ContractorCertificate c;
    c.contractor_id = contractor_id;
    c.use = use;
    c.pem = rows[0].get<0>();
    c.fingerprint = rows[0].get<1>();
    c.subject = rows[0].get<2>();
    c.not_after = rows[0].get<3>();
    c.registered_by = rows[0].get<4>();
    c.registered_at = rows[0].get<5>();
    return std::optional<ContractorCertificate>(std::move(c));
  });
}

// ---- SFTP endpoints and attempts ------------------------------------------

Status SqliteStore::PutSftpEndpoint(const SftpEndpointRecord& e) {
  const std::string what = "cannot store SFTP endpoint of contractor " + e.contractor_id;
  return RunTransaction(what, [&]() -> Status {
    if (!ContractorExists(e.contractor_id)) {
      return Status::Error("unknown contractor " + e.contractor_id);
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
    if (rows.empty()) return std::optional<SftpEndpointRecord>();
    SftpEndpointRecord e;
    e.contractor_id = contractor_id;
    e.url = rows[0].get<0>();
    e.host_key = rows[0].get<1>();
    e.key_path = rows[0].get<2>();
    e.passphrase_source = rows[0].get<3>();
    e.registered_by = rows[0].get<4>();
    e.registered_at = rows[0].get<5>();
    return std::optional<SftpEndpointRecord>(std::move(e));
  });
}

Status SqliteStore::AddDeliveryAttempt(const DeliveryAttempt& a) {
  const std::string what = "cannot record attempt of delivery " + std::to_string(a.delivery_id);
  return RunTransaction(what, [&]() -> Status {
    if (!DeliveryExists(a.delivery_id)) {
      return Status::Error("unknown delivery " + std::to_string(a.delivery_id));
    }
    session_ << "INSERT INTO delivery_attempt (delivery_id, attempt, started_at, finished_at,"
                " outcome, error) VALUES (?, ?, ?, ?, ?, ?)",
        bind(Int64{a.delivery_id}), bind(a.attempt), bind(a.started_at), bind(a.finished_at),
        bind(a.outcome), bind(a.error), now;
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
      a.outcome = r.get<3>();
      a.error = r.get<4>();
      out.push_back(std::move(a));
    }
    return out;
  });
}

// ---- Media -----------------------------------------------------------------

namespace {
constexpr const char* kMediaColumns =
    "delivery_id, package_name, state, medium, handed_to, handed_over_at, handed_over_by,"
    " closed_at, closed_by";
using MediaRow = Poco::Tuple<Int64, std::string, std::string, std::string, std::string, std::string,
                             std::string, std::string, std::string>;
MediaRecord ToMedia(const MediaRow& r) {
  MediaRecord m;
  m.delivery_id = r.get<0>();
  m.package_name = r.get<1>();
  m.state = r.get<2>();
  m.medium = r.get<3>();
  m.handed_to = r.get<4>();
  m.handed_over_at = r.get<5>();
  m.handed_over_by = r.get<6>();
  m.closed_at = r.get<7>();
  m.closed_by = r.get<8>();
  return m;
}
}  // namespace

Status SqliteStore::AddMediaRecord(const MediaRecord& m) {
  const std::string what = "cannot record medium of delivery " + std::to_string(m.delivery_id);
  return RunTransaction(what, [&]() -> Status {
    if (!DeliveryExists(m.delivery_id)) {
      return Status::Error("unknown delivery " + std::to_string(m.delivery_id));
    }
    session_ << "INSERT INTO media (" + std::string(kMediaColumns) +
                    ") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        bind(Int64{m.delivery_id}), bind(m.package_name), bind(m.state), bind(m.medium),
        bind(m.handed_to), bind(m.handed_over_at), bind(m.handed_over_by), bind(m.closed_at),
        bind(m.closed_by), now;
    return Status::Ok();
  });
}

Status SqliteStore::UpdateMediaRecord(const MediaRecord& m) {
  const std::string what = "cannot update medium of delivery " + std::to_string(m.delivery_id);
  return RunTransaction(what, [&]() -> Status {
    int changed = 0;
    Statement update(session_);
    update << "UPDATE media SET package_name = ?, state = ?, medium = ?, handed_to = ?,"
              " handed_over_at = ?, handed_over_by = ?, closed_at = ?, closed_by = ?"
              " WHERE delivery_id = ?",
        bind(m.package_name), bind(m.state), bind(m.medium), bind(m.handed_to),
        bind(m.handed_over_at), bind(m.handed_over_by), bind(m.closed_at), bind(m.closed_by),
        bind(Int64{m.delivery_id});
    changed = static_cast<int>(update.execute());
    if (changed == 0) {
      return Status::Error("delivery " + std::to_string(m.delivery_id) +
                           " has no medium on record");
    }
    return Status::Ok();
  });
}

Result<std::optional<MediaRecord>> SqliteStore::FindMediaRecord(int64_t delivery_id) {
  using Found = Result<std::optional<MediaRecord>>;
  return Guard("cannot read medium of delivery " + std::to_string(delivery_id), [&]() -> Found {
    std::vector<MediaRow> rows;
    session_ << "SELECT " + std::string(kMediaColumns) + " FROM media WHERE delivery_id = ?",
        into(rows), bind(Int64{delivery_id}), now;
    if (rows.empty()) return std::optional<MediaRecord>();
    return std::optional<MediaRecord>(ToMedia(rows.front()));
  });
}

Result<std::vector<MediaRecord>> SqliteStore::ListMediaRecords(bool outstanding_only) {
  return Guard("cannot list media", [&]() -> Result<std::vector<MediaRecord>> {
    std::vector<MediaRow> rows;
    const std::string a = outstanding_only ? "written" : "%";
    const std::string b = outstanding_only ? "handed-over" : "%";
    session_ << "SELECT " + std::string(kMediaColumns) +
                    " FROM media WHERE state LIKE ? OR state LIKE ? ORDER BY delivery_id",
        into(rows), bind(a), bind(b), now;
    std::vector<MediaRecord> out;
    for (const auto& r : rows) out.push_back(ToMedia(r));
    return out;
  });
}

// ---- Audit trail -----------------------------------------------------------

Result<std::optional<AuditEvent>> SqliteStore::LastAuditEvent() {
  return Guard("cannot read audit trail", [&]() -> Result<std::optional<AuditEvent>> {
    std::vector<AuditRow> rows;
    session_ << "SELECT " + std::string(kAuditColumns) +
                    " FROM audit_event ORDER BY seq DESC LIMIT 1",
        into(rows), now;
    if (rows.empty()) return std::optional<AuditEvent>();
    return std::optional<AuditEvent>(ToAuditEvent(rows.front()));
  });
}

Status SqliteStore::AppendAuditEvent(const AuditEvent& e) {
  const std::string what = "cannot append audit event " + std::to_string(e.seq);
  return RunTransaction(what, [&]() -> Status {
    int count = 0;
    session_ << "SELECT COUNT(*) FROM audit_event WHERE seq = ?", into(count), bind(Int64{e.seq}),
        now;
    if (count > 0) return Status::Error("audit event " + std::to_string(e.seq) + " already exists");
    session_ << "INSERT INTO audit_event (" + std::string(kAuditColumns) +
                    ") VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        bind(Int64{e.seq}), bind(e.at), bind(e.actor), bind(e.action), bind(e.subject),
        bind(e.details), bind(e.prev_hash), bind(e.hash), now;
    return Status::Ok();
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

// ---- Staff -----------------------------------------------------------------

Status SqliteStore::AddStaff(const StaffMember& m) {
  return RunTransaction("cannot add staff member " + m.name, [&]() -> Status {
    int count = 0;
    session_ << "SELECT COUNT(*) FROM staff WHERE name = ?", into(count), bind(m.name), now;
    if (count > 0) return Status::Error("staff member " + m.name + " already exists");
    session_ << "INSERT INTO staff (name, role, added_by, added_at) VALUES (?, ?, ?, ?)",
        bind(m.name), bind(m.role), bind(m.added_by), bind(m.added_at), now;
    return Status::Ok();
  });
}

namespace {
using StaffRow = Poco::Tuple<std::string, std::string, std::string, std::string>;
StaffMember ToStaff(const StaffRow& r) {
  return StaffMember{r.get<0>(), r.get<1>(), r.get<2>(), r.get<3>()};
}
}  // namespace

Result<std::optional<StaffMember>> SqliteStore::FindStaff(const std::string& name) {
  using Found = Result<std::optional<StaffMember>>;
  return Guard("cannot read staff member " + name, [&]() -> Found {
    std::vector<StaffRow> rows;
    session_ << "SELECT name, role, added_by, added_at FROM staff WHERE name = ?", into(rows),
        bind(name), now;
    if (rows.empty()) return std::optional<StaffMember>();
    return std::optional<StaffMember>(ToStaff(rows.front()));
  });
}

Result<std::vector<StaffMember>> SqliteStore::ListStaff() {
  return Guard("cannot list staff", [&]() -> Result<std::vector<StaffMember>> {
    std::vector<StaffRow> rows;
    session_ << "SELECT name, role, added_by, added_at FROM staff ORDER BY name", into(rows), now;
    std::vector<StaffMember> out;
    for (const StaffRow& r : rows) out.push_back(ToStaff(r));
    return out;
  });
}

Status SqliteStore::RemoveStaff(const std::string& name) {
  return RunTransaction("cannot remove staff member " + name, [&]() -> Status {
    int count = 0;
    session_ << "SELECT COUNT(*) FROM staff WHERE name = ?", into(count), bind(name), now;
    if (count == 0) return Status::Error("unknown staff member " + name);
    session_ << "DELETE FROM staff WHERE name = ?", bind(name), now;
    return Status::Ok();
  });
}

// ---- Special requests ------------------------------------------------------

namespace {

nlohmann::json OptionalBool(const std::optional<bool>& b) {
  return b ? nlohmann::json(*b) : nlohmann::json();
}

std::optional<bool> ReadOptionalBool(const nlohmann::json& j, const char* key) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return std::nullopt;
  return it->get<bool>();
}

std::string SpecialJson(const SpecialRequest& r) {
  return nlohmann::json{{"subscriber_id", r.subscriber_id},
                        {"contractor_id", r.contractor_id},
                        {"purpose", r.purpose},
                        {"kind", r.kind},
                        {"fields", r.fields},
                        {"consent_sha256", r.consent_sha256},
                        {"consent_path", r.consent_path},
                        {"valid_from", FormatDate(r.valid_from)},
                        {"valid_until", r.valid_until ? FormatDate(*r.valid_until) : std::string()},
                        {"created_by", r.created_by},
                        {"created_at", r.created_at},
                        {"ended_by", r.ended_by},
                        {"ended_at", r.ended_at},
                        {"end_reason", r.end_reason}}
      .dump();
}

Result<SpecialRequest> ToSpecial(int64_t id, const std::string& text) {
  const std::string what = "special request " + std::to_string(id) + ": stored record is damaged";
  try {
    const nlohmann::json j = nlohmann::json::parse(text);
    SpecialRequest r;
    r.id = id;
    r.subscriber_id = j.at("subscriber_id").get<std::string>();
    r.contractor_id = j.at("contractor_id").get<std::string>();
    r.purpose = j.at("purpose").get<std::string>();
    r.kind = j.at("kind").get<std::string>();
    r.fields = j.at("fields").get<std::vector<std::string>>();
    r.consent_sha256 = j.at("consent_sha256").get<std::string>();
    r.consent_path = j.at("consent_path").get<std::string>();
    std::optional<Date> from = ParseDate(j.at("valid_from").get<std::string>());
    if (!from) return Result<SpecialRequest>::Error(what);
    r.valid_from = *from;
    const std::string until = j.at("valid_until").get<std::string>();
    if (!until.empty()) {
      r.valid_until = ParseDate(until);
      if (!r.valid_until) return Result<SpecialRequest>::Error(what);
    }
    r.created_by = j.at("created_by").get<std::string>();
    r.created_at = j.at("created_at").get<std::string>();
    r.ended_by = j.at("ended_by").get<std::string>();
    r.ended_at = j.at("ended_at").get<std::string>();
    r.end_reason = j.at("end_reason").get<std::string>();
    return r;
  } catch (const nlohmann::json::exception&) {
    return Result<SpecialRequest>::Error(what);
  }
}

}  // namespace

Result<int64_t> SqliteStore::AddSpecialRequest(const SpecialRequest& r) {
  int64_t id = 0;
  Status status = RunTransaction(
      "cannot add special request for subscriber " + r.subscriber_id, [&]() -> Status {
        if (!r.contractor_id.empty() && !ContractorExists(r.contractor_id)) {
          return Status::Error("unknown contractor " + r.contractor_id);
        }
        session_ << "INSERT INTO special_request (subscriber_id, contractor_id, purpose,"
                    " ended_at, details) VALUES (?, ?, ?, ?, ?) RETURNING id",
            into(id), bind(r.subscriber_id), bind(r.contractor_id), bind(r.purpose),
            bind(r.ended_at), bind(SpecialJson(r)), now;
        return Status::Ok();
      });
  if (!status.ok()) return status;
  return id;
}

Status SqliteStore::UpdateSpecialRequest(const SpecialRequest& r) {
  return RunTransaction("cannot update special request " + std::to_string(r.id), [&]() -> Status {
    int count = 0;
    session_ << "SELECT COUNT(*) FROM special_request WHERE id = ?", into(count), bind(Int64{r.id}),
        now;
    if (count == 0) return Status::Error("unknown special request " + std::to_string(r.id));
    session_ << "UPDATE special_request SET contractor_id = ?, purpose = ?, ended_at = ?,"
                " details = ? WHERE id = ?",
        bind(r.contractor_id), bind(r.purpose), bind(r.ended_at), bind(SpecialJson(r)),
        bind(Int64{r.id}), now;
    return Status::Ok();
  });
}

Result<std::optional<SpecialRequest>> SqliteStore::FindSpecialRequest(int64_t id) {
  using Found = Result<std::optional<SpecialRequest>>;
  return Guard("cannot read special request " + std::to_string(id), [&]() -> Found {
    std::vector<std::string> rows;
    session_ << "SELECT details FROM special_request WHERE id = ?", into(rows), bind(Int64{id}),
        now;
    if (rows.empty()) return std::optional<SpecialRequest>();
    Result<SpecialRequest> r = ToSpecial(id, rows.front());
    if (!r.ok()) return r.status();
    return std::optional<SpecialRequest>(std::move(r).value());
  });
}

Result<std::vector<SpecialRequest>> SqliteStore::ListSpecialRequests(
    const std::optional<std::string>& subscriber_id, bool include_ended) {
  using Listed = Result<std::vector<SpecialRequest>>;
  return Guard("cannot list special requests", [&]() -> Listed {
    std::vector<Poco::Tuple<Int64, std::string>> rows;
    const std::string subscriber = subscriber_id.value_or("");
    const int all = include_ended ? 1 : 0;
    session_ << "SELECT id, details FROM special_request"
                " WHERE (? = '' OR subscriber_id = ?) AND (? = 1 OR ended_at = '') ORDER BY id",
        into(rows), bind(subscriber), bind(subscriber), bind(all), now;
    std::vector<SpecialRequest> out;
    for (const auto& row : rows) {
      Result<SpecialRequest> r = ToSpecial(row.get<0>(), row.get<1>());
      if (!r.ok()) return r.status();
      out.push_back(std::move(r).value());
    }
    return out;
  });
}

Status SqliteStore::AddDeliverySpecialRequests(int64_t delivery_id,
                                               const std::vector<int64_t>& request_ids) {
  return RunTransaction(
      "cannot record special requests of delivery " + std::to_string(delivery_id), [&]() -> Status {
        for (int64_t request : request_ids) {
          session_ << "INSERT INTO delivery_special_request (delivery_id, special_request_id)"
                      " VALUES (?, ?)",
              bind(Int64{delivery_id}), bind(Int64{request}), now;
        }
        return Status::Ok();
      });
}

Result<std::vector<int64_t>> SqliteStore::ListDeliverySpecialRequests(int64_t delivery_id) {
  return Guard("cannot read special requests of delivery " + std::to_string(delivery_id),
               [&]() -> Result<std::vector<int64_t>> {
                 std::vector<Int64> rows;
                 session_ << "SELECT special_request_id FROM delivery_special_request"
                             " WHERE delivery_id = ? ORDER BY special_request_id",
                     into(rows), bind(Int64{delivery_id}), now;
                 return std::vector<int64_t>(rows.begin(), rows.end());
               });
}

// ---- Corrective-action requests --------------------------------------------

namespace {

std::string CorrectiveJson(const CorrectiveRequest& r) {
  return nlohmann::json{{"subscriber_id", r.subscriber_id},
                        {"channel", r.channel},
                        {"contractor_id", r.contractor_id},
                        {"request_text", r.request_text},
                        {"received_at", r.received_at},
                        {"received_by", r.received_by},
                        {"contact_email", r.contact_email},
                        {"state", r.state},
                        {"justified", OptionalBool(r.justified)},
                        {"decision_reason", r.decision_reason},
                        {"decided_by", r.decided_by},
                        {"decided_at", r.decided_at},
                        {"instruction_text", r.instruction_text},
                        {"instructed_to", r.instructed_to},
                        {"instruction_via", r.instruction_via},
                        {"instructed_by", r.instructed_by},
                        {"instructed_at", r.instructed_at},
                        {"answer_text", r.answer_text},
                        {"answered_by", r.answered_by},
                        {"answered_at", r.answered_at},
                        {"carried_out", OptionalBool(r.carried_out)},
                        {"close_reason", r.close_reason},
                        {"closed_by", r.closed_by},
                        {"closed_at", r.closed_at},
                        {"notice_via", r.notice_via},
                        {"notice_to", r.notice_to},
                        {"notice_subject", r.notice_subject},
                        {"notice_text", r.notice_text},
                        {"notified_by", r.notified_by},
                        {"notified_at", r.notified_at},
                        {"notice_error", r.notice_error},
                        {"notice_error_at", r.notice_error_at}}
      .dump();
}

Result<CorrectiveRequest> ToCorrective(int64_t id, const std::string& text) {
  try {
    const nlohmann::json j = nlohmann::json::parse(text);
    CorrectiveRequest r;
    r.id = id;
    auto str = [&](const char* key, std::string* out) { *out = j.at(key).get<std::string>(); };
    str("subscriber_id", &r.subscriber_id);
    str("channel", &r.channel);
    str("contractor_id", &r.contractor_id);
    str("request_text", &r.request_text);
    str("received_at", &r.received_at);
    str("received_by", &r.received_by);
    str("contact_email", &r.contact_email);
    str("state", &r.state);
    r.justified = ReadOptionalBool(j, "justified");
    str("decision_reason", &r.decision_reason);
    str("decided_by", &r.decided_by);
    str("decided_at", &r.decided_at);
    str("instruction_text", &r.instruction_text);
    str("instructed_to", &r.instructed_to);
    str("instruction_via", &r.instruction_via);
    str("instructed_by", &r.instructed_by);
    str("instructed_at", &r.instructed_at);
    str("answer_text", &r.answer_text);
    str("answered_by", &r.answered_by);
    str("answered_at", &r.answered_at);
    r.carried_out = ReadOptionalBool(j, "carried_out");
    str("close_reason", &r.close_reason);
    str("closed_by", &r.closed_by);
    str("closed_at", &r.closed_at);
    str("notice_via", &r.notice_via);
    str("notice_to", &r.notice_to);
    str("notice_subject", &r.notice_subject);
    str("notice_text", &r.notice_text);
    str("notified_by", &r.notified_by);
    str("notified_at", &r.notified_at);
    str("notice_error", &r.notice_error);
    str("notice_error_at", &r.notice_error_at);
    return r;
  } catch (const nlohmann::json::exception&) {
    return Result<CorrectiveRequest>::Error("request " + std::to_string(id) +
                                            ": stored record is damaged");
  }
}

}  // namespace

Result<int64_t> SqliteStore::AddCorrectiveRequest(const CorrectiveRequest& r) {
  int64_t id = 0;
  Status status =
      RunTransaction("cannot add request of subscriber " + r.subscriber_id, [&]() -> Status {
        if (!ContractorExists(r.contractor_id)) {
          return Status::Error("unknown contractor " + r.contractor_id);
        }
        session_ << "INSERT INTO corrective_request (subscriber_id, contractor_id, state,"
                    " received_at, details) VALUES (?, ?, ?, ?, ?) RETURNING id",
            into(id), bind(r.subscriber_id), bind(r.contractor_id), bind(r.state),
            bind(r.received_at), bind(CorrectiveJson(r)), now;
        return Status::Ok();
      });
  if (!status.ok()) return status;
  return id;
}

Status SqliteStore::UpdateCorrectiveRequest(const CorrectiveRequest& r) {
  return RunTransaction("cannot update request " + std::to_string(r.id), [&]() -> Status {
    int count = 0;
    session_ << "SELECT COUNT(*) FROM corrective_request WHERE id = ?", into(count),
        bind(Int64{r.id}), now;
    if (count == 0) return Status::Error("unknown request " + std::to_string(r.id));
    session_ << "UPDATE corrective_request SET subscriber_id = ?, contractor_id = ?, state = ?,"
                " received_at = ?, details = ? WHERE id = ?",
        bind(r.subscriber_id), bind(r.contractor_id), bind(r.state), bind(r.received_at),
        bind(CorrectiveJson(r)), bind(Int64{r.id}), now;
    return Status::Ok();
  });
}

Result<std::optional<CorrectiveRequest>> SqliteStore::FindCorrectiveRequest(int64_t id) {
  using Found = Result<std::optional<CorrectiveRequest>>;
  return Guard("cannot read request " + std::to_string(id), [&]() -> Found {
    std::vector<std::string> rows;
    session_ << "SELECT details FROM corrective_request WHERE id = ?", into(rows), bind(Int64{id}),
        now;
    if (rows.empty()) return std::optional<CorrectiveRequest>();
    Result<CorrectiveRequest> r = ToCorrective(id, rows.front());
    if (!r.ok()) return r.status();
    return std::optional<CorrectiveRequest>(std::move(r).value());
  });
}

Result<std::vector<CorrectiveRequest>> SqliteStore::ListCorrectiveRequests(
    const std::optional<std::string>& contractor_id, const std::optional<std::string>& state) {
  using Listed = Result<std::vector<CorrectiveRequest>>;
  return Guard("cannot list requests", [&]() -> Listed {
    std::vector<Poco::Tuple<Int64, std::string>> rows;
    // Absent filters bind '' and match everything: one statement, no
    // string-built SQL.
    session_ << "SELECT id, details FROM corrective_request"
                " WHERE (? = '' OR contractor_id = ?) AND (? = '' OR state = ?) ORDER BY id",
        into(rows), bind(contractor_id.value_or("")), bind(contractor_id.value_or("")),
        bind(state.value_or("")), bind(state.value_or("")), now;
    std::vector<CorrectiveRequest> out;
    for (const auto& row : rows) {
      Result<CorrectiveRequest> r = ToCorrective(row.get<0>(), row.get<1>());
      if (!r.ok()) return r.status();
      out.push_back(std::move(r).value());
    }
    return out;
  });
}

// ---- Portal ---------------------------------------------------------------

Result<std::optional<std::string>> SqliteStore::FindContractorByCertificate(
    const std::string& fingerprint, const std::string& use) {
  using Found = Result<std::optional<std::string>>;
  return Guard("cannot look up certificate " + fingerprint, [&]() -> Found {
    std::vector<std::string> rows;
    session_ << "SELECT contractor_id FROM contractor_certificate WHERE fingerprint = ? AND"
                " use = ? ORDER BY contractor_id",
        into(rows), bind(fingerprint), bind(use), now;
    if (rows.empty()) return std::optional<std::string>();
    return std::optional<std::string>(rows.front());
  });
}

namespace {
constexpr const char* kPortalColumns =
    "id, delivery_id, contractor_id, file_name, path, size, sha256, expires_at, max_downloads,"
    " downloads, published_by, published_at, revoked_by, revoked_at";
using PortalRow =
    Poco::Tuple<std::string, Int64, std::string, std::string, std::string, Int64, std::string,
                std::string, int, int, std::string, std::string, std::string, std::string>;
PortalPackageRecord ToPortal(const PortalRow& r) {
  PortalPackageRecord p;
  p.id = r.get<0>();
  p.delivery_id = r.get<1>();
  p.contractor_id = r.get<2>();
  p.file_name = r.get<3>();
  p.path = r.get<4>();
  p.size = r.get<5>();
  p.sha256 = r.get<6>();
  p.expires_at = r.get<7>();
  p.max_downloads = r.get<8>();
  p.downloads = r.get<9>();
  p.published_by = r.get<10>();
  p.published_at = r.get<11>();
  p.revoked_by = r.get<12>();
  p.revoked_at = r.get<13>();
  return p;
}
}  // namespace

Status SqliteStore::AddPortalPackage(const PortalPackageRecord& p) {
  return RunTransaction("cannot publish portal package " + p.id, [&]() -> Status {
    if (!DeliveryExists(p.delivery_id)) {
      return Status::Error("unknown delivery " + std::to_string(p.delivery_id));
    }
    session_ << "INSERT INTO portal_package (" + std::string(kPortalColumns) +
                    ") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        bind(p.id), bind(Int64{p.delivery_id}), bind(p.contractor_id), bind(p.file_name),
        bind(p.path), bind(Int64{p.size}), bind(p.sha256), bind(p.expires_at),
        bind(p.max_downloads), bind(p.downloads), bind(p.published_by), bind(p.published_at),
        bind(p.revoked_by), bind(p.revoked_at), now;
    return Status::Ok();
  });
}

Result<std::optional<PortalPackageRecord>> SqliteStore::FindPortalPackage(const std::string& id) {
  using Found = Result<std::optional<PortalPackageRecord>>;
  return Guard("cannot read portal package " + id, [&]() -> Found {
    std::vector<PortalRow> rows;
    session_ << "SELECT " + std::string(kPortalColumns) + " FROM portal_package WHERE id = ?",
        into(rows), bind(id), now;
    if (rows.empty()) return std::optional<PortalPackageRecord>();
    return std::optional<PortalPackageRecord>(ToPortal(rows.front()));
  });
}

Result<std::vector<PortalPackageRecord>> SqliteStore::ListPortalPackages(
    const std::optional<std::string>& contractor_id) {
  using Listed = Result<std::vector<PortalPackageRecord>>;
  return Guard("cannot list portal packages", [&]() -> Listed {
    std::vector<PortalRow> rows;
    const std::string contractor = contractor_id.value_or("");
    session_ << "SELECT " + std::string(kPortalColumns) +
                    " FROM portal_package WHERE (? = '' OR contractor_id = ?)"
                    " ORDER BY published_at, id",
        into(rows), bind(contractor), bind(contractor), now;
    std::vector<PortalPackageRecord> out;
    for (const PortalRow& r : rows) out.push_back(ToPortal(r));
    return out;
  });
}

Status SqliteStore::RevokePortalPackage(const std::string& id, const std::string& by,
                                        const std::string& at) {
  return RunTransaction("cannot revoke portal package " + id, [&]() -> Status {
    int count = 0;
    session_ << "SELECT COUNT(*) FROM portal_package WHERE id = ?", into(count), bind(id), now;
    if (count == 0) return Status::Error("unknown portal package " + id);
    session_ << "UPDATE portal_package SET revoked_by = ?, revoked_at = ? WHERE id = ?", bind(by),
        bind(at), bind(id), now;
    return Status::Ok();
  });
}

Status SqliteStore::AddPortalDownload(const PortalDownload& d) {
  return RunTransaction(
      "cannot record a download of portal package " + d.package_id, [&]() -> Status {
        session_ << "INSERT INTO portal_download (package_id, at, contractor_id,"
                    " fingerprint, address, first_byte, bytes, complete, counted)"
                    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            bind(d.package_id), bind(d.at), bind(d.contractor_id), bind(d.fingerprint),
            bind(d.address), bind(Int64{d.first_byte}), bind(Int64{d.bytes}),
            bind(d.complete ? 1 : 0), bind(d.counted ? 1 : 0), now;
        if (d.counted) {
          session_ << "UPDATE portal_package SET downloads = downloads + 1"
                      " WHERE id = ?",
              bind(d.package_id), now;
        }
        return Status::Ok();
      });
}

Result<std::vector<PortalDownload>> SqliteStore::ListPortalDownloads(
    const std::string& package_id) {
  using Listed = Result<std::vector<PortalDownload>>;
  return Guard("cannot list downloads of portal package " + package_id, [&]() -> Listed {
    using Row =
        Poco::Tuple<std::string, std::string, std::string, std::string, Int64, Int64, int, int>;
    std::vector<Row> rows;
    session_ << "SELECT at, contractor_id, fingerprint, address, first_byte, bytes, complete,"
                " counted FROM portal_download WHERE package_id = ? ORDER BY seq",
        into(rows), bind(package_id), now;
    std::vector<PortalDownload> out;
    for (const Row& r : rows) {
      PortalDownload d;
      d.package_id = package_id;
      d.at = r.get<0>();
      d.contractor_id = r.get<1>();
      d.fingerprint = r.get<2>();
      d.address = r.get<3>();
      d.first_byte = r.get<4>();
      d.bytes = r.get<5>();
      d.complete = r.get<6>() != 0;
      d.counted = r.get<7>() != 0;
      out.push_back(d);
    }
    return out;
  });
}

}  // namespace detail
}  // namespace itaku::contracts
