// The registry's records (docs/DESIGN.md "Stored state"). Plain values: no I/O.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "contracts/base/date.h"

namespace itaku::contracts {

// The words the store, the audit trail and JSON use for each of these are
// in types.cc, one array per enum indexed by the value (so a new value goes
// at the end of both); ToString and Parse<E> read that array.
enum class ContractorStatus {
  kActive,
  kSuspended,
  kTerminated
};  // "active", "suspended", "terminated"
enum class StaffRole {
  kOperator,
  kPrivacyOfficer,
  kAuditor
};  // "operator", "privacy-officer", "auditor"
// 6(2): 紙, 電子記録媒体の引渡し, 電子的な送信, サーバへのアクセス.
enum class Transport { kPaper, kMedia, kSftp, kPortal };  // "paper", "media", "sftp", "portal"
// kWriting: the package is being written (recorded before it can have its
// final name anywhere; counts as received). kCancelled: a package never
// handed over, withdrawn by staff with a reason (no longer counts).
enum class DeliveryOutcome {
  kRefused,
  kDryRun,
  kDelivered,
  kFailed,
  kSending,
  kWriting,
  kCancelled
};
enum class AttemptOutcome { kDelivered, kAlreadyThere, kNetworkError, kRefused };
enum class MediaState { kWritten, kHandedOver, kReturned, kDestroyed, kCancelled };
enum class RequestState { kReceived, kDecided, kInstructed, kAnswered, kClosed, kNotified };
enum class SpecialKind { kExclude, kWithhold, kExtend };
enum class ProposalState { kPending, kApproved, kRejected, kExpired };
// 再委託 (re-outsourcing) under a contract: not allowed, each one with the
// operator's prior written approval, or only to the subcontractors named.
enum class Reoutsourcing { kForbidden, kApproval, kNamed };  // "forbidden", "approval", "named"
// How delivered data came to an end at the contractor (廃棄証明書).
enum class DisposalMethod {
  kShredded,
  kErased,
  kReturned,
  kDissolved
};  // "shredded" 裁断, "erased" 消去, "returned" 返却, "dissolved" 溶解
// A periodic check's overall result.
enum class CheckResult { kPass, kFindings, kFail };  // "pass", "findings", "fail"

std::string_view ToString(ContractorStatus value);
std::string_view ToString(StaffRole value);
std::string_view ToString(Transport value);
std::string_view ToString(DeliveryOutcome value);
std::string_view ToString(AttemptOutcome value);
std::string_view ToString(MediaState value);
std::string_view ToString(RequestState value);
std::string_view ToString(SpecialKind value);
std::string_view ToString(ProposalState value);
std::string_view ToString(Reoutsourcing value);
std::string_view ToString(DisposalMethod value);
std::string_view ToString(CheckResult value);

// The value a word names; nullopt for any other word. Defined for the enums
// above.
template <typename E>
std::optional<E> Parse(std::string_view word);

struct Contractor {
  std::string id;
  std::string name;
  ContractorStatus status = ContractorStatus::kActive;
  std::string email;
  std::string created_at;  // UTC, "YYYY-MM-DDTHH:MM:SSZ"
  // Where letters to it go (request instruct --letter); may be empty.
  std::string postal_code;  // "6700011" or "670-0011"
  std::string address;
};

// 機密保持契約: a signed non-disclosure agreement (policy 4(3)).
struct Nda {
  int64_t id = 0;  // assigned by the store
  std::string contractor_id;
  Date signed_on;
  Date in_force_from;
  Date in_force_until;
  std::vector<std::string> signatories;
  std::string document_sha256;  // lowercase hex of the scanned document
  std::string document_path;    // where the store keeps its copy
  std::string registered_by;
  std::string registered_at;
  // Withdrawn as entered in error (never deleted): who, when, why. Empty
  // while the NDA stands. A withdrawn NDA covers no delivery.
  std::string withdrawn_at;
  std::string withdrawn_by;
  std::string withdrawn_reason;
};

// 業務委託契約: the outsourcing contract with a contractor (policy 6,
// 4(3); APPI art. 25). A delivery needs one in force on its day that covers
// its profile's purpose.
struct Contract {
  int64_t id = 0;  // assigned by the store
  std::string contractor_id;
  Date signed_on;
  Date in_force_from;
  Date in_force_until;
  std::vector<std::string> purposes;  // catalog purpose ids it covers
  std::string incident_contact;       // who at the contractor answers for a leak
  Reoutsourcing reoutsourcing = Reoutsourcing::kForbidden;
  std::string document_sha256;
  std::string document_path;
  std::string registered_by;
  std::string registered_at;
  std::string withdrawn_at;  // as for NDAs: entered in error, never deleted
  std::string withdrawn_by;
  std::string withdrawn_reason;
};

// A subcontractor named under a contract (Reoutsourcing::kNamed), with its
// own NDA with the contractor.
struct Subcontractor {
  int64_t id = 0;  // assigned by the store
  int64_t contract_id = 0;
  std::string name;
  std::string work;  // what it does for the contractor
  Date nda_from;
  Date nda_until;
  std::string nda_sha256;
  std::string nda_path;
  std::string registered_by;
  std::string registered_at;
};

// The end of a delivery's data at the contractor: returned or destroyed,
// proven by the contractor's certificate (廃棄証明書). One per delivery.
struct Disposal {
  int64_t delivery_id = 0;
  DisposalMethod method = DisposalMethod::kShredded;
  Date disposed_on;  // the day the contractor states
  std::string certificate_sha256;
  std::string certificate_path;
  std::string certificate_name;  // the file name it came under (no personal data expected)
  std::string via;               // "staff" | "portal"
  std::string recorded_by;       // staff name, or the contractor id for the portal
  std::string recorded_at;
};

// A periodic check of a contractor's handling (定期監査・点検).
struct SupervisionCheck {
  int64_t id = 0;  // assigned by the store
  std::string contractor_id;
  Date checked_on;
  CheckResult result = CheckResult::kPass;
  std::string findings;
  std::string evidence_sha256;  // the evidence document, when one was given
  std::string evidence_path;
  Date next_due;
  std::string recorded_by;
  std::string recorded_at;
};

// 漏えい等事案 (policy 7; APPI art. 26): a leak at a contractor, its scope
// fixed from the record when it is opened, and what the reports to the
// Personal Information Protection Commission need. The persons are the
// incident's notices (IncidentNotice), by subscriber id only.
struct Incident {
  int64_t id = 0;  // assigned by the store
  std::string contractor_id;
  Date since;  // the JST days whose deliveries are in scope
  Date until;
  Date discovered_on;
  bool malicious = false;  // 不正の目的: the final report is due in 60 days, not 30
  std::string summary;     // 概要 (no personal data)
  // Fixed at opening, from the receipts: deliveries in scope, persons, and
  // per data item how many persons it reached.
  std::vector<int64_t> deliveries;
  int64_t persons = 0;
  std::map<std::string, int64_t> persons_by_item;
  // Filled in as the response goes on (for the final report).
  std::string cause;           // 発生原因
  std::string secondary_harm;  // 二次被害又はそのおそれの有無及びその内容
  std::string response;        // 本人への対応の実施状況
  std::string measures;        // 再発防止のための措置
  std::string other;           // その他参考となる事項
  // 7(1)[2] publication, or the reason for not publishing under 7(2)
  // (one of 5(1)[1]-[7]): "" until decided.
  std::string publication;         // "publish" | "withhold" | ""
  std::string publication_text;    // the announcement, when published
  std::string publication_reason;  // "5(1)[3]" ..., when withheld
  std::string publication_note;
  std::string opened_by;
  std::string opened_at;
  std::string preliminary_reported_at;  // UTC, when staff record the 速報 sent
  std::string final_reported_at;
  std::string closed_at;
};

// One person's notice under 7(1)[1]. state: "pending" -> "sending" ->
// "sent" (e-mail accepted by the server) or "letter" (a printable letter
// written), or "failed" (error kept; tried again on resume), "no-contact"
// (the contact list has no way to reach them).
struct IncidentNotice {
  int64_t incident_id = 0;
  std::string subscriber_id;
  std::string state = "pending";
  std::string via;  // "email" | "letter" | ""
  int attempts = 0;
  std::string updated_at;
  std::string error;  // the last failure, no personal data
};

// A contract profile as imported from TOML; versioned by the store.
struct ContractProfile {
  std::string id;
  int version = 0;  // assigned by the store, 1, 2, ...
  std::string contractor_id;
  std::string purpose;
  std::vector<std::string> fields;      // catalog ids, in output order
  std::vector<std::string> transports;  // "media", "sftp", "portal", "paper"
  Date valid_from;
  Date valid_until;
  int retention_days = 0;
  std::string output_format = "csv";
  std::string output_encoding = "utf-8";  // "utf-8" | "cp932"
  // What an SFTP delivery sends: "p7m", the encrypted package of media
  // deliveries (default), or "csv", the projected CSV alone (SSH encrypts
  // the wire) for agencies whose batch job reads CSV directly.
  std::string output_package = "p7m";
  // [output] formula_guard: a cell a spreadsheet would evaluate (=, +, -,
  // @, ...) is neutralised in the CSV the contractor receives. Turning it
  // off (for a batch job that reads raw CSV) widens the profile. Not a
  // column of the store: read from `source`, as imported with the version.
  bool formula_guard = true;
  std::map<std::string, std::string> masks;  // field id -> mask name
  std::string source;                        // the TOML text as imported
  std::string source_sha256;                 // of `source`; equal hashes = same version
  std::string imported_by;
  std::string imported_at;
};

// An X.509 certificate registered for a contractor: packages are encrypted
// to it (policy 6(2) media). One per contractor and use; a new one replaces
// the old (the audit trail keeps the history).
struct ContractorCertificate {
  std::string contractor_id;
  std::string use = "package";  // "package" (later "portal")
  std::string pem;
  std::string fingerprint;  // "SHA256:AB:CD:..." as openssl x509 -fingerprint prints it
  std::string subject;
  std::string not_after;  // UTC "YYYY-MM-DDTHH:MM:SSZ"
  std::string registered_by;
  std::string registered_at;
};

// Where a contractor's SFTP server is and how it is trusted: the host key
// is pinned ("SHA256:<base64>" as OpenSSH prints it) and the client key is
// kept in the store's key folder. The key's passphrase is never stored:
// passphrase_source names where it comes from ("env:NAME" or "file:PATH").
struct SftpEndpointRecord {
  std::string contractor_id;
  std::string url;       // sftp://user@host:port/path
  std::string host_key;  // pinned fingerprint; empty = not pinned (no delivery)
  std::string key_path;  // the client's private key, in the store's key folder
  std::string passphrase_source;
  std::string registered_by;
  std::string registered_at;
};

// One try at delivering (SFTP retries each add one).
struct DeliveryAttempt {
  int64_t delivery_id = 0;
  int attempt = 0;  // 1, 2, ...
  std::string started_at;
  std::string finished_at;
  AttemptOutcome outcome = AttemptOutcome::kNetworkError;
  std::string error;
};

// Staff who act through Itaku. Only a privacy officer decides corrective-
// action requests and ends special requests.
// Each is one OS account: the staff API knows its caller by the uid the
// kernel reports for the socket (SO_PEERCRED), never by a name it is told.
struct StaffMember {
  std::string name;
  StaffRole role = StaffRole::kOperator;
  std::string added_by;
  std::string added_at;
  std::string os_user;  // the OS account's name when registered
  int64_t os_uid = -1;  // its uid, as resolved when registered
};

// How a staff member signs in to the console (gateway/console): an argon2id
// password hash and a TOTP secret sealed with the console key, which lives
// beside the store, never in it. An officer's one-time enrolment code is
// kept only as its hash.
struct StaffCredential {
  std::string staff;                // staff.name
  std::string password_hash;        // crypto_pwhash_str (argon2id); "" until enrolled
  std::string totp_sealed;          // the TOTP secret, sealed; "" until enrolled
  std::string pending_totp_sealed;  // offered during enrolment, not yet confirmed
  std::string enrolled_at;          // UTC
  int64_t last_totp_step = 0;       // a code is accepted once (replay guard)
  std::string enrol_code_hash;      // SHA-256 of the normalised code; "" when none
  std::string enrol_expires_at;     // UTC
  std::string enrol_issued_by;
  int failures = 0;          // consecutive failed sign-ins
  std::string locked_until;  // UTC; "" when not locked
};

// A signed-in console session. The cookie carries a random 256-bit id; the
// store keeps only its SHA-256, so reading the store signs no one in.
struct ConsoleSession {
  std::string id_hash;
  std::string staff;
  std::string created_at;    // UTC: the absolute limit counts from here
  std::string last_seen_at;  // UTC: the idle limit counts from here
};

// A change that widens what or where data goes (a profile field, a weaker
// mask, an SFTP server, a privacy officer, ...) waits as a proposal until a
// second person approves it. `command` and `args` are the staff API command
// that makes the change once approved; `changes` the field-by-field
// difference shown to the approver (JSON array text).
struct Proposal {
  int64_t id = 0;  // assigned by the store
  std::string command;
  std::string subject;
  std::string args;     // JSON object text
  std::string changes;  // JSON array text: [{"item","from","to"}]
  std::string proposed_by;
  std::string proposed_at;
  std::string expires_at;
  ProposalState state = ProposalState::kPending;
  std::string decided_by;
  std::string decided_at;
  std::string note;  // the approver's or rejecter's words; the small-office rule when it applied
};

// 特に申し入れ (policy 6(1)): a subscriber's special request about what one
// contractor, or every contractor working for one purpose, receives.
struct SpecialRequest {
  int64_t id = 0;  // assigned by the store
  std::string subscriber_id;
  std::string contractor_id;  // exactly one of contractor_id and purpose is set
  std::string purpose;
  SpecialKind kind = SpecialKind::kExclude;
  std::vector<std::string> fields;  // withheld or extended fields; empty for exclude
  std::string consent_sha256;       // extend: the consent evidence's hash
  std::string consent_path;         // extend: the store's copy of it
  Date valid_from;
  std::optional<Date> valid_until;  // open-ended when absent
  std::string created_by;
  std::string created_at;
  std::string ended_by;  // empty while not ended
  std::string ended_at;
  std::string end_reason;
};

// 是正の申し入れ (policy 6(3)-(4)): a subscriber asks that a contractor's
// handling be corrected. States, in order: received -> decided ->
// instructed -> answered -> closed -> notified; a request decided not
// justified may go from decided straight to notified
// (policies/request_rules.h).
struct CorrectiveRequest {
  int64_t id = 0;  // assigned by the store
  std::string subscriber_id;
  std::string channel;  // "phone" | "letter" | "web" | "counter"
  std::string contractor_id;
  std::string request_text;
  std::string received_at;
  std::string received_by;
  std::string contact_email;  // where the outcome notice goes, when given
  RequestState state = RequestState::kReceived;

  std::optional<bool> justified;
  std::string decision_reason;
  std::string decided_by;
  std::string decided_at;

  std::string instruction_text;
  std::string instructed_to;    // the contractor's address, or the letter file
  std::string instruction_via;  // "email" | "letter"
  std::string instructed_by;
  std::string instructed_at;

  std::string answer_text;
  std::string answered_by;
  std::string answered_at;

  std::optional<bool> carried_out;
  std::string close_reason;  // required when not carried out
  std::string closed_by;
  std::string closed_at;

  std::string notice_via;  // "email" | "letter"
  std::string notice_to;   // e-mail address or letter file (never a postal address)
  std::string notice_subject;
  std::string notice_text;
  std::string notified_by;
  std::string notified_at;
  std::string notice_error;  // the last failed attempt to send a notice; empty when none
  std::string notice_error_at;
};

// A package published on the contractor portal (policy 6(2) サーバへの
// アクセス): one contractor, until a time, for a number of downloads.
struct PortalPackageRecord {
  std::string id;  // 32 hex characters, random
  int64_t delivery_id = 0;
  std::string contractor_id;
  std::string file_name;
  std::string path;
  int64_t size = 0;
  std::string sha256;
  std::string expires_at;  // UTC
  int max_downloads = 0;
  int downloads = 0;  // completed
  std::string published_by;
  std::string published_at;
  std::string revoked_by;  // empty unless revoked
  std::string revoked_at;
};

// One download (or attempt) of a portal package.
struct PortalDownload {
  std::string package_id;
  std::string at;
  std::string contractor_id;
  std::string fingerprint;
  std::string address;
  int64_t first_byte = 0;
  int64_t bytes = 0;
  bool complete = false;
  bool counted = false;  // counted against the package's limit
};

// The physical medium a media package travels on (電子記録媒体の引渡し).
// The state machine is policies/media_rules.h.
struct MediaRecord {
  int64_t delivery_id = 0;
  std::string package_name;
  MediaState state = MediaState::kWritten;
  std::string medium;     // e.g. "USB serial 4C53..."
  std::string handed_to;  // person at the contractor
  std::string handed_over_at;
  std::string handed_over_by;
  std::string closed_at;
  std::string closed_by;
  // The contractor's certificate of return or destruction, when one was
  // handed in: its SHA-256 and the store's copy.
  std::string certificate_sha256;
  std::string certificate_path;
};

// One delivery attempt or dry run, refused or not.
struct DeliveryRecord {
  int64_t id = 0;  // assigned by the store
  std::string ordered_by;
  std::string ordered_at;
  std::string contractor_id;
  std::string profile_id;
  int profile_version = 0;
  std::optional<int64_t> nda_id;
  Transport transport = Transport::kMedia;
  DeliveryOutcome outcome = DeliveryOutcome::kRefused;
  std::string reason;               // every refusal reason, "; "-joined; empty when allowed
  std::vector<std::string> fields;  // field ids sent (or that would be sent)
  int64_t record_count = 0;
  std::string input_name;
  std::string package_sha256;
  // Consented extensions (policy 6(1)) sent after `fields` for some
  // subscribers: a receipt's `carried` bits index fields ++ extra_fields.
  std::vector<std::string> extra_fields;
  // The package's name ("<contractor>-<id><suffix>"), known from the start.
  std::string package_name;
  // The receipts as recorded: how many, and SHA-256 over "id\tcarried\n"
  // in store order (checked by audit verify).
  int64_t receipts_count = 0;
  std::string receipts_sha256;
};

// What `history --subscriber` and `breach-scope` read: one subscriber in one
// delivery that actually left the gateway (outcome "delivered", or "sending"
// while an upload runs or after one was cut off).
struct Receipt {
  int64_t delivery_id = 0;
  std::string subscriber_id;
  std::string delivered_at;
  std::string contractor_id;
  std::string profile_id;
  int profile_version = 0;
  Transport transport = Transport::kMedia;
  // The fields this subscriber's row actually carried (non-empty cells):
  // withheld fields absent, consented extensions present, house_drawing
  // only when a drawing was sent.
  std::vector<std::string> fields;
  // Bit i: column i of the delivery's fields ++ extra_fields was sent
  // non-empty. -1 (all bits): recorded before schema 7, the whole list.
  int64_t carried = -1;
};

// One receipt as the broker records it: the subscriber and the bits of
// the fields their row carried (see Receipt::carried).
struct ReceiptEntry {
  std::string subscriber_id;
  int64_t carried = -1;
};

// The names of the columns `carried` marks, over fields ++ extra; -1 (a
// receipt recorded before schema 7) names `fields` whole.
std::vector<std::string> CarriedFields(const std::vector<std::string>& fields,
                                       const std::vector<std::string>& extra, int64_t carried);

// A signed statement "the chain's event `seq` has hash `head`", made by the
// daemon with its Ed25519 key (`key_id`: the first 16 hex digits of the
// SHA-256 of the raw public key), hex signature.
struct AuditCheckpoint {
  int64_t seq = 0;
  std::string head;
  std::string at;
  std::string key_id;
  std::string signature;
};

// A row of the audit trail. `hash` covers `prev_hash` and every other field;
// computing it is the gateway's business, storing it is ours.
struct AuditEvent {
  int64_t seq = 0;
  std::string at;
  std::string actor;
  std::string action;
  std::string subject;
  std::string details;  // canonical JSON
  std::string prev_hash;
  std::string hash;
};

}  // namespace itaku::contracts
