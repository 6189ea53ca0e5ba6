#!/usr/bin/env python3
"""Developer check of infopro's inference export against onnx.checker and ONNX Runtime.

Not part of the test suite (it needs Python with onnx, numpy and onnxruntime; e.g.
`python3 -m venv --system-site-packages V && V/bin/pip install onnxruntime` on a machine with
Debian's python3-onnx). It trains ResNet-8 for one short epoch on Fashion-MNIST with
`--out-inference`, also exports that model with external data, and for each inference file:
runs onnx.checker (full_check), runs `infopro run` and ONNX Runtime on the same 256 test images,
and prints the largest difference between their logits and how often their predicted classes agree.
"""
import argparse
import gzip
import os
import subprocess
import sys
import tempfile

import numpy as np
import onnx
import onnxruntime
from onnx import numpy_helper


def fashion_test_images(count):
    folder = "/usr/share/datasets/fashion-mnist"
    with gzip.open(os.path.join(folder, "t10k-images-idx3-ubyte.gz")) as f:
        pixels = np.frombuffer(f.read(), np.uint8, offset=16).reshape(-1, 1, 28, 28)[:count]
    # torchvision's ToTensor then Normalize with Fashion-MNIST's constants, as infopro does.
    return ((pixels.astype(np.float32) / np.float32(255)) - np.float32(0.2860)) / np.float32(0.3530)


def infopro(binary, *arguments):
    result = subprocess.run([binary, *arguments], capture_output=True, text=True)
    if result.returncode != 0:
        sys.exit(f"infopro {' '.join(arguments)} failed:\n{result.stderr}")
    return result.stdout


def check(binary, model, images, work):
    onnx.checker.check_model(model, full_check=True)
    name = os.path.splitext(os.path.basename(model))[0]
    out_dir = os.path.join(work, "out_" + name)
    os.makedirs(out_dir, exist_ok=True)
    infopro(binary, "run", model, "--input", images, "--output-dir", out_dir)
    ours = numpy_helper.to_array(onnx.load_tensor(os.path.join(out_dir, "output_0.pb")))
    session = onnxruntime.InferenceSession(model, providers=["CPUExecutionProvider"])
    x = numpy_helper.to_array(onnx.load_tensor(images))
    theirs = session.run(None, {session.get_inputs()[0].name: x})[0]
    difference = float(np.max(np.abs(ours - theirs)))
    agree = float(np.mean(ours.argmax(1) == theirs.argmax(1)))
    print(f"{model}: onnx.checker full_check passed; infopro run vs ONNX Runtime "
          f"{onnxruntime.__version__}: max |logit difference| {difference:.3g} "
          f"(logits up to {float(np.max(np.abs(theirs))):.3g}), predictions agree on "
          f"{agree * 100:.1f}% of {len(x)} images")
    return difference


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--infopro", default="build/infopro")
    parser.add_argument("--model", default="models/resnet8_fmnist.onnx")
    parser.add_argument("--limit", default="2048")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as work:
        trained = os.path.join(work, "trained.onnx")
        inference = os.path.join(work, "inference.onnx")
        external = os.path.join(work, "inference_external.onnx")
        infopro(args.infopro, "train", args.model, "--data", "fashion-mnist", "--epochs", "1",
                "--limit", args.limit, "--test-limit", "1000", "--out", trained,
                "--out-inference", inference)
        infopro(args.infopro, "export", inference, "--external-data", "-o", external)
        images = os.path.join(work, "images.pb")
        onnx.save_tensor(numpy_helper.from_array(fashion_test_images(256), "input"), images)
        worst = max(check(args.infopro, m, images, work) for m in (inference, external))
        sys.exit(0 if worst < 1e-3 else 1)


if __name__ == "__main__":
    main()
