// Helpers shared by the store's tests.
#pragma once

#include <gtest/gtest.h>

#include <filesystem>
#include <string>

#include "core/json.h"
#include "store/event_store.h"

namespace trialcore::testing_util {

inline EventDraft ItemSet(const std::string& subject, const std::string& item, const std::string& json_value,
                          const std::string& reason = "", const std::string& user = "coord.701") {
  EventDraft d;
  d.stream = "subject/" + subject;
  d.type = "item.set";
  d.actor = {user, "coordinator"};
  d.reason = reason;
  Value::Object set;
  set[d.stream + "/form/VS/item/" + item] = *ParseJson(json_value);
  d.payload = Value(Value::Object{{"set", Value(std::move(set))}});
  return d;
}

inline AppendRequest One(const std::string& study, EventDraft d) {
  AppendRequest r;
  r.study = study;
  r.events.push_back(std::move(d));
  return r;
}

// A fresh directory per test under the test's temp dir.
inline std::string TempDbPath(const std::string& name) {
  auto dir = std::filesystem::path(testing::TempDir()) / ("trialcore_" + name);
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  return (dir / "trial.db").string();
}

}  // namespace trialcore::testing_util
