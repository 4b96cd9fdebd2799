// From a serious adverse event saved on the CRF to the case in the safety
// inbox with its reporting clock: the client of bench/sae_inbox_bench.sh
// (issue 16's target: p99 <= 1 s).
//
// COUNT times, one every INTERVAL ms, the coordinator saves a new row of the
// AE log marked serious (PATCH of the form with `rows`, a hospitalisation, a
// term of its own) for the next of SUBJECTS in turn, through the server on
// --save-port. As the request is sent, a second thread starts asking the
// server on --read-port, as the safety physician, for the case the save
// opens (GET .../safety/cases/{subject}-SAE{n}, n the subject's case count
// before the save plus one) again and again, POLL_MS apart, until it answers
// 200 with a non-empty `reports` clock. The latency is the time from the
// save sent to the end of that answer; a case not seen within TIMEOUT_MS
// counts as never appeared. The save's own answer must name the same case.
// Prints one line of key=value figures.
//
//   sae_inbox_latency --save-port A --read-port B --study S --subjects 701-1001,701-1002
//                     --coord-cookie 'tc_session=...' --coord-csrf T --safety-cookie 'tc_session=...'
//                     [--count 200] [--interval-ms 200] [--poll-ms 1] [--timeout-ms 10000]
//                     [--onset YYYY-MM-DD, default today in UTC]
#include <atomic>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "bench_http.h"
#include "core/json.h"

using trialcore::ParseJson;
using trialcore::Value;
using trialcore::bench::Percentile;
using trialcore::bench::Request;

namespace {

using Clock = std::chrono::steady_clock;

double Ms(Clock::time_point a, Clock::time_point b) { return std::chrono::duration<double, std::milli>(b - a).count(); }

struct Args {
  int save_port = 0, read_port = 0;
  std::string study, coord_cookie, coord_csrf, safety_cookie, onset;
  std::vector<std::string> subjects;
  int count = 200, interval_ms = 200, poll_ms = 1, timeout_ms = 10000;
};

std::string Get(const std::string& path, const std::string& cookie, const std::string& role) {
  return "GET " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\nCookie: " + cookie +
         "\r\nX-Trialcore-Role: " + role + "\r\n\r\n";
}

// The JSON body of an answer read whole (Connection: close); null when it is none.
Value Body(const std::string& answer) {
  size_t at = answer.find("\r\n\r\n");
  if (at == std::string::npos) return Value();
  auto v = ParseJson(std::string_view(answer).substr(at + 4));
  return v.ok() ? std::move(*v) : Value();
}

// Whether a case as the inbox answers it carries its reporting clock.
bool HasClock(const Value& c) {
  const Value* reports = c.Find("reports");
  return reports != nullptr && reports->kind() == Value::Kind::kArray && !reports->as_array().empty() &&
         c.Find("days_left") != nullptr;
}

std::string Today() {
  std::time_t t = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[16];
  std::strftime(buf, sizeof buf, "%Y-%m-%d", &tm);
  return buf;
}

}  // namespace

int main(int argc, char** argv) {
  Args a;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string k = argv[i], v = argv[i + 1];
    if (k == "--save-port") {
      a.save_port = std::stoi(v);
    } else if (k == "--read-port") {
      a.read_port = std::stoi(v);
    } else if (k == "--study") {
      a.study = v;
    } else if (k == "--subjects") {
      for (size_t from = 0; from <= v.size();) {
        size_t comma = v.find(',', from);
        if (comma == std::string::npos) comma = v.size();
        if (comma > from) a.subjects.push_back(v.substr(from, comma - from));
        from = comma + 1;
      }
    } else if (k == "--coord-cookie") {
      a.coord_cookie = v;
    } else if (k == "--coord-csrf") {
      a.coord_csrf = v;
    } else if (k == "--safety-cookie") {
      a.safety_cookie = v;
    } else if (k == "--count") {
      a.count = std::stoi(v);
    } else if (k == "--interval-ms") {
      a.interval_ms = std::stoi(v);
    } else if (k == "--poll-ms") {
      a.poll_ms = std::stoi(v);
    } else if (k == "--timeout-ms") {
      a.timeout_ms = std::stoi(v);
    } else if (k == "--onset") {
      a.onset = v;
    } else {
      std::fprintf(stderr, "unknown option %s\n", k.c_str());
      return 2;
    }
  }
  if (a.save_port == 0 || a.read_port == 0 || a.study.empty() || a.subjects.empty() || a.coord_cookie.empty() ||
      a.safety_cookie.empty()) {
    std::fprintf(stderr,
                 "usage: sae_inbox_latency --save-port A --read-port B --study S --subjects X,Y --coord-cookie C "
                 "--coord-csrf T --safety-cookie C2 [--count N] [--interval-ms I]\n");
    return 2;
  }
  if (a.onset.empty()) a.onset = Today();
  const std::string base = "/api/v1/studies/" + a.study;

  // Each subject's cases so far, as the safety physician sees them: the next
  // case a save opens is the count plus one.
  std::map<std::string, int> cases;
  for (const std::string& s : a.subjects) {
    std::string answer;
    int status =
        Request(a.read_port, Get(base + "/safety/cases?subject=" + s, a.safety_cookie, "safety_physician"), &answer);
    const Value* total = Body(answer).Find("total");
    if (status != 200 || total == nullptr) {
      std::fprintf(stderr, "the safety cases of %s: HTTP %d\n%s\n", s.c_str(), status, answer.c_str());
      return 1;
    }
    cases[s] = static_cast<int>(total->as_int());
  }

  std::vector<double> latencies, save_ms;
  size_t saves_failed = 0, wrong_case = 0, never = 0, polls = 0, polls_before = 0, poll_errors = 0;
  std::string first_error;
  for (int k = 0; k < a.count; ++k) {
    const std::string& subject = a.subjects[static_cast<size_t>(k) % a.subjects.size()];
    const std::string case_id = subject + "-SAE" + std::to_string(cases[subject] + 1);
    std::string body = R"({"rows":[{"group":"AE","items":{"AETERM":"BENCH SAE )" + std::to_string(k + 1) +
                       R"(","AESTDTC":")" + a.onset +
                       R"(","AEONGO":true,"AESEV":"SEVERE","AESER":"Y","AESHOSP":true,"AEREL":"POSSIBLE",)"
                       R"("AEACN":"DRUG INTERRUPTED","AEOUT":"RECOVERING/RESOLVING"}}]})";
    std::string save =
        "PATCH " + base + "/subjects/" + subject +
        "/visits/LOGS/forms/AE HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\nCookie: " + a.coord_cookie +
        "\r\nX-CSRF-Token: " + a.coord_csrf +
        "\r\nX-Trialcore-Role: coordinator\r\nContent-Type: application/json\r\nContent-Length: " +
        std::to_string(body.size()) + "\r\n\r\n" + body;
    const std::string poll = Get(base + "/safety/cases/" + case_id, a.safety_cookie, "safety_physician");

    const auto sent = Clock::now();
    std::atomic<bool> give_up{false};
    double seen_ms = -1;
    size_t my_polls = 0, my_before = 0, my_errors = 0;
    // The inbox reader: from the moment the save is sent.
    std::thread reader([&] {
      const auto deadline = sent + std::chrono::milliseconds(a.timeout_ms);
      while (!give_up && Clock::now() < deadline) {
        std::string answer;
        int status = Request(a.read_port, poll, &answer);
        auto now = Clock::now();
        ++my_polls;
        if (status == 200 && HasClock(Body(answer))) {
          seen_ms = Ms(sent, now);
          return;
        }
        if (status == 200 || status == 404) {
          ++my_before;  // not there yet (404), or there without its clock
        } else {
          ++my_errors;
        }
        if (a.poll_ms > 0) std::this_thread::sleep_for(std::chrono::milliseconds(a.poll_ms));
      }
    });
    std::string answer;
    int status = Request(a.save_port, save, &answer);
    save_ms.push_back(Ms(sent, Clock::now()));
    if (status != 200) {
      ++saves_failed;
      give_up = true;
      if (first_error.empty()) first_error = "save of " + subject + ": HTTP " + std::to_string(status) + "\n" + answer;
    } else {
      ++cases[subject];
      // The save's answer names the case it opened ({"result": {"safety_cases": [{"case"}]}}).
      bool named = false;
      const Value reply = Body(answer);
      const Value* result = reply.Find("result");
      if (const Value* list = result ? result->Find("safety_cases") : nullptr;
          list && list->kind() == Value::Kind::kArray) {
        for (const Value& c : list->as_array()) {
          const Value* id = c.Find("case");
          named |= id != nullptr && id->kind() == Value::Kind::kString && id->as_string() == case_id;
        }
      }
      if (!named) {
        ++wrong_case;
        if (first_error.empty()) first_error = "the save did not name case " + case_id + ":\n" + answer;
      }
    }
    reader.join();
    polls += my_polls;
    polls_before += my_before;
    poll_errors += my_errors;
    if (seen_ms >= 0) {
      latencies.push_back(seen_ms);
    } else if (status == 200) {
      ++never;
    }
    std::this_thread::sleep_until(sent + std::chrono::milliseconds(a.interval_ms));
  }
  const int saved = a.count - static_cast<int>(saves_failed);
  std::printf(
      "saes=%d saved=%d seen=%zu never=%zu wrong_case=%zu p50_ms=%.1f p90_ms=%.1f p99_ms=%.1f max_ms=%.1f "
      "save_p50_ms=%.1f save_p99_ms=%.1f polls=%zu polls_before_seen=%zu poll_errors=%zu\n",
      a.count, saved, latencies.size(), never, wrong_case, Percentile(latencies, 0.5), Percentile(latencies, 0.9),
      Percentile(latencies, 0.99), latencies.empty() ? 0 : *std::max_element(latencies.begin(), latencies.end()),
      Percentile(save_ms, 0.5), Percentile(save_ms, 0.99), polls, polls_before, poll_errors);
  if (!first_error.empty()) std::fprintf(stderr, "first error: %s\n", first_error.c_str());
  return saves_failed == 0 && never == 0 ? 0 : 1;
}
