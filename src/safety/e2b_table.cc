// The E2B(R3) mapping table: which XML path holds each data element,
// written from the Xpath column of FDA's data element list and corrected
// where FDA's example messages (the ones FDA's gateway accepts) differ; the
// path language and the engine are in e2b_map.cc.
#include <string>
#include <utility>
#include <vector>

#include "safety/e2b_map.h"
#include "safety/icsr.h"

namespace trialcore::safety::e2b_internal {

// --- The table -----------------------------------------------------------------

namespace {

class TableBuilder {
 public:
  explicit TableBuilder(Table* t) : t_(t) {}
  // A positional section; `parent` "" = the message.
  void Section(const std::string& name, const std::string& parent, const std::string& anchor) {
    e2b_internal::Section s;
    s.name = name;
    s.parent = parent.empty() ? -1 : t_->FindSection(parent);
    s.depth = RepeatDepthOf(name);
    s.anchor = ParsePath(anchor);
    t_->sections.push_back(std::move(s));
  }
  void Linked(const std::string& name, const std::string& anchor,
              std::vector<std::pair<std::string, std::string>> links, const std::string& parent = "") {
    e2b_internal::Section s;
    s.name = name;
    s.parent = parent.empty() ? -1 : t_->FindSection(parent);
    s.depth = RepeatDepthOf(name);
    s.anchor = ParsePath(anchor);
    // The link gives the index of the target's repeat letter ("G.k.0": k).
    std::vector<std::string> letters;
    for (auto& seg : SplitTop(name, '.')) {
      if (seg == "r" || seg == "i" || seg == "k") letters.push_back(seg);
    }
    for (auto& [ref, target] : links) {
      int pos = 0;
      for (auto& seg : SplitTop(target, '.')) {
        if (seg != "r" && seg != "i" && seg != "k") continue;
        for (size_t n = 0; n < letters.size(); ++n) {
          if (letters[n] == seg) pos = static_cast<int>(n);
        }
      }
      s.links.push_back({ParsePath(ref), target, pos});
    }
    t_->sections.push_back(std::move(s));
  }
  // An element; its section is the longest section name that prefixes it.
  void F(const std::string& number, const std::string& path, bool code_system = false) {
    t_->rows.push_back(Row{number, SectionOf(number), ParsePath(path), code_system});
  }
  // An element of a section whose name is not a dotted prefix of the number
  // ("G.k.9.i.3.1a" in "G.k.9.i.3.1").
  void FIn(const std::string& section, const std::string& number, const std::string& path) {
    t_->rows.push_back(Row{number, t_->FindSection(section), ParsePath(path), false});
  }
  // A constant written into every instance of `section` ("" = once per message).
  void K(const std::string& section, const std::string& path) {
    t_->rows.push_back(Row{"", section.empty() ? -1 : t_->FindSection(section), ParsePath(path), false});
  }

 private:
  static int RepeatDepthOf(const std::string& name) {
    int depth = 0;
    for (auto& seg : SplitTop(name, '.')) depth += seg == "r" || seg == "i" || seg == "k";
    return depth;
  }
  int SectionOf(const std::string& full_number) const {
    const std::string number(IchPart(full_number));
    int best = -1;
    size_t best_len = 0;
    for (size_t n = 0; n < t_->sections.size(); ++n) {
      const std::string s(IchPart(t_->sections[n].name));
      // An element may be its own section ("C.1.10.r" repeats and holds the value).
      bool under = number.size() >= s.size() && number.compare(0, s.size(), s) == 0 &&
                   (number.size() == s.size() || number[s.size()] == '.');
      if (under && s.size() > best_len) {
        best = static_cast<int>(n);
        best_len = s.size();
      }
    }
    return best;
  }
  Table* t_;
};

// Code systems (OIDs) of the ICH and FDA code lists.
#define ICH(n) "2.16.840.1.113883.3.989.2.1.1." #n
#define ICHID(n) "2.16.840.1.113883.3.989.2.1.3." #n
#define FDAID(n) "2.16.840.1.113883.3.989.5.1.2.2.1." n
#define NCI "2.16.840.1.113883.3.26.1.1"
#define MEDDRA "2.16.840.1.113883.6.163"
#define ISO3166 "1.0.3166.1.2.2"

// An observation-like child told apart by its code: [x/code/@code='c']{x/code/@codeSystem='cs'}.
#define BY_CODE(x, c, cs) "[" x "/code/@code='" c "']{" x "/code/@codeSystem='" cs "'}"
#define TYPE(t) "{@typeCode='" t "'}"

#define IE "controlActProcess/subject/investigationEvent"
#define AEA IE "/component[adverseEventAssessment]/adverseEventAssessment"
#define PR AEA "/subject1" TYPE("SBJ") "/primaryRole"
#define P1 PR "/player1"
#define STUDY PR "/subjectOf1" TYPE("SBJ") "/researchStudy"
#define PR_OBS(c) PR "/subjectOf2" TYPE("SBJ") BY_CODE("observation", c, ICH(19)) "/observation"
#define PR_ORG(c) PR "/subjectOf2" TYPE("SBJ") BY_CODE("organizer", c, ICH(20)) "/organizer"
#define IE_OBS(c, cs) IE "/component" BY_CODE("observationEvent", c, cs) "/observationEvent"
#define IE_CHAR(c) \
  IE "/subjectOf2" TYPE("SUBJ") BY_CODE("investigationCharacteristic", c, ICH(23)) "/investigationCharacteristic"
#define RX_OBS(c) "observation/outboundRelationship2" TYPE("PERT") BY_CODE("observation", c, ICH(19)) "/observation"
#define SA "substanceAdministration"
#define KP SA "/consumable/instanceOfKind/kindOfProduct"
#define APPROVAL KP "/asManufacturedProduct/subjectOf/approval"
#define DOSE SA
#define CAUSALITY AEA "/component"
#define SENDER \
  IE "/subjectOf1" TYPE("SUBJ") "[controlActEvent/author/assignedEntity/code]/controlActEvent/author/assignedEntity"
#define REPORTER "relatedInvestigation/subjectOf2" TYPE("SUBJ") "/controlActEvent/author/assignedEntity"
#define COMMENT(author)                                                                                          \
  AEA "/component1[observationEvent/code/@code='10'][observationEvent/author/assignedEntity/code/@code='" author \
      "']{observationEvent/code/@codeSystem='" ICH(                                                              \
          19) "'}{observationEvent/author/assignedEntity/code/@codeSystem='" ICH(21) "'}/observationEvent"

void BuildIcsrTable(Table* t) {
  TableBuilder b(t);
  // N.2.r: the message header.
  b.F("N.2.r.1", "id{@root='" ICHID(1) "'}/@extension");
  b.F("N.2.r.4", "creationTime/@value");
  b.K("", "interactionId{@extension='PORR_IN049016UV'}{@root='2.16.840.1.113883.1.6'}");
  b.K("", "processingCode{@code='P'}");
  b.K("", "processingModeCode{@code='I'}");  // as in FDA's examples
  b.K("", "acceptAckCode{@code='AL'}");
  b.F("N.2.r.3", "receiver/device/id{@root='" ICHID(12) "'}/@extension");
  b.F("N.2.r.2", "sender/device/id{@root='" ICHID(11) "'}/@extension");
  b.K("", "controlActProcess/code{@code='PORR_TE049016UV'}{@codeSystem='2.16.840.1.113883.1.18'}");
  b.F("C.1.2", "controlActProcess/effectiveTime/@value");

  // C.1: the report's identification, in the investigation event.
  b.F("C.1.1", IE "/id[@root='" ICHID(1) "']/@extension");
  b.F("C.1.8.1", IE "/id[@root='" ICHID(2) "']/@extension");
  b.K("", IE "/code{@code='PAT_ADV_EVNT'}{@codeSystem='2.16.840.1.113883.5.4'}");
  b.F("H.1", IE "/text");
  b.K("", IE "/statusCode{@code='active'}");
  b.F("C.1.4", IE "/effectiveTime/low/@value");
  b.F("C.1.5", IE "/availabilityTime/@value");

  // C.1.6.1.r documents held by the sender; C.4.r literature.
  b.Section("C.1.6.1.r", "", IE "/reference" TYPE("REFR") BY_CODE("document", "1", ICH(27)));
  b.F("C.1.6.1.r.1", "document/title");
  b.F("C.1.6.1.r.2.reference", "document/text/reference/@value");
  b.F("C.1.6.1.r.2.media", "document/text/@mediaType");
  b.F("C.1.6.1.r.2.representation", "document/text/@representation");
  b.F("C.1.6.1.r.2", "document/text");
  b.Section("C.4.r", "", IE "/reference" TYPE("REFR") BY_CODE("document", "2", ICH(27)));
  b.F("C.4.r.2", "document/text");
  b.F("C.4.r.1", "document/bibliographicDesignationText");

  // D: the patient.
  b.F("D.1", P1 "/name");
  b.F("D.5", P1 "/administrativeGenderCode{@codeSystem='1.0.5218'}/@code");
  b.F("D.2.1", P1 "/birthTime/@value");
  b.F("D.9.1", P1 "/deceasedTime/@value");
  b.F("D.1.1.1", P1 "/asIdentifiedEntity" BY_CODE("", "1", ICH(4)) "/id{@root='" ICHID(7) "'}/@extension");
  b.F("D.1.1.2", P1 "/asIdentifiedEntity" BY_CODE("", "2", ICH(4)) "/id{@root='" ICHID(8) "'}/@extension");
  b.F("D.1.1.3", P1 "/asIdentifiedEntity" BY_CODE("", "3", ICH(4)) "/id{@root='" ICHID(9) "'}/@extension");
  b.F("D.1.1.4", P1 "/asIdentifiedEntity" BY_CODE("", "4", ICH(4)) "/id{@root='" ICHID(10) "'}/@extension");

  // C.5: the study.
  b.F("C.5.3", STUDY "/id{@root='" ICHID(5) "'}/@extension");
  b.F("C.5.4", STUDY "/code{@codeSystem='" ICH(8) "'}/@code");
  b.F("C.5.2", STUDY "/title");
  b.Section("C.5.1.r", "", STUDY "/authorization[studyRegistration/id/@root='" ICHID(6) "']");
  b.F("C.5.1.r.1", "studyRegistration/id/@extension");
  b.F("C.5.1.r.2",
      "studyRegistration/author/territorialAuthority/governingPlace/code{@codeSystem='" ISO3166 "'}/@code");
  b.F("FDA.C.5.5a",
      STUDY "/authorization[studyRegistration/id/@root='" FDAID("2.1") "']/studyRegistration/id/@extension");
  b.F("FDA.C.5.5b",
      STUDY "/authorization[studyRegistration/id/@root='" FDAID("2.2") "']/studyRegistration/id/@extension");
  b.Section("FDA.C.5.6.r", "", STUDY "/authorization[studyRegistration/id/@root='" FDAID("2.3") "']");
  b.F("FDA.C.5.6.r", "studyRegistration/id/@extension");

  b.F("D.2.2a", PR_OBS("3") "/value{@xsi:type='PQ'}/@value");
  b.F("D.2.2b", PR_OBS("3") "/value{@xsi:type='PQ'}/@unit");
  b.F("D.2.2.1a", PR_OBS("16") "/value{@xsi:type='PQ'}/@value");
  b.F("D.2.2.1b", PR_OBS("16") "/value{@xsi:type='PQ'}/@unit");
  b.F("D.2.3", PR_OBS("4") "/value{@xsi:type='CE'}{@codeSystem='" ICH(9) "'}/@code");
  b.F("D.3", PR_OBS("7") "/value{@xsi:type='PQ'}{@unit='kg'}/@value");
  b.F("D.4", PR_OBS("17") "/value{@xsi:type='PQ'}{@unit='cm'}/@value");
  b.F("D.6", PR_OBS("22") "/value{@xsi:type='TS'}/@value");
  b.Section("FDA.D.11.r", "", PR "/subjectOf2" TYPE("SBJ") BY_CODE("observation", "C17049", NCI));
  b.F("FDA.D.11.r.1", "observation/value{@xsi:type='CE'}{@codeSystem='" NCI "'}/@code");
  b.F("FDA.D.12", PR "/subjectOf2" TYPE("SBJ") BY_CODE(
                      "observation", "C16564", NCI) "/observation/value{@xsi:type='CE'}{@codeSystem='" NCI "'}/@code");

  // D.7 medical history, D.8 past drugs.
  b.Section("D.7.1.r", "", PR_ORG("1") "/component[observation/code/@codeSystem='" MEDDRA "']");
  b.F("D.7.1.r.1b", "observation/code/@code");
  b.F("D.7.1.r.1a", "observation/code/@codeSystemVersion");
  b.F("D.7.1.r.2", "observation/effectiveTime{@xsi:type='IVL_TS'}/low/@value");
  b.F("D.7.1.r.4", "observation/effectiveTime{@xsi:type='IVL_TS'}/high/@value");
  b.F("D.7.1.r.6", "observation/outboundRelationship2" TYPE("EXPL")
                       BY_CODE("observation", "38", ICH(19)) "/observation/value{@xsi:type='ED'}");
  b.F("D.7.1.r.5", "observation/outboundRelationship2" TYPE("COMP")
                       BY_CODE("observation", "10", ICH(19)) "/observation/value{@xsi:type='ED'}");
  // After the outbound relationships, as the schema orders them.
  b.F("D.7.1.r.3", "observation/inboundRelationship" TYPE("REFR")
                       BY_CODE("observation", "13", ICH(19)) "/observation/value{@xsi:type='BL'}/@value");
  b.F("D.7.2", PR_ORG("1") "/component" BY_CODE("observation", "18", ICH(19)) "/observation/value{@xsi:type='ED'}");
  b.F("D.7.3",
      PR_ORG("1") "/component" BY_CODE("observation", "11", ICH(19)) "/observation/value{@xsi:type='BL'}/@value");
  b.Section("D.8.r", "", PR_ORG("2") "/component[" SA "]");
  b.F("D.8.r.4", SA "/effectiveTime{@xsi:type='IVL_TS'}/low/@value");
  b.F("D.8.r.5", SA "/effectiveTime{@xsi:type='IVL_TS'}/high/@value");
  b.F("D.8.r.2b", KP "/code/@code", true);
  b.F("D.8.r.2a", KP "/code/@codeSystemVersion");
  b.F("D.8.r.1", KP "/name");
  b.F("D.8.r.6b",
      SA "/outboundRelationship2" TYPE("RSON")
          BY_CODE("observation", "19", ICH(19)) "/observation/value{@xsi:type='CE'}{@codeSystem='" MEDDRA "'}/@code");
  b.F("D.8.r.6a", SA "/outboundRelationship2" TYPE("RSON")
                      BY_CODE("observation", "19", ICH(19)) "/observation/value{@xsi:type='CE'}{@codeSystem='" MEDDRA
                                                            "'}/@codeSystemVersion");
  b.F("D.8.r.7b",
      SA "/outboundRelationship2" TYPE("CAUS")
          BY_CODE("observation", "29", ICH(19)) "/observation/value{@xsi:type='CE'}{@codeSystem='" MEDDRA "'}/@code");
  b.F("D.8.r.7a", SA "/outboundRelationship2" TYPE("CAUS")
                      BY_CODE("observation", "29", ICH(19)) "/observation/value{@xsi:type='CE'}{@codeSystem='" MEDDRA
                                                            "'}/@codeSystemVersion");

  // D.9 death.
  b.Section("D.9.2.r", "", PR "/subjectOf2" TYPE("SBJ") BY_CODE("observation", "32", ICH(19)));
  b.F("D.9.2.r.1b", "observation/value{@xsi:type='CE'}{@codeSystem='" MEDDRA "'}/@code");
  b.F("D.9.2.r.1a", "observation/value{@xsi:type='CE'}{@codeSystem='" MEDDRA "'}/@codeSystemVersion");
  b.F("D.9.2.r.2", "observation/value{@xsi:type='CE'}{@codeSystem='" MEDDRA "'}/originalText");
  b.F("D.9.3", PR_OBS("5") "/value{@xsi:type='BL'}/@value");
  b.Section("D.9.4.r", "", PR_OBS("5") "/outboundRelationship2" TYPE("DRIV") BY_CODE("observation", "8", ICH(19)));
  b.F("D.9.4.r.1b", "observation/value{@xsi:type='CE'}{@codeSystem='" MEDDRA "'}/@code");
  b.F("D.9.4.r.1a", "observation/value{@xsi:type='CE'}{@codeSystem='" MEDDRA "'}/@codeSystemVersion");
  b.F("D.9.4.r.2", "observation/value{@xsi:type='CE'}{@codeSystem='" MEDDRA "'}/originalText");

  // D.10 the parent (parent-child reports).
#define PARENT P1 "/role{@classCode='PRS'}"
#define PARENT_OBS(c) PARENT "/subjectOf2" TYPE("SBJ") BY_CODE("observation", c, ICH(19)) "/observation"
  b.F("D.10.1", PARENT "/associatedPerson{@classCode='PSN'}{@determinerCode='INSTANCE'}/name");
  b.F("D.10.6", PARENT
      "/associatedPerson{@classCode='PSN'}{@determinerCode='INSTANCE'}"
      "/administrativeGenderCode{@codeSystem='1.0.5218'}/@code");
  b.F("D.10.2.1", PARENT "/associatedPerson{@classCode='PSN'}{@determinerCode='INSTANCE'}/birthTime/@value");
  b.F("D.10.2.2a", PARENT_OBS("3") "/value{@xsi:type='PQ'}/@value");
  b.F("D.10.2.2b", PARENT_OBS("3") "/value{@xsi:type='PQ'}/@unit");
  b.F("D.10.3", PARENT_OBS("22") "/value{@xsi:type='TS'}/@value");
  b.F("D.10.4", PARENT_OBS("7") "/value{@xsi:type='PQ'}{@unit='kg'}/@value");
  b.F("D.10.5", PARENT_OBS("17") "/value{@xsi:type='PQ'}{@unit='cm'}/@value");
  b.F("D.10.7.2", PARENT "/subjectOf2" TYPE("SBJ") BY_CODE("organizer", "1", ICH(20)) "/organizer/component" BY_CODE(
                      "observation", "18", ICH(19)) "/observation/value{@xsi:type='ED'}");

  // E.i reactions.
  b.Section("E.i", "", PR "/subjectOf2" TYPE("SBJ") BY_CODE("observation", "29", ICH(19)));
  b.F("E.i.0", "observation/id/@root");
  b.F("E.i.4", "observation/effectiveTime{@xsi:type='IVL_TS'}/low/@value");
  b.F("E.i.6a", "observation/effectiveTime{@xsi:type='IVL_TS'}/width/@value");
  b.F("E.i.6b", "observation/effectiveTime{@xsi:type='IVL_TS'}/width/@unit");
  b.F("E.i.5", "observation/effectiveTime{@xsi:type='IVL_TS'}/high/@value");
  b.F("E.i.2.1b", "observation/value{@xsi:type='CE'}{@codeSystem='" MEDDRA "'}/@code");
  b.F("E.i.2.1a", "observation/value{@xsi:type='CE'}{@codeSystem='" MEDDRA "'}/@codeSystemVersion");
  b.F("E.i.1.1a", "observation/value{@xsi:type='CE'}{@codeSystem='" MEDDRA "'}/originalText");
  b.F("E.i.1.1b", "observation/value{@xsi:type='CE'}{@codeSystem='" MEDDRA "'}/originalText/@language");
  b.F("E.i.9",
      "observation/location{@typeCode='LOC'}/locatedEntity/locatedPlace/code{@codeSystem='" ISO3166 "'}/@code");
  b.F("E.i.1.2", RX_OBS("30") "/value{@xsi:type='ED'}");
  b.F("E.i.3.1", RX_OBS("37") "/value{@xsi:type='CE'}{@codeSystem='" ICH(10) "'}/@code");
  b.F("E.i.3.2a", RX_OBS("34") "/value{@xsi:type='BL'}/@value");
  b.F("E.i.3.2b", RX_OBS("21") "/value{@xsi:type='BL'}/@value");
  b.F("E.i.3.2c", RX_OBS("33") "/value{@xsi:type='BL'}/@value");
  b.F("E.i.3.2d", RX_OBS("35") "/value{@xsi:type='BL'}/@value");
  b.F("E.i.3.2e", RX_OBS("12") "/value{@xsi:type='BL'}/@value");
  b.F("E.i.3.2f", RX_OBS("26") "/value{@xsi:type='BL'}/@value");
  // FDA's code list for required intervention, as FDA's examples send it.
  b.F("FDA.E.i.3.2h", "observation/outboundRelationship2" TYPE("PERT")
                      "[observation/code/@code='7'][observation/code/@codeSystem='" FDAID("3") "']/observation"
                      "/value{@xsi:type='BL'}/@value");
  b.F("E.i.7", RX_OBS("27") "/value{@xsi:type='CE'}{@codeSystem='" ICH(11) "'}/@code");
  b.F("E.i.8", RX_OBS("24") "/value{@xsi:type='BL'}/@value");

  // F.r tests.
  b.Section("F.r", "", PR_ORG("3") "/component[observation]");
  b.F("F.r.2.2b", "observation/code/@code", true);
  b.F("F.r.2.2a", "observation/code/@codeSystemVersion");
  b.F("F.r.2.1", "observation/code/originalText");
  b.F("F.r.1", "observation/effectiveTime/@value");
  b.F("F.r.3.2", "observation/value[@xsi:type='IVL_PQ']/center/@value");
  b.F("F.r.3.3", "observation/value[@xsi:type='IVL_PQ']/center/@unit");
  b.F("F.r.3.4", "observation/value[@xsi:type='ED']");
  b.F("F.r.3.1", "observation/interpretationCode{@codeSystem='" ICH(12) "'}/@code");
  b.F("F.r.4", "observation/referenceRange" TYPE("REFV")
               "[observationRange/interpretationCode/@code='L']{observationRange/interpretationCode/@codeSystem="
               "'2.16.840.1.113883.5.83'}/observationRange{@classCode='OBS'}{@moodCode='EVN.CRT'}"
               "/value{@xsi:type='PQ'}/@value");
  b.F("F.r.5", "observation/referenceRange" TYPE("REFV")
               "[observationRange/interpretationCode/@code='H']{observationRange/interpretationCode/@codeSystem="
               "'2.16.840.1.113883.5.83'}/observationRange{@classCode='OBS'}{@moodCode='EVN.CRT'}"
               "/value{@xsi:type='PQ'}/@value");
  b.F("F.r.6", "observation/outboundRelationship2" TYPE("PERT")
                   BY_CODE("observation", "10", ICH(19)) "/observation/value{@xsi:type='ED'}");
  b.F("F.r.7", "observation/outboundRelationship2" TYPE("REFR")
                   BY_CODE("observation", "25", ICH(19)) "/observation/value{@xsi:type='BL'}/@value");

  // G.k drugs.
  b.Section("G.k", "", PR_ORG("4") "/component[" SA "]");
  b.F("G.k.0", SA "/id/@root");
  b.F("G.k.2.1.1b", KP "/code/@code", true);
  b.F("G.k.2.1.1a", KP "/code/@codeSystemVersion");
  b.F("G.k.2.2", KP "/name");
  b.F("G.k.3.1", APPROVAL "/id{@root='" ICHID(4) "'}/@extension");
  b.F("G.k.3.3", APPROVAL "/holder/role/playingOrganization/name");
  b.F("G.k.3.2", APPROVAL "/author/territorialAuthority/territory/code{@codeSystem='" ISO3166 "'}/@code");
  b.Section("G.k.2.3.r", "G.k", KP "/ingredient");
  // An ingredient's strength comes before the substance in the schema.
  b.F("G.k.2.3.r.3a", "quantity{denominator/@value='1'}/numerator/@value");
  b.F("G.k.2.3.r.3b", "quantity{denominator/@value='1'}/numerator/@unit");
  b.F("G.k.2.3.r.2b", "ingredientSubstance/code/@code", true);
  b.F("G.k.2.3.r.2a", "ingredientSubstance/code/@codeSystemVersion");
  b.F("G.k.2.3.r.1", "ingredientSubstance/name");
  b.F("G.k.2.4", SA "/consumable/instanceOfKind/subjectOf/productEvent" BY_CODE(
                     "", "1", ICH(18)) "/performer/assignedEntity/representedOrganization/addr/country");
  // G.k.9.i.3 and .4: per drug and reaction, naming the reaction by its id.
  b.Linked("G.k.9.i.3.1", SA "/outboundRelationship1[@typeCode='SAS']", {{"actReference/id/@root", "E.i.0"}}, "G.k");
  b.FIn("G.k.9.i.3.1", "G.k.9.i.3.1a", "pauseQuantity/@value");
  b.FIn("G.k.9.i.3.1", "G.k.9.i.3.1b", "pauseQuantity/@unit");
  b.Linked("G.k.9.i.3.2", SA "/outboundRelationship1[@typeCode='SAE']", {{"actReference/id/@root", "E.i.0"}}, "G.k");
  b.FIn("G.k.9.i.3.2", "G.k.9.i.3.2a", "pauseQuantity/@value");
  b.FIn("G.k.9.i.3.2", "G.k.9.i.3.2b", "pauseQuantity/@unit");
  b.F("G.k.2.5", SA "/outboundRelationship2" TYPE("PERT")
                     BY_CODE("observation", "6", ICH(19)) "/observation/value{@xsi:type='BL'}/@value");
  b.F("G.k.5a", SA "/outboundRelationship2" TYPE("SUMM")
                    BY_CODE("observation", "14", ICH(19)) "/observation/value{@xsi:type='PQ'}/@value");
  b.F("G.k.5b", SA "/outboundRelationship2" TYPE("SUMM")
                    BY_CODE("observation", "14", ICH(19)) "/observation/value{@xsi:type='PQ'}/@unit");
  b.F("G.k.6a", SA "/outboundRelationship2" TYPE("PERT")
                    BY_CODE("observation", "16", ICH(19)) "/observation/value{@xsi:type='PQ'}/@value");
  b.F("G.k.6b", SA "/outboundRelationship2" TYPE("PERT")
                    BY_CODE("observation", "16", ICH(19)) "/observation/value{@xsi:type='PQ'}/@unit");
  b.Section("G.k.4.r", "G.k", SA "/outboundRelationship2" TYPE("COMP") "[" SA "]");
  b.F("G.k.4.r.8", DOSE "/text");
  b.F("G.k.4.r.4-5", DOSE "/effectiveTime/@nullFlavor");
  b.F("G.k.4.r.4", DOSE "/effectiveTime{@xsi:type='IVL_TS'}/low/@value");
  b.F("G.k.4.r.5", DOSE "/effectiveTime{@xsi:type='IVL_TS'}/high/@value");
  b.F("G.k.4.r.10.2b", DOSE "/routeCode/@code", true);
  b.F("G.k.4.r.10.2a", DOSE "/routeCode/@codeSystemVersion");
  b.F("G.k.4.r.10.1", DOSE "/routeCode/originalText");
  b.F("G.k.4.r.1a", DOSE "/doseQuantity/@value");
  b.F("G.k.4.r.1b", DOSE "/doseQuantity/@unit");
  b.F("G.k.4.r.7", DOSE "/consumable/instanceOfKind/productInstanceInstance/lotNumberText");
  b.F("G.k.4.r.9.2b", DOSE "/consumable/instanceOfKind/kindOfProduct/formCode/@code", true);
  b.F("G.k.4.r.9.2a", DOSE "/consumable/instanceOfKind/kindOfProduct/formCode/@codeSystemVersion");
  b.F("G.k.4.r.9.1", DOSE "/consumable/instanceOfKind/kindOfProduct/formCode/originalText");
  b.F("G.k.4.r.country", DOSE "/performer/assignedEntity/representedOrganization/addr/country");
  b.Linked("G.k.9.i.4", SA "/outboundRelationship2" TYPE("PERT") BY_CODE("observation", "31", ICH(19)),
           {{"observation/outboundRelationship1{@typeCode='REFR'}/actReference/id/@root", "E.i.0"}}, "G.k");
  b.F("G.k.9.i.4", "observation/value{@xsi:type='CE'}{@codeSystem='" ICH(16) "'}/@code");
  b.Section("G.k.10.r", "G.k", SA "/outboundRelationship2" TYPE("REFR") BY_CODE("observation", "9", ICH(19)));
  b.F("G.k.10.r", "observation/value{@xsi:type='CE'}{@codeSystem='" ICH(17) "'}/@code");
  b.F("G.k.11", SA "/outboundRelationship2" TYPE("REFR")
                    BY_CODE("observation", "2", ICH(19)) "/observation/value{@xsi:type='ED'}");
  b.Section("G.k.7.r", "G.k", SA "/inboundRelationship" TYPE("RSON") BY_CODE("observation", "19", ICH(19)));
  b.F("G.k.7.r.2b", "observation/value{@xsi:type='CE'}{@codeSystem='" MEDDRA "'}/@code");
  b.F("G.k.7.r.2a", "observation/value{@xsi:type='CE'}{@codeSystem='" MEDDRA "'}/@codeSystemVersion");
  b.F("G.k.7.r.1", "observation/value{@xsi:type='CE'}{@codeSystem='" MEDDRA "'}/originalText");
  b.K("G.k.7.r", "observation/performer/assignedEntity/code{@code='3'}{@codeSystem='" ICH(21) "'}");
  b.F("G.k.8", SA "/inboundRelationship" TYPE("CAUS") "[act/code]/act/code{@codeSystem='" ICH(15) "'}/@code");

  // G.k.1 and G.k.9.i.2.r: assessments that name the drug and reaction by id.
  b.Linked("G.k.1", CAUSALITY BY_CODE("causalityAssessment", "20", ICH(19)),
           {{"causalityAssessment/subject2/productUseReference/id/@root", "G.k.0"}});
  b.F("G.k.1", "causalityAssessment/value{@xsi:type='CE'}{@codeSystem='" ICH(13) "'}/@code");
  b.Linked("G.k.9.i.2.r", CAUSALITY BY_CODE("causalityAssessment", "39", ICH(19)),
           {{"causalityAssessment/subject1" TYPE("SUBJ") "/adverseEffectReference/id/@root", "E.i.0"},
            {"causalityAssessment/subject2/productUseReference/id/@root", "G.k.0"}});
  b.F("G.k.9.i.2.r.3", "causalityAssessment/value{@xsi:type='ST'}");
  b.F("G.k.9.i.2.r.2", "causalityAssessment/methodCode/originalText");
  b.F("G.k.9.i.2.r.1", "causalityAssessment/author/assignedEntity/code/originalText");

  // H: narrative and comments.
  b.F("H.2", COMMENT("3") "/value{@xsi:type='ED'}");
  b.Section("H.3.r", "",
            AEA "/component1[observationEvent/code/@code='15']{observationEvent/code/@codeSystem='" ICH(19)
                "'}{observationEvent/author/assignedEntity/code/@code='1'}{observationEvent/author/assignedEntity/"
                "code/@codeSystem='" ICH(21) "'}");
  b.F("H.3.r.1b", "observationEvent/value{@xsi:type='CE'}{@codeSystem='" MEDDRA "'}/@code");
  b.F("H.3.r.1a", "observationEvent/value{@xsi:type='CE'}{@codeSystem='" MEDDRA "'}/@codeSystemVersion");
  b.F("H.4", COMMENT("1") "/value{@xsi:type='ED'}");

  // C.1.6.1, C.1.7 and FDA's additions, observations of the event.
  b.F("C.1.6.1", IE_OBS("1", ICH(19)) "/value{@xsi:type='BL'}/@value");
  b.F("C.1.7", IE_OBS("23", ICH(19)) "/value{@xsi:type='BL'}/@value");
  b.F("FDA.C.1.7.1", IE_OBS("C54588", NCI) "/value{@xsi:type='CE'}{@codeSystem='" FDAID("1.1") "'}/@code");
  b.F("FDA.C.1.12", IE_OBS("C156384", NCI) "/value{@xsi:type='BL'}/@value");
  b.Section("H.5.r", "",
            IE "/component[observationEvent/code/@code='36']{observationEvent/code/@codeSystem='" ICH(19)
               "'}{observationEvent/author/assignedEntity/code/@code='2'}{observationEvent/author/assignedEntity/"
               "code/@codeSystem='" ICH(21) "'}");
  b.F("H.5.r.1a", "observationEvent/value{@xsi:type='ED'}");
  b.F("H.5.r.1b", "observationEvent/value{@xsi:type='ED'}/@language");

  // C.1.8.2 first sender, C.2.r primary sources, C.1.10.r linked reports.
  b.F("C.1.8.2", IE "/outboundRelationship" TYPE("SPRT")
                     BY_CODE("relatedInvestigation", "1", ICH(22)) "/relatedInvestigation/subjectOf2" TYPE(
                         "SUBJ") "/controlActEvent/author/assignedEntity/code{@codeSystem='" ICH(3) "'}/@code");
  b.Section("C.2.r", "", IE "/outboundRelationship" TYPE("SPRT") BY_CODE("relatedInvestigation", "2", ICH(22)));
  b.F("C.2.r.5", "priorityNumber/@value");
  b.F("C.2.r.2.3", REPORTER "/addr/streetAddressLine");
  b.F("C.2.r.2.4", REPORTER "/addr/city");
  b.F("C.2.r.2.5", REPORTER "/addr/state");
  b.F("C.2.r.2.6", REPORTER "/addr/postalCode");
  b.F("C.2.r.2.7", REPORTER "/telecom[@value^='tel:']/@value");
  b.F("FDA.C.2.r.2.8", REPORTER "/telecom[@value^='mailto:']/@value");
  b.F("C.2.r.1.1", REPORTER "/assignedPerson/name/prefix");
  b.F("C.2.r.1.2", REPORTER "/assignedPerson/name/given");
  b.F("C.2.r.1.3", REPORTER "/assignedPerson/name/given[2]");
  b.F("C.2.r.1.4", REPORTER "/assignedPerson/name/family");
  b.F("C.2.r.4", REPORTER "/assignedPerson/asQualifiedEntity/code{@codeSystem='" ICH(6) "'}/@code", true);
  b.F("C.2.r.3", REPORTER
      "/assignedPerson/asLocatedEntity/location{@classCode='COUNTRY'}{@determinerCode='INSTANCE'}"
      "/code{@codeSystem='" ISO3166 "'}/@code");
  b.F("C.2.r.2.2", REPORTER "/representedOrganization/name");
  b.F("C.2.r.2.1", REPORTER "/representedOrganization/assignedEntity/representedOrganization/name");
  b.Section("C.1.10.r", "", IE "/outboundRelationship" TYPE("SPRT") "[relatedInvestigation/code/@nullFlavor='NA']");
  b.F("C.1.10.r",
      "relatedInvestigation/subjectOf2" TYPE("SUBJ") "/controlActEvent/id{@root='" ICHID(2) "'}/@extension");

  // C.3 the sender; C.1.9.1.r other case identifiers.
  b.F("C.3.1", SENDER "/code{@codeSystem='" ICH(7) "'}/@code");
  b.F("C.3.4.1", SENDER "/addr/streetAddressLine");
  b.F("C.3.4.2", SENDER "/addr/city");
  b.F("C.3.4.3", SENDER "/addr/state");
  b.F("C.3.4.4", SENDER "/addr/postalCode");
  b.F("C.3.4.6", SENDER "/telecom[@value^='tel:']/@value");
  b.F("C.3.4.7", SENDER "/telecom[@value^='fax:']/@value");
  b.F("C.3.4.8", SENDER "/telecom[@value^='mailto:']/@value");
  b.F("C.3.3.2", SENDER "/assignedPerson/name/prefix");
  b.F("C.3.3.3", SENDER "/assignedPerson/name/given");
  b.F("C.3.3.4", SENDER "/assignedPerson/name/given[2]");
  b.F("C.3.3.5", SENDER "/assignedPerson/name/family");
  b.F("C.3.4.5", SENDER
      "/assignedPerson/asLocatedEntity/location{@classCode='COUNTRY'}{@determinerCode='INSTANCE'}"
      "/code{@codeSystem='" ISO3166 "'}/@code");
  b.F("C.3.3.1", SENDER "/representedOrganization/name");
  b.F("C.3.2", SENDER "/representedOrganization/assignedEntity/representedOrganization/name");
  b.Section("C.1.9.1.r", "", IE "/subjectOf1" TYPE("SUBJ") "[controlActEvent/id]");
  b.F("C.1.9.1.r.1", "controlActEvent/id{@root='" ICHID(3) "'}/@assigningAuthorityName");
  b.F("C.1.9.1.r.2", "controlActEvent/id{@root='" ICHID(3) "'}/@extension");

  // C.1.3 and the other characteristics of the report.
  b.F("C.1.3", IE_CHAR("1") "/value{@xsi:type='CE'}{@codeSystem='" ICH(2) "'}/@code");
  b.F("C.1.9.1", IE_CHAR("2") "/value{@xsi:type='BL'}/@value");
  b.F("C.1.11.1", IE_CHAR("3") "/value{@xsi:type='CE'}{@codeSystem='" ICH(5) "'}/@code");
  b.F("C.1.11.2", IE_CHAR("4") "/value{@xsi:type='CE'}/originalText");
}

void BuildBatchHead(Table* t) {
  TableBuilder b(t);
  b.F("N.1.2", "id{@root='" ICHID(22) "'}/@extension");
  b.F("N.1.5", "creationTime/@value");
  b.K("", "responseModeCode{@code='D'}");
  b.K("", "interactionId{@extension='MCCI_IN200100UV01'}{@root='2.16.840.1.113883.1.6'}");
  b.F("N.1.1", "name{@codeSystem='" ICH(1) "'}/@code");
}

void BuildBatchTail(Table* t) {
  TableBuilder b(t);
  b.F("N.1.4", "receiver/device/id{@root='" ICHID(14) "'}/@extension");
  b.F("N.1.3", "sender/device/id{@root='" ICHID(13) "'}/@extension");
}

}  // namespace

const Table& IcsrTable() {
  static const Table* table = [] {
    auto* t = new Table;
    BuildIcsrTable(t);
    t->Index();
    return t;
  }();
  return *table;
}

const Table& BatchHeadTable() {
  static const Table* table = [] {
    auto* t = new Table;
    BuildBatchHead(t);
    t->Index();
    return t;
  }();
  return *table;
}

const Table& BatchTailTable() {
  static const Table* table = [] {
    auto* t = new Table;
    BuildBatchTail(t);
    t->Index();
    return t;
  }();
  return *table;
}

}  // namespace trialcore::safety::e2b_internal
