#include "core/event.h"

#include <cstdio>
#include <ctime>

namespace trialcore {
namespace {

bool IsLowerIdent(std::string_view s) {
  if (s.empty() || !(s[0] >= 'a' && s[0] <= 'z')) return false;
  for (char c : s) {
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_')) return false;
  }
  return true;
}

}  // namespace

Status ValidateStudyId(std::string_view study) {
  auto bad = [&](std::string why) {
    return InvalidArgument("invalid study id \"" + std::string(study) + "\": " + why);
  };
  if (study.empty()) return bad("empty");
  if (study.size() > 64) return bad("longer than 64 characters");
  for (char c : study) {
    bool ok =
        (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-' || c == '.';
    if (!ok) return bad("only letters, digits, '_', '-' and '.' are allowed");
  }
  return Status::Ok();
}

Status ValidateStream(std::string_view stream) {
  auto bad = [&](std::string why) { return InvalidArgument("invalid stream \"" + std::string(stream) + "\": " + why); };
  if (stream.empty()) return bad("empty");
  if (stream.size() > 512) return bad("longer than 512 bytes");
  if (!IsValidUtf8(stream)) return bad("not valid UTF-8");
  if (stream.front() == '/' || stream.back() == '/' || stream.find("//") != std::string_view::npos) {
    return bad("segments separated by single '/' expected, none empty");
  }
  for (char c : stream) {
    if (static_cast<unsigned char>(c) < 0x20) return bad("control characters are not allowed");
  }
  return Status::Ok();
}

Status ValidateEventType(std::string_view type) {
  size_t start = 0;
  while (true) {
    size_t dot = type.find('.', start);
    std::string_view part = type.substr(start, dot == std::string_view::npos ? std::string_view::npos : dot - start);
    if (!IsLowerIdent(part)) {
      return InvalidArgument("invalid event type \"" + std::string(type) +
                             "\": expected dot-separated lower-case words such as \"item.set\"");
    }
    if (dot == std::string_view::npos) break;
    start = dot + 1;
  }
  return Status::Ok();
}

Status ValidateDraft(const EventDraft& d) {
  TC_RETURN_IF_ERROR(ValidateStream(d.stream));
  TC_RETURN_IF_ERROR(ValidateEventType(d.type));
  if (d.actor.user.empty()) return InvalidArgument("event " + d.type + " has no actor user");
  if (d.actor.role.empty()) return InvalidArgument("event " + d.type + " has no actor role");
  if (!IsValidUtf8(d.actor.user) || !IsValidUtf8(d.actor.role) || !IsValidUtf8(d.reason)) {
    return InvalidArgument("event " + d.type + ": actor and reason must be valid UTF-8");
  }
  if (!d.payload.is_object()) return InvalidArgument("event " + d.type + ": payload must be an object");
  return Status::Ok();
}

bool IsUnderPath(std::string_view path, std::string_view prefix) {
  return path == prefix ||
         (path.size() > prefix.size() && path.substr(0, prefix.size()) == prefix && path[prefix.size()] == '/');
}

std::string FormatTimeMicros(int64_t time_us) {
  int64_t secs = time_us / 1'000'000;
  int64_t micros = time_us % 1'000'000;
  if (micros < 0) {
    micros += 1'000'000;
    secs -= 1;
  }
  std::time_t t = static_cast<std::time_t>(secs);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[64];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%06lldZ", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
                tm.tm_hour, tm.tm_min, tm.tm_sec, static_cast<long long>(micros));
  return buf;
}

Result<int64_t> ParseTimeMicros(std::string_view text) {
  auto bad = [&]() {
    return InvalidArgument("invalid time \"" + std::string(text) +
                           "\": expected UTC as 2026-11-23 or 2026-11-23T18:49:44Z (fractional seconds allowed)");
  };
  int y, mo, d, h = 0, mi = 0, s = 0;
  int consumed = 0;
  std::string str(text);
  if (std::sscanf(str.c_str(), "%4d-%2d-%2d%n", &y, &mo, &d, &consumed) != 3 || consumed != 10) return bad();
  int64_t frac_us = 0;
  size_t pos = 10;
  if (pos < str.size()) {
    if (str[pos] != 'T' && str[pos] != ' ') return bad();
    int c2 = 0;
    if (std::sscanf(str.c_str() + pos + 1, "%2d:%2d:%2d%n", &h, &mi, &s, &c2) != 3 || c2 != 8) return bad();
    pos += 9;
    if (pos < str.size() && str[pos] == '.') {
      ++pos;
      int digits = 0;
      while (pos < str.size() && str[pos] >= '0' && str[pos] <= '9') {
        if (digits < 6) frac_us = frac_us * 10 + (str[pos] - '0');
        ++digits;
        ++pos;
      }
      if (digits == 0) return bad();
      for (int k = digits; k < 6; ++k) frac_us *= 10;
    }
    if (pos != str.size() - 1 || str[pos] != 'Z') return bad();
  }
  if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || s > 60) return bad();
  std::tm tm{};
  tm.tm_year = y - 1900;
  tm.tm_mon = mo - 1;
  tm.tm_mday = d;
  tm.tm_hour = h;
  tm.tm_min = mi;
  tm.tm_sec = s;
  int64_t secs = static_cast<int64_t>(timegm(&tm));
  return secs * 1'000'000 + frac_us;
}

Result<int> ParseUtcOffset(std::string_view text) {
  if (text == "Z") return 0;
  auto bad = [&] {
    return InvalidArgument("UTC offset \"" + std::string(text) + "\" is not Z or ±HH:MM between -12:00 and +14:00");
  };
  if (text.size() != 6 || (text[0] != '+' && text[0] != '-') || text[3] != ':') return bad();
  for (const char c : {text[1], text[2], text[4], text[5]}) {
    if (c < '0' || c > '9') return bad();
  }
  const int hours = (text[1] - '0') * 10 + (text[2] - '0');
  const int minutes = (text[4] - '0') * 10 + (text[5] - '0');
  if (minutes > 59) return bad();
  const int total = (text[0] == '-' ? -1 : 1) * (hours * 60 + minutes);
  if (total < -12 * 60 || total > 14 * 60) return bad();
  return total;
}

}  // namespace trialcore
