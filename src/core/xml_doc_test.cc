#include "core/xml_doc.h"

#include <gtest/gtest.h>
#include <libxml/tree.h>

#include <filesystem>
#include <fstream>

namespace trialcore {
namespace {

const std::string kOdmDir = std::string(TRIALCORE_SHARED_DATA) + "/odm";

std::unique_ptr<XmlSchema> OdmSchema() {
  auto schema = XmlSchema::Load(kOdmDir + "/xsd-1.3.2/ODM1-3-2.xsd", "the ODM 1.3.2 schema");
  EXPECT_TRUE(schema.ok()) << schema.status().ToString();
  return schema.ok() ? std::move(*schema) : nullptr;
}

TEST(XmlDocTest, MalformedTextIsNamedWithItsLine) {
  auto doc = ParseXml("<a>\n<b>\n</a>", "msg.xml");
  ASSERT_FALSE(doc.ok());
  EXPECT_NE(doc.status().message().find("msg.xml:3: malformed XML"), std::string::npos) << doc.status().ToString();
}

TEST(XmlDocTest, AnExternalEntityIsNeverFetched) {
  const std::string xml =
      "<?xml version=\"1.0\"?>\n<!DOCTYPE a [<!ENTITY x SYSTEM \"file:///etc/hostname\">]>\n<a>&x;</a>";
  auto doc = ParseXml(xml, "xxe.xml");
  ASSERT_TRUE(doc.ok()) << doc.status().ToString();
  xmlChar* text = xmlNodeGetContent(xmlDocGetRootElement(doc->get()));
  const std::string content = text ? reinterpret_cast<const char*>(text) : "";
  xmlFree(text);
  EXPECT_EQ(content, "");
}

TEST(XmlDocTest, AValidFileValidatesInMemoryAndStreaming) {
  auto schema = OdmSchema();
  ASSERT_TRUE(schema);
  const std::string path = kOdmDir + "/cdash-forms-1.3.2.xml";
  EXPECT_TRUE(schema->ValidateFile(path).ok()) << schema->ValidateFile(path).ToString();
  std::ifstream in(path, std::ios::binary);
  const std::string text((std::istreambuf_iterator<char>(in)), {});
  EXPECT_TRUE(schema->Validate(text, path).ok());
}

TEST(XmlDocTest, AnInvalidFileIsRefusedWithLibxml2sLineAndMessage) {
  auto schema = OdmSchema();
  ASSERT_TRUE(schema);
  const std::string path = kOdmDir + "/cdash-forms-invalid-1.3.2.xml";
  const Status streamed = schema->ValidateFile(path);
  ASSERT_FALSE(streamed.ok());
  EXPECT_NE(streamed.message().find("not valid against the ODM 1.3.2 schema:\n" + path + ":"), std::string::npos)
      << streamed.ToString();
  std::ifstream in(path, std::ios::binary);
  const std::string text((std::istreambuf_iterator<char>(in)), {});
  const Status in_memory = schema->Validate(text, path);
  ASSERT_FALSE(in_memory.ok());
  EXPECT_EQ(in_memory.message(), streamed.message());
}

TEST(XmlDocTest, StreamingNamesAMalformedFileAndAMissingOne) {
  auto schema = OdmSchema();
  ASSERT_TRUE(schema);
  const auto dir = std::filesystem::temp_directory_path() / ("xml_doc_test_" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  const std::string path = (dir / "broken.xml").string();
  // A valid file cut off after its 40th line, as a copy that stopped half-way.
  std::ifstream in(kOdmDir + "/cdash-forms-1.3.2.xml");
  std::ofstream out(path);
  std::string line;
  for (int n = 0; n < 40 && std::getline(in, line); ++n) out << line << "\n";
  out.close();
  const Status status = schema->ValidateFile(path);
  ASSERT_FALSE(status.ok());
  EXPECT_NE(status.message().find(path + ":41: "), std::string::npos) << status.ToString();
  EXPECT_FALSE(schema->ValidateFile((dir / "none.xml").string()).ok());
  std::filesystem::remove_all(dir);
}

TEST(XmlDocTest, ASchemaThatIsMissingIsNamed) {
  auto schema = XmlSchema::Load("/nonexistent/x.xsd", "the X schema");
  ASSERT_FALSE(schema.ok());
  EXPECT_NE(schema.status().message().find("/nonexistent/x.xsd"), std::string::npos);
}

}  // namespace
}  // namespace trialcore
