# Writes the demo study's YAML into a C++ source, so the trialcore binary
# carries it wherever it is run from.
file(READ ${INPUT} CONTENT)
file(WRITE ${OUTPUT} "// Generated from studies/cdiscpilot01.yaml by src/cli/embed_study.cmake.\n#include \"cli/demo_study.h\"\n\nnamespace trialcore::cli {\n\nconst char* DemoStudyYaml() {\n  return R\"TCSTUDY(${CONTENT})TCSTUDY\";\n}\n\n}  // namespace trialcore::cli\n")
