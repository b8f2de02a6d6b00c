#include "contracts/detail/migrations.h"

namespace itaku::contracts::detail {
namespace {

// SQLite: AUTOINCREMENT keeps ids of deleted rows from being reused, so a
// delivery id printed in an old report never names a different delivery.
#define ITAKU_AUTO_ID "INTEGER PRIMARY KEY AUTOINCREMENT"

const std::vector<std::string> kVersion1 = {
    "CREATE TABLE meta ("
    " key TEXT PRIMARY KEY,"
    " value TEXT NOT NULL)",

    "CREATE TABLE contractor ("
    " id TEXT PRIMARY KEY,"
    " name TEXT NOT NULL,"
    " status TEXT NOT NULL,"
    " email TEXT NOT NULL,"
    " created_at TEXT NOT NULL)",

    // Dates as 'YYYY-MM-DD'; signatories a JSON array of strings.
    "CREATE TABLE nda ("
    " id " ITAKU_AUTO_ID
    ","
    " contractor_id TEXT NOT NULL REFERENCES contractor (id),"
    " signed_on TEXT NOT NULL,"
    " in_force_from TEXT NOT NULL,"
    " in_force_until TEXT NOT NULL,"
    " signatories TEXT NOT NULL,"
    " document_sha256 TEXT NOT NULL,"
    " document_path TEXT NOT NULL,"
    " registered_by TEXT NOT NULL,"
    " registered_at TEXT NOT NULL)",
    "CREATE INDEX nda_by_contractor ON nda (contractor_id)",

    // fields / transports JSON arrays, masks a JSON object.
    "CREATE TABLE profile ("
    " id TEXT NOT NULL,"
    " version INTEGER NOT NULL,"
    " contractor_id TEXT NOT NULL REFERENCES contractor (id),"
    " purpose TEXT NOT NULL,"
    " fields TEXT NOT NULL,"
    " transports TEXT NOT NULL,"
    " valid_from TEXT NOT NULL,"
    " valid_until TEXT NOT NULL,"
    " retention_days INTEGER NOT NULL,"
    " output_format TEXT NOT NULL,"
    " output_encoding TEXT NOT NULL,"
    " masks TEXT NOT NULL,"
    " source TEXT NOT NULL,"
    " source_sha256 TEXT NOT NULL,"
    " imported_by TEXT NOT NULL,"
    " imported_at TEXT NOT NULL,"
    " PRIMARY KEY (id, version))",

    // contractor_id and profile_* are not foreign keys: a refused delivery
    // is recorded even when it named an unknown contractor or profile.
    "CREATE TABLE delivery ("
    " id " ITAKU_AUTO_ID
    ","
    " ordered_by TEXT NOT NULL,"
    " ordered_at TEXT NOT NULL,"
    " contractor_id TEXT NOT NULL,"
    " profile_id TEXT NOT NULL,"
    " profile_version INTEGER NOT NULL,"
    " nda_id INTEGER REFERENCES nda (id),"
    " transport TEXT NOT NULL,"
    " outcome TEXT NOT NULL,"
    " reason TEXT NOT NULL,"
    " fields TEXT NOT NULL,"
    " record_count BIGINT NOT NULL,"
    " input_name TEXT NOT NULL,"
    " package_sha256 TEXT NOT NULL)",
    // (contractor_id) alone, not (contractor_id, ordered_at): equal keys come
    // back in id order, so ForEachReceipt's "ORDER BY d.id, s.subscriber_id"
    // streams from the indexes without a sort of every receipt first.
    "CREATE INDEX delivery_by_contractor ON delivery (contractor_id)",

    "CREATE TABLE delivery_subscriber ("
    " delivery_id INTEGER NOT NULL REFERENCES delivery (id),"
    " subscriber_id TEXT NOT NULL)",
    "CREATE INDEX delivery_subscriber_by_subscriber ON delivery_subscriber (subscriber_id)",
    "CREATE INDEX delivery_subscriber_by_delivery ON delivery_subscriber"
    " (delivery_id, subscriber_id)",

    "CREATE TABLE audit_event ("
    " seq INTEGER PRIMARY KEY,"
    " at TEXT NOT NULL,"
    " actor TEXT NOT NULL,"
    " action TEXT NOT NULL,"
    " subject TEXT NOT NULL,"
    " details TEXT NOT NULL,"
    " prev_hash TEXT NOT NULL,"
    " hash TEXT NOT NULL)",
};

// Version 2: certificates for encrypted packages, and the physical media
// they travel on.
const std::vector<std::string> kVersion2 = {
    "CREATE TABLE contractor_certificate ("
    " contractor_id TEXT NOT NULL REFERENCES contractor (id),"
    " use TEXT NOT NULL,"
    " pem TEXT NOT NULL,"
    " fingerprint TEXT NOT NULL,"
    " subject TEXT NOT NULL,"
    " not_after TEXT NOT NULL,"
    " registered_by TEXT NOT NULL,"
    " registered_at TEXT NOT NULL,"
    " PRIMARY KEY (contractor_id, use))",

    "CREATE TABLE media ("
    " delivery_id INTEGER PRIMARY KEY REFERENCES delivery (id),"
    " package_name TEXT NOT NULL,"
    " state TEXT NOT NULL,"
    " medium TEXT NOT NULL,"
    " handed_to TEXT NOT NULL,"
    " handed_over_at TEXT NOT NULL,"
    " handed_over_by TEXT NOT NULL,"
    " closed_at TEXT NOT NULL,"
    " closed_by TEXT NOT NULL)",
};

// Version 3: SFTP endpoints and the attempts of each delivery.
const std::vector<std::string> kVersion3 = {
    "CREATE TABLE sftp_endpoint ("
    " contractor_id TEXT PRIMARY KEY REFERENCES contractor (id),"
    " url TEXT NOT NULL,"
    " host_key TEXT NOT NULL,"
    " key_path TEXT NOT NULL,"
    " passphrase_source TEXT NOT NULL,"
    " registered_by TEXT NOT NULL,"
    " registered_at TEXT NOT NULL)",

    "CREATE TABLE delivery_attempt ("
    " delivery_id INTEGER NOT NULL REFERENCES delivery (id),"
    " attempt INTEGER NOT NULL,"
    " started_at TEXT NOT NULL,"
    " finished_at TEXT NOT NULL,"
    " outcome TEXT NOT NULL,"
    " error TEXT NOT NULL,"
    " PRIMARY KEY (delivery_id, attempt))",

    "ALTER TABLE profile ADD COLUMN output_package TEXT NOT NULL DEFAULT 'p7m'",
};

#undef ITAKU_AUTO_ID

}  // namespace

const char* const kCreateSchemaMigrations =
    "CREATE TABLE IF NOT EXISTS schema_migrations ("
    " version INTEGER PRIMARY KEY,"
    " applied_at TEXT NOT NULL)";

const std::vector<Migration>& Migrations() {
  static const std::vector<Migration> kMigrations = {
      {1, kVersion1}, {2, kVersion2}, {3, kVersion3}};
  return kMigrations;
}

}  // namespace itaku::contracts::detail
