# Writes a text file into a C++ source as a function returning it, so the
# trialcore binary carries it wherever it is run from. Parameters: INPUT,
# OUTPUT, NAMESPACE, FUNCTION, HEADER (included first).
file(READ ${INPUT} CONTENT)
file(WRITE ${OUTPUT} "// Generated from ${INPUT} by embed_text.cmake.\n#include \"${HEADER}\"\n\nnamespace ${NAMESPACE} {\n\nconst char* ${FUNCTION}() {\n  return R\"TCTEXT(${CONTENT})TCTEXT\";\n}\n\n}  // namespace ${NAMESPACE}\n")
