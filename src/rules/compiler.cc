// Type checker and code generator: one walk over the syntax tree that works
// out each node's type, refuses what does not fit (with the node's position),
// and emits the typed program.
#include <algorithm>
#include <cmath>
#include <map>

#include "rules/ast.h"
#include "rules/program.h"

namespace trialcore::rules {

namespace {

struct Typed {
  Typed(Type t, const std::vector<std::string>* c = nullptr, std::string n = "")  // NOLINT: implicit from Type
      : type(t), codes(c), name(std::move(n)) {}
  Type type;
  // The code list when the value comes straight from a coded item, so that
  // comparing it with a literal that is not one of its codes is refused.
  const std::vector<std::string>* codes;
  std::string name;  // the item, for messages
};

bool IsOrdered(Type t) { return t != Type::kBool && t != Type::kCodes; }

int64_t DurationUnitMicros(std::string_view unit) {
  if (unit.starts_with("week")) return 7 * kMicrosPerDay;
  if (unit.starts_with("day")) return kMicrosPerDay;
  if (unit.starts_with("hour")) return 3'600'000'000;
  if (unit.starts_with("minute")) return 60'000'000;
  return 1'000'000;
}

std::string JoinCodes(const std::vector<std::string>& codes) {
  std::string out;
  for (const auto& c : codes) {
    if (!out.empty()) out += ", ";
    out += c;
  }
  return out;
}

Cmp ParseCmp(std::string_view op) {
  if (op == "=") return Cmp::kEq;
  if (op == "!=") return Cmp::kNe;
  if (op == "<") return Cmp::kLt;
  if (op == "<=") return Cmp::kLe;
  if (op == ">") return Cmp::kGt;
  return Cmp::kGe;
}

int StackNeed(const Node& n) {
  int need = 1;
  if (n.kind == NodeKind::kCall) {
    static const char* kAggregates[] = {"count", "sum", "any", "all"};
    bool aggregate =
        std::any_of(std::begin(kAggregates), std::end(kAggregates), [&](const char* a) { return n.text == a; }) ||
        ((n.text == "min" || n.text == "max") && n.args.size() == 1);
    if (aggregate) return 1;  // the body runs on a stack of its own
  }
  if (n.kind == NodeKind::kIn) return StackNeed(*n.args[0]);
  for (size_t i = 0; i < n.args.size(); ++i) need = std::max(need, static_cast<int>(i) + StackNeed(*n.args[i]));
  return need;
}

class Compiler {
 public:
  Compiler(const Resolver& resolver, Program& program, Diagnostic* where)
      : resolver_(resolver), p_(program), where_(where) {}

  Status Run(const Node& root) {
    if (StackNeed(root) > kMaxStack) return Error(root.pos, "the expression is nested too deeply");
    out_ = &p_.code;
    TC_ASSIGN_OR_RETURN(Typed t, Emit(root));
    p_.type = t.type;
    // Each range ends with kEndOfOps, so the evaluator needs no bounds test.
    Instr stop;
    stop.op = Op::kEndOfOps;
    p_.code.push_back(stop);
    p_.main_end = static_cast<uint32_t>(p_.code.size());
    for (size_t i = 0; i < bodies_.size(); ++i) {
      p_.aggregates[i].begin = static_cast<uint32_t>(p_.code.size());
      p_.code.insert(p_.code.end(), bodies_[i].begin(), bodies_[i].end());
      p_.code.push_back(stop);
      p_.aggregates[i].end = static_cast<uint32_t>(p_.code.size());
    }
    return Status::Ok();
  }

 private:
  Status Error(Position pos, std::string message) { return ErrorAt(pos, std::move(message), where_); }

  void Push(Op op) {
    Instr i;
    i.op = op;
    out_->push_back(i);
  }
  void PushIndex(Op op, uint32_t index) {
    Instr i;
    i.op = op;
    i.index = index;
    out_->push_back(i);
  }
  void PushInteger(int64_t v) {
    Instr i;
    i.op = Op::kPushInteger;
    i.integer = v;
    out_->push_back(i);
  }
  void PushNumber(double v) {
    Instr i;
    i.op = Op::kPushNumber;
    i.number = v;
    out_->push_back(i);
  }
  uint32_t InternText(const std::string& s) {
    p_.texts.push_back(s);
    return static_cast<uint32_t>(p_.texts.size() - 1);
  }

  Result<Typed> Emit(const Node& n) {
    switch (n.kind) {
      case NodeKind::kNumber:
        PushNumber(std::stod(n.text));
        return Typed{Type::kNumber};
      case NodeKind::kDuration:
        PushInteger(static_cast<int64_t>(std::llround(std::stod(n.text) * DurationUnitMicros(n.unit))));
        return Typed{Type::kDuration};
      case NodeKind::kString:
        PushIndex(Op::kPushText, InternText(n.text));
        return Typed{Type::kText};
      case NodeKind::kBool:
        PushInteger(n.text == "true" ? 1 : 0);
        out_->back().op = Op::kPushInteger;
        return Typed{Type::kBool};
      case NodeKind::kRef:
        return EmitRef(n);
      case NodeKind::kUnary:
        return EmitUnary(n);
      case NodeKind::kBinary:
        if (n.op == "and" || n.op == "or") return EmitLogical(n);
        if (n.op == "+" || n.op == "-" || n.op == "*" || n.op == "/") return EmitArithmetic(n);
        return EmitComparison(n);
      case NodeKind::kMissing: {
        TC_RETURN_IF_ERROR(Emit(*n.args[0]).status());  // any type may be missing
        if (!out_->empty() && out_->back().op == Op::kLoad) {
          out_->back().op = n.negated ? Op::kIsNotMissingSlot : Op::kIsMissingSlot;
        } else {
          Push(n.negated ? Op::kIsNotMissing : Op::kIsMissing);
        }
        return Typed{Type::kBool};
      }
      case NodeKind::kIn:
        return EmitIn(n);
      case NodeKind::kCall:
        return EmitCall(n);
    }
    return Error(n.pos, "unknown expression");
  }

  Result<Typed> EmitRef(const Node& n) {
    auto item = resolver_.ResolveItem(n.path);
    if (!item.ok()) return Error(n.pos, item.status().message());
    const Resolved& r = *item;
    if (r.group.empty()) {
      PushIndex(Op::kLoad, ScalarSlot(r.key, r.type));
    } else {
      if (agg_ == nullptr) {
        return Error(n.pos, JoinPath(n.path) + " is in the repeating group " + r.group +
                                " and has a value per row; read it through an aggregate such as any(), count() or "
                                "max()");
      }
      if (!agg_->group.empty() && agg_->group != r.group) {
        return Error(n.pos, JoinPath(n.path) + " is in the repeating group " + r.group + ", but this " +
                                agg_->function + "() already runs over the rows of " + agg_->group);
      }
      if (agg_->group.empty()) {
        agg_->group = r.group;
        agg_->table = TableIndex(r.group);
      }
      PushIndex(Op::kLoadColumn, ColumnIndex(agg_->table, r.key, r.type));
    }
    codes_.push_back(r.codes);
    return Typed{r.type, r.codes.empty() ? nullptr : &codes_.back(), JoinPath(n.path)};
  }

  static std::string JoinPath(const std::vector<std::string>& path) {
    std::string out;
    for (const auto& p : path) out += (out.empty() ? "" : ".") + p;
    return out;
  }

  uint32_t ScalarSlot(const std::string& key, Type type) {
    auto it = std::find(p_.scalars.begin(), p_.scalars.end(), key);
    if (it != p_.scalars.end()) return static_cast<uint32_t>(it - p_.scalars.begin());
    p_.scalars.push_back(key);
    p_.scalar_types.push_back(type);
    return static_cast<uint32_t>(p_.scalars.size() - 1);
  }

  uint32_t TableIndex(const std::string& group) {
    for (size_t i = 0; i < p_.tables.size(); ++i) {
      if (p_.tables[i].group == group) return static_cast<uint32_t>(i);
    }
    p_.tables.push_back(TableRef{group, {}, {}});
    return static_cast<uint32_t>(p_.tables.size() - 1);
  }

  uint32_t ColumnIndex(uint32_t table, const std::string& key, Type type) {
    auto& cols = p_.tables[table].column_keys;
    auto it = std::find(cols.begin(), cols.end(), key);
    if (it != cols.end()) return static_cast<uint32_t>(it - cols.begin());
    cols.push_back(key);
    p_.tables[table].column_types.push_back(type);
    return static_cast<uint32_t>(cols.size() - 1);
  }

  Result<Typed> EmitUnary(const Node& n) {
    TC_ASSIGN_OR_RETURN(Typed t, Emit(*n.args[0]));
    if (n.op == "not") {
      if (t.type != Type::kBool) return Error(n.pos, "'not' needs a condition, not a " + TypeNameOf(t));
      Push(Op::kNot);
      return Typed{Type::kBool};
    }
    if (t.type == Type::kNumber) {
      Push(Op::kNegNumber);
      return Typed{Type::kNumber};
    }
    if (t.type == Type::kDuration) {
      Push(Op::kNegInteger);
      return Typed{Type::kDuration};
    }
    return Error(n.pos, "cannot negate a " + TypeNameOf(t));
  }

  static std::string TypeNameOf(const Typed& t) { return std::string(TypeName(t.type)); }

  Result<Typed> EmitLogical(const Node& n) {
    size_t left = out_->size();
    TC_ASSIGN_OR_RETURN(Typed a, Emit(*n.args[0]));
    size_t right = out_->size();
    if (a.type != Type::kBool) {
      return Error(n.args[0]->pos,
                   "'" + n.op + "' needs conditions on both sides; the left side is a " + TypeNameOf(a));
    }
    TC_ASSIGN_OR_RETURN(Typed b, Emit(*n.args[1]));
    if (b.type != Type::kBool) {
      return Error(n.args[1]->pos,
                   "'" + n.op + "' needs conditions on both sides; the right side is a " + TypeNameOf(b));
    }
    // "X is missing or ...", the guard of most checks, folds into one
    // instruction: a presence test of X applied to the other side's value.
    // A side made only of such guards moves whole behind the other side.
    std::vector<Instr>& code = *out_;
    Op guard_op = n.op == "and" ? Op::kAndPresence : Op::kOrPresence;
    auto guards_of = [&](size_t begin, size_t end) {
      std::vector<Instr> guards;
      for (size_t i = begin; i < end; ++i) {
        const Instr& in = code[i];
        if (i == begin && (in.op == Op::kIsMissingSlot || in.op == Op::kIsNotMissingSlot)) {
          Instr g;
          g.op = guard_op;
          g.index = in.index;
          g.integer = in.op == Op::kIsMissingSlot ? 1 : 0;  // 1: the test is "is missing"
          guards.push_back(g);
        } else if (i > begin && in.op == guard_op) {
          guards.push_back(in);
        } else {
          return std::vector<Instr>();
        }
      }
      return guards;
    };
    std::vector<Instr> guards = guards_of(left, right);
    if (!guards.empty() && code.size() > right) {
      code.erase(code.begin() + static_cast<std::ptrdiff_t>(left), code.begin() + static_cast<std::ptrdiff_t>(right));
      code.insert(code.end(), guards.begin(), guards.end());
      return Typed{Type::kBool};
    }
    guards = guards_of(right, code.size());
    if (!guards.empty() && right > left) {
      code.resize(right);
      code.insert(code.end(), guards.begin(), guards.end());
      return Typed{Type::kBool};
    }
    // A range check's second half joins the first: "top and (X <= c)".
    for (size_t side : {right, left}) {
      size_t side_end = side == right ? code.size() : right;
      if (side_end - side == 1 && code[side].op == Op::kCompareSlotNumber && code.size() - 1 > 0) {
        Instr fused = code[side];
        fused.op = n.op == "and" ? Op::kAndCompareSlotNumber : Op::kOrCompareSlotNumber;
        code.erase(code.begin() + static_cast<std::ptrdiff_t>(side));
        if (code.size() > left) {  // the other side is still there to combine with
          code.push_back(fused);
          return Typed{Type::kBool};
        }
        code.insert(code.begin() + static_cast<std::ptrdiff_t>(side), fused);  // undo: nothing to combine with
        code[side].op = Op::kCompareSlotNumber;
        break;
      }
    }
    Push(n.op == "and" ? Op::kAnd : Op::kOr);
    return Typed{Type::kBool};
  }

  // "slot OP x" as one instruction, when the left operand is a single load
  // and the right one a single instruction of kind `right_kind`.
  bool FuseCompare(Op right_kind, Op fused_op, Cmp cmp, size_t left, size_t right) {
    std::vector<Instr>& code = *out_;
    if (right - left != 1 || code.size() - right != 1 || code[left].op != Op::kLoad || code[right].op != right_kind) {
      return false;
    }
    Instr fused;
    fused.op = fused_op;
    fused.cmp = cmp;
    fused.index = code[left].index;
    if (right_kind == Op::kPushNumber) {
      fused.number = code[right].number;
    } else {
      fused.integer = code[right].index;  // the second slot, or the text's index
    }
    code.resize(left);
    code.push_back(fused);
    return true;
  }

  // A single instruction that only puts an item or a constant on the stack.
  static bool IsSimple(const Instr& i) {
    return i.op == Op::kLoad || i.op == Op::kPushNumber || i.op == Op::kPushInteger || i.op == Op::kPushText;
  }

  // Emits a binary instruction over the operands' code at [left, right) and
  // [right, end), reading simple operands in place.
  void EmitBinary(Op op, Cmp cmp, size_t left, size_t right) {
    std::vector<Instr>& code = *out_;
    size_t end = code.size();
    bool a_simple = right - left == 1 && IsSimple(code[left]);
    bool b_simple = end - right == 1 && IsSimple(code[right]);
    auto is_constant = [](const Instr& i) { return i.op != Op::kLoad; };
    // Only one constant fits an instruction.
    if (a_simple && b_simple && is_constant(code[left]) && is_constant(code[right])) a_simple = false;
    Instr bin;
    bin.op = op;
    bin.cmp = cmp;
    auto mode_of = [](const Instr& i) -> uint8_t {
      return i.op == Op::kLoad ? kFromSlot : i.op == Op::kPushText ? kFromText : kFromConstant;
    };
    auto place = [&](const Instr& i, bool is_right, bool other_is_slot) {
      if (i.op == Op::kLoad) {
        if (is_right && other_is_slot) {
          bin.integer = i.index;
        } else {
          bin.index = i.index;
        }
      } else if (i.op == Op::kPushText) {
        bin.integer = i.index;
      } else {
        bin.integer = i.integer;  // the bits of a number or an integer alike
      }
    };
    uint8_t a_mode = kFromStack, b_mode = kFromStack;
    if (a_simple) {
      a_mode = mode_of(code[left]);
      place(code[left], false, false);
    }
    if (b_simple) {
      b_mode = mode_of(code[right]);
      place(code[right], true, a_mode == kFromSlot);
    }
    if (b_simple) code.erase(code.begin() + static_cast<std::ptrdiff_t>(right));
    if (a_simple) code.erase(code.begin() + static_cast<std::ptrdiff_t>(left));
    bin.modes = static_cast<uint8_t>(a_mode | (b_mode << 2));
    code.push_back(bin);
  }

  Result<Typed> EmitArithmetic(const Node& n) {
    size_t left = out_->size();
    TC_ASSIGN_OR_RETURN(Typed a, Emit(*n.args[0]));
    size_t right = out_->size();
    TC_ASSIGN_OR_RETURN(Typed b, Emit(*n.args[1]));
    Type x = a.type, y = b.type;
    const std::string& op = n.op;
    auto emit = [&](Op code, Type result) -> Result<Typed> {
      EmitBinary(code, Cmp::kEq, left, right);
      return Typed{result};
    };
    if (x == Type::kNumber && y == Type::kNumber) {
      if (op == "+") return emit(Op::kAddNumber, Type::kNumber);
      if (op == "-") return emit(Op::kSubNumber, Type::kNumber);
      if (op == "*") return emit(Op::kMulNumber, Type::kNumber);
      return emit(Op::kDivNumber, Type::kNumber);
    }
    if (x == Type::kDate && y == Type::kDuration && (op == "+" || op == "-")) {
      return emit(op == "+" ? Op::kDatePlusDuration : Op::kDateMinusDuration, Type::kDate);
    }
    if (x == Type::kDate && y == Type::kDate && op == "-") return emit(Op::kDateMinusDate, Type::kDuration);
    if ((x == Type::kDateTime || x == Type::kTime) && y == Type::kDuration && (op == "+" || op == "-")) {
      if (x == Type::kTime) return Error(n.pos, "time of day arithmetic is not supported; compare times instead");
      return emit(op == "+" ? Op::kAddInteger : Op::kSubInteger, Type::kDateTime);
    }
    if (x == Type::kDateTime && y == Type::kDateTime && op == "-") return emit(Op::kSubInteger, Type::kDuration);
    if (x == Type::kDuration && y == Type::kDuration && (op == "+" || op == "-")) {
      return emit(op == "+" ? Op::kAddInteger : Op::kSubInteger, Type::kDuration);
    }
    if (x == Type::kDuration && y == Type::kDuration && op == "/") return emit(Op::kDurationDivDuration, Type::kNumber);
    if (x == Type::kDuration && y == Type::kNumber && op == "*") return emit(Op::kDurationTimesNumber, Type::kDuration);
    if (x == Type::kNumber && y == Type::kDuration && op == "*") return emit(Op::kNumberTimesDuration, Type::kDuration);
    if (x == Type::kDuration && y == Type::kNumber && op == "/") return emit(Op::kDurationDivNumber, Type::kDuration);
    return Error(n.pos, "cannot apply '" + op + "' to a " + TypeNameOf(a) + " and a " + TypeNameOf(b));
  }

  Status CheckCode(const Typed& coded, const Node& literal) {
    if (coded.codes == nullptr || literal.kind != NodeKind::kString) return Status::Ok();
    if (std::find(coded.codes->begin(), coded.codes->end(), literal.text) != coded.codes->end()) return Status::Ok();
    return Error(literal.pos, "\"" + literal.text + "\" is not a code of " + coded.name + " (its codes are " +
                                  JoinCodes(*coded.codes) + ")");
  }

  Result<Typed> EmitComparison(const Node& n) {
    size_t left = out_->size();
    TC_ASSIGN_OR_RETURN(Typed a, Emit(*n.args[0]));
    size_t right = out_->size();
    TC_ASSIGN_OR_RETURN(Typed b, Emit(*n.args[1]));
    Cmp cmp = ParseCmp(n.op);
    for (const Typed* t : {&a, &b}) {
      if (t->type == Type::kCodes) {
        return Error(n.pos, t->name + " holds several codes; test one with contains(" + t->name + ", \"CODE\")");
      }
    }
    if (a.type != b.type) {
      return Error(n.pos, "cannot compare a " + TypeNameOf(a) + " with a " + TypeNameOf(b));
    }
    if (!IsOrdered(a.type) && cmp != Cmp::kEq && cmp != Cmp::kNe) {
      return Error(n.pos, "a " + TypeNameOf(a) + " can only be compared with = or !=");
    }
    TC_RETURN_IF_ERROR(CheckCode(a, *n.args[1]));
    TC_RETURN_IF_ERROR(CheckCode(b, *n.args[0]));
    // The commonest shapes, an item against a constant, an item or a code,
    // become one instruction each.
    bool fused = false;
    if (a.type == Type::kNumber) {
      fused = FuseCompare(Op::kLoad, Op::kCompareSlotSlot, cmp, left, right) ||
              FuseCompare(Op::kPushNumber, Op::kCompareSlotNumber, cmp, left, right);
    } else if (a.type == Type::kText) {
      fused = FuseCompare(Op::kPushText, Op::kCompareSlotText, cmp, left, right);
    }
    if (fused) return Typed{Type::kBool};
    Op op = a.type == Type::kNumber ? Op::kCompareNumber
            : a.type == Type::kText ? Op::kCompareText
                                    : Op::kCompareInteger;
    EmitBinary(op, cmp, left, right);
    return Typed{Type::kBool};
  }

  // A literal of the list after 'in', or date("...") and friends.
  Result<RValue> ConstantOf(const Node& n, Type want, const Typed& subject) {
    auto wrong = [&](std::string_view what) {
      return Error(n.pos, "the list after 'in' holds " + std::string(what) + ", but the value tested is a " +
                              TypeNameOf(subject));
    };
    switch (n.kind) {
      case NodeKind::kNumber:
        if (want != Type::kNumber) return wrong("a number");
        return RValue::Number(std::stod(n.text));
      case NodeKind::kString:
        if (want != Type::kText) return wrong("text");
        TC_RETURN_IF_ERROR(CheckCode(subject, n));
        return RValue::Text(p_.texts[InternText(n.text)]);
      case NodeKind::kBool:
        if (want != Type::kBool) return wrong("a condition");
        return RValue::Bool(n.text == "true");
      case NodeKind::kDuration:
        if (want != Type::kDuration) return wrong("a duration");
        return RValue::Integer(static_cast<int64_t>(std::llround(std::stod(n.text) * DurationUnitMicros(n.unit))));
      case NodeKind::kCall:
        if ((n.text == "date" || n.text == "datetime" || n.text == "time") && n.args.size() == 1 &&
            n.args[0]->kind == NodeKind::kString) {
          Type t = n.text == "date" ? Type::kDate : n.text == "datetime" ? Type::kDateTime : Type::kTime;
          if (want != t) return wrong("a " + n.text);
          auto v = ParseValue(t, n.args[0]->text);
          if (!v.ok()) return Error(n.args[0]->pos, v.status().message());
          return *v;
        }
        break;
      default:
        break;
    }
    return Error(n.pos, "the list after 'in' may only hold literal values");
  }

  Result<Typed> EmitIn(const Node& n) {
    TC_ASSIGN_OR_RETURN(Typed subject, Emit(*n.args[0]));
    if (subject.type == Type::kCodes) {
      return Error(n.pos,
                   subject.name + " holds several codes; test one with contains(" + subject.name + ", \"CODE\")");
    }
    InSet set;
    set.type = subject.type;
    for (size_t i = 1; i < n.args.size(); ++i) {
      TC_ASSIGN_OR_RETURN(RValue v, ConstantOf(*n.args[i], subject.type, subject));
      set.values.push_back(v);
    }
    p_.sets.push_back(std::move(set));
    Instr i;
    i.op = Op::kInSet;
    i.index = static_cast<uint32_t>(p_.sets.size() - 1);
    i.cmp = n.negated ? Cmp::kNe : Cmp::kEq;
    if (!out_->empty() && out_->back().op == Op::kLoad) {
      i.op = Op::kInSetSlot;
      i.integer = out_->back().index;
      out_->pop_back();
    }
    out_->push_back(i);
    return Typed{Type::kBool};
  }

  Status Arity(const Node& n, size_t lo, size_t hi) {
    if (n.args.size() >= lo && n.args.size() <= hi) return Status::Ok();
    std::string want = lo == hi ? std::to_string(lo) : std::to_string(lo) + " to " + std::to_string(hi);
    if (hi == SIZE_MAX) want = "at least " + std::to_string(lo);
    return Error(n.pos, n.text + "() takes " + want + " argument" + (hi == 1 && lo == 1 ? "" : "s") + ", not " +
                            std::to_string(n.args.size()));
  }

  Status Want(const Node& n, size_t arg, const Typed& got, Type want) {
    if (got.type == want) return Status::Ok();
    return Error(n.args[arg]->pos,
                 n.text + "() needs a " + std::string(TypeName(want)) + " here, not a " + TypeNameOf(got));
  }

  void EmitCallInstr(Function f, size_t args, int64_t flag = 0) {
    Instr i;
    i.op = Op::kCall;
    i.index = static_cast<uint32_t>(f);
    i.count = static_cast<uint8_t>(args);
    i.integer = flag;
    out_->push_back(i);
  }

  Result<Typed> EmitCall(const Node& n) {
    const std::string& f = n.text;
    if (f == "count" || f == "sum" || f == "any" || f == "all" || ((f == "min" || f == "max") && n.args.size() == 1)) {
      return EmitAggregate(n);
    }
    if (f == "today" || f == "now") {
      TC_RETURN_IF_ERROR(Arity(n, 0, 0));
      EmitCallInstr(f == "today" ? Function::kToday : Function::kNow, 0);
      return Typed{f == "today" ? Type::kDate : Type::kDateTime};
    }
    if (f == "date" || f == "datetime" || f == "time") {
      TC_RETURN_IF_ERROR(Arity(n, 1, 1));
      if (n.args[0]->kind == NodeKind::kString) {
        Typed subject{f == "date" ? Type::kDate : f == "datetime" ? Type::kDateTime : Type::kTime};
        TC_ASSIGN_OR_RETURN(RValue v, ConstantOf(n, subject.type, subject));
        PushInteger(v.integer);
        return subject;
      }
      if (f != "date") return Error(n.pos, f + "() takes a text literal such as " + f + "(\"...\")");
      TC_ASSIGN_OR_RETURN(Typed t, Emit(*n.args[0]));
      TC_RETURN_IF_ERROR(Want(n, 0, t, Type::kText));
      EmitCallInstr(Function::kDateFromText, 1);
      return Typed{Type::kDate};
    }
    struct Simple {
      const char* name;
      Function fn;
      std::vector<Type> args;
      Type result;
    };
    static const Simple kSimple[] = {
        {"abs", Function::kAbs, {Type::kNumber}, Type::kNumber},
        {"floor", Function::kFloor, {Type::kNumber}, Type::kNumber},
        {"ceil", Function::kCeil, {Type::kNumber}, Type::kNumber},
        {"length", Function::kLength, {Type::kText}, Type::kNumber},
        {"years_between", Function::kYearsBetween, {Type::kDate, Type::kDate}, Type::kNumber},
        {"days", Function::kDays, {Type::kDuration}, Type::kNumber},
        {"hours", Function::kHours, {Type::kDuration}, Type::kNumber},
        {"date_of", Function::kDateOf, {Type::kDateTime}, Type::kDate},
    };
    for (const Simple& s : kSimple) {
      if (f != s.name) continue;
      TC_RETURN_IF_ERROR(Arity(n, s.args.size(), s.args.size()));
      for (size_t i = 0; i < s.args.size(); ++i) {
        TC_ASSIGN_OR_RETURN(Typed t, Emit(*n.args[i]));
        TC_RETURN_IF_ERROR(Want(n, i, t, s.args[i]));
      }
      if (s.fn == Function::kAbs) {
        Push(Op::kAbsNumber);
      } else {
        EmitCallInstr(s.fn, s.args.size());
      }
      return Typed{s.result};
    }
    if (f == "round") {
      TC_RETURN_IF_ERROR(Arity(n, 1, 2));
      for (size_t i = 0; i < n.args.size(); ++i) {
        TC_ASSIGN_OR_RETURN(Typed t, Emit(*n.args[i]));
        TC_RETURN_IF_ERROR(Want(n, i, t, Type::kNumber));
      }
      EmitCallInstr(Function::kRound, n.args.size());
      return Typed{Type::kNumber};
    }
    if (f == "contains") {
      TC_RETURN_IF_ERROR(Arity(n, 2, 2));
      TC_ASSIGN_OR_RETURN(Typed set, Emit(*n.args[0]));
      TC_RETURN_IF_ERROR(Want(n, 0, set, Type::kCodes));
      TC_ASSIGN_OR_RETURN(Typed code, Emit(*n.args[1]));
      TC_RETURN_IF_ERROR(Want(n, 1, code, Type::kText));
      TC_RETURN_IF_ERROR(CheckCode(set, *n.args[1]));
      EmitCallInstr(Function::kContains, 2);
      return Typed{Type::kBool};
    }
    if (f == "if" || f == "coalesce" || f == "min" || f == "max") {
      if (f == "if") {
        TC_RETURN_IF_ERROR(Arity(n, 3, 3));
      } else {
        TC_RETURN_IF_ERROR(Arity(n, 2, SIZE_MAX));
      }
      std::optional<Typed> result;
      for (size_t i = 0; i < n.args.size(); ++i) {
        TC_ASSIGN_OR_RETURN(Typed t, Emit(*n.args[i]));
        if (f == "if" && i == 0) {
          TC_RETURN_IF_ERROR(Want(n, 0, t, Type::kBool));
          continue;
        }
        if (!result) {
          result = t;
          if ((f == "min" || f == "max") && !IsOrdered(t.type)) {
            return Error(n.args[i]->pos, f + "() needs ordered values, not a " + TypeNameOf(t));
          }
        } else if (t.type != result->type) {
          return Error(n.args[i]->pos, f + "() needs values of one type; this is a " + TypeNameOf(t) + " after a " +
                                           TypeNameOf(*result));
        }
      }
      Function fn = f == "if"         ? Function::kIf
                    : f == "coalesce" ? Function::kCoalesce
                    : f == "min"      ? Function::kMinOf
                                      : Function::kMaxOf;
      // The flag tells min/max how to compare: 1 numbers, 2 text, 0 integers.
      int64_t flag = result->type == Type::kNumber ? 1 : result->type == Type::kText ? 2 : 0;
      EmitCallInstr(fn, n.args.size(), flag);
      return Typed{result->type};
    }
    return Error(n.pos, "unknown function " + f + "()");
  }

  struct AggregateScope {
    std::string function;
    std::string group;
    uint32_t table = 0;
  };

  Result<Typed> EmitAggregate(const Node& n) {
    const std::string& f = n.text;
    TC_RETURN_IF_ERROR(Arity(n, 1, 1));
    if (agg_ != nullptr) return Error(n.pos, "aggregates cannot be nested inside " + agg_->function + "()");
    const Node& arg = *n.args[0];
    if (f == "count" && arg.kind == NodeKind::kRef && !resolver_.ResolveItem(arg.path).ok()) {
      auto group = resolver_.ResolveGroup(arg.path);
      if (!group.ok()) return Error(arg.pos, group.status().message());
      PushIndex(Op::kCountRows, TableIndex(*group));
      return Typed{Type::kNumber};
    }
    AggregateScope scope{f, "", 0};
    agg_ = &scope;
    std::vector<Instr> body;
    std::vector<Instr>* saved = out_;
    out_ = &body;
    auto typed = Emit(arg);
    out_ = saved;
    agg_ = nullptr;
    if (!typed.ok()) return typed.status();
    if (scope.group.empty()) {
      return Error(arg.pos, f + "() runs over the rows of a repeating group, but nothing in its argument is in one");
    }
    Type t = typed->type;
    AggregateKind kind;
    Type result = Type::kNumber;
    if (f == "count") {
      kind = t == Type::kBool ? AggregateKind::kCountTrue : AggregateKind::kCount;
    } else if (f == "sum") {
      if (t != Type::kNumber && t != Type::kDuration)
        return Error(arg.pos, "sum() needs numbers or durations, not a " + std::string(TypeName(t)));
      kind = AggregateKind::kSum;
      result = t;
    } else if (f == "min" || f == "max") {
      if (!IsOrdered(t)) return Error(arg.pos, f + "() needs ordered values, not a " + std::string(TypeName(t)));
      kind = f == "min" ? AggregateKind::kMin : AggregateKind::kMax;
      result = t;
    } else {
      if (t != Type::kBool) return Error(arg.pos, f + "() needs a condition, not a " + std::string(TypeName(t)));
      kind = f == "any" ? AggregateKind::kAny : AggregateKind::kAll;
      result = Type::kBool;
    }
    p_.aggregates.push_back(Aggregate{kind, t, scope.table, 0, 0});
    bodies_.push_back(std::move(body));
    PushIndex(Op::kAggregate, static_cast<uint32_t>(p_.aggregates.size() - 1));
    return Typed{result};
  }

  const Resolver& resolver_;
  Program& p_;
  Diagnostic* where_;
  std::vector<Instr>* out_ = nullptr;
  std::vector<std::vector<Instr>> bodies_;
  AggregateScope* agg_ = nullptr;
  std::deque<std::vector<std::string>> codes_;  // code lists Typed points into
};

}  // namespace

Result<Expression> Expression::Compile(std::string_view source, const Resolver& resolver, Diagnostic* where) {
  TC_ASSIGN_OR_RETURN(std::unique_ptr<Node> root, Parse(source, where));
  auto program = std::make_shared<Program>();
  program->source = std::string(source);
  Compiler compiler(resolver, *program, where);
  TC_RETURN_IF_ERROR(compiler.Run(*root));
  return Expression(std::move(program));
}

}  // namespace trialcore::rules
