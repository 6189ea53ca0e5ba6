#!/usr/bin/env bash
# Decoding rate of `--data imagefolder:DIR`, and the rate the loader's thread prepares batches at
# (normalising, and with --augment random-resized-crop and flip), beside the training rate, for
# the bundled ResNet-8 (grey 28x28 input) and ResNet-32 (RGB 32x32 input: each grey image is made
# RGB and resized), each without and with --augment.
# Two folders are written from Fashion-MNIST with Python's PIL (a developer tool, not a test
# dependency): 28x28 grey PNGs as the dataset stores them, and 256x256 RGB JPEGs (quality 90) to
# show decoding and resizing of photo-sized files. infopro prints the decoding rate of each split
# when it loads it ("decoded N train images ... images/s"), and after each epoch the loader's and
# the training's rates ("batches prepared at ... images/s ...; trained at ... images/s"); this
# script prints the three.
# usage: bench/imagefolder_throughput.sh [BUILD_DIR] [TRAIN_IMAGES] [TRAINED_IMAGES]
#        (defaults: build, 3000, 256)
set -euo pipefail
build=${1:-build}
count=${2:-3000}
limit=${3:-256}
work=$(mktemp -d /tmp/ipro_imagefolder_bench_XXXXXX)
trap 'rm -rf "$work"' EXIT

/usr/bin/python3 - "$work" "$count" <<'PY'
import gzip, os, sys
import numpy as np
from PIL import Image
work, count = sys.argv[1], int(sys.argv[2])
folder = "/usr/share/datasets/fashion-mnist"
def read(name, offset):
    with gzip.open(os.path.join(folder, name)) as f:
        return np.frombuffer(f.read(), np.uint8, offset=offset)
images = {"train": read("train-images-idx3-ubyte.gz", 16).reshape(-1, 28, 28)[:count],
          "val": read("t10k-images-idx3-ubyte.gz", 16).reshape(-1, 28, 28)[:count // 6]}
labels = {"train": read("train-labels-idx1-ubyte.gz", 8)[:count],
          "val": read("t10k-labels-idx1-ubyte.gz", 8)[:count // 6]}
for kind in ("png", "jpg"):
    for split in ("train", "val"):
        for i, (pixels, label) in enumerate(zip(images[split], labels[split])):
            d = os.path.join(work, kind, split, f"class{label}")
            os.makedirs(d, exist_ok=True)
            image = Image.fromarray(pixels, "L")
            if kind == "png":
                image.save(os.path.join(d, f"{i:05d}.png"))
            else:
                rgb = Image.merge("RGB", (image, image.point(lambda v: 255 - v), image))
                rgb.resize((256, 256), Image.BILINEAR).save(os.path.join(d, f"{i:05d}.jpg"), quality=90)
PY

echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"
echo "train images per folder: $count (val: $((count / 6))); each run trains $limit of them"
for model in resnet8_fmnist resnet32; do
  for kind in png jpg; do
    for augment in --no-augment --augment; do
      out=$("$build/infopro" train "models/$model.onnx" --data "imagefolder:$work/$kind" --epochs 1 \
        --limit "$limit" --batch 64 --test-limit 64 --log-every 1000 $augment)
      decoded=$(grep -m1 '^decoded .* train images' <<<"$out")
      decode=$(sed 's/.*: \([0-9]*\) images\/s.*/\1/' <<<"$decoded")
      kept=$(sed 's/^decoded [0-9]* train images (\(.*\)) in .*/\1/' <<<"$decoded")
      rates=$(grep -m1 'batches prepared at' <<<"$out")
      prepared=$(sed 's/.*prepared at \([0-9]*\) images\/s.*/\1/' <<<"$rates")
      trained=$(sed 's/.*trained at \([0-9]*\) images\/s.*/\1/' <<<"$rates")
      printf '%-15s %-4s %-12s decoded %6s images/s  prepared %7s images/s  trained %5s images/s  (%s)\n' \
        "$model" "$kind" "$augment" "$decode" "$prepared" "$trained" "$kept"
    done
  done
done
