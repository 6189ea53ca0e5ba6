# Run at every build (CMakeLists.txt's ipro_build_commit target): writes OUT, a header defining
# IPRO_GIT_COMMIT as `git describe --always --dirty --abbrev=12` says it in SOURCE ("unknown"
# outside a git checkout), rewriting it only when that changed, so that only cli/version.c
# compiles again then. At build time rather than configure time: a commit made after configuring
# is named by the next build.
execute_process(COMMAND git describe --always --dirty --abbrev=12
  WORKING_DIRECTORY ${SOURCE} OUTPUT_VARIABLE commit OUTPUT_STRIP_TRAILING_WHITESPACE
  ERROR_QUIET RESULT_VARIABLE result)
if(NOT result EQUAL 0 OR NOT commit)
  set(commit unknown)
endif()
set(text "#define IPRO_GIT_COMMIT \"${commit}\"\n")
set(old "")
if(EXISTS ${OUT})
  file(READ ${OUT} old)
endif()
if(NOT old STREQUAL text)
  file(WRITE ${OUT} "${text}")
endif()
