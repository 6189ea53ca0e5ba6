# Sourced by the GPU bundle's and the GPU tools' run.sh: finds the CUDA 13 runtime, cuBLAS 13
# (with cuBLASLt) and cuDNN 9 in the nvidia wheels of the python3 on the PATH (the packages
# nvidia-cuda-runtime, nvidia-cublas, nvidia-cudnn-cu13), and sets cuda_dirs to the folders that
# hold them, colon-separated (empty when there is no such python3: LD_LIBRARY_PATH must then
# name them).
cuda_dirs=""
if command -v python3 >/dev/null; then
  cuda_dirs=$(python3 - 2>/dev/null <<'PY'
import os
try:
    import nvidia
except ImportError:
    raise SystemExit(0)
wanted = {"libcudart.so.13", "libcublas.so.13", "libcublasLt.so.13", "libcudnn.so.9"}
dirs = []
for base in list(nvidia.__path__):
    for d, _, files in os.walk(base):
        if wanted & set(files) and d not in dirs:
            dirs.append(d)
print(":".join(dirs))
PY
  )
fi
