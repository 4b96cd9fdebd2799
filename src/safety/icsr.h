// An individual case safety report (ICSR) as a value: the E2B(R3) data
// elements of one case version, keyed by ICH/FDA element number ("E.i.2.1b")
// and repeat indices. It knows nothing of XML (e2b_export.h and e2b_import.h
// map it to and from E2B(R3) messages) and nothing of storage: the case
// workflow builds one from a case version and keeps what comes back.
//
// Why a list of numbered elements rather than a struct per section: E2B(R3)
// has some 300 elements (FDA's list adds its own), most optional; the
// numbered form is what FDA's business rules, ACK texts and the data element
// list speak, so checks and round trips compare like with like. Typed views
// (patient, reactions, drugs, causality) sit on top for the workflow.
//
// Thread safety: a value; const methods may be called from any number of
// threads at once.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace trialcore::safety {

// One data element. `index` holds one 1-based index per repeat letter in the
// number, outermost first: "G.k.9.i.2.r.1" has three (k, i, r). The message
// repeat of N.2.r.* is the ICSR itself and has no index.
//
// A few numbers are technical, not ICH/FDA elements, because E2B(R3) XML
// carries the value and a round trip must not lose it:
//   E.i.0, G.k.0       the UUID of reaction i / drug k (the XML links causality
//                      to reactions and drugs by these)
//   G.k.4.r.4-5        a null flavour for the whole dosage period
//   G.k.4.r.country    a country under the dosage's performer (FDA's example 1)
//   C.1.6.1.r.2.media, .representation, .reference   attributes of a document
struct E2bElement {
  std::string number;
  std::vector<uint16_t> index;
  std::string value;        // empty when null_flavor is set
  std::string null_flavor;  // "NI", "MSK", "UNK", "NA", "ASKU", "NASK", "NINF", "PINF", "OTH"
  // Only where one element may be coded in more than one system (route of
  // administration in EDQM or ICH terms, a product code as NDC or MPID).
  std::string code_system;

  bool operator==(const E2bElement&) const = default;
};

// FDA's regional elements sit in ICH's sections ("FDA.E.i.3.2h" repeats with
// reaction i): the number without "FDA.".
std::string_view IchPart(std::string_view number);

// How many repeat indices an element number takes ("E.i.2.1b" -> 1).
int RepeatDepth(std::string_view number);

// "E.i.2.1b[2]", "G.k.9.i.2.r.1[1,2,1]": how errors and findings name an element.
std::string ElementLabel(std::string_view number, const std::vector<uint16_t>& index);

class Icsr {
 public:
  // Sets (or replaces) the value of an element; `index` must have
  // RepeatDepth(number) entries (checked by Validate, not here).
  void Set(std::string_view number, std::vector<uint16_t> index, std::string value);
  void SetNull(std::string_view number, std::vector<uint16_t> index, std::string null_flavor);
  void Put(E2bElement element);  // replaces an element with the same number and index
  // Removes an element; false when there was none.
  bool Remove(std::string_view number, const std::vector<uint16_t>& index);

  // nullptr when absent.
  const E2bElement* Find(std::string_view number, const std::vector<uint16_t>& index = {}) const;
  // The value, or "" when absent or null-flavoured.
  std::string Value(std::string_view number, const std::vector<uint16_t>& index = {}) const;
  // Every occurrence of a number, in insertion order.
  std::vector<const E2bElement*> All(std::string_view number) const;
  // The distinct indices of a repeating section ("E.i", "G.k", "G.k.9.i.2.r"):
  // every index prefix under which some element of the section is present,
  // sorted.
  std::vector<std::vector<uint16_t>> Instances(std::string_view section) const;

  const std::vector<E2bElement>& elements() const { return elements_; }
  bool operator==(const Icsr&) const = default;

  // --- Typed views for the case workflow -------------------------------
  std::string safety_report_id() const { return Value("C.1.1"); }      // C.1.1
  std::string message_id() const { return Value("N.2.r.1"); }          // N.2.r.1
  std::string sender_id() const { return Value("N.2.r.2"); }           // N.2.r.2
  std::string receiver_id() const { return Value("N.2.r.3"); }         // N.2.r.3
  std::string date_of_transmission() const { return Value("C.1.2"); }  // C.1.2, CCYYMMDDhhmmss[+-ZZzz]
  std::string report_type() const { return Value("C.1.3"); }           // 1 spontaneous, 2 study, 3 other, 4 unknown
  std::string narrative() const { return Value("H.1"); }

  struct Patient {
    std::string initials;       // D.1 (or its null flavour, e.g. "MSK")
    std::string age, age_unit;  // D.2.2a, D.2.2b (UCUM: a, mo, wk, d)
    std::string sex;            // D.5: 1 male, 2 female
  };
  Patient patient() const;

  struct Reaction {
    uint16_t i = 0;
    std::string reported_term;    // E.i.1.2 (or E.i.1.1a)
    std::string meddra_version;   // E.i.2.1a
    std::string meddra_llt_code;  // E.i.2.1b
    // E.i.3.2a..f and FDA.E.i.3.2h, in that order: death, life threatening,
    // hospitalisation, disabling, congenital anomaly, other medically
    // important, required intervention. Only "true" counts.
    bool seriousness[7] = {};
    std::string outcome;  // E.i.7
  };
  std::vector<Reaction> reactions() const;

  struct Drug {
    uint16_t k = 0;
    std::string name;              // G.k.2.2
    std::string characterisation;  // G.k.1: 1 suspect, 2 concomitant, 3 interacting, 4 not administered
  };
  std::vector<Drug> drugs() const;
  std::vector<Drug> suspect_drugs() const;

  struct Causality {
    uint16_t k = 0, i = 0, r = 0;
    std::string source, method, result;  // G.k.9.i.2.r.1, .2, .3
  };
  std::vector<Causality> causality() const;

 private:
  std::vector<E2bElement> elements_;
};

}  // namespace trialcore::safety
