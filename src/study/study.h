// A study definition: the protocol as code (DESIGN.md §2). Loaded from YAML
// (schema/study.schema.json), validated with every error located by file,
// line and column, and compiled: every expression in it is type-checked
// against the study and ready to evaluate.
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/hash.h"
#include "core/status.h"
#include "rules/rules.h"

namespace trialcore::study {

struct Location {
  int line = 0;  // 1-based; 0 when unknown
  int column = 0;
};

enum class ItemType {
  kText,
  kInteger,
  kDecimal,
  kDate,
  kPartialDate,
  kTime,
  kDateTime,
  kBoolean,
  kChoice,
  kMultiChoice,
  kAttachment,
};
std::string_view ItemTypeName(ItemType type);
rules::Type RuleTypeOf(ItemType type);

struct Code {
  std::string code;
  std::string label;
};

struct CodeList {
  std::string id;
  // The identifier this came with from another system (an ODM OID), kept so
  // that data exchanged later maps to it; empty when written here.
  std::string oid;
  std::vector<Code> codes;
  Location loc;
};

struct Range {
  std::optional<double> min;
  std::optional<double> max;
};

// A bound as plain decimal text, the shortest that reads back as the same
// double ("35.5", "0.00001", never "1e-05"): for diffs and the API.
std::string FormatBound(double value);

// The roles of doc/roles.md; forms and grants name only these.
bool IsKnownRole(std::string_view role);

// How much of an identifying item's value (date of birth, initials, free
// text) a role sees (doc/roles.md, "Identifying items"): the server withholds
// the rest from every response that carries values.
enum class Disclosure { kFull, kYearOnly, kHidden };
std::string_view DisclosureName(Disclosure d);  // "full", "year_only", "hidden"

struct Item {
  std::string id;
  std::string oid;  // as CodeList::oid
  std::string label;
  ItemType type = ItemType::kText;
  std::string unit;
  int precision = -1;  // decimals: digits after the point allowed; -1 any
  int max_length = 0;  // text: 0 unlimited
  std::string codelist;
  bool required = false;
  std::optional<Range> hard_range;                // outside: the save is refused
  std::optional<Range> soft_range;                // outside: a query opens
  std::string visible_if;                         // expression; empty: always visible
  std::string derive;                             // expression; the item is computed, never entered
  bool unblinded_only = false;                    // reveals the treatment arm (dose, kit): never shown to blinded roles
  std::map<std::string, Disclosure> identifying;  // by role; a role not named sees the value in full
  Location loc, visible_loc, derive_loc;
  std::optional<rules::Expression> visible_expr, derive_expr;
};

struct ItemGroup {
  std::string id;
  std::string oid;  // as CodeList::oid
  std::string label;
  bool repeating = false;
  std::vector<Item> items;
  Location loc;
};

struct Check {
  std::string id;
  std::string condition;  // must hold; a query opens (soft) or the save is refused (hard) when false
  bool hard = false;
  std::string message;
  std::string item;   // where the query lands
  std::string group;  // the item's group when repeating: the check runs once per row
  Location loc, condition_loc;
  std::optional<rules::Expression> expr;
};

struct Form {
  std::string id;
  std::string oid;  // as CodeList::oid
  std::string name;
  std::vector<std::string> roles;  // who may enter it
  std::vector<ItemGroup> groups;
  std::vector<Check> checks;
  Location loc;

  const Item* FindItem(std::string_view item_id, const ItemGroup** group = nullptr) const;
};

struct Visit {
  std::string id;
  std::string oid;  // as CodeList::oid (an ODM StudyEventDef)
  std::string name;
  std::optional<int> day;  // planned day relative to the anchor (anchor date is day 1)
  int window_before = 0;   // days
  int window_after = 0;
  bool unscheduled = false;
  int repeat_every = 0;  // days; 0: happens once
  int repeat_until = 0;  // last planned day of a repeating visit
  std::vector<std::string> forms;
  Location loc;
};

struct Criterion {
  std::string id;
  std::string text;
  bool inclusion = true;
  // Inclusion: true when met. Exclusion: true when the subject is excluded.
  std::string condition;
  Location loc, condition_loc;
  std::optional<rules::Expression> expr;
};

struct Arm {
  std::string code;
  std::string name;
};

struct Site {
  std::string id;
  std::string name;
  std::string country;
  // The principal investigator: the primary source of the site's safety
  // reports (E2B(R3) C.2.r; FDA requires the reporter's e-mail).
  std::string investigator_given, investigator_family, investigator_email;
};

struct ItemRef {
  std::string form;
  std::string item;
};

// Which entered data a monitor verifies against the source (risk-based
// monitoring): every item named in `always` (primary endpoint and safety data)
// on every subject, and everything else on a sample of subjects whose share
// follows the site's risk. A subject is in the sample when the first 8 bytes
// of SHA-256("<seed>/<subject>"), as a big-endian number, modulo 100 are below
// the percent: reproducible by anyone holding the published study file.
// Without a plan every entered item is to be verified.
struct SdvPlan {
  bool declared = false;
  std::vector<ItemRef> always;                 // item empty: the whole form
  std::string seed;                            // the study id unless given
  std::map<std::string, int> percent_by_risk;  // "high" -> 100
  std::map<std::string, std::string> site_risk;
  std::string default_risk;
  Location loc;

  // The share of subjects sampled at a site, in percent.
  int PercentAt(const std::string& site) const;
  bool Sampled(const std::string& site, const std::string& subject) const;
  // Whether the plan asks for this item on this subject (derived and hidden
  // items aside: those are never verified).
  bool Requires(const std::string& form, const std::string& item, bool subject_sampled) const;
};

// How subject numbers are made: the server assigns the next one when a
// subject is screened, so that no site keys a number by hand.
struct SubjectNumbering {
  bool site_prefix = true;  // "701-1001": the site, '-', then the sequence (counted per site)
  int digits = 4;           // the sequence, zero-padded to this width
  int first = 1;            // the first number of each sequence
  Location loc;
};

// Where the case report form records adverse events, so that a serious one
// opens a safety case the moment it is saved (issue 16): a repeating group
// of one form, a row per event.
struct SafetyAeMapping {
  std::string form, group;
  std::string term;       // the verbatim term (text)
  std::string serious;    // "Y" of a choice, or true of a boolean, makes the event serious
  std::string onset;      // date
  std::string outcome;    // optional
  std::string causality;  // optional: the investigator's assessment
  // The causality item's values that mean a reasonable possibility that the
  // product caused the event ("POSSIBLE", "PROBABLE"): the investigator's
  // assessment as the reporting rules read it. Required with `causality`.
  std::vector<std::string> related;
  // Seriousness criteria (ICH E2B(R3) E.i.3.2): criterion -> boolean item.
  // Criteria: death, life_threatening, hospitalisation, disability,
  // congenital_anomaly, other_medically_important.
  std::map<std::string, std::string> criteria;
};

// The reference safety information (RSI) of this study version: the adverse
// reactions the investigator's brochure or product information lists as
// expected, by MedDRA preferred term name. A serious reaction not listed is
// unexpected (ICH E2A); the list is the study version's, so a case is
// assessed against the RSI in force when it is assessed.
struct ReferenceSafetyInformation {
  std::string document;               // "Investigator's Brochure, edition 7, section 6.4"
  std::vector<std::string> expected;  // MedDRA PT names
  bool declared() const { return !document.empty(); }
};

// Who sends the study's expedited reports (E2B(R3) N.1.3, C.3) and the
// regulatory identifiers they carry.
struct SafetySender {
  std::string id = "TRIALCORE";  // the sender identifier agreed with the receiver (FDA's ESG account)
  std::string organisation;      // defaults to the study's sponsor
  std::string country = "US";    // ISO 3166-1 alpha-2
  // The sender's safety contact (C.3.3, C.3.4): FDA refuses a report without them.
  std::string department, contact_title, contact_given, contact_family;
  std::string street, city, state, postcode, phone, fax, email;
};

// Someone told by e-mail when the safety role unblinds a case of the study
// (src/notify/): the mail names the case, never its treatment.
struct UnblindedContact {
  std::string name;
  std::string email;
  std::string role;  // free text: "unblinded statistician", "DSMB chair"
  Location loc;
};

struct SafetySettings {
  bool declared = false;
  SafetyAeMapping adverse_events;
  std::string suspect_product;  // the investigational product's name on every case
  std::string ind_number;       // the FDA IND the study runs under (FDA.C.5.5a)
  SafetySender sender;
  ReferenceSafetyInformation reference_safety_information;
  // The patient's sex and age on the ICSR: items of non-repeating groups
  // (optional; the ICSR says unknown without them).
  ItemRef patient_sex, patient_age;
  // The sponsor's fixed offset from UTC: day 0 of a reporting clock is the
  // sponsor's calendar day of first awareness.
  int utc_offset_minutes = 0;
  std::vector<std::string> destinations;  // "FDA", "EU": where expedited reports go
  std::vector<UnblindedContact> unblinded_contacts;
  Location loc;
};

inline constexpr std::string_view kSeriousnessCriteria[] = {
    "death", "life_threatening", "hospitalisation", "disability", "congenital_anomaly", "other_medically_important"};

struct Study {
  std::string id;
  std::string title;
  std::string version;
  std::string sponsor;
  std::string phase;
  int planned_subjects = 0;
  std::vector<Arm> arms;
  std::vector<Site> sites;
  std::vector<CodeList> codelists;
  ItemRef anchor;      // the date visits are planned from (day 1)
  ItemRef visit_date;  // the item holding each visit's date
  // The visit date is entered before any other form of a visit that
  // collects it (so no form is saved for a visit that has not happened).
  bool visit_date_first = false;
  std::optional<SubjectNumbering> subject_numbering;  // none: numbers are typed
  // Standard reasons for changing saved data; when any are given, a reason
  // for change is one of them or "Other: " and the user's own words.
  std::vector<std::string> reasons_for_change;
  std::vector<Visit> visits;
  std::vector<Form> forms;
  std::vector<Criterion> eligibility;
  SdvPlan sdv_plan;
  SafetySettings safety;

  std::string file;     // where it was loaded from, for messages
  std::string source;   // the YAML text as published
  Hash content_hash{};  // over the canonical form of the YAML document

  const Form* FindForm(std::string_view id) const;
  const Visit* FindVisit(std::string_view id) const;
  const CodeList* FindCodeList(std::string_view id) const;

  // A visit as it happens to a subject: "WEEK2", or "PHONE#3" for the third
  // occurrence of a repeating or unscheduled visit. NotFound/InvalidArgument
  // say what is wrong with the id.
  struct VisitInstance {
    const Visit* visit = nullptr;
    int occurrence = 1;
  };
  Result<VisitInstance> FindVisitInstance(std::string_view id) const;
};

// Planned days of a visit's occurrences: one for a scheduled visit, every
// `repeat_every` days up to `repeat_until` for a repeating one, none for an
// unscheduled one.
std::vector<int> PlannedDays(const Visit& visit);
std::string VisitInstanceId(const Visit& visit, int occurrence);

struct StudyError {
  std::string file;
  Location loc;
  std::string message;
  std::string ToString() const;  // "study.yaml:12:7: message"
};

// Parses, validates and compiles a study. On failure, returns
// InvalidArgument and fills *errors with every problem found, in file order.
struct LoadOptions {
  // A version read back from the log: rules of good practice added since it
  // was published (blinded rules reading unblinded-only items) do not refuse
  // it, which would strand its data; errors that make it unusable still do.
  bool published = false;
};
Result<std::shared_ptr<const Study>> LoadStudy(std::string_view yaml_text, const std::string& file,
                                               std::vector<StudyError>* errors, LoadOptions options = {});
Result<std::shared_ptr<const Study>> LoadStudyFile(const std::string& path, std::vector<StudyError>* errors);

// What changed from one version to the next, in study order.
struct Change {
  enum class Kind { kAdded, kRemoved, kChanged };
  Kind kind;
  std::string what;              // "form AE", "item VS.SYSBP", "code RACE/ASIAN", "check VS.VS001", "visit WEEK2"
  std::string detail;            // for changes: "type integer -> decimal"
  std::string ToString() const;  // "+ item VS.WEIGHT", "~ item VS.SYSBP: type integer -> decimal"
};
std::vector<Change> DiffStudies(const Study& from, const Study& to);

// Resolves references for expressions written on a form (and within a
// repeating group's row when row_group is set), or at subject level when
// form is empty. Keys are "FORM.ITEM" or "VISIT.FORM.ITEM".
std::unique_ptr<rules::Resolver> MakeResolver(const Study& study, std::string form, std::string row_group);

}  // namespace trialcore::study
