// The SQLite store: media handovers and portal packages with their downloads.
#include <Poco/Data/Statement.h>
#include <Poco/Nullable.h>
#include <Poco/Tuple.h>

#include <nlohmann/json.hpp>

#include "contracts/detail/sqlite_store.h"
#include "contracts/detail/sqlite_util.h"

namespace itaku::contracts::detail {

// ---- Media -----------------------------------------------------------------

namespace {
constexpr const char* kMediaColumns =
    "delivery_id, package_name, state, medium, handed_to, handed_over_at, handed_over_by,"
    " closed_at, closed_by, certificate_sha256, certificate_path";
using MediaRow = Poco::Tuple<Int64, std::string, std::string, std::string, std::string, std::string,
                             std::string, std::string, std::string, std::string, std::string>;
Result<MediaRecord> ToMedia(const MediaRow& r) {
  MediaRecord m;
  m.delivery_id = r.get<0>();
  m.package_name = r.get<1>();
  Decoder decode("medium of delivery " + std::to_string(m.delivery_id));
  decode.Word("state", r.get<2>(), &m.state);
  m.medium = r.get<3>();
  m.handed_to = r.get<4>();
  m.handed_over_at = r.get<5>();
  m.handed_over_by = r.get<6>();
  m.closed_at = r.get<7>();
  m.closed_by = r.get<8>();
  m.certificate_sha256 = r.get<9>();
  m.certificate_path = r.get<10>();
  if (!decode.status().ok()) return decode.status();
  return m;
}
}  // namespace

Status SqliteStore::AddMediaRecord(const MediaRecord& m) {
  const std::string what = "cannot record medium of delivery " + std::to_string(m.delivery_id);
  return RunTransaction(what, [&]() -> Status {
    if (!DeliveryExists(m.delivery_id)) {
      return Status::NotFound("unknown delivery " + std::to_string(m.delivery_id));
    }
    session_ << "INSERT INTO media (" + std::string(kMediaColumns) +
                    ") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        bind(Int64{m.delivery_id}), bind(m.package_name), bind(std::string(ToString(m.state))),
        bind(m.medium), bind(m.handed_to), bind(m.handed_over_at), bind(m.handed_over_by),
        bind(m.closed_at), bind(m.closed_by), bind(m.certificate_sha256), bind(m.certificate_path),
        now;
    return Status::Ok();
  });
}

Status SqliteStore::UpdateMediaRecord(const MediaRecord& m) {
  const std::string what = "cannot update medium of delivery " + std::to_string(m.delivery_id);
  return RunTransaction(what, [&]() -> Status {
    int changed = 0;
    Statement update(session_);
    update << "UPDATE media SET package_name = ?, state = ?, medium = ?, handed_to = ?,"
              " handed_over_at = ?, handed_over_by = ?, closed_at = ?, closed_by = ?,"
              " certificate_sha256 = ?, certificate_path = ? WHERE delivery_id = ?",
        bind(m.package_name), bind(std::string(ToString(m.state))), bind(m.medium),
        bind(m.handed_to), bind(m.handed_over_at), bind(m.handed_over_by), bind(m.closed_at),
        bind(m.closed_by), bind(m.certificate_sha256), bind(m.certificate_path),
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
    return DecodeFirst<MediaRecord>(rows, ToMedia);
  });
}

Result<std::vector<MediaRecord>> SqliteStore::ListMediaRecords(bool outstanding_only) {
  return Guard("cannot list media", [&]() -> Result<std::vector<MediaRecord>> {
    std::vector<MediaRow> rows;
    const std::string a = outstanding_only ? std::string(ToString(MediaState::kWritten)) : "%";
    const std::string b = outstanding_only ? std::string(ToString(MediaState::kHandedOver)) : "%";
    session_ << "SELECT " + std::string(kMediaColumns) +
                    " FROM media WHERE state LIKE ? OR state LIKE ? ORDER BY delivery_id",
        into(rows), bind(a), bind(b), now;
    return DecodeAll<MediaRecord>(rows, ToMedia);
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
// The download row every way of recording one writes.
void InsertPortalDownload(Poco::Data::Session& session, const PortalDownload& d) {
  session << "INSERT INTO portal_download (package_id, at, contractor_id,"
             " fingerprint, address, first_byte, bytes, complete, counted)"
             " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
      bind(d.package_id), bind(d.at), bind(d.contractor_id), bind(d.fingerprint), bind(d.address),
      bind(Int64{d.first_byte}), bind(Int64{d.bytes}), bind(d.complete ? 1 : 0),
      bind(d.counted ? 1 : 0), now;
}
}  // namespace

Status SqliteStore::AddPortalPackage(const PortalPackageRecord& p) {
  return RunTransaction("cannot publish portal package " + p.id, [&]() -> Status {
    if (!DeliveryExists(p.delivery_id)) {
      return Status::NotFound("unknown delivery " + std::to_string(p.delivery_id));
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
    return DecodeFirst<PortalPackageRecord>(rows, ToPortal);
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
    return DecodeAll<PortalPackageRecord>(rows, ToPortal);
  });
}

Status SqliteStore::RevokePortalPackage(const std::string& id, const std::string& by,
                                        const std::string& at) {
  return RunTransaction("cannot revoke portal package " + id, [&]() -> Status {
    int count = 0;
    session_ << "SELECT COUNT(*) FROM portal_package WHERE id = ?", into(count), bind(id), now;
    if (count == 0) return Status::NotFound("unknown portal package " + id);
    session_ << "UPDATE portal_package SET revoked_by = ?, revoked_at = ? WHERE id = ?", bind(by),
        bind(at), bind(id), now;
    return Status::Ok();
  });
}

Status SqliteStore::AddPortalDownload(const PortalDownload& d) {
  return RunTransaction("cannot record a download of portal package " + d.package_id,
                        [&]() -> Status {
                          InsertPortalDownload(session_, d);
                          if (d.counted) {
                            session_ << "UPDATE portal_package SET downloads = downloads + 1"
                                        " WHERE id = ?",
                                bind(d.package_id), now;
                          }
                          return Status::Ok();
                        });
}

// One statement, so two connections reserving at once cannot both take the
// last slot (SQLite runs it under its write lock; PostgreSQL re-checks the
// WHERE on the row it locks).
Result<bool> SqliteStore::ReservePortalDownload(const std::string& package_id,
                                                const std::string& at) {
  return Guard("cannot reserve a download of portal package " + package_id, [&]() -> Result<bool> {
    Statement update(session_);
    update << "UPDATE portal_package SET reserved = reserved + 1"
              " WHERE id = ? AND revoked_at = '' AND expires_at > ?"
              " AND downloads + reserved < max_downloads",
        bind(package_id), bind(at);
    return update.execute() == 1;
  });
}

Status SqliteStore::EndPortalDownload(const PortalDownload& d) {
  return RunTransaction(
      "cannot record a download of portal package " + d.package_id, [&]() -> Status {
        InsertPortalDownload(session_, d);
        session_ << "UPDATE portal_package SET downloads = downloads + ?,"
                    " reserved = CASE WHEN reserved > 0 THEN reserved - 1 ELSE 0 END"
                    " WHERE id = ?",
            bind(d.counted ? 1 : 0), bind(d.package_id), now;
        return Status::Ok();
      });
}

Result<int64_t> SqliteStore::ReleasePortalReservations() {
  return Guard("cannot release portal download reservations", [&]() -> Result<int64_t> {
    Int64 held = 0;
    session_ << "SELECT COALESCE(SUM(reserved), 0) FROM portal_package", into(held), now;
    if (held > 0) session_ << "UPDATE portal_package SET reserved = 0 WHERE reserved <> 0", now;
    return static_cast<int64_t>(held);
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

}  // namespace itaku::contracts::detail
