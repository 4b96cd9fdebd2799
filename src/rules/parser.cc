// Lexer and recursive-descent parser of the rule language. The grammar is in
// doc/rule_language.md; precedence from loosest: or, and, not, comparison /
// is missing / in, + -, * /, unary minus.
#include <cctype>
#include <set>

#include "rules/ast.h"

namespace trialcore::rules {

Status ErrorAt(Position pos, std::string message, Diagnostic* where) {
  if (where != nullptr) *where = Diagnostic{pos.line, pos.column, message};
  return InvalidArgument(std::to_string(pos.line) + ":" + std::to_string(pos.column) + ": " + message);
}

namespace {

enum class Tok { kEnd, kNumber, kString, kName, kSymbol };

struct Token {
  Tok kind = Tok::kEnd;
  std::string text;
  Position pos;
};

const std::set<std::string, std::less<>> kDurationUnits = {"day",   "days",   "week",    "weeks",  "hour",
                                                           "hours", "minute", "minutes", "second", "seconds"};

class Lexer {
 public:
  Lexer(std::string_view src, Diagnostic* where) : src_(src), where_(where) {}

  Result<std::vector<Token>> Run() {
    std::vector<Token> out;
    while (true) {
      SkipSpaceAndComments();
      Token t;
      t.pos = pos_;
      if (i_ >= src_.size()) {
        out.push_back(t);
        return out;
      }
      char c = src_[i_];
      if (std::isdigit(static_cast<unsigned char>(c))) {
        t.kind = Tok::kNumber;
        while (i_ < src_.size() && std::isdigit(static_cast<unsigned char>(src_[i_]))) t.text += Advance();
        if (i_ + 1 < src_.size() && src_[i_] == '.' && std::isdigit(static_cast<unsigned char>(src_[i_ + 1]))) {
          t.text += Advance();
          while (i_ < src_.size() && std::isdigit(static_cast<unsigned char>(src_[i_]))) t.text += Advance();
        }
      } else if (std::isalpha(static_cast<unsigned char>(c)) || c == '_') {
        t.kind = Tok::kName;
        while (i_ < src_.size() && (std::isalnum(static_cast<unsigned char>(src_[i_])) || src_[i_] == '_')) {
          t.text += Advance();
        }
      } else if (c == '"') {
        t.kind = Tok::kString;
        Advance();
        while (true) {
          if (i_ >= src_.size() || src_[i_] == '\n')
            return ErrorAt(t.pos, "text literal is not closed with \"", where_);
          char d = Advance();
          if (d == '"') break;
          if (d == '\\') {
            if (i_ >= src_.size()) return ErrorAt(t.pos, "text literal is not closed with \"", where_);
            char e = Advance();
            if (e != '"' && e != '\\') {
              return ErrorAt(t.pos, std::string("unknown escape \\") + e + " in text literal (only \\\" and \\\\)",
                             where_);
            }
            d = e;
          }
          t.text += d;
        }
      } else {
        t.kind = Tok::kSymbol;
        static const char* kTwo[] = {"<=", ">=", "!=", "<>"};
        bool two = false;
        for (const char* s : kTwo) {
          if (src_.substr(i_, 2) == s) {
            t.text = Advance();
            t.text += Advance();
            two = true;
            break;
          }
        }
        if (!two) {
          if (std::string_view("()+-*/=<>,.").find(c) == std::string_view::npos) {
            return ErrorAt(t.pos, std::string("unexpected character '") + c + "'", where_);
          }
          t.text = Advance();
        }
        if (t.text == "<>") t.text = "!=";
      }
      out.push_back(std::move(t));
    }
  }

 private:
  char Advance() {
    char c = src_[i_++];
    if (c == '\n') {
      ++pos_.line;
      pos_.column = 1;
    } else {
      ++pos_.column;
    }
    return c;
  }
  void SkipSpaceAndComments() {
    while (i_ < src_.size()) {
      if (std::isspace(static_cast<unsigned char>(src_[i_]))) {
        Advance();
      } else if (src_[i_] == '#') {
        while (i_ < src_.size() && src_[i_] != '\n') Advance();
      } else {
        break;
      }
    }
  }

  std::string_view src_;
  Diagnostic* where_;
  size_t i_ = 0;
  Position pos_;
};

using NodePtr = std::unique_ptr<Node>;

class Parser {
 public:
  Parser(std::vector<Token> tokens, Diagnostic* where) : toks_(std::move(tokens)), where_(where) {}

  Result<NodePtr> ParseAll() {
    TC_ASSIGN_OR_RETURN(NodePtr e, ParseOr());
    if (Peek().kind != Tok::kEnd) return Unexpected("an operator or the end of the expression");
    return e;
  }

 private:
  const Token& Peek(size_t ahead = 0) const { return toks_[std::min(i_ + ahead, toks_.size() - 1)]; }
  bool IsWord(const Token& t, std::string_view w) const { return t.kind == Tok::kName && t.text == w; }
  bool IsSym(const Token& t, std::string_view s) const { return t.kind == Tok::kSymbol && t.text == s; }
  const Token& Next() { return toks_[std::min(i_++, toks_.size() - 1)]; }

  Status Unexpected(std::string_view wanted) {
    const Token& t = Peek();
    std::string found = t.kind == Tok::kEnd ? "the end of the expression" : "'" + t.text + "'";
    return ErrorAt(t.pos, "expected " + std::string(wanted) + ", found " + found, where_);
  }

  static NodePtr Make(NodeKind kind, Position pos) {
    auto n = std::make_unique<Node>();
    n->kind = kind;
    n->pos = pos;
    return n;
  }

  static NodePtr Binary(std::string op, Position pos, NodePtr a, NodePtr b) {
    NodePtr n = Make(NodeKind::kBinary, pos);
    n->op = std::move(op);
    n->args.push_back(std::move(a));
    n->args.push_back(std::move(b));
    return n;
  }

  Result<NodePtr> ParseOr() {
    TC_ASSIGN_OR_RETURN(NodePtr left, ParseAnd());
    while (IsWord(Peek(), "or")) {
      Position pos = Next().pos;
      TC_ASSIGN_OR_RETURN(NodePtr right, ParseAnd());
      left = Binary("or", pos, std::move(left), std::move(right));
    }
    return left;
  }

  Result<NodePtr> ParseAnd() {
    TC_ASSIGN_OR_RETURN(NodePtr left, ParseNot());
    while (IsWord(Peek(), "and")) {
      Position pos = Next().pos;
      TC_ASSIGN_OR_RETURN(NodePtr right, ParseNot());
      left = Binary("and", pos, std::move(left), std::move(right));
    }
    return left;
  }

  Result<NodePtr> ParseNot() {
    if (IsWord(Peek(), "not")) {
      Position pos = Next().pos;
      TC_ASSIGN_OR_RETURN(NodePtr operand, ParseNot());
      NodePtr n = Make(NodeKind::kUnary, pos);
      n->op = "not";
      n->args.push_back(std::move(operand));
      return n;
    }
    return ParseComparison();
  }

  Result<NodePtr> ParseComparison() {
    TC_ASSIGN_OR_RETURN(NodePtr left, ParseAdditive());
    const Token& t = Peek();
    if (t.kind == Tok::kSymbol &&
        (t.text == "=" || t.text == "!=" || t.text == "<" || t.text == "<=" || t.text == ">" || t.text == ">=")) {
      std::string op = t.text;
      Position pos = Next().pos;
      TC_ASSIGN_OR_RETURN(NodePtr right, ParseAdditive());
      if (IsComparisonAhead()) {
        return ErrorAt(Peek().pos, "comparisons cannot be chained; join them with 'and'", where_);
      }
      return Binary(op, pos, std::move(left), std::move(right));
    }
    if (IsWord(t, "is")) {
      Position pos = Next().pos;
      bool negated = false;
      if (IsWord(Peek(), "not")) {
        Next();
        negated = true;
      }
      if (!IsWord(Peek(), "missing")) return Unexpected("'missing' after 'is'");
      Next();
      NodePtr n = Make(NodeKind::kMissing, pos);
      n->negated = negated;
      n->args.push_back(std::move(left));
      return n;
    }
    bool negated_in = IsWord(t, "not") && IsWord(Peek(1), "in");
    if (IsWord(t, "in") || negated_in) {
      Position pos = Next().pos;
      if (negated_in) Next();
      if (!IsSym(Peek(), "(")) return Unexpected("'(' to open the list after 'in'");
      Next();
      NodePtr n = Make(NodeKind::kIn, pos);
      n->negated = negated_in;
      n->args.push_back(std::move(left));
      while (true) {
        TC_ASSIGN_OR_RETURN(NodePtr item, ParseAdditive());
        n->args.push_back(std::move(item));
        if (IsSym(Peek(), ",")) {
          Next();
          continue;
        }
        if (IsSym(Peek(), ")")) {
          Next();
          break;
        }
        return Unexpected("',' or ')' in the list after 'in'");
      }
      return n;
    }
    return left;
  }

  bool IsComparisonAhead() const {
    const Token& t = Peek();
    return t.kind == Tok::kSymbol &&
           (t.text == "=" || t.text == "!=" || t.text == "<" || t.text == "<=" || t.text == ">" || t.text == ">=");
  }

  Result<NodePtr> ParseAdditive() {
    TC_ASSIGN_OR_RETURN(NodePtr left, ParseMultiplicative());
    while (IsSym(Peek(), "+") || IsSym(Peek(), "-")) {
      const Token& t = Next();
      TC_ASSIGN_OR_RETURN(NodePtr right, ParseMultiplicative());
      left = Binary(t.text, t.pos, std::move(left), std::move(right));
    }
    return left;
  }

  Result<NodePtr> ParseMultiplicative() {
    TC_ASSIGN_OR_RETURN(NodePtr left, ParseUnary());
    while (IsSym(Peek(), "*") || IsSym(Peek(), "/")) {
      const Token& t = Next();
      TC_ASSIGN_OR_RETURN(NodePtr right, ParseUnary());
      left = Binary(t.text, t.pos, std::move(left), std::move(right));
    }
    return left;
  }

  Result<NodePtr> ParseUnary() {
    if (IsSym(Peek(), "-")) {
      Position pos = Next().pos;
      TC_ASSIGN_OR_RETURN(NodePtr operand, ParseUnary());
      NodePtr n = Make(NodeKind::kUnary, pos);
      n->op = '-';
      n->args.push_back(std::move(operand));
      return n;
    }
    return ParsePrimary();
  }

  Result<NodePtr> ParsePrimary() {
    const Token& t = Peek();
    switch (t.kind) {
      case Tok::kNumber: {
        Next();
        if (Peek().kind == Tok::kName && kDurationUnits.contains(Peek().text)) {
          NodePtr n = Make(NodeKind::kDuration, t.pos);
          n->text = t.text;
          n->unit = Next().text;
          return n;
        }
        NodePtr n = Make(NodeKind::kNumber, t.pos);
        n->text = t.text;
        return n;
      }
      case Tok::kString: {
        Next();
        NodePtr n = Make(NodeKind::kString, t.pos);
        n->text = t.text;
        return n;
      }
      case Tok::kName:
        return ParseName();
      case Tok::kSymbol:
        if (t.text == "(") {
          Next();
          TC_ASSIGN_OR_RETURN(NodePtr inner, ParseOr());
          if (!IsSym(Peek(), ")")) return Unexpected("')'");
          Next();
          return inner;
        }
        return Unexpected("a value, an item or '('");
      case Tok::kEnd:
        return Unexpected("a value, an item or '('");
    }
    return Unexpected("a value");
  }

  Result<NodePtr> ParseName() {
    static const std::set<std::string, std::less<>> kReserved = {"and", "or", "not", "is", "missing", "in"};
    const Token& first = Next();
    if (kReserved.contains(first.text)) {
      return ErrorAt(first.pos, "'" + first.text + "' is a keyword and cannot start a value", where_);
    }
    if (first.text == "true" || first.text == "false") {
      NodePtr n = Make(NodeKind::kBool, first.pos);
      n->text = first.text;
      return n;
    }
    if (IsSym(Peek(), "(")) {
      Next();
      NodePtr n = Make(NodeKind::kCall, first.pos);
      n->text = first.text;
      if (IsSym(Peek(), ")")) {
        Next();
        return n;
      }
      while (true) {
        TC_ASSIGN_OR_RETURN(NodePtr arg, ParseOr());
        n->args.push_back(std::move(arg));
        if (IsSym(Peek(), ",")) {
          Next();
          continue;
        }
        if (IsSym(Peek(), ")")) {
          Next();
          return n;
        }
        return Unexpected("',' or ')' in the arguments of " + first.text + "()");
      }
    }
    NodePtr n = Make(NodeKind::kRef, first.pos);
    n->path.push_back(first.text);
    while (IsSym(Peek(), ".")) {
      Next();
      if (Peek().kind != Tok::kName) return Unexpected("a name after '.'");
      n->path.push_back(Next().text);
    }
    return n;
  }

  std::vector<Token> toks_;
  Diagnostic* where_;
  size_t i_ = 0;
};

}  // namespace

Result<std::unique_ptr<Node>> Parse(std::string_view source, Diagnostic* where) {
  Lexer lexer(source, where);
  TC_ASSIGN_OR_RETURN(std::vector<Token> tokens, lexer.Run());
  if (tokens.size() == 1) return ErrorAt(tokens[0].pos, "the expression is empty", where);
  Parser parser(std::move(tokens), where);
  return parser.ParseAll();
}

}  // namespace trialcore::rules
