// The evaluator: one switch over typed instructions on a fixed stack. Missing
// values propagate as null (three-valued logic for and/or/not, as in SQL).
#include "rules/program.h"

#include <chrono>
#include <cmath>
#include <type_traits>

namespace trialcore::rules {

namespace {

// Codes are short: compare them in place rather than through memcmp.
[[gnu::always_inline]] inline bool EqualText(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (a[i] != b[i]) return false;
  }
  return true;
}

template <typename T>
[[gnu::always_inline]] inline bool Compare(Cmp cmp, const T& a, const T& b) {
  if constexpr (std::is_same_v<T, std::string_view>) {
    if (cmp == Cmp::kEq) return EqualText(a, b);
    if (cmp == Cmp::kNe) return !EqualText(a, b);
  }
  switch (cmp) {
    case Cmp::kEq:
      return a == b;
    case Cmp::kNe:
      return a != b;
    case Cmp::kLt:
      return a < b;
    case Cmp::kLe:
      return a <= b;
    case Cmp::kGt:
      return a > b;
    case Cmp::kGe:
      return a >= b;
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
    case Function::kAbs:
      return RValue::Number(std::fabs(args[0].number));
    case Function::kFloor:
      return RValue::Number(std::floor(args[0].number));
    case Function::kCeil:
      return RValue::Number(std::ceil(args[0].number));
    case Function::kRound: {
      double scale = in.count == 2 ? std::pow(10.0, std::round(args[1].number)) : 1.0;
      return RValue::Number(std::round(args[0].number * scale) / scale);
    }
    case Function::kLength:
      return RValue::Number(static_cast<double>(Utf8Length(args[0].text())));
    case Function::kYearsBetween:
      return RValue::Number(static_cast<double>(YearsBetween(args[0].integer, args[1].integer)));
    case Function::kDays:
      return RValue::Number(static_cast<double>(args[0].integer) / kMicrosPerDay);
    case Function::kHours:
      return RValue::Number(static_cast<double>(args[0].integer) / 3'600'000'000.0);
    case Function::kDateOf:
      return RValue::Integer(FloorDiv(args[0].integer, kMicrosPerDay));
    case Function::kContains:
      return RValue::Bool(ContainsCode(args[0].text(), args[1].text()));
    case Function::kDateFromText: {
      auto days = ParseDateDays(args[0].text());
      return days.ok() ? RValue::Integer(*days) : RValue::Null();
    }
    default:
      return RValue::Null();
  }
}

// Puts the left operand of a binary instruction on top of the stack and
// returns where the right one is. Operands are read field by field where they
// lie: copying a whole value just written in parts would stall on store
// forwarding.
[[gnu::always_inline]] inline const RValue* FetchOperands(const Instr& in, const Bindings& b,
                                                          const std::deque<std::string>& texts, RValue* stack, int& sp,
                                                          RValue* constant) {
  uint8_t a_mode = in.modes & 3, b_mode = in.modes >> 2;
  const RValue* yp;
  switch (b_mode) {
    case kFromStack:
      yp = &stack[--sp];
      if (a_mode != kFromStack) {
        *constant = *yp;  // the left operand is about to take its place
        yp = constant;
      }
      break;
    case kFromSlot:
      yp = &b.scalars[a_mode == kFromSlot ? static_cast<size_t>(in.integer) : in.index];
      break;
    case kFromConstant:
      constant->null = false;
      constant->integer = in.integer;
      yp = constant;
      break;
    default:
      *constant = RValue::Text(texts[static_cast<size_t>(in.integer)]);
      yp = constant;
      break;
  }
  if (a_mode != kFromStack) {
    stack[sp] = a_mode == kFromSlot       ? b.scalars[in.index]
                : a_mode == kFromConstant ? RValue::Integer(in.integer)
                                          : RValue::Text(texts[static_cast<size_t>(in.integer)]);
    ++sp;
  }
  return yp;
}

}  // namespace

// The stack is left uninitialized: RValue is trivially copyable and every
// slot is written before it is read, so nothing is paid per evaluation.
#define TC_RULES_STACK(name)                                                \
  alignas(RValue) unsigned char name##_storage[sizeof(RValue) * kMaxStack]; \
  RValue* name = reinterpret_cast<RValue*>(name##_storage)

RValue Program::Run(const Bindings& b) const {
  TC_RULES_STACK(stack);
  const RValue* top = Execute(0, b, nullptr, stack);
  return top != nullptr ? *top : RValue::Null();
}

Truth Program::Test(const Bindings& b) const {
  TC_RULES_STACK(stack);
  // Only the two fields are read: copying the whole value right after its
  // parts were written stalls on store forwarding.
  const RValue* top = Execute(0, b, nullptr, stack);
  if (top == nullptr || top->null) return Truth::kUnknown;
  return top->integer != 0 ? Truth::kTrue : Truth::kFalse;
}

// Labels as values (a GNU extension GCC and Clang share) for direct threading.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wpedantic"
const RValue* Program::Execute(uint32_t begin, const Bindings& b, const RValue* row, RValue* stack) const {
  int sp = 0;       // next free slot
  RValue constant;  // a binary instruction's operand read in place
  // Direct threading: each handler jumps straight to the next one, which
  // predicts far better than one shared switch.
  static const void* const kHandlers[] = {
      &&L_kPushNull,
      &&L_kPushNumber,
      &&L_kPushInteger,
      &&L_kPushText,
      &&L_kLoad,
      &&L_kLoadColumn,
      &&L_kNegNumber,
      &&L_kNegInteger,
      &&L_kAddNumber,
      &&L_kSubNumber,
      &&L_kMulNumber,
      &&L_kDivNumber,
      &&L_kAddInteger,
      &&L_kSubInteger,
      &&L_kDatePlusDuration,
      &&L_kDateMinusDuration,
      &&L_kDateMinusDate,
      &&L_kDurationTimesNumber,
      &&L_kNumberTimesDuration,
      &&L_kDurationDivNumber,
      &&L_kDurationDivDuration,
      &&L_kCompareNumber,
      &&L_kCompareInteger,
      &&L_kCompareText,
      &&L_kCompareSlotNumber,
      &&L_kCompareSlotSlot,
      &&L_kCompareSlotText,
      &&L_kIsMissingSlot,
      &&L_kIsNotMissingSlot,
      &&L_kAnd,
      &&L_kOr,
      &&L_kNot,
      &&L_kIsMissing,
      &&L_kIsNotMissing,
      &&L_kInSet,
      &&L_kInSetSlot,
      &&L_kAbsNumber,
      &&L_kOrPresence,
      &&L_kAndPresence,
      &&L_kAndCompareSlotNumber,
      &&L_kOrCompareSlotNumber,
      &&L_kCall,
      &&L_kAggregate,
      &&L_kCountRows,
      &&L_kEndOfOps,
  };
  static_assert(std::size(kHandlers) == static_cast<size_t>(Op::kEndOfOps) + 1, "one handler per Op, in order");
  const Instr* ip = &code[begin];
#define TC_NEXT()                              \
  do {                                         \
    ++ip;                                      \
    goto* kHandlers[static_cast<int>(ip->op)]; \
  } while (0)
  goto* kHandlers[static_cast<int>(ip->op)];
  {
    switch (ip->op) {
      case Op::kPushNull:
      L_kPushNull:
        stack[sp++] = RValue::Null();
        TC_NEXT();
      case Op::kPushNumber:
      L_kPushNumber:
        stack[sp++] = RValue::Number(ip->number);
        TC_NEXT();
      case Op::kPushInteger:
      L_kPushInteger:
        stack[sp++] = RValue::Integer(ip->integer);
        TC_NEXT();
      case Op::kPushText:
      L_kPushText:
        stack[sp++] = RValue::Text(texts[ip->index]);
        TC_NEXT();
      case Op::kLoad:
      L_kLoad:
        stack[sp++] = b.scalars[ip->index];
        TC_NEXT();
      case Op::kLoadColumn:
      L_kLoadColumn:
        stack[sp++] = row[ip->index];
        TC_NEXT();
      case Op::kNegNumber:
      L_kNegNumber:
        stack[sp - 1].number = -stack[sp - 1].number;
        TC_NEXT();
      case Op::kNegInteger:
      L_kNegInteger:
        stack[sp - 1].integer = -stack[sp - 1].integer;
        TC_NEXT();
      case Op::kCompareSlotNumber:
      L_kCompareSlotNumber : {
        const RValue& v = b.scalars[ip->index];
        stack[sp++] = v.null ? RValue::Null() : RValue::Bool(Compare(ip->cmp, v.number, ip->number));
        TC_NEXT();
      }
      case Op::kCompareSlotSlot:
      L_kCompareSlotSlot : {
        const RValue& x = b.scalars[ip->index];
        const RValue& y = b.scalars[static_cast<size_t>(ip->integer)];
        stack[sp++] = x.null || y.null ? RValue::Null() : RValue::Bool(Compare(ip->cmp, x.number, y.number));
        TC_NEXT();
      }
      case Op::kCompareSlotText:
      L_kCompareSlotText : {
        const RValue& x = b.scalars[ip->index];
        stack[sp++] =
            x.null
                ? RValue::Null()
                : RValue::Bool(Compare(ip->cmp, x.text(), std::string_view(texts[static_cast<size_t>(ip->integer)])));
        TC_NEXT();
      }
      case Op::kIsMissingSlot:
      L_kIsMissingSlot:
        stack[sp++] = RValue::Bool(b.scalars[ip->index].null);
        TC_NEXT();
      case Op::kIsNotMissingSlot:
      L_kIsNotMissingSlot:
        stack[sp++] = RValue::Bool(!b.scalars[ip->index].null);
        TC_NEXT();
      case Op::kNot:
      L_kNot:
        stack[sp - 1].integer = stack[sp - 1].integer == 0;
        TC_NEXT();
      case Op::kIsMissing:
      L_kIsMissing:
        stack[sp - 1] = RValue::Bool(stack[sp - 1].null);
        TC_NEXT();
      case Op::kIsNotMissing:
      L_kIsNotMissing:
        stack[sp - 1] = RValue::Bool(!stack[sp - 1].null);
        TC_NEXT();
      case Op::kAnd:
      L_kAnd:
      case Op::kOr:
      L_kOr : {
        // Three-valued logic by table, without branches: 0 false, 1 true,
        // 2 missing. The deciding value wins over a missing one.
        static constexpr uint8_t kAndTable[3][3] = {{0, 0, 0}, {0, 1, 2}, {0, 2, 2}};
        static constexpr uint8_t kOrTable[3][3] = {{0, 1, 2}, {1, 1, 1}, {2, 1, 2}};
        RValue& x = stack[sp - 2];
        const RValue& y = stack[sp - 1];
        --sp;
        unsigned t = x.null ? 2u : static_cast<unsigned>(x.integer);
        unsigned u = y.null ? 2u : static_cast<unsigned>(y.integer);
        uint8_t r = ip->op == Op::kAnd ? kAndTable[t][u] : kOrTable[t][u];
        x.integer = r & 1;
        x.null = r == 2;
        TC_NEXT();
      }
      case Op::kOrPresence:
      L_kOrPresence : {
        bool present = !b.scalars[ip->index].null;
        bool holds = ip->integer == 1 ? !present : present;  // never missing
        if (holds) stack[sp - 1] = RValue::Bool(true);       // true or anything
        TC_NEXT();
      }
      case Op::kAndPresence:
      L_kAndPresence : {
        bool present = !b.scalars[ip->index].null;
        bool holds = ip->integer == 1 ? !present : present;
        if (!holds) stack[sp - 1] = RValue::Bool(false);  // false and anything
        TC_NEXT();
      }
      case Op::kAndCompareSlotNumber:
      L_kAndCompareSlotNumber:
      case Op::kOrCompareSlotNumber:
      L_kOrCompareSlotNumber : {
        static constexpr uint8_t kAndTable[3][3] = {{0, 0, 0}, {0, 1, 2}, {0, 2, 2}};
        static constexpr uint8_t kOrTable[3][3] = {{0, 1, 2}, {1, 1, 1}, {2, 1, 2}};
        const RValue& v = b.scalars[ip->index];
        unsigned u = v.null ? 2u : static_cast<unsigned>(Compare(ip->cmp, v.number, ip->number));
        RValue& x = stack[sp - 1];
        unsigned t = x.null ? 2u : static_cast<unsigned>(x.integer);
        uint8_t r = ip->op == Op::kAndCompareSlotNumber ? kAndTable[t][u] : kOrTable[t][u];
        x.integer = r & 1;
        x.null = r == 2;
        TC_NEXT();
      }
      case Op::kEndOfOps:
      L_kEndOfOps:
        goto done;
      case Op::kAbsNumber:
      L_kAbsNumber:
        stack[sp - 1].number = std::fabs(stack[sp - 1].number);  // a missing value stays missing
        TC_NEXT();
      case Op::kInSetSlot:
      L_kInSetSlot : {
        const RValue& v = b.scalars[static_cast<size_t>(ip->integer)];
        if (v.null) {
          stack[sp++] = RValue::Null();
          TC_NEXT();
        }
        const InSet& set = sets[ip->index];
        bool found = false;
        if (set.type == Type::kNumber) {
          for (const RValue& e : set.values) found |= e.number == v.number;
        } else {
          for (const RValue& e : set.values) found |= SameValue(set.type, v, e);
        }
        stack[sp++] = RValue::Bool(found == (ip->cmp == Cmp::kEq));
        TC_NEXT();
      }
      case Op::kInSet:
      L_kInSet : {
        RValue& x = stack[sp - 1];
        if (x.null) TC_NEXT();
        const InSet& set = sets[ip->index];
        bool found = false;
        for (const RValue& v : set.values) {
          if (SameValue(set.type, x, v)) {
            found = true;
            break;
          }
        }
        x = RValue::Bool(found == (ip->cmp == Cmp::kEq));
        TC_NEXT();
      }
      case Op::kCall:
      L_kCall : {
        sp -= ip->count;
        stack[sp] = CallFunction(*ip, stack + sp, b);
        ++sp;
        TC_NEXT();
      }
      case Op::kCountRows:
      L_kCountRows:
        stack[sp++] = RValue::Number(static_cast<double>(b.tables[ip->index].rows));
        TC_NEXT();
      case Op::kAggregate:
      L_kAggregate : {
        const Aggregate& agg = aggregates[ip->index];
        const Table& t = b.tables[agg.table];
        RValue acc = RValue::Null();
        double count = 0;
        bool any_true = false, any_false = false;
        for (size_t r = 0; r < t.rows; ++r) {
          TC_RULES_STACK(inner);
          const RValue* top = Execute(agg.begin, b, t.cells.data() + r * t.columns, inner);
          RValue v = top != nullptr ? *top : RValue::Null();
          if (v.null) continue;
          switch (agg.kind) {
            case AggregateKind::kCount:
              count += 1;
              break;
            case AggregateKind::kCountTrue:
              count += v.integer != 0;
              break;
            case AggregateKind::kAny:
            case AggregateKind::kAll:
              (v.integer != 0 ? any_true : any_false) = true;
              break;
            case AggregateKind::kSum:
              if (acc.null) acc = agg.arg_type == Type::kNumber ? RValue::Number(0) : RValue::Integer(0);
              if (agg.arg_type == Type::kNumber)
                acc.number += v.number;
              else
                acc.integer += v.integer;
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
          case AggregateKind::kCountTrue:
            acc = RValue::Number(count);
            break;
          case AggregateKind::kAny:
            acc = RValue::Bool(any_true);
            break;
          case AggregateKind::kAll:
            acc = RValue::Bool(!any_false);
            break;
          case AggregateKind::kSum:
            if (acc.null) acc = agg.arg_type == Type::kNumber ? RValue::Number(0) : RValue::Integer(0);
            break;
          default:
            break;
        }
        stack[sp++] = acc;
        TC_NEXT();
      }
#define TC_BINARY(opcode, body)                                              \
  case Op::opcode:                                                           \
    L_##opcode : {                                                           \
      const RValue* yp = FetchOperands(*ip, b, texts, stack, sp, &constant); \
      RValue& x = stack[sp - 1];                                             \
      const RValue& y = *yp;                                                 \
      if (x.null || y.null) {                                                \
        x = RValue::Null();                                                  \
        TC_NEXT();                                                           \
      }                                                                      \
      body;                                                                  \
      TC_NEXT();                                                             \
    }
        // Binary operators, one case each so that dispatch is a single jump.
        TC_BINARY(kAddNumber, x.number += y.number)
        TC_BINARY(kSubNumber, x.number -= y.number)
        TC_BINARY(kMulNumber, x.number *= y.number)
        TC_BINARY(kDivNumber, if (y.number == 0) x = RValue::Null(); else x.number /= y.number)
        TC_BINARY(kAddInteger, x.integer += y.integer)
        TC_BINARY(kSubInteger, x.integer -= y.integer)
        TC_BINARY(kDatePlusDuration, x.integer += FloorDiv(y.integer, kMicrosPerDay))
        TC_BINARY(kDateMinusDuration, x.integer -= FloorDiv(y.integer, kMicrosPerDay))
        TC_BINARY(kDateMinusDate, x.integer = (x.integer - y.integer) * kMicrosPerDay)
        TC_BINARY(kDurationTimesNumber,
                  x.integer = static_cast<int64_t>(std::llround(static_cast<double>(x.integer) * y.number)))
        TC_BINARY(kNumberTimesDuration,
                  x = RValue::Integer(static_cast<int64_t>(std::llround(x.number * static_cast<double>(y.integer)))))
        TC_BINARY(kDurationDivNumber, if (y.number == 0) x = RValue::Null();
                  else x.integer = static_cast<int64_t>(std::llround(static_cast<double>(x.integer) / y.number)))
        TC_BINARY(kDurationDivDuration, if (y.integer == 0) x = RValue::Null();
                  else x = RValue::Number(static_cast<double>(x.integer) / static_cast<double>(y.integer)))
        TC_BINARY(kCompareNumber, x = RValue::Bool(Compare(ip->cmp, x.number, y.number)))
        TC_BINARY(kCompareInteger, x = RValue::Bool(Compare(ip->cmp, x.integer, y.integer)))
        TC_BINARY(kCompareText, x = RValue::Bool(Compare(ip->cmp, x.text(), y.text())))
#undef TC_BINARY
    }
  }
done:
#undef TC_NEXT
  return sp > 0 ? &stack[sp - 1] : nullptr;
}
#pragma GCC diagnostic pop

}  // namespace trialcore::rules
