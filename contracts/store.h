// The registry's storage: contractors, NDAs, profiles, deliveries and the
// audit trail, in SQLite through Poco::Data (PostgreSQL to follow: SQL kept
// portable, every statement parameterised).
//
// Errors come back as Status/Result with one line naming what failed
// ("contractor agency-a already exists"). Not thread-safe: one thread at a
// time. A caller may hand a Store to another thread while it does not touch
// it itself (the broker records subscriber ids on a thread of its own while
// the caller's thread only deflates, and joins it before using the store).
// Several processes may share one file (WAL, busy timeout).
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "contracts/base/status.h"
#include "contracts/types.h"

namespace itaku::contracts {

class Store {
 public:
  // Opens the SQLite store at `path`, creating it when absent, turns on WAL
  // and applies pending schema migrations.
  static Result<std::unique_ptr<Store>> OpenSqlite(const std::string& path);
  virtual ~Store();
  Store(const Store&) = delete;
  Store& operator=(const Store&) = delete;

  // The schema version after migrations (latest known = kSchemaVersion).
  static constexpr int kSchemaVersion = 12;
  virtual Result<int> SchemaVersion() = 0;
  // A commit normally also copies the write-ahead log back into the store
  // once it holds more than about 4 MB; after DeferCheckpoints this
  // connection's commits leave that to CheckpointLog on another connection
  // (the daemon's background thread), so that a command writing a million
  // rows answers before the copy and its flush. CheckpointLog copies what
  // no reader still needs (SQLite's passive checkpoint).
  virtual Status DeferCheckpoints() = 0;
  virtual Status CheckpointLog() = 0;
  // Folder beside the database for documents (NDA scans): "<db>.d/documents".
  virtual std::string DocumentDir() const = 0;

  // Runs `body` inside one write transaction (BEGIN IMMEDIATE on SQLite);
  // commits when it returns ok, rolls back otherwise (or on exception).
  virtual Status Transaction(const std::function<Status()>& body) = 0;

  virtual Result<std::optional<std::string>> GetMeta(const std::string& key) = 0;
  virtual Status SetMeta(const std::string& key, const std::string& value) = 0;
  // Removes a meta row (none: ok); with secure_delete its bytes are zeroed.
  virtual Status DeleteMeta(const std::string& key) = 0;

  // Contractors. AddContractor refuses an existing id.
  virtual Status AddContractor(const Contractor& contractor) = 0;
  virtual Result<std::optional<Contractor>> FindContractor(const std::string& id) = 0;
  virtual Result<std::vector<Contractor>> ListContractors() = 0;  // by id
  virtual Status SetContractorStatus(const std::string& id, ContractorStatus status) = 0;
  // Rewrites name and email of an existing contractor.
  virtual Status UpdateContractor(const Contractor& contractor) = 0;

  // NDAs. Returns the new id.
  virtual Result<int64_t> AddNda(const Nda& nda) = 0;
  // All NDAs, or one contractor's; ordered by in_force_until, then id.
  virtual Result<std::vector<Nda>> ListNdas(const std::optional<std::string>& contractor_id) = 0;
  // Marks an NDA entered in error as withdrawn (never deleted): NotFound for
  // an unknown id, Conflict ("NDA 3 was already withdrawn on ...") when it
  // already is.
  virtual Status WithdrawNda(int64_t id, const std::string& at, const std::string& by,
                             const std::string& reason) = 0;

  // Outsourcing contracts (業務委託契約). Add returns the new id (NotFound
  // for an unknown contractor); List gives all or one contractor's by id;
  // Withdraw as for NDAs (never deleted).
  virtual Result<int64_t> AddContract(const Contract& contract) = 0;
  virtual Result<std::vector<Contract>> ListContracts(
      const std::optional<std::string>& contractor_id) = 0;
  virtual Status WithdrawContract(int64_t id, const std::string& at, const std::string& by,
                                  const std::string& reason) = 0;
  // Subcontractors named under a contract; all (nullopt) or one contract's,
  // by id. Add: NotFound for an unknown contract.
  virtual Result<int64_t> AddSubcontractor(const Subcontractor& subcontractor) = 0;
  virtual Result<std::vector<Subcontractor>> ListSubcontractors(
      std::optional<int64_t> contract_id) = 0;
  // Disposals, one per delivery: Add refuses a second (Conflict naming the
  // day it was recorded) and an unknown delivery (NotFound).
  virtual Status AddDisposal(const Disposal& disposal) = 0;
  virtual Result<std::vector<Disposal>> ListDisposals() = 0;  // by delivery id
  // Periodic checks; List: all or one contractor's, by id.
  virtual Result<int64_t> AddSupervisionCheck(const SupervisionCheck& check) = 0;
  virtual Result<std::vector<SupervisionCheck>> ListSupervisionChecks(
      const std::optional<std::string>& contractor_id) = 0;

  // Incidents (policy 7). Add stores the incident and a pending notice for
  // each of `subscriber_ids` in one transaction; returns the new id.
  // Update rewrites every field but id, contractor and scope.
  virtual Result<int64_t> AddIncident(const Incident& incident,
                                      const std::vector<std::string_view>& subscriber_ids) = 0;
  virtual Status UpdateIncident(const Incident& incident) = 0;
  virtual Result<std::optional<Incident>> FindIncident(int64_t id) = 0;
  virtual Result<std::vector<Incident>> ListIncidents() = 0;  // by id
  // Notices of one incident, by subscriber id, in batches of at most
  // `limit` after `after` (""): those in `states` (all when empty).
  virtual Result<std::vector<IncidentNotice>> ListIncidentNotices(
      int64_t incident_id, const std::vector<std::string>& states, const std::string& after,
      int limit) = 0;
  // How many notices of an incident are in each state (states with none
  // left out), from counts kept as notices are added and change state.
  virtual Result<std::map<std::string, int64_t>> CountIncidentNotices(int64_t incident_id) = 0;
  // Rewrites one notice's state, via, attempts, updated_at and error;
  // NotFound when the incident has no notice for that subscriber.
  virtual Status UpdateIncidentNotice(const IncidentNotice& notice) = 0;

  // Profiles. Stores `profile` as a new version unless the latest version of
  // that id has the same source_sha256, in which case nothing is written.
  // Returns the version that now holds this content; `*created` says whether
  // it is new.
  virtual Result<int> PutProfile(const ContractProfile& profile, bool* created) = 0;
  // The given version, or the latest when `version` is nullopt.
  virtual Result<std::optional<ContractProfile>> FindProfile(const std::string& id,
                                                             std::optional<int> version) = 0;
  // Latest version of every profile, by id.
  virtual Result<std::vector<ContractProfile>> ListProfiles() = 0;

  // Deliveries. AddDelivery returns the new id; subscriber ids are added in
  // batches while the records stream (only for outcome "delivered").
  virtual Result<int64_t> AddDelivery(const DeliveryRecord& delivery) = 0;
  // Without carried bits (-1: every field of the delivery), for tests and
  // deliveries recorded before schema 7.
  virtual Status AddDeliverySubscribers(int64_t delivery_id,
                                        const std::vector<std::string>& subscriber_ids) = 0;
  // Each receipt with the bits of the fields its row carried, stored in the
  // order given (the caller's receipts digest follows that order).
  virtual Status AddDeliveryReceipts(int64_t delivery_id,
                                     const std::vector<ReceiptEntry>& receipts) = 0;
  // Rewrites every column a delivery's life changes: outcome, reason,
  // record_count, package_sha256, extra_fields, package_name,
  // receipts_count, receipts_sha256.
  virtual Status UpdateDelivery(const DeliveryRecord& delivery) = 0;
  // Deliveries with one of `outcomes`, by id (the daemon's start-up
  // reconciliation of "writing" and "sending").
  virtual Result<std::vector<DeliveryRecord>> ListDeliveriesWithOutcome(
      const std::vector<DeliveryOutcome>& outcomes) = 0;
  // Deliveries ordered in [from_utc, to_utc), one contractor's when not
  // empty, newest first, at most `limit`.
  virtual Result<std::vector<DeliveryRecord>> ListDeliveries(const std::string& contractor_id,
                                                             const std::string& from_utc,
                                                             const std::string& to_utc,
                                                             int limit) = 0;
  // The record rows the audit chain commits to, each as the JSON array of
  // its columns (stable order), for one delivery or (nullopt) every one.
  // Tables: "delivery" (key: id), "media" (key: delivery id), "portal"
  // (key: package id, with its count of download rows).
  virtual Status ForEachRecordRow(
      const std::string& table, std::optional<int64_t> delivery_id,
      const std::function<void(int64_t delivery_id, const std::string& key,
                               const std::string& row)>& visit) = 0;
  // Every receipt row in store order (one delivery's, or all).
  virtual Status ForEachReceiptRow(
      std::optional<int64_t> delivery_id,
      const std::function<void(int64_t delivery_id, std::string_view subscriber_id,
                               int64_t carried)>& visit) = 0;
  virtual Status SetDeliveryOutcome(int64_t delivery_id, DeliveryOutcome outcome,
                                    const std::string& reason, int64_t record_count,
                                    const std::string& package_sha256) = 0;
  virtual Result<std::optional<DeliveryRecord>> FindDelivery(int64_t id) = 0;
  // The deliveries that relied on an NDA and may have left (outcome
  // "delivered", "sending" or "writing"), by id; each with id, ordered_by,
  // ordered_at, contractor, profile and version, NDA, transport and outcome.
  virtual Result<std::vector<DeliveryRecord>> ListDeliveriesByNda(int64_t nda_id) = 0;
  // Policy 5: every receipt of one subscriber, oldest first. A receipt is a
  // delivery with outcome "delivered", "sending" (an upload under way or
  // cut off: the data may have arrived) or "writing" (a package being
  // written: counted until it is known not to have left).
  virtual Result<std::vector<Receipt>> History(const std::string& subscriber_id) = 0;
  // Policy 7: every subscriber a contractor received with ordered_at in
  // [from_utc, to_utc) (UTC instants; callers turn the operator's JST days
  // into them), by delivery then subscriber. `fields` of each receipt is
  // left empty (the delivery's lists and `carried` say it; a breach scope
  // of millions decodes each delivery once).
  virtual Status ForEachReceipt(const std::string& contractor_id, const std::string& from_utc,
                                const std::string& to_utc,
                                const std::function<void(const Receipt&)>& visit) = 0;

  // The same receipts, fast (a scope of millions): the deliveries in scope,
  // by id, each with the seq range of its receipts...
  struct ReceiptRange {
    DeliveryRecord delivery;
    std::optional<int64_t> first, last;  // nullopt: no receipts
  };
  virtual Result<std::vector<ReceiptRange>> ListReceiptRanges(const std::string& contractor_id,
                                                              const std::string& from_utc,
                                                              const std::string& to_utc) = 0;
  // ...and a reader of them on a read-only connection of its own (what is
  // committed), for one thread at a time: `visit` gets each receipt's
  // subscriber id (valid only during the call) and carried bits, in order.
  class ReceiptReader {
   public:
    virtual ~ReceiptReader() = default;
    virtual Status Read(const ReceiptRange& range,
                        const std::function<void(std::string_view, int64_t)>& visit) = 0;
  };
  virtual Result<std::unique_ptr<ReceiptReader>> OpenReceiptReader() = 0;

  // Certificates. Put replaces the contractor's certificate for that use.
  virtual Status PutContractorCertificate(const ContractorCertificate& cert) = 0;
  virtual Result<std::optional<ContractorCertificate>> FindContractorCertificate(
      const std::string& contractor_id, const std::string& use) = 0;

  // SFTP endpoints, one per contractor; Put replaces.
  virtual Status PutSftpEndpoint(const SftpEndpointRecord& endpoint) = 0;
  virtual Result<std::optional<SftpEndpointRecord>> FindSftpEndpoint(
      const std::string& contractor_id) = 0;
  // Attempts of one delivery, by attempt number.
  virtual Status AddDeliveryAttempt(const DeliveryAttempt& attempt) = 0;
  virtual Result<std::vector<DeliveryAttempt>> ListDeliveryAttempts(int64_t delivery_id) = 0;

  // Media. Add refuses a second record for one delivery; Update rewrites
  // every column but delivery_id.
  virtual Status AddMediaRecord(const MediaRecord& media) = 0;
  virtual Status UpdateMediaRecord(const MediaRecord& media) = 0;
  virtual Result<std::optional<MediaRecord>> FindMediaRecord(int64_t delivery_id) = 0;
  // By delivery id; only "written" and "handed-over" ones when outstanding.
  virtual Result<std::vector<MediaRecord>> ListMediaRecords(bool outstanding_only) = 0;

  // Staff. Add refuses an existing name; Remove deletes (the audit trail
  // keeps who they were).
  virtual Status AddStaff(const StaffMember& staff) = 0;
  virtual Result<std::optional<StaffMember>> FindStaff(const std::string& name) = 0;
  virtual Result<std::vector<StaffMember>> ListStaff() = 0;  // by name
  virtual Status RemoveStaff(const std::string& name) = 0;
  // The staff member registered for an OS uid.
  virtual Result<std::optional<StaffMember>> FindStaffByUid(int64_t uid) = 0;

  // Console sign-in (types.h StaffCredential, ConsoleSession). Put replaces
  // a staff member's credential whole. EndConsoleSessions ends every
  // session of `staff` (sign out everywhere, removal, re-enrolment);
  // PruneConsoleSessions those last seen before `idle_before` or created
  // before `created_before`.
  virtual Result<std::optional<StaffCredential>> FindCredential(const std::string& staff) = 0;
  virtual Status PutCredential(const StaffCredential& credential) = 0;
  virtual Status AddConsoleSession(const ConsoleSession& session) = 0;
  virtual Result<std::optional<ConsoleSession>> FindConsoleSession(const std::string& id_hash) = 0;
  virtual Status TouchConsoleSession(const std::string& id_hash, const std::string& at) = 0;
  virtual Status EndConsoleSession(const std::string& id_hash) = 0;
  virtual Status EndConsoleSessions(const std::string& staff) = 0;
  virtual Status PruneConsoleSessions(const std::string& idle_before,
                                      const std::string& created_before) = 0;

  // Proposals (two-person rule). Add returns the new id. Decide moves a
  // pending proposal to `p.state` with its decision fields, and fails with
  // a conflict naming the current state when it is no longer pending (two
  // staff deciding at once: one wins).
  virtual Result<int64_t> AddProposal(const Proposal& proposal) = 0;
  virtual Result<std::optional<Proposal>> FindProposal(int64_t id) = 0;
  virtual Result<std::vector<Proposal>> ListProposals(bool pending_only) = 0;  // by id
  virtual Status DecideProposal(const Proposal& decided) = 0;

  // Special requests. Add returns the new id; Update rewrites every field
  // but id and subscriber_id.
  virtual Result<int64_t> AddSpecialRequest(const SpecialRequest& request) = 0;
  virtual Status UpdateSpecialRequest(const SpecialRequest& request) = 0;
  virtual Result<std::optional<SpecialRequest>> FindSpecialRequest(int64_t id) = 0;
  // By id; one subscriber's when given; ended ones only when asked.
  virtual Result<std::vector<SpecialRequest>> ListSpecialRequests(
      const std::optional<std::string>& subscriber_id, bool include_ended) = 0;
  // Which special requests shaped a delivery.
  virtual Status AddDeliverySpecialRequests(int64_t delivery_id,
                                            const std::vector<int64_t>& request_ids) = 0;
  virtual Result<std::vector<int64_t>> ListDeliverySpecialRequests(int64_t delivery_id) = 0;
  // Whether any delivery so far carried this subscriber id (exactly as
  // given): a special request for an id never seen may be a typo.
  virtual Result<bool> SubscriberSeen(const std::string& subscriber_id) = 0;

  // Corrective-action requests. Add returns the new id; Update rewrites
  // every field but id.
  virtual Result<int64_t> AddCorrectiveRequest(const CorrectiveRequest& request) = 0;
  virtual Status UpdateCorrectiveRequest(const CorrectiveRequest& request) = 0;
  virtual Result<std::optional<CorrectiveRequest>> FindCorrectiveRequest(int64_t id) = 0;
  // By id; filtered by contractor and state when given.
  virtual Result<std::vector<CorrectiveRequest>> ListCorrectiveRequests(
      const std::optional<std::string>& contractor_id, std::optional<RequestState> state) = 0;

  // The contractor whose certificate for `use` has this fingerprint.
  virtual Result<std::optional<std::string>> FindContractorByCertificate(
      const std::string& fingerprint, const std::string& use) = 0;

  // Portal packages. Add refuses an existing id.
  virtual Status AddPortalPackage(const PortalPackageRecord& package) = 0;
  virtual Result<std::optional<PortalPackageRecord>> FindPortalPackage(const std::string& id) = 0;
  // By publication time; one contractor's when given.
  virtual Result<std::vector<PortalPackageRecord>> ListPortalPackages(
      const std::optional<std::string>& contractor_id) = 0;
  virtual Status RevokePortalPackage(const std::string& id, const std::string& by,
                                     const std::string& at) = 0;
  // Records a download; when `download.counted`, adds one to the package's
  // downloads in the same transaction.
  virtual Status AddPortalDownload(const PortalDownload& download) = 0;
  virtual Result<std::vector<PortalDownload>> ListPortalDownloads(
      const std::string& package_id) = 0;
  // Download slots: what keeps max_downloads exact however many downloads
  // run at once (several daemon threads or processes). Reserve takes one
  // slot for a download about to start, in one conditional UPDATE: true when
  // the package is not revoked, expires after `now` (UTC) and its completed
  // plus reserved downloads are below max_downloads; false, and nothing
  // changed, otherwise (unknown package included). Reserved slots are not
  // part of the record row the audit trail commits to.
  virtual Result<bool> ReservePortalDownload(const std::string& package_id,
                                             const std::string& now) = 0;
  // Ends a reserved download in one transaction: records it as
  // AddPortalDownload does (counting it when `download.counted`) and gives
  // its slot back.
  virtual Status EndPortalDownload(const PortalDownload& download) = 0;
  // Gives back every slot still reserved (a daemon that stopped during
  // downloads left them); how many. Called before the portal serves.
  virtual Result<int64_t> ReleasePortalReservations() = 0;

  // Signed checkpoints of the audit chain, newest last.
  virtual Status AddAuditCheckpoint(const AuditCheckpoint& checkpoint) = 0;
  virtual Result<std::vector<AuditCheckpoint>> ListAuditCheckpoints() = 0;

  // Audit rows, stored verbatim. seq is assigned by the caller (last + 1).
  virtual Result<std::optional<AuditEvent>> LastAuditEvent() = 0;
  virtual Status AppendAuditEvent(const AuditEvent& event) = 0;
  // Visits every row in seq order; stops early when `visit` returns false.
  virtual Status ForEachAuditEvent(const std::function<bool(const AuditEvent&)>& visit) = 0;
  // Events in [from_utc, to_utc), newest first, at most `limit`. Each
  // filter applies when not empty: the actor exactly; the action exactly,
  // or as a prefix when it ends in '.', or as a suffix when it starts with
  // '.'; the contractor as the subject "contractor:ID" or a "contractor"
  // detail.
  virtual Result<std::vector<AuditEvent>> ListAuditEvents(
      const std::string& from_utc, const std::string& to_utc, const std::string& actor,
      const std::string& action, const std::string& contractor, int limit) = 0;

 protected:
  Store() = default;
};

}  // namespace itaku::contracts
