// Value: the payload of an event. JSON-like, but with no float ambiguity:
// integers are exact 64-bit, and decimals keep the exact text they were
// entered with ("5.0" and "5.00" are different values, as precision is data
// in a case report form).
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "core/status.h"

namespace trialcore {

// Why text is not the text of a Decimal, or nullptr when it is; at, when
// given, receives where the problem lies. Does not allocate, so that the
// canonical validator (core/canonical.h) applies the same rule as Parse.
const char* DecimalTextProblem(std::string_view text, size_t* at = nullptr);

// A decimal number kept as text matching -?(0|[1-9][0-9]*)(\.[0-9]+)?, "-0" excluded.
class Decimal {
 public:
  static Result<Decimal> Parse(std::string_view text);
  const std::string& text() const { return text_; }
  bool operator==(const Decimal&) const = default;

 private:
  explicit Decimal(std::string text) : text_(std::move(text)) {}
  std::string text_;
};

class Value {
 public:
  enum class Kind { kNull, kBool, kInt, kDecimal, kString, kArray, kObject };
  using Array = std::vector<Value>;
  using Object = std::map<std::string, Value>;  // ordered by key bytes: canonical

  Value() = default;
  Value(std::nullptr_t) {}                       // NOLINT
  Value(bool b) : v_(b) {}                       // NOLINT
  Value(int v) : v_(static_cast<int64_t>(v)) {}  // NOLINT
  Value(int64_t v) : v_(v) {}                    // NOLINT
  Value(Decimal d) : v_(std::move(d)) {}         // NOLINT
  Value(std::string s) : v_(std::move(s)) {}     // NOLINT
  Value(const char* s) : v_(std::string(s)) {}   // NOLINT
  Value(Array a) : v_(std::move(a)) {}           // NOLINT
  Value(Object o) : v_(std::move(o)) {}          // NOLINT

  Kind kind() const { return static_cast<Kind>(v_.index()); }
  bool is_null() const { return kind() == Kind::kNull; }
  bool is_object() const { return kind() == Kind::kObject; }
  bool is_string() const { return kind() == Kind::kString; }

  bool as_bool() const { return std::get<bool>(v_); }
  int64_t as_int() const { return std::get<int64_t>(v_); }
  const Decimal& as_decimal() const { return std::get<Decimal>(v_); }
  const std::string& as_string() const { return std::get<std::string>(v_); }
  const Array& as_array() const { return std::get<Array>(v_); }
  const Object& as_object() const { return std::get<Object>(v_); }
  Array& as_array() { return std::get<Array>(v_); }
  Object& as_object() { return std::get<Object>(v_); }

  // Member of an object, or nullptr when absent or not an object.
  const Value* Find(std::string_view key) const;

  bool operator==(const Value&) const = default;

 private:
  std::variant<std::monostate, bool, int64_t, Decimal, std::string, Array, Object> v_;
};

// True when text is well-formed UTF-8 (no overlongs, no surrogates).
bool IsValidUtf8(std::string_view text);

}  // namespace trialcore
