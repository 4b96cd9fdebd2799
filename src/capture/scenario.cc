#include "capture/scenario.h"

#include <chrono>
#include <regex>
#include <sstream>

#include "capture/capture.h"
#include "core/test_env.h"
#include "core/xml_text.h"
#include "rules/rules.h"
#include "store/open_store.h"

namespace trialcore::capture {

bool ScenarioResult::passed() const {
  return std::all_of(steps.begin(), steps.end(), [](const StepResult& s) { return s.passed; });
}

namespace {

struct Step {
  int line = 0;
  std::string keyword;  // Given, When, Then (And/But resolved)
  std::string text;
  std::vector<std::vector<std::string>> table;
};

struct Scenario {
  std::string name;
  int line = 0;
  std::vector<Step> steps;
};

struct ParsedFeature {
  std::string name;
  std::vector<Step> background;
  std::vector<Scenario> scenarios;
};

std::string Trim(const std::string& s) {
  size_t a = s.find_first_not_of(" \t\r");
  if (a == std::string::npos) return "";
  size_t b = s.find_last_not_of(" \t\r");
  return s.substr(a, b - a + 1);
}

Result<ParsedFeature> ParseFeature(const std::string& file, const std::string& text) {
  ParsedFeature f;
  std::istringstream in(text);
  std::string raw;
  int n = 0;
  std::vector<Step>* steps = nullptr;
  std::string last_keyword;
  auto error = [&](const std::string& msg) { return InvalidArgument(file + ":" + std::to_string(n) + ": " + msg); };
  while (std::getline(in, raw)) {
    ++n;
    std::string line = Trim(raw);
    if (line.empty() || line[0] == '#' || line[0] == '@') continue;
    auto starts = [&](const char* kw) { return line.rfind(kw, 0) == 0; };
    if (starts("Feature:")) {
      f.name = Trim(line.substr(8));
      continue;
    }
    if (f.name.empty()) return error("expected 'Feature:' first");
    if (starts("Background:")) {
      steps = &f.background;
      continue;
    }
    if (starts("Scenario Outline:") || starts("Scenario Template:") || starts("Examples:")) {
      return error("scenario outlines are not supported; write one scenario per case");
    }
    if (starts("Scenario:") || starts("Example:")) {
      f.scenarios.push_back({Trim(line.substr(line.find(':') + 1)), n, {}});
      steps = &f.scenarios.back().steps;
      continue;
    }
    if (line[0] == '|') {
      if (steps == nullptr || steps->empty()) return error("a table must follow a step");
      std::vector<std::string> cells;
      std::string cell;
      for (size_t i = 1; i < line.size(); ++i) {
        if (line[i] == '|') {
          cells.push_back(Trim(cell));
          cell.clear();
        } else {
          cell += line[i];
        }
      }
      if (line.back() != '|') return error("a table row must end with '|'");
      steps->back().table.push_back(cells);
      continue;
    }
    std::string keyword;
    for (const char* kw : {"Given ", "When ", "Then ", "And ", "But ", "* "}) {
      if (starts(kw)) keyword = Trim(kw);
    }
    if (keyword.empty()) {
      if (steps == nullptr) continue;  // free description text under Feature:
      return error("expected a step (Given, When, Then, And, But), a table or a new Scenario, found: " + line);
    }
    if (steps == nullptr) return error("steps must be inside a Scenario or Background");
    if (keyword == "And" || keyword == "But" || keyword == "*") {
      if (last_keyword.empty()) return error(keyword + " cannot start a scenario");
      keyword = last_keyword;
    }
    last_keyword = keyword;
    steps->push_back({n, keyword, Trim(line.substr(line.find(' ') + 1)), {}});
  }
  if (f.name.empty()) return InvalidArgument(file + ": no 'Feature:' line");
  if (f.scenarios.empty()) return InvalidArgument(file + ": the feature has no scenarios");
  return f;
}

class Runner {
 public:
  Runner(std::shared_ptr<const study::Study> study, const ScenarioOptions& options)
      : study_(std::move(study)), start_(options.start_micros) {}

  Status Start() {
    env_.SetNowMicros(start_);
    // A file of the test Env's memory: the scenario leaves nothing behind.
    StoreOpenOptions o;
    o.env = &env_;
    TC_ASSIGN_OR_RETURN(store_, OpenEventStore("/mem/scenario.db", o));
    TC_ASSIGN_OR_RETURN(capture_, Capture::Open(store_.get(), &env_, study_->id));
    return capture_->PublishStudy(study_, Actor{"admin", "study_admin"}).status();
  }

  // Runs one step; expected/actual describe a failure.
  bool Run(const Step& step, std::string* expected, std::string* actual) {
    std::smatch m;
    const std::string& t = step.text;
    auto is = [&](const char* pattern) { return std::regex_match(t, m, std::regex(pattern)); };
    auto fail = [&](std::string e, std::string a) {
      *expected = std::move(e);
      *actual = std::move(a);
      return false;
    };
    // Given / When: actions.
    if (is(R"re(the date is "([^"]*)")re")) {
      auto us = ParseTimeMicros(m[1].str());
      if (!us.ok()) return fail("a date such as 2024-06-01 or a time such as 2024-06-01T09:00:00Z", m[1].str());
      // A date alone keeps the time of day the scenario started at (noon by default).
      bool date_only = m[1].length() == 10;
      int64_t time_of_day = ((start_ % rules::kMicrosPerDay) + rules::kMicrosPerDay) % rules::kMicrosPerDay;
      env_.SetNowMicros(date_only ? *us + time_of_day : *us);
      return true;
    }
    if (is(R"re(the user "([^"]*)" acting as "([^"]*)")re")) {
      actor_ = Actor{m[1].str(), m[2].str()};
      return true;
    }
    if (is(R"re(a subject "([^"]*)" at site "([^"]*)")re")) {
      subject_ = m[1].str();
      site_ = m[2].str();
      return Exec(Value::Object{{"op", "subject.screen"}, {"subject", subject_}, {"site", site_}}, "coordinator",
                  step.keyword, expected, actual);
    }
    if (is(R"re(the form "([^"]*)" at visit "([^"]*)" is saved(?: with reason "([^"]*)")? with:)re")) {
      auto table = Items(step, m[1].str());
      if (!table.ok()) return fail("a well-formed table", table.status().message());
      const Value::Object& items = *table;
      Value::Object cmd{
          {"op", "form.save"}, {"subject", subject_}, {"visit", m[2].str()}, {"form", m[1].str()}, {"items", items}};
      if (m[3].matched) cmd["reason"] = m[3].str();
      return Exec(cmd, RoleFor(m[1].str()), step.keyword, expected, actual);
    }
    if (is(R"re((?:a new row|row (\d+)) of "([^"]*)" on form "([^"]*)" at visit "([^"]*)" is saved(?: with reason "([^"]*)")? with:)re")) {
      auto table = Items(step, m[3].str());
      if (!table.ok()) return fail("a well-formed table", table.status().message());
      const Value::Object& items = *table;
      Value::Object row{{"group", m[2].str()}, {"items", items}};
      if (m[1].matched) row["row"] = static_cast<int64_t>(std::stoi(m[1].str()));
      Value::Object cmd{{"op", "form.save"},
                        {"subject", subject_},
                        {"visit", m[4].str()},
                        {"form", m[3].str()},
                        {"rows", Value::Array{row}}};
      if (m[5].matched) cmd["reason"] = m[5].str();
      return Exec(cmd, RoleFor(m[3].str()), step.keyword, expected, actual);
    }
    if (is(R"re(the subject is enrolled)re")) {
      return Exec(Value::Object{{"op", "subject.enroll"}, {"subject", subject_}}, "coordinator", step.keyword, expected,
                  actual);
    }
    if (is(R"re(the subject (fails screening|is withdrawn) because "([^"]*)")re")) {
      std::string op = m[1].str() == "fails screening" ? "subject.screen_fail" : "subject.withdraw";
      return Exec(Value::Object{{"op", op}, {"subject", subject_}, {"reason", m[2].str()}}, "coordinator", step.keyword,
                  expected, actual);
    }
    if (is(R"re(the subject completes the study)re")) {
      return Exec(Value::Object{{"op", "subject.complete"}, {"subject", subject_}}, "coordinator", step.keyword,
                  expected, actual);
    }
    if (is(R"re(query (\d+) is (answered|re-opened|cancelled|closed)(?: (?:with|because) "([^"]*)")?)re")) {
      static const std::map<std::string, std::pair<std::string, std::string>> kOps = {
          {"answered", {"query.answer", "coordinator"}},
          {"re-opened", {"query.reopen", "monitor"}},
          {"cancelled", {"query.cancel", "monitor"}},
          {"closed", {"query.close", "monitor"}}};
      const auto& [op, role] = kOps.at(m[2].str());
      Value::Object cmd{{"op", op}, {"subject", subject_}, {"query", static_cast<int64_t>(std::stoi(m[1].str()))}};
      if (m[3].matched) cmd["message"] = m[3].str();
      return Exec(cmd, role, step.keyword, expected, actual);
    }
    if (is(R"re(a query is raised on "([^"]*)" at visit "([^"]*)" with message "([^"]*)")re")) {
      auto dot = m[1].str().find('.');
      Value::Object cmd{{"op", "query.open"},
                        {"subject", subject_},
                        {"visit", m[2].str()},
                        {"form", m[1].str().substr(0, dot)},
                        {"item", m[1].str().substr(dot + 1)},
                        {"message", m[3].str()}};
      return Exec(cmd, "monitor", step.keyword, expected, actual);
    }
    if (is(R"re(visit "([^"]*)" is marked missed because "([^"]*)")re")) {
      return Exec(
          Value::Object{{"op", "visit.missed"}, {"subject", subject_}, {"visit", m[1].str()}, {"reason", m[2].str()}},
          "coordinator", step.keyword, expected, actual);
    }
    if (is(R"re(the monitor verifies the form "([^"]*)" at visit "([^"]*)")re")) {
      return Exec(
          Value::Object{{"op", "sdv.verify"}, {"subject", subject_}, {"visit", m[2].str()}, {"form", m[1].str()}},
          "monitor", step.keyword, expected, actual);
    }
    if (is(R"re(the investigator signs the (?:form "([^"]*)" at visit "([^"]*)"|casebook) for (authorship|review|approval))re")) {
      Value::Object cmd{{"op", "sign"}, {"subject", subject_}, {"meaning", m[3].str()}, {"name", "Dr Scenario"}};
      if (m[1].matched) {
        cmd["form"] = m[1].str();
        cmd["visit"] = m[2].str();
      }
      return Exec(cmd, "investigator", step.keyword, expected, actual);
    }
    if (is(R"re(the (form|subject) (?:"([^"]*)" at visit "([^"]*)" )?is (frozen|locked|unfrozen|unlocked)(?: because "([^"]*)")?)re")) {
      std::string verb = m[4].str() == "frozen"     ? "freeze"
                         : m[4].str() == "unfrozen" ? "unfreeze"
                         : m[4].str() == "locked"   ? "lock"
                                                    : "unlock";
      Value::Object cmd{{"op", m[1].str() + "." + verb}, {"subject", subject_}};
      if (m[1].str() == "form") {
        cmd["form"] = m[2].str();
        cmd["visit"] = m[3].str();
      }
      if (m[5].matched) cmd["reason"] = m[5].str();
      return Exec(cmd, "data_manager", step.keyword, expected, actual);
    }
    if (is(R"re(the database is (locked|unlocked)(?: because "([^"]*)")?)re")) {
      const bool lock = m[1].str() == "locked";
      Value::Object cmd{{"op", lock ? "study.lock" : "study.unlock"}, {"name", "Data Manager (scenario)"}};
      if (m[2].matched) cmd["reason"] = m[2].str();
      // A scenario's subjects are mid-study: every item of the lock checklist
      // that may be accepted is (queries still must be closed).
      if (lock) {
        Value::Object accept;
        for (const char* id : {"subjects_on_study", "unsigned_casebooks", "broken_signatures", "unverified_forms"})
          accept[id] = "accepted in the scenario";
        cmd["accept"] = accept;
      }
      return Exec(cmd, "data_manager", step.keyword, expected, actual);
    }
    // Then: observations.
    if (is(R"re(the (?:save|command) succeeds)re")) {
      if (last_error_.empty()) return true;
      return fail("the last command to succeed", "it was rejected: " + last_error_);
    }
    if (is(R"re(the (?:save|command) is rejected with "([^"]*)")re")) {
      if (last_error_.empty()) return fail("a rejection with \"" + m[1].str() + "\"", "the last command succeeded");
      if (last_error_.find(m[1].str()) != std::string::npos) return true;
      return fail("a rejection with \"" + m[1].str() + "\"", "rejected with: " + last_error_);
    }
    if (is(R"re(a query is open on "([^"]*)"(?: with message "([^"]*)")?)re")) {
      std::string open = OpenQueries();
      for (const Query& q : ActiveQueries()) {
        if (Matches(q, m[1].str()) && (!m[2].matched || Message(q).find(m[2].str()) != std::string::npos)) return true;
      }
      return fail(
          "an open query on " + m[1].str() + (m[2].matched ? " with a message containing \"" + m[2].str() + "\"" : ""),
          "open queries: " + open + LastError());
    }
    if (is(R"re((a|no) query from check "([^"]*)" is open)re")) {
      bool found = false;
      for (const Query& q : ActiveQueries()) found = found || q.check == m[2].str();
      if (found == (m[1].str() == "a")) return true;
      return fail(m[1].str() + " open query from check " + m[2].str(), "open queries: " + OpenQueries());
    }
    if (is(R"re(no query is open on "([^"]*)")re")) {
      for (const Query& q : ActiveQueries()) {
        if (Matches(q, m[1].str())) return fail("no open query on " + m[1].str(), "open queries: " + OpenQueries());
      }
      return true;
    }
    if (is(R"re(no query is open)re")) {
      if (ActiveQueries().empty()) return true;
      return fail("no open query", "open queries: " + OpenQueries());
    }
    if (is(R"re((\d+) quer(?:y is|ies are) open)re")) {
      size_t want = std::stoul(m[1].str());
      if (ActiveQueries().size() == want) return true;
      return fail(m[1].str() + " open queries", "open queries: " + OpenQueries());
    }
    if (is(R"re(query (\d+) is (open|answered|closed|cancelled))re")) {
      auto s = capture_->Subject(subject_);
      if (!s.ok()) return fail("a subject", s.status().message());
      auto q = s->queries.find(std::stoi(m[1].str()));
      if (q == s->queries.end()) return fail("query " + m[1].str(), "no such query" + LastError());
      if (QueryStateName(q->second.state) == m[2].str()) return true;
      return fail("query " + m[1].str() + " " + m[2].str(), std::string(QueryStateName(q->second.state)));
    }
    if (is(R"re(the subject is (eligible|not eligible)(?: because "([^"]*)")?|eligibility is incomplete)re")) {
      auto e = capture_->CheckEligibility(subject_);
      if (!e.ok()) return fail("an eligibility result", e.status().message());
      std::string summary = e->Summary();
      Eligibility want = !m[1].matched              ? Eligibility::kIncomplete
                         : m[1].str() == "eligible" ? Eligibility::kEligible
                                                    : Eligibility::kNotEligible;
      if (e->overall == want && (!m[2].matched || summary.find(m[2].str()) != std::string::npos)) return true;
      return fail(t, summary);
    }
    if (is(R"re("([^"]*)" is (missing|"([^"]*)"))re")) {
      std::string got = ItemText(m[1].str());
      std::string want = m[2].str() == "missing" ? "(missing)" : m[3].str();
      if (got == want) return true;
      return fail(m[1].str() + " = " + want, m[1].str() + " = " + got + LastError());
    }
    if (is(R"re(visit "([^"]*)" is (in window|early|late|missed|overdue|due|not due|unscheduled))re")) {
      auto sched = capture_->Schedule(subject_);
      if (!sched.ok()) return fail("a schedule", sched.status().message());
      for (const auto& v : *sched) {
        if (v.visit != m[1].str()) continue;
        if (WindowStatusName(v.status) == m[2].str()) return true;
        return fail("visit " + m[1].str() + " " + m[2].str(), std::string(WindowStatusName(v.status)));
      }
      return fail("visit " + m[1].str(), "no such visit");
    }
    if (is(R"re(the subject status is "([^"]*)")re")) {
      auto s = capture_->Subject(subject_);
      if (s.ok() && s->status == m[1].str()) return true;
      return fail("status " + m[1].str(), s.ok() ? s->status : s.status().message());
    }
    if (is(R"re(the form "([^"]*)" at visit "([^"]*)" is (complete|in progress|not started))re")) {
      auto st = capture_->StatusOfForm(subject_, m[2].str(), m[1].str());
      if (!st.ok()) return fail(m[3].str(), st.status().message());
      if (FormStatusName(*st) == m[3].str()) return true;
      return fail(m[3].str(), std::string(FormStatusName(*st)));
    }
    if (is(R"re(signature (\d+) is (valid|broken))re")) {
      auto s = capture_->Subject(subject_);
      if (!s.ok()) return fail("a subject", s.status().message());
      auto sig = s->signatures.find(std::stoi(m[1].str()));
      if (sig == s->signatures.end()) return fail("signature " + m[1].str(), "no such signature" + LastError());
      std::string state = sig->second.broken ? "broken" : "valid";
      if (state == m[2].str()) return true;
      return fail("signature " + m[1].str() + " " + m[2].str(), state);
    }
    return fail("a step from doc/scenarios.md", "unknown step: " + step.keyword + " " + t);
  }

 private:
  Result<Value::Object> Items(const Step& step, const std::string& form_id) {
    const study::Form* form = study_->FindForm(form_id);
    if (form == nullptr) return NotFound("unknown form " + form_id);
    std::vector<std::pair<std::string, std::string>> pairs;
    const auto& t = step.table;
    if (t.empty()) return InvalidArgument("the step needs a table of items and values");
    if (t[0].size() == 2 && t[0][0] == "item" && t[0][1] == "value") {
      for (size_t i = 1; i < t.size(); ++i) pairs.push_back({t[i][0], t[i][1]});
    } else {
      if (t.size() != 2 || t[0].size() != t[1].size()) {
        return InvalidArgument(
            "give the table as | item | value | rows, or one header row of items and one row of values");
      }
      for (size_t i = 0; i < t[0].size(); ++i) pairs.push_back({t[0][i], t[1][i]});
    }
    Value::Object items;
    for (const auto& [id, text] : pairs) {
      const study::Item* item = form->FindItem(id);
      if (item != nullptr && item->type == study::ItemType::kMultiChoice) {
        Value::Array codes;
        std::stringstream ss(text);
        std::string code;
        while (std::getline(ss, code, ',')) codes.push_back(Trim(code));
        items[id] = codes;
      } else {
        items[id] = text == "(empty)" ? Value() : Value(text);
      }
    }
    return items;
  }

  std::string RoleFor(const std::string& form_id) const {
    const study::Form* f = study_->FindForm(form_id);
    if (f == nullptr || f->roles.empty()) return "coordinator";
    return std::find(f->roles.begin(), f->roles.end(), "coordinator") != f->roles.end() ? "coordinator" : f->roles[0];
  }

  bool Exec(const Value::Object& cmd, const std::string& role, const std::string& keyword, std::string* expected,
            std::string* actual) {
    Actor who = actor_.user.empty() ? Actor{role + "." + site_, role} : actor_;
    auto r = capture_->Execute(Value(cmd), who);
    last_error_ = r.ok() ? "" : r.status().message();
    // A Given sets the scene: it must work. A When may be refused; Then says so.
    if (!r.ok() && keyword == "Given") {
      *expected = "the setup step to succeed";
      *actual = last_error_;
      return false;
    }
    return true;
  }

  std::string LastError() const {
    return last_error_.empty() ? "" : " (the last command was rejected: " + last_error_ + ")";
  }

  std::vector<Query> ActiveQueries() {
    std::vector<Query> out;
    auto s = capture_->Subject(subject_);
    if (!s.ok()) return out;
    for (const auto& [n, q] : s->queries) {
      if (q.unresolved()) out.push_back(q);
    }
    return out;
  }

  static std::string Message(const Query& q) { return q.thread.empty() ? "" : q.thread.front().message; }

  static bool Matches(const Query& q, const std::string& spec) {
    return spec == q.form + "." + q.item || spec == q.visit + "/" + q.form + "/" + q.item;
  }

  std::string OpenQueries() {
    std::string out;
    for (const Query& q : ActiveQueries()) {
      out += (out.empty() ? "" : "; ") + q.visit + "/" + q.form + "/" + q.item + " (" + q.check + ") \"" + Message(q) +
             "\"";
    }
    return out.empty() ? "none" : out;
  }

  // "VISIT/FORM/ITEM", or "FORM.ITEM" for its most recent value.
  std::string ItemText(const std::string& spec) {
    auto s = capture_->Subject(subject_);
    if (!s.ok()) return "(no subject)";
    std::string visit, form, item;
    if (auto dot = spec.find('.'); dot != std::string::npos && spec.find('/') == std::string::npos) {
      form = spec.substr(0, dot);
      item = spec.substr(dot + 1);
    } else {
      auto a = spec.find('/'), b = spec.rfind('/');
      if (a == std::string::npos || a == b) return "(give VISIT/FORM/ITEM or FORM.ITEM)";
      visit = spec.substr(0, a);
      form = spec.substr(a + 1, b - a - 1);
      item = spec.substr(b + 1);
    }
    const Value* found = nullptr;
    for (const auto& v : study_->visits) {
      if (!visit.empty() && v.id != visit) continue;
      auto vs = s->visits.find(v.id);
      if (vs == s->visits.end()) continue;
      auto fs = vs->second.forms.find(form);
      if (fs == vs->second.forms.end()) continue;
      const ItemState* it = fs->second.Find(item);
      if (it != nullptr && !it->value.is_null()) found = &it->value;
    }
    if (found == nullptr) return "(missing)";
    switch (found->kind()) {
      case Value::Kind::kInt:
        return std::to_string(found->as_int());
      case Value::Kind::kDecimal:
        return found->as_decimal().text();
      case Value::Kind::kBool:
        return found->as_bool() ? "true" : "false";
      case Value::Kind::kString:
        return found->as_string();
      default:
        return "(a list)";
    }
  }

  std::shared_ptr<const study::Study> study_;
  int64_t start_;
  MemEnv env_;
  std::unique_ptr<EventStore> store_;
  std::unique_ptr<Capture> capture_;
  Actor actor_;
  std::string subject_, site_ = "701";
  std::string last_error_;
};

}  // namespace

Result<std::vector<ScenarioResult>> RunFeature(std::shared_ptr<const study::Study> study, const std::string& file,
                                               const std::string& text, const ScenarioOptions& options) {
  TC_ASSIGN_OR_RETURN(ParsedFeature f, ParseFeature(file, text));
  std::vector<ScenarioResult> results;
  for (const Scenario& sc : f.scenarios) {
    auto start = std::chrono::steady_clock::now();
    ScenarioResult r{f.name, file, sc.name, sc.line, {}, 0};
    Runner runner(study, options);
    Status started = runner.Start();
    if (!started.ok()) return started.WithContext(file + ": starting scenario " + sc.name);
    bool failed = false;
    std::vector<const Step*> steps;
    for (const Step& s : f.background) steps.push_back(&s);
    for (const Step& s : sc.steps) steps.push_back(&s);
    for (const Step* s : steps) {
      StepResult sr;
      sr.line = s->line;
      sr.text = s->keyword + " " + s->text;
      if (failed) {
        sr.skipped = true;
      } else {
        sr.passed = runner.Run(*s, &sr.expected, &sr.actual);
        failed = !sr.passed;
      }
      r.steps.push_back(sr);
    }
    r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    results.push_back(std::move(r));
  }
  return results;
}

std::string JUnitXml(const std::vector<ScenarioResult>& results) {
  std::map<std::string, std::vector<const ScenarioResult*>> by_file;
  for (const auto& r : results) by_file[r.file].push_back(&r);
  size_t failures = std::count_if(results.begin(), results.end(), [](const auto& r) { return !r.passed(); });
  std::string out = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites tests=\"" +
                    std::to_string(results.size()) + "\" failures=\"" + std::to_string(failures) + "\">\n";
  for (const auto& [file, list] : by_file) {
    size_t f = std::count_if(list.begin(), list.end(), [](const auto* r) { return !r->passed(); });
    out += "  <testsuite name=\"" + XmlEscape(list[0]->feature) + "\" file=\"" + XmlEscape(file) + "\" tests=\"" +
           std::to_string(list.size()) + "\" failures=\"" + std::to_string(f) + "\">\n";
    for (const auto* r : list) {
      char secs[32];
      std::snprintf(secs, sizeof secs, "%.3f", r->seconds);
      out += "    <testcase name=\"" + XmlEscape(r->name) + "\" classname=\"" + XmlEscape(r->feature) + "\" file=\"" +
             XmlEscape(file) + "\" line=\"" + std::to_string(r->line) + "\" time=\"" + secs + "\"";
      const StepResult* bad = nullptr;
      for (const auto& s : r->steps) {
        if (!s.passed && !s.skipped) bad = &s;
      }
      if (bad == nullptr) {
        out += "/>\n";
        continue;
      }
      out += ">\n      <failure message=\"" + XmlEscape(bad->text) + "\">line " + std::to_string(bad->line) +
             ": expected " + XmlEscape(bad->expected) + "; actual " + XmlEscape(bad->actual) +
             "</failure>\n    </testcase>\n";
    }
    out += "  </testsuite>\n";
  }
  return out + "</testsuites>\n";
}

}  // namespace trialcore::capture
