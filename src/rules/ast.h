// Syntax tree of the rule language, internal to src/rules.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "core/status.h"
#include "rules/rules.h"

namespace trialcore::rules {

struct Position {
  int line = 1;
  int column = 1;
};

enum class NodeKind {
  kNumber,    // text: the literal
  kDuration,  // text: the number, unit: the unit word
  kString,
  kBool,     // text: "true" / "false"
  kRef,      // path
  kUnary,    // op "-" or "not", args[0]
  kBinary,   // op, args[0], args[1]
  kMissing,  // args[0]; negated for "is not missing"
  kIn,       // args[0] in (args[1..]); negated for "not in"
  kCall,     // text: function name, args
};

struct Node {
  NodeKind kind;
  Position pos;
  std::string text;
  std::string op;
  std::string unit;
  std::vector<std::string> path;
  std::vector<std::unique_ptr<Node>> args;
  bool negated = false;
};

// A parse error carries its position in the status message ("3:7: ...").
Result<std::unique_ptr<Node>> Parse(std::string_view source, Diagnostic* where);

Status ErrorAt(Position pos, std::string message, Diagnostic* where);

}  // namespace trialcore::rules
