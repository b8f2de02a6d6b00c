// Incidents in the store (policy 7, schema 12): a notice per person written
// with the incident, the counts by state kept as notices change, a store
// of schema 11 brought to 12 with its notices and their counts, and the
// daemon's deferred checkpoints of the write-ahead log.
#include <Poco/Data/Session.h>
#include <Poco/Tuple.h>

#include <filesystem>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "contracts/detail/migrations.h"
#include "tests/contracts/store_fixture.h"

namespace itaku::contracts::store_test {
namespace {

using namespace Poco::Data::Keywords;
using Counts = std::map<std::string, int64_t>;

Incident AnIncident() {
  Incident i;
  i.contractor_id = "agency-a";
  i.since = D("2026-10-01");
  i.until = D("2026-10-31");
  i.discovered_on = D("2026-11-02");
  i.summary = "USB memory lost";
  i.opened_by = "tanaka";
  i.opened_at = "2026-11-02T01:00:00Z";
  return i;
}

IncidentNotice Notice(int64_t incident, const std::string& who, const std::string& state) {
  return IncidentNotice{incident, who, state, "email", 1, "2026-11-03T01:00:00Z", ""};
}

TEST_F(StoreTest, AnIncidentsNoticesAreCountedByStateAsTheyChange) {
  AddContractor("agency-a");
  const std::vector<std::string_view> persons = {"S1", "S2", "S3"};
  auto id = store_->AddIncident(AnIncident(), persons);
  ASSERT_TRUE(id.ok()) << id.message();
  EXPECT_EQ(*store_->CountIncidentNotices(*id), (Counts{{"pending", 3}}));

  ASSERT_TRUE(store_->UpdateIncidentNotice(Notice(*id, "S2", "sending")).ok());
  ASSERT_TRUE(store_->UpdateIncidentNotice(Notice(*id, "S2", "sent")).ok());
  ASSERT_TRUE(store_->UpdateIncidentNotice(Notice(*id, "S3", "sending")).ok());
  ASSERT_TRUE(store_->UpdateIncidentNotice(Notice(*id, "S3", "sending")).ok());  // no move
  EXPECT_EQ(*store_->CountIncidentNotices(*id),
            (Counts{{"pending", 1}, {"sending", 1}, {"sent", 1}}));

  // The counts agree with the notices themselves.
  std::vector<Poco::Tuple<std::string, int>> rows;
  Raw() << "SELECT state, COUNT(*) FROM incident_notice WHERE incident_id = ? GROUP BY state",
      into(rows), bind(*id), now;
  Counts direct;
  for (const auto& r : rows) direct[r.get<0>()] = r.get<1>();
  EXPECT_EQ(direct, *store_->CountIncidentNotices(*id));

  // Another incident's counts are its own; an unknown notice is named.
  auto other = store_->AddIncident(AnIncident(), {"S1"});
  ASSERT_TRUE(other.ok());
  EXPECT_EQ(*store_->CountIncidentNotices(*other), (Counts{{"pending", 1}}));
  const Status unknown = store_->UpdateIncidentNotice(Notice(*other, "S9", "sent"));
  EXPECT_EQ(unknown.kind(), ErrorKind::kNotFound);
  EXPECT_NE(unknown.message().find("incident " + std::to_string(*other)), std::string::npos);
  EXPECT_EQ(*store_->CountIncidentNotices(*other), (Counts{{"pending", 1}}));
}

TEST_F(StoreTest, SchemaElevenNoticesKeepTheirStatesAndGetCounts) {
  // A store of schema 11 with one incident, three notices in two states.
  store_.reset();
  std::filesystem::remove(path_);
  {
    Poco::Data::Session raw = Raw();
    raw << detail::kCreateSchemaMigrations, now;
    for (const detail::Migration& m : detail::Migrations()) {
      if (m.version > 11) break;
      for (const std::string& statement : m.statements) raw << statement, now;
      raw << "INSERT INTO schema_migrations (version, applied_at) VALUES (?, 'then')",
          bind(m.version), now;
    }
    raw << "INSERT INTO contractor (id, name, status, email, created_at)"
           " VALUES ('agency-a', 'A', 'active', 'a@example.jp', 'then')",
        now;
    raw << "INSERT INTO incident (id, contractor_id, details) VALUES (7, 'agency-a', '{}')", now;
    for (const char* row : {"('S1', 'sent')", "('S2', 'pending')", "('S3', 'pending')"}) {
      raw << std::string(
                 "INSERT INTO incident_notice (incident_id, subscriber_id, state, via,"
                 " attempts, updated_at, error) SELECT 7, column1, column2, '', 0, 'then',"
                 " '' FROM (VALUES ") +
                 row + ")",
          now;
    }
  }
  store_ = Open();
  ASSERT_NE(store_, nullptr);
  EXPECT_EQ(*store_->SchemaVersion(), 12);
  EXPECT_EQ(*store_->CountIncidentNotices(7), (Counts{{"pending", 2}, {"sent", 1}}));
  auto listed = store_->ListIncidentNotices(7, {}, "", 10);
  ASSERT_TRUE(listed.ok()) << listed.message();
  ASSERT_EQ(listed->size(), 3u);
  EXPECT_EQ((*listed)[0].subscriber_id, "S1");
  EXPECT_EQ((*listed)[0].state, "sent");
  ASSERT_TRUE(store_->UpdateIncidentNotice(Notice(7, "S2", "letter")).ok());
  EXPECT_EQ(*store_->CountIncidentNotices(7), (Counts{{"letter", 1}, {"pending", 1}, {"sent", 1}}));
}

TEST_F(StoreTest, DeferredCheckpointsLeaveTheLogToCheckpointLog) {
  AddContractor("agency-a");
  std::vector<std::string> ids;
  for (int i = 0; i < 60000; ++i) ids.push_back("S" + std::to_string(1000000 + i));
  const std::vector<std::string_view> persons(ids.begin(), ids.end());
  const auto db_bytes = [&] { return std::filesystem::file_size(path_); };

  // As SQLite does by default: the commit copies the log back (> 1000 pages).
  const auto before = db_bytes();
  ASSERT_TRUE(store_->AddIncident(AnIncident(), persons).ok());
  const auto after_default = db_bytes();
  EXPECT_GT(after_default, before + 2'000'000);

  // Deferred: the rows stay in the log until CheckpointLog.
  ASSERT_TRUE(store_->DeferCheckpoints().ok());
  ASSERT_TRUE(store_->AddIncident(AnIncident(), persons).ok());
  EXPECT_EQ(db_bytes(), after_default);
  auto other = Open();  // the daemon's checkpoint thread has a connection of its own
  ASSERT_NE(other, nullptr);
  ASSERT_TRUE(other->CheckpointLog().ok());
  EXPECT_GT(db_bytes(), after_default + 2'000'000);
  EXPECT_EQ(*store_->CountIncidentNotices(2), (Counts{{"pending", 60000}}));
}

}  // namespace
}  // namespace itaku::contracts::store_test
