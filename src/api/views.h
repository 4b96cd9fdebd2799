// The JSON views the API returns: casebooks, forms and the study
// definition, with what a blinded caller may not see left out.
#pragma once

#include <set>
#include <string>

#include "api/access.h"
#include "capture/state.h"
#include "core/value.h"
#include "study/study.h"

namespace trialcore::api {

// Items a blinded caller must not see ("FORM/ITEM"); empty for the unblinded.
using Hidden = std::set<std::string>;
Hidden HiddenItems(const study::Study& st, const Access& access);
// Whether an audit trail path (subject/ID/VISIT/FORM/ITEM..., or with
// GROUP/ROW before the item) is of a hidden item.
bool HidesPath(const Hidden& hidden, const std::string& path);

Value ItemJson(const capture::ItemState& st);
Value FormJson(const capture::FormState* f, const std::string& form_id, const Hidden& hidden);
// Where a query stands and what it is about (its number, visit, form, item,
// group and row, check and state); the casebook and the inbox add the rest.
Value::Object QueryJson(int number, const capture::Query& q);
// A casebook; signatures carry their manifestation (name, UTC time, meaning).
Value SubjectJson(const capture::SubjectState& s, const Hidden& hidden);
// The study definition as a client needs it to draw forms; arms only for the unblinded.
Value DefinitionJson(const study::Study& st, const Access& access);

}  // namespace trialcore::api
