// THE CODES HERE ARE INVENTED FOR THE DEMO AND MUST NEVER BE USED FOR REAL
// CODING (see meddra_demo.h). They are given in order of appearance below:
//   SOC 90100001..  HLGT 90200001..  HLT 90300001..  PT 90400001..
//   LLT: each PT's own LLT has the PT's code (as in MedDRA); the others
//   90500001..
#include "safety/meddra_demo.h"

#include <map>

#include "core/hash.h"

namespace trialcore::safety {
namespace {

struct SocSpec {
  const char* name;
  const char* abbrev;
};
struct HlgtSpec {
  const char* name;
  const char* soc;  // its SOC's abbreviation
};
struct HltSpec {
  const char* name;
  const char* hlgt;
};
struct PtSpec {
  const char* name;
  std::vector<const char*> hlts;  // the primary HLT first, then secondary paths' HLTs
  std::vector<const char*> llts;  // besides the PT's own; a leading '~' marks a non-current LLT
};

const SocSpec kSocs[] = {
    {"Blood and lymphatic system disorders", "Blood"},
    {"Cardiac disorders", "Card"},
    {"Gastrointestinal disorders", "Gastr"},
    {"General disorders and administration site conditions", "Genrl"},
    {"Immune system disorders", "Immun"},
    {"Infections and infestations", "Infec"},
    {"Investigations", "Inv"},
    {"Metabolism and nutrition disorders", "Metab"},
    {"Musculoskeletal and connective tissue disorders", "Musc"},
    {"Nervous system disorders", "Nerv"},
    {"Psychiatric disorders", "Psych"},
    {"Renal and urinary disorders", "Renal"},
    {"Respiratory, thoracic and mediastinal disorders", "Resp"},
    {"Skin and subcutaneous tissue disorders", "Skin"},
    {"Vascular disorders", "Vasc"},
};

const HlgtSpec kHlgts[] = {
    {"Anaemias nonhaemolytic and marrow depression", "Blood"},
    {"Platelet disorders", "Blood"},
    {"Cardiac arrhythmias", "Card"},
    {"Coronary artery disorders", "Card"},
    {"Heart failures", "Card"},
    {"Cardiac disorder signs and symptoms", "Card"},
    {"Gastrointestinal signs and symptoms", "Gastr"},
    {"Gastrointestinal motility and defaecation conditions", "Gastr"},
    {"Gastrointestinal haemorrhages NEC", "Gastr"},
    {"Gastrointestinal inflammatory conditions", "Gastr"},
    {"General system disorders NEC", "Genrl"},
    {"Administration site reactions", "Genrl"},
    {"Fatal outcomes", "Genrl"},
    {"Allergic conditions", "Immun"},
    {"Infections - pathogen unspecified", "Infec"},
    {"Viral infectious disorders", "Infec"},
    {"Hepatobiliary investigations", "Inv"},
    {"Metabolic, nutritional and blood gas investigations", "Inv"},
    {"Renal and urinary tract investigations and urinalyses", "Inv"},
    {"Cardiac and vascular investigations (excl enzyme tests)", "Inv"},
    {"Enzyme investigations NEC", "Inv"},
    {"Haematology investigations (incl blood groups)", "Inv"},
    {"Investigations, imaging and histopathology procedures NEC", "Inv"},
    {"Glucose metabolism disorders (incl diabetes mellitus)", "Metab"},
    {"Electrolyte and fluid balance conditions", "Metab"},
    {"Lipid metabolism disorders", "Metab"},
    {"Appetite and general nutritional disorders", "Metab"},
    {"Musculoskeletal and connective tissue disorders NEC", "Musc"},
    {"Joint disorders", "Musc"},
    {"Muscle disorders", "Musc"},
    {"Headaches", "Nerv"},
    {"Neurological disorders NEC", "Nerv"},
    {"Movement disorders (incl parkinsonism)", "Nerv"},
    {"Peripheral neuropathies", "Nerv"},
    {"Central nervous system vascular disorders", "Nerv"},
    {"Sleep disorders and disturbances", "Psych"},
    {"Anxiety disorders and symptoms", "Psych"},
    {"Depressed mood disorders and disturbances", "Psych"},
    {"Deliria (incl confusion)", "Psych"},
    {"Renal disorders (excl nephropathies)", "Renal"},
    {"Urinary tract signs and symptoms", "Renal"},
    {"Bladder and bladder neck disorders (excl calculi)", "Renal"},
    {"Respiratory disorders NEC", "Resp"},
    {"Lower respiratory tract disorders (excl obstruction and infection)", "Resp"},
    {"Pulmonary vascular disorders", "Resp"},
    {"Bronchial disorders (excl neoplasms)", "Resp"},
    {"Upper respiratory tract disorders (excl infections)", "Resp"},
    {"Epidermal and dermal conditions", "Skin"},
    {"Angioedema and urticaria", "Skin"},
    {"Skin appendage conditions", "Skin"},
    {"Decreased and nonspecific blood pressure disorders and shock", "Vasc"},
    {"Vascular hypertensive disorders", "Vasc"},
    {"Vascular haemorrhagic disorders", "Vasc"},
    {"Embolism and thrombosis", "Vasc"},
    {"Vascular disorders NEC", "Vasc"},
};

const HltSpec kHlts[] = {
    {"Anaemias NEC", "Anaemias nonhaemolytic and marrow depression"},
    {"Thrombocytopenias", "Platelet disorders"},
    {"Supraventricular arrhythmias", "Cardiac arrhythmias"},
    {"Rate and rhythm disorders NEC", "Cardiac arrhythmias"},
    {"Ventricular arrhythmias and cardiac arrest", "Cardiac arrhythmias"},
    {"Ischaemic coronary artery disorders", "Coronary artery disorders"},
    {"Heart failures NEC", "Heart failures"},
    {"Cardiac signs and symptoms NEC", "Cardiac disorder signs and symptoms"},
    {"Nausea and vomiting symptoms", "Gastrointestinal signs and symptoms"},
    {"Gastrointestinal and abdominal pains (excl oral and throat)", "Gastrointestinal signs and symptoms"},
    {"Diarrhoea (excl infective)", "Gastrointestinal motility and defaecation conditions"},
    {"Gastrointestinal atonic and hypomotility disorders NEC", "Gastrointestinal motility and defaecation conditions"},
    {"Flatulence, bloating and distension", "Gastrointestinal signs and symptoms"},
    {"Dyspeptic signs and symptoms", "Gastrointestinal signs and symptoms"},
    {"Non-site specific gastrointestinal haemorrhages", "Gastrointestinal haemorrhages NEC"},
    {"Gastrointestinal inflammatory disorders NEC", "Gastrointestinal inflammatory conditions"},
    {"Asthenic conditions", "General system disorders NEC"},
    {"Oedema NEC", "General system disorders NEC"},
    {"Pain and discomfort NEC", "General system disorders NEC"},
    {"Febrile disorders", "General system disorders NEC"},
    {"Injection site reactions", "Administration site reactions"},
    {"Death and sudden death", "Fatal outcomes"},
    {"Allergic conditions NEC", "Allergic conditions"},
    {"Anaphylactic and anaphylactoid responses", "Allergic conditions"},
    {"Upper respiratory tract infections", "Infections - pathogen unspecified"},
    {"Lower respiratory tract and lung infections", "Infections - pathogen unspecified"},
    {"Urinary tract infections", "Infections - pathogen unspecified"},
    {"Abdominal and gastrointestinal infections", "Infections - pathogen unspecified"},
    {"Influenza viral infections", "Viral infectious disorders"},
    {"Coronavirus infections", "Viral infectious disorders"},
    {"Liver function analyses", "Hepatobiliary investigations"},
    {"Carbohydrate tolerance analyses (incl diabetes)", "Metabolic, nutritional and blood gas investigations"},
    {"Mineral and electrolyte analyses", "Metabolic, nutritional and blood gas investigations"},
    {"Renal function analyses", "Renal and urinary tract investigations and urinalyses"},
    {"ECG investigations", "Cardiac and vascular investigations (excl enzyme tests)"},
    {"Vascular tests NEC (incl blood pressure)", "Cardiac and vascular investigations (excl enzyme tests)"},
    {"Skeletal and cardiac muscle analyses", "Enzyme investigations NEC"},
    {"Red blood cell analyses", "Haematology investigations (incl blood groups)"},
    {"Platelet analyses", "Haematology investigations (incl blood groups)"},
    {"Physical examination procedures and organ system status",
     "Investigations, imaging and histopathology procedures NEC"},
    {"Hypoglycaemic conditions NEC", "Glucose metabolism disorders (incl diabetes mellitus)"},
    {"Hyperglycaemic conditions NEC", "Glucose metabolism disorders (incl diabetes mellitus)"},
    {"Diabetes mellitus", "Glucose metabolism disorders (incl diabetes mellitus)"},
    {"Potassium imbalance", "Electrolyte and fluid balance conditions"},
    {"Sodium imbalance", "Electrolyte and fluid balance conditions"},
    {"Total fluid volume decreased", "Electrolyte and fluid balance conditions"},
    {"Elevated cholesterol", "Lipid metabolism disorders"},
    {"Appetite disorders", "Appetite and general nutritional disorders"},
    {"Musculoskeletal and connective tissue pain and discomfort",
     "Musculoskeletal and connective tissue disorders NEC"},
    {"Joint related signs and symptoms", "Joint disorders"},
    {"Muscle pains", "Muscle disorders"},
    {"Muscle related signs and symptoms NEC", "Muscle disorders"},
    {"Myopathies", "Muscle disorders"},
    {"Headaches NEC", "Headaches"},
    {"Migraine headaches", "Headaches"},
    {"Neurological signs and symptoms NEC", "Neurological disorders NEC"},
    {"Disturbances in consciousness NEC", "Neurological disorders NEC"},
    {"Tremor (excl congenital)", "Movement disorders (incl parkinsonism)"},
    {"Peripheral neuropathies NEC", "Peripheral neuropathies"},
    {"Paraesthesias and dysaesthesias", "Neurological disorders NEC"},
    {"Central nervous system haemorrhages and cerebrovascular accidents", "Central nervous system vascular disorders"},
    {"Transient cerebrovascular events", "Central nervous system vascular disorders"},
    {"Disturbances in initiating and maintaining sleep", "Sleep disorders and disturbances"},
    {"Anxiety symptoms", "Anxiety disorders and symptoms"},
    {"Depressive disorders", "Depressed mood disorders and disturbances"},
    {"Confusion and disorientation", "Deliria (incl confusion)"},
    {"Renal failure and impairment", "Renal disorders (excl nephropathies)"},
    {"Bladder and urethral symptoms", "Urinary tract signs and symptoms"},
    {"Urinary abnormalities", "Urinary tract signs and symptoms"},
    {"Bladder infections and inflammations", "Bladder and bladder neck disorders (excl calculi)"},
    {"Breathing abnormalities", "Respiratory disorders NEC"},
    {"Coughing and associated symptoms", "Respiratory disorders NEC"},
    {"Upper respiratory tract signs and symptoms", "Respiratory disorders NEC"},
    {"Lower respiratory tract inflammatory and immunologic conditions",
     "Lower respiratory tract disorders (excl obstruction and infection)"},
    {"Pulmonary thrombotic and embolic conditions", "Pulmonary vascular disorders"},
    {"Bronchospasm and obstruction", "Bronchial disorders (excl neoplasms)"},
    {"Nasal disorders NEC", "Upper respiratory tract disorders (excl infections)"},
    {"Rashes, eruptions and exanthems NEC", "Epidermal and dermal conditions"},
    {"Pruritus NEC", "Epidermal and dermal conditions"},
    {"Erythemas", "Epidermal and dermal conditions"},
    {"Angioedemas", "Angioedema and urticaria"},
    {"Urticarias", "Angioedema and urticaria"},
    {"Apocrine and eccrine gland disorders", "Skin appendage conditions"},
    {"Alopecias", "Skin appendage conditions"},
    {"Circulatory collapse and shock", "Decreased and nonspecific blood pressure disorders and shock"},
    {"Vascular hypotensive disorders", "Decreased and nonspecific blood pressure disorders and shock"},
    {"Vascular hypertensive disorders NEC", "Vascular hypertensive disorders"},
    {"Haemorrhages NEC", "Vascular haemorrhagic disorders"},
    {"Peripheral embolism and thrombosis", "Embolism and thrombosis"},
    {"Site specific embolism and thrombosis", "Embolism and thrombosis"},
    {"Peripheral vascular disorders NEC", "Vascular disorders NEC"},
};

const std::vector<PtSpec>& Pts() {
  static const std::vector<PtSpec> pts = {
      // Blood and lymphatic system disorders
      {"Anaemia", {"Anaemias NEC"}, {"Anemia", "Anaemia aggravated", "~Anaemia NOS", "~Anemia NOS"}},
      {"Iron deficiency anaemia", {"Anaemias NEC"}, {"Iron deficiency anemia"}},
      {"Thrombocytopenia", {"Thrombocytopenias"}, {"Thrombopenia", "~Thrombocytopenia NOS"}},
      // Cardiac disorders
      {"Atrial fibrillation",
       {"Supraventricular arrhythmias"},
       {"AF", "A-fib", "Atrial fibrillation paroxysmal", "~Auricular fibrillation"}},
      {"Atrial flutter", {"Supraventricular arrhythmias"}, {"Auricular flutter"}},
      {"Supraventricular tachycardia", {"Supraventricular arrhythmias"}, {"SVT"}},
      {"Palpitations", {"Rate and rhythm disorders NEC"}, {"Palpitation", "Heart pounding", "Fluttering heart"}},
      {"Tachycardia", {"Rate and rhythm disorders NEC"}, {"Heart racing", "Rapid heart rate", "Fast heart beat"}},
      {"Bradycardia", {"Rate and rhythm disorders NEC"}, {"Slow heart rate", "Heart rate slow"}},
      {"Ventricular tachycardia", {"Ventricular arrhythmias and cardiac arrest"}, {"VT"}},
      {"Cardiac arrest", {"Ventricular arrhythmias and cardiac arrest"}, {"Heart arrest", "Cardiopulmonary arrest"}},
      {"Myocardial infarction",
       {"Ischaemic coronary artery disorders"},
       {"Heart attack", "MI", "Myocardial infarct", "Infarction myocardial", "~Myocardial infarction NOS"}},
      {"Acute myocardial infarction", {"Ischaemic coronary artery disorders"}, {"AMI", "Myocardial infarction acute"}},
      {"Angina pectoris", {"Ischaemic coronary artery disorders"}, {"Angina", "Anginal pain", "Stable angina"}},
      {"Angina unstable", {"Ischaemic coronary artery disorders"}, {"Unstable angina"}},
      {"Cardiac failure", {"Heart failures NEC"}, {"Heart failure", "~Cardiac failure NOS"}},
      {"Cardiac failure congestive", {"Heart failures NEC"}, {"Congestive heart failure", "CHF"}},
      // Gastrointestinal disorders
      {"Nausea", {"Nausea and vomiting symptoms"}, {"Feeling sick", "Queasy", "Nausea aggravated"}},
      {"Vomiting", {"Nausea and vomiting symptoms"}, {"Emesis", "Throwing up", "Being sick", "~Vomiting NOS"}},
      {"Abdominal pain",
       {"Gastrointestinal and abdominal pains (excl oral and throat)"},
       {"Stomach ache", "Belly pain", "Tummy ache"}},
      {"Abdominal pain upper",
       {"Gastrointestinal and abdominal pains (excl oral and throat)"},
       {"Epigastric pain", "Upper abdominal pain"}},
      {"Diarrhoea",
       {"Diarrhoea (excl infective)"},
       {"Diarrhea", "Loose stools", "Diarrhoea aggravated", "Diarrhea aggravated", "~Diarrhoea NOS"}},
      {"Constipation", {"Gastrointestinal atonic and hypomotility disorders NEC"}, {"Obstipation"}},
      {"Abdominal distension", {"Flatulence, bloating and distension"}, {"Bloating", "Abdominal bloating"}},
      {"Dyspepsia", {"Dyspeptic signs and symptoms"}, {"Indigestion", "Heartburn"}},
      {"Gastrointestinal haemorrhage",
       {"Non-site specific gastrointestinal haemorrhages", "Haemorrhages NEC"},
       {"Gastrointestinal hemorrhage", "GI bleed", "Gastrointestinal bleeding"}},
      // General disorders and administration site conditions
      {"Fatigue", {"Asthenic conditions"}, {"Tiredness", "Tired", "Exhaustion", "~Fatigue NOS"}},
      {"Asthenia", {"Asthenic conditions"}, {"Weakness", "Generalised weakness", "Generalized weakness"}},
      {"Oedema peripheral",
       {"Oedema NEC"},
       {"Edema peripheral", "Peripheral oedema", "Peripheral edema", "Ankle swelling", "Swollen ankles",
        "Leg swelling"}},
      {"Chest pain", {"Pain and discomfort NEC"}, {"Pain in chest", "Chest pains", "Thoracic pain"}},
      {"Chest discomfort", {"Pain and discomfort NEC"}, {"Chest tightness", "Chest pressure"}},
      {"Non-cardiac chest pain", {"Pain and discomfort NEC"}, {"Noncardiac chest pain"}},
      {"Pyrexia", {"Febrile disorders"}, {"Fever", "High temperature", "Febrile"}},
      {"Injection site pain", {"Injection site reactions"}, {"Pain at injection site"}},
      {"Injection site erythema", {"Injection site reactions"}, {"Injection site redness"}},
      {"Death", {"Death and sudden death"}, {"Died", "Exitus"}},
      {"Sudden death", {"Death and sudden death"}, {"Sudden cardiac death"}},
      // Immune system disorders
      {"Hypersensitivity", {"Allergic conditions NEC"}, {"Allergic reaction", "Allergy", "~Hypersensitivity NOS"}},
      {"Anaphylactic reaction", {"Anaphylactic and anaphylactoid responses"}, {"Anaphylaxis", "Anaphylactic shock"}},
      // Infections and infestations
      {"Nasopharyngitis", {"Upper respiratory tract infections"}, {"Common cold", "Head cold", "Cold", "Coryza"}},
      {"Upper respiratory tract infection", {"Upper respiratory tract infections"}, {"URTI", "URI"}},
      {"Sinusitis", {"Upper respiratory tract infections"}, {"Sinus infection"}},
      {"Pneumonia",
       {"Lower respiratory tract and lung infections",
        "Lower respiratory tract inflammatory and immunologic conditions"},
       {"Lung infection", "Chest infection", "Pneumonitis infective", "~Pneumonia NOS"}},
      {"Bronchitis", {"Lower respiratory tract and lung infections"}, {"Acute bronchitis", "Chest cold"}},
      {"Urinary tract infection",
       {"Urinary tract infections", "Bladder infections and inflammations"},
       {"UTI", "Bladder infection", "Urine infection"}},
      {"Gastroenteritis",
       {"Abdominal and gastrointestinal infections", "Gastrointestinal inflammatory disorders NEC"},
       {"Stomach flu", "Gastric flu", "Stomach bug"}},
      {"Influenza", {"Influenza viral infections"}, {"Flu", "Grippe", "Influenza like illness"}},
      {"COVID-19", {"Coronavirus infections"}, {"Coronavirus disease 2019", "SARS-CoV-2 infection"}},
      // Investigations
      {"Alanine aminotransferase increased",
       {"Liver function analyses"},
       {"ALT increased", "ALT elevated", "Raised ALT", "SGPT increased"}},
      {"Aspartate aminotransferase increased",
       {"Liver function analyses"},
       {"AST increased", "AST elevated", "SGOT increased"}},
      {"Blood bilirubin increased", {"Liver function analyses"}, {"Bilirubin elevated", "Hyperbilirubinaemia"}},
      {"Hepatic enzyme increased",
       {"Liver function analyses"},
       {"Liver enzymes elevated", "Raised liver enzymes", "Transaminases increased"}},
      {"Blood glucose increased", {"Carbohydrate tolerance analyses (incl diabetes)"}, {"Glucose increased"}},
      {"Blood glucose decreased", {"Carbohydrate tolerance analyses (incl diabetes)"}, {"Glucose decreased"}},
      {"Glycosylated haemoglobin increased",
       {"Carbohydrate tolerance analyses (incl diabetes)"},
       {"HbA1c increased", "Glycosylated hemoglobin increased"}},
      {"Blood potassium increased",
       {"Mineral and electrolyte analyses"},
       {"Potassium increased", "Serum potassium raised"}},
      {"Blood potassium decreased", {"Mineral and electrolyte analyses"}, {"Potassium decreased"}},
      {"Blood creatinine increased",
       {"Renal function analyses"},
       {"Creatinine increased", "Serum creatinine raised", "Creatinine elevated"}},
      {"Glomerular filtration rate decreased", {"Renal function analyses"}, {"eGFR decreased", "GFR reduced"}},
      {"Electrocardiogram QT prolonged",
       {"ECG investigations"},
       {"QT prolongation", "QTc prolonged", "ECG QT prolonged"}},
      {"Blood pressure increased", {"Vascular tests NEC (incl blood pressure)"}, {"BP increased", "BP raised"}},
      {"Blood pressure decreased", {"Vascular tests NEC (incl blood pressure)"}, {"BP decreased", "BP low"}},
      {"Blood creatine phosphokinase increased",
       {"Skeletal and cardiac muscle analyses"},
       {"CPK increased", "CK increased", "Creatine kinase increased"}},
      {"Troponin increased", {"Skeletal and cardiac muscle analyses"}, {"Troponin elevated", "Raised troponin"}},
      {"Haemoglobin decreased", {"Red blood cell analyses"}, {"Hemoglobin decreased", "Low haemoglobin"}},
      {"Platelet count decreased", {"Platelet analyses"}, {"Low platelet count", "Platelets decreased"}},
      {"Weight increased", {"Physical examination procedures and organ system status"}, {"Weight gain"}},
      {"Weight decreased", {"Physical examination procedures and organ system status"}, {"Weight loss"}},
      // Metabolism and nutrition disorders
      {"Hypoglycaemia",
       {"Hypoglycaemic conditions NEC"},
       {"Hypoglycemia", "Low blood sugar", "Hypo", "~Hypoglycaemia NOS", "~Hypoglycemia NOS"}},
      {"Hyperglycaemia", {"Hyperglycaemic conditions NEC"}, {"Hyperglycemia", "High blood sugar"}},
      {"Type 2 diabetes mellitus",
       {"Diabetes mellitus"},
       {"Diabetes mellitus type II", "Non-insulin-dependent diabetes mellitus", "~NIDDM"}},
      {"Diabetic ketoacidosis", {"Diabetes mellitus"}, {"DKA"}},
      {"Hyperkalaemia",
       {"Potassium imbalance"},
       {"Hyperkalemia", "High potassium", "Hyperpotassaemia", "~Hyperkalaemia NOS"}},
      {"Hypokalaemia", {"Potassium imbalance"}, {"Hypokalemia", "Low potassium"}},
      {"Hyponatraemia", {"Sodium imbalance"}, {"Hyponatremia", "Low sodium"}},
      {"Dehydration", {"Total fluid volume decreased"}, {"Fluid loss", "Volume depletion"}},
      {"Hypercholesterolaemia", {"Elevated cholesterol"}, {"Hypercholesterolemia", "High cholesterol"}},
      {"Decreased appetite", {"Appetite disorders"}, {"Loss of appetite", "Appetite lost", "Anorexia"}},
      // Musculoskeletal and connective tissue disorders
      {"Back pain",
       {"Musculoskeletal and connective tissue pain and discomfort"},
       {"Backache", "Low back pain", "Lumbar pain", "~Back pain NOS"}},
      {"Pain in extremity",
       {"Musculoskeletal and connective tissue pain and discomfort"},
       {"Leg pain", "Arm pain", "Limb pain"}},
      {"Musculoskeletal pain", {"Musculoskeletal and connective tissue pain and discomfort"}, {"Musculoskeletal ache"}},
      {"Arthralgia",
       {"Joint related signs and symptoms"},
       {"Joint pain", "Pain in joint", "Joint ache", "~Arthralgias"}},
      {"Joint swelling", {"Joint related signs and symptoms"}, {"Swollen joint"}},
      {"Myalgia", {"Muscle pains"}, {"Muscle pain", "Muscle ache", "Aching muscles"}},
      {"Muscle spasms", {"Muscle related signs and symptoms NEC"}, {"Muscle cramps", "Cramp", "Muscle cramp"}},
      {"Rhabdomyolysis", {"Myopathies"}, {"Muscle breakdown"}},
      // Nervous system disorders
      {"Headache", {"Headaches NEC"}, {"Head pain", "Cephalalgia", "Cephalgia", "Tension headache", "~Headache NOS"}},
      {"Migraine", {"Migraine headaches"}, {"Migraine headache", "Sick headache"}},
      {"Dizziness",
       {"Neurological signs and symptoms NEC"},
       {"Dizzy", "Lightheadedness", "Light-headed", "Giddiness", "Dizziness aggravated", "~Dizziness NOS"}},
      {"Presyncope", {"Neurological signs and symptoms NEC"}, {"Near fainting", "Feeling faint", "Near syncope"}},
      {"Syncope",
       {"Disturbances in consciousness NEC", "Cardiac signs and symptoms NEC"},
       {"Fainting", "Faint", "Fainted", "Passing out", "Syncopal episode", "Syncopal attack", "~Syncope NOS"}},
      {"Loss of consciousness", {"Disturbances in consciousness NEC"}, {"Unconsciousness", "Blackout"}},
      {"Somnolence", {"Disturbances in consciousness NEC"}, {"Drowsiness", "Sleepiness"}},
      {"Tremor", {"Tremor (excl congenital)"}, {"Shaking", "Trembling"}},
      {"Neuropathy peripheral", {"Peripheral neuropathies NEC"}, {"Peripheral neuropathy"}},
      {"Paraesthesia",
       {"Paraesthesias and dysaesthesias"},
       {"Paresthesia", "Pins and needles", "Tingling", "Tingling sensation"}},
      {"Cerebrovascular accident",
       {"Central nervous system haemorrhages and cerebrovascular accidents", "Site specific embolism and thrombosis"},
       {"Stroke", "CVA", "~Apoplexy"}},
      {"Transient ischaemic attack",
       {"Transient cerebrovascular events", "Site specific embolism and thrombosis"},
       {"TIA", "Transient ischemic attack", "Mini stroke"}},
      // Psychiatric disorders
      {"Insomnia",
       {"Disturbances in initiating and maintaining sleep"},
       {"Sleeplessness", "Difficulty sleeping", "Unable to sleep", "Trouble sleeping", "~Insomnia NOS"}},
      {"Anxiety", {"Anxiety symptoms"}, {"Nervousness", "Feeling anxious", "Anxiousness"}},
      {"Depression", {"Depressive disorders"}, {"Depressive disorder", "Low mood", "~Depression NOS"}},
      {"Confusional state", {"Confusion and disorientation"}, {"Confusion", "Mental confusion", "Disorientation"}},
      // Renal and urinary disorders
      {"Acute kidney injury",
       {"Renal failure and impairment"},
       {"AKI", "Acute renal failure", "Acute renal injury", "Acute kidney failure", "~Renal failure acute"}},
      {"Renal impairment",
       {"Renal failure and impairment"},
       {"Kidney function impaired", "Renal insufficiency", "Impaired renal function"}},
      {"Chronic kidney disease", {"Renal failure and impairment"}, {"CKD", "Chronic renal failure"}},
      {"Pollakiuria", {"Bladder and urethral symptoms"}, {"Frequent urination", "Urinary frequency"}},
      {"Dysuria", {"Bladder and urethral symptoms"}, {"Painful urination", "Burning on urination"}},
      {"Haematuria", {"Urinary abnormalities"}, {"Hematuria", "Blood in urine"}},
      // Respiratory, thoracic and mediastinal disorders
      {"Dyspnoea",
       {"Breathing abnormalities"},
       {"Dyspnea", "Shortness of breath", "Short of breath", "SOB", "Breathlessness", "~Dyspnoea NOS"}},
      {"Dyspnoea exertional",
       {"Breathing abnormalities"},
       {"Dyspnea exertional", "Dyspnoea on exertion", "Breathless on exertion"}},
      {"Cough", {"Coughing and associated symptoms"}, {"Coughing", "Dry cough", "Tickly cough", "~Cough NOS"}},
      {"Productive cough", {"Coughing and associated symptoms"}, {"Chesty cough", "Wet cough"}},
      {"Oropharyngeal pain", {"Upper respiratory tract signs and symptoms"}, {"Sore throat", "Throat pain"}},
      {"Rhinorrhoea", {"Upper respiratory tract signs and symptoms"}, {"Rhinorrhea", "Runny nose"}},
      {"Pulmonary embolism",
       {"Pulmonary thrombotic and embolic conditions", "Site specific embolism and thrombosis"},
       {"Pulmonary embolus", "PE", "Lung embolism"}},
      {"Bronchospasm", {"Bronchospasm and obstruction"}, {"Wheezing", "Wheeze"}},
      {"Epistaxis", {"Nasal disorders NEC", "Haemorrhages NEC"}, {"Nosebleed", "Nose bleed", "Bleeding nose"}},
      // Skin and subcutaneous tissue disorders
      {"Rash", {"Rashes, eruptions and exanthems NEC"}, {"Skin rash", "Eruption", "Rash generalised", "~Rash NOS"}},
      {"Rash pruritic", {"Rashes, eruptions and exanthems NEC"}, {"Itchy rash", "Pruritic rash"}},
      {"Rash maculo-papular", {"Rashes, eruptions and exanthems NEC"}, {"Maculopapular rash", "Rash maculopapular"}},
      {"Pruritus", {"Pruritus NEC"}, {"Itching", "Itch", "Itchy skin", "Pruritis"}},
      {"Erythema", {"Erythemas"}, {"Skin redness", "Redness of skin"}},
      {"Angioedema",
       {"Angioedemas", "Allergic conditions NEC"},
       {"Angioneurotic oedema", "Angioneurotic edema", "Quincke's oedema", "Angioedema of face", "~Angioedema NOS"}},
      {"Urticaria", {"Urticarias"}, {"Hives", "Nettle rash", "Urticarial rash"}},
      {"Hyperhidrosis", {"Apocrine and eccrine gland disorders"}, {"Sweating increased", "Excessive sweating"}},
      {"Alopecia", {"Alopecias"}, {"Hair loss"}},
      // Vascular disorders
      {"Hypotension",
       {"Vascular hypotensive disorders"},
       {"Low blood pressure", "Blood pressure low", "~Hypotension NOS"}},
      {"Orthostatic hypotension", {"Vascular hypotensive disorders"}, {"Postural hypotension"}},
      {"Circulatory collapse", {"Circulatory collapse and shock"}, {"Collapse"}},
      {"Hypertension",
       {"Vascular hypertensive disorders NEC"},
       {"High blood pressure", "Blood pressure high", "HTN", "~Hypertension NOS"}},
      {"Hypertensive crisis", {"Vascular hypertensive disorders NEC"}, {"Hypertensive emergency"}},
      {"Haemorrhage", {"Haemorrhages NEC"}, {"Hemorrhage", "Bleeding"}},
      {"Haematoma", {"Haemorrhages NEC"}, {"Hematoma", "Bruising"}},
      {"Deep vein thrombosis", {"Peripheral embolism and thrombosis"}, {"DVT", "Deep venous thrombosis"}},
      {"Flushing", {"Peripheral vascular disorders NEC"}, {"Facial flushing", "Flushed"}},
  };
  return pts;
}

}  // namespace

MeddraTables DemoMeddraTables() {
  MeddraTables t;
  t.version = kDemoMeddraVersion;
  t.language = kDemoMeddraLanguage;

  std::map<std::string, uint32_t> soc_of_abbrev, hlgt_code, hlt_code, hlgt_soc, hlt_hlgt;
  uint32_t next = 90100001;
  for (const auto& s : kSocs) {
    soc_of_abbrev[s.abbrev] = next;
    t.socs.push_back({next++, s.name, s.abbrev, 0});
  }
  next = 90200001;
  for (const auto& g : kHlgts) {
    hlgt_code[g.name] = next;
    hlgt_soc[g.name] = soc_of_abbrev[g.soc];  // 0 (an unknown SOC, which Build names) if misspelt
    t.hlgts.push_back({next, g.name, "", 0});
    t.soc_hlgt.push_back({soc_of_abbrev[g.soc], next, 0});
    ++next;
  }
  next = 90300001;
  std::map<uint32_t, std::pair<uint32_t, uint32_t>> hlt_up;  // HLT -> HLGT, SOC
  for (const auto& h : kHlts) {
    const uint32_t hlgt = hlgt_code[h.hlgt];
    hlt_code[h.name] = next;
    hlt_up[next] = {hlgt, hlgt_soc[h.hlgt]};
    t.hlts.push_back({next, h.name, "", 0});
    t.hlgt_hlt.push_back({hlgt, next, 0});
    ++next;
  }
  uint32_t pt_code = 90400001, llt_code = 90500001;
  for (const auto& p : Pts()) {
    bool primary = true;
    for (const char* hlt_name : p.hlts) {
      const uint32_t hlt = hlt_code[hlt_name];
      const auto [hlgt, soc] = hlt_up[hlt];
      if (primary) t.pts.push_back({pt_code, p.name, soc, 0});
      t.hlt_pt.push_back({hlt, pt_code, 0});
      t.mdhier.push_back({pt_code, hlt, hlgt, soc, primary, 0});
      primary = false;
    }
    t.llts.push_back({pt_code, p.name, pt_code, true, 0});
    for (std::string_view name : p.llts) {
      const bool current = name.front() != '~';
      if (!current) name.remove_prefix(1);
      t.llts.push_back({llt_code++, std::string(name), pt_code, current, 0});
    }
    ++pt_code;
  }
  return t;
}

namespace {

std::string Line(std::initializer_list<std::string_view> fields) {
  std::string s;
  for (std::string_view f : fields) {
    s.append(f);
    s.push_back('$');
  }
  s.push_back('\n');
  return s;
}

template <typename Row>
std::map<uint32_t, std::string_view> NamesOf(const std::vector<Row>& rows) {
  std::map<uint32_t, std::string_view> names;
  for (const auto& r : rows) names.emplace(r.code, r.name);
  return names;
}

}  // namespace

std::string MeddraTableText(const MeddraTables& t, std::string_view file) {
  std::string out;
  auto code = [](uint32_t c) { return c == 0 ? std::string() : std::to_string(c); };
  auto named = [&](const std::vector<MeddraTables::Named>& rows, bool soc) {
    for (const auto& r : rows) {
      if (soc) {
        out += Line({code(r.code), r.name, r.abbrev, "", "", "", "", "", "", ""});
      } else {
        out += Line({code(r.code), r.name, "", "", "", "", "", "", ""});
      }
    }
  };
  auto links = [&](const std::vector<MeddraTables::Link>& rows) {
    for (const auto& r : rows) out += Line({code(r.parent), code(r.child)});
  };
  if (file == "soc.asc") {
    named(t.socs, true);
  } else if (file == "hlgt.asc") {
    named(t.hlgts, false);
  } else if (file == "hlt.asc") {
    named(t.hlts, false);
  } else if (file == "pt.asc") {
    for (const auto& r : t.pts) out += Line({code(r.code), r.name, "", code(r.soc), "", "", "", "", "", "", ""});
  } else if (file == "llt.asc") {
    for (const auto& r : t.llts) {
      out += Line({code(r.code), r.name, code(r.pt), "", "", "", "", "", "", r.current ? "Y" : "N", ""});
    }
  } else if (file == "hlt_pt.asc") {
    links(t.hlt_pt);
  } else if (file == "hlgt_hlt.asc") {
    links(t.hlgt_hlt);
  } else if (file == "soc_hlgt.asc") {
    links(t.soc_hlgt);
  } else if (file == "mdhier.asc") {
    // pt, hlt, hlgt, soc, their names, soc abbreviation, null field, the PT's
    // primary SOC, primary_soc_fg.
    std::map<uint32_t, uint32_t> primary_soc;
    for (const auto& r : t.mdhier) {
      if (r.primary) primary_soc[r.pt] = r.soc;
    }
    std::map<uint32_t, std::string_view> abbrev;
    for (const auto& s : t.socs) abbrev.emplace(s.code, s.abbrev);
    auto pts = NamesOf(t.pts), hlts = NamesOf(t.hlts), hlgts = NamesOf(t.hlgts), socs = NamesOf(t.socs);
    for (const auto& r : t.mdhier) {
      out += Line({code(r.pt), code(r.hlt), code(r.hlgt), code(r.soc), pts[r.pt], hlts[r.hlt], hlgts[r.hlgt],
                   socs[r.soc], abbrev[r.soc], "", code(primary_soc[r.pt]), r.primary ? "Y" : "N"});
    }
  } else if (file == "meddra_release.asc") {
    out += Line({t.version, t.language, "", "", ""});
  }
  return out;
}

std::vector<MeddraSourceFile> MeddraTablesFiles(const MeddraTables& tables) {
  std::vector<MeddraSourceFile> files;
  // ReadMeddraAscii's order: the nine tables, then the release file.
  for (std::string_view name : {"soc.asc", "hlgt.asc", "hlt.asc", "pt.asc", "llt.asc", "hlt_pt.asc", "hlgt_hlt.asc",
                                "soc_hlgt.asc", "mdhier.asc", "meddra_release.asc"}) {
    const std::string text = MeddraTableText(tables, name);
    files.push_back({std::string(name), ToHex(Sha256(text)), text.size()});
  }
  return files;
}

}  // namespace trialcore::safety
