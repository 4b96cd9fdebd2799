// What of an identifying item's value (date of birth, initials, free text)
// a role sees (doc/roles.md, "Identifying items"): the study file names, per
// item, the roles that see none of it (hidden) or only the year (year_only).
// One place for the rule, so that every response carrying values (forms,
// casebooks, the as-of view, the audit trail and its export) withholds the
// same, as blinding.h does for the arms.
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "core/value.h"
#include "study/study.h"

namespace trialcore::capture {

// What an item discloses to a request acting in one of `roles`: the
// strictest of theirs, so a user who leaves the role to choose sees no more
// than the most restricted role they hold there; no role at all sees the
// least (hidden, when the item is identifying for anyone).
study::Disclosure DisclosureTo(const study::Item& item, const std::vector<std::string>& roles);

// The value as disclosed: itself in full, its year ("1948") for year_only,
// null when hidden. A year_only value without a readable year is null too.
Value Disclosed(const Value& value, study::Disclosure disclosure);

// The study's items not disclosed in full to `roles`, by "FORM/ITEM".
using Withheld = std::map<std::string, study::Disclosure>;
Withheld WithheldFrom(const study::Study& study, const std::vector<std::string>& roles);

}  // namespace trialcore::capture
