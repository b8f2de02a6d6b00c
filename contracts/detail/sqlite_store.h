// Store on SQLite through Poco::Data. See contracts/store.h for the contract.
//
// Every statement binds its values (Poco use()/bind()/into()); SQL text is
// never built from data. Transactions nest: the outermost is BEGIN IMMEDIATE
// (takes the write lock up front, so concurrent writers wait on the busy
// timeout instead of failing on lock upgrade); inner ones are SAVEPOINTs, so
// a failing inner body undoes only its own writes.
#pragma once

#include <Poco/Data/Session.h>

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "contracts/store.h"

namespace itaku::contracts::detail {

class SqliteStore final : public Store {
 public:
  static Result<std::unique_ptr<Store>> Open(const std::string& path);

  Result<int> SchemaVersion() override;
  Status DeferCheckpoints() override;
  Status CheckpointLog() override;
  std::string DocumentDir() const override { return document_dir_; }
  Status Transaction(const std::function<Status()>& body) override;

  Result<std::optional<std::string>> GetMeta(const std::string& key) override;
  Status SetMeta(const std::string& key, const std::string& value) override;
  Status DeleteMeta(const std::string& key) override;

  Status AddContractor(const Contractor& contractor) override;
  Result<std::optional<Contractor>> FindContractor(const std::string& id) override;
  Result<std::vector<Contractor>> ListContractors() override;
  Status SetContractorStatus(const std::string& id, ContractorStatus status) override;
  Status UpdateContractor(const Contractor& contractor) override;

  Result<int64_t> AddNda(const Nda& nda) override;
  Result<std::vector<Nda>> ListNdas(const std::optional<std::string>& contractor_id) override;
  Status WithdrawNda(int64_t id, const std::string& at, const std::string& by,
                     const std::string& reason) override;
  Result<std::vector<DeliveryRecord>> ListDeliveriesByNda(int64_t nda_id) override;

  Result<int64_t> AddContract(const Contract& contract) override;
  Result<std::vector<Contract>> ListContracts(
      const std::optional<std::string>& contractor_id) override;
  Status WithdrawContract(int64_t id, const std::string& at, const std::string& by,
                          const std::string& reason) override;
  Result<int64_t> AddSubcontractor(const Subcontractor& subcontractor) override;
  Result<std::vector<Subcontractor>> ListSubcontractors(
      std::optional<int64_t> contract_id) override;
  Status AddDisposal(const Disposal& disposal) override;
  Result<std::vector<Disposal>> ListDisposals() override;
  Result<int64_t> AddSupervisionCheck(const SupervisionCheck& check) override;
  Result<std::vector<SupervisionCheck>> ListSupervisionChecks(
      const std::optional<std::string>& contractor_id) override;

  Result<std::vector<ReceiptRange>> ListReceiptRanges(const std::string& contractor_id,
                                                      const std::string& from_utc,
                                                      const std::string& to_utc) override;
  Result<std::unique_ptr<ReceiptReader>> OpenReceiptReader() override;
  Result<int64_t> AddIncident(const Incident& incident,
                              const std::vector<std::string_view>& subscriber_ids) override;
  Status UpdateIncident(const Incident& incident) override;
  Result<std::optional<Incident>> FindIncident(int64_t id) override;
  Result<std::vector<Incident>> ListIncidents() override;
  Result<std::vector<IncidentNotice>> ListIncidentNotices(int64_t incident_id,
                                                          const std::vector<std::string>& states,
                                                          const std::string& after,
                                                          int limit) override;
  Result<std::map<std::string, int64_t>> CountIncidentNotices(int64_t incident_id) override;
  Status UpdateIncidentNotice(const IncidentNotice& notice) override;

  Result<int> PutProfile(const ContractProfile& profile, bool* created) override;
  Result<std::optional<ContractProfile>> FindProfile(const std::string& id,
                                                     std::optional<int> version) override;
  Result<std::vector<ContractProfile>> ListProfiles() override;

  Result<int64_t> AddDelivery(const DeliveryRecord& delivery) override;
  Status AddDeliverySubscribers(int64_t delivery_id,
                                const std::vector<std::string>& subscriber_ids) override;
  Status AddDeliveryReceipts(int64_t delivery_id,
                             const std::vector<ReceiptEntry>& receipts) override;
  Status UpdateDelivery(const DeliveryRecord& delivery) override;
  Result<std::vector<DeliveryRecord>> ListDeliveriesWithOutcome(
      const std::vector<DeliveryOutcome>& outcomes) override;
  Status ForEachRecordRow(
      const std::string& table, std::optional<int64_t> delivery_id,
      const std::function<void(int64_t, const std::string&, const std::string&)>& visit) override;
  Status ForEachReceiptRow(
      std::optional<int64_t> delivery_id,
      const std::function<void(int64_t, std::string_view, int64_t)>& visit) override;
  Status SetDeliveryOutcome(int64_t delivery_id, DeliveryOutcome outcome, const std::string& reason,
                            int64_t record_count, const std::string& package_sha256) override;
  Result<std::optional<DeliveryRecord>> FindDelivery(int64_t id) override;
  Result<std::vector<Receipt>> History(const std::string& subscriber_id) override;
  Status ForEachReceipt(const std::string& contractor_id, const std::string& from_utc,
                        const std::string& to_utc,
                        const std::function<void(const Receipt&)>& visit) override;

  Status PutContractorCertificate(const ContractorCertificate& cert) override;
  Result<std::optional<ContractorCertificate>> FindContractorCertificate(
      const std::string& contractor_id, const std::string& use) override;

  Status PutSftpEndpoint(const SftpEndpointRecord& endpoint) override;
  Result<std::optional<SftpEndpointRecord>> FindSftpEndpoint(
      const std::string& contractor_id) override;
  Status AddDeliveryAttempt(const DeliveryAttempt& attempt) override;
  Result<std::vector<DeliveryAttempt>> ListDeliveryAttempts(int64_t delivery_id) override;

  Status AddMediaRecord(const MediaRecord& media) override;
  Status UpdateMediaRecord(const MediaRecord& media) override;
  Result<std::optional<MediaRecord>> FindMediaRecord(int64_t delivery_id) override;
  Result<std::vector<MediaRecord>> ListMediaRecords(bool outstanding_only) override;

  Status AddStaff(const StaffMember& staff) override;
  Result<std::optional<StaffMember>> FindStaff(const std::string& name) override;
  Result<std::vector<StaffMember>> ListStaff() override;
  Status RemoveStaff(const std::string& name) override;
  Result<std::optional<StaffMember>> FindStaffByUid(int64_t uid) override;
  Result<std::vector<DeliveryRecord>> ListDeliveries(const std::string& contractor_id,
                                                     const std::string& from_utc,
                                                     const std::string& to_utc, int limit) override;
  Result<std::vector<AuditEvent>> ListAuditEvents(
      const std::string& from_utc, const std::string& to_utc, const std::string& actor,
      const std::string& action, const std::string& contractor, int limit) override;
  Result<std::optional<StaffCredential>> FindCredential(const std::string& staff) override;
  Status PutCredential(const StaffCredential& credential) override;
  Status AddConsoleSession(const ConsoleSession& session) override;
  Result<std::optional<ConsoleSession>> FindConsoleSession(const std::string& id_hash) override;
  Status TouchConsoleSession(const std::string& id_hash, const std::string& at) override;
  Status EndConsoleSession(const std::string& id_hash) override;
  Status EndConsoleSessions(const std::string& staff) override;
  Status PruneConsoleSessions(const std::string& idle_before,
                              const std::string& created_before) override;
  Result<int64_t> AddProposal(const Proposal& proposal) override;
  Result<std::optional<Proposal>> FindProposal(int64_t id) override;
  Result<std::vector<Proposal>> ListProposals(bool pending_only) override;
  Status DecideProposal(const Proposal& decided) override;

  Result<int64_t> AddSpecialRequest(const SpecialRequest& request) override;
  Status UpdateSpecialRequest(const SpecialRequest& request) override;
  Result<std::optional<SpecialRequest>> FindSpecialRequest(int64_t id) override;
  Result<std::vector<SpecialRequest>> ListSpecialRequests(
      const std::optional<std::string>& subscriber_id, bool include_ended) override;
  Status AddDeliverySpecialRequests(int64_t delivery_id,
                                    const std::vector<int64_t>& request_ids) override;
  Result<std::vector<int64_t>> ListDeliverySpecialRequests(int64_t delivery_id) override;
  Result<bool> SubscriberSeen(const std::string& subscriber_id) override;

  Result<int64_t> AddCorrectiveRequest(const CorrectiveRequest& request) override;
  Status UpdateCorrectiveRequest(const CorrectiveRequest& request) override;
  Result<std::optional<CorrectiveRequest>> FindCorrectiveRequest(int64_t id) override;
  Result<std::vector<CorrectiveRequest>> ListCorrectiveRequests(
      const std::optional<std::string>& contractor_id, std::optional<RequestState> state) override;

  Result<std::optional<std::string>> FindContractorByCertificate(const std::string& fingerprint,
                                                                 const std::string& use) override;
  Status AddPortalPackage(const PortalPackageRecord& package) override;
  Result<std::optional<PortalPackageRecord>> FindPortalPackage(const std::string& id) override;
  Result<std::vector<PortalPackageRecord>> ListPortalPackages(
      const std::optional<std::string>& contractor_id) override;
  Status RevokePortalPackage(const std::string& id, const std::string& by,
                             const std::string& at) override;
  Status AddPortalDownload(const PortalDownload& download) override;
  Result<std::vector<PortalDownload>> ListPortalDownloads(const std::string& package_id) override;
  Result<bool> ReservePortalDownload(const std::string& package_id, const std::string& at) override;
  Status EndPortalDownload(const PortalDownload& download) override;
  Result<int64_t> ReleasePortalReservations() override;

  Status AddAuditCheckpoint(const AuditCheckpoint& checkpoint) override;
  Result<std::vector<AuditCheckpoint>> ListAuditCheckpoints() override;
  Result<std::optional<AuditEvent>> LastAuditEvent() override;
  Status AppendAuditEvent(const AuditEvent& event) override;
  Status ForEachAuditEvent(const std::function<bool(const AuditEvent&)>& visit) override;

 private:
  SqliteStore(std::string path, Poco::Data::Session session);

  Status Migrate();
  // Transaction() with `what` prefixed to every failure it reports itself.
  Status RunTransaction(const std::string& what, const std::function<Status()>& body);
  bool ContractorExists(const std::string& id);
  bool DeliveryExists(int64_t id);

  const std::string path_;
  const std::string document_dir_;
  Poco::Data::Session session_;
  int depth_ = 0;  // open transactions: 0 none, 1 BEGIN, >1 savepoints
};

}  // namespace itaku::contracts::detail
