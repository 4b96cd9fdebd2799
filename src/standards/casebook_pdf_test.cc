// The site archive's PDF casebooks of subjects the capture fixture fills (a
// value changed with a reason, a row removed with a reason, signatures, an
// unblinded-only item): each a PDF whose outline runs visit › form, and
// whose text (read back by poppler's pdftotext) holds the old and new
// values, the reason, the signer's printed name, and nothing a blinded
// role may not see (unblinded-only items, identifying values withheld).
#include "standards/casebook_pdf.h"

#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>

#include "capture/capture_test_fixture.h"
#include "standards/casebook_export.h"

namespace trialcore::standards {
namespace {

using capture::CaptureTest;
using capture::kInv;
using capture::kPharm;

std::string ReadAll(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

// A command's standard output.
std::string Output(const std::string& command) {
  std::string out;
  FILE* pipe = ::popen(command.c_str(), "r");
  if (pipe == nullptr) return out;
  char buf[4096];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, pipe)) > 0) out.append(buf, n);
  ::pclose(pipe);
  return out;
}

// pdftotext wraps long cells; the checks read the text with its spaces and
// line breaks joined.
std::string Squeezed(const std::string& text) {
  std::string out;
  for (char c : text) {
    if (c == '\n' || c == ' ' || c == '\f') {
      if (!out.empty() && out.back() != ' ') out += ' ';
    } else {
      out += c;
    }
  }
  return out;
}

class CasebookPdfTest : public CaptureTest {
 protected:
  void SetUp() override {
    CaptureTest::SetUp();
    dir_ = std::filesystem::temp_directory_path() / ("casebook_test_" + std::to_string(::getpid()) + "_" +
                                                     ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  void Populate() {
    Screen("701-1001");
    Ok(R"({"op":"form.save","subject":"701-1001","visit":"SCREENING1","form":"DM","items":{"INITIALS":"QXZ"}})");
    Ok(R"({"op":"form.save","subject":"701-1001","visit":"SCREENING1","form":"VS","items":{"VSPOS":"SITTING",)"
       R"("SYSBP":120,"DIABP":80,"PULSE":70,"WEIGHT":"80.0"},"not_done":{"HEIGHT":"scale broken"}})");
    Ok(R"({"op":"form.save","subject":"701-1001","visit":"SCREENING1","form":"VS","items":{"SYSBP":125},)"
       R"("reason":"Transcription error, corrected from source"})");
    const std::string ae = R"("AESTDTC":"2024-01-10","AEONGO":true,"AESEV":"MILD","AESER":"N","AEREL":"NONE",)"
                           R"("AEACN":"DOSE NOT CHANGED","AEOUT":"RECOVERING/RESOLVING"})";
    Ok(R"({"op":"form.save","subject":"701-1001","visit":"LOGS","form":"AE","rows":[)"
       R"({"group":"AE","items":{"AETERM":"HEADACHE",)" +
       ae + R"(},{"group":"AE","items":{"AETERM":"NAUSEA",)" + ae + "}]}");
    Ok(R"({"op":"row.remove","subject":"701-1001","visit":"LOGS","form":"AE","group":"AE","row":2,)"
       R"("reason":"Entered on the wrong visit, form or subject"})");
    Ok(R"({"op":"sign","subject":"701-1001","visit":"SCREENING1","form":"VS","meaning":"approval","name":"Dr Ada Byron"})",
       kInv);
    Ok(R"({"op":"form.save","subject":"701-1001","visit":"BASELINE","form":"SV","items":{"SVSTDTC":"2024-01-10"}})");
    Ok(R"({"op":"form.save","subject":"701-1001","visit":"BASELINE","form":"RAND","items":{"RANDDT":"2024-01-10"}})");
    Ok(R"({"op":"form.save","subject":"701-1001","visit":"BASELINE","form":"EX","items":{"EXSTDTC":"2024-01-10",)"
       R"("EXDOSE":54,"PATCHES":1}})",
       kPharm);
    Ok(R"({"op":"form.save","subject":"701-1001","visit":"BASELINE","form":"EX","items":{"EXDOSE":81},)"
       R"("reason":"Other: pharmacy dose corrected to 81"})",
       kPharm);
    Screen("701-1002");
  }

  Result<TransferReport> Export(const std::vector<std::string>& roles, const std::string& site = "701",
                                Env* env = Env::Default(), const std::string& dir = "") {
    CasebookExportOptions options;
    options.site = site;
    options.roles = roles;
    options.now_us = capture::kNow;
    options.generated_by = "the test";
    options.creator = "trialcore test";
    return ExportCasebooks(*store_, *capture_, options, env, dir.empty() ? dir_.string() : dir);
  }

  static uint64_t Written(const TransferReport& report, const std::string& what) {
    for (const auto& c : report.counts) {
      if (c.what == what) return c.written;
    }
    return 0;
  }

  std::string Text(const std::string& subject) {
    return Squeezed(Output("pdftotext -enc UTF-8 " + (dir_ / (subject + ".pdf")).string() + " -"));
  }

  std::filesystem::path dir_;
};

TEST_F(CasebookPdfTest, EachSubjectOfTheSiteIsOnePdf) {
  Populate();
  auto report = Export({});
  ASSERT_TRUE(report.ok()) << report.status().ToString();
  EXPECT_EQ(Written(*report, "subjects"), 2u);
  EXPECT_GT(Written(*report, "audit entries"), 20u);
  EXPECT_EQ(Written(*report, "signatures"), 1u);
  for (const char* subject : {"701-1001", "701-1002"}) {
    const std::string pdf = ReadAll(dir_ / (std::string(subject) + ".pdf"));
    ASSERT_GT(pdf.size(), 1000u) << subject;
    EXPECT_EQ(pdf.substr(0, 5), "%PDF-");
    EXPECT_NE(pdf.find("%%EOF", pdf.size() - 10), std::string::npos);
  }
  // Nothing staged is left behind.
  size_t files = 0;
  for (const auto& entry : std::filesystem::directory_iterator(dir_)) {
    EXPECT_EQ(entry.path().extension(), ".pdf") << entry.path();
    ++files;
  }
  EXPECT_EQ(files, 2u);
}

TEST_F(CasebookPdfTest, TheOutlineRunsVisitThenForm) {
  Populate();
  ASSERT_TRUE(Export({}).ok());
  // pdfinfo has no outline; cairo writes its titles as PDF strings in
  // the uncompressed /Outlines objects, which poppler's text tools skip.
  const std::string pdf = ReadAll(dir_ / "701-1001.pdf");
  std::vector<std::string> titles;
  for (size_t at = pdf.find("/Title ("); at != std::string::npos; at = pdf.find("/Title (", at + 1)) {
    const size_t end = pdf.find(")\n", at);
    titles.push_back(pdf.substr(at + 8, end - at - 8));
  }
  auto index = [&](const std::string& title) {
    auto it = std::find(titles.begin(), titles.end(), title);
    return it == titles.end() ? -1 : static_cast<int>(it - titles.begin());
  };
  ASSERT_GE(index("Cover"), 0) << ::testing::PrintToString(titles);
  EXPECT_GE(index("SCREENING 1"), 0) << ::testing::PrintToString(titles);
  EXPECT_GE(index("Vital signs"), 0) << ::testing::PrintToString(titles);
  EXPECT_GE(index("Adverse events"), 0) << ::testing::PrintToString(titles);
  EXPECT_GE(index("Casebook signatures"), 0);
  // And the outline's entries are bookmarks: parents with their children.
  EXPECT_NE(pdf.find("/Outlines"), std::string::npos);
  EXPECT_NE(pdf.find("/First"), std::string::npos);
  const std::string info = Output("TZ=UTC pdfinfo " + (dir_ / "701-1001.pdf").string());
  EXPECT_NE(info.find("Author:          trialcore"), std::string::npos) << info;
  EXPECT_NE(info.find("Mar  1 12:00:00 2024"), std::string::npos) << info;
  EXPECT_NE(info.find("Page size:       595.276 x 841.89 pts (A4)"), std::string::npos) << info;
}

TEST_F(CasebookPdfTest, TheTextHoldsEachChangeItsReasonAndTheSignersName) {
  Populate();
  ASSERT_TRUE(Export({}).ok());
  const std::string text = Text("701-1001");
  ASSERT_FALSE(text.empty()) << "pdftotext (poppler-utils) gave nothing";
  EXPECT_NE(text.find("120 mmHg → 125 mmHg"), std::string::npos) << text;
  EXPECT_NE(text.find("Transcription error, corrected from source"), std::string::npos);
  EXPECT_NE(text.find("Dr Ada Byron"), std::string::npos);
  EXPECT_NE(text.find("approval"), std::string::npos);
  EXPECT_NE(text.find("not done: scale broken"), std::string::npos);
  EXPECT_NE(text.find("Row 2 removed: Entered on the wrong visit, form or subject"), std::string::npos) << text;
  EXPECT_NE(text.find("generated 2024-03-01 12:00:00 UTC"), std::string::npos) << text;
  // The removed row keeps its values, struck through.
  const size_t removed = text.find("Row 2 removed:");
  ASSERT_NE(removed, std::string::npos);
  const std::string block = text.substr(removed, text.find("Audit trail", removed) - removed);
  EXPECT_NE(block.find("NAUSEA"), std::string::npos) << block;
  EXPECT_NE(text.find("page 1 of "), std::string::npos);
  // The unblinded archive holds the dose and the pharmacist's reason.
  EXPECT_NE(text.find("pharmacy dose corrected to 81"), std::string::npos);
  EXPECT_NE(text.find("QXZ"), std::string::npos);
}

TEST_F(CasebookPdfTest, ABlindedRoleGetsNoUnblindedOnlyItemNorWithheldIdentifyingValue) {
  Populate();
  auto report = Export({"data_manager"});
  ASSERT_TRUE(report.ok()) << report.status().ToString();
  const std::string text = Text("701-1001");
  ASSERT_FALSE(text.empty());
  EXPECT_EQ(text.find("pharmacy dose corrected"), std::string::npos) << text;
  EXPECT_EQ(text.find("EXDOSE"), std::string::npos);
  // Initials are identifying, hidden from the data manager: in the form and the audit trail.
  EXPECT_EQ(text.find("QXZ"), std::string::npos);
  EXPECT_NE(text.find("Subject initials (INITIALS)"), std::string::npos);
  EXPECT_NE(text.find("Transcription error, corrected from source"), std::string::npos);
  EXPECT_FALSE(report->not_carried.empty());
}

TEST_F(CasebookPdfTest, TheSameClockGivesTheSameBytes) {
  Populate();
  ASSERT_TRUE(Export({}).ok());
  const std::string again = (dir_ / "again").string();
  ASSERT_TRUE(Export({}, "701", Env::Default(), again).ok());
  const std::string first = ReadAll(dir_ / "701-1001.pdf");
  ASSERT_FALSE(first.empty());
  EXPECT_TRUE(first == ReadAll(std::filesystem::path(again) / "701-1001.pdf"));
}

TEST_F(CasebookPdfTest, AFullDiskLeavesNoFileOfItsOwn) {
  Populate();
  FaultInjectionEnv full(Env::Default());
  full.SetDiskSpace(1000);
  auto report = Export({}, "701", &full);
  ASSERT_FALSE(report.ok());
  EXPECT_NE(report.status().message().find("701-1001.pdf"), std::string::npos) << report.status().ToString();
  ASSERT_TRUE(std::filesystem::is_directory(dir_));
  EXPECT_TRUE(std::filesystem::is_empty(dir_));
}

TEST_F(CasebookPdfTest, AnUnknownSiteNamesTheStudysSites) {
  Populate();
  auto report = Export({}, "799");
  ASSERT_FALSE(report.ok());
  EXPECT_NE(report.status().message().find("no site 799"), std::string::npos) << report.status().ToString();
  EXPECT_NE(report.status().message().find("701"), std::string::npos) << report.status().ToString();
  EXPECT_FALSE(std::filesystem::exists(dir_));
}

}  // namespace
}  // namespace trialcore::standards
