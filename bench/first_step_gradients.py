#!/usr/bin/python3
"""How close infopro's first training step on a torchvision network is to PyTorch's, against a
float64 oracle. MODEL (a torchvision.models name, 10 classes, torch.manual_seed(0)) is exported
with torch.export's exporter and optimize=False into OUT/model.onnx, with OUT/random.npz (128
random 64x64 RGB training images with random labels, 32 test images); then

    INFOPRO train OUT/model.onnx --data npz:OUT/random.npz --epochs 1 --batch 128 --lr LR
            --weight-decay 0 --out OUT/trained.onnx

(LR from the environment, default 1.0: the larger the update, the finer the read-back below)

takes one SGD step (Nesterov, momentum 0.9: the first update is 1.9 lr g) on the whole batch, and
each parameter's gradient is read back from its update, g = -(trained - initial) / (1.9 lr). The
oracle is PyTorch's gradient of the same module in float64 on the same batch (normalised with the
batch's own per-channel mean and standard deviation, as infopro does for npz data); PyTorch's
float32 gradient is measured against it too. Per parameter, the error is the largest absolute
difference over the largest absolute oracle value; printed: the median and the largest over the
parameters for both, and the parameters where infopro is off by more than 5 times PyTorch's error
and more than 1e-3, except where that error is within what the read-back resolves (an update
below float32's resolution of the weight, a BatchNorm scale of 1.0 moved by less than 6e-8, reads
back as 0), which are counted. A ReLU whose input lies within float32's rounding of 0 (1e-6 in a unit-scale
activation) can fall on either side of its kink in two float32 implementations: the parameters
upstream of it then differ in that one element's share (found so: one output channel off, every
other matching). Dropout makes the two sides draw different masks: use networks without it (resnet18,
shufflenet_v2_x0_5, regnet_x_400mf). MODEL recurrent_cnn is models/export_dynamo.py's RecurrentCNN
(a bidirectional nn.LSTM, an nn.GRU and an nn.RNN over rows of features) on random 28x28
grayscale images instead.

Needs torch, torchvision and onnxscript from PyPI (the peers' virtual environment of the
README's "Speed against the CPU peers", with torchvision and onnxscript added).

    first_step_gradients.py INFOPRO MODEL OUT"""
import os
import subprocess
import sys
import warnings

import numpy as np
import onnx
import torch
import torchvision.models as models
from onnx import numpy_helper

LR = float(os.environ.get("LR", "1.0"))
RECURRENT = "recurrent_cnn"


def fresh_model(name, dtype):
    torch.manual_seed(0)
    if name == RECURRENT:
        sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "models"))
        from export_dynamo import RecurrentCNN
        return RecurrentCNN().to(dtype)
    return getattr(models, name)(num_classes=10).to(dtype)


def image_shape(name):
    """[H, W, C] of the model's images."""
    return (28, 28, 1) if name == RECURRENT else (64, 64, 3)


def write_random_data(out, shape):
    """OUT/random.npz: 128 training and 32 test images of random pixels of shape [H, W, C] with
    random labels of 10 classes; returns its arrays."""
    rng = np.random.default_rng(0)
    data = {"x_train": rng.integers(0, 256, (128, *shape), dtype=np.uint8),
            "y_train": rng.integers(0, 10, 128).astype(np.int64),
            "x_test": rng.integers(0, 256, (32, *shape), dtype=np.uint8),
            "y_test": rng.integers(0, 10, 32).astype(np.int64)}
    np.savez(os.path.join(out, "random.npz"), **data)
    return data


def training_images(data, dtype):
    """The training images as infopro feeds npz data: [N, C, H, W], x/255 normalised with the
    split's own per-channel mean and standard deviation."""
    x = torch.tensor(data["x_train"]).permute(0, 3, 1, 2).to(dtype) / 255
    return (x - x.mean((0, 2, 3), keepdim=True)) / x.std((0, 2, 3), keepdim=True, unbiased=False)


def gradients(name, data, dtype):
    model = fresh_model(name, dtype).train()
    x = training_images(data, dtype)
    torch.nn.functional.cross_entropy(model(x), torch.tensor(data["y_train"])).backward()
    return {k: p.grad.double().numpy().ravel() for k, p in model.named_parameters()}


def initializers(path):
    return {i.name: numpy_helper.to_array(i).astype(np.float64)
            for i in onnx.load(path).graph.initializer}


def main():
    infopro, name, out = sys.argv[1:4]
    os.makedirs(out, exist_ok=True)
    warnings.filterwarnings("ignore")
    model_path = os.path.join(out, "model.onnx")
    h, w, c = image_shape(name)
    torch.onnx.export(fresh_model(name, torch.float32).train(), (torch.randn(2, c, h, w),),
                      model_path, dynamo=True, optimize=False,
                      dynamic_shapes=({0: torch.export.Dim("batch")},), external_data=False)
    data = write_random_data(out, (h, w, c))
    trained_path = os.path.join(out, "trained.onnx")
    subprocess.run([infopro, "train", model_path, "--data", "npz:" + os.path.join(out, "random.npz"),
                    "--epochs", "1", "--batch", "128", "--lr", str(LR), "--weight-decay", "0",
                    "--out", trained_path], check=True, stdout=subprocess.DEVNULL)
    initial, trained = initializers(model_path), initializers(trained_path)
    oracle = gradients(name, data, torch.float64)
    pytorch = gradients(name, data, torch.float32)
    torch_errors, infopro_errors, zero, unresolved = [], [], 0, 0
    for key, g in oracle.items():
        scale = np.abs(g).max()
        if scale < 1e-12:  # zero in exact arithmetic (a bias before a BatchNorm): no scale
            zero += 1
            continue
        read_back = -(trained[key] - initial[key]).ravel() / (1.9 * LR)
        torch_errors.append(np.abs(pytorch[key] - g).max() / scale)
        infopro_errors.append(np.abs(read_back - g).max() / scale)
        # what reading a gradient back from a float32 weight can resolve, relative to scale
        resolution = np.spacing(np.abs(initial[key]).astype(np.float32)).max() / (1.9 * LR) / scale
        if infopro_errors[-1] > 5 * torch_errors[-1] and infopro_errors[-1] < 2 * resolution:
            unresolved += 1
        elif infopro_errors[-1] > 5 * torch_errors[-1] and infopro_errors[-1] > 1e-3:
            print("  %-40s PyTorch float32 %.2e  infopro %.2e" % (key, torch_errors[-1],
                                                                  infopro_errors[-1]))
    print("%s: %d parameters (and %d whose gradient is 0 in exact arithmetic); error against "
          "float64, median: PyTorch float32 %.2e, infopro %.2e; largest: %.2e, %.2e; %d off by "
          "more than PyTorch only below what a float32 weight resolves"
          % (name, len(torch_errors), zero, np.median(torch_errors), np.median(infopro_errors),
             max(torch_errors), max(infopro_errors), unresolved))


if __name__ == "__main__":
    main()
