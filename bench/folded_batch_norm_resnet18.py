#!/usr/bin/python3
"""What torch.export's default optimisation does to training: torchvision's ResNet-18 (10 classes,
torch.manual_seed(0)) exported twice from the same weights, into OUT/r18_default.onnx (the
exporter's defaults: each BatchNormalization folded into its convolution) and OUT/r18_kept.onnx
(optimize=False: kept), with OUT/random.npz (128 training and 32 test images of random 64x64 RGB
pixels, random labels); then PyTorch trains the module itself on the 128 images as one batch for
4 steps with infopro's recipe and schedule (SGD, momentum 0.9, Nesterov, weight decay 1e-4, peak
learning rate 0.1 on a per-step cosine; the images normalised with their own per-channel mean and
standard deviation, as infopro measures them for npz data) and prints each step's loss. The
README's table compares them with

    ./build/infopro train OUT/r18_kept.onnx --data npz:OUT/random.npz --epochs 4 --batch 128
    ./build/infopro train OUT/r18_default.onnx --data npz:OUT/random.npz --epochs 4 --batch 128

Needs torch, torchvision and onnxscript from PyPI (the peers' virtual environment of the README's
"Speed against the CPU peers", with torchvision and onnxscript added).

    folded_batch_norm_resnet18.py OUT"""
import copy
import math
import os
import sys
import warnings

import torch
import torchvision.models as models

from first_step_gradients import training_images, write_random_data


def main():
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    warnings.filterwarnings("ignore")
    torch.manual_seed(0)
    model = models.resnet18(num_classes=10)
    for name, optimize in (("r18_default", True), ("r18_kept", False)):
        torch.onnx.export(copy.deepcopy(model).train(), (torch.randn(2, 3, 64, 64),),
                          os.path.join(out, name + ".onnx"), dynamo=True, optimize=optimize,
                          dynamic_shapes=({0: torch.export.Dim("batch")},), external_data=False)
    data = write_random_data(out)
    x = training_images(data, torch.float32)
    y = torch.tensor(data["y_train"])
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9, nesterov=True,
                                weight_decay=1e-4)
    model.train()
    steps = 4
    for step in range(steps):
        lr = 0.05 * (1 + math.cos(math.pi * step / steps))
        for group in optimizer.param_groups:
            group["lr"] = lr
        loss = torch.nn.functional.cross_entropy(model(x), y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        print("step %d  loss %.4f  lr %.5f" % (step + 1, loss.item(), lr))


if __name__ == "__main__":
    main()
