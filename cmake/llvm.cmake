# LLVM 14 (the C API of libLLVM-14, Debian's llvm-14-dev) for the kernel generator in codegen/:
# it emits x86-64 objects that LLJIT links in-process and NVPTX PTX for the CUDA backend.
# Included from the top CMakeLists.txt after infopro_core exists. Only the kernel compiler plugin
# (below) includes LLVM's headers and links libLLVM.
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

# The kernel compiler plugin (ir/kernel_compiler.h): the three files that call LLVM, with a
# private copy of the infopro_core code they use, in libinfopro_kernel_compiler.so beside infopro.
# Only a process that compiles a kernel maps LLVM.
function(ipro_build_kernel_compiler)
  add_library(infopro_kernel_compiler MODULE ${CMAKE_SOURCE_DIR}/codegen/kernel_ir.c
    ${CMAKE_SOURCE_DIR}/codegen/kernel_math.c ${CMAKE_SOURCE_DIR}/codegen/kernel_targets.c)
  set_target_properties(infopro_kernel_compiler PROPERTIES
    LIBRARY_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR})
  target_include_directories(infopro_kernel_compiler SYSTEM PRIVATE ${IPRO_LLVM_INCLUDE_DIR})
  target_link_libraries(infopro_kernel_compiler PRIVATE infopro_core ${IPRO_LLVM_LIBRARY})
  target_link_options(infopro_kernel_compiler PRIVATE LINKER:--exclude-libs,ALL)
  # Everything that links infopro_core may compile a kernel: build the plugin with it.
  add_dependencies(infopro infopro_kernel_compiler)
endfunction()
cmake_language(DEFER DIRECTORY ${CMAKE_SOURCE_DIR} CALL ipro_build_kernel_compiler)
