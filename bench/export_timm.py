#!/usr/bin/env python3
"""Exports timm networks as a user of PyTorch 2.9 or later would for infopro: 10 classes, training
mode, torch.export (the default exporter of torch.onnx.export) with optimize=False, a dynamic
batch, 64x64 inputs (img_size=64 where the model takes one), the weights inside the file. A name
"tv.NAME" is torchvision's classification model NAME instead (image_size=64 where it takes one).

    python3 bench/export_timm.py OUT_DIR MODEL...

Prints one line per model: "wrote PATH BYTES", "CREATE FAILED ..." or "EXPORT FAILED ...".
Benchmark tool (needs torch, timm and onnxscript from PyPI); the test suite never needs Python."""
import copy
import os
import sys
import warnings

import timm
import torch

warnings.filterwarnings("ignore")


def main():
    out, names = sys.argv[1], sys.argv[2:]
    os.makedirs(out, exist_ok=True)
    torch.manual_seed(0)
    for name in names:
        model, error = None, None
        torchvision = name.startswith("tv.")
        for kwargs in (dict(image_size=64) if torchvision else dict(img_size=64), dict()):
            try:
                if torchvision:
                    import torchvision.models
                    model = torchvision.models.get_model(name[3:], weights=None, num_classes=10,
                                                         **kwargs)
                else:
                    model = timm.create_model(name, pretrained=False, num_classes=10, **kwargs)
                break
            except Exception as e:  # the model takes no img_size, or no such model
                error = e
        if model is None:
            print("CREATE FAILED", name, type(error).__name__, str(error)[:200], flush=True)
            continue
        path = os.path.join(out, name + ".onnx")
        try:
            batch = torch.export.Dim("batch", min=1, max=1024)
            torch.onnx.export(copy.deepcopy(model.train()), (torch.randn(2, 3, 64, 64),), path,
                              dynamo=True, optimize=False, input_names=["input"],
                              output_names=["logits"], dynamic_shapes={"x": {0: batch}},
                              external_data=False)
            print("wrote", path, os.path.getsize(path), flush=True)
        except Exception as e:
            print("EXPORT FAILED", name, type(e).__name__,
                  str(e)[:300].replace("\n", " "), flush=True)


if __name__ == "__main__":
    main()
