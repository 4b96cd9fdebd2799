#include "rules/rules.h"

#include <charconv>
#include <chrono>
#include <cmath>
#include <cstdio>

#include "core/event.h"
#include "rules/program.h"

namespace trialcore::rules {

std::string_view TypeName(Type type) {
  switch (type) {
    case Type::kBool:
      return "condition";
    case Type::kNumber:
      return "number";
    case Type::kText:
      return "text";
    case Type::kCodes:
      return "code set";
    case Type::kDate:
      return "date";
    case Type::kDateTime:
      return "datetime";
    case Type::kTime:
      return "time";
    case Type::kDuration:
      return "duration";
  }
  return "?";
}

namespace {

bool ParseInt(std::string_view s, int& out) {
  if (s.empty()) return false;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc() && p == s.data() + s.size();
}

bool AllDigits(std::string_view s) {
  for (char c : s) {
    if (c < '0' || c > '9') return false;
  }
  return !s.empty();
}

// "2024", "2024-03", "2024-UN-UN", "2024-03-UNK": a partial date, missing to
// the rule language.
bool IsPartialDate(std::string_view s) {
  if (s.size() < 4 || !AllDigits(s.substr(0, 4))) return false;
  if (s.size() == 4) return true;
  if (s[4] != '-') return false;
  std::string_view rest = s.substr(5);
  auto unknown = [](std::string_view p) { return p == "UN" || p == "UNK" || p == "XX"; };
  size_t dash = rest.find('-');
  std::string_view month = rest.substr(0, dash);
  if (!(unknown(month) || (month.size() == 2 && AllDigits(month)))) return false;
  if (dash == std::string_view::npos) return true;
  std::string_view day = rest.substr(dash + 1);
  return unknown(day) || unknown(month);
}

}  // namespace

Result<int64_t> ParseDateDays(std::string_view text) {
  int y, m, d;
  if (text.size() != 10 || text[4] != '-' || text[7] != '-' || !AllDigits(text.substr(0, 4)) ||
      !ParseInt(text.substr(0, 4), y) || !AllDigits(text.substr(5, 2)) || !ParseInt(text.substr(5, 2), m) ||
      !AllDigits(text.substr(8, 2)) || !ParseInt(text.substr(8, 2), d)) {
    return InvalidArgument('"' + std::string(text) + "\" is not a date in the form YYYY-MM-DD");
  }
  using namespace std::chrono;
  year_month_day ymd{year{y}, month{static_cast<unsigned>(m)}, day{static_cast<unsigned>(d)}};
  if (!ymd.ok()) return InvalidArgument('"' + std::string(text) + "\" is not a calendar date");
  return static_cast<int64_t>(sys_days{ymd}.time_since_epoch().count());
}

std::string FormatDateDays(int64_t days) {
  using namespace std::chrono;
  year_month_day ymd{sys_days{std::chrono::days{days}}};
  char buf[16];
  std::snprintf(buf, sizeof buf, "%04d-%02u-%02u", static_cast<int>(ymd.year()), static_cast<unsigned>(ymd.month()),
                static_cast<unsigned>(ymd.day()));
  return buf;
}

Result<RValue> ParseValue(Type type, std::string_view text) {
  if (text.empty()) return RValue::Null();
  switch (type) {
    case Type::kBool:
      if (text == "true") return RValue::Bool(true);
      if (text == "false") return RValue::Bool(false);
      return InvalidArgument('"' + std::string(text) + "\" is not true or false");
    case Type::kNumber: {
      auto d = Decimal::Parse(text);
      if (!d.ok()) return InvalidArgument('"' + std::string(text) + "\" is not a number");
      return RValue::Number(std::strtod(d->text().c_str(), nullptr));
    }
    case Type::kText:
    case Type::kCodes:
      return RValue::Text(text);
    case Type::kDate: {
      if (IsPartialDate(text)) return RValue::Null();
      TC_ASSIGN_OR_RETURN(int64_t days, ParseDateDays(text));
      return RValue::Integer(days);
    }
    case Type::kDateTime: {
      if (text.size() <= 10) {
        return InvalidArgument('"' + std::string(text) + "\" is not a datetime such as 2024-01-31T14:05:00Z");
      }
      auto us = ParseTimeMicros(text);
      if (!us.ok()) {
        return InvalidArgument('"' + std::string(text) + "\" is not a datetime such as 2024-01-31T14:05:00Z");
      }
      return RValue::Integer(*us);
    }
    case Type::kTime: {
      int h = 0, m = 0, s = 0;
      bool ok = (text.size() == 5 || text.size() == 8) && text[2] == ':' && AllDigits(text.substr(0, 2)) &&
                ParseInt(text.substr(0, 2), h) && AllDigits(text.substr(3, 2)) && ParseInt(text.substr(3, 2), m);
      if (ok && text.size() == 8) ok = text[5] == ':' && AllDigits(text.substr(6, 2)) && ParseInt(text.substr(6, 2), s);
      if (!ok || h > 23 || m > 59 || s > 59) {
        return InvalidArgument('"' + std::string(text) + "\" is not a time of day such as 14:05 or 14:05:30");
      }
      return RValue::Integer(h * 3600 + m * 60 + s);
    }
    case Type::kDuration:
      return InvalidArgument("durations are written as literals such as 7 days, not as text");
  }
  return InvalidArgument("unknown type");
}

std::string FormatValue(Type type, const RValue& v) {
  if (v.null) return "";
  switch (type) {
    case Type::kBool:
      return v.integer != 0 ? "true" : "false";
    case Type::kNumber: {
      if (std::isfinite(v.number) && v.number == std::round(v.number) && std::fabs(v.number) < 1e15) {
        return std::to_string(static_cast<int64_t>(v.number));
      }
      char buf[32];
      std::snprintf(buf, sizeof buf, "%.15g", v.number);
      return buf;
    }
    case Type::kText:
    case Type::kCodes:
      return std::string(v.text());
    case Type::kDate:
      return FormatDateDays(v.integer);
    case Type::kDateTime:
      return FormatTimeMicros(v.integer);
    case Type::kTime: {
      char buf[16];
      std::snprintf(buf, sizeof buf, "%02d:%02d:%02d", static_cast<int>(v.integer / 3600),
                    static_cast<int>(v.integer / 60 % 60), static_cast<int>(v.integer % 60));
      return buf;
    }
    case Type::kDuration: {
      if (v.integer % kMicrosPerDay == 0) return std::to_string(v.integer / kMicrosPerDay) + " days";
      char buf[32];
      std::snprintf(buf, sizeof buf, "%.6g hours", static_cast<double>(v.integer) / 3'600'000'000.0);
      return buf;
    }
  }
  return "";
}

Type Expression::type() const { return program_->type; }
const std::string& Expression::source() const { return program_->source; }
const std::vector<std::string>& Expression::scalars() const { return program_->scalars; }
const std::vector<Type>& Expression::scalar_types() const { return program_->scalar_types; }
const std::vector<TableRef>& Expression::tables() const { return program_->tables; }
size_t Expression::instruction_count() const { return program_->main_end - 1; }  // without the stop
RValue Expression::Evaluate(const Bindings& bindings) const { return program_->Run(bindings); }
Truth Expression::Test(const Bindings& bindings) const { return program_->Test(bindings); }

}  // namespace trialcore::rules
