#!/usr/bin/python3
"""PyTorch's side of bench/accuracy_fmnist.sh: trains ResNet-8 (models/export_models.py,
"resnet8_fmnist") on the full Fashion-MNIST with the recipe of `infopro train`'s defaults, starting
from the weights of models/resnet8_fmnist.onnx (read from its initializers with onnx.numpy_helper):

  SGD lr 0.1, momentum 0.9, Nesterov, weight decay 1e-4 on every parameter; cosine schedule per
  step, lr(s) = 0.1 * (1 + cos(pi * s / total_steps)) / 2 for the 0-based step s; batch 128 with
  the last partial batch dropped, reshuffled every epoch (seeded; not infopro's order);
  pixels / 255 normalised with mean 0.2860 and std 0.3530; no augmentation; BatchNorm in
  training mode while training, eval mode (running statistics) for the test split, scored in
  batches of 256 after every epoch.

    accuracy_fmnist_pytorch.py [--data DIR] [--model FILE.onnx] [--epochs E] [--batch B]
                               [--lr LR] [--threads N] [--seed S] [--limit N]

Prints lines in the format of `infopro train`:
  epoch E/N  loss L  test accuracy A  test loss T  S s
  trained N epochs in S s: test accuracy A
"""
import argparse
import gzip
import math
import os
import sys
import time

import numpy as np
import onnx
import torch
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "models"))
import export_models  # noqa: E402

MEAN, STD = 0.2860, 0.3530


def read_idx(path):
    with gzip.open(path, "rb") as f:
        data = f.read()
    dims = data[3]
    shape = tuple(int.from_bytes(data[4 + 4 * i:8 + 4 * i], "big") for i in range(dims))
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * dims).reshape(shape)


def load_split(directory, prefix):
    images = read_idx(os.path.join(directory, "%s-images-idx3-ubyte.gz" % prefix))
    labels = read_idx(os.path.join(directory, "%s-labels-idx1-ubyte.gz" % prefix))
    x = (torch.from_numpy(images.astype(np.float32) / 255.0) - MEAN) / STD
    return x.unsqueeze(1).contiguous(), torch.from_numpy(labels.astype(np.int64))


def evaluate(model, x, y, batch=256):
    model.eval()
    correct, loss_sum = 0, 0.0
    with torch.no_grad():
        for i in range(0, len(x), batch):
            logits = model(x[i:i + batch])
            loss_sum += F.cross_entropy(logits, y[i:i + batch], reduction="sum").item()
            correct += (logits.argmax(1) == y[i:i + batch]).sum().item()
    model.train()
    return correct / len(x), loss_sum / len(x)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", default="/usr/share/datasets/fashion-mnist")
    ap.add_argument("--model", default=os.path.join(HERE, "..", "models", "resnet8_fmnist.onnx"))
    ap.add_argument("--epochs", type=int, default=5)
    ap.add_argument("--batch", type=int, default=128)
    ap.add_argument("--lr", type=float, default=0.1)
    ap.add_argument("--threads", type=int, default=os.cpu_count())
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--limit", type=int, default=0, help="train on the first N images only")
    args = ap.parse_args()

    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    train_x, train_y = load_split(args.data, "train")
    test_x, test_y = load_split(args.data, "t10k")
    if args.limit:
        train_x, train_y = train_x[:args.limit], train_y[:args.limit]
    model = export_models.build_model("resnet8_fmnist")
    export_models.load_state_from_onnx(model, onnx.load(args.model))
    model.train()
    optimizer = torch.optim.SGD(model.parameters(), lr=args.lr, momentum=0.9, nesterov=True,
                                weight_decay=1e-4)
    steps_per_epoch = len(train_x) // args.batch
    total_steps = steps_per_epoch * args.epochs
    generator = torch.Generator().manual_seed(args.seed)
    print("training resnet8_fmnist (PyTorch %s, %d threads) on fashion-mnist: %d training images, "
          "%d steps of %d per epoch (%d dropped); %d test images" % (
              torch.__version__, torch.get_num_threads(), len(train_x), steps_per_epoch,
              args.batch, len(train_x) - steps_per_epoch * args.batch, len(test_x)), flush=True)
    start = time.perf_counter()
    step = 0
    accuracy = 0.0
    for epoch in range(args.epochs):
        epoch_start = time.perf_counter()
        order = torch.randperm(len(train_x), generator=generator)
        loss_sum = 0.0
        for b in range(steps_per_epoch):
            index = order[b * args.batch:(b + 1) * args.batch]
            for group in optimizer.param_groups:
                group["lr"] = args.lr * 0.5 * (1.0 + math.cos(math.pi * step / total_steps))
            optimizer.zero_grad(set_to_none=True)
            loss = F.cross_entropy(model(train_x[index]), train_y[index])
            loss.backward()
            optimizer.step()
            loss_value = loss.item()
            if not math.isfinite(loss_value):
                print("training loss is not finite at epoch %d step %d" % (epoch + 1, b + 1))
                return 1
            loss_sum += loss_value
            step += 1
        accuracy, test_loss = evaluate(model, test_x, test_y)
        print("epoch %d/%d  loss %.4f  test accuracy %.4f  test loss %.4f  %.1f s" % (
            epoch + 1, args.epochs, loss_sum / steps_per_epoch, accuracy, test_loss,
            time.perf_counter() - epoch_start), flush=True)
    print("trained %d epochs in %.1f s: test accuracy %.4f" % (
        args.epochs, time.perf_counter() - start, accuracy), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
