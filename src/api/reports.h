// The data manager's listings and reports (issue 15, point 18) as the API
// answers them: a form's values across subjects, as the caller may see them
// at each line's site, optionally filtered by one item's value and decoded
// to the code lists' labels, as JSON lines or CSV; and the query
// turnaround's figures. The routes parse, call these and serialise.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "capture/privacy.h"
#include "capture/reads.h"
#include "core/status.h"
#include "core/value.h"
#include "store/event_store.h"
#include "study/study.h"

namespace trialcore::api {

// What a listing asks for.
struct ListingQuery {
  std::string form;                  // required
  std::string site, visit, subject;  // empty: any; a visit matches its occurrences
  // Only lines where the item `item` holds `value` (empty item: every line):
  // a code of a coded item, digits of a number, true or false, else the text
  // as entered. An item of a repeating group selects its rows; any other
  // selects whole form instances.
  std::string item, value;
  bool labels = false;         // coded values as their code lists' labels, not codes
  bool with_inactive = false;  // inactivated subjects' forms too
};

// Who reads it: what the caller may see.
struct ListingReader {
  capture::Viewer viewer;
  // Whether the caller sees hidden (unblinded-only) items at every site
  // they see: only then may they filter on one.
  bool unblinded = false;
  // The identifying items withheld from the caller at a site; "" asks for
  // the study as a whole (the strictest of the roles held anywhere).
  std::function<capture::Withheld(const std::string& site)> withheld;
};

// A line: a form instance's own items, or one row of a repeating group.
struct ListingLine {
  std::string subject, site, visit;
  std::string group;  // empty: the form's own items
  int64_t row = 0;
  Value::Object items;  // those the caller sees at the line's site, as disclosed to them
};

struct Listing {
  const study::Form* form = nullptr;
  std::vector<ListingLine> lines;
  int64_t total = 0;  // form instances matching, over all pages
  // Whether the caller sees hidden items on every line (the CSV then has their columns).
  bool hidden_columns = false;
};

// A page of the listing (offset and limit count form instances). An unknown
// form, and an item to filter on that the form does not have or the caller
// may not see (hidden from them, or identifying and withheld), are NotFound
// alike, so that a refusal tells nothing of what is hidden; a value the item
// cannot hold is InvalidArgument.
Result<Listing> ReadListing(EventStore* store, const std::string& study_id, const study::Study& study,
                            const ListingQuery& query, const ListingReader& reader, size_t offset, size_t limit);

// {"subject","site","visit","items"}, with "group" and "row" for a row's line.
Value ListingLineJson(const ListingLine& line);

// The listing as CSV: subject, site, visit, group, row, then a column per
// item headed by its id (stable for programs), hidden items' only when
// hidden_columns; an item not done reads "not done: <reason>".
std::string ListingCsv(const Listing& listing);

// The query turnaround's lines as the API answers them, means in whole hours.
Value::Array QueryTurnaroundJson(const std::vector<capture::QueryTurnaround>& sites);

}  // namespace trialcore::api
