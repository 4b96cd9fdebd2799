// trialcore study test: protocol scenarios, reported like a test runner.
#include <algorithm>
#include <filesystem>
#include <ostream>

#include "capture/scenario.h"
#include "cli/commands.h"
#include "cli/demo_study.h"
#include "core/event.h"

namespace trialcore::cli {

Status StudyTest(const StudyTestArgs& args, Context& ctx) {
  std::vector<study::StudyError> errors;
  auto s = args.study_file == "demo" ? study::LoadStudy(DemoStudyYaml(), kDemoStudyName, &errors)
                                     : study::LoadStudyFile(args.study_file, &errors);
  if (!s.ok()) {
    for (const auto& e : errors) ctx.err << e.ToString() << "\n";
    return Status(s.status().code(), "the study does not validate: " + s.status().message());
  }
  capture::ScenarioOptions options;
  if (args.now) {
    auto now = ParseTimeMicros(*args.now);
    if (!now.ok()) return Status(now.status().code(), "--now: " + now.status().message());
    options.start_micros = *now;
  }
  std::vector<std::string> files;
  for (const auto& f : args.features) {
    std::error_code ec;
    if (std::filesystem::is_directory(f, ec)) {
      for (const auto& e : std::filesystem::directory_iterator(f)) {
        if (e.path().extension() == ".feature") files.push_back(e.path().string());
      }
    } else {
      files.push_back(f);
    }
  }
  std::sort(files.begin(), files.end());
  if (files.empty()) return NotFound("no .feature files given");
  std::vector<capture::ScenarioResult> all;
  int passed = 0, failed = 0;
  for (const auto& file : files) {
    TC_ASSIGN_OR_RETURN(std::string text, ctx.env->ReadFileToString(file));
    TC_ASSIGN_OR_RETURN(auto results, capture::RunFeature(*s, file, text, options));
    ctx.out << file << ": " << (results.empty() ? "" : results[0].feature) << "\n";
    for (const auto& r : results) {
      if (r.passed()) {
        ++passed;
        ctx.out << "  PASS  " << r.name << "\n";
        continue;
      }
      ++failed;
      ctx.out << "  FAIL  " << r.name << " (" << file << ":" << r.line << ")\n";
      for (const auto& step : r.steps) {
        if (step.passed || step.skipped) continue;
        ctx.out << "        line " << step.line << ": " << step.text << "\n"
                << "          expected: " << step.expected << "\n"
                << "          actual:   " << step.actual << "\n";
      }
    }
    all.insert(all.end(), results.begin(), results.end());
  }
  ctx.out << passed << " passed, " << failed << " failed\n";
  if (args.junit) {
    TC_RETURN_IF_ERROR_CTX(ctx.env->WriteFileAtomically(*args.junit, capture::JUnitXml(all)), "writing " + *args.junit);
  }
  if (failed > 0)
    return FailedPrecondition(std::to_string(failed) + " scenario" + (failed == 1 ? "" : "s") + " failed");
  return Status::Ok();
}

}  // namespace trialcore::cli
