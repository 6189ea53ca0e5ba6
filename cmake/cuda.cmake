# Looks for the CUDA toolkit in /usr/local/cuda (or CUDAToolkit_ROOT). Its absence is reported
# once and the CPU build goes on; the CUDA backend itself arrives with the CUDA target issue.
find_package(CUDAToolkit QUIET)
if(CUDAToolkit_FOUND)
  message(STATUS "infopro: CUDA toolkit ${CUDAToolkit_VERSION} found at ${CUDAToolkit_LIBRARY_ROOT}")
  set(IPRO_HAVE_CUDA ON)
else()
  message(STATUS "infopro: CUDA toolkit not found (looked in /usr/local/cuda); building the CPU target only")
  set(IPRO_HAVE_CUDA OFF)
endif()
