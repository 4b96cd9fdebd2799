#include "safety/e2b_reference.h"

#include <cstdlib>
#include <fstream>
#include <sstream>

namespace trialcore::safety {
namespace {

Result<std::string> ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return NotFound("cannot open " + path + " (an E2B(R3) reference file: FDA's published list)");
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

}  // namespace

Result<std::shared_ptr<const E2bReference>> E2bReference::Load(const std::string& dir) {
  if (dir.empty()) {
    return NotFound(
        "no E2B(R3) reference directory: name one (--e2b-dir DIR, or TRIALCORE_E2B_DIR) holding schemas/ and FDA's "
        "fda-icsr-data-elements.csv and fda-rejection-warning-rules.csv");
  }
  auto out = std::make_shared<E2bReference>();
  out->dir = dir;
  TC_ASSIGN_OR_RETURN(out->schemas, E2bSchemas::Load(dir + "/schemas"));
  TC_ASSIGN_OR_RETURN(std::string elements, ReadFile(dir + "/fda-icsr-data-elements.csv"));
  TC_ASSIGN_OR_RETURN(std::string rules, ReadFile(dir + "/fda-rejection-warning-rules.csv"));
  TC_ASSIGN_OR_RETURN(out->rules, E2bRules::Parse(elements, rules));
  return std::shared_ptr<const E2bReference>(std::move(out));
}

std::string DefaultE2bDir() {
  if (const char* env = std::getenv("TRIALCORE_E2B_DIR"); env != nullptr && *env != '\0') return env;
#ifdef TRIALCORE_DEFAULT_E2B_DIR
  return TRIALCORE_DEFAULT_E2B_DIR;
#else
  return "";
#endif
}

}  // namespace trialcore::safety
