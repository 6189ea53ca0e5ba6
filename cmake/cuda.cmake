# The CUDA backend (runtime/cuda/): built whenever the CUDA toolkit is found (in /usr/local/cuda or
# CUDAToolkit_ROOT), GPU or not, so that CI compiles and links it. Its C files use the CUDA
# runtime, cuDNN and cuBLAS C APIs (no .cu files: the device code is PTX from the LLVM kernel
# generator).
#
# It is a plugin, libinfopro_cuda.so next to the infopro executable, loaded with dlopen only when
# a CUDA device is asked for (runtime/cuda_plugin/cuda_plugin_loader.c): nothing CPU-side maps the
# CUDA runtime, cuDNN or cuBLAS. The plugin carries its own position-independent copy of the
# library code it calls (infopro_core), and exports only its entry point. Without the toolkit,
# runtime/cuda_plugin/cuda_unavailable.c makes ipro_backend_create_cuda say why.
# Included from the top CMakeLists.txt after infopro_core exists.
include_guard(GLOBAL)
find_package(CUDAToolkit QUIET)
if(CUDAToolkit_FOUND)
  find_library(IPRO_CUDNN_LIBRARY cudnn HINTS ${CUDAToolkit_LIBRARY_DIR} /usr/local/cuda/lib64)
  find_path(IPRO_CUDNN_INCLUDE_DIR cudnn.h HINTS ${CUDAToolkit_INCLUDE_DIRS} /usr/local/include)
  if(NOT IPRO_CUDNN_LIBRARY OR NOT IPRO_CUDNN_INCLUDE_DIR)
    message(STATUS "infopro: CUDA toolkit ${CUDAToolkit_VERSION} found but cuDNN not; building the CPU target only")
    set(CUDAToolkit_FOUND OFF)
  endif()
endif()
if(CUDAToolkit_FOUND)
  message(STATUS "infopro: CUDA toolkit ${CUDAToolkit_VERSION} at ${CUDAToolkit_BIN_DIR}, cuDNN ${IPRO_CUDNN_LIBRARY}: building the CUDA plugin")
  set(IPRO_HAVE_CUDA ON)
  file(GLOB IPRO_CUDA_SOURCES CONFIGURE_DEPENDS ${CMAKE_SOURCE_DIR}/runtime/cuda/*.c)
  add_library(infopro_cuda MODULE ${IPRO_CUDA_SOURCES})
  set_target_properties(infopro_cuda PROPERTIES LIBRARY_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR})
  # System headers: the toolkit's own headers are not ours to make warning-free.
  target_include_directories(infopro_cuda SYSTEM PRIVATE ${CUDAToolkit_INCLUDE_DIRS}
    ${IPRO_CUDNN_INCLUDE_DIR})
  target_link_libraries(infopro_cuda PRIVATE infopro_core CUDA::cudart CUDA::cublas
    ${IPRO_CUDNN_LIBRARY})
  # The plugin's copy of infopro_core stays private to it.
  target_link_options(infopro_cuda PRIVATE LINKER:--exclude-libs,ALL)
  target_sources(infopro_runtime PRIVATE ${CMAKE_SOURCE_DIR}/runtime/cuda_plugin/cuda_plugin_loader.c)
  target_compile_definitions(infopro_runtime PUBLIC IPRO_HAVE_CUDA)
  # `cmake --build` builds it with everything; building the infopro target alone builds it too.
  cmake_language(DEFER DIRECTORY ${CMAKE_SOURCE_DIR} CALL add_dependencies infopro infopro_cuda)
else()
  message(STATUS "infopro: CUDA toolkit not found (looked in /usr/local/cuda); building the CPU target only")
  set(IPRO_HAVE_CUDA OFF)
  target_sources(infopro_runtime PRIVATE ${CMAKE_SOURCE_DIR}/runtime/cuda_plugin/cuda_unavailable.c)
endif()
