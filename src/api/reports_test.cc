// The listing as the API answers it, on a simulated study: the value filter
// (exact, literal, by row for repeating groups), its refusal of hidden items
// alike with unknown ones, the code lists' labels, and the CSV.
#include "api/reports.h"

#include <gtest/gtest.h>

#include <set>

#include "capture/capture.h"
#include "capture/sim.h"
#include "core/json.h"
#include "core/test_env.h"
#include "store/test_store.h"

namespace trialcore::api {
namespace {

constexpr char kStudy[] = "CDISCPILOT01";

ListingQuery Query(const std::string& form, const std::string& item = "", const std::string& value = "",
                   bool labels = false) {
  ListingQuery q;
  q.form = form;
  q.item = item;
  q.value = value;
  q.labels = labels;
  return q;
}

class ReportsTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    env_ = new MemEnv();
    env_->SetNowMicros(ParseTimeMicros("2026-12-01T12:00:00Z").value());
    StoreOpenOptions o;
    o.env = env_;
    store_ = testing_util::OpenTestStore("/mem/reports.db", o).value().release();
    capture_ = capture::Capture::Open(store_, env_, kStudy).value().release();
    std::vector<study::StudyError> errors;
    auto definition = study::LoadStudyFile(std::string(TRIALCORE_SOURCE_DIR) + "/studies/cdiscpilot01.yaml", &errors);
    ASSERT_TRUE(definition.ok()) << definition.status().ToString();
    ASSERT_TRUE(capture_->PublishStudy(*definition, Actor{"admin", "study_admin"}).ok());
    capture::SimOptions sim;
    sim.subjects = 40;
    auto r = capture::Simulate(*capture_, sim);
    ASSERT_TRUE(r.ok()) << r.status().ToString();
  }
  static void TearDownTestSuite() {
    delete capture_;
    delete store_;
    delete env_;
  }

  // A reader who sees every site, unblinded or not, with `withheld` withheld everywhere.
  static ListingReader Reader(bool unblinded, capture::Withheld withheld = {}) {
    ListingReader r;
    r.viewer.all_sites = true;
    r.viewer.unblinded_everywhere = unblinded;
    r.unblinded = unblinded;
    r.withheld = [withheld](const std::string&) { return withheld; };
    return r;
  }

  static Result<Listing> Read(const ListingQuery& q, const ListingReader& reader = Reader(true)) {
    return ReadListing(store_, kStudy, *capture_->study(), q, reader, 0, 1'000'000);
  }

  // Form instances whose values (or a row's) hold the item at this value, from the subjects' states.
  static int64_t Holding(const std::string& form, const std::string& item, const Value& value) {
    int64_t n = 0;
    const std::vector<std::string> ids = capture::SubjectIds(store_, kStudy).value();
    for (const std::string& id : ids) {
      capture::SubjectState s = capture_->Subject(id).value();
      for (const auto& [vid, v] : s.visits) {
        auto f = v.forms.find(form);
        if (f == v.forms.end() || !f->second.touched) continue;
        bool holds = false;
        if (auto it = f->second.items.find(item); it != f->second.items.end()) holds = it->second.value == value;
        for (const auto& [g, rows] : f->second.rows) {
          for (const auto& [number, row] : rows) {
            auto it = row.items.find(item);
            holds = holds || (!row.removed && it != row.items.end() && it->second.value == value);
          }
        }
        n += holds;
      }
    }
    return n;
  }

  static MemEnv* env_;
  static EventStore* store_;
  static capture::Capture* capture_;
};

MemEnv* ReportsTest::env_ = nullptr;
EventStore* ReportsTest::store_ = nullptr;
capture::Capture* ReportsTest::capture_ = nullptr;

TEST_F(ReportsTest, AValueFilterKeepsTheFormsHoldingExactlyThatValue) {
  auto all = Read(Query("VS"));
  ASSERT_TRUE(all.ok()) << all.status().ToString();
  ASSERT_FALSE(all->lines.empty());
  const Value sysbp = all->lines.front().items.at("SYSBP");
  auto some = Read(Query("VS", "SYSBP", ToJson(sysbp)));
  ASSERT_TRUE(some.ok()) << some.status().ToString();
  EXPECT_EQ(some->total, Holding("VS", "SYSBP", sysbp));
  EXPECT_LT(some->total, all->total);
  for (const ListingLine& line : some->lines) EXPECT_EQ(line.items.at("SYSBP"), sysbp) << line.subject;
  // A number is not a prefix of another: 1 matches no pressure of 100 and more.
  EXPECT_EQ(Read(Query("VS", "SYSBP", "1"))->total, 0);
  // A coded value by its code.
  auto sitting = Read(Query("VS", "VSPOS", "SITTING"));
  ASSERT_TRUE(sitting.ok());
  EXPECT_EQ(sitting->total, Holding("VS", "VSPOS", Value("SITTING")));
  EXPECT_GT(sitting->total, 0);
}

TEST_F(ReportsTest, AFilterOnARepeatingGroupsItemKeepsOnlyTheRowsHoldingIt) {
  auto all = Read(Query("CM"));
  ASSERT_TRUE(all.ok());
  ASSERT_FALSE(all->lines.empty());
  const std::string ongoing = "true";
  auto some = Read(Query("CM", "CMONGO", ongoing));
  ASSERT_TRUE(some.ok()) << some.status().ToString();
  EXPECT_EQ(some->total, Holding("CM", "CMONGO", Value(true)));
  ASSERT_FALSE(some->lines.empty());
  for (const ListingLine& line : some->lines) {
    EXPECT_EQ(line.group, "CM");
    EXPECT_EQ(line.items.at("CMONGO"), Value(true)) << line.subject << " row " << line.row;
  }
}

TEST_F(ReportsTest, AFilterValueIsMatchedLiterallyNotAsAPattern) {
  for (const char* pattern : {"%", "_", "!%"}) {
    auto r = Read(Query("CM", "CMTRT", pattern));
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    EXPECT_EQ(r->total, 0) << pattern;
  }
}

TEST_F(ReportsTest, AHiddenOrWithheldItemIsRefusedAsAnUnknownOneIs) {
  auto unknown = Read(Query("EX", "NOPE", "0"), Reader(false));
  ASSERT_EQ(unknown.status().code(), StatusCode::kNotFound);
  auto hidden = Read(Query("EX", "EXDOSE", "0"), Reader(false));
  EXPECT_EQ(hidden.status().code(), StatusCode::kNotFound);
  EXPECT_EQ(hidden.status().message(), "form EX has no item \"EXDOSE\"");
  EXPECT_EQ(unknown.status().message(), "form EX has no item \"NOPE\"");
  EXPECT_TRUE(Read(Query("EX", "EXDOSE", "54"), Reader(true)).ok()) << "the unblinded may";

  const capture::Withheld initials{{"DM/INITIALS", study::Disclosure::kHidden}};
  auto withheld = Read(Query("DM", "INITIALS", "ABC"), Reader(true, initials));
  EXPECT_EQ(withheld.status().code(), StatusCode::kNotFound);
  EXPECT_EQ(withheld.status().message(), "form DM has no item \"INITIALS\"");
  const capture::Withheld year{{"DM/BRTHDTC", study::Disclosure::kYearOnly}};
  EXPECT_EQ(Read(Query("DM", "BRTHDTC", "1940-01-01"), Reader(true, year)).status().code(), StatusCode::kNotFound)
      << "an exact date would tell what the year alone does not";
}

TEST_F(ReportsTest, AValueTheItemCannotHoldIsRefusedNamingWhatItHolds) {
  EXPECT_EQ(Read(Query("VS", "SYSBP", "high")).status().message(), "item SYSBP holds whole numbers, not \"high\"");
  EXPECT_EQ(Read(Query("DM", "SEX", "Male")).status().message(), "item SEX holds a code of SEX (M, F), not \"Male\"");
  EXPECT_EQ(Read(Query("CM", "CMROUTE", "ORAL")).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(Read(Query("VS", "SYSBP")).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(Read(Query("VS", "", "120")).status().code(), StatusCode::kInvalidArgument);
}

TEST_F(ReportsTest, LabelsDecodeCodedValuesAndTheCsvKeepsItemIdsAsHeaders) {
  auto codes = Read(Query("DM"));
  auto labels = Read(Query("DM", "", "", true));
  ASSERT_TRUE(codes.ok() && labels.ok());
  ASSERT_EQ(codes->lines.size(), labels->lines.size());
  std::set<std::string> sexes;
  for (size_t i = 0; i < codes->lines.size(); ++i) {
    const Value::Object& c = codes->lines[i].items;
    const Value::Object& l = labels->lines[i].items;
    if (!c.contains("SEX")) continue;
    EXPECT_EQ(l.at("SEX").as_string(), c.at("SEX").as_string() == "M" ? "Male" : "Female");
    sexes.insert(l.at("SEX").as_string());
    if (c.contains("BRTHDTC")) {
      EXPECT_EQ(l.at("BRTHDTC"), c.at("BRTHDTC")) << "only coded values change";
    }
  }
  EXPECT_FALSE(sexes.empty());
  const std::string csv = ListingCsv(*labels);
  EXPECT_EQ(csv.substr(0, csv.find("\r\n")),
            "subject,site,visit,group,row,INITIALS,BRTHDTC,AGE,SEX,POSTMENO,RACE,ETHNIC");
  EXPECT_TRUE(csv.find(",Male,") != std::string::npos || csv.find(",Female,") != std::string::npos) << csv;
  EXPECT_EQ(ListingCsv(*codes).find(",Male,"), std::string::npos);
}

TEST(QueryTurnaroundJson, MeansAreWholeHoursRoundedHalfUp) {
  constexpr int64_t kHour = 3'600'000'000;
  capture::QueryTurnaround t{"701", 3, 2, 3 * kHour, 1, kHour / 2, 0};
  EXPECT_EQ(ToJson(Value(QueryTurnaroundJson({t}))),
            R"([{"answered":2,"closed":1,"mean_hours_to_answer":2,"mean_hours_to_close":1,"opened":3,"site":"701",)"
            R"("unresolved_over_30_days":0}])");
}

}  // namespace
}  // namespace trialcore::api
