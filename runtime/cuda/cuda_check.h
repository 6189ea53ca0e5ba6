/* Check macros for the CUDA runtime, cuDNN and cuBLAS calls of runtime/cuda/. Library code never
 * exits: a failing call becomes an ipro_error naming the call, its status and __FILE__:__LINE__,
 * and the macro returns IPRO_ERROR from the enclosing function (which must have an `err`
 * parameter and nothing to release on the way out). The _GOTO forms jump to a cleanup label
 * instead. */
#ifndef IPRO_CUDA_CHECK_H
#define IPRO_CUDA_CHECK_H

#include <cublas_v2.h>
#include <cuda_runtime_api.h>
#include <cudnn.h>

#include <string.h>

#include "ir/error.h"

/* cuDNN's status string followed by its own explanation of the last failure
 * (cudnnGetLastErrorString), which names the parameter it refused; in cuda_kernel.c. */
const char *ipro_cudnn_failure_text(cudnnStatus_t status, char *buffer, size_t size);

/* The message names the function called (the text of the call up to its parenthesis). */
#define IPRO_CUDA_FAILED_(err, call, library, text)                                                \
  ipro_error_set((err), "%.*s failed: %s (%s, %s:%d)", (int)strcspn(#call, "("), #call, (text),    \
                 (library), __FILE__, __LINE__)

#define IPRO_CUDA_CHECK(call)                                                                      \
  do {                                                                                             \
    cudaError_t ipro_cuda_status_ = (call);                                                        \
    if (ipro_cuda_status_ != cudaSuccess)                                                          \
      return IPRO_CUDA_FAILED_(err, call, "CUDA runtime", cudaGetErrorString(ipro_cuda_status_));  \
  } while (0)

#define IPRO_CUDNN_CHECK(call)                                                                     \
  do {                                                                                             \
    cudnnStatus_t ipro_cudnn_status_ = (call);                                                     \
    if (ipro_cudnn_status_ != CUDNN_STATUS_SUCCESS)                                                \
      return IPRO_CUDA_FAILED_(err, call, "cuDNN",                                                 \
                               ipro_cudnn_failure_text(ipro_cudnn_status_, (char[512]){0}, 512));  \
  } while (0)

#define IPRO_CUBLAS_CHECK(call)                                                                    \
  do {                                                                                             \
    cublasStatus_t ipro_cublas_status_ = (call);                                                   \
    if (ipro_cublas_status_ != CUBLAS_STATUS_SUCCESS)                                              \
      return IPRO_CUDA_FAILED_(err, call, "cuBLAS", cublasGetStatusString(ipro_cublas_status_));   \
  } while (0)

#define IPRO_CUDA_CHECK_GOTO(call, label)                                                          \
  do {                                                                                             \
    cudaError_t ipro_cuda_status_ = (call);                                                        \
    if (ipro_cuda_status_ != cudaSuccess) {                                                        \
      IPRO_CUDA_FAILED_(err, call, "CUDA runtime", cudaGetErrorString(ipro_cuda_status_));         \
      goto label;                                                                                  \
    }                                                                                              \
  } while (0)

#define IPRO_CUDNN_CHECK_GOTO(call, label)                                                         \
  do {                                                                                             \
    cudnnStatus_t ipro_cudnn_status_ = (call);                                                     \
    if (ipro_cudnn_status_ != CUDNN_STATUS_SUCCESS) {                                              \
      IPRO_CUDA_FAILED_(err, call, "cuDNN",                                                        \
                        ipro_cudnn_failure_text(ipro_cudnn_status_, (char[512]){0}, 512));         \
      goto label;                                                                                  \
    }                                                                                              \
  } while (0)

#define IPRO_CUBLAS_CHECK_GOTO(call, label)                                                        \
  do {                                                                                             \
    cublasStatus_t ipro_cublas_status_ = (call);                                                   \
    if (ipro_cublas_status_ != CUBLAS_STATUS_SUCCESS) {                                            \
      IPRO_CUDA_FAILED_(err, call, "cuBLAS", cublasGetStatusString(ipro_cublas_status_));          \
      goto label;                                                                                  \
    }                                                                                              \
  } while (0)

#endif
