#!/usr/bin/env bash
# Copies the shared libraries the given programs need (ldd, which lists what they need through
# other libraries too) into LIB/, except the C and C++ runtimes every Linux has and the CUDA
# libraries a GPU machine brings (the CUDA runtime, cuBLAS, cuBLASLt, cuDNN), with the Debian
# copyright file of each library's package in LICENSES/. Prints one line per library: SONAME,
# Debian package, version. Used by scripts/gpu-bundle.sh and scripts/gpu-tools.sh.
#
#   scripts/carry-libraries.sh LIB LICENSES PROGRAM...
set -euo pipefail
if [[ $# -lt 3 ]]; then
  echo "usage: scripts/carry-libraries.sh LIB LICENSES PROGRAM..." >&2
  exit 2
fi
lib=$1 licenses=$2
shift 2
mkdir -p "$lib" "$licenses"
needed=$(for program in "$@"; do ldd "$program"; done | awk '$2 == "=>" && $3 ~ /^\// { print $1, $3 }' |
  grep -Ev '^(libc|libm|libpthread|libdl|librt|libstdc\+\+|libgcc_s|ld-linux-x86-64|libcudart|libcublas|libcublasLt|libcudnn[a-z_]*)\.so' |
  sort -u)
[[ -n "$needed" ]] || { echo "carry-libraries: ldd found no libraries to carry" >&2; exit 1; }
while read -r soname path; do
  real=$(readlink -f "$path")
  cp "$real" "$lib/$soname"
  # Debian's merged /usr: dpkg may know the file under /lib rather than /usr/lib.
  package=$(dpkg -S "$real" 2>/dev/null || dpkg -S "${real#/usr}" 2>/dev/null) ||
    { echo "carry-libraries: no Debian package owns $real" >&2; exit 1; }
  package=${package%%:*}
  cp "/usr/share/doc/$package/copyright" "$licenses/$package.copyright"
  echo "$soname $package $(dpkg-query -W -f='${Version}' "$package")"
done <<<"$needed"
