# Sourced by the GPU bundle's and the GPU tools' run.sh: finds the CUDA 13 runtime, cuBLAS 13
# (with cuBLASLt) and cuDNN 9 in the nvidia wheels of the python3 on the PATH (the packages
# nvidia-cuda-runtime, nvidia-cublas, nvidia-cudnn-cu13), and sets cuda_dirs to the folders that
# hold them, colon-separated (empty when there is no such python3: LD_LIBRARY_PATH must then
# name them). Then use_carried_libraries DIR puts DIR/lib (the pack's own libraries) and those
# folders first on LD_LIBRARY_PATH, and missing_libraries FILE... prints the libraries ldd
# cannot find for them, space-separated (nothing when none is missing).
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

use_carried_libraries() {
  export LD_LIBRARY_PATH="$1/lib${cuda_dirs:+:$cuda_dirs}${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
}

missing_libraries() {
  local missing
  missing=$(for f in "$@"; do ldd "$f"; done 2>&1 | awk '/not found/ { print $1 }' | sort -u |
    tr '\n' ' ')
  echo "${missing% }"
}
