// Invariant: the digits are the shortest round-trip ones (std::to_chars),
// rounded to six. That rounds as the exact value would: a rounding boundary
// (seven digits ending in 5) inside the value's round-trip interval would be
// a shortest form itself. Only a shortest form that is such a tie says
// nothing about which side the exact value lies, so it goes to snprintf, as
// do values near the subnormals, whose shortest forms can be shorter than six
// digits of the exact value.
#include "signal/number_text.h"

#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstdlib>

namespace trialcore::signal {

void AppendSixDigits(std::string* out, double v) {
  if (std::isinf(v)) {
    out->append(v > 0 ? "Inf" : "-Inf");
    return;
  }
  if (std::isnan(v)) {
    out->append("NA");
    return;
  }
  char buf[64];
  if (v == 0) {
    out->append(std::signbit(v) ? "-0" : "0");
    return;
  }
  if (std::fabs(v) < 1e-290) {  // near or below the subnormals, the shortest form can hold fewer than six digits
    int n = std::snprintf(buf, sizeof buf, "%.6g", v);
    out->append(buf, static_cast<size_t>(n));
    return;
  }
  // Shortest scientific form: [-]d[.ddd]e[+-]xx.
  char* end = std::to_chars(buf, buf + sizeof buf - 1, v, std::chars_format::scientific).ptr;
  *end = '\0';  // for atoi
  const char* p = buf;
  const bool negative = *p == '-';
  if (negative) ++p;
  char digits[24];
  int count = 0;
  for (; p < end && *p != 'e'; ++p) {
    if (*p != '.') digits[count++] = *p;
  }
  int exponent = std::atoi(p + 1);
  if (count > 6) {
    if (count == 7 && digits[6] == '5') {  // a tie in the shortest form: let printf see the exact value
      int n = std::snprintf(buf, sizeof buf, "%.6g", v);
      out->append(buf, static_cast<size_t>(n));
      return;
    }
    const bool up = digits[6] >= '5';
    count = 6;
    if (up) {
      int i = 5;
      for (; i >= 0 && digits[i] == '9'; --i) digits[i] = '0';
      if (i >= 0) {
        ++digits[i];
      } else {  // 999999.5 -> 1000000: one more power of ten
        digits[0] = '1';
        for (int k = 1; k < 6; ++k) digits[k] = '0';
        ++exponent;
      }
    }
  }
  while (count > 1 && digits[count - 1] == '0') --count;  // %g drops trailing zeros
  std::string& o = *out;
  if (negative) o.push_back('-');
  if (exponent < -4 || exponent >= 6) {
    o.push_back(digits[0]);
    if (count > 1) {
      o.push_back('.');
      o.append(digits + 1, static_cast<size_t>(count - 1));
    }
    o.push_back('e');
    o.push_back(exponent < 0 ? '-' : '+');
    const int magnitude = std::abs(exponent);
    if (magnitude < 10) o.push_back('0');
    o.append(std::to_string(magnitude));
  } else if (exponent >= 0) {
    const int whole = exponent + 1;  // digits before the point
    for (int i = 0; i < whole; ++i) o.push_back(i < count ? digits[i] : '0');
    if (count > whole) {
      o.push_back('.');
      o.append(digits + whole, static_cast<size_t>(count - whole));
    }
  } else {
    o.append("0.");
    o.append(static_cast<size_t>(-exponent - 1), '0');
    o.append(digits, static_cast<size_t>(count));
  }
}

}  // namespace trialcore::signal
