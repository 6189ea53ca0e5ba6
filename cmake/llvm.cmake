# LLVM 14 (the C API of libLLVM-14, Debian's llvm-14-dev) for the kernel generator in codegen/:
# it emits x86-64 objects that LLJIT links in-process and NVPTX PTX for the CUDA backend.
# Included from the top CMakeLists.txt after infopro_core exists. The headers are added as
# system headers to infopro_core alone (only codegen/kernel_*.c include them); the library is
# linked publicly, since infopro_core is static and everything linking it needs libLLVM.
include_guard(GLOBAL)
find_program(IPRO_LLVM_CONFIG NAMES llvm-config-14 llvm-config
  PATHS /usr/lib/llvm-14/bin NO_CACHE REQUIRED)
execute_process(COMMAND ${IPRO_LLVM_CONFIG} --version
  OUTPUT_VARIABLE IPRO_LLVM_VERSION OUTPUT_STRIP_TRAILING_WHITESPACE)
if(NOT IPRO_LLVM_VERSION MATCHES "^14\\.")
  message(FATAL_ERROR "infopro: the kernel generator needs LLVM 14 (found ${IPRO_LLVM_VERSION} "
    "from ${IPRO_LLVM_CONFIG}); install llvm-14-dev")
endif()
execute_process(COMMAND ${IPRO_LLVM_CONFIG} --includedir
  OUTPUT_VARIABLE IPRO_LLVM_INCLUDE_DIR OUTPUT_STRIP_TRAILING_WHITESPACE)
execute_process(COMMAND ${IPRO_LLVM_CONFIG} --libdir
  OUTPUT_VARIABLE IPRO_LLVM_LIBRARY_DIR OUTPUT_STRIP_TRAILING_WHITESPACE)
# The shared libLLVM holds every component (X86, NVPTX, OrcJIT, Passes) in one library.
find_library(IPRO_LLVM_LIBRARY NAMES LLVM-14 LLVM PATHS ${IPRO_LLVM_LIBRARY_DIR}
  NO_DEFAULT_PATH REQUIRED)
message(STATUS "infopro: LLVM ${IPRO_LLVM_VERSION} at ${IPRO_LLVM_LIBRARY}")

function(ipro_use_llvm)
  target_include_directories(infopro_core SYSTEM PRIVATE ${IPRO_LLVM_INCLUDE_DIR})
  target_link_libraries(infopro_core PUBLIC ${IPRO_LLVM_LIBRARY})
endfunction()
# Included after add_library(infopro_core), as the top CMakeLists.txt does, this applies at once;
# included earlier (e.g. through CMAKE_PROJECT_INCLUDE), at the end of the top directory.
if(TARGET infopro_core)
  ipro_use_llvm()
else()
  cmake_language(DEFER DIRECTORY ${CMAKE_SOURCE_DIR} CALL ipro_use_llvm)
endif()
