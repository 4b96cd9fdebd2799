// The evaluator: one switch over typed instructions on a fixed stack. Missing
// values propagate as null (three-valued logic for and/or/not, as in SQL).
#include "rules/program.h"

#include <chrono>
#include <cmath>

namespace trialcore::rules {

namespace {

template <typename T>
[[gnu::always_inline]] inline bool Compare(Cmp cmp, const T& a, const T& b) {
  switch (cmp) {
    case Cmp::kEq: return a == b;
    case Cmp::kNe: return a != b;
    case Cmp::kLt: return a < b;
    case Cmp::kLe: return a <= b;
    case Cmp::kGt: return a > b;
    case Cmp::kGe: return a >= b;
  }
  return false;
}

bool SameValue(Type type, const RValue& a, const RValue& b) {
  if (type == Type::kNumber) return a.number == b.number;
  if (type == Type::kText) return a.text() == b.text();
  return a.integer == b.integer;
}

bool Less(int64_t flag, const RValue& a, const RValue& b) {
  if (flag == 1) return a.number < b.number;
  if (flag == 2) return a.text() < b.text();
  return a.integer < b.integer;
}

int64_t FloorDiv(int64_t a, int64_t b) {
  int64_t q = a / b;
  return (a % b != 0 && ((a < 0) != (b < 0))) ? q - 1 : q;
}

// Whole years from a to b, as an age is counted.
int64_t YearsBetween(int64_t from_days, int64_t to_days) {
  using namespace std::chrono;
  year_month_day a{sys_days{days{from_days}}};
  year_month_day b{sys_days{days{to_days}}};
  int64_t years = static_cast<int>(b.year()) - static_cast<int>(a.year());
  if (b.month() < a.month() || (b.month() == a.month() && b.day() < a.day())) --years;
  return years;
}

bool ContainsCode(std::string_view joined, std::string_view code) {
  size_t start = 0;
  while (start <= joined.size()) {
    size_t end = joined.find('\x1f', start);
    if (end == std::string_view::npos) end = joined.size();
    if (joined.substr(start, end - start) == code) return true;
    start = end + 1;
  }
  return false;
}

size_t Utf8Length(std::string_view s) {
  size_t n = 0;
  for (unsigned char c : s) n += (c & 0xC0) != 0x80;
  return n;
}

RValue CallFunction(const Instr& in, RValue* args, const Bindings& b) {
  auto f = static_cast<Function>(in.index);
  switch (f) {
    case Function::kToday:
      return RValue::Integer(FloorDiv(b.now_us, kMicrosPerDay));
    case Function::kNow:
      return RValue::Integer(b.now_us);
    case Function::kIf:
      if (args[0].null) return RValue::Null();
      return args[0].integer != 0 ? args[1] : args[2];
    case Function::kCoalesce:
      for (uint16_t i = 0; i < in.count; ++i) {
        if (!args[i].null) return args[i];
      }
      return RValue::Null();
    case Function::kMinOf:
    case Function::kMaxOf: {
      RValue best = args[0];
      for (uint16_t i = 0; i < in.count; ++i) {
        if (args[i].null) return RValue::Null();
        bool better = f == Function::kMinOf ? Less(in.integer, args[i], best) : Less(in.integer, best, args[i]);
        if (better) best = args[i];
      }
      return best;
    }
    default:
      break;
  }
  for (uint16_t i = 0; i < in.count; ++i) {
    if (args[i].null) return RValue::Null();
  }
  switch (f) {
    case Function::kAbs: return RValue::Number(std::fabs(args[0].number));
    case Function::kFloor: return RValue::Number(std::floor(args[0].number));
    case Function::kCeil: return RValue::Number(std::ceil(args[0].number));
    case Function::kRound: {
      double scale = in.count == 2 ? std::pow(10.0, std::round(args[1].number)) : 1.0;
      return RValue::Number(std::round(args[0].number * scale) / scale);
    }
    case Function::kLength: return RValue::Number(static_cast<double>(Utf8Length(args[0].text())));
    case Function::kYearsBetween: return RValue::Number(static_cast<double>(YearsBetween(args[0].integer, args[1].integer)));
    case Function::kDays: return RValue::Number(static_cast<double>(args[0].integer) / kMicrosPerDay);
    case Function::kHours: return RValue::Number(static_cast<double>(args[0].integer) / 3'600'000'000.0);
    case Function::kDateOf: return RValue::Integer(FloorDiv(args[0].integer, kMicrosPerDay));
    case Function::kContains: return RValue::Bool(ContainsCode(args[0].text(), args[1].text()));
    case Function::kDateFromText: {
      auto days = ParseDateDays(args[0].text());
      return days.ok() ? RValue::Integer(*days) : RValue::Null();
    }
    default:
      return RValue::Null();
  }
}

}  // namespace

// The stack is left uninitialized: RValue is trivially copyable and every
// slot is written before it is read, so nothing is paid per evaluation.
#define TC_RULES_STACK(name)                                       \
  alignas(RValue) unsigned char name##_storage[sizeof(RValue) * kMaxStack]; \
  RValue* name = reinterpret_cast<RValue*>(name##_storage)

RValue Program::Run(const Bindings& b) const {
  TC_RULES_STACK(stack);
  const RValue* top = Execute(0, main_end, b, nullptr, stack);
  return top != nullptr ? *top : RValue::Null();
}

Truth Program::Test(const Bindings& b) const {
  TC_RULES_STACK(stack);
  // Only the two fields are read: copying the whole value right after its
  // parts were written stalls on store forwarding.
  const RValue* top = Execute(0, main_end, b, nullptr, stack);
  if (top == nullptr || top->null) return Truth::kUnknown;
  return top->integer != 0 ? Truth::kTrue : Truth::kFalse;
}

const RValue* Program::Execute(uint32_t begin, uint32_t end, const Bindings& b, const RValue* row,
                               RValue* stack) const {
  int sp = 0;  // next free slot
  for (uint32_t pc = begin; pc < end; ++pc) {
    const Instr& in = code[pc];
    switch (in.op) {
      case Op::kPushNull:
        stack[sp++] = RValue::Null();
        break;
      case Op::kPushNumber:
        stack[sp++] = RValue::Number(in.number);
        break;
      case Op::kPushInteger:
        stack[sp++] = RValue::Integer(in.integer);
        break;
      case Op::kPushText:
        stack[sp++] = RValue::Text(texts[in.index]);
        break;
      case Op::kLoad:
        stack[sp++] = b.scalars[in.index];
        break;
      case Op::kLoadColumn:
        stack[sp++] = row[in.index];
        break;
      case Op::kNegNumber:
        stack[sp - 1].number = -stack[sp - 1].number;
        break;
      case Op::kNegInteger:
        stack[sp - 1].integer = -stack[sp - 1].integer;
        break;
      case Op::kCompareSlotNumber: {
        const RValue& v = b.scalars[in.index];
        stack[sp++] = v.null ? RValue::Null() : RValue::Bool(Compare(in.cmp, v.number, in.number));
        break;
      }
      case Op::kCompareSlotSlot: {
        const RValue& x = b.scalars[in.index];
        const RValue& y = b.scalars[static_cast<size_t>(in.integer)];
        stack[sp++] = x.null || y.null ? RValue::Null() : RValue::Bool(Compare(in.cmp, x.number, y.number));
        break;
      }
      case Op::kCompareSlotText: {
        const RValue& x = b.scalars[in.index];
        stack[sp++] = x.null ? RValue::Null()
                             : RValue::Bool(Compare(in.cmp, x.text(), std::string_view(texts[static_cast<size_t>(in.integer)])));
        break;
      }
      case Op::kIsMissingSlot:
        stack[sp++] = RValue::Bool(b.scalars[in.index].null);
        break;
      case Op::kIsNotMissingSlot:
        stack[sp++] = RValue::Bool(!b.scalars[in.index].null);
        break;
      case Op::kNot:
        stack[sp - 1].integer = stack[sp - 1].integer == 0;
        break;
      case Op::kIsMissing:
        stack[sp - 1] = RValue::Bool(stack[sp - 1].null);
        break;
      case Op::kIsNotMissing:
        stack[sp - 1] = RValue::Bool(!stack[sp - 1].null);
        break;
      case Op::kAnd:
      case Op::kOr: {
        RValue& x = stack[sp - 2];
        const RValue& y = stack[sp - 1];
        --sp;
        // The deciding value wins over a missing one: false for and, true for or.
        int64_t decide = in.op == Op::kAnd ? 0 : 1;
        if ((!x.null && x.integer == decide) || (!y.null && y.integer == decide)) {
          x = RValue::Bool(decide != 0);
        } else if (x.null || y.null) {
          x = RValue::Null();
        } else {
          x = RValue::Bool(decide == 0);
        }
        break;
      }
      case Op::kInSet: {
        RValue& x = stack[sp - 1];
        if (x.null) break;
        const InSet& set = sets[in.index];
        bool found = false;
        for (const RValue& v : set.values) {
          if (SameValue(set.type, x, v)) {
            found = true;
            break;
          }
        }
        x = RValue::Bool(found == (in.cmp == Cmp::kEq));
        break;
      }
      case Op::kCall: {
        sp -= in.count;
        stack[sp] = CallFunction(in, stack + sp, b);
        ++sp;
        break;
      }
      case Op::kCountRows:
        stack[sp++] = RValue::Number(static_cast<double>(b.tables[in.index].rows));
        break;
      case Op::kAggregate: {
        const Aggregate& agg = aggregates[in.index];
        const Table& t = b.tables[agg.table];
        RValue acc = RValue::Null();
        double count = 0;
        bool any_true = false, any_false = false;
        for (size_t r = 0; r < t.rows; ++r) {
          TC_RULES_STACK(inner);
          const RValue* top = Execute(agg.begin, agg.end, b, t.cells.data() + r * t.columns, inner);
          RValue v = top != nullptr ? *top : RValue::Null();
          if (v.null) continue;
          switch (agg.kind) {
            case AggregateKind::kCount: count += 1; break;
            case AggregateKind::kCountTrue: count += v.integer != 0; break;
            case AggregateKind::kAny:
            case AggregateKind::kAll:
              (v.integer != 0 ? any_true : any_false) = true;
              break;
            case AggregateKind::kSum:
              if (acc.null) acc = agg.arg_type == Type::kNumber ? RValue::Number(0) : RValue::Integer(0);
              if (agg.arg_type == Type::kNumber) acc.number += v.number; else acc.integer += v.integer;
              break;
            case AggregateKind::kMin:
            case AggregateKind::kMax: {
              int64_t flag = agg.arg_type == Type::kNumber ? 1 : agg.arg_type == Type::kText ? 2 : 0;
              bool better = agg.kind == AggregateKind::kMin ? Less(flag, v, acc) : Less(flag, acc, v);
              if (acc.null || better) acc = v;
              break;
            }
          }
        }
        switch (agg.kind) {
          case AggregateKind::kCount:
          case AggregateKind::kCountTrue: acc = RValue::Number(count); break;
          case AggregateKind::kAny: acc = RValue::Bool(any_true); break;
          case AggregateKind::kAll: acc = RValue::Bool(!any_false); break;
          case AggregateKind::kSum:
            if (acc.null) acc = agg.arg_type == Type::kNumber ? RValue::Number(0) : RValue::Integer(0);
            break;
          default: break;
        }
        stack[sp++] = acc;
        break;
      }
      default: {
        // Binary operators: both operands on the stack; null in, null out.
        RValue& x = stack[sp - 2];
        const RValue& y = stack[sp - 1];
        --sp;
        if (x.null || y.null) {
          x = RValue::Null();
          break;
        }
        switch (in.op) {
          case Op::kAddNumber: x.number += y.number; break;
          case Op::kSubNumber: x.number -= y.number; break;
          case Op::kMulNumber: x.number *= y.number; break;
          case Op::kDivNumber:
            if (y.number == 0) x = RValue::Null(); else x.number /= y.number;
            break;
          case Op::kAddInteger: x.integer += y.integer; break;
          case Op::kSubInteger: x.integer -= y.integer; break;
          case Op::kDatePlusDuration: x.integer += FloorDiv(y.integer, kMicrosPerDay); break;
          case Op::kDateMinusDuration: x.integer -= FloorDiv(y.integer, kMicrosPerDay); break;
          case Op::kDateMinusDate: x.integer = (x.integer - y.integer) * kMicrosPerDay; break;
          case Op::kDurationTimesNumber:
            x.integer = static_cast<int64_t>(std::llround(static_cast<double>(x.integer) * y.number));
            break;
          case Op::kNumberTimesDuration:
            x = RValue::Integer(static_cast<int64_t>(std::llround(x.number * static_cast<double>(y.integer))));
            break;
          case Op::kDurationDivNumber:
            if (y.number == 0) x = RValue::Null();
            else x.integer = static_cast<int64_t>(std::llround(static_cast<double>(x.integer) / y.number));
            break;
          case Op::kDurationDivDuration:
            if (y.integer == 0) x = RValue::Null();
            else x = RValue::Number(static_cast<double>(x.integer) / static_cast<double>(y.integer));
            break;
          case Op::kCompareNumber: x = RValue::Bool(Compare(in.cmp, x.number, y.number)); break;
          case Op::kCompareInteger: x = RValue::Bool(Compare(in.cmp, x.integer, y.integer)); break;
          case Op::kCompareText: x = RValue::Bool(Compare(in.cmp, x.text(), y.text())); break;
          default: x = RValue::Null(); break;
        }
        break;
      }
    }
  }
  return sp > 0 ? &stack[sp - 1] : nullptr;
}

}  // namespace trialcore::rules
