// The SQLite store: staff, special requests and corrective-action requests.
#include <Poco/Data/Statement.h>
#include <Poco/Nullable.h>
#include <Poco/Tuple.h>

#include <nlohmann/json.hpp>

#include "contracts/detail/sqlite_store.h"
#include "contracts/detail/sqlite_util.h"
#include "contracts/record_json.h"

namespace itaku::contracts::detail {
namespace {

// Special and corrective requests are stored as their id and a JSON blob.
using IdAndDetails = Poco::Tuple<Int64, std::string>;
template <typename Decode>
auto FromRow(Decode decode) {
  return [decode](const IdAndDetails& row) { return decode(row.get<0>(), row.get<1>()); };
}

}  // namespace

// ---- Staff -----------------------------------------------------------------

Status SqliteStore::AddStaff(const StaffMember& m) {
  return RunTransaction("cannot add staff member " + m.name, [&]() -> Status {
    int count = 0;
    session_ << "SELECT COUNT(*) FROM staff WHERE name = ?", into(count), bind(m.name), now;
    if (count > 0) return Status::Conflict("staff member " + m.name + " already exists");
    if (m.os_uid >= 0) {
      session_ << "SELECT COUNT(*) FROM staff WHERE os_uid = ?", into(count), bind(Int64{m.os_uid}),
          now;
      if (count > 0) {
        return Status::Conflict("OS user " + m.os_user + " is already registered as staff");
      }
    }
    session_ << "INSERT INTO staff (name, role, added_by, added_at, os_user, os_uid)"
                " VALUES (?, ?, ?, ?, ?, ?)",
        bind(m.name), bind(std::string(ToString(m.role))), bind(m.added_by), bind(m.added_at),
        bind(m.os_user), bind(Int64{m.os_uid}), now;
    return Status::Ok();
  });
}

namespace {
using StaffRow =
    Poco::Tuple<std::string, std::string, std::string, std::string, std::string, Int64>;
constexpr char kStaffColumns[] = "SELECT name, role, added_by, added_at, os_user, os_uid FROM staff";
Result<StaffMember> ToStaff(const StaffRow& r) {
  StaffMember m{r.get<0>(), StaffRole::kOperator, r.get<2>(), r.get<3>(), r.get<4>(), r.get<5>()};
  Decoder decode("staff member " + m.name);
  decode.Word("role", r.get<1>(), &m.role);
  if (!decode.status().ok()) return decode.status();
  return m;
}
}  // namespace

Result<std::optional<StaffMember>> SqliteStore::FindStaff(const std::string& name) {
  using Found = Result<std::optional<StaffMember>>;
  return Guard("cannot read staff member " + name, [&]() -> Found {
    std::vector<StaffRow> rows;
    session_ << std::string(kStaffColumns) + " WHERE name = ?", into(rows), bind(name), now;
    return DecodeFirst<StaffMember>(rows, ToStaff);
  });
}

Result<std::optional<StaffMember>> SqliteStore::FindStaffByUid(int64_t uid) {
  using Found = Result<std::optional<StaffMember>>;
  return Guard("cannot read staff member with uid " + std::to_string(uid), [&]() -> Found {
    std::vector<StaffRow> rows;
    session_ << std::string(kStaffColumns) + " WHERE os_uid = ?", into(rows), bind(Int64{uid}),
        now;
    return DecodeFirst<StaffMember>(rows, ToStaff);
  });
}

Result<std::vector<StaffMember>> SqliteStore::ListStaff() {
  return Guard("cannot list staff", [&]() -> Result<std::vector<StaffMember>> {
    std::vector<StaffRow> rows;
    session_ << std::string(kStaffColumns) + " ORDER BY name", into(rows), now;
    return DecodeAll<StaffMember>(rows, ToStaff);
  });
}

Status SqliteStore::RemoveStaff(const std::string& name) {
  return RunTransaction("cannot remove staff member " + name, [&]() -> Status {
    int count = 0;
    session_ << "SELECT COUNT(*) FROM staff WHERE name = ?", into(count), bind(name), now;
    if (count == 0) return Status::NotFound("unknown staff member " + name);
    session_ << "DELETE FROM staff WHERE name = ?", bind(name), now;
    // A removed member can no longer sign in to the console, at once.
    session_ << "DELETE FROM staff_credential WHERE staff = ?", bind(name), now;
    session_ << "DELETE FROM console_session WHERE staff = ?", bind(name), now;
    return Status::Ok();
  });
}

// ---- Console sign-in --------------------------------------------------------

Result<std::optional<StaffCredential>> SqliteStore::FindCredential(const std::string& staff) {
  using Found = Result<std::optional<StaffCredential>>;
  return Guard("cannot read the sign-in of " + staff, [&]() -> Found {
    std::vector<std::string> rows;
    session_ << "SELECT details FROM staff_credential WHERE staff = ?", into(rows), bind(staff),
        now;
    if (rows.empty()) return std::optional<StaffCredential>();
    auto j = nlohmann::json::parse(rows.front(), nullptr, false);
    if (!j.is_object()) return Status::Internal("sign-in of " + staff + ": stored record is damaged");
    StaffCredential c;
    c.staff = staff;
    c.password_hash = j.value("password_hash", "");
    c.totp_sealed = j.value("totp_sealed", "");
    c.pending_totp_sealed = j.value("pending_totp_sealed", "");
    c.enrolled_at = j.value("enrolled_at", "");
    c.last_totp_step = j.value("last_totp_step", int64_t{0});
    c.enrol_code_hash = j.value("enrol_code_hash", "");
    c.enrol_expires_at = j.value("enrol_expires_at", "");
    c.enrol_issued_by = j.value("enrol_issued_by", "");
    c.failures = j.value("failures", 0);
    c.locked_until = j.value("locked_until", "");
    return std::optional<StaffCredential>(std::move(c));
  });
}

Status SqliteStore::PutCredential(const StaffCredential& c) {
  const nlohmann::json j = {{"password_hash", c.password_hash},
                            {"totp_sealed", c.totp_sealed},
                            {"pending_totp_sealed", c.pending_totp_sealed},
                            {"enrolled_at", c.enrolled_at},
                            {"last_totp_step", c.last_totp_step},
                            {"enrol_code_hash", c.enrol_code_hash},
                            {"enrol_expires_at", c.enrol_expires_at},
                            {"enrol_issued_by", c.enrol_issued_by},
                            {"failures", c.failures},
                            {"locked_until", c.locked_until}};
  return Guard("cannot write the sign-in of " + c.staff, [&] {
    session_ << "INSERT INTO staff_credential (staff, details) VALUES (?, ?)"
                " ON CONFLICT (staff) DO UPDATE SET details = excluded.details",
        bind(c.staff), bind(j.dump()), now;
    return Status::Ok();
  });
}

Status SqliteStore::AddConsoleSession(const ConsoleSession& s) {
  return Guard("cannot start a console session", [&] {
    session_ << "INSERT INTO console_session (id_hash, staff, created_at, last_seen_at)"
                " VALUES (?, ?, ?, ?)",
        bind(s.id_hash), bind(s.staff), bind(s.created_at), bind(s.last_seen_at), now;
    return Status::Ok();
  });
}

Result<std::optional<ConsoleSession>> SqliteStore::FindConsoleSession(const std::string& id_hash) {
  using Found = Result<std::optional<ConsoleSession>>;
  return Guard("cannot read a console session", [&]() -> Found {
    std::vector<Poco::Tuple<std::string, std::string, std::string>> rows;
    session_ << "SELECT staff, created_at, last_seen_at FROM console_session WHERE id_hash = ?",
        into(rows), bind(id_hash), now;
    if (rows.empty()) return std::optional<ConsoleSession>();
    return std::optional<ConsoleSession>(
        ConsoleSession{id_hash, rows[0].get<0>(), rows[0].get<1>(), rows[0].get<2>()});
  });
}

Status SqliteStore::TouchConsoleSession(const std::string& id_hash, const std::string& at) {
  return Guard("cannot update a console session", [&] {
    session_ << "UPDATE console_session SET last_seen_at = ? WHERE id_hash = ?", bind(at),
        bind(id_hash), now;
    return Status::Ok();
  });
}

Status SqliteStore::EndConsoleSession(const std::string& id_hash) {
  return Guard("cannot end a console session", [&] {
    session_ << "DELETE FROM console_session WHERE id_hash = ?", bind(id_hash), now;
    return Status::Ok();
  });
}

Status SqliteStore::EndConsoleSessions(const std::string& staff) {
  return Guard("cannot end the console sessions of " + staff, [&] {
    session_ << "DELETE FROM console_session WHERE staff = ?", bind(staff), now;
    return Status::Ok();
  });
}

Status SqliteStore::PruneConsoleSessions(const std::string& idle_before,
                                         const std::string& created_before) {
  return Guard("cannot prune console sessions", [&] {
    session_ << "DELETE FROM console_session WHERE last_seen_at < ? OR created_at < ?",
        bind(idle_before), bind(created_before), now;
    return Status::Ok();
  });
}

// ---- Proposals -------------------------------------------------------------

namespace {

nlohmann::json ProposalJson(const Proposal& p) {
  return {{"command", p.command},         {"subject", p.subject},
          {"args", p.args},               {"changes", p.changes},
          {"proposed_by", p.proposed_by}, {"proposed_at", p.proposed_at},
          {"expires_at", p.expires_at},   {"decided_by", p.decided_by},
          {"decided_at", p.decided_at},   {"note", p.note}};
}

using ProposalRow = Poco::Tuple<Int64, std::string, std::string>;
Result<Proposal> ToProposal(const ProposalRow& row) {
  Proposal p;
  p.id = row.get<0>();
  Decoder decode("proposal " + std::to_string(p.id));
  decode.Word("state", row.get<1>(), &p.state);
  if (!decode.status().ok()) return decode.status();
  try {
    const nlohmann::json j = nlohmann::json::parse(row.get<2>());
    for (auto [key, field] : {std::pair{"command", &p.command}, {"subject", &p.subject},
                              {"args", &p.args}, {"changes", &p.changes},
                              {"proposed_by", &p.proposed_by}, {"proposed_at", &p.proposed_at},
                              {"expires_at", &p.expires_at}, {"decided_by", &p.decided_by},
                              {"decided_at", &p.decided_at}, {"note", &p.note}}) {
      *field = j.at(key).get<std::string>();
    }
  } catch (const nlohmann::json::exception&) {
    return Result<Proposal>::Error("proposal " + std::to_string(p.id) +
                                   ": stored record is damaged");
  }
  return p;
}

}  // namespace

Result<int64_t> SqliteStore::AddProposal(const Proposal& p) {
  int64_t id = 0;
  Status status = RunTransaction("cannot add proposal for " + p.subject, [&]() -> Status {
    session_ << "INSERT INTO proposal (state, details) VALUES (?, ?) RETURNING id", into(id),
        bind(std::string(ToString(p.state))), bind(ProposalJson(p).dump()), now;
    return Status::Ok();
  });
  if (!status.ok()) return status;
  return id;
}

Result<std::optional<Proposal>> SqliteStore::FindProposal(int64_t id) {
  using Found = Result<std::optional<Proposal>>;
  return Guard("cannot read proposal " + std::to_string(id), [&]() -> Found {
    std::vector<ProposalRow> rows;
    session_ << "SELECT id, state, details FROM proposal WHERE id = ?", into(rows),
        bind(Int64{id}), now;
    return DecodeFirst<Proposal>(rows, ToProposal);
  });
}

Result<std::vector<Proposal>> SqliteStore::ListProposals(bool pending_only) {
  return Guard("cannot list proposals", [&]() -> Result<std::vector<Proposal>> {
    std::vector<ProposalRow> rows;
    if (pending_only) {
      session_ << "SELECT id, state, details FROM proposal WHERE state = 'pending' ORDER BY id",
          into(rows), now;
    } else {
      session_ << "SELECT id, state, details FROM proposal ORDER BY id", into(rows), now;
    }
    return DecodeAll<Proposal>(rows, ToProposal);
  });
}

Status SqliteStore::DecideProposal(const Proposal& p) {
  const std::string what = "proposal " + std::to_string(p.id);
  return RunTransaction("cannot decide " + what, [&]() -> Status {
    std::vector<std::string> states;
    session_ << "SELECT state FROM proposal WHERE id = ?", into(states), bind(Int64{p.id}), now;
    if (states.empty()) return Status::NotFound("unknown " + what);
    if (states.front() != ToString(ProposalState::kPending)) {
      return Status::Conflict(what + " is already " + states.front());
    }
    session_ << "UPDATE proposal SET state = ?, details = ? WHERE id = ? AND state = 'pending'",
        bind(std::string(ToString(p.state))), bind(ProposalJson(p).dump()), bind(Int64{p.id}), now;
    return Status::Ok();
  });
}

// ---- Special requests ------------------------------------------------------

namespace {

std::optional<bool> ReadOptionalBool(const nlohmann::json& j, const char* key) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return std::nullopt;
  return it->get<bool>();
}

std::string SpecialJson(const SpecialRequest& r) { return ToJson(r).dump(); }

Result<SpecialRequest> ToSpecial(int64_t id, const std::string& text) {
  const std::string what = "special request " + std::to_string(id) + ": stored record is damaged";
  try {
    const nlohmann::json j = nlohmann::json::parse(text);
    SpecialRequest r;
    r.id = id;
    r.subscriber_id = j.at("subscriber_id").get<std::string>();
    r.contractor_id = j.at("contractor_id").get<std::string>();
    r.purpose = j.at("purpose").get<std::string>();
    const std::optional<SpecialKind> kind = Parse<SpecialKind>(j.at("kind").get<std::string>());
    if (!kind) return Result<SpecialRequest>::Error(what);
    r.kind = *kind;
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
          return Status::NotFound("unknown contractor " + r.contractor_id);
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
    if (count == 0) return Status::NotFound("unknown special request " + std::to_string(r.id));
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
    std::vector<IdAndDetails> rows;
    session_ << "SELECT id, details FROM special_request WHERE id = ?", into(rows), bind(Int64{id}),
        now;
    return DecodeFirst<SpecialRequest>(rows, FromRow(ToSpecial));
  });
}

Result<std::vector<SpecialRequest>> SqliteStore::ListSpecialRequests(
    const std::optional<std::string>& subscriber_id, bool include_ended) {
  using Listed = Result<std::vector<SpecialRequest>>;
  return Guard("cannot list special requests", [&]() -> Listed {
    std::vector<IdAndDetails> rows;
    const std::string subscriber = subscriber_id.value_or("");
    const int all = include_ended ? 1 : 0;
    session_ << "SELECT id, details FROM special_request"
                " WHERE (? = '' OR subscriber_id = ?) AND (? = 1 OR ended_at = '') ORDER BY id",
        into(rows), bind(subscriber), bind(subscriber), bind(all), now;
    return DecodeAll<SpecialRequest>(rows, FromRow(ToSpecial));
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

Result<bool> SqliteStore::SubscriberSeen(const std::string& subscriber_id) {
  return Guard("cannot look up subscriber " + subscriber_id, [&]() -> Result<bool> {
    // One probe of delivery_subscriber_by_subscriber, however many receipts.
    std::vector<int> found;
    session_ << "SELECT 1 FROM delivery_subscriber WHERE subscriber_id = ? LIMIT 1", into(found),
        bind(subscriber_id), now;
    return !found.empty();
  });
}

// ---- Corrective-action requests --------------------------------------------

namespace {

std::string CorrectiveJson(const CorrectiveRequest& r) { return ToJson(r).dump(); }

Result<CorrectiveRequest> ToCorrective(int64_t id, const std::string& text) {
  try {
    const nlohmann::json j = nlohmann::json::parse(text);
    CorrectiveRequest r;
    r.id = id;
    Decoder decode("request " + std::to_string(id));
    auto str = [&](const char* key, std::string* out) { *out = j.at(key).get<std::string>(); };
    str("subscriber_id", &r.subscriber_id);
    str("channel", &r.channel);
    str("contractor_id", &r.contractor_id);
    str("request_text", &r.request_text);
    str("received_at", &r.received_at);
    str("received_by", &r.received_by);
    str("contact_email", &r.contact_email);
    decode.Word("state", j.at("state").get<std::string>(), &r.state);
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
    if (!decode.status().ok()) return decode.status();
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
          return Status::NotFound("unknown contractor " + r.contractor_id);
        }
        session_ << "INSERT INTO corrective_request (subscriber_id, contractor_id, state,"
                    " received_at, details) VALUES (?, ?, ?, ?, ?) RETURNING id",
            into(id), bind(r.subscriber_id), bind(r.contractor_id),
            bind(std::string(ToString(r.state))), bind(r.received_at), bind(CorrectiveJson(r)), now;
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
    if (count == 0) return Status::NotFound("unknown request " + std::to_string(r.id));
    session_ << "UPDATE corrective_request SET subscriber_id = ?, contractor_id = ?, state = ?,"
                " received_at = ?, details = ? WHERE id = ?",
        bind(r.subscriber_id), bind(r.contractor_id), bind(std::string(ToString(r.state))),
        bind(r.received_at), bind(CorrectiveJson(r)), bind(Int64{r.id}), now;
    return Status::Ok();
  });
}

Result<std::optional<CorrectiveRequest>> SqliteStore::FindCorrectiveRequest(int64_t id) {
  using Found = Result<std::optional<CorrectiveRequest>>;
  return Guard("cannot read request " + std::to_string(id), [&]() -> Found {
    std::vector<IdAndDetails> rows;
    session_ << "SELECT id, details FROM corrective_request WHERE id = ?", into(rows),
        bind(Int64{id}), now;
    return DecodeFirst<CorrectiveRequest>(rows, FromRow(ToCorrective));
  });
}

Result<std::vector<CorrectiveRequest>> SqliteStore::ListCorrectiveRequests(
    const std::optional<std::string>& contractor_id, std::optional<RequestState> state) {
  using Listed = Result<std::vector<CorrectiveRequest>>;
  return Guard("cannot list requests", [&]() -> Listed {
    std::vector<IdAndDetails> rows;
    const std::string word = state ? std::string(ToString(*state)) : "";
    // Absent filters bind '' and match everything: one statement, no
    // string-built SQL.
    session_ << "SELECT id, details FROM corrective_request"
                " WHERE (? = '' OR contractor_id = ?) AND (? = '' OR state = ?) ORDER BY id",
        into(rows), bind(contractor_id.value_or("")), bind(contractor_id.value_or("")), bind(word),
        bind(word), now;
    return DecodeAll<CorrectiveRequest>(rows, FromRow(ToCorrective));
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

}  // namespace itaku::contracts::detail
