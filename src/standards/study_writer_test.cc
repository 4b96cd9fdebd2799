// The study writer's output is read back by the study loader with every
// value as it was: ids, OIDs, labels YAML would misread, codes that look
// like numbers, bounds, expressions with quotes.
#include "standards/study_writer.h"

#include <gtest/gtest.h>

namespace trialcore::standards {
namespace {

study::Study Draft() {
  study::Study s;
  s.id = "S-1";
  s.title = "A study: with a colon, \"quotes\" and # a hash";
  s.version = "1.0";
  study::CodeList yn;
  yn.id = "NY";
  yn.oid = "CL.NY";
  yn.codes = {{"1", "Yes"}, {"0", "No"}, {"true", "null"}};
  s.codelists.push_back(yn);
  study::Form f;
  f.id = "DM";
  f.oid = "F.DM";
  f.name = "yes";
  study::ItemGroup g;
  g.id = "DM";
  g.oid = "IG.DM";
  g.repeating = true;
  study::Item date;
  date.id = "VISDAT";
  date.label = "Visit date";
  date.type = study::ItemType::kDate;
  study::Item weight;
  weight.id = "WEIGHT";
  weight.oid = "IT.DM.WEIGHT";
  weight.label = "Weight\non two lines";
  weight.type = study::ItemType::kDecimal;
  weight.precision = 1;
  weight.unit = "kg";
  weight.hard_range = study::Range{35.5, 0.00001};
  weight.hard_range->max = 250;
  study::Item smoker;
  smoker.id = "SMOKER";
  smoker.label = "Smokes?";
  smoker.type = study::ItemType::kChoice;
  smoker.codelist = "NY";
  study::Item cigs;
  cigs.id = "CIGS";
  cigs.label = "- a label starting like a list";
  cigs.type = study::ItemType::kInteger;
  cigs.visible_if = "SMOKER = \"1\"";
  g.items = {date, weight, smoker, cigs};
  f.groups.push_back(g);
  f.checks.push_back(
      {"C1", "WEIGHT > 40 or SMOKER in (\"0\", \"1\")", true, "Weight: 'really'?", "WEIGHT", "", {}, {}, {}});
  s.forms.push_back(f);
  study::Visit v;
  v.id = "SCR";
  v.oid = "SE.SCR";
  v.name = "Screening";
  v.day = 1;
  v.forms = {"DM"};
  s.visits.push_back(v);
  s.anchor = {"DM", "VISDAT"};
  s.visit_date = {"DM", "VISDAT"};
  return s;
}

TEST(StudyWriter, WhatItWritesLoadsBackAsItWas) {
  std::string yaml = WriteStudyYaml(Draft(), "Imported by a test.\nSecond line.");
  EXPECT_TRUE(yaml.starts_with("# Imported by a test.\n# Second line.\n")) << yaml;
  std::vector<study::StudyError> errors;
  auto loaded = study::LoadStudy(yaml, "written.yaml", &errors);
  ASSERT_TRUE(loaded.ok()) << (errors.empty() ? loaded.status().message() : errors.front().ToString()) << "\n" << yaml;
  const study::Study& s = **loaded;
  EXPECT_EQ(s.id, "S-1");
  EXPECT_EQ(s.title, "A study: with a colon, \"quotes\" and # a hash");
  EXPECT_EQ(s.version, "1.0");
  const study::CodeList* ny = s.FindCodeList("NY");
  ASSERT_NE(ny, nullptr);
  EXPECT_EQ(ny->oid, "CL.NY");
  ASSERT_EQ(ny->codes.size(), 3u);
  EXPECT_EQ(ny->codes[0].code, "1");
  EXPECT_EQ(ny->codes[2].code, "true");
  EXPECT_EQ(ny->codes[2].label, "null");
  const study::Form& f = s.forms.at(0);
  EXPECT_EQ(f.oid, "F.DM");
  EXPECT_EQ(f.name, "yes");
  EXPECT_EQ(f.groups.at(0).oid, "IG.DM");
  EXPECT_TRUE(f.groups.at(0).repeating);
  const study::Item* w = f.FindItem("WEIGHT");
  ASSERT_NE(w, nullptr);
  EXPECT_EQ(w->oid, "IT.DM.WEIGHT");
  EXPECT_EQ(w->label, "Weight\non two lines");
  EXPECT_EQ(w->precision, 1);
  EXPECT_EQ(w->hard_range->min, 35.5);
  EXPECT_EQ(w->hard_range->max, 250);
  EXPECT_EQ(f.FindItem("CIGS")->label, "- a label starting like a list");
  EXPECT_EQ(f.FindItem("CIGS")->visible_if, "SMOKER = \"1\"");
  EXPECT_TRUE(f.FindItem("CIGS")->visible_expr.has_value());
  ASSERT_EQ(f.checks.size(), 1u);
  EXPECT_EQ(f.checks[0].message, "Weight: 'really'?");
  EXPECT_TRUE(f.checks[0].hard);
  EXPECT_EQ(s.visits.at(0).oid, "SE.SCR");
  // Codes that read as numbers or booleans are quoted, so the file says text.
  EXPECT_NE(yaml.find("code: \"1\""), std::string::npos) << yaml;
  EXPECT_NE(yaml.find("version: \"1.0\""), std::string::npos) << yaml;
}

}  // namespace
}  // namespace trialcore::standards
