// The JSON views the API returns: casebooks, forms and the study
// definition, with what a blinded caller may not see left out.
#pragma once

#include <optional>
#include <set>
#include <string>

#include "api/access.h"
#include "capture/capture.h"
#include "capture/privacy.h"
#include "capture/reads.h"
#include "capture/state.h"
#include "core/value.h"
#include "study/study.h"

namespace trialcore::api {

// Whether a request sees what blinded roles may not (doc/roles.md): only
// when the role it acts in at the site ("" the study) is the unblinded
// pharmacist's, chosen with X-Trialcore-Role (`wanted`) or the only role held
// there. A user who also holds a blinded role sees nothing hidden while
// acting in it, nor when the role is left to choose. Access::Unblinded
// holds the rule (the acting grant must cover the site).
bool SeesHidden(const Access& access, const std::optional<std::string>& wanted, const std::string& site);
// The roles a read at `site` ("" the study) is answered for, which decide
// what identifying items disclose (capture/privacy.h): the acting role when
// X-Trialcore-Role chooses one held there or only one is held, else every
// role held there, the strictest of which applies.
std::vector<std::string> ViewingRoles(const Access& access, const std::optional<std::string>& wanted,
                                      const std::string& site);
// The items withheld from such a read, by "FORM/ITEM".
capture::Withheld WithheldFor(const study::Study& st, const Access& access, const std::optional<std::string>& wanted,
                              const std::string& site);

// What the caller may see of the study, for the capture library's lists:
// their sites and those where they act in an unblinded role.
Result<capture::Viewer> ViewerFor(const capture::Capture& cap, const Access& access,
                                  const std::optional<std::string>& wanted);

// The study home page's figures as the API's JSON text, written directly:
// the same text ToJson gives for the same figures as objects (keys in byte
// order), without building hundreds of objects for the lists on each request.
std::string DashboardJsonText(const capture::DashboardFigures& d, int64_t planned_subjects);

// A page of the subject list as the API's JSON text, written directly:
// {"limit","offset","subjects":[{"id","open_queries","site","status"}],"total"}.
std::string SubjectListJsonText(const capture::SubjectPage& page, size_t offset, size_t limit);

// A page of the query inbox as the API's JSON text, written directly as the
// dashboard's is: {"limit","offset","queries":[...],"total"}, each query with
// its age in whole days at now_us (0 when its opening time is unknown).
// Each names who raised it ("raised_by", as RaisedByJson without the
// triggering save, which the casebook and the audit trail give).
std::string QueryInboxJsonText(const capture::QueryPage& page, size_t offset, size_t limit, int64_t now_us);

// Items a blinded caller must not see ("FORM/ITEM"); empty for the unblinded.
using Hidden = std::set<std::string>;
Hidden HiddenItems(const study::Study& st, bool blinded);
// Whether an audit trail path (subject/ID/VISIT/FORM/ITEM..., or with
// GROUP/ROW before the item) is of a hidden item.
bool HidesPath(const Hidden& hidden, const std::string& path);
// For a blinded caller, whether an audit trail path is one of these
// queries' ("subject/ID/queries/N") or below one, or of a query numbered as
// hidden ones are.
bool HidesQueryPath(const std::set<std::string>& queries, bool blinded, const std::string& path);

// An item's state; a withheld item's value as disclosed, with "withheld"
// saying how ("year_only" or "hidden").
Value ItemJson(const capture::ItemState& st, study::Disclosure disclosure = study::Disclosure::kFull);
// What GET of a subject's form answers: the form's items and rows as
// FormJson gives them (without the items hidden from a blinded caller),
// with the subject, visit, form and status named, and "read_only" naming
// why nothing can be changed now (capture::ReadOnlyName) when it cannot, as
// JSON text written directly — the same text ToJson gives for the same object.
struct FormAnswer {
  std::string_view subject, visit, status;
  const capture::FormState* state = nullptr;  // nullptr: nothing entered yet
  std::string_view read_only = {};            // empty: it can be changed
};
// Identifying items (`withheld`, by "FORM/ITEM") show only what the caller's
// role may see of them, with "withheld" saying so.
std::string FormJsonText(const FormAnswer& answer, const study::Form& form, bool blind,
                         const capture::Withheld& withheld = {});
Value FormJson(const capture::FormState* f, const std::string& form_id, const Hidden& hidden,
               const capture::Withheld& withheld = {});
// Where a query stands and what it is about (its number, visit, form, item,
// group and row, check and state); the casebook and the inbox add the rest.
// With "raised_by": who raised it, {"kind":"user","user","role"}, or for an
// edit check's query the system: {"kind":"edit_check","check","message",
// "triggered_by":{"user","role"},"triggering_save_seq"}, the user being the
// one whose save made the check fail (the seq left out when !positions).
Value::Object QueryJson(int number, const capture::Query& q, bool positions = true);
Value RaisedByJson(const std::string& check, const std::string& message, const std::string& user,
                   const std::string& role, int64_t triggering_save_seq, bool positions);
// A casebook; signatures carry their manifestation (name, UTC time, meaning).
// For a blinded caller hidden items and the queries on them are left out, a
// signature whose scope can hold hidden items shows its state but not its
// content hash, and the version is the one blinded roles read.
// Identifying items show only what `withheld` lets through.
Value SubjectJson(const capture::SubjectState& s, const study::Study& st, bool blinded,
                  const capture::Withheld& withheld = {});
// The study definition as a client needs it to draw forms; arms only for the unblinded.
Value DefinitionJson(const study::Study& st, const Access& access, bool blinded);
// {"eligible": "yes"|"no"|"not_yet", "criteria": [{id, kind, text, result, visit, form}]}: result is
// met, not_met or not_yet_answerable, judged for enrolment (an exclusion is
// met when it does not apply).
Value EligibilityJson(const capture::EligibilityResult& e);

}  // namespace trialcore::api
