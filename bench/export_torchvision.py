"""Exports torchvision's ResNet-18, MobileNetV2, SqueezeNet 1.1 and DenseNet-121 (10 classes,
random initial weights) as ONNX training graphs for a given image size, as a new user would
bring them to `infopro plan`. The files are large (ResNet-18 alone is ~45 MB of weights), so they
are written into a build folder by bench/plan_torchvision.sh, never committed; the test suite
does not need them.

    /usr/bin/python3 bench/export_torchvision.py OUT_DIR [--size 64]

Needs python3-torch, python3-torchvision and python3-onnx (Debian packages;
scripts/install-deps.sh --developer)."""
import argparse
import copy
import os

import torch
import torchvision

MODELS = {
    "resnet18": lambda: torchvision.models.resnet18(num_classes=10),
    "mobilenet_v2": lambda: torchvision.models.mobilenet_v2(num_classes=10),
    "squeezenet1_1": lambda: torchvision.models.squeezenet1_1(num_classes=10),
    "densenet121": lambda: torchvision.models.densenet121(num_classes=10),
}


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("out_dir")
    parser.add_argument("--size", type=int, default=64)
    parser.add_argument("--only", action="append")
    args = parser.parse_args()
    os.makedirs(args.out_dir, exist_ok=True)
    torch.manual_seed(0)
    for name, make in MODELS.items():
        if args.only and name not in args.only:
            continue
        model = make()
        model.train()
        dummy = torch.randn(2, 3, args.size, args.size)
        path = os.path.join(args.out_dir, f"{name}_{args.size}.onnx")
        # A copy is traced: tracing in training mode updates BatchNorm's running statistics.
        torch.onnx.export(
            copy.deepcopy(model), dummy, path,
            training=torch.onnx.TrainingMode.TRAINING,
            do_constant_folding=False,
            input_names=["input"], output_names=["logits"],
            dynamic_axes={"input": {0: "batch"}, "logits": {0: "batch"}},
            opset_version=17)
        print(f"wrote {path}")


if __name__ == "__main__":
    main()
