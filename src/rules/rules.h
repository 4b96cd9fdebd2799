// The rule language of edit checks, derivations, visibility conditions and
// eligibility criteria (doc/rule_language.md). An expression is parsed once,
// type-checked against the study through a Resolver, and compiled to a small
// typed program; evaluation reads values the caller binds to the program's
// references and allocates nothing.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"

namespace trialcore::rules {

// Durations and datetimes are microseconds; dates are days.
inline constexpr int64_t kMicrosPerDay = 86'400'000'000;

enum class Type : uint8_t {
  kBool,
  kNumber,    // integers and decimals
  kText,      // free text and single-choice codes
  kCodes,     // the selected codes of a multiple-choice item
  kDate,      // days since 1970-01-01
  kDateTime,  // microseconds since the epoch, UTC
  kTime,      // seconds since midnight
  kDuration,  // microseconds
};
std::string_view TypeName(Type type);

// One value at run time. Missing values are null whatever their type; the
// static type says how to read the rest.
struct RValue {
  // 16 bytes, so a value moves in one register pair; text is a pointer and
  // a length into storage the caller keeps alive during evaluation.
  union {
    double number;
    int64_t integer;    // bool (0/1), date, datetime, time, duration
    const char* chars;  // text, and codes joined by '\x1f'
  };
  uint32_t size = 0;
  bool null = true;

  RValue() : integer(0) {}
  std::string_view text() const { return {chars, size}; }
  static RValue Null() { return RValue(); }
  static RValue Bool(bool b) { return Integer(b ? 1 : 0); }
  static RValue Number(double d) {
    RValue v;
    v.null = false;
    v.number = d;
    return v;
  }
  static RValue Integer(int64_t i) {  // for the integer-backed types
    RValue v;
    v.null = false;
    v.integer = i;
    return v;
  }
  static RValue Text(std::string_view s) {
    RValue v;
    v.null = false;
    v.chars = s.data();
    v.size = static_cast<uint32_t>(s.size());
    return v;
  }
};

// Converts stored item text to a value of the given type; partial dates that
// are not complete and empty text give null. InvalidArgument when malformed.
Result<RValue> ParseValue(Type type, std::string_view text);
// Back to text, for derivations and messages.
std::string FormatValue(Type type, const RValue& value);

// Days since 1970-01-01 for a valid "YYYY-MM-DD".
Result<int64_t> ParseDateDays(std::string_view text);
std::string FormatDateDays(int64_t days);

// What the study says a reference in an expression names.
struct Resolved {
  std::string key;  // the caller's identity for the value, e.g. "WEEK2.VS.SYSBP"
  Type type = Type::kText;
  std::vector<std::string> codes;  // allowed codes for coded items; empty otherwise
  // Non-empty for items of a repeating group: they may only be read inside an
  // aggregate, which runs once per row of the group.
  std::string group;
};

// Resolves dotted references ("SYSBP", "VS.SYSBP", "WEEK2.VS.SYSBP", or a
// bare group name "AE" inside count()). Returns NotFound/InvalidArgument with
// a message that says what is wrong; the compiler adds the position.
class Resolver {
 public:
  virtual ~Resolver() = default;
  virtual Result<Resolved> ResolveItem(std::span<const std::string> path) const = 0;
  // A repeating group named by path, for count(GROUP); its key is the group.
  virtual Result<std::string> ResolveGroup(std::span<const std::string> path) const = 0;
};

// Where a compile error is, 1-based within the expression text.
struct Diagnostic {
  int line = 0;
  int column = 0;
  std::string message;
};

// The rows of a repeating group: row-major cells, one per column.
struct Table {
  size_t rows = 0;
  size_t columns = 0;
  std::vector<RValue> cells;  // rows * columns
};

struct TableRef {
  std::string group;
  std::vector<std::string> column_keys;
  std::vector<Type> column_types;  // as the Resolver said, so binding needs no lookup
};

// Values bound to a program's references, in the order scalars() and
// tables() list them.
struct Bindings {
  std::span<const RValue> scalars;
  std::span<const Table> tables;
  int64_t now_us = 0;  // for today() and now()
};

enum class Truth : uint8_t { kFalse, kTrue, kUnknown };

class Program;

class Expression {
 public:
  // Parses, type-checks and compiles source. On error, returns
  // InvalidArgument "line:column: message" and fills *where when given.
  static Result<Expression> Compile(std::string_view source, const Resolver& resolver, Diagnostic* where = nullptr);

  Type type() const;
  const std::string& source() const;
  // Every scalar reference, once each, in binding order.
  const std::vector<std::string>& scalars() const;
  const std::vector<Type>& scalar_types() const;  // as the Resolver said
  const std::vector<TableRef>& tables() const;
  size_t instruction_count() const;  // of the compiled program, for benchmarks

  RValue Evaluate(const Bindings& bindings) const;
  // For boolean expressions: null is unknown.
  Truth Test(const Bindings& bindings) const;

 private:
  explicit Expression(std::shared_ptr<const Program> program) : program_(std::move(program)) {}
  std::shared_ptr<const Program> program_;  // immutable, shared by copies
};

}  // namespace trialcore::rules
