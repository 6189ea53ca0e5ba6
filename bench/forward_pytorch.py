#!/usr/bin/python3
"""PyTorch's side of bench/forward_vs_pytorch.sh: the forward throughput of one of the
networks in models/export_models.py, built there with the same weights the ONNX file holds
(build_model is deterministic), in eval mode under torch.no_grad(), on fixed random pixels.

    forward_pytorch.py MODEL --batch N --iterations N [--warmup N] [--threads N]

Prints one line: MODEL<TAB>pytorch<TAB>batch<TAB>iterations<TAB>ms_per_batch<TAB>images_per_s
"""
import argparse
import os
import sys
import time

import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "models"))
import export_models  # noqa: E402


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("model", choices=sorted(export_models.MODELS))
    ap.add_argument("--batch", type=int, default=128)
    ap.add_argument("--iterations", type=int, default=10)
    ap.add_argument("--warmup", type=int, default=1)
    ap.add_argument("--threads", type=int, default=os.cpu_count())
    args = ap.parse_args()

    torch.set_num_threads(args.threads)
    model = export_models.build_model(args.model).eval()
    _, shape, _ = export_models.MODELS[args.model]
    generator = torch.Generator().manual_seed(12345)
    x = torch.rand((args.batch,) + tuple(shape), generator=generator)
    with torch.no_grad():
        for _ in range(args.warmup):
            model(x)
        start = time.perf_counter()
        for _ in range(args.iterations):
            model(x)
        seconds = (time.perf_counter() - start) / args.iterations
    print("%s\tpytorch\t%d\t%d\t%.3f\t%.1f" % (args.model, args.batch, args.iterations,
                                              1e3 * seconds, args.batch / seconds))


if __name__ == "__main__":
    main()
