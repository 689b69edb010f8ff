# Turns .sql files into a C++ source defining `const std::vector<SqlFile>& <FUNCTION>()`,
# so SQL stays in .sql files and the binaries need no files at run time.
# Inputs: OUTPUT, FUNCTION, FILES (a ;-list). Each entry's name is the file name without .sql.
set(body "// Generated from .sql files by db/embed_sql.cmake. Do not edit.\n")
string(APPEND body "#include \"db/sql_files.h\"\n\nnamespace jobd::db {\n\n")
string(APPEND body "const std::vector<SqlFile>& ${FUNCTION}() {\n  static const auto* files = new std::vector<SqlFile>{\n")
list(SORT FILES)
foreach(file IN LISTS FILES)
  get_filename_component(name "${file}" NAME_WE)
  file(READ "${file}" text)
  string(APPEND body "    {\"${name}\", R\"jobdsql(${text})jobdsql\"},\n")
endforeach()
string(APPEND body "  };\n  return *files;\n}\n\n}  // namespace jobd::db\n")
file(WRITE "${OUTPUT}.tmp" "${body}")
file(COPY_FILE "${OUTPUT}.tmp" "${OUTPUT}" ONLY_IF_DIFFERENT)
