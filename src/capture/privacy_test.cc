// Identifying items (capture/privacy.h) wherever a form holds them: an item
// of a repeating group (a free-text note on each adverse event, the start
// date of each medication) is withheld like one of the form's single items.
#include "capture/privacy.h"

#include <gtest/gtest.h>

namespace trialcore::capture {
namespace {

using study::Disclosure;

study::Item Identifying(const std::string& id, std::map<std::string, Disclosure> by_role) {
  study::Item it;
  it.id = id;
  it.identifying = std::move(by_role);
  return it;
}

// A form with a single identifying item and a repeating group holding two.
study::Study StudyWithIdentifyingRows() {
  study::Study st;
  study::Form ae;
  ae.id = "AE";
  study::ItemGroup header;
  header.id = "AEHDR";
  header.items.push_back(Identifying("REPORTER", {{"sponsor_viewer", Disclosure::kHidden}}));
  study::ItemGroup rows;
  rows.id = "AE";
  rows.repeating = true;
  rows.items.push_back(
      Identifying("AENOTE", {{"sponsor_viewer", Disclosure::kHidden}, {"monitor", Disclosure::kHidden}}));
  rows.items.push_back(Identifying("AESTDTC", {{"sponsor_viewer", Disclosure::kYearOnly}}));
  study::Item severity;
  severity.id = "AESEV";
  rows.items.push_back(severity);
  ae.groups = {header, rows};
  st.forms.push_back(ae);
  return st;
}

TEST(PrivacyTest, ItemsOfARepeatingGroupAreWithheldByTheirFormAndItem) {
  const study::Study st = StudyWithIdentifyingRows();
  const Withheld sponsor = WithheldFrom(st, {"sponsor_viewer"});
  EXPECT_EQ(sponsor, (Withheld{{"AE/REPORTER", Disclosure::kHidden},
                               {"AE/AENOTE", Disclosure::kHidden},
                               {"AE/AESTDTC", Disclosure::kYearOnly}}));
  EXPECT_EQ(WithheldFrom(st, {"monitor"}), (Withheld{{"AE/AENOTE", Disclosure::kHidden}}));
  EXPECT_TRUE(WithheldFrom(st, {"coordinator"}).empty());
  // Two roles held and none chosen: the stricter of them, row items included.
  EXPECT_EQ(WithheldFrom(st, {"monitor", "sponsor_viewer"}), sponsor);
  // No role at all: every identifying item hidden, the plain one shown.
  EXPECT_EQ(WithheldFrom(st, {}), (Withheld{{"AE/REPORTER", Disclosure::kHidden},
                                            {"AE/AENOTE", Disclosure::kHidden},
                                            {"AE/AESTDTC", Disclosure::kHidden}}));
}

TEST(PrivacyTest, YearOnlyKeepsTheYearOfDatesPartialDatesAndTimesAndNothingElse) {
  EXPECT_EQ(Disclosed(Value("2026-11-17"), Disclosure::kYearOnly), Value("2026"));
  EXPECT_EQ(Disclosed(Value("2026-11"), Disclosure::kYearOnly), Value("2026"));
  EXPECT_EQ(Disclosed(Value("2026-11-17T08:30:00Z"), Disclosure::kYearOnly), Value("2026"));
  EXPECT_EQ(Disclosed(Value("UNK"), Disclosure::kYearOnly), Value());
  EXPECT_EQ(Disclosed(Value(int64_t{1941}), Disclosure::kYearOnly), Value());
  EXPECT_EQ(Disclosed(Value("John Q. Public"), Disclosure::kHidden), Value());
  EXPECT_EQ(Disclosed(Value("John Q. Public"), Disclosure::kFull), Value("John Q. Public"));
}

}  // namespace
}  // namespace trialcore::capture
