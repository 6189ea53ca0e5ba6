#!/usr/bin/python3
"""PyTorch's side of bench/gpu_resnet110.sh: seconds per end-to-end training step of one of the
networks in models/export_models.py on the GPU (CUDA), with infopro's recipe (SGD, momentum 0.9,
Nesterov, weight decay 1e-4, BatchNorm in training mode, cross-entropy), and the peak memory
PyTorch's allocator handed out, torch.cuda.max_memory_allocated, over the whole run (model,
optimizer state, activations, cuDNN workspaces). Images are fixed pseudo-random pixels, labels
cycle over the classes, and every step trains on the same batch. cuDNN runs with TF32 disabled
(torch.backends.cudnn.allow_tf32 = False, as infopro computes in float32 with FMA) unless
--tf32 is given. With --compile the model runs through torch.compile (Inductor, default mode);
its compilation happens in the warm-up steps, which are not timed.

    gpu_step_pytorch.py MODEL [--batch N] [--steps N] [--warmup N] [--lr LR] [--tf32] [--compile]

Prints one line: MODEL pytorch-cuda|torch-compile-cuda batch steps median_ms min_ms max_ms max_memory_allocated
(tab-separated), or a line starting "skip:" and exit status 77 when torch has no CUDA device.
"""
import argparse
import os
import statistics
import sys
import time

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "models"))
import export_models  # noqa: E402


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("model", choices=sorted(export_models.MODELS))
    ap.add_argument("--batch", type=int, default=1024)
    ap.add_argument("--steps", type=int, default=10)
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--lr", type=float, default=0.01)
    ap.add_argument("--tf32", action="store_true")
    ap.add_argument("--compile", action="store_true")
    args = ap.parse_args()
    if args.compile and args.warmup < 1:
        ap.error("--compile needs --warmup 1 or more: the first step compiles, and would be timed")
    if not torch.cuda.is_available():
        print("skip: torch %s sees no CUDA device" % torch.__version__)
        sys.exit(77)
    torch.backends.cudnn.allow_tf32 = args.tf32
    torch.backends.cuda.matmul.allow_tf32 = args.tf32
    torch.backends.cudnn.benchmark = False
    device = torch.device("cuda")
    _, shape, _ = export_models.MODELS[args.model]
    generator = torch.Generator().manual_seed(12345)
    images = ((torch.rand((args.batch,) + tuple(shape), generator=generator) - 0.3) / 0.35)
    torch.cuda.reset_peak_memory_stats()
    images = images.to(device)
    model = export_models.build_model(args.model).train().to(device)
    labels = (torch.arange(args.batch) % model.fc.out_features).to(device)
    forward = torch.compile(model) if args.compile else model
    optimizer = torch.optim.SGD(model.parameters(), lr=args.lr, momentum=0.9, nesterov=True,
                                weight_decay=1e-4)

    def step():
        optimizer.zero_grad(set_to_none=True)
        loss = F.cross_entropy(forward(images), labels)
        loss.backward()
        optimizer.step()
        return loss

    for _ in range(args.warmup):
        step()
    torch.cuda.synchronize()
    times = []
    for _ in range(args.steps):
        start = time.perf_counter()
        step().item()  # waits for the step, as infopro's loss copy does
        times.append(time.perf_counter() - start)
    runner = "torch-compile-cuda" if args.compile else "pytorch-cuda"
    print("%s\t%s\t%d\t%d\t%.3f\t%.3f\t%.3f\t%d" % (
        args.model, runner, args.batch, args.steps, 1e3 * statistics.median(times),
        1e3 * min(times), 1e3 * max(times), torch.cuda.max_memory_allocated()))


if __name__ == "__main__":
    main()
