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
#include <memory>
#include <optional>
#include <string>
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
  static constexpr int kSchemaVersion = 6;
  virtual Result<int> SchemaVersion() = 0;
  // Folder beside the database for documents (NDA scans): "<db>.d/documents".
  virtual std::string DocumentDir() const = 0;

  // Runs `body` inside one write transaction (BEGIN IMMEDIATE on SQLite);
  // commits when it returns ok, rolls back otherwise (or on exception).
  virtual Status Transaction(const std::function<Status()>& body) = 0;

  virtual Result<std::optional<std::string>> GetMeta(const std::string& key) = 0;
  virtual Status SetMeta(const std::string& key, const std::string& value) = 0;

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
  virtual Status AddDeliverySubscribers(int64_t delivery_id,
                                        const std::vector<std::string>& subscriber_ids) = 0;
  virtual Status SetDeliveryOutcome(int64_t delivery_id, DeliveryOutcome outcome,
                                    const std::string& reason, int64_t record_count,
                                    const std::string& package_sha256) = 0;
  virtual Result<std::optional<DeliveryRecord>> FindDelivery(int64_t id) = 0;
  // Policy 5: every receipt of one subscriber, oldest first. A receipt is a
  // delivery with outcome "delivered", or "sending" (an upload under way or
  // cut off: the data may have arrived).
  virtual Result<std::vector<Receipt>> History(const std::string& subscriber_id) = 0;
  // Policy 7: every subscriber a contractor received in [since, until]
  // (dates inclusive, by delivered_at's UTC date), by delivery then subscriber.
  virtual Status ForEachReceipt(const std::string& contractor_id, const Date& since,
                                const Date& until,
                                const std::function<void(const Receipt&)>& visit) = 0;

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

  // Audit rows, stored verbatim. seq is assigned by the caller (last + 1).
  virtual Result<std::optional<AuditEvent>> LastAuditEvent() = 0;
  virtual Status AppendAuditEvent(const AuditEvent& event) = 0;
  // Visits every row in seq order; stops early when `visit` returns false.
  virtual Status ForEachAuditEvent(const std::function<bool(const AuditEvent&)>& visit) = 0;

 protected:
  Store() = default;
};

}  // namespace itaku::contracts
