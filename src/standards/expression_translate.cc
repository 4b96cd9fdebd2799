// A recursive-descent parser for both dialects (they differ only in tokens),
// and a writer that fits literals to the references they meet.
#include "standards/expression_translate.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <map>

namespace trialcore::standards {
namespace {

using Node = ExprNode;
using NodePtr = std::unique_ptr<ExprNode>;

bool IsIdentStart(char c) { return std::isalpha(static_cast<unsigned char>(c)) || c == '_'; }
bool IsIdentChar(char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_'; }

std::string Lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

class Parser {
 public:
  Parser(std::string_view text, ExpressionDialect dialect, TranslateError* error)
      : text_(text), dialect_(dialect), error_(error) {}

  NodePtr ParseAll() {
    NodePtr n = Or();
    if (!n) return nullptr;
    Skip();
    if (pos_ < text_.size()) return Fail(pos_, "unexpected '" + std::string(1, text_[pos_]) + "'");
    return n;
  }

 private:
  NodePtr Fail(size_t at, std::string message) {
    if (!failed_) *error_ = {at, std::move(message)};
    failed_ = true;
    return nullptr;
  }

  void Skip() {
    while (pos_ < text_.size() && std::isspace(static_cast<unsigned char>(text_[pos_]))) ++pos_;
  }

  // A word operator ("and", "or", "not"), case-insensitive, not part of a longer name.
  bool Word(std::string_view word) {
    Skip();
    if (text_.size() - pos_ < word.size()) return false;
    if (Lower(std::string(text_.substr(pos_, word.size()))) != word) return false;
    if (pos_ + word.size() < text_.size() && IsIdentChar(text_[pos_ + word.size()])) return false;
    pos_ += word.size();
    return true;
  }

  bool Sym(std::string_view sym) {
    Skip();
    if (text_.substr(pos_, sym.size()) != sym) return false;
    pos_ += sym.size();
    return true;
  }

  NodePtr MakeBinary(std::string op, NodePtr a, NodePtr b, size_t at) {
    auto n = std::make_unique<Node>();
    n->type = Node::Type::kBinary;
    n->text = std::move(op);
    n->offset = at;
    n->args.push_back(std::move(a));
    n->args.push_back(std::move(b));
    return n;
  }

  NodePtr Or() {
    NodePtr a = And();
    while (a) {
      Skip();
      size_t at = pos_;
      bool redcap = dialect_ == ExpressionDialect::kRedcap;
      if (!(redcap ? Word("or") : Sym("||"))) break;
      NodePtr b = And();
      if (!b) return nullptr;
      a = MakeBinary("or", std::move(a), std::move(b), at);
    }
    return a;
  }

  NodePtr And() {
    NodePtr a = Not();
    while (a) {
      Skip();
      size_t at = pos_;
      bool redcap = dialect_ == ExpressionDialect::kRedcap;
      if (!(redcap ? Word("and") : Sym("&&"))) break;
      NodePtr b = Not();
      if (!b) return nullptr;
      a = MakeBinary("and", std::move(a), std::move(b), at);
    }
    return a;
  }

  NodePtr Not() {
    Skip();
    size_t at = pos_;
    bool is_not = dialect_ == ExpressionDialect::kRedcap ? Word("not") : (Peek('!') && !PeekAt(1, '=') && Sym("!"));
    if (!is_not) return Comparison();
    NodePtr a = Not();
    if (!a) return nullptr;
    auto n = std::make_unique<Node>();
    n->type = Node::Type::kUnary;
    n->text = "not";
    n->offset = at;
    n->args.push_back(std::move(a));
    return n;
  }

  bool Peek(char c) {
    Skip();
    return pos_ < text_.size() && text_[pos_] == c;
  }
  bool PeekAt(size_t ahead, char c) { return pos_ + ahead < text_.size() && text_[pos_ + ahead] == c; }

  NodePtr Comparison() {
    NodePtr a = Sum();
    if (!a) return nullptr;
    Skip();
    size_t at = pos_;
    static const std::pair<const char*, const char*> kRedcapOps[] = {
        {"<>", "!="}, {"!=", "!="}, {"<=", "<="}, {">=", ">="}, {"=", "="}, {"<", "<"}, {">", ">"}};
    static const std::pair<const char*, const char*> kOpenEdcOps[] = {{"==", "="},  {"!=", "!="}, {"<=", "<="},
                                                                      {">=", ">="}, {"<", "<"},   {">", ">"}};
    const auto* begin = dialect_ == ExpressionDialect::kRedcap ? std::begin(kRedcapOps) : std::begin(kOpenEdcOps);
    const auto* end = dialect_ == ExpressionDialect::kRedcap ? std::end(kRedcapOps) : std::end(kOpenEdcOps);
    for (const auto* op = begin; op != end; ++op) {
      if (Sym(op->first)) {
        NodePtr b = Sum();
        if (!b) return nullptr;
        return MakeBinary(op->second, std::move(a), std::move(b), at);
      }
    }
    if (dialect_ == ExpressionDialect::kOpenEdc && Peek('='))
      return Fail(pos_, "'=' assigns in OpenEDC; compare with '=='");
    return a;
  }

  NodePtr Sum() {
    NodePtr a = Product();
    while (a) {
      Skip();
      size_t at = pos_;
      std::string op;
      if (Sym("+")) {
        op = "+";
      } else if (Peek('-')) {
        ++pos_;
        op = "-";
      } else {
        break;
      }
      NodePtr b = Product();
      if (!b) return nullptr;
      a = MakeBinary(op, std::move(a), std::move(b), at);
    }
    return a;
  }

  NodePtr Product() {
    NodePtr a = Unary();
    while (a) {
      Skip();
      size_t at = pos_;
      std::string op;
      if (Sym("*")) {
        op = "*";
      } else if (Sym("/")) {
        op = "/";
      } else {
        break;
      }
      NodePtr b = Unary();
      if (!b) return nullptr;
      a = MakeBinary(op, std::move(a), std::move(b), at);
    }
    return a;
  }

  NodePtr Unary() {
    Skip();
    size_t at = pos_;
    if (Sym("-")) {
      NodePtr a = Unary();
      if (!a) return nullptr;
      auto n = std::make_unique<Node>();
      n->type = Node::Type::kUnary;
      n->text = "-";
      n->offset = at;
      n->args.push_back(std::move(a));
      return n;
    }
    return Power();
  }

  NodePtr Power() {
    NodePtr a = Primary();
    if (!a) return nullptr;
    Skip();
    size_t at = pos_;
    if (Sym("^")) {
      NodePtr b = Unary();
      if (!b) return nullptr;
      return MakeBinary("^", std::move(a), std::move(b), at);
    }
    return a;
  }

  NodePtr Primary() {
    Skip();
    size_t at = pos_;
    if (pos_ >= text_.size()) return Fail(pos_, "the expression ends where a value was expected");
    char c = text_[pos_];
    if (c == '(') {
      ++pos_;
      NodePtr n = Or();
      if (!n) return nullptr;
      if (!Sym(")")) return Fail(pos_, "')' expected");
      return n;
    }
    if (std::isdigit(static_cast<unsigned char>(c)) ||
        (c == '.' && pos_ + 1 < text_.size() && std::isdigit(static_cast<unsigned char>(text_[pos_ + 1])))) {
      size_t start = pos_;
      while (pos_ < text_.size() && (std::isdigit(static_cast<unsigned char>(text_[pos_])) || text_[pos_] == '.')) {
        ++pos_;
      }
      auto n = std::make_unique<Node>();
      n->type = Node::Type::kNumber;
      n->text = std::string(text_.substr(start, pos_ - start));
      if (n->text.front() == '.') n->text.insert(n->text.begin(), '0');
      n->offset = at;
      return n;
    }
    if (c == '"' || (c == '\'' && dialect_ == ExpressionDialect::kRedcap)) {
      size_t close = text_.find(c, pos_ + 1);
      if (close == std::string_view::npos) return Fail(at, "the text that starts here has no closing quote");
      auto n = std::make_unique<Node>();
      n->type = Node::Type::kString;
      n->text = std::string(text_.substr(pos_ + 1, close - pos_ - 1));
      n->offset = at;
      pos_ = close + 1;
      return n;
    }
    if (c == '[' && dialect_ == ExpressionDialect::kRedcap) {
      auto n = std::make_unique<Node>();
      n->type = Node::Type::kRef;
      n->offset = at;
      while (pos_ < text_.size() && text_[pos_] == '[') {
        size_t close = text_.find(']', pos_);
        if (close == std::string_view::npos) return Fail(pos_, "'[' without a closing ']'");
        std::string part(text_.substr(pos_ + 1, close - pos_ - 1));
        if (part.empty()) return Fail(pos_, "an empty reference '[]'");
        n->ref_parts.push_back(part);
        pos_ = close + 1;
      }
      n->text = std::string(text_.substr(at, pos_ - at));
      return n;
    }
    if (IsIdentStart(c)) {
      size_t start = pos_;
      // OpenEDC names items by OID, which may hold dots, and a group's item
      // as GROUP-ITEM; REDCap's names are plain.
      auto ident_char = [&](char ch) {
        return IsIdentChar(ch) || (dialect_ == ExpressionDialect::kOpenEdc && ch == '.');
      };
      while (pos_ < text_.size() && ident_char(text_[pos_])) ++pos_;
      std::string name(text_.substr(start, pos_ - start));
      Skip();
      if (pos_ < text_.size() && text_[pos_] == '(') {
        ++pos_;
        auto n = std::make_unique<Node>();
        n->type = Node::Type::kCall;
        n->text = Lower(name);
        n->offset = at;
        if (!Sym(")")) {
          while (true) {
            NodePtr arg = Or();
            if (!arg) return nullptr;
            n->args.push_back(std::move(arg));
            if (Sym(")")) break;
            if (!Sym(",")) return Fail(pos_, "',' or ')' expected in the arguments of " + name + "()");
          }
        }
        return n;
      }
      if (dialect_ == ExpressionDialect::kRedcap) {
        std::string word = Lower(name);
        if (word == "true" || word == "false") {
          auto n = std::make_unique<Node>();
          n->type = Node::Type::kNumber;
          n->text = word == "true" ? "1" : "0";
          n->offset = at;
          return n;
        }
        return Fail(at, "'" + name + "' is not a field: REDCap names fields in brackets, [" + name + "]");
      }
      auto n = std::make_unique<Node>();
      n->type = Node::Type::kRef;
      n->offset = at;
      // GROUP-ITEM: a '-' directly between two names, no spaces.
      if (pos_ == start + name.size() && pos_ + 1 < text_.size() && text_[pos_] == '-' &&
          IsIdentStart(text_[pos_ + 1])) {
        size_t item_start = ++pos_;
        while (pos_ < text_.size() && ident_char(text_[pos_])) ++pos_;
        n->ref_parts = {name, std::string(text_.substr(item_start, pos_ - item_start))};
      } else {
        n->ref_parts = {name};
      }
      n->text = std::string(text_.substr(at, pos_ - at));
      return n;
    }
    return Fail(at, "unexpected '" + std::string(1, c) + "'");
  }

  std::string_view text_;
  ExpressionDialect dialect_;
  TranslateError* error_;
  size_t pos_ = 0;
  bool failed_ = false;
};

struct Rendered {
  Rendered(std::string text_in, ValueKind kind_in, bool literal_in = false, bool empty_in = false,
           std::string value_in = "")
      : text(std::move(text_in)),
        kind(kind_in),
        literal(literal_in),
        empty_text(empty_in),
        literal_value(std::move(value_in)) {}
  std::string text;
  ValueKind kind = ValueKind::kUnknown;
  bool literal = false;       // a number or text written in the source
  bool empty_text = false;    // "" (REDCap's blank)
  std::string literal_value;  // the number's or text's own characters
};

bool LooksNumeric(const std::string& s) {
  if (s.empty()) return false;
  char* end = nullptr;
  std::strtod(s.c_str(), &end);
  return end == s.c_str() + s.size();
}

bool IsIsoDate(const std::string& s) {
  return s.size() == 10 && s[4] == '-' && s[7] == '-' && std::all_of(s.begin(), s.end(), [](char c) {
           return std::isdigit(static_cast<unsigned char>(c)) || c == '-';
         });
}

class Renderer {
 public:
  Renderer(const RefResolver& resolve, TranslateError* error) : resolve_(resolve), error_(error) {}

  std::optional<Rendered> Render(const Node& n) {
    switch (n.type) {
      case Node::Type::kNumber:
        return Rendered{n.text, ValueKind::kNumber, true, false, n.text};
      case Node::Type::kString: {
        Rendered r{RuleString(n.text), ValueKind::kText, true, n.text.empty(), n.text};
        if (Lower(n.text) == "today") r = Rendered{"today()", ValueKind::kDate, false, false, ""};
        if (Lower(n.text) == "now") r = Rendered{"now()", ValueKind::kDateTime, false, false, ""};
        return r;
      }
      case Node::Type::kRef: {
        auto ref = resolve_(n);
        if (!ref.ok()) return Fail(n.offset, ref.status().message());
        return Rendered{ref->text, ref->kind, false, false, ""};
      }
      case Node::Type::kUnary: {
        auto a = Render(*n.args[0]);
        if (!a) return std::nullopt;
        if (n.text == "not") return Rendered{"not (" + a->text + ")", ValueKind::kBoolean};
        return Rendered{"-" + Paren(*a), ValueKind::kNumber};
      }
      case Node::Type::kBinary:
        return Binary(n);
      case Node::Type::kCall:
        return Call(n);
    }
    return std::nullopt;
  }

 private:
  std::optional<Rendered> Fail(size_t at, std::string message) {
    if (!failed_) *error_ = {at, std::move(message)};
    failed_ = true;
    return std::nullopt;
  }

  static std::string Paren(const Rendered& r) {
    if (r.literal || r.text.find_first_of(" ") == std::string::npos) return r.text;
    return "(" + r.text + ")";
  }

  // A literal written as the kind of value it is compared with.
  std::optional<Rendered> Fit(const Rendered& lit, ValueKind kind, size_t at) {
    if (!lit.literal) return lit;
    switch (kind) {
      case ValueKind::kCode:
      case ValueKind::kText:
        return Rendered{RuleString(lit.literal_value), kind, true, false, lit.literal_value};
      case ValueKind::kNumber:
        if (LooksNumeric(lit.literal_value)) return Rendered{lit.literal_value, kind, true, false, lit.literal_value};
        return Fail(at, "'" + lit.literal_value + "' is not a number, and is compared with one");
      case ValueKind::kBoolean: {
        std::string v = Lower(lit.literal_value);
        if (v == "1" || v == "true" || v == "yes") return Rendered{"true", kind, true, false, v};
        if (v == "0" || v == "false" || v == "no") return Rendered{"false", kind, true, false, v};
        return Fail(at, "'" + lit.literal_value + "' is compared with a yes/no value; only 1, 0, true or false can be");
      }
      case ValueKind::kDate:
        if (IsIsoDate(lit.literal_value)) return Rendered{"date(" + RuleString(lit.literal_value) + ")", kind};
        return Fail(at, "'" + lit.literal_value + "' is compared with a date but is not one (YYYY-MM-DD)");
      case ValueKind::kDateTime:
      case ValueKind::kTime:
        return Fail(at, "a literal compared with a date and time or time cannot be translated");
      case ValueKind::kUnknown:
        return lit;
    }
    return lit;
  }

  std::optional<Rendered> Binary(const Node& n) {
    const std::string& op = n.text;
    if (op == "^") {
      // Whole powers only: the rule language has no power operator.
      const Node& e = *n.args[1];
      int power = e.type == Node::Type::kNumber ? std::atoi(e.text.c_str()) : 0;
      if (e.type != Node::Type::kNumber || e.text.find('.') != std::string::npos || power < 1 || power > 4) {
        return Fail(n.offset, "only powers 1 to 4 (x^2) can be translated; the rule language has no '^'");
      }
      auto a = Render(*n.args[0]);
      if (!a) return std::nullopt;
      std::string out = Paren(*a);
      for (int i = 1; i < power; ++i) out += " * " + Paren(*a);
      return Rendered{power == 1 ? out : "(" + out + ")", ValueKind::kNumber};
    }
    auto a = Render(*n.args[0]);
    if (!a) return std::nullopt;
    auto b = Render(*n.args[1]);
    if (!b) return std::nullopt;
    if (op == "and" || op == "or") return Rendered{Paren(*a) + " " + op + " " + Paren(*b), ValueKind::kBoolean};
    if (op == "+" || op == "-" || op == "*" || op == "/") {
      ValueKind kind = ValueKind::kNumber;
      if (op == "-" && a->kind == ValueKind::kDate && b->kind == ValueKind::kDate) kind = ValueKind::kUnknown;
      return Rendered{Paren(*a) + " " + op + " " + Paren(*b), kind};
    }
    // A comparison: REDCap's "" is a blank value.
    if (b->empty_text || a->empty_text) {
      const Rendered& other = b->empty_text ? *a : *b;
      if (op == "=") return Rendered{Paren(other) + " is missing", ValueKind::kBoolean};
      if (op == "!=") return Rendered{Paren(other) + " is not missing", ValueKind::kBoolean};
      return Fail(n.offset, "a blank value (\"\") can only be compared with = or <>");
    }
    if (a->literal && !b->literal) {
      a = Fit(*a, b->kind, n.args[0]->offset);
    } else if (b->literal && !a->literal) {
      b = Fit(*b, a->kind, n.args[1]->offset);
    }
    if (!a || !b) return std::nullopt;
    return Rendered{a->text + " " + op + " " + b->text, ValueKind::kBoolean};
  }

  std::optional<Rendered> Call(const Node& n) {
    const std::string& f = n.text;
    std::vector<Rendered> args;
    for (const auto& a : n.args) {
      auto r = Render(*a);
      if (!r) return std::nullopt;
      args.push_back(*r);
    }
    auto arity = [&](size_t lo, size_t hi) -> bool {
      if (args.size() >= lo && args.size() <= hi) return true;
      Fail(n.offset, f + "() takes " + std::to_string(lo) + (hi == lo ? "" : " to " + std::to_string(hi)) +
                         " arguments, not " + std::to_string(args.size()));
      return false;
    };
    auto joined = [&](std::string_view sep) {
      std::string out;
      for (const auto& a : args) out += (out.empty() ? "" : std::string(sep)) + a.text;
      return out;
    };
    if (f == "round" || f == "abs") {
      if (!arity(1, f == "round" ? 2 : 1)) return std::nullopt;
      return Rendered{f + "(" + joined(", ") + ")", ValueKind::kNumber};
    }
    if (f == "rounddown" || f == "roundup") {
      if (!arity(1, 2)) return std::nullopt;
      if (args.size() == 2 && args[1].literal_value != "0") {
        return Fail(n.offset, f + "() to decimal places cannot be translated; only to whole numbers");
      }
      return Rendered{std::string(f == "rounddown" ? "floor" : "ceil") + "(" + args[0].text + ")", ValueKind::kNumber};
    }
    if (f == "min" || f == "max") {
      if (!arity(2, 64)) return std::nullopt;
      return Rendered{f + "(" + joined(", ") + ")", ValueKind::kNumber};
    }
    if (f == "sum" || f == "mean") {
      // REDCap skips blank arguments of sum(); mean() of blanks is blank.
      if (!arity(1, 64)) return std::nullopt;
      std::string out;
      for (const auto& a : args)
        out += (out.empty() ? "" : " + ") + (f == "sum" ? "coalesce(" + a.text + ", 0)" : Paren(a));
      if (f == "mean") out = "(" + out + ") / " + std::to_string(args.size());
      return Rendered{"(" + out + ")", ValueKind::kNumber};
    }
    if (f == "if") {
      if (!arity(3, 3)) return std::nullopt;
      if (args[1].literal && !args[2].literal) args[1] = *Fit(args[1], args[2].kind, n.args[1]->offset);
      if (args[2].literal && !args[1].literal) args[2] = *Fit(args[2], args[1].kind, n.args[2]->offset);
      return Rendered{"if(" + joined(", ") + ")", args[1].literal ? args[2].kind : args[1].kind};
    }
    if (f == "datediff") {
      if (!arity(3, 5)) return std::nullopt;
      // REDCap counts years as 365.2425 days and months as 30.44.
      static const std::map<std::string, std::string> kUnits = {
          {"d", ""}, {"w", " / 7"}, {"m", " / 30.44"}, {"y", " / 365.2425"}, {"h", ""}, {"s", ""}};
      std::string unit = args[2].literal_value;
      if (!args[2].literal || (!kUnits.contains(unit) && unit != "M")) {
        return Fail(n.args[2]->offset, "datediff() unit must be \"y\", \"M\", \"w\", \"d\", \"h\", \"m\" or \"s\"");
      }
      auto as_date = [&](Rendered r, size_t at) -> std::optional<Rendered> {
        if (r.literal) return Fit(r, ValueKind::kDate, at);
        return r;
      };
      auto from = as_date(args[0], n.args[0]->offset);
      auto to = as_date(args[1], n.args[1]->offset);
      if (!from || !to) return std::nullopt;
      std::string diff = Paren(*to) + " - " + Paren(*from);
      std::string out;
      if (unit == "h") {
        out = "hours(" + diff + ")";
      } else if (unit == "m") {
        out = "hours(" + diff + ") * 60";
      } else if (unit == "s") {
        out = "hours(" + diff + ") * 3600";
      } else {
        out = "days(" + diff + ")" + (unit == "M" ? " / 30.44" : kUnits.at(unit));
      }
      return Rendered{"(" + out + ")", ValueKind::kNumber};
    }
    return Fail(n.offset, "unknown function " + f +
                              "() (translated: round, rounddown, roundup, abs, min, max, sum, "
                              "mean, if, datediff)");
  }

  const RefResolver& resolve_;
  TranslateError* error_;
  bool failed_ = false;
};

}  // namespace

ValueKind ValueKindOf(study::ItemType type) {
  switch (type) {
    case study::ItemType::kInteger:
    case study::ItemType::kDecimal:
      return ValueKind::kNumber;
    case study::ItemType::kChoice:
      return ValueKind::kCode;
    case study::ItemType::kBoolean:
      return ValueKind::kBoolean;
    case study::ItemType::kDate:
      return ValueKind::kDate;
    case study::ItemType::kDateTime:
      return ValueKind::kDateTime;
    case study::ItemType::kTime:
      return ValueKind::kTime;
    default:
      return ValueKind::kText;
  }
}

std::unique_ptr<ExprNode> ParseForeignExpression(std::string_view text, ExpressionDialect dialect,
                                                 TranslateError* error) {
  Parser p(text, dialect, error);
  return p.ParseAll();
}

std::string RenderRuleExpression(const ExprNode& node, const RefResolver& resolve, TranslateError* error) {
  Renderer r(resolve, error);
  auto out = r.Render(node);
  return out ? out->text : "";
}

std::string TranslateExpression(std::string_view text, ExpressionDialect dialect, const RefResolver& resolve,
                                TranslateError* error) {
  if (text.find_first_not_of(" \t\r\n") == std::string_view::npos) {
    *error = {0, "the expression is empty"};
    return "";
  }
  auto tree = ParseForeignExpression(text, dialect, error);
  if (!tree) return "";
  return RenderRuleExpression(*tree, resolve, error);
}

std::string RuleString(std::string_view text) {
  std::string out = "\"";
  for (char c : text) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out + "\"";
}

std::pair<int, int> LineAndColumn(std::string_view text, size_t offset) {
  int line = 1, column = 1;
  for (size_t i = 0; i < offset && i < text.size(); ++i) {
    if (text[i] == '\n') {
      ++line;
      column = 1;
    } else {
      ++column;
    }
  }
  return {line, column};
}

}  // namespace trialcore::standards
