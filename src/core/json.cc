#include "core/json.h"

#include <limits>
#include <nlohmann/json.hpp>
#include <optional>

namespace trialcore {
namespace {

// Builds a Value from nlohmann's SAX events so that decimals keep their text.
class ValueBuilder final : public nlohmann::json_sax<nlohmann::json> {
 public:
  bool null() override { return Put(Value()); }
  bool boolean(bool v) override { return Put(Value(v)); }
  bool number_integer(number_integer_t v) override { return Put(Value(static_cast<int64_t>(v))); }
  bool number_unsigned(number_unsigned_t v) override {
    if (v > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
      error_ = "integer " + std::to_string(v) + " does not fit in 64 bits";
      return false;
    }
    return Put(Value(static_cast<int64_t>(v)));
  }
  bool number_float(number_float_t, const string_t& text) override {
    // nlohmann reads an integer too large for 64 bits as a float: it is
    // refused as an integer, not taken as a decimal of its digits.
    if (text.find_first_of(".eE") == std::string::npos) {
      error_ = "integer " + text + " does not fit in 64 bits";
      return false;
    }
    auto d = Decimal::Parse(text);
    if (!d.ok()) {
      error_ = d.status().message();
      return false;
    }
    return Put(Value(*d));
  }
  bool string(string_t& v) override { return Put(Value(std::move(v))); }
  bool binary(binary_t&) override {
    error_ = "binary values are not JSON";
    return false;
  }
  bool start_object(std::size_t) override {
    stack_.push_back({Value(Value::Object{}), {}});
    return true;
  }
  bool key(string_t& k) override {
    if (stack_.back().value.as_object().count(k)) {
      error_ = "duplicate key \"" + k + "\"";
      return false;
    }
    stack_.back().key = std::move(k);
    return true;
  }
  bool end_object() override { return Pop(); }
  bool start_array(std::size_t) override {
    stack_.push_back({Value(Value::Array{}), {}});
    return true;
  }
  bool end_array() override { return Pop(); }
  bool parse_error(std::size_t position, const std::string&, const nlohmann::detail::exception& ex) override {
    error_position_ = position;
    std::string what = ex.what();
    // nlohmann prefixes "[json.exception.parse_error.101] parse error at line 1, column 2: "
    auto colon = what.find(": ");
    error_ = colon == std::string::npos ? what : what.substr(colon + 2);
    return false;
  }

  std::string error_;
  size_t error_position_ = 0;
  Value root_;

 private:
  struct Frame {
    Value value;
    std::string key;
  };
  bool Put(Value v) {
    if (stack_.empty()) {
      root_ = std::move(v);
    } else if (stack_.back().value.kind() == Value::Kind::kArray) {
      stack_.back().value.as_array().push_back(std::move(v));
    } else {
      stack_.back().value.as_object()[stack_.back().key] = std::move(v);
    }
    return true;
  }
  bool Pop() {
    Value v = std::move(stack_.back().value);
    stack_.pop_back();
    return Put(std::move(v));
  }
  std::vector<Frame> stack_;
};

// Where the input first breaks a limit of ParseJson, before it is parsed:
// the offset of the bracket that opens level kMaxJsonDepth + 1, or of a
// number longer than kMaxJsonNumberLength, with what is wrong. Strings are
// skipped (a bracket or digit inside one counts for nothing); anything else
// malformed is left for the parser to name.
struct LimitBreak {
  size_t offset;
  std::string what;
};
std::optional<LimitBreak> FirstLimitBreak(std::string_view text) {
  size_t depth = 0;
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (c == '"') {
      for (++i; i < text.size() && text[i] != '"'; ++i) {
        if (text[i] == '\\') ++i;
      }
    } else if (c == '[' || c == '{') {
      if (++depth > kMaxJsonDepth) {
        return LimitBreak{i, "arrays and objects nest more than " + std::to_string(kMaxJsonDepth) + " levels deep"};
      }
    } else if (c == ']' || c == '}') {
      if (depth > 0) --depth;
    } else if (c == '-' || (c >= '0' && c <= '9')) {
      size_t end = i;
      while (end < text.size() && std::string_view("0123456789+-.eE").find(text[end]) != std::string_view::npos) ++end;
      if (end - i > kMaxJsonNumberLength) {
        return LimitBreak{i, "a number of " + std::to_string(end - i) + " characters (at most " +
                                 std::to_string(kMaxJsonNumberLength) + ")"};
      }
      i = end - 1;
    }
  }
  return std::nullopt;
}

void LineColumn(std::string_view text, size_t pos, size_t* line, size_t* col) {
  *line = 1;
  *col = 1;
  for (size_t i = 0; i < pos && i < text.size(); ++i) {
    if (text[i] == '\n') {
      ++*line;
      *col = 1;
    } else {
      ++*col;
    }
  }
}

void Write(std::string* out, const Value& v, bool pretty, int indent) {
  auto newline = [&](int level) {
    if (!pretty) return;
    out->push_back('\n');
    out->append(static_cast<size_t>(level) * 2, ' ');
  };
  switch (v.kind()) {
    case Value::Kind::kNull:
      out->append("null");
      break;
    case Value::Kind::kBool:
      out->append(v.as_bool() ? "true" : "false");
      break;
    case Value::Kind::kInt:
      out->append(std::to_string(v.as_int()));
      break;
    case Value::Kind::kDecimal:
      out->append(v.as_decimal().text());
      break;
    case Value::Kind::kString:
      AppendJsonString(out, v.as_string());
      break;
    case Value::Kind::kArray: {
      out->push_back('[');
      bool first = true;
      for (const auto& e : v.as_array()) {
        if (!first) out->push_back(',');
        first = false;
        newline(indent + 1);
        Write(out, e, pretty, indent + 1);
      }
      if (!v.as_array().empty()) newline(indent);
      out->push_back(']');
      break;
    }
    case Value::Kind::kObject: {
      out->push_back('{');
      bool first = true;
      for (const auto& [k, e] : v.as_object()) {
        if (!first) out->push_back(',');
        first = false;
        newline(indent + 1);
        AppendJsonString(out, k);
        out->append(pretty ? ": " : ":");
        Write(out, e, pretty, indent + 1);
      }
      if (!v.as_object().empty()) newline(indent);
      out->push_back('}');
      break;
    }
  }
}

}  // namespace

Result<Value> ParseJson(std::string_view text) {
  if (auto broken = FirstLimitBreak(text)) {
    size_t line, col;
    LineColumn(text, broken->offset, &line, &col);
    return InvalidArgument("invalid JSON at line " + std::to_string(line) + ", column " + std::to_string(col) + ": " +
                           broken->what);
  }
  ValueBuilder builder;
  bool ok = nlohmann::json::sax_parse(text.begin(), text.end(), &builder, nlohmann::json::input_format_t::json, true);
  if (!ok && builder.error_position_ == 0) return InvalidArgument("invalid JSON: " + builder.error_);
  if (!ok) {
    size_t line, col;
    LineColumn(text, builder.error_position_ > 0 ? builder.error_position_ - 1 : 0, &line, &col);
    return InvalidArgument("invalid JSON at line " + std::to_string(line) + ", column " + std::to_string(col) + ": " +
                           builder.error_);
  }
  return std::move(builder.root_);
}

void AppendJsonString(std::string* out, std::string_view s) {
  static const char kHex[] = "0123456789abcdef";
  auto plain = [](unsigned char c) { return c >= 0x20 && c != '"' && c != '\\'; };
  out->push_back('"');
  // Runs of characters written as they are go in one append: most text has
  // nothing to escape, and a byte-by-byte push_back dominated large answers.
  size_t i = 0;
  while (i < s.size()) {
    size_t run = i;
    while (run < s.size() && plain(static_cast<unsigned char>(s[run]))) ++run;
    out->append(s.data() + i, run - i);
    if (run == s.size()) break;
    unsigned char c = static_cast<unsigned char>(s[run]);
    switch (c) {
      case '"':
        out->append("\\\"");
        break;
      case '\\':
        out->append("\\\\");
        break;
      case '\n':
        out->append("\\n");
        break;
      case '\r':
        out->append("\\r");
        break;
      case '\t':
        out->append("\\t");
        break;
      default:
        out->append("\\u00");
        out->push_back(kHex[c >> 4]);
        out->push_back(kHex[c & 15]);
    }
    i = run + 1;
  }
  out->push_back('"');
}

std::string ToJson(const Value& value, bool pretty) {
  std::string out;
  Write(&out, value, pretty, 0);
  return out;
}

void AppendJson(std::string* out, const Value& value) { Write(out, value, false, 0); }

}  // namespace trialcore
