#!/usr/bin/env bash
# Installs, from Debian's packages only, whatever infopro needs to build, test and run that is not
# already installed. Idempotent: when everything is present it changes nothing and asks no
# network. Developer tools (python3-torch, python3-onnx: exporting models and golden files) are
# installed only with --developer.
set -euo pipefail

packages=(
  cmake build-essential pkg-config
  protobuf-c-compiler libprotobuf-c-dev  # decoding .onnx files
  libonnx-dev                            # the ONNX schema, /usr/include/onnx/onnx.proto
  libdnnl-dev                            # oneDNN: the CPU kernels
  llvm-14-dev                            # LLVM C API: generated kernels
  zlib1g-dev                             # gzipped datasets, .npz archives
  libpng-dev libjpeg62-turbo-dev         # --data imagefolder: decoding PNG and JPEG images
  libjansson-dev                         # reading plan JSON (partitioner/plan_file.c)
  libssl-dev                             # SHA-256 of a compiled program's model (cli/compile.c)
  dataset-fashion-mnist                  # the demo's and the learning tests' data
  clang libclang-rt-14-dev               # libFuzzer target for the loader
  libomp-dev                             # clang's OpenMP runtime: generated kernels on every core
  libopenmpi-dev openmpi-bin             # the MPI pipeline: mpirun -np K infopro train
)
if [[ "${1:-}" == "--developer" ]]; then
  packages+=(python3-torch python3-onnx python3-numpy)
  packages+=(python3-torchvision)  # bench/export_torchvision.py: the torchvision networks of bench/plan_torchvision.sh
fi

missing=()
for package in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$package")
  fi
done
if [[ ${#missing[@]} -eq 0 ]]; then
  exit 0
fi

echo "infopro: installing missing Debian packages: ${missing[*]}"
sudo=""
if [[ $(id -u) -ne 0 ]]; then
  sudo="sudo"
fi
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -q
$sudo apt-get install -y -q --no-install-recommends "${missing[@]}"
