#include "capture/sim.h"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <random>
#include <thread>
#include <vector>

#include "capture/reads.h"
#include "core/event.h"
#include "core/simulated_clock_env.h"
#include "rules/rules.h"

namespace trialcore::capture {

namespace {

Value Dec1(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f", v);
  return Value(Decimal::Parse(buf).value());
}

constexpr int64_t kMinute = 60'000'000;
constexpr int64_t kDay = rules::kMicrosPerDay;

// The actors of a simulation (each subject's life, the caller's steps) run on
// threads of their own, but at most `slots` at a time and in the order of
// their simulated moments: an actor waits until the timeline reaches its
// next one. With one slot the log gets every command in the order of its
// simulated time, which the store requires of the times it records.
class Timeline {
 public:
  // Ties of time go to the lower actor number, so that one slot gives one order.
  struct Key {
    int64_t time_us = 0;
    int64_t actor = 0;
    auto operator<=>(const Key&) const = default;
  };

  explicit Timeline(int slots) : slots_(slots) {}
  ~Timeline() { JoinFinished(/*all=*/true); }

  // Starts body on a thread of its own once the timeline reaches key; the
  // thread exists only from then until body returns.
  void Spawn(Key key, std::function<void()> body) {
    std::lock_guard lock(mu_);
    auto w = std::make_shared<Waiter>();
    w->body = std::move(body);
    waiting_.emplace(key, std::move(w));
  }

  // From a running actor: lets the others run until the timeline reaches
  // key. False when the simulation stopped meanwhile.
  bool WaitUntil(Key key) {
    std::unique_lock lock(mu_);
    if (stop_) return false;
    auto w = std::make_shared<Waiter>();
    waiting_.emplace(key, w);
    --running_;
    DispatchLocked();
    w->cv.wait(lock, [&] { return w->granted; });
    return !stop_;
  }

  // Grants every waiting actor (their waits return false) and starts no more.
  void Stop() {
    std::lock_guard lock(mu_);
    stop_ = true;
    for (auto& [key, w] : waiting_) {
      if (w->body) continue;
      ++running_;
      w->granted = true;
      w->cv.notify_one();
    }
    waiting_.clear();  // actors not yet started never start
    idle_.notify_all();
  }

  // Runs actors until none is left, calling tick on this thread whenever
  // one finishes.
  void Run(const std::function<void()>& tick) {
    {
      std::lock_guard lock(mu_);
      DispatchLocked();
    }
    for (;;) {
      bool done = false;
      {
        std::unique_lock lock(mu_);
        idle_.wait(lock, [&] { return !finished_.empty() || (running_ == 0 && waiting_.empty()); });
        done = running_ == 0 && waiting_.empty();
      }
      JoinFinished(/*all=*/false);
      if (tick) tick();
      if (done) break;
    }
    JoinFinished(/*all=*/true);
  }

 private:
  struct Waiter {
    std::function<void()> body;  // set until an actor not yet started starts
    bool granted = false;
    std::condition_variable cv;
  };

  void DispatchLocked() {
    while (!stop_ && running_ < slots_ && !waiting_.empty()) {
      auto it = waiting_.begin();
      std::shared_ptr<Waiter> w = std::move(it->second);
      waiting_.erase(it);
      ++running_;
      if (w->body) {
        std::thread t([this, body = std::move(w->body)] {
          body();
          std::lock_guard lock(mu_);
          --running_;
          finished_.push_back(std::this_thread::get_id());
          DispatchLocked();
          idle_.notify_all();
        });
        threads_.emplace(t.get_id(), std::move(t));
      } else {
        w->granted = true;
        w->cv.notify_one();
      }
    }
    if (running_ == 0 && waiting_.empty()) idle_.notify_all();
  }

  // Joins the threads of finished actors (a finished thread keeps its stack
  // until joined), or every thread.
  void JoinFinished(bool all) {
    std::vector<std::thread> joinable;
    {
      std::lock_guard lock(mu_);
      if (all) {
        for (auto& [id, t] : threads_) joinable.push_back(std::move(t));
        threads_.clear();
      } else {
        for (const auto& id : finished_) {
          auto it = threads_.find(id);
          if (it == threads_.end()) continue;
          joinable.push_back(std::move(it->second));
          threads_.erase(it);
        }
      }
      finished_.clear();
    }
    for (auto& t : joinable) t.join();
  }

  const int slots_;
  std::mutex mu_;
  std::condition_variable idle_;
  std::multimap<Key, std::shared_ptr<Waiter>> waiting_;
  std::map<std::thread::id, std::thread> threads_;
  std::vector<std::thread::id> finished_;
  int running_ = 0;
  bool stop_ = false;
};

// What every actor of a simulation shares: the study, its sites, the clock
// and the timeline.
struct SimContext {
  Capture* capture = nullptr;
  SimOptions options;
  std::vector<std::string> sites;
  int64_t now = 0, today = 0, start = 0;
  Timeline* timeline = nullptr;
};

// An actor's place on the timeline: its own simulated time, which only moves
// forward and never past the present, set on the clock for the commands it
// runs.
class ActorClock {
 public:
  ActorClock(const SimContext& ctx, int64_t actor) : ctx_(ctx), actor_(actor) {}

  // Waits until the timeline reaches t (or this actor's time, if later). An
  // error when t lies after the present (past_now() then says so) or the
  // simulation stopped: the actor passes it on and ends.
  Status At(int64_t t) {
    t = std::max(t, time_us_);
    if (t > ctx_.now) {
      past_now_ = true;
      return FailedPrecondition("the simulated moment " + FormatTimeMicros(t) + " lies after the present");
    }
    if (!ctx_.timeline->WaitUntil({t, actor_})) return Aborted("the simulation stopped");
    time_us_ = t;
    if (ctx_.options.clock != nullptr) ctx_.options.clock->SetThreadTime(t);
    return Status::Ok();
  }
  int64_t time_us() const { return time_us_; }
  bool past_now() const { return past_now_; }
  void clear_past_now() { past_now_ = false; }

 private:
  const SimContext& ctx_;
  const int64_t actor_;
  int64_t time_us_ = 0;
  bool past_now_ = false;
};

// One subject's simulation, with its own random stream seeded from the run's
// seed and the subject's index: the subject's data do not depend on which
// other subjects ran before it or beside it. What the subject's site and
// monitor do later (answer a query, verify, sign) waits on the subject's
// agenda and runs, in time order, between the visits.
class Simulator {
 public:
  Simulator(const SimContext& ctx, int index, SimReport* report)
      : c_(*ctx.capture),
        o_(ctx.options),
        rng_(SubjectSeed(ctx.options.seed, index)),
        clock_(ctx, index),
        now_(ctx.now),
        today_(ctx.today),
        start_(ctx.start),
        sites_(ctx.sites),
        index_(index),
        report_(*report) {}

  Status Run() {
    Status st = Subject(index_);
    // The subject's next step lies after the present: what it has done so
    // far stands, and so does what its agenda holds up to now.
    if (!st.ok() && clock_.past_now()) st = Status::Ok();
    clock_.clear_past_now();
    if (st.ok()) st = Drain();
    if (!st.ok() && clock_.past_now()) st = Status::Ok();
    if (o_.clock != nullptr) o_.clock->ClearThreadTime();
    return st;
  }
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

  // A moment in a site's working day: from..to hours, to the minute.
  int64_t WorkingTime(int64_t day, int from_hour, int to_hour) {
    return day * kDay + int64_t{Int(from_hour * 60, to_hour * 60)} * kMinute;
  }

  // Moves the subject's time to t, doing first what its agenda holds before then.
  Status At(int64_t t) {
    while (!agenda_.empty() && agenda_.begin()->first <= t) {
      auto task = agenda_.begin();
      const int64_t when = task->first;
      std::function<Status()> fn = std::move(task->second);
      agenda_.erase(task);
      TC_RETURN_IF_ERROR(clock_.At(when));
      TC_RETURN_IF_ERROR(fn());
    }
    return clock_.At(t);
  }

  // What the agenda holds up to the present, once the subject's visits are done.
  Status Drain() {
    while (!agenda_.empty() && agenda_.begin()->first <= now_) {
      TC_RETURN_IF_ERROR(At(agenda_.begin()->first));
    }
    return Status::Ok();
  }

  void Later(int64_t t, std::function<Status()> fn) { agenda_.emplace(t, std::move(fn)); }

  // A time of day on a simulated day, never later than the subject's time:
  // a sample entered at 09:10 was not taken at 09:30. Whole seconds, as a
  // site would type it.
  std::string DateTime(int64_t day, int hour, int minute) const {
    constexpr int64_t kSecond = 1'000'000;
    const int64_t entered = o_.clock != nullptr ? clock_.time_us() : now_;
    int64_t at = std::min(day * kDay + (hour * 60 + minute) * 60 * kSecond, entered / kSecond * kSecond);
    std::string text = FormatTimeMicros(at);  // 2026-11-23T09:30:00.000000Z
    return text.substr(0, 19) + "Z";
  }

  // Runs a command a few minutes after the subject's previous one.
  Result<Outcome> Exec(Value::Object cmd, const Actor& actor) {
    TC_RETURN_IF_ERROR(clock_.At(clock_.time_us() + int64_t{Int(1, 4)} * kMinute));
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
  // wrong. A hard check refuses it and the site types it again; a query the
  // checks open is answered and the form saved again as it should have been,
  // with a reason, one to seven days later. `left_out` is not typed with the
  // wrong value (an item the wrong value would hide), so that whether the
  // typo is refused does not depend on the right value (the dose, the arm).
  Status SaveWithErrors(const std::string& visit, const std::string& form, Value::Object items, const Actor& who,
                        const std::string& wrong_item = "", Value wrong_value = Value(),
                        const std::string& left_out = "") {
    if (!wrong_item.empty() && Chance(o_.error_rate)) {
      Value::Object typo = items;
      typo[wrong_item] = wrong_value;
      if (!left_out.empty()) typo.erase(left_out);
      auto r = Exec(Save(visit, form, typo), who);
      if (!r.ok()) {
        if (r.status().code() != StatusCode::kFailedPrecondition || clock_.past_now()) return r.status();
        ++report_.refused;  // a hard check refused it; the site types it again
      } else {
        std::vector<int64_t> queries;
        for (const Event& e : r->events) {
          if (e.type == "query.opened") queries.push_back(e.payload.Find("query")->as_int());
        }
        auto fixed = Save(visit, form, items);
        fixed["reason"] = "Transcription error, corrected from source";
        const int64_t answered = WorkingTime(clock_.time_us() / kDay + Int(1, 7), 9, 17);
        Later(answered, [this, queries, fixed, who]() -> Status {
          TC_ASSIGN_OR_RETURN(SubjectState now, c_.Subject(subject_));
          for (int64_t q : queries) {
            // A query a later save closed meanwhile (its check now passes) has nothing to answer.
            auto it = now.queries.find(static_cast<int>(q));
            if (it == now.queries.end() || it->second.state != QueryState::kOpen) continue;
            TC_RETURN_IF_ERROR(Must(Value::Object{{"op", "query.answer"},
                                                  {"subject", subject_},
                                                  {"query", q},
                                                  {"message", "Transcription error; corrected from source"}},
                                    who));
          }
          return Must(fixed, who);
        });
        return Status::Ok();
      }
    }
    return Must(Save(visit, form, items), who);
  }

  // The monitor verifies a visit's forms against the source two to six
  // weeks after they were entered, and the investigator signs the visit
  // days to weeks after that.
  void MonitorAndSign(const std::string& visit, std::vector<std::string> forms, const std::string& site) {
    const int64_t entered_day = clock_.time_us() / kDay;
    const int64_t verified = WorkingTime(entered_day + Int(14, 42), 9, 17);
    const int64_t signed_at = WorkingTime(verified / kDay + Int(2, 21), 8, 18);
    Later(verified, [this, visit, forms]() -> Status {
      const Actor cra{"cra.1", "monitor"};
      for (const std::string& form : forms) {
        TC_RETURN_IF_ERROR(
            Must(Value::Object{{"op", "sdv.verify"}, {"subject", subject_}, {"visit", visit}, {"form", form}}, cra));
      }
      return Status::Ok();
    });
    Later(signed_at, [this, visit, site]() -> Status {
      return Must(Value::Object{{"op", "sign"},
                                {"subject", subject_},
                                {"visit", visit},
                                {"meaning", "approval"},
                                {"name", "Dr. Inv " + site}},
                  Actor{"inv." + site, "investigator"});
    });
  }

  Status Subject(int index) {
    const std::string site = sites_[static_cast<size_t>(index) % sites_.size()];
    subject_ = site + "-" + std::to_string(1001 + index);
    Actor coord{"coord." + site, "coordinator"};
    Actor inv{"inv." + site, "investigator"};
    Actor pharmacist{"pharm." + site, "unblinded_pharmacist"};
    int64_t sday = start_ + static_cast<int64_t>(index) * o_.enrol_every_days;
    if (sday > today_) return Status::Ok();
    // The screening visit, entered as it happens.
    TC_RETURN_IF_ERROR(At(WorkingTime(sday, 9, 12)));
    ++report_.subjects;
    TC_RETURN_IF_ERROR(Must(Value::Object{{"op", "subject.screen"}, {"subject", subject_}, {"site", site}}, coord));
    TC_RETURN_IF_ERROR(Must(Save("SCREENING1", "SV", {{"SVSTDTC", Date(sday)}}), coord));
    TC_RETURN_IF_ERROR(
        Must(Save("SCREENING1", "IC", {{"ICDTC", Date(sday)}, {"ICVER", "v2.1"}, {"ICCGVR", "Y"}}), coord));
    bool female = Chance(0.55);
    int age = std::clamp(static_cast<int>(Normal(75, 8)), 51, 89);
    int64_t birth = sday - age * 365 - Int(30, 330);
    // Initials from the subject's number, not the random stream, so that the
    // rest of a simulation stays as it was before the study had them.
    const std::string initials{static_cast<char>('A' + (index * 7) % 26),
                               static_cast<char>('A' + (index * 11 + 3) % 26),
                               static_cast<char>('A' + (index * 5 + 17) % 26)};
    Value::Object dm{{"INITIALS", initials},
                     {"BRTHDTC", Date(birth)},
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
    MonitorAndSign("SCREENING1", {"DM", "IE", "VS"}, site);

    int64_t rand_day = sday + 7;
    if (rand_day > today_) return Status::Ok();
    TC_RETURN_IF_ERROR(At(WorkingTime(rand_day, 9, 12)));
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
    MonitorAndSign("BASELINE", {"VS", "COG"}, site);

    auto study = c_.study();
    bool withdraws = Chance(0.08);
    for (const study::Visit& v : study->visits) {
      if (!v.day || *v.day <= 1) continue;
      int64_t planned = rand_day + *v.day - 1;
      int64_t date = planned + Int(-v.window_before, v.window_after);
      if (Chance(0.04)) date = planned + v.window_after + Int(1, 4);  // late
      if (date > today_) return Status::Ok();
      // Most sites enter a visit the day it happens, some days later.
      const int64_t entered = date + (Chance(0.3) ? Int(1, 5) : 0);
      TC_RETURN_IF_ERROR(At(WorkingTime(entered, 9, 16)));
      if (withdraws && *v.day > 60) {
        return Must(
            Value::Object{
                {"op", "subject.withdraw"}, {"subject", subject_}, {"reason", "withdrawal by subject: moved away"}},
            coord);
      }
      TC_RETURN_IF_ERROR(Must(Save(v.id, "SV", {{"SVSTDTC", Date(date)}}), coord));
      auto has = [&](const char* form) { return std::find(v.forms.begin(), v.forms.end(), form) != v.forms.end(); };
      std::vector<std::string> verified;
      if (has("VS")) {
        TC_RETURN_IF_ERROR(Vitals(v.id, weight + Normal(0, 1.2), nullptr, coord));
        verified.push_back("VS");
      }
      if (has("LB")) {
        TC_RETURN_IF_ERROR(Labs(v.id, date, coord));
        verified.push_back("LB");
      }
      if (has("EX")) TC_RETURN_IF_ERROR(Exposure(v.id, date, dose, pharmacist));
      if (has("COG")) {
        adas = std::clamp(adas + Int(-3, 4), 0, 70);
        TC_RETURN_IF_ERROR(Must(
            Save(v.id, "COG", {{"ADASDTC", Date(date)}, {"ADAS", int64_t{adas}}, {"CIBIC", int64_t{Int(3, 5)}}}), inv));
        verified.push_back("COG");
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
      if (!verified.empty()) MonitorAndSign(v.id, verified, site);
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
    return SaveWithErrors(visit, "EX", ex, who, "EXDOSE", Value(int64_t{dose == 0 ? 50 : dose - 4}), "EXADJ");
  }

  Capture& c_;
  const SimOptions& o_;
  std::mt19937_64 rng_;
  ActorClock clock_;
  // What the subject's site, monitor and investigator do later, by time
  // (ties in the order they were planned).
  std::multimap<int64_t, std::function<Status()>> agenda_;
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

int64_t SimulationStartDay(const SimOptions& options, int64_t today) {
  // By default the study started as long ago as its enrolment takes (at
  // least 300 days, so early subjects are done): the last subject screens
  // one enrolment interval or more before today.
  return options.start_day != 0 ? options.start_day
                                : today - std::max<int64_t>(300, int64_t{options.subjects} * options.enrol_every_days);
}

Result<SimReport> Simulate(Capture& capture, const SimOptions& options,
                           const std::function<void(int done, int total)>& progress) {
  if (options.threads < 1) return InvalidArgument("simulation threads must be 1 or more");
  auto study = capture.study();
  if (study == nullptr) return FailedPrecondition("publish the study before simulating it");
  for (const SimStep& step : options.steps) {
    if (!step.run) return InvalidArgument("a simulation step has nothing to run");
  }
  SimContext ctx;
  ctx.capture = &capture;
  ctx.options = options;
  for (const auto& s : study->sites) {
    if (options.sites.empty() || std::find(options.sites.begin(), options.sites.end(), s.id) != options.sites.end()) {
      ctx.sites.push_back(s.id);
    }
  }
  if (!options.sites.empty() && ctx.sites.size() != options.sites.size()) {
    return InvalidArgument("a simulation site is not a site of study " + study->id);
  }
  if (ctx.sites.empty()) ctx.sites.push_back("001");
  // The present: the base clock, whatever time the calling thread reads.
  ctx.now = options.clock != nullptr ? options.clock->BaseNowMicros() : capture.NowMicros();
  ctx.today = ctx.now / rules::kMicrosPerDay;
  ctx.start = SimulationStartDay(options, ctx.today);
  TC_ASSIGN_OR_RETURN(size_t existing, CountSubjects(capture.store(), capture.study_id()));
  const int first = static_cast<int>(existing);

  // Every subject is an actor on one timeline, as are the caller's steps;
  // `threads` of them run commands at once. Capture takes concurrent
  // commands (each decided under its lock, appended outside it), and the
  // store's group commit shares one commit among the appends that arrive
  // together.
  Timeline timeline(std::min(options.threads, std::max(options.subjects, 1)));
  ctx.timeline = &timeline;
  std::atomic<int> done{0};
  std::mutex mu;
  Status failed;
  SimReport total;
  auto fail = [&](const Status& st) {
    {
      std::lock_guard lock(mu);
      if (failed.ok()) failed = st;
    }
    timeline.Stop();
  };
  for (int i = 0; i < options.subjects; ++i) {
    const int index = first + i;
    const int64_t sday = ctx.start + static_cast<int64_t>(index) * options.enrol_every_days;
    timeline.Spawn({sday * rules::kMicrosPerDay, index}, [&, index] {
      SimReport mine;
      Simulator sim(ctx, index, &mine);
      Status st = sim.Run();
      {
        std::lock_guard lock(mu);
        AddTo(total, mine);
      }
      if (!st.ok()) fail(st.WithContext("subject " + sim.subject()));
      done.fetch_add(1);
    });
  }
  for (size_t k = 0; k < options.steps.size(); ++k) {
    const int64_t actor = -1 - static_cast<int64_t>(k);
    timeline.Spawn({options.steps[k].start_us, actor}, [&, k, actor] {
      ActorClock clock(ctx, actor);
      Status st = options.steps[k].run([&](int64_t t) { return clock.At(t); });
      if (options.clock != nullptr) options.clock->ClearThreadTime();
      if (!st.ok() && !clock.past_now()) fail(st.WithContext("simulation step " + std::to_string(k + 1)));
    });
  }
  int reported = -1;
  timeline.Run([&] {
    // The caller hears of progress on its own thread only.
    const int now_done = done.load();
    if (progress && now_done != reported) progress(now_done, options.subjects);
    reported = now_done;
  });
  if (!failed.ok()) return failed;
  if (progress) progress(options.subjects, options.subjects);
  return total;
}

}  // namespace trialcore::capture
