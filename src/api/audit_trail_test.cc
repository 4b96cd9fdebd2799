// The audit trail route: filters, pages and the CSV export, as each role
// meets them, on a study simulated over months (so that "when" filters
// something), with a blinded coordinator and an unblinded pharmacist at one
// site: nothing hidden from the coordinator reaches them through a filter,
// a page, a cursor or the export.
#include "api/audit_trail.h"

#include <gtest/gtest.h>
#include <httplib.h>

#include <cctype>
#include <fstream>
#include <iterator>
#include <set>
#include <sstream>
#include <thread>

#include "api/server.h"
#include "api/users.h"
#include "capture/capture.h"
#include "capture/sim.h"
#include "core/json.h"
#include "core/simulated_clock_env.h"
#include "core/test_env.h"
#include "rules/rules.h"
#include "store/test_store.h"

namespace trialcore::api {
namespace {

constexpr char kStudy[] = "CDISCPILOT01";
constexpr char kPassword[] = "audit-trail-password";
constexpr int64_t kNow = 1'795'000'000'000'000;  // 2026-11-18
constexpr int64_t kDay = rules::kMicrosPerDay;

TEST(AuditQueryTest, ReadsEveryFilterAndNamesTheParameterItRefuses) {
  auto q = ParseAuditQuery({{"user", "cra.1"},
                            {"event", "form.saved"},
                            {"form", "VS"},
                            {"item", "SYSBP"},
                            {"from", "2026-03-05"},
                            {"to", "2026-03-06"},
                            {"reason", "Transcription"},
                            {"limit", "25"},
                            {"after", "812"}});
  ASSERT_TRUE(q.ok()) << q.status().ToString();
  EXPECT_EQ(*q->user, "cra.1");
  EXPECT_EQ(*q->reason, "transcription") << "matched in any case";
  EXPECT_EQ(*q->from_us, ParseTimeMicros("2026-03-05").value());
  EXPECT_EQ(*q->to_us, ParseTimeMicros("2026-03-07").value() - 1) << "a date as `to` is its whole day";
  EXPECT_EQ(q->limit, 25u);
  EXPECT_EQ(q->after, 812u);
  EXPECT_FALSE(q->csv);
  EXPECT_TRUE(ParseAuditQuery({{"format", "csv"}})->csv);
  struct Bad {
    const char* name;
    const char* value;
    const char* says;
  };
  for (const Bad& b : std::vector<Bad>{{"limit", "0", "limit must be at least 1"},
                                       {"limit", "1001", "limit must be at most 1000"},
                                       {"limit", "ten", "limit must be a whole number"},
                                       {"after", "-1", "after must be a whole number"},
                                       {"from", "03/05/2026", "from must be a UTC date"},
                                       {"to", "2026-02-30T25:00:00Z", "to must be a UTC date"},
                                       {"format", "pdf", "format must be json or csv"},
                                       {"user", "", "user is empty"},
                                       {"color", "red", "unknown query parameter color"}}) {
    auto r = ParseAuditQuery({{b.name, b.value}});
    EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument) << b.name << "=" << b.value;
    EXPECT_NE(r.status().message().find(b.says), std::string::npos) << r.status().message();
  }
  auto backwards = ParseAuditQuery({{"from", "2026-03-06"}, {"to", "2026-03-05"}});
  EXPECT_NE(backwards.status().message().find("from lies after to"), std::string::npos);
}

// A study simulated over the 300 days before kNow, its server in process.
class AuditTrailRouteTest : public ::testing::Test {
 protected:
  void SetUp() override {
    StoreOpenOptions o;
    o.env = &clock_;
    store_ = testing_util::OpenTestStore("/mem/audit.db", o).value();
    std::vector<study::StudyError> errors;
    std::ifstream file(std::string(TRIALCORE_SOURCE_DIR) + "/studies/cdiscpilot01.yaml");
    std::string yaml((std::istreambuf_iterator<char>(file)), std::istreambuf_iterator<char>());
    ASSERT_FALSE(yaml.empty());
    Adapt(&yaml);
    auto definition = study::LoadStudy(yaml, "cdiscpilot01.yaml", &errors);
    ASSERT_TRUE(definition.ok()) << definition.status().ToString();
    auto cap = capture::Capture::Open(store_.get(), &clock_, kStudy);
    ASSERT_TRUE(cap.ok()) << cap.status().ToString();
    capture::SimOptions sim;
    sim.subjects = 4;
    sim.seed = 3;
    sim.enrol_every_days = 20;
    sim.error_rate = 0.3;
    sim.clock = &clock_;
    {
      SimulatedTimeScope at(&clock_, (capture::SimulationStartDay(sim, kNow / kDay) - 14) * kDay);
      ASSERT_TRUE((*cap)->PublishStudy(*definition, Actor{"admin", "study_admin"}).ok());
    }
    auto simulated = capture::Simulate(**cap, sim);
    ASSERT_TRUE(simulated.ok()) << simulated.status().ToString();
    // A subject of site 701 who was randomized.
    for (const char* id : {"701-1001", "701-1003"}) {
      auto subject = (*cap)->Subject(id);
      if (!subject.ok()) continue;
      const capture::ItemState* dose = subject->visits["BASELINE"].forms["EX"].Find("EXDOSE");
      if (dose == nullptr || dose->value.kind() != Value::Kind::kInt) continue;
      subject_ = id;
      dose_ = dose->value.as_int() == 81 ? "54" : "81";
      break;
    }
    ASSERT_FALSE(subject_.empty()) << "no subject of site 701 was randomized";
    base_path_ = "/api/v1/studies/CDISCPILOT01/subjects/" + subject_ + "/audit";
    // Today: the pharmacist corrects a dose, naming it in the reason, with
    // the (visible) end date in the same change; and the coordinator types
    // a text that a spreadsheet would run.
    const Actor pharm{"pharm.701", "unblinded_pharmacist"}, coord{"coord.701", "coordinator"};
    for (
        const auto& [json, who] : std::vector<std::pair<std::string, Actor>>{
            {R"({"op":"form.save","subject":")" + subject_ + R"(","visit":"BASELINE","form":"EX","items":{"EXDOSE":)" +
                 dose_ + R"(,"EXENDTC":"2026-11-17"},"reason":"Other: dose corrected to )" + dose_ +
                 R"( mg, per the kit label"})",
             pharm},
            {R"({"op":"form.save","subject":")" + subject_ +
                 R"j(","visit":"LOGS","form":"AE","rows":[{"group":"AE","items":{"AETERM":"=HYPERLINK(\"http://x\")","AESTDTC":"2026-11-17","AEONGO":true,"AESEV":"MILD","AESER":"N","AEREL":"NONE","AEACN":"DOSE NOT CHANGED","AEOUT":"NOT RECOVERED/NOT RESOLVED"}}]})j",
             coord}}) {
      auto r = (*cap)->Execute(ParseJson(json).value(), who);
      ASSERT_TRUE(r.ok()) << json << ": " << r.status().ToString();
    }
    auto users = UserDirectory::Open(store_.get(), &clock_);
    ASSERT_TRUE(users.ok());
    const Actor by{"setup", "system_admin"};
    for (const auto& [id, role] :
         std::vector<std::pair<std::string, std::string>>{{"coord.701", "coordinator"},
                                                          {"pharm.701", "unblinded_pharmacist"},
                                                          {"dm.1", "data_manager"},
                                                          {"sponsor.1", "sponsor_viewer"},
                                                          {"cra.1", "monitor"},
                                                          {"dual.701", "monitor"},
                                                          {"dual.701", "sponsor_viewer"}}) {
      if (!(*users)->Find(id).ok()) {
        ASSERT_TRUE((*users)->Add(id, id, kPassword, by).ok());
      }
      const std::string site = role == "data_manager" || role == "sponsor_viewer" ? "*" : "701";
      ASSERT_TRUE((*users)->AddGrant(id, Grant{kStudy, role, id == "dual.701" ? "701" : site}, "", by).ok());
    }
    ServerOptions so;
    so.port = 0;
    so.login_attempts_per_minute = 100000;
    auto server = Server::Create(store_.get(), &clock_, so);
    ASSERT_TRUE(server.ok()) << server.status().ToString();
    server_ = std::move(*server);
    ASSERT_TRUE(server_->Listen().ok());
    thread_ = std::thread([this] { (void)server_->Run(); });
  }

  // What a test changes in the demo's study file before it is published
  // (published as its text, which every reader parses again).
  virtual void Adapt(std::string* /*yaml*/) {}

  void TearDown() override {
    if (server_) server_->Stop();
    if (thread_.joinable()) thread_.join();
  }

  std::string Login(const std::string& user) {
    httplib::Client c("127.0.0.1", server_->port());
    auto r = c.Post("/api/v1/session", R"({"user":")" + user + R"(","password":")" + kPassword + R"("})",
                    "application/json");
    EXPECT_TRUE(r && r->status == 200) << user;
    if (!r) return "";
    const std::string cookie = r->get_header_value("Set-Cookie");
    return cookie.substr(0, cookie.find(';'));
  }

  httplib::Result Get(const std::string& cookie, const std::string& path, const std::string& role = "") {
    httplib::Client c("127.0.0.1", server_->port());
    c.set_read_timeout(30, 0);
    httplib::Headers headers{{"Cookie", cookie}};
    if (!role.empty()) headers.emplace("X-Trialcore-Role", role);
    return c.Get(path, headers);
  }

  Value Json(const std::string& cookie, const std::string& path, const std::string& role = "") {
    auto r = Get(cookie, path, role);
    EXPECT_TRUE(r && r->status == 200) << path << ": " << (r ? r->body : "no reply");
    if (!r || r->status != 200) return Value::Object{};
    return ParseJson(r->body).value();
  }

  // Every entry the query matches, page after page of `limit`.
  std::vector<Value> AllPages(const std::string& cookie, const std::string& query, int limit, int* pages = nullptr,
                              const std::string& role = "") {
    std::vector<Value> all;
    std::string after;
    for (int n = 1; n < 1000; ++n) {
      Value page = Json(cookie, base_path_ + "?limit=" + std::to_string(limit) + query + after, role);
      const Value* entries = page.Find("entries");
      if (entries == nullptr) break;
      for (const Value& e : entries->as_array()) all.push_back(e);
      if (pages != nullptr) *pages = n;
      const Value* next = page.Find("next");
      if (next == nullptr) break;
      after = "&after=" + next->as_string();
    }
    return all;
  }

  std::string subject_, dose_, base_path_;
  MemEnv base_{9, kNow};
  SimulatedClockEnv clock_{&base_};
  std::unique_ptr<EventStore> store_;
  std::unique_ptr<Server> server_;
  std::thread thread_;
};

TEST_F(AuditTrailRouteTest, PagesJoinToTheWholeTrailInOrderForEveryRole) {
  for (const char* user : {"dm.1", "coord.701", "pharm.701"}) {
    const std::string cookie = Login(user);
    const std::vector<Value> whole = AllPages(cookie, "", 1000);
    ASSERT_GT(whole.size(), 150u) << user;
    int pages = 0;
    const std::vector<Value> paged = AllPages(cookie, "", 17, &pages);
    EXPECT_GT(pages, 5) << user;
    ASSERT_EQ(paged.size(), whole.size()) << user;
    for (size_t i = 0; i < whole.size(); ++i) EXPECT_EQ(ToJson(paged[i]), ToJson(whole[i])) << user << " entry " << i;
    // One page: at most its limit, or a few more to finish an event.
    Value first = Json(cookie, base_path_ + "?limit=17");
    EXPECT_GE(first.Find("entries")->as_array().size(), 17u);
    EXPECT_LT(first.Find("entries")->as_array().size(), 17u + 40u);
    EXPECT_EQ(first.Find("limit")->as_int(), 17);
    // The default page is 100 entries, not the whole trail.
    EXPECT_LT(Json(cookie, base_path_).Find("entries")->as_array().size(), 140u) << user;
  }
}

TEST_F(AuditTrailRouteTest, FiltersByWhoWhatWhenAndWhy) {
  const std::string dm = Login("dm.1");
  const std::vector<Value> whole = AllPages(dm, "", 1000);
  auto all_match = [&](const std::string& query, const std::function<bool(const Value&)>& ok, size_t* count) {
    std::vector<Value> got = AllPages(dm, query, 10);
    for (const Value& e : got) EXPECT_TRUE(ok(e)) << query << ": " << ToJson(e);
    size_t expected = 0;
    for (const Value& e : whole) expected += ok(e) ? 1 : 0;
    EXPECT_EQ(got.size(), expected) << query;
    *count = got.size();
  };
  size_t n = 0;
  all_match(
      "&user=cra.1", [](const Value& e) { return e.Find("user")->as_string() == "cra.1"; }, &n);
  EXPECT_GT(n, 0u) << "the monitor verified the subject's forms";
  all_match(
      "&event=sdv.verified", [](const Value& e) { return e.Find("event")->as_string() == "sdv.verified"; }, &n);
  EXPECT_GT(n, 0u);
  all_match(
      "&form=VS&item=SYSBP",
      [](const Value& e) {
        const std::string p = e.Find("path")->as_string();
        return p.find("/VS/SYSBP") != std::string::npos;
      },
      &n);
  EXPECT_GT(n, 3u);
  all_match(
      "&visit=BASELINE",
      [&](const Value& e) { return e.Find("path")->as_string().starts_with("subject/" + subject_ + "/BASELINE/"); },
      &n);
  EXPECT_GT(n, 10u);
  all_match(
      "&reason=TRANSCRIPTION",
      [](const Value& e) {
        std::string reason = e.Find("reason")->as_string();
        for (char& c : reason) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        return reason.find("transcription") != std::string::npos;
      },
      &n);
  EXPECT_GT(n, 0u) << "typed wrong, queried and corrected";
  // When: the first 60 days of the subject's trail hold some of it, not all.
  const std::string first_time = whole.front().Find("time")->as_string();
  const int64_t from = ParseTimeMicros(first_time).value();
  const std::string to = FormatTimeMicros(from + 60 * kDay).substr(0, 10);
  all_match(
      "&to=" + to,
      [&](const Value& e) { return ParseTimeMicros(e.Find("time")->as_string()).value() < from + 61 * kDay; }, &n);
  EXPECT_GT(n, 0u);
  EXPECT_LT(n, whole.size()) << "months of history: a date range filters";
  all_match(
      "&from=" + to,
      [&](const Value& e) {
        return ParseTimeMicros(e.Find("time")->as_string()).value() >= ParseTimeMicros(to).value();
      },
      &n);
  EXPECT_GT(n, 0u);
  // Bad input: a clear error, 400.
  auto bad = Get(dm, base_path_ + "?from=03/05/2026");
  ASSERT_TRUE(bad);
  EXPECT_EQ(bad->status, 400);
  EXPECT_NE(bad->body.find("from must be a UTC date"), std::string::npos) << bad->body;
}

TEST_F(AuditTrailRouteTest, TheCsvExportHasTheFilteredEntriesQuotedAndSafeAndIsAudited) {
  const std::string dm = Login("dm.1");
  auto r = Get(dm, base_path_ + "?format=csv&form=AE");
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 200) << r->body;
  EXPECT_EQ(r->get_header_value("Content-Type"), "text/csv; charset=utf-8");
  EXPECT_NE(r->get_header_value("Content-Disposition")
                .find("attachment; filename=\"audit-CDISCPILOT01-" + subject_ + ".csv\""),
            std::string::npos);
  std::istringstream lines(r->body);
  std::string line;
  std::getline(lines, line);
  EXPECT_EQ(line, "time_utc,user,role,event,path,old_value,new_value,reason\r") << "a data manager is blinded: no seq";
  size_t rows = 0;
  while (std::getline(lines, line)) ++rows;
  EXPECT_EQ(rows, AllPages(dm, "&form=AE", 1000).size()) << "the export holds what the pages hold";
  // A formula is not run by a spreadsheet, quotes are doubled.
  EXPECT_NE(r->body.find(R"x("'=HYPERLINK(""http://x"")")x"), std::string::npos) << r->body;
  // The whole trail streams too, with a comma in a reason quoted; for the
  // unblinded pharmacist with the log's sequence numbers.
  const std::string pharm = Login("pharm.701");
  auto whole = Get(pharm, base_path_ + "?format=csv&reason=kit");
  ASSERT_TRUE(whole && whole->status == 200);
  EXPECT_TRUE(whole->body.starts_with("seq,time_utc,user,role,event,path,old_value,new_value,reason\r\n"));
  EXPECT_NE(whole->body.find(",\"Other: dose corrected to " + dose_ + " mg, per the kit label\"\r\n"),
            std::string::npos)
      << whole->body;
  // The export itself is in the system's audit trail, with its filters.
  int exports = 0;
  EventFilter f;
  f.study = kSystemStudy;
  ASSERT_TRUE(store_
                  ->ForEachEvent(f,
                                 [&](const Event& e) {
                                   if (e.type != "audit.exported") return Status::Ok();
                                   ++exports;
                                   EXPECT_TRUE(e.actor.user == "dm.1" || e.actor.user == "pharm.701") << e.actor.user;
                                   EXPECT_EQ(e.payload.Find("subject")->as_string(), subject_);
                                   return Status::Ok();
                                 })
                  .ok());
  EXPECT_EQ(exports, 2);
}

// What the coordinator may not see does not reach them through a filter, a
// page, its cursor or the export; the pharmacist's view of the same shows it.
TEST_F(AuditTrailRouteTest, ABlindedRolesFiltersPagesAndExportsHoldNothingHidden) {
  const std::string coord = Login("coord.701"), pharm = Login("pharm.701");
  // The hidden item asked for by name.
  EXPECT_TRUE(AllPages(coord, "&form=EX&item=EXDOSE", 5).empty());
  EXPECT_FALSE(AllPages(pharm, "&form=EX&item=EXDOSE", 5).empty());
  // The reason of a change that also covered it: withheld, so not found by its words.
  EXPECT_TRUE(AllPages(coord, "&reason=kit", 5).empty());
  EXPECT_FALSE(AllPages(pharm, "&reason=kit", 5).empty());
  std::vector<Value> ex = AllPages(coord, "&visit=BASELINE&form=EX", 5);
  ASSERT_FALSE(ex.empty()) << "the visible items of the form stay";
  bool withheld = false;
  for (const Value& e : ex) withheld |= e.Find("reason")->as_string().starts_with("(withheld");
  EXPECT_TRUE(withheld);
  for (const char* query : {"", "&form=EX", "&reason=mg", "&event=form.saved", "&item=EXDOSE&form=EX"}) {
    auto csv = Get(coord, base_path_ + "?format=csv" + query);
    ASSERT_TRUE(csv && csv->status == 200) << query;
    EXPECT_EQ(csv->body.find("EXDOSE"), std::string::npos) << query;
    EXPECT_EQ(csv->body.find("kit label"), std::string::npos) << query;
    EXPECT_TRUE(csv->body.starts_with("time_utc,")) << "no sequence numbers for a blinded role";
  }
  auto pharm_csv = Get(pharm, base_path_ + "?format=csv&form=EX");
  ASSERT_TRUE(pharm_csv && pharm_csv->status == 200);
  EXPECT_NE(pharm_csv->body.find("EXDOSE"), std::string::npos);
  // The blinded cursor counts the events they see, not the log's numbers.
  Value page = Json(coord, base_path_ + "?limit=5");
  ASSERT_NE(page.Find("next"), nullptr);
  // (The page's events, at most one per entry.)
  EXPECT_LE(std::stoul(page.Find("next")->as_string()), page.Find("entries")->as_array().size());
  for (const Value& e : page.Find("entries")->as_array()) EXPECT_EQ(e.Find("seq"), nullptr);
  const std::string json = ToJson(Json(coord, base_path_ + "?limit=1000"));
  EXPECT_EQ(json.find("EXDOSE"), std::string::npos);
  EXPECT_EQ(json.find("\"seq\""), std::string::npos);
}

// Issue 15: the study marks the date of birth year_only and the initials
// hidden for the sponsor's roles (studies/cdiscpilot01.yaml). Every response
// that carries values (a form, the casebook, the casebook as of a moment,
// the audit trail and its export) gives each role what it may see, and the
// reason of a change to such an item is withheld from those who may not
// see it in full (it may quote the value).
TEST_F(AuditTrailRouteTest, IdentifyingItemsDiscloseWhatEachRoleMaySee) {
  const std::string coord = Login("coord.701");
  const std::string subject = "/api/v1/studies/CDISCPILOT01/subjects/" + subject_;
  const std::string dm = subject + "/visits/SCREENING1/forms/DM";
  {
    httplib::Client c("127.0.0.1", server_->port());
    auto session = Get(coord, "/api/v1/session");
    ASSERT_TRUE(session && session->status == 200);
    const std::string csrf = ParseJson(session->body)->Find("csrf_token")->as_string();
    auto r = c.Patch(dm, httplib::Headers{{"Cookie", coord}, {"X-CSRF-Token", csrf}},
                     R"({"items":{"INITIALS":"JQP","BRTHDTC":"1941-07-23"},)"
                     R"("reason":"Other: date of birth 1941-07-23 per the birth certificate"})",
                     "application/json");
    ASSERT_TRUE(r);
    ASSERT_EQ(r->status, 200) << r->body;
  }
  struct Expected {
    std::string user, role;
    Value birth, initials;
    std::string birth_withheld, initials_withheld;  // "" shown in full
  };
  const Expected cases[] = {
      {"coord.701", "", "1941-07-23", "JQP", "", ""},
      {"cra.1", "", "1941-07-23", "JQP", "", ""},
      {"dm.1", "", "1941-07-23", Value(), "", "hidden"},
      {"sponsor.1", "", "1941", Value(), "year_only", "hidden"},
      // Two roles at the site and none chosen: the stricter one's view.
      {"dual.701", "", "1941", Value(), "year_only", "hidden"},
      {"dual.701", "monitor", "1941-07-23", "JQP", "", ""},
  };
  const std::string as_of = "?as_of=" + FormatTimeMicros(clock_.NowMicros() + 1);
  for (const Expected& e : cases) {
    const std::string who = e.user + (e.role.empty() ? "" : " as " + e.role);
    const std::string cookie = e.user == "coord.701" ? coord : Login(e.user);
    auto check = [&](const Value* items, const std::string& where) {
      ASSERT_NE(items, nullptr) << who << " " << where;
      const Value* birth = items->Find("BRTHDTC");
      const Value* initials = items->Find("INITIALS");
      ASSERT_NE(birth, nullptr) << who << " " << where;
      ASSERT_NE(initials, nullptr) << who << " " << where;
      EXPECT_EQ(*birth->Find("value"), e.birth) << who << " " << where;
      EXPECT_EQ(*initials->Find("value"), e.initials) << who << " " << where;
      auto withheld = [](const Value* item) {
        const Value* w = item->Find("withheld");
        return w == nullptr ? std::string() : w->as_string();
      };
      EXPECT_EQ(withheld(birth), e.birth_withheld) << who << " " << where;
      EXPECT_EQ(withheld(initials), e.initials_withheld) << who << " " << where;
    };
    check(Json(cookie, dm, e.role).Find("items"), "form");
    for (const std::string& query : {std::string(), as_of}) {
      Value casebook = Json(cookie, subject + query, e.role);
      const Value* forms = casebook.Find("visits") ? casebook.Find("visits")->Find("SCREENING1") : nullptr;
      forms = forms ? forms->Find("forms") : nullptr;
      check(forms && forms->Find("DM") ? forms->Find("DM")->Find("items") : nullptr, "casebook" + query);
    }
    // The audit trail: values as disclosed, in the page and the export.
    const bool full = e.birth_withheld.empty();
    // The change covered both items: its reason shows only to who sees both.
    const bool reason_shown = full && e.initials_withheld.empty();
    std::vector<Value> trail = AllPages(cookie, "&form=DM&item=BRTHDTC", 50, nullptr, e.role);
    bool changed = false;
    for (const Value& entry : trail) {
      if (entry.Find("path")->as_string() != "subject/" + subject_ + "/SCREENING1/DM/BRTHDTC") continue;
      if (!(*entry.Find("new") == Value("1941-07-23")) && !(*entry.Find("new") == Value("1941"))) continue;
      changed = true;
      EXPECT_EQ(*entry.Find("new"), e.birth) << who;
      EXPECT_EQ(entry.Find("reason")->as_string().starts_with("(withheld"), !reason_shown) << who;
    }
    EXPECT_TRUE(changed) << who << ": the change is in the trail";
    const std::string page = ToJson(Json(cookie, base_path_ + "?limit=1000", e.role));
    auto csv = Get(cookie, base_path_ + "?format=csv", e.role);
    ASSERT_TRUE(csv && csv->status == 200) << who;
    for (const std::string& text : {page, csv->body}) {
      EXPECT_EQ(text.find("1941-07-23") != std::string::npos, full) << who << ": " << text.substr(0, 400);
      EXPECT_EQ(text.find("JQP") != std::string::npos, e.initials_withheld.empty()) << who;
      EXPECT_EQ(text.find("birth certificate") != std::string::npos, reason_shown) << who;
    }
    // The data manager's listing of the form, and its CSV.
    const std::string listing = "/api/v1/studies/CDISCPILOT01/reports/listing?form=DM&subject=" + subject_;
    Value listed = Json(cookie, listing, e.role);
    const Value* rows = listed.Find("rows");
    ASSERT_TRUE(rows != nullptr && rows->as_array().size() == 1) << who << ": " << ToJson(listed);
    const Value* items = rows->as_array()[0].Find("items");
    ASSERT_NE(items, nullptr) << who;
    EXPECT_EQ(items->Find("BRTHDTC") ? *items->Find("BRTHDTC") : Value(), e.birth) << who << ": listing";
    EXPECT_EQ(items->Find("INITIALS") ? *items->Find("INITIALS") : Value(), e.initials) << who << ": listing";
    auto listing_csv = Get(cookie, listing + "&format=csv", e.role);
    ASSERT_TRUE(listing_csv && listing_csv->status == 200) << who;
    EXPECT_EQ(listing_csv->body.find("1941-07-23") != std::string::npos, full) << who << ": " << listing_csv->body;
    EXPECT_EQ(listing_csv->body.find("JQP") != std::string::npos, e.initials_withheld.empty()) << who;
  }
}

// Issue 15: an identifying item inside a repeating group. Here the adverse
// event's term (free text that may name a person) is hidden from the
// sponsor viewer and its start date shows as the year alone; every row of
// the log withholds them in each response that carries values, as a
// single item of a form is (the test above).
class IdentifyingRowsTest : public AuditTrailRouteTest {
 protected:
  void Adapt(std::string* yaml) override {
    for (const auto& [item, shown] : std::vector<std::pair<std::string, std::string>>{
             {"{id: AETERM, label: Adverse event, type: text, max_length: 200, required: true", "hidden"},
             {"{id: AESTDTC, label: Start date, type: date, required: true", "year_only"}}) {
      const size_t at = yaml->find(item);
      ASSERT_NE(at, std::string::npos) << item;
      yaml->insert(at + item.size(), ", identifying: {sponsor_viewer: " + shown + "}");
    }
  }
};

TEST_F(IdentifyingRowsTest, ItemsOfARepeatingGroupDiscloseWhatEachRoleMaySee) {
  const std::string subject = "/api/v1/studies/CDISCPILOT01/subjects/" + subject_;
  const std::string as_of = "?as_of=" + FormatTimeMicros(clock_.NowMicros() + 1);
  const Value term_typed = Value("=HYPERLINK(\"http://x\")");  // the row the fixture adds today
  for (const std::string user : {"coord.701", "sponsor.1"}) {
    const bool full = user == "coord.701";
    const std::string cookie = Login(user);
    auto check = [&](const Value* rows, const std::string& where) {
      ASSERT_TRUE(rows != nullptr && !rows->as_array().empty()) << user << " " << where;
      bool today = false;
      for (const Value& row : rows->as_array()) {
        const Value* term = row.Find("items")->Find("AETERM");
        const Value* start = row.Find("items")->Find("AESTDTC");
        ASSERT_TRUE(term != nullptr && start != nullptr) << user << " " << where << ": " << ToJson(row);
        if (full) {
          EXPECT_EQ(term->Find("withheld"), nullptr) << where;
          EXPECT_EQ(start->Find("value")->as_string().size(), 10u) << where << ": the whole date";
          today = today || *term->Find("value") == term_typed;
        } else {
          EXPECT_EQ(*term->Find("value"), Value()) << where;
          EXPECT_EQ(term->Find("withheld")->as_string(), "hidden") << where;
          EXPECT_EQ(start->Find("value")->as_string().size(), 4u) << where << ": the year alone";
          EXPECT_EQ(start->Find("withheld")->as_string(), "year_only") << where;
        }
      }
      if (full) {
        EXPECT_TRUE(today) << where << ": today's row is listed";
      }
    };
    const Value form = Json(cookie, subject + "/visits/LOGS/forms/AE");
    check(form.Find("rows") ? form.Find("rows")->Find("AE") : nullptr, "form");
    for (const std::string& query : {std::string(), as_of}) {
      const Value casebook = Json(cookie, subject + query);
      const Value* rows = casebook.Find("visits") ? casebook.Find("visits")->Find("LOGS") : nullptr;
      for (const char* key : {"forms", "AE", "rows", "AE"}) rows = rows ? rows->Find(key) : nullptr;
      check(rows, "casebook" + query);
    }
    // The audit trail: each row's start date as disclosed; the term not at all.
    size_t starts = 0;
    for (const Value& entry : AllPages(cookie, "", 1000)) {
      const std::string path = entry.Find("path")->as_string();
      const Value* now = entry.Find("new");
      if (path.find("/LOGS/AE/AE/") == std::string::npos || !path.ends_with("/AESTDTC") || now == nullptr ||
          now->is_null()) {
        continue;
      }
      ++starts;
      EXPECT_EQ(now->as_string().size(), full ? 10u : 4u) << user << " " << path;
    }
    EXPECT_GT(starts, 0u) << user << ": the rows' start dates are in the trail";
    const std::string page = ToJson(Json(cookie, base_path_ + "?limit=1000"));
    auto csv = Get(cookie, base_path_ + "?format=csv");
    ASSERT_TRUE(csv && csv->status == 200) << user;
    for (const std::string& text : {page, csv->body}) {
      EXPECT_EQ(text.find("HYPERLINK") != std::string::npos, full) << user << ": " << text.substr(0, 400);
    }
  }
}

}  // namespace
}  // namespace trialcore::api
