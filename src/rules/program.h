// The compiled form of an expression, internal to src/rules: a typed stack
// program. Every instruction knows its operand types, so evaluation never
// inspects a type at run time.
#pragma once

#include <cstdint>
#include <deque>
#include <string>
#include <vector>

#include "rules/rules.h"

namespace trialcore::rules {

enum class Op : uint8_t {
  kPushNull,
  kPushNumber,   // number
  kPushInteger,  // integer
  kPushText,     // index into texts
  kLoad,         // index: scalar slot
  kLoadColumn,   // index: column of the current row
  kNegNumber,
  kNegInteger,
  kAddNumber,
  kSubNumber,
  kMulNumber,
  kDivNumber,
  kAddInteger,  // datetime/duration arithmetic in microseconds
  kSubInteger,
  kDatePlusDuration,
  kDateMinusDuration,
  kDateMinusDate,
  kDurationTimesNumber,
  kNumberTimesDuration,
  kDurationDivNumber,
  kDurationDivDuration,
  kCompareNumber,      // cmp
  kCompareInteger,     // cmp
  kCompareText,        // cmp
  kCompareSlotNumber,  // fused load-constant-compare: index slot, number, cmp
  kCompareSlotSlot,    // fused number compare of two slots: index, integer (second slot), cmp
  kCompareSlotText,    // fused text compare of a slot with a literal: index slot, integer (text), cmp
  kIsMissingSlot,      // fused: index slot
  kIsNotMissingSlot,
  kAnd,
  kOr,
  kNot,
  kIsMissing,
  kIsNotMissing,
  kInSet,                 // index into sets; cmp kNe when negated
  kInSetSlot,             // fused: integer slot, index set
  kAbsNumber,             // abs() inline, the common function of weight and dose checks
  kOrPresence,            // fused "slot is [not] missing or <top>": index slot, integer 1 for "is missing"
  kAndPresence,           // fused "slot is [not] missing and <top>"
  kAndCompareSlotNumber,  // fused "<top> and (slot cmp number)": index, number, cmp
  kOrCompareSlotNumber,
  kCall,       // index: Function, count: arguments
  kAggregate,  // index into aggregates
  kCountRows,  // index: table
  kEndOfOps,   // not an instruction: the count of them
};

enum class Cmp : uint8_t { kEq, kNe, kLt, kLe, kGt, kGe };

enum class Function : uint8_t {
  kAbs,
  kRound,
  kFloor,
  kCeil,
  kLength,
  kYearsBetween,
  kDays,
  kHours,
  kToday,
  kNow,
  kIf,
  kCoalesce,
  kContains,
  kMinOf,
  kMaxOf,
  kDateOf,
  kDateFromText,
};

enum class AggregateKind : uint8_t { kCount, kCountTrue, kSum, kMin, kMax, kAny, kAll };

// Where a binary instruction takes an operand from. Simple operands (an item
// or a constant) are read in place instead of being pushed first, which
// saves an instruction dispatch each.
enum Mode : uint8_t { kFromStack = 0, kFromSlot = 1, kFromConstant = 2, kFromText = 3 };

struct Instr {
  Op op;
  Cmp cmp = Cmp::kEq;
  // Binary operators: left mode | right mode << 2. A slot operand is in
  // index (the first one) or integer (the right one when both are slots); a
  // constant is in number/integer, a text constant's index in integer.
  uint8_t modes = 0;
  uint8_t count = 0;
  uint32_t index = 0;
  union {
    double number;
    int64_t integer;
  };
  Instr() : op(Op::kPushNull), integer(0) {}
};

struct Aggregate {
  AggregateKind kind;
  Type arg_type;
  uint32_t table;
  uint32_t begin;  // body: code[begin, end), run once per row
  uint32_t end;
};

struct InSet {
  Type type;
  std::vector<RValue> values;
};

class Program {
 public:
  Type type = Type::kBool;
  std::string source;
  std::vector<Instr> code;
  uint32_t main_end = 0;          // the top level is code[0, main_end)
  std::deque<std::string> texts;  // text literals; RValues view into them, so addresses must stay put
  std::vector<InSet> sets;
  std::vector<Aggregate> aggregates;
  std::vector<std::string> scalars;
  std::vector<Type> scalar_types;
  std::vector<TableRef> tables;

  RValue Run(const Bindings& b) const;
  Truth Test(const Bindings& b) const;

 private:
  // Runs code from begin to its kEndOfOps on the given stack and returns its top.
  const RValue* Execute(uint32_t begin, const Bindings& b, const RValue* row, RValue* stack) const;
};

inline constexpr int kMaxStack = 64;

}  // namespace trialcore::rules
