// Runs the rule-language cases in tests/data/rules: each file holds a context
// (items with their types, code lists and values; repeating groups with their
// rows; the clock) and cases, each an expression with the exact expected
// result or compile error.
#include "rules/rules.h"

#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

#include <filesystem>
#include <map>

#include "core/event.h"

namespace trialcore::rules {
namespace {

Type TypeFromName(const std::string& name) {
  static const std::map<std::string, Type> kTypes = {
      {"condition", Type::kBool}, {"number", Type::kNumber},     {"text", Type::kText}, {"codes", Type::kCodes},
      {"date", Type::kDate},      {"datetime", Type::kDateTime}, {"time", Type::kTime}, {"duration", Type::kDuration},
  };
  auto it = kTypes.find(name);
  if (it == kTypes.end()) throw std::runtime_error("unknown type in test case: " + name);
  return it->second;
}

struct CaseItem {
  Type type;
  std::vector<std::string> codes;
  std::string value;  // stored text; empty is missing
};

struct CaseGroup {
  std::vector<std::string> columns;
  std::map<std::string, CaseItem> items;
  std::vector<std::map<std::string, std::string>> rows;
};

struct Context : Resolver {
  std::map<std::string, CaseItem> items;
  std::map<std::string, CaseGroup> groups;
  int64_t now_us = 0;

  static std::string Join(std::span<const std::string> path) {
    std::string out;
    for (const auto& p : path) out += (out.empty() ? "" : ".") + p;
    return out;
  }

  Result<Resolved> ResolveItem(std::span<const std::string> path) const override {
    std::string key = Join(path);
    if (auto it = items.find(key); it != items.end()) return Resolved{key, it->second.type, it->second.codes, ""};
    if (path.size() == 2) {
      if (auto g = groups.find(path[0]); g != groups.end()) {
        if (auto c = g->second.items.find(path[1]); c != g->second.items.end()) {
          return Resolved{key, c->second.type, c->second.codes, path[0]};
        }
      }
    }
    return NotFound("unknown item " + key);
  }

  Result<std::string> ResolveGroup(std::span<const std::string> path) const override {
    std::string key = Join(path);
    if (groups.contains(key)) return key;
    return NotFound("unknown item or repeating group " + key);
  }

  static CaseItem ItemFrom(const YAML::Node& n) {
    CaseItem item;
    if (n.IsScalar()) {
      item.type = TypeFromName(n.as<std::string>());
      return item;
    }
    item.type = TypeFromName(n["type"].as<std::string>());
    if (n["codes"]) item.codes = n["codes"].as<std::vector<std::string>>();
    if (n["value"]) item.value = n["value"].as<std::string>();
    return item;
  }

  void Load(const YAML::Node& n) {
    if (!n) return;
    if (n["now"]) now_us = ParseTimeMicros(n["now"].as<std::string>()).value();
    for (const auto& kv : n["items"]) items[kv.first.as<std::string>()] = ItemFrom(kv.second);
    for (const auto& kv : n["groups"]) {
      CaseGroup& g = groups[kv.first.as<std::string>()];
      g = CaseGroup{};
      for (const auto& col : kv.second["columns"]) {
        g.columns.push_back(col.first.as<std::string>());
        g.items[col.first.as<std::string>()] = ItemFrom(col.second);
      }
      for (const auto& row : kv.second["rows"]) g.rows.push_back(row.as<std::map<std::string, std::string>>());
    }
  }
};

RValue Bind(Type type, const std::string& text) {
  auto v = ParseValue(type, text);
  if (!v.ok()) throw std::runtime_error("bad value in test case: " + v.status().message());
  return *v;
}

void RunCase(const std::string& where, const Context& ctx, const YAML::Node& c) {
  SCOPED_TRACE(where);
  std::string source = c["expr"].as<std::string>();
  Diagnostic diag;
  auto compiled = Expression::Compile(source, ctx, &diag);
  if (c["error"]) {
    ASSERT_FALSE(compiled.ok()) << source << " compiled, but the case expects: " << c["error"].as<std::string>();
    EXPECT_EQ(compiled.status().message(), c["error"].as<std::string>()) << source;
    EXPECT_EQ(std::to_string(diag.line) + ":" + std::to_string(diag.column) + ": " + diag.message,
              compiled.status().message());
    return;
  }
  ASSERT_TRUE(compiled.ok()) << source << ": " << compiled.status().message();
  const Expression& e = *compiled;
  if (c["type"]) {
    EXPECT_EQ(TypeName(e.type()), c["type"].as<std::string>()) << source;
  }

  std::vector<RValue> scalars;
  for (const auto& key : e.scalars()) {
    const CaseItem& item = ctx.items.at(key);
    scalars.push_back(Bind(item.type, item.value));
  }
  std::vector<Table> tables;
  for (const TableRef& ref : e.tables()) {
    const CaseGroup& g = ctx.groups.at(ref.group);
    Table t;
    t.rows = g.rows.size();
    t.columns = ref.column_keys.size();
    for (const auto& row : g.rows) {
      for (const auto& key : ref.column_keys) {
        std::string column = key.substr(key.find('.') + 1);
        auto cell = row.find(column);
        static const std::string kEmpty;
        t.cells.push_back(Bind(g.items.at(column).type, cell == row.end() ? kEmpty : cell->second));
      }
    }
    tables.push_back(std::move(t));
  }
  Bindings b{scalars, tables, ctx.now_us};
  RValue v = e.Evaluate(b);
  std::string got = v.null ? "missing" : FormatValue(e.type(), v);
  EXPECT_EQ(got, c["result"].as<std::string>()) << source;
}

TEST(RuleCases, EveryCaseFileHoldsAndPasses) {
  int files = 0, cases = 0;
  std::vector<std::filesystem::path> paths;
  for (const auto& entry : std::filesystem::directory_iterator(RULE_CASES_DIR)) {
    if (entry.path().extension() == ".yaml") paths.push_back(entry.path());
  }
  std::sort(paths.begin(), paths.end());
  for (const auto& path : paths) {
    ++files;
    YAML::Node doc = YAML::LoadFile(path.string());
    Context base;
    base.Load(doc["context"]);
    for (const auto& c : doc["cases"]) {
      ++cases;
      Context ctx = base;
      ctx.Load(c["context"]);
      RunCase(path.filename().string() + " line " + std::to_string(c.Mark().line + 1), ctx, c);
    }
  }
  EXPECT_GE(files, 5);
  EXPECT_GE(cases, 100);
}

}  // namespace
}  // namespace trialcore::rules
