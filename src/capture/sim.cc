#include "capture/sim.h"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <mutex>
#include <random>
#include <thread>

#include "capture/reads.h"
#include "core/event.h"
#include "rules/rules.h"

namespace trialcore::capture {

namespace {

Value Dec1(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f", v);
  return Value(Decimal::Parse(buf).value());
}

// What every subject's simulation shares: the study, its sites and the clock.
struct SimContext {
  Capture* capture = nullptr;
  SimOptions options;
  std::vector<std::string> sites;
  int64_t now = 0, today = 0, start = 0;
};

// One subject's simulation, with its own random stream seeded from the run's
// seed and the subject's index: the subject's data do not depend on which
// other subjects ran before it or beside it.
class Simulator {
 public:
  Simulator(const SimContext& ctx, int index, SimReport* report)
      : c_(*ctx.capture),
        o_(ctx.options),
        rng_(SubjectSeed(ctx.options.seed, index)),
        now_(ctx.now),
        today_(ctx.today),
        start_(ctx.start),
        sites_(ctx.sites),
        index_(index),
        report_(*report) {}

  Status Run() { return Subject(index_); }
  const std::string& subject() const { return subject_; }

 private:
  static std::mt19937_64 SubjectSeed(uint64_t seed, int index) {
    const auto i = static_cast<uint64_t>(index);
    std::seed_seq seq{static_cast<uint32_t>(seed), static_cast<uint32_t>(seed >> 32), static_cast<uint32_t>(i),
                      static_cast<uint32_t>(i >> 32)};
    return std::mt19937_64(seq);
  }

  double Uniform(double a, double b) { return std::uniform_real_distribution<double>(a, b)(rng_); }
  int Int(int a, int b) { return std::uniform_int_distribution<int>(a, b)(rng_); }
  double Normal(double mean, double sd) { return std::normal_distribution<double>(mean, sd)(rng_); }
  bool Chance(double p) { return Uniform(0, 1) < p; }
  template <typename T>
  const T& Pick(const std::vector<T>& v) {
    return v[static_cast<size_t>(Int(0, static_cast<int>(v.size()) - 1))];
  }

  static std::string Date(int64_t day) { return rules::FormatDateDays(day); }
  static int Year(int64_t day) { return std::stoi(Date(day).substr(0, 4)); }

  // A time of day on a simulated day, never later than the clock: nothing
  // simulated today happens after the moment the simulator runs (at 01:00 a
  // sample taken "today at 09:30" would lie in the future), so the result does
  // not depend on the hour it runs at. Whole seconds, as a site would type it.
  std::string DateTime(int64_t day, int hour, int minute) const {
    constexpr int64_t kSecond = 1'000'000;
    int64_t at = std::min(day * rules::kMicrosPerDay + (hour * 60 + minute) * 60 * kSecond, now_ / kSecond * kSecond);
    std::string text = FormatTimeMicros(at);  // 2026-11-23T09:30:00.000000Z
    return text.substr(0, 19) + "Z";
  }

  Result<Outcome> Exec(Value::Object cmd, const Actor& actor) {
    ++report_.commands;
    auto r = c_.Execute(Value(std::move(cmd)), actor);
    if (r.ok()) {
      report_.events += r->events.size();
      for (const Event& e : r->events) {
        if (e.type == "query.opened") ++report_.queries_opened;
        if (e.type == "query.closed") ++report_.queries_closed;
      }
    }
    return r;
  }

  Status Must(Value::Object cmd, const Actor& actor) {
    auto r = Exec(cmd, actor);
    if (!r.ok()) return r.status().WithContext("simulating " + OpOf(cmd));
    return Status::Ok();
  }

  static std::string OpOf(const Value::Object& cmd) {
    auto op = cmd.find("op");
    return op != cmd.end() && op->second.is_string() ? op->second.as_string() : "a command";
  }

  Value::Object Save(const std::string& visit, const std::string& form, Value::Object items) {
    return Value::Object{
        {"op", "form.save"}, {"subject", subject_}, {"visit", visit}, {"form", form}, {"items", items}};
  }

  // Saves a form; with the configured error rate a value is first typed
  // wrong, the check's query is answered and the value corrected with a reason.
  Status SaveWithErrors(const std::string& visit, const std::string& form, Value::Object items, const Actor& who,
                        const std::string& wrong_item = "", Value wrong_value = Value()) {
    if (!wrong_item.empty() && Chance(o_.error_rate)) {
      Value::Object typo = items;
      typo[wrong_item] = wrong_value;
      auto r = Exec(Save(visit, form, typo), who);
      if (!r.ok()) {
        if (r.status().code() != StatusCode::kFailedPrecondition) return r.status();
        ++report_.refused;  // a hard check refused it; the site types it again
      } else {
        for (const Event& e : r->events) {
          if (e.type != "query.opened") continue;
          int64_t q = e.payload.Find("query")->as_int();
          TC_RETURN_IF_ERROR(Must(Value::Object{{"op", "query.answer"},
                                                {"subject", subject_},
                                                {"query", q},
                                                {"message", "Transcription error; corrected from source"}},
                                  who));
        }
        auto fixed = Save(visit, form, Value::Object{{wrong_item, items[wrong_item]}});
        fixed["reason"] = "transcription error";
        return Must(fixed, who);
      }
    }
    return Must(Save(visit, form, items), who);
  }

  Status Subject(int index) {
    const std::string site = sites_[static_cast<size_t>(index) % sites_.size()];
    subject_ = site + "-" + std::to_string(1001 + index);
    Actor coord{"coord." + site, "coordinator"};
    Actor inv{"inv." + site, "investigator"};
    Actor cra{"cra.1", "monitor"};
    Actor pharmacist{"pharm." + site, "unblinded_pharmacist"};
    int64_t sday = start_ + static_cast<int64_t>(index) * o_.enrol_every_days;
    if (sday > today_) return Status::Ok();
    ++report_.subjects;
    TC_RETURN_IF_ERROR(Must(Value::Object{{"op", "subject.screen"}, {"subject", subject_}, {"site", site}}, coord));
    TC_RETURN_IF_ERROR(Must(Save("SCREENING1", "SV", {{"SVSTDTC", Date(sday)}}), coord));
    TC_RETURN_IF_ERROR(
        Must(Save("SCREENING1", "IC", {{"ICDTC", Date(sday)}, {"ICVER", "v2.1"}, {"ICCGVR", "Y"}}), coord));
    bool female = Chance(0.55);
    int age = std::clamp(static_cast<int>(Normal(75, 8)), 51, 89);
    int64_t birth = sday - age * 365 - Int(30, 330);
    Value::Object dm{{"BRTHDTC", Date(birth)},
                     {"SEX", female ? "F" : "M"},
                     {"RACE", Chance(0.86)  ? "WHITE"
                              : Chance(0.7) ? "BLACK OR AFRICAN AMERICAN"
                                            : "ASIAN"},
                     {"ETHNIC", Chance(0.95) ? "NOT HISPANIC OR LATINO" : "HISPANIC OR LATINO"}};
    if (female) dm["POSTMENO"] = "Y";
    TC_RETURN_IF_ERROR(Must(Save("SCREENING1", "DM", dm), coord));
    Value::Array mh;
    for (int k = 0, n = Int(1, 3); k < n; ++k) {
      static const std::vector<std::string> kTerms = {"HYPERTENSION", "OSTEOARTHRITIS", "HYPERCHOLESTEROLAEMIA",
                                                      "INSOMNIA",     "DEPRESSION",     "CATARACT"};
      mh.push_back(
          Value::Object{{"group", "MH"},
                        {"items", Value::Object{{"MHTERM", k == 0 ? "ALZHEIMER'S DISEASE" : Pick(kTerms)},
                                                {"MHCAT", k == 0 ? "PRIMARY DIAGNOSIS" : "GENERAL MEDICAL HISTORY"},
                                                {"MHSTDTC", std::to_string(Year(sday) - Int(1, 15))},
                                                {"MHONGO", true}}}});
    }
    TC_RETURN_IF_ERROR(Must(
        Value::Object{
            {"op", "form.save"}, {"subject", subject_}, {"visit", "SCREENING1"}, {"form", "MH"}, {"rows", mh}},
        coord));
    int mmse = Chance(0.9) ? Int(12, 23) : Int(24, 27);
    TC_RETURN_IF_ERROR(Must(Save("SCREENING1", "IE",
                                 {{"IEDTC", Date(sday)},
                                  {"MMSE", int64_t{mmse}},
                                  {"HACHIN", int64_t{Int(0, 4)}},
                                  {"INCL02", "Y"},
                                  {"INCL05", "Y"},
                                  {"INCL06", "Y"},
                                  {"INCL07", "Y"},
                                  {"INCL08", "Y"},
                                  {"EXCL10", "N"},
                                  {"EXCL11", "N"},
                                  {"EXCL16", "N"},
                                  {"EXCL17", "N"},
                                  {"EXCL27", "N"}}),
                            inv));
    double weight = std::clamp(Normal(female ? 64 : 78, 11), 42.0, 140.0);
    double height = std::clamp(Normal(female ? 160 : 174, 7), 140.0, 200.0);
    TC_RETURN_IF_ERROR(Vitals("SCREENING1", weight, &height, coord));
    TC_RETURN_IF_ERROR(Labs("SCREENING1", sday, coord));
    if (Chance(0.6)) {
      Value::Array cm{Value::Object{{"group", "CM"},
                                    {"items", Value::Object{{"CMTRT", Chance(0.5) ? "ASPIRIN" : "LISINOPRIL"},
                                                            {"CMINDC", Chance(0.5) ? "PROPHYLAXIS" : "HYPERTENSION"},
                                                            {"CMDOSE", Dec1(Chance(0.5) ? 75 : 10)},
                                                            {"CMDOSU", "mg"},
                                                            {"CMROUTE", Value::Array{"ORAL"}},
                                                            {"CMSTDTC", std::to_string(Year(sday) - Int(1, 5))},
                                                            {"CMONGO", true}}}}};
      TC_RETURN_IF_ERROR(Must(
          Value::Object{{"op", "form.save"}, {"subject", subject_}, {"visit", "LOGS"}, {"form", "CM"}, {"rows", cm}},
          coord));
    }
    TC_ASSIGN_OR_RETURN(EligibilityResult e, c_.CheckEligibility(subject_));
    if (e.overall != Eligibility::kEligible) {
      ++report_.screen_failed;
      return Must(Value::Object{{"op", "subject.screen_fail"}, {"subject", subject_}, {"reason", e.Summary()}}, coord);
    }
    // Monitoring of screening: verify demographics and eligibility.
    TC_RETURN_IF_ERROR(
        Must(Value::Object{{"op", "sdv.verify"}, {"subject", subject_}, {"visit", "SCREENING1"}, {"form", "DM"}}, cra));

    int64_t rand_day = sday + 7;
    if (rand_day > today_) return Status::Ok();
    TC_RETURN_IF_ERROR(Must(Save("SCREENING2", "SV", {{"SVSTDTC", Date(rand_day - 1)}}), coord));
    TC_RETURN_IF_ERROR(Vitals("SCREENING2", weight, nullptr, coord));
    TC_RETURN_IF_ERROR(Must(Value::Object{{"op", "subject.enroll"}, {"subject", subject_}}, coord));
    ++report_.enrolled;
    static const std::vector<int> kDoses = {0, 54, 81};
    const int drawn = Int(0, static_cast<int>(kDoses.size()) - 1);
    int dose = kDoses[static_cast<size_t>(drawn + o_.arm_rotation) % kDoses.size()];
    TC_RETURN_IF_ERROR(Must(Save("BASELINE", "SV", {{"SVSTDTC", Date(rand_day)}}), coord));
    TC_RETURN_IF_ERROR(Must(Save("BASELINE", "RAND", {{"RANDDT", Date(rand_day)}}), coord));
    TC_RETURN_IF_ERROR(Vitals("BASELINE", weight, nullptr, coord));
    int adas = Int(12, 38);
    TC_RETURN_IF_ERROR(Must(Save("BASELINE", "COG", {{"ADASDTC", Date(rand_day)}, {"ADAS", int64_t{adas}}}), inv));
    TC_RETURN_IF_ERROR(Exposure("BASELINE", rand_day, dose, pharmacist));

    auto study = c_.study();
    bool withdraws = Chance(0.08);
    for (const study::Visit& v : study->visits) {
      if (!v.day || *v.day <= 1) continue;
      int64_t planned = rand_day + *v.day - 1;
      int64_t date = planned + Int(-v.window_before, v.window_after);
      if (Chance(0.04)) date = planned + v.window_after + Int(1, 4);  // late
      if (date > today_) return Status::Ok();
      if (withdraws && *v.day > 60) {
        return Must(
            Value::Object{
                {"op", "subject.withdraw"}, {"subject", subject_}, {"reason", "withdrawal by subject: moved away"}},
            coord);
      }
      TC_RETURN_IF_ERROR(Must(Save(v.id, "SV", {{"SVSTDTC", Date(date)}}), coord));
      auto has = [&](const char* form) { return std::find(v.forms.begin(), v.forms.end(), form) != v.forms.end(); };
      if (has("VS")) TC_RETURN_IF_ERROR(Vitals(v.id, weight + Normal(0, 1.2), nullptr, coord));
      if (has("LB")) TC_RETURN_IF_ERROR(Labs(v.id, date, coord));
      if (has("EX")) TC_RETURN_IF_ERROR(Exposure(v.id, date, dose, pharmacist));
      if (has("COG")) {
        adas = std::clamp(adas + Int(-3, 4), 0, 70);
        TC_RETURN_IF_ERROR(Must(
            Save(v.id, "COG", {{"ADASDTC", Date(date)}, {"ADAS", int64_t{adas}}, {"CIBIC", int64_t{Int(3, 5)}}}), inv));
      }
      if (Chance(0.12)) {
        static const std::vector<std::string> kAes = {"APPLICATION SITE PRURITUS",
                                                      "APPLICATION SITE ERYTHEMA",
                                                      "DIZZINESS",
                                                      "HEADACHE",
                                                      "NAUSEA",
                                                      "DIARRHOEA",
                                                      "FATIGUE"};
        bool ongoing = Chance(0.3);
        Value::Object ae{{"AETERM", Pick(kAes)},
                         {"AESTDTC", Date(date - Int(1, 5))},
                         {"AEONGO", ongoing},
                         {"AESEV", Chance(0.7) ? "MILD" : "MODERATE"},
                         {"AESER", "N"},
                         {"AEREL", Pick(std::vector<std::string>{"NONE", "REMOTE", "POSSIBLE", "PROBABLE"})},
                         {"AEACN", "DOSE NOT CHANGED"},
                         {"AEOUT", ongoing ? "NOT RECOVERED/NOT RESOLVED" : "RECOVERED/RESOLVED"}};
        if (!ongoing) ae["AEENDTC"] = Date(date);
        TC_RETURN_IF_ERROR(Must(Value::Object{{"op", "form.save"},
                                              {"subject", subject_},
                                              {"visit", "LOGS"},
                                              {"form", "AE"},
                                              {"rows", Value::Array{Value::Object{{"group", "AE"}, {"items", ae}}}}},
                                coord));
      }
      if (has("DS")) {
        TC_RETURN_IF_ERROR(Must(Save(v.id, "DS", {{"DSDECOD", "COMPLETED"}, {"DSSTDTC", Date(date)}}), inv));
        TC_RETURN_IF_ERROR(Must(Value::Object{{"op", "subject.complete"}, {"subject", subject_}}, coord));
      }
    }
    return Status::Ok();
  }

  Status Vitals(const std::string& visit, double weight, const double* height, const Actor& who) {
    int sys = std::clamp(static_cast<int>(Normal(134, 12)), 100, 158);
    int dia = std::clamp(static_cast<int>(Normal(78, 7)), 60, 95);
    Value::Object vs{{"VSPOS", "SITTING"},
                     {"SYSBP", int64_t{sys}},
                     {"DIABP", int64_t{dia}},
                     {"PULSE", int64_t{std::clamp(static_cast<int>(Normal(72, 8)), 55, 100)}},
                     {"TEMP", Dec1(std::clamp(Normal(36.6, 0.3), 35.6, 37.8))},
                     {"WEIGHT", Dec1(weight)}};
    if (height != nullptr) vs["HEIGHT"] = Dec1(*height);
    // A typo: an extra digit in systolic pressure gives an impossible value
    // (refused), a swapped pair gives an implausible one (queried).
    Value wrong = Chance(0.5) ? Value(int64_t{sys * 10}) : Value(int64_t{sys + 40});
    return SaveWithErrors(visit, "VS", vs, who, "SYSBP", wrong);
  }

  Status Labs(const std::string& visit, int64_t day, const Actor& who) {
    struct Test {
      const char* code;
      double mean, sd, uln;
    };
    static const Test kTests[] = {{"ALT", 18, 6, 40}, {"AST", 21, 6, 40}, {"BILI", 9, 3, 21}, {"CREAT", 85, 15, 115}};
    Value::Array rows;
    for (const Test& t : kTests) {
      rows.push_back(Value::Object{{"group", "LB"},
                                   {"items", Value::Object{{"LBTESTCD", t.code},
                                                           {"LBORRES", Dec1(std::max(1.0, Normal(t.mean, t.sd)))},
                                                           {"LBORNRHI", Dec1(t.uln)}}}});
    }
    return Must(Value::Object{{"op", "form.save"},
                              {"subject", subject_},
                              {"visit", visit},
                              {"form", "LB"},
                              {"items", Value::Object{{"LBDTC", DateTime(day, 9, 30)}, {"LBFAST", "Y"}}},
                              {"rows", rows}},
                who);
  }

  Status Exposure(const std::string& visit, int64_t day, int dose, const Actor& who) {
    Value::Object ex{{"EXSTDTC", Date(day)}, {"EXDOSE", int64_t{dose}}, {"PATCHES", int64_t{dose == 81 ? 3 : 2}}};
    if (dose == 0) ex["EXADJ"] = "per randomisation schedule";
    return SaveWithErrors(visit, "EX", ex, who, "EXDOSE", Value(int64_t{dose == 0 ? 50 : dose - 4}));
  }

  Capture& c_;
  const SimOptions& o_;
  std::mt19937_64 rng_;
  const int64_t now_, today_, start_;
  const std::vector<std::string>& sites_;
  const int index_;
  std::string subject_;
  SimReport& report_;
};

void AddTo(SimReport& total, const SimReport& r) {
  total.subjects += r.subjects;
  total.enrolled += r.enrolled;
  total.screen_failed += r.screen_failed;
  total.commands += r.commands;
  total.refused += r.refused;
  total.queries_opened += r.queries_opened;
  total.queries_closed += r.queries_closed;
  total.events += r.events;
}

}  // namespace

Result<SimReport> Simulate(Capture& capture, const SimOptions& options,
                           const std::function<void(int done, int total)>& progress) {
  if (options.threads < 1) return InvalidArgument("simulation threads must be 1 or more");
  auto study = capture.study();
  if (study == nullptr) return FailedPrecondition("publish the study before simulating it");
  SimContext ctx;
  ctx.capture = &capture;
  ctx.options = options;
  for (const auto& s : study->sites) ctx.sites.push_back(s.id);
  if (ctx.sites.empty()) ctx.sites.push_back("001");
  ctx.now = capture.NowMicros();
  ctx.today = ctx.now / rules::kMicrosPerDay;
  // By default the study started as long ago as its enrolment takes (at
  // least 300 days, so early subjects are done): the last subject screens
  // one enrolment interval or more before today.
  ctx.start = options.start_day != 0
                  ? options.start_day
                  : ctx.today - std::max<int64_t>(300, int64_t{options.subjects} * options.enrol_every_days);
  TC_ASSIGN_OR_RETURN(size_t existing, CountSubjects(capture.store(), capture.study_id()));
  const int first = static_cast<int>(existing);

  // Subjects are handed out in order to the threads, each keeping its own
  // counts. Capture takes concurrent commands (each decided under its lock,
  // appended outside it), and the store's group commit shares one commit
  // among the appends that arrive together.
  std::atomic<int> next{0}, done{0};
  std::atomic<bool> stop{false};
  std::mutex mu;
  Status failed;
  SimReport total;
  auto work = [&](bool reports_progress) {
    SimReport mine;
    while (!stop.load()) {
      const int i = next.fetch_add(1);
      if (i >= options.subjects) break;
      Simulator sim(ctx, first + i, &mine);
      Status st = sim.Run();
      if (!st.ok()) {
        std::lock_guard lock(mu);
        if (failed.ok()) failed = st.WithContext("subject " + sim.subject());
        stop = true;
        break;
      }
      const int now_done = done.fetch_add(1) + 1;
      // The caller hears of progress on its own thread only.
      if (reports_progress && progress) progress(now_done, options.subjects);
    }
    std::lock_guard lock(mu);
    AddTo(total, mine);
  };
  std::vector<std::thread> threads;
  for (int t = 1; t < std::min(options.threads, options.subjects); ++t) threads.emplace_back(work, false);
  work(true);
  for (auto& t : threads) t.join();
  if (!failed.ok()) return failed;
  if (progress) progress(options.subjects, options.subjects);
  return total;
}

}  // namespace trialcore::capture
