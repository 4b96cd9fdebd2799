// Expressions of other systems into trialcore's rule language
// (doc/rule_language.md): REDCap's branching logic and calculations, and
// OpenEDC's FormalExpressions in ODM. Parsed to a small tree first, then
// written out with each literal fitted to the item it is compared with
// ([sex] = 1 on a coded item is SEX = "1"; [given_birth] = '1' on a yes/no
// item is given_birth = true), so that what comes out type-checks.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "core/status.h"
#include "study/study.h"

namespace trialcore::standards {

enum class ExpressionDialect {
  kRedcap,   // [field], [event][field], [chk(2)], = <> and or, '...' and "..."
  kOpenEdc,  // Item, GROUP-Item, == != && || !, "..."
};

// What an expression's node is, for fitting literals and for errors.
enum class ValueKind { kUnknown, kNumber, kText, kCode, kBoolean, kDate, kDateTime, kTime };

// The kind of value an item of this type holds in an expression.
ValueKind ValueKindOf(study::ItemType type);

struct ExprNode {
  enum class Type { kNumber, kString, kRef, kUnary, kBinary, kCall };
  Type type = Type::kNumber;
  std::string text;                    // number text, string value, reference as written, operator, function name
  std::vector<std::string> ref_parts;  // kRef: [event][field] -> {event, field}; "chk(2)" kept whole
  std::vector<std::unique_ptr<ExprNode>> args;
  size_t offset = 0;  // 0-based, in the source text
};

// A failure to parse or translate, at a 0-based offset of the source text.
struct TranslateError {
  size_t offset = 0;
  std::string message;
};

// Parses one expression; on failure fills *error and returns nullptr.
std::unique_ptr<ExprNode> ParseForeignExpression(std::string_view text, ExpressionDialect dialect,
                                                 TranslateError* error);

// How a reference of the source reads in the rule language.
struct RuleRef {
  std::string text;  // "SEX", "DM.SEX"
  ValueKind kind = ValueKind::kUnknown;
};
// NotFound or InvalidArgument with the reason when the reference names
// nothing translatable.
using RefResolver = std::function<Result<RuleRef>(const ExprNode& ref)>;

// Writes the tree in the rule language, or fills *error (with the offset of
// the node at fault) and returns "".
std::string RenderRuleExpression(const ExprNode& node, const RefResolver& resolve, TranslateError* error);

// Both steps; "" and *error on failure.
std::string TranslateExpression(std::string_view text, ExpressionDialect dialect, const RefResolver& resolve,
                                TranslateError* error);

// A rule-language text literal ("..." with \" and \\ escaped).
std::string RuleString(std::string_view text);

// The 1-based line and column of a 0-based offset of text.
std::pair<int, int> LineAndColumn(std::string_view text, size_t offset);

}  // namespace trialcore::standards
