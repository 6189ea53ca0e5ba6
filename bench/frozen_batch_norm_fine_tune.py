#!/usr/bin/python3
"""PyTorch's side of the README's `--freeze-statistics '*'` run: ResNet-8 (models/export_models.py's
architecture) with the weights and running statistics of MODEL.onnx, every BatchNorm in eval
mode (the rest in training mode), fine-tuned on the first 2,000 Fashion-MNIST training images
(Debian's dataset-fashion-mnist, normalised with mean 0.286 and std 0.353 as infopro's default)
for one epoch of 15 steps of 128 with infopro's recipe at a peak learning rate of 0.02 (SGD,
momentum 0.9, Nesterov, weight decay 1e-4, per-step cosine); prints each step's loss. The images
are drawn in another order than infopro's, so the losses compare in kind, not value, with

    ./build/infopro train MODEL.onnx --data fashion-mnist --epochs 1 --limit 2000 --lr 0.02 \\
        --freeze-statistics '*'

Needs torch and onnx from PyPI (the peers' virtual environment of the README's "Speed against
the CPU peers"). Run from the repository root:

    bench/frozen_batch_norm_fine_tune.py MODEL.onnx"""
import gzip
import math
import os
import sys

import numpy as np
import onnx
import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "models"))
import export_models  # noqa: E402

DATA = "/usr/share/datasets/fashion-mnist"
IMAGES, BATCH, PEAK_LR = 2000, 128, 0.02


def read_idx(name, offset):
    with gzip.open(os.path.join(DATA, name)) as f:
        return np.frombuffer(f.read()[offset:], np.uint8)


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    torch.manual_seed(0)
    images = read_idx("train-images-idx3-ubyte.gz", 16).reshape(-1, 1, 28, 28)[:IMAGES]
    labels = read_idx("train-labels-idx1-ubyte.gz", 8)[:IMAGES].astype(np.int64)
    x = torch.from_numpy((images / 255.0 - 0.286) / 0.353).float()
    y = torch.from_numpy(labels)
    model = export_models.load_state_from_onnx(export_models.build_model("resnet8_fmnist"),
                                               onnx.load(sys.argv[1]))
    model.train()
    for module in model.modules():
        if isinstance(module, torch.nn.BatchNorm2d):
            module.eval()
    optimizer = torch.optim.SGD(model.parameters(), lr=PEAK_LR, momentum=0.9, nesterov=True,
                                weight_decay=1e-4)
    order = torch.randperm(IMAGES)
    steps = IMAGES // BATCH
    for step in range(steps):
        for group in optimizer.param_groups:
            group["lr"] = PEAK_LR * 0.5 * (1 + math.cos(math.pi * step / steps))
        batch = order[step * BATCH:(step + 1) * BATCH]
        optimizer.zero_grad()
        loss = torch.nn.functional.cross_entropy(model(x[batch]), y[batch])
        loss.backward()
        optimizer.step()
        print("step %d/%d  loss %.4f" % (step + 1, steps, loss.item()))


if __name__ == "__main__":
    main()
