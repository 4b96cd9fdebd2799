// A prior is accepted only if every score computed from it is defined: five
// finite numbers, gamma parameters above zero, mixture weight inside (0, 1).
#include "signal/prior.h"

#include <array>
#include <charconv>
#include <cmath>
#include <fstream>
#include <sstream>

#include "core/json.h"

namespace trialcore::signal {
namespace {

constexpr std::array<const char*, 5> kNames = {"alpha1", "beta1", "alpha2", "beta2", "P"};

std::string Trim(std::string_view s) {
  size_t b = 0, e = s.size();
  while (b < e && (s[b] == ' ' || s[b] == '\t' || s[b] == '\r')) ++b;
  while (e > b && (s[e - 1] == ' ' || s[e - 1] == '\t' || s[e - 1] == '\r')) --e;
  return std::string(s.substr(b, e - b));
}

// "where: " before a message, or nothing when where is empty (the option
// parser adds the option's name itself).
std::string At(std::string_view where) { return where.empty() ? "" : std::string(where) + ": "; }

Result<double> Number(std::string_view text, const char* name, std::string_view where) {
  std::string t = Trim(text);
  double v = 0;
  const char* end = t.data() + t.size();
  auto [ptr, ec] = std::from_chars(t.data(), end, v);
  if (t.empty() || ec != std::errc() || ptr != end || !std::isfinite(v)) {
    return InvalidArgument(At(where) + name + " \"" + t + "\" is not a number");
  }
  return v;
}

Prior FromArray(const std::array<double, 5>& v) { return Prior{v[0], v[1], v[2], v[3], v[4]}; }

}  // namespace

Status CheckPrior(const Prior& prior, std::string_view where) {
  const std::array<double, 5> v = {prior.alpha1, prior.beta1, prior.alpha2, prior.beta2, prior.p};
  for (int i = 0; i < 4; ++i) {
    if (!(v[i] > 0) || !std::isfinite(v[i])) {
      std::ostringstream s;
      s << At(where) << kNames[i] << " must be a positive number, not " << v[i];
      return InvalidArgument(s.str());
    }
  }
  if (!(prior.p > 0 && prior.p < 1)) {
    std::ostringstream s;
    s << At(where) << "P must lie strictly between 0 and 1, not " << prior.p;
    return InvalidArgument(s.str());
  }
  return Status::Ok();
}

Result<Prior> ParsePrior(std::string_view text, std::string_view where) {
  std::array<double, 5> v{};
  size_t count = 0, start = 0;
  while (true) {
    size_t comma = text.find(',', start);
    std::string_view part =
        text.substr(start, comma == std::string_view::npos ? std::string_view::npos : comma - start);
    if (count < v.size()) {
      TC_ASSIGN_OR_RETURN(v[count], Number(part, kNames[count], where));
    }
    ++count;
    if (comma == std::string_view::npos) break;
    start = comma + 1;
  }
  if (count != v.size()) {
    return InvalidArgument(At(where) + "expected five numbers alpha1,beta1,alpha2,beta2,P; found " +
                           std::to_string(count));
  }
  Prior prior = FromArray(v);
  TC_RETURN_IF_ERROR(CheckPrior(prior, where));
  return prior;
}

Result<Prior> ReadPriorFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return NotFound("--prior-from: cannot open " + path);
  std::stringstream ss;
  ss << in.rdbuf();
  if (in.bad()) return InvalidArgument("--prior-from: cannot read " + path);
  const std::string text = ss.str();
  size_t first = text.find_first_not_of(" \t\r\n");
  if (first == std::string::npos) return InvalidArgument(path + ": the file is empty (expected a prior)");

  if (text[first] == '{') {  // the JSON `--out` writes
    auto doc = ParseJson(text);
    if (!doc.ok()) return InvalidArgument(path + ": " + doc.status().message());
    const Value* prior = doc->Find("prior");
    if (prior == nullptr || !prior->is_object()) return InvalidArgument(path + ": no \"prior\" object");
    std::array<double, 5> v{};
    for (size_t i = 0; i < v.size(); ++i) {
      const std::string key = i == 4 ? "p" : kNames[i];
      const Value* f = prior->Find(key);
      std::string where = path + ": prior." + key;
      if (f == nullptr) return InvalidArgument(path + ": the prior has no " + key);
      std::string number;
      if (f->kind() == Value::Kind::kDecimal)
        number = f->as_decimal().text();
      else if (f->kind() == Value::Kind::kInt)
        number = std::to_string(f->as_int());
      else
        return InvalidArgument(where + " is not a number");
      TC_ASSIGN_OR_RETURN(v[i], Number(number, kNames[i], path));
    }
    Prior p = FromArray(v);
    TC_RETURN_IF_ERROR(CheckPrior(p, path));
    return p;
  }

  // The CSV `--out` writes ("# prior: alpha1=... p=... neg_log_likelihood=..."
  // on line 1), or the five numbers alone.
  std::istringstream lines(text);
  std::string line;
  for (int number = 1; std::getline(lines, line); ++number) {
    const std::string where = path + ":" + std::to_string(number);
    std::string t = Trim(line);
    if (t.empty()) continue;
    const std::string tag = "# prior:";
    if (t.rfind(tag, 0) != 0) {
      if (t[0] == '#') continue;
      return ParsePrior(t, where);
    }
    std::array<double, 5> v{};
    std::array<bool, 5> seen{};
    std::istringstream fields(t.substr(tag.size()));
    for (std::string field; fields >> field;) {
      size_t eq = field.find('=');
      if (eq == std::string::npos) return InvalidArgument(where + ": \"" + field + "\" is not name=value");
      std::string name = field.substr(0, eq);
      for (size_t i = 0; i < v.size(); ++i) {
        if (name == (i == 4 ? "p" : kNames[i])) {
          TC_ASSIGN_OR_RETURN(v[i], Number(field.substr(eq + 1), kNames[i], where));
          seen[i] = true;
        }
      }
    }
    for (size_t i = 0; i < v.size(); ++i) {
      if (!seen[i]) return InvalidArgument(where + ": the prior line has no " + (i == 4 ? "p" : kNames[i]));
    }
    Prior p = FromArray(v);
    TC_RETURN_IF_ERROR(CheckPrior(p, where));
    return p;
  }
  return InvalidArgument(path + ": no prior found (expected a \"# prior:\" line or alpha1,beta1,alpha2,beta2,P)");
}

}  // namespace trialcore::signal
