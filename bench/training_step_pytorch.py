#!/usr/bin/python3
"""PyTorch's side of bench/training_step_vs_pytorch.sh: seconds per training step of one of the
networks in models/export_models.py (built there with the weights the ONNX file holds) or
models/export_dynamo.py (the tiny EfficientNet, freshly initialised), with the
recipe of infopro's trainer: SGD, momentum 0.9, Nesterov, weight decay 1e-4, BatchNorm in
training mode, cross-entropy. Images are fixed pseudo-random pixels, labels cycle over the
classes, and every step trains on the same batch (as bench/training_step.c does).

Memory, measured on the first warm-up step (the timed steps run without hooks):
  saved      bytes of the tensors autograd saves for backward, collected with
             torch.autograd.graph.saved_tensors_hooks; each storage is counted once, and storages
             of parameters are left out (they are counted as parameters)
  parameters, gradients, momentum buffers (after the step), BN running statistics (reported,
             not added)
  total      saved + parameters + gradients + momentum
  maxrss     growth of the process's maximum resident set from just before the model is built to
             after the last step (includes allocator caching, oneDNN/MKL scratch, autograd's
             transient gradient buffers)

    training_step_pytorch.py MODEL [--batch N] [--steps N] [--warmup N] [--threads N] [--lr LR]
                             [--compile]

--compile runs the model through torch.compile (TorchInductor, its default mode): the forward and
the backward AOTAutograd derives from it are compiled to C++/OpenMP kernels on the first step,
which is then a warm-up step; the optimizer step stays eager, as in PyTorch's own recipe. The
saved-for-backward hooks do not reach inside a compiled graph, so a compiled run reports "-" for
saved_bytes and total_bytes (RSS growth is measured as for eager).

Prints one line: MODEL pytorch batch steps median_ms min_ms max_ms saved_bytes parameter_bytes
gradient_bytes momentum_bytes buffer_bytes total_bytes maxrss_delta_bytes (tab-separated).
"""
import argparse
import os
import resource
import statistics
import sys
import time

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "models"))
import export_models  # noqa: E402


def storage_key(t):
    """(address, bytes) of the storage under a tensor, for counting each storage once."""
    storage = t.untyped_storage() if hasattr(t, "untyped_storage") else t.storage()
    nbytes = storage.nbytes() if hasattr(storage, "nbytes") else storage.size() * t.element_size()
    return storage.data_ptr(), nbytes


def storage_bytes(tensors):
    seen = {}
    for t in tensors:
        address, nbytes = storage_key(t)
        seen[address] = nbytes
    return sum(seen.values())


def max_rss_bytes():
    return 1024 * resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # kilobytes on Linux


def tiny_efficientnet():
    import export_dynamo  # torchvision's EfficientNet: needs torchvision (the peers' venv has it)
    torch.manual_seed(1400)
    return export_dynamo.tiny_efficientnet()


# Models of models/export_dynamo.py: name -> (builder, input shape).
EXTRA_MODELS = {"effnet_tiny_fmnist": (tiny_efficientnet, (1, 28, 28))}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("model", choices=sorted(export_models.MODELS) + sorted(EXTRA_MODELS))
    ap.add_argument("--batch", type=int, default=128)
    ap.add_argument("--steps", type=int, default=10)
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--threads", type=int, default=os.cpu_count())
    ap.add_argument("--lr", type=float, default=0.01)
    ap.add_argument("--compile", action="store_true", help="torch.compile the model (inductor)")
    args = ap.parse_args()

    torch.set_num_threads(args.threads)
    if args.model in EXTRA_MODELS:
        build, shape = EXTRA_MODELS[args.model]
    else:
        _, shape, _ = export_models.MODELS[args.model]
        build = lambda: export_models.build_model(args.model)  # noqa: E731
    generator = torch.Generator().manual_seed(12345)
    images = (torch.rand((args.batch,) + tuple(shape), generator=generator) - 0.3) / 0.35
    rss_before = max_rss_bytes()
    model = build().train()
    classes = 10  # every bundled model classifies into Fashion-MNIST's or CIFAR-10's classes
    labels = torch.arange(args.batch) % classes
    optimizer = torch.optim.SGD(model.parameters(), lr=args.lr, momentum=0.9, nesterov=True,
                                weight_decay=1e-4)
    parameters = list(model.parameters())
    parameter_addresses = {storage_key(p)[0] for p in parameters}
    forward = torch.compile(model) if args.compile else model

    def step(saved=None):
        optimizer.zero_grad(set_to_none=True)
        if saved is None:
            loss = F.cross_entropy(forward(images), labels)
        else:
            def pack(t):
                if storage_key(t)[0] not in parameter_addresses:
                    saved.append(t)
                return t
            with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
                loss = F.cross_entropy(model(images), labels)
        loss.backward()
        optimizer.step()
        return loss

    saved = []
    step(None if args.compile else saved)
    saved_bytes = storage_bytes(saved)
    del saved
    parameter_bytes = storage_bytes(parameters)
    gradient_bytes = storage_bytes([p.grad for p in parameters if p.grad is not None])
    momentum_bytes = storage_bytes([s["momentum_buffer"] for s in optimizer.state.values()
                                    if s.get("momentum_buffer") is not None])
    buffer_bytes = storage_bytes([b for b in model.buffers() if b.is_floating_point()])
    total = saved_bytes + parameter_bytes + gradient_bytes + momentum_bytes

    for _ in range(max(args.warmup - 1, 0)):
        step()
    times = []
    for _ in range(args.steps):
        start = time.perf_counter()
        step()
        times.append(time.perf_counter() - start)
    rss_delta = max_rss_bytes() - rss_before
    unknown = args.compile  # the hooks saw nothing inside the compiled graph
    print("%s\tpytorch\t%d\t%d\t%.3f\t%.3f\t%.3f\t%s\t%d\t%d\t%d\t%d\t%s\t%d" % (
        args.model, args.batch, args.steps, 1e3 * statistics.median(times), 1e3 * min(times),
        1e3 * max(times), "-" if unknown else saved_bytes, parameter_bytes, gradient_bytes,
        momentum_bytes, buffer_bytes, "-" if unknown else total, rss_delta))


if __name__ == "__main__":
    main()
