# The CUDA backend (runtime/cuda/): built whenever the CUDA toolkit is found (in /usr/local/cuda or
# CUDAToolkit_ROOT), GPU or not, so that CI compiles and links it. Its C files use the CUDA
# runtime, cuDNN and cuBLAS C APIs (no .cu files: the device code is PTX from the LLVM kernel
# generator). Without the toolkit, runtime/cuda_stub/ makes ipro_backend_create_cuda say why.
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
  message(STATUS "infopro: CUDA toolkit ${CUDAToolkit_VERSION} at ${CUDAToolkit_BIN_DIR}, cuDNN ${IPRO_CUDNN_LIBRARY}: building the CUDA backend")
  set(IPRO_HAVE_CUDA ON)
  file(GLOB IPRO_CUDA_SOURCES CONFIGURE_DEPENDS ${CMAKE_SOURCE_DIR}/runtime/cuda/*.c)
  target_sources(infopro_core PRIVATE ${IPRO_CUDA_SOURCES})
  # System headers: the toolkit's own headers are not ours to make warning-free.
  target_include_directories(infopro_core SYSTEM PRIVATE ${CUDAToolkit_INCLUDE_DIRS}
    ${IPRO_CUDNN_INCLUDE_DIR})
  target_compile_definitions(infopro_core PUBLIC IPRO_HAVE_CUDA)
  target_link_libraries(infopro_core PUBLIC CUDA::cudart CUDA::cublas ${IPRO_CUDNN_LIBRARY})
  # Programs that never reach the CUDA backend (most test programs: the conformance runners are
  # a thousand processes) do not load its libraries: loading cuBLAS and cuDNN costs ~0.2 s per
  # process start, minutes over the suite.
  add_link_options(LINKER:--as-needed)
else()
  message(STATUS "infopro: CUDA toolkit not found (looked in /usr/local/cuda); building the CPU target only")
  set(IPRO_HAVE_CUDA OFF)
  target_sources(infopro_core PRIVATE ${CMAKE_SOURCE_DIR}/runtime/cuda_stub/cuda_unavailable.c)
endif()
