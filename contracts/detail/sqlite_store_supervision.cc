// The SQLite store: outsourcing contracts, subcontractors, disposals and
// periodic checks (schema 11). Each row is its key and a JSON record
// (contracts/record_json.h).
#include <Poco/Data/SQLite/Utility.h>
#include <Poco/Tuple.h>
#include <sqlite3.h>

#include <algorithm>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>

#include "contracts/detail/sqlite_store.h"
#include "contracts/detail/sqlite_util.h"
#include "contracts/record_json.h"

namespace itaku::contracts::detail {
namespace {

using IdAndDetails = Poco::Tuple<Int64, std::string>;

// `decode` (json -> optional<T>) over a row; a row it cannot read is named.
template <typename T, typename Decode>
Result<std::vector<T>> DecodeRows(const std::vector<IdAndDetails>& rows, const char* what,
                                  Decode decode, void (*set_id)(T&, int64_t)) {
  std::vector<T> out;
  out.reserve(rows.size());
  for (const IdAndDetails& row : rows) {
    std::optional<T> one = decode(nlohmann::json::parse(row.get<1>(), nullptr, false));
    if (!one) {
      return Status::Internal(std::string(what) + " " + std::to_string(row.get<0>()) +
                              ": stored record is damaged");
    }
    set_id(*one, row.get<0>());
    out.push_back(std::move(*one));
  }
  return out;
}

}  // namespace

Result<int64_t> SqliteStore::AddContract(const Contract& c) {
  int64_t id = 0;
  Status status = RunTransaction("cannot add a contract for " + c.contractor_id, [&]() -> Status {
    if (!ContractorExists(c.contractor_id)) {
      return Status::NotFound("unknown contractor " + c.contractor_id);
    }
    session_ << "INSERT INTO contract (contractor_id, details) VALUES (?, ?) RETURNING id",
        into(id), bind(c.contractor_id), bind(ToJson(c).dump()), now;
    return Status::Ok();
  });
  if (!status.ok()) return status;
  return id;
}

Result<std::vector<Contract>> SqliteStore::ListContracts(
    const std::optional<std::string>& contractor_id) {
  return Guard("cannot list contracts", [&]() -> Result<std::vector<Contract>> {
    std::vector<IdAndDetails> rows;
    if (contractor_id) {
      session_ << "SELECT id, details FROM contract WHERE contractor_id = ? ORDER BY id",
          into(rows), bind(*contractor_id), now;
    } else {
      session_ << "SELECT id, details FROM contract ORDER BY id", into(rows), now;
    }
    return DecodeRows<Contract>(rows, "contract", ContractFromJson,
                                [](Contract& c, int64_t id) { c.id = id; });
  });
}

Status SqliteStore::WithdrawContract(int64_t id, const std::string& at, const std::string& by,
                                     const std::string& reason) {
  const std::string name = "contract " + std::to_string(id);
  return RunTransaction("cannot withdraw " + name, [&]() -> Status {
    std::vector<std::string> rows;
    session_ << "SELECT details FROM contract WHERE id = ?", into(rows), bind(Int64{id}), now;
    if (rows.empty()) return Status::NotFound("unknown " + name);
    std::optional<Contract> c = ContractFromJson(nlohmann::json::parse(rows[0], nullptr, false));
    if (!c) return Status::Internal(name + ": stored record is damaged");
    if (!c->withdrawn_at.empty()) {
      return Status::Conflict(name + " was already withdrawn on " + ShowJst(c->withdrawn_at));
    }
    c->withdrawn_at = at;
    c->withdrawn_by = by;
    c->withdrawn_reason = reason;
    session_ << "UPDATE contract SET details = ? WHERE id = ?", bind(ToJson(*c).dump()),
        bind(Int64{id}), now;
    return Status::Ok();
  });
}

Result<int64_t> SqliteStore::AddSubcontractor(const Subcontractor& s) {
  int64_t id = 0;
  Status status = RunTransaction(
      "cannot add a subcontractor to contract " + std::to_string(s.contract_id), [&]() -> Status {
        int count = 0;
        session_ << "SELECT COUNT(*) FROM contract WHERE id = ?", into(count),
            bind(Int64{s.contract_id}), now;
        if (count == 0)
          return Status::NotFound("unknown contract " + std::to_string(s.contract_id));
        session_ << "INSERT INTO subcontractor (contract_id, details) VALUES (?, ?) RETURNING id",
            into(id), bind(Int64{s.contract_id}), bind(ToJson(s).dump()), now;
        return Status::Ok();
      });
  if (!status.ok()) return status;
  return id;
}

Result<std::vector<Subcontractor>> SqliteStore::ListSubcontractors(
    std::optional<int64_t> contract_id) {
  return Guard("cannot list subcontractors", [&]() -> Result<std::vector<Subcontractor>> {
    std::vector<IdAndDetails> rows;
    if (contract_id) {
      session_ << "SELECT id, details FROM subcontractor WHERE contract_id = ? ORDER BY id",
          into(rows), bind(Int64{*contract_id}), now;
    } else {
      session_ << "SELECT id, details FROM subcontractor ORDER BY id", into(rows), now;
    }
    return DecodeRows<Subcontractor>(rows, "subcontractor", SubcontractorFromJson,
                                     [](Subcontractor& s, int64_t id) { s.id = id; });
  });
}

Status SqliteStore::AddDisposal(const Disposal& d) {
  const std::string name = "delivery " + std::to_string(d.delivery_id);
  return RunTransaction("cannot record the disposal of " + name, [&]() -> Status {
    if (!DeliveryExists(d.delivery_id)) return Status::NotFound("unknown " + name);
    std::vector<std::string> rows;
    session_ << "SELECT details FROM disposal WHERE delivery_id = ?", into(rows),
        bind(Int64{d.delivery_id}), now;
    if (!rows.empty()) {
      std::optional<Disposal> old =
          DisposalFromJson(nlohmann::json::parse(rows[0], nullptr, false));
      return Status::Conflict("the disposal of " + name + " was already recorded" +
                              (old ? " on " + ShowJst(old->recorded_at) : std::string()));
    }
    session_ << "INSERT INTO disposal (delivery_id, details) VALUES (?, ?)",
        bind(Int64{d.delivery_id}), bind(ToJson(d).dump()), now;
    return Status::Ok();
  });
}

Result<std::vector<Disposal>> SqliteStore::ListDisposals() {
  return Guard("cannot list disposals", [&]() -> Result<std::vector<Disposal>> {
    std::vector<IdAndDetails> rows;
    session_ << "SELECT delivery_id, details FROM disposal ORDER BY delivery_id", into(rows), now;
    return DecodeRows<Disposal>(rows, "disposal of delivery", DisposalFromJson,
                                [](Disposal& d, int64_t id) { d.delivery_id = id; });
  });
}

Result<int64_t> SqliteStore::AddSupervisionCheck(const SupervisionCheck& c) {
  int64_t id = 0;
  Status status = RunTransaction("cannot record a check of " + c.contractor_id, [&]() -> Status {
    if (!ContractorExists(c.contractor_id)) {
      return Status::NotFound("unknown contractor " + c.contractor_id);
    }
    session_ << "INSERT INTO supervision_check (contractor_id, details) VALUES (?, ?)"
                " RETURNING id",
        into(id), bind(c.contractor_id), bind(ToJson(c).dump()), now;
    return Status::Ok();
  });
  if (!status.ok()) return status;
  return id;
}

Result<std::vector<SupervisionCheck>> SqliteStore::ListSupervisionChecks(
    const std::optional<std::string>& contractor_id) {
  return Guard("cannot list checks", [&]() -> Result<std::vector<SupervisionCheck>> {
    std::vector<IdAndDetails> rows;
    if (contractor_id) {
      session_ << "SELECT id, details FROM supervision_check WHERE contractor_id = ? ORDER BY id",
          into(rows), bind(*contractor_id), now;
    } else {
      session_ << "SELECT id, details FROM supervision_check ORDER BY id", into(rows), now;
    }
    return DecodeRows<SupervisionCheck>(rows, "check", SupervisionCheckFromJson,
                                        [](SupervisionCheck& c, int64_t id) { c.id = id; });
  });
}

// ---- Incidents ---------------------------------------------------------------

Result<int64_t> SqliteStore::AddIncident(const Incident& incident,
                                         const std::vector<std::string_view>& subscriber_ids) {
  int64_t id = 0;
  Status status =
      RunTransaction("cannot open an incident for " + incident.contractor_id, [&]() -> Status {
        if (!ContractorExists(incident.contractor_id)) {
          return Status::NotFound("unknown contractor " + incident.contractor_id);
        }
        session_ << "INSERT INTO incident (contractor_id, details) VALUES (?, ?) RETURNING id",
            into(id), bind(incident.contractor_id), bind(ToJson(incident).dump()), now;
        // A leak may reach millions: one prepared statement of SQLite's
        // own API, inside this transaction (Poco's binding costs more than
        // the inserts themselves).
        sqlite3* db = Poco::Data::SQLite::Utility::dbHandle(session_);
        sqlite3_stmt* raw = nullptr;
        if (sqlite3_prepare_v2(db,
                               "INSERT INTO incident_notice (incident_id, subscriber_id, state,"
                               " via, attempts, updated_at, error)"
                               " VALUES (?, ?, 'pending', '', 0, ?, '')",
                               -1, &raw, nullptr) != SQLITE_OK) {
          return Status::Io(sqlite3_errmsg(db));
        }
        std::unique_ptr<sqlite3_stmt, int (*)(sqlite3_stmt*)> insert(raw, sqlite3_finalize);
        sqlite3_bind_int64(insert.get(), 1, id);
        sqlite3_bind_text(insert.get(), 3, incident.opened_at.data(),
                          static_cast<int>(incident.opened_at.size()), SQLITE_STATIC);
        for (std::string_view s : subscriber_ids) {
          sqlite3_bind_text(insert.get(), 2, s.data(), static_cast<int>(s.size()), SQLITE_STATIC);
          if (sqlite3_step(insert.get()) != SQLITE_DONE) return Status::Io(sqlite3_errmsg(db));
          sqlite3_reset(insert.get());
        }
        // Counted here, not by a trigger per row (schema 12).
        session_ << "INSERT INTO incident_notice_count (incident_id, state, notices)"
                    " VALUES (?, 'pending', ?)",
            bind(id), bind(static_cast<Int64>(subscriber_ids.size())), now;
        return Status::Ok();
      });
  if (!status.ok()) return status;
  return id;
}

Status SqliteStore::UpdateIncident(const Incident& incident) {
  const std::string name = "incident " + std::to_string(incident.id);
  return RunTransaction("cannot update " + name, [&]() -> Status {
    int count = 0;
    session_ << "SELECT COUNT(*) FROM incident WHERE id = ?", into(count), bind(Int64{incident.id}),
        now;
    if (count == 0) return Status::NotFound("unknown " + name);
    session_ << "UPDATE incident SET details = ? WHERE id = ?", bind(ToJson(incident).dump()),
        bind(Int64{incident.id}), now;
    return Status::Ok();
  });
}

Result<std::optional<Incident>> SqliteStore::FindIncident(int64_t id) {
  using Found = Result<std::optional<Incident>>;
  return Guard("cannot read incident " + std::to_string(id), [&]() -> Found {
    std::vector<IdAndDetails> rows;
    session_ << "SELECT id, details FROM incident WHERE id = ?", into(rows), bind(Int64{id}), now;
    auto all = DecodeRows<Incident>(rows, "incident", IncidentFromJson,
                                    [](Incident& i, int64_t id) { i.id = id; });
    if (!all.ok()) return all.status();
    if (all->empty()) return std::optional<Incident>();
    return std::optional<Incident>(std::move(all->front()));
  });
}

Result<std::vector<Incident>> SqliteStore::ListIncidents() {
  return Guard("cannot list incidents", [&]() -> Result<std::vector<Incident>> {
    std::vector<IdAndDetails> rows;
    session_ << "SELECT id, details FROM incident ORDER BY id", into(rows), now;
    return DecodeRows<Incident>(rows, "incident", IncidentFromJson,
                                [](Incident& i, int64_t id) { i.id = id; });
  });
}

Result<std::vector<IncidentNotice>> SqliteStore::ListIncidentNotices(
    int64_t incident_id, const std::vector<std::string>& states, const std::string& after,
    int limit) {
  using Listed = Result<std::vector<IncidentNotice>>;
  return Guard(
      "cannot list the notices of incident " + std::to_string(incident_id), [&]() -> Listed {
        using Row =
            Poco::Tuple<std::string, std::string, std::string, int, std::string, std::string>;
        std::vector<Row> rows;
        // States as a JSON array: one parameter however many there are.
        const std::string wanted = nlohmann::json(states).dump();
        session_ << "SELECT subscriber_id, state, via, attempts, updated_at, error"
                    " FROM incident_notice WHERE incident_id = ? AND subscriber_id > ?"
                    " AND (? = '[]' OR state IN (SELECT value FROM json_each(?)))"
                    " ORDER BY subscriber_id LIMIT ?",
            into(rows), bind(Int64{incident_id}), bind(after), bind(wanted), bind(wanted),
            bind(limit), now;
        std::vector<IncidentNotice> out;
        out.reserve(rows.size());
        for (const Row& r : rows) {
          out.push_back({incident_id, r.get<0>(), r.get<1>(), r.get<2>(), r.get<3>(), r.get<4>(),
                         r.get<5>()});
        }
        return out;
      });
}

Result<std::map<std::string, int64_t>> SqliteStore::CountIncidentNotices(int64_t incident_id) {
  using Counted = Result<std::map<std::string, int64_t>>;
  return Guard("cannot count the notices of incident " + std::to_string(incident_id),
               [&]() -> Counted {
                 std::vector<Poco::Tuple<std::string, Int64>> rows;
                 // Kept with each change of state (schema 12).
                 session_ << "SELECT state, notices FROM incident_notice_count"
                             " WHERE incident_id = ? AND notices > 0",
                     into(rows), bind(Int64{incident_id}), now;
                 std::map<std::string, int64_t> out;
                 for (const auto& r : rows) out[r.get<0>()] = r.get<1>();
                 return out;
               });
}

Status SqliteStore::UpdateIncidentNotice(const IncidentNotice& n) {
  const std::string what = "cannot record a notice of incident " + std::to_string(n.incident_id);
  return RunTransaction(what, [&]() -> Status {
    std::vector<std::string> was;
    session_ << "SELECT state FROM incident_notice WHERE incident_id = ? AND subscriber_id = ?",
        into(was), bind(Int64{n.incident_id}), bind(n.subscriber_id), now;
    if (was.empty()) return Status::NotFound(what + ": no such notice");
    session_ << "UPDATE incident_notice SET state = ?, via = ?, attempts = ?, updated_at = ?,"
                " error = ? WHERE incident_id = ? AND subscriber_id = ?",
        bind(n.state), bind(n.via), bind(n.attempts), bind(n.updated_at), bind(n.error),
        bind(Int64{n.incident_id}), bind(n.subscriber_id), now;
    if (was.front() != n.state) {  // one notice moves between two counts (schema 12)
      session_ << "UPDATE incident_notice_count SET notices = notices - 1"
                  " WHERE incident_id = ? AND state = ?",
          bind(Int64{n.incident_id}), bind(was.front()), now;
      session_ << "INSERT INTO incident_notice_count (incident_id, state, notices)"
                  " VALUES (?, ?, 1) ON CONFLICT (incident_id, state)"
                  " DO UPDATE SET notices = incident_notice_count.notices + 1",
          bind(Int64{n.incident_id}), bind(n.state), now;
    }
    return Status::Ok();
  });
}

}  // namespace itaku::contracts::detail
