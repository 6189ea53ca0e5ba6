#!/usr/bin/env python3
"""Export one small CNN twice as a user of PyTorch 2.9 or later would: with the default exporter
of torch.onnx.export (torch.export based, "dynamo"), a dynamic batch, the weights written inside
the file. Unlike export_models.py's files (the TorchScript exporter in training form), this
exporter writes BatchNormalization in inference form:
- cnn_dynamo_fmnist.onnx: everything else at its defaults; the exporter's optimisation folds each
  BatchNormalization into its convolution (the network infopro gets has none), and Dropout keeps
  its ratio and training_mode as initializers;
- cnn_dynamo_bn_fmnist.onnx: optimize=False, what the README recommends: the BatchNormalizations
  stay (infopro trains them in training form and writes their running statistics back), each
  absent convolution bias is built as Expand(CastLike(0.0, x), Shape(W)[0:1]) and ReduceMean's
  axes as a Reshape of a Constant, which infopro folds;
- mixer_dynamo_fmnist.onnx: a small token-mixing network (TinyMixer below) with LayerNormalization
  and Gelu, optimize=False.
- cnn_eval_fmnist.onnx and cnn_eval_copies_fmnist.onnx: export_for_inference below;
- mlp_shared_dynamo_fmnist.onnx: export_shared_parameter below;
- effnet_tiny_fmnist.onnx and effnet_tiny_dynamo_fmnist.onnx: export_stochastic_depth below;
- split_cnn_fmnist.onnx, split_cnn_dynamo_fmnist.onnx, split_cnn_sequence_fmnist.onnx:
  export_split below;
- group_norm_cnn_fmnist.onnx and group_norm_cnn_dynamo_fmnist.onnx: export_group_norm below;
- convnext_head_dynamo_fmnist.onnx: export_as_strided below;
- vit_tiny_fmnist.onnx: export_vit below.
- swin_tiny_fmnist.onnx: export_swin below.
- masked_attention_dynamo_fmnist.onnx: export_masked_attention below (buffers: a causal mask).
The tests train and run them like any bundled model.

Developer tool, run from the repository root with a Python that has torch (2.9 or later),
torchvision and onnxscript from PyPI (Debian's python3-torch is older and has no such exporter):

    python3 models/export_dynamo.py              # all of them
    python3 models/export_dynamo.py --only eval  # export_for_inference's two
    python3 models/export_dynamo.py --only shared  # export_shared_parameter's
    python3 models/export_dynamo.py --only stochastic-depth  # export_stochastic_depth's
    python3 models/export_dynamo.py --only split  # export_split's
    python3 models/export_dynamo.py --only group-norm  # export_group_norm's
    python3 models/export_dynamo.py --only as-strided  # export_as_strided's
    python3 models/export_dynamo.py --only vit  # export_vit's
    python3 models/export_dynamo.py --only swin  # export_swin's
    python3 models/export_dynamo.py --only rms-norm  # export_rms_norm's
    python3 models/export_dynamo.py --only masked-attention  # export_masked_attention's
    python3 models/export_dynamo.py --only smooth-activations  # export_smooth_activations's
    python3 models/export_dynamo.py --only recurrent  # export_recurrent's

Writes models/NAME.onnx and models/golden/NAME_forward.ipgd ("input": 2 images, "logits": the
model's output in eval mode, computed by PyTorch) for both."""
import copy
import math
import os
import sys

import torch
import torch.nn as nn

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from export_models import (  # noqa: E402
    GOLDEN_DIR, forward_input, randomize_bn, setup_determinism, write_ipgd)


class Block(nn.Module):
    def __init__(self, cin, cout, stride):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.shortcut = nn.Sequential()
        if stride != 1 or cin != cout:
            self.shortcut = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False),
                                          nn.BatchNorm2d(cout))

    def forward(self, x):
        y = torch.relu(self.bn1(self.conv1(x)))
        return torch.relu(self.bn2(self.conv2(y)) + self.shortcut(x))


class SmallCNN(nn.Module):
    def __init__(self):
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(1, 16, 3, 1, 1, bias=False), nn.BatchNorm2d(16),
                                  nn.ReLU())
        self.block1 = Block(16, 16, 1)
        self.block2 = Block(16, 32, 2)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.drop = nn.Dropout(0.1)
        self.fc = nn.Linear(32, 10)

    def forward(self, x):
        x = self.pool(self.block2(self.block1(self.stem(x))))
        return self.fc(self.drop(x.view(x.size(0), -1)))


class TinyMixer(nn.Module):
    """Patches of 4x4 as 49 tokens of 16 features, one pre-norm MLP block with GELU and a
    residual, tokens averaged, a final LayerNorm and a linear classifier: LayerNormalization,
    Gelu, MatMul on 3-D activations and Transpose as such exporters write them."""

    def __init__(self):
        super().__init__()
        self.patches = nn.Conv2d(1, 16, 4, 4)
        self.norm1 = nn.LayerNorm(16)
        self.fc1 = nn.Linear(16, 32)
        self.fc2 = nn.Linear(32, 16)
        self.norm2 = nn.LayerNorm(16)
        self.head = nn.Linear(16, 10)

    def forward(self, x):
        t = self.patches(x).flatten(2).transpose(1, 2)
        t = t + self.fc2(torch.nn.functional.gelu(self.fc1(self.norm1(t))))
        return self.head(self.norm2(t.mean(1)))


EXPORTS = {"cnn_dynamo_fmnist": (SmallCNN, {}),
           "cnn_dynamo_bn_fmnist": (SmallCNN, {"optimize": False}),
           "mixer_dynamo_fmnist": (TinyMixer, {"optimize": False})}


def export_for_inference():
    """SmallCNN freshly initialised, exported in inference form by the TorchScript exporter, as a
    user exporting model.eval() with the defaults gets it: each BatchNormalization folded into its
    convolution, whose biases are then all zero, and equal initializers deduplicated, every
    duplicate an Identity of the first (cnn_eval_fmnist.onnx). cnn_eval_copies_fmnist.onnx is the
    same file with each such Identity replaced by an initializer holding the copy, done by the
    onnx package: the network as PyTorch holds it, with separate parameters, which infopro must
    train exactly as it trains the deduplicated file."""
    import onnx
    torch.manual_seed(1200)
    model = SmallCNN().eval()
    x = forward_input((1, 28, 28))
    with torch.no_grad():
        logits = model(x)
    path = os.path.join(HERE, "cnn_eval_fmnist.onnx")
    torch.onnx.export(model, (torch.rand(2, 1, 28, 28),), path, dynamo=False,
                      input_names=["input"], output_names=["logits"],
                      dynamic_axes={"input": {0: "batch"}, "logits": {0: "batch"}})
    deduplicated = onnx.load(path)
    graph = deduplicated.graph
    values = {t.name: t for t in graph.initializer}
    copies = [n for n in graph.node if n.op_type == "Identity" and n.input[0] in values]
    assert len(copies) >= 2, "the exporter deduplicated fewer initializers than expected"
    for node in copies:
        copy = onnx.TensorProto()
        copy.CopyFrom(values[node.input[0]])
        copy.name = node.output[0]
        graph.initializer.append(copy)
        graph.node.remove(node)
    onnx.checker.check_model(deduplicated)
    onnx.save(deduplicated, os.path.join(HERE, "cnn_eval_copies_fmnist.onnx"))
    for name in ("cnn_eval_fmnist", "cnn_eval_copies_fmnist"):
        write_ipgd(os.path.join(GOLDEN_DIR, name + "_forward.ipgd"),
                   [("input", x.numpy()), ("logits", logits.numpy())])
    print("%s: %d Identity copies of initializers" % (path, len(copies)))


class TiedMLP(nn.Module):
    """Two hidden layers that start equal (b copies a): the exporter's default optimisation
    deduplicates equal initializers, so both Gemms read one weight and one bias."""

    def __init__(self):
        super().__init__()
        self.stem = nn.Linear(784, 32)
        self.a = nn.Linear(32, 32)
        self.b = nn.Linear(32, 32)
        self.head = nn.Linear(32, 10)
        with torch.no_grad():
            self.b.weight.copy_(self.a.weight)
            self.b.bias.copy_(self.a.bias)

    def forward(self, x):
        x = torch.relu(self.stem(x.flatten(1)))
        return self.head(torch.relu(self.b(torch.relu(self.a(x)))))


def export_shared_parameter():
    """mlp_shared_dynamo_fmnist.onnx: TiedMLP with the defaults of torch.onnx.export, whose
    optimisation leaves one parameter read by two nodes, which no cut may separate."""
    import onnx
    torch.manual_seed(1300)
    model = TiedMLP()
    x = forward_input((1, 28, 28))
    with torch.no_grad():
        logits = model(x)
    path = os.path.join(HERE, "mlp_shared_dynamo_fmnist.onnx")
    torch.onnx.export(model.train(), (torch.rand(2, 1, 28, 28),), path, input_names=["input"],
                      output_names=["logits"], dynamic_shapes={"x": {0: torch.export.Dim("batch")}},
                      external_data=False)
    graph = onnx.load(path).graph
    readers = sum(1 for n in graph.node if "a.weight" in n.input)
    assert readers == 2, "the exporter did not share a.weight (%d readers)" % readers
    write_ipgd(os.path.join(GOLDEN_DIR, "mlp_shared_dynamo_fmnist_forward.ipgd"),
               [("input", x.numpy()), ("logits", logits.numpy())])
    print("%s: a.weight read by %d nodes" % (path, readers))


def tiny_efficientnet():
    """torchvision's EfficientNet built from three small MBConv stages (squeeze-and-excitation,
    SiLU, stochastic depth 0.3, dropout 0.1) on one 28x28 channel."""
    from functools import partial

    from torchvision.models.efficientnet import EfficientNet, MBConvConfig
    stage = partial(MBConvConfig, width_mult=1.0, depth_mult=1.0)
    setting = [stage(1, 3, 1, 16, 16, 1), stage(4, 3, 2, 16, 24, 2), stage(4, 3, 2, 24, 32, 2)]
    model = EfficientNet(setting, dropout=0.1, stochastic_depth_prob=0.3, num_classes=10,
                         last_channel=64)
    model.features[0][0] = nn.Conv2d(1, 16, 3, 1, 1, bias=False)
    return model


def export_stochastic_depth():
    """effnet_tiny_fmnist.onnx (the TorchScript exporter, training form) and
    effnet_tiny_dynamo_fmnist.onnx (torch.export, optimize=False): tiny_efficientnet in training
    mode, whose stochastic depth (and, from torch.export, dropout) the exporters write as
    RandomUniformLike, Less, Cast and Div; the golden is PyTorch's eval-mode output, where they
    keep every branch whole."""
    torch.manual_seed(1400)
    model = tiny_efficientnet()
    randomize_bn(model, 2400)
    x = forward_input((1, 28, 28))
    model.eval()
    with torch.no_grad():
        logits = model(x)
    model.train()
    sample = torch.rand(2, 1, 28, 28)
    # Tracing in training mode runs the model, which moves the BatchNorm running statistics:
    # each exporter gets a copy, so that both files hold the state the golden was computed from.
    ts_path = os.path.join(HERE, "effnet_tiny_fmnist.onnx")
    torch.onnx.export(copy.deepcopy(model), sample, ts_path, dynamo=False,
                      training=torch.onnx.TrainingMode.TRAINING, do_constant_folding=False,
                      input_names=["input"], output_names=["logits"],
                      dynamic_axes={"input": {0: "batch"}, "logits": {0: "batch"}})
    dynamo_path = os.path.join(HERE, "effnet_tiny_dynamo_fmnist.onnx")
    torch.onnx.export(copy.deepcopy(model), (sample,), dynamo_path, input_names=["input"],
                      output_names=["logits"], dynamic_shapes={"x": {0: torch.export.Dim("batch")}},
                      optimize=False, external_data=False)
    state = model.state_dict()
    for path in (ts_path, dynamo_path):
        # the copies' moved statistics replaced by the golden's state, by state_dict name
        import onnx
        from onnx import numpy_helper
        exported = onnx.load(path)
        restored = 0
        for init in exported.graph.initializer:
            if init.name in state:
                value = state[init.name].detach().numpy()
                init.CopyFrom(numpy_helper.from_array(value.astype(value.dtype), init.name))
                restored += 1
        assert restored > 0, "%s: no initializer is named after the model's state" % path
        onnx.checker.check_model(exported)
        onnx.save(exported, path)
        name = os.path.basename(path)[:-len(".onnx")]
        write_ipgd(os.path.join(GOLDEN_DIR, name + "_forward.ipgd"),
                   [("input", x.numpy()), ("logits", logits.numpy())])
        print("%s: %d bytes, logits[0,:3] = %s" % (path, os.path.getsize(path),
                                                  logits[0, :3].tolist()))


class SplitCNN(nn.Module):
    """torch.split and torch.chunk on channels, as CSP and ShuffleNet blocks use them: a
    convolution's 16 channels split 8 + 8, the second half convolved again, both joined, then
    chunked in two and joined in swapped order."""

    def __init__(self):
        super().__init__()
        self.stem = nn.Conv2d(1, 16, 3, padding=1)
        self.branch = nn.Conv2d(8, 8, 3, padding=1)
        self.fc = nn.Linear(16, 10)

    def forward(self, x):
        y = torch.relu(self.stem(x))
        a, b = y.split([8, 8], dim=1)
        z = torch.cat([a, torch.relu(self.branch(b))], 1)
        u, v = z.chunk(2, dim=1)
        return self.fc(torch.cat([v, u], 1).mean((2, 3)))


def export_split():
    """split_cnn_fmnist.onnx (the TorchScript exporter: Split, and Slices for the chunk),
    split_cnn_dynamo_fmnist.onnx (torch.export with its defaults: two Splits) and
    split_cnn_sequence_fmnist.onnx (torch.export with optimize=False: SplitToSequence read by
    SequenceAt, by extents and by one chunk size), with the same PyTorch golden."""
    torch.manual_seed(1500)
    model = SplitCNN()
    x = forward_input((1, 28, 28))
    with torch.no_grad():
        logits = model(x)
    sample = torch.rand(2, 1, 28, 28)
    ts_path = os.path.join(HERE, "split_cnn_fmnist.onnx")
    torch.onnx.export(model.train(), sample, ts_path, dynamo=False,
                      training=torch.onnx.TrainingMode.TRAINING, do_constant_folding=False,
                      input_names=["input"], output_names=["logits"],
                      dynamic_axes={"input": {0: "batch"}, "logits": {0: "batch"}})
    dynamo_path = os.path.join(HERE, "split_cnn_dynamo_fmnist.onnx")
    torch.onnx.export(model.train(), (sample,), dynamo_path, input_names=["input"],
                      output_names=["logits"], dynamic_shapes={"x": {0: torch.export.Dim("batch")}},
                      external_data=False)
    sequence_path = os.path.join(HERE, "split_cnn_sequence_fmnist.onnx")
    torch.onnx.export(model.train(), (sample,), sequence_path, input_names=["input"],
                      output_names=["logits"], dynamic_shapes={"x": {0: torch.export.Dim("batch")}},
                      optimize=False, external_data=False)
    for path in (ts_path, dynamo_path, sequence_path):
        name = os.path.basename(path)[:-len(".onnx")]
        write_ipgd(os.path.join(GOLDEN_DIR, name + "_forward.ipgd"),
                   [("input", x.numpy()), ("logits", logits.numpy())])
        print("%s: %d bytes" % (path, os.path.getsize(path)))


class GroupNormCNN(nn.Module):
    """GroupNorm (4 groups of 4 channels) after one convolution, InstanceNorm2d (affine) after the
    next: both written by the TorchScript exporter as InstanceNormalization, GroupNorm's between
    two Reshapes."""

    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 16, 3, padding=1)
        self.group = nn.GroupNorm(4, 16)
        self.conv2 = nn.Conv2d(16, 16, 3, padding=1)
        self.instance = nn.InstanceNorm2d(16, affine=True)
        self.fc = nn.Linear(16, 10)

    def forward(self, x):
        y = torch.relu(self.group(self.conv1(x)))
        y = torch.relu(self.instance(self.conv2(y)))
        return self.fc(y.mean((2, 3)))


def export_group_norm():
    """group_norm_cnn_fmnist.onnx: GroupNormCNN from the TorchScript exporter, its norms'
    weights drawn away from their initial ones and zeros; group_norm_cnn_dynamo_fmnist.onnx: the
    same from torch.export with optimize=False (as the README recommends), which writes each
    norm's affine part as Unsqueeze(weight, Range(1, rank - 1, 1)): a Range infopro folds."""
    torch.manual_seed(1600)
    model = GroupNormCNN()
    with torch.no_grad():
        for norm in (model.group, model.instance):
            norm.weight.uniform_(0.5, 1.5)
            norm.bias.normal_(0.0, 0.1)
    x = forward_input((1, 28, 28))
    with torch.no_grad():
        logits = model(x)
    path = os.path.join(HERE, "group_norm_cnn_fmnist.onnx")
    torch.onnx.export(model.train(), torch.rand(2, 1, 28, 28), path, dynamo=False,
                      training=torch.onnx.TrainingMode.TRAINING, do_constant_folding=False,
                      input_names=["input"], output_names=["logits"],
                      dynamic_axes={"input": {0: "batch"}, "logits": {0: "batch"}})
    dynamo_path = os.path.join(HERE, "group_norm_cnn_dynamo_fmnist.onnx")
    torch.onnx.export(model.train(), (torch.rand(2, 1, 28, 28),), dynamo_path,
                      input_names=["input"], output_names=["logits"],
                      dynamic_shapes={"x": {0: torch.export.Dim("batch")}}, optimize=False,
                      external_data=False)
    for written in (path, dynamo_path):
        name = os.path.basename(written)[:-len(".onnx")]
        write_ipgd(os.path.join(GOLDEN_DIR, name + "_forward.ipgd"),
                   [("input", x.numpy()), ("logits", logits.numpy())])
        print("%s: %d bytes" % (written, os.path.getsize(written)))


class ConvNeXtHead(nn.Module):
    """ConvNeXt's pattern at the end of a network: a linear layer on channels-last features
    (permuted there and back, as its blocks do), global average pooling, then torchvision's
    LayerNorm2d (permuted again) before the classifier. torch.export writes the pooled
    channels-last tensor's permutation as as_strided: a Gather from the flattened tensor at
    indices it computes from Ranges (a permutation; in order, here), which ConvNeXt-T's export
    has too."""

    def __init__(self):
        super().__init__()
        from torchvision.models.convnext import LayerNorm2d
        self.conv = nn.Conv2d(1, 16, 3, padding=1)
        self.mix = nn.Linear(16, 16)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.head = nn.Sequential(LayerNorm2d(16), nn.Flatten(1), nn.Linear(16, 10))

    def forward(self, x):
        y = torch.relu(self.conv(x))
        y = self.mix(y.permute(0, 2, 3, 1)).permute(0, 3, 1, 2)
        return self.head(self.pool(y))


def export_as_strided():
    """convnext_head_dynamo_fmnist.onnx: ConvNeXtHead from torch.export with optimize=False, as
    the README recommends (its optimisation would fold the linear layer's transposed weight into a
    new initializer that the trained file then holds instead of mix.weight)."""
    torch.manual_seed(1700)
    model = ConvNeXtHead()
    with torch.no_grad():
        model.head[0].weight.uniform_(0.5, 1.5)
        model.head[0].bias.normal_(0.0, 0.1)
    x = forward_input((1, 28, 28))
    with torch.no_grad():
        logits = model(x)
    path = os.path.join(HERE, "convnext_head_dynamo_fmnist.onnx")
    torch.onnx.export(model.train(), (torch.rand(2, 1, 28, 28),), path, input_names=["input"],
                      output_names=["logits"], dynamic_shapes={"x": {0: torch.export.Dim("batch")}},
                      optimize=False, external_data=False)
    write_ipgd(os.path.join(GOLDEN_DIR, "convnext_head_dynamo_fmnist_forward.ipgd"),
               [("input", x.numpy()), ("logits", logits.numpy())])
    print("%s: %d bytes" % (path, os.path.getsize(path)))


def export_torchscript_training(model, path, opset=None):
    """model in training mode by the TorchScript exporter, nothing folded, the batch symbolic."""
    options = {} if opset is None else {"opset_version": opset}
    torch.onnx.export(model.train(), torch.rand(2, 1, 28, 28), path, dynamo=False,
                      training=torch.onnx.TrainingMode.TRAINING, do_constant_folding=False,
                      input_names=["input"], output_names=["logits"],
                      dynamic_axes={"input": {0: "batch"}, "logits": {0: "batch"}}, **options)


def export_torch_export_with_logits(model, name, optimize=False):
    """models/NAME.onnx: model from torch.export (export_torch_export_stripped), and its logits on
    forward_input as golden/NAME_forward.ipgd."""
    x = forward_input((1, 28, 28))
    with torch.no_grad():
        logits = model(x)
    path = os.path.join(HERE, name + ".onnx")
    export_torch_export_stripped(model, path, optimize)
    write_ipgd(os.path.join(GOLDEN_DIR, name + "_forward.ipgd"),
               [("input", x.numpy()), ("logits", logits.numpy())])
    print("%s: %d bytes" % (path, os.path.getsize(path)))


class TinyViT(nn.Module):
    """torchvision's VisionTransformer at Fashion-MNIST's size: a 7x7 patch convolution (one
    channel in), the class token, and torchvision's own Encoder (one layer, two heads), whose
    TorchScript export computes its shapes with Equal, Where and Mod."""

    def __init__(self):
        super().__init__()
        from torchvision.models.vision_transformer import Encoder
        self.conv_proj = nn.Conv2d(1, 16, 7, stride=7)
        self.embed = nn.Module()  # the class token as a module's parameter: "embed.class_token"
        self.embed.class_token = nn.Parameter(torch.zeros(1, 1, 16))
        self.encoder = Encoder(17, 1, 2, 16, 32, 0.0, 0.0)
        self.heads = nn.Linear(16, 10)

    def forward(self, x):
        x = self.conv_proj(x).reshape(x.shape[0], 16, 16).permute(0, 2, 1)
        x = torch.cat([self.embed.class_token.expand(x.shape[0], -1, -1), x], dim=1)
        return self.heads(self.encoder(x)[:, 0])


def export_vit():
    """vit_tiny_fmnist.onnx: TinyViT from the TorchScript exporter in training mode, and
    vit_tiny_opset14_fmnist.onnx the same at opset 14 (the oldest with attention), where the
    exporter spells LayerNorm out (ReduceMean, Sub, Pow, Sqrt, Div) and GELU with Erf."""
    torch.manual_seed(1800)
    model = TinyViT()
    with torch.no_grad():
        model.embed.class_token.normal_(0.0, 0.5)
    x = forward_input((1, 28, 28))
    with torch.no_grad():
        logits = model.eval()(x)
    path = os.path.join(HERE, "vit_tiny_fmnist.onnx")
    export_torchscript_training(model, path)
    opset14_path = os.path.join(HERE, "vit_tiny_opset14_fmnist.onnx")
    export_torchscript_training(model, opset14_path, opset=14)
    for name in ("vit_tiny_fmnist", "vit_tiny_opset14_fmnist"):
        write_ipgd(os.path.join(GOLDEN_DIR, name + "_forward.ipgd"),
                   [("input", x.numpy()), ("logits", logits.numpy())])
    for p in (path, opset14_path):
        print("%s: %d bytes" % (p, os.path.getsize(p)))


def export_torch_export_stripped(model, path, optimize=False):
    """model (in training mode) to path with the torch.export-based exporter and a dynamic batch,
    each node's metadata (its Python stack trace, most of such a file) dropped."""
    import onnx
    torch.onnx.export(model.train(), (torch.rand(2, 1, 28, 28),), path, input_names=["input"],
                      output_names=["logits"], dynamic_shapes={"x": {0: torch.export.Dim("batch")}},
                      optimize=optimize, external_data=False)
    exported = onnx.load(path)
    for node in exported.graph.node:
        del node.metadata_props[:]
    onnx.save(exported, path)


def tiny_swin():
    """torchvision's SwinTransformer at Fashion-MNIST's size: 4x4 patches of one channel (7x7
    tokens of 16 features), windows of 4 (padded to 8x8, the second block's shifted by 2, its
    mask built from zeros with slice assignments), patch merging (strided slices) to 4x4 tokens of
    32, one block there, and the relative position bias tables read at repeated indices."""
    from torchvision.models.swin_transformer import SwinTransformer
    model = SwinTransformer(patch_size=[4, 4], embed_dim=16, depths=[2, 1], num_heads=[1, 2],
                            window_size=[4, 4], stochastic_depth_prob=0.0, num_classes=10)
    model.features[0][0] = nn.Conv2d(1, 16, kernel_size=4, stride=4)
    with torch.no_grad():  # tables start at zero in torchvision; random here, so they matter
        for name, p in model.named_parameters():
            if name.endswith("relative_position_bias_table"):
                p.normal_(0.0, 0.5)
    return model


def export_swin():
    """swin_tiny_fmnist.onnx: tiny_swin from the TorchScript exporter in training mode, and
    swin_tiny_dynamo_fmnist.onnx the same from torch.export without its optimisation (the bias
    tables read with GatherND at indices it expands from the Max of the index)."""
    torch.manual_seed(1900)
    model = tiny_swin()
    x = forward_input((1, 28, 28))
    with torch.no_grad():
        logits = model.eval()(x)
    path = os.path.join(HERE, "swin_tiny_fmnist.onnx")
    export_torchscript_training(model, path)
    dynamo_path = os.path.join(HERE, "swin_tiny_dynamo_fmnist.onnx")
    export_torch_export_stripped(model, dynamo_path)  # the stack traces were 90% of the file
    for name in ("swin_tiny_fmnist", "swin_tiny_dynamo_fmnist"):
        write_ipgd(os.path.join(GOLDEN_DIR, name + "_forward.ipgd"),
                   [("input", x.numpy()), ("logits", logits.numpy())])
    for p in (path, dynamo_path):
        print("%s: %d bytes" % (p, os.path.getsize(p)))


class RMSNormMixer(nn.Module):
    """Tokens of 7x7 patches (16 features) through a residual MLP between torch's RMSNorms, the
    mean of the tokens and a classifier. torch.export writes RMSNorm's rsqrt as Sqrt then
    Reciprocal, and its square as Pow by 2."""

    def __init__(self):
        super().__init__()
        self.proj = nn.Conv2d(1, 16, 7, stride=7)
        self.norm = nn.RMSNorm(16)
        self.mix = nn.Linear(16, 16)
        self.norm2 = nn.RMSNorm(16, eps=1e-6)
        self.fc = nn.Linear(16, 10)

    def forward(self, x):
        tokens = self.proj(x).flatten(2).transpose(1, 2)
        tokens = tokens + torch.relu(self.mix(self.norm(tokens)))
        return self.fc(self.norm2(tokens).mean(1))


def export_rms_norm():
    """rms_norm_mixer_dynamo_fmnist.onnx: RMSNormMixer from torch.export with optimize=False (the
    TorchScript exporter has no rms_norm), its norms' weights drawn away from their ones; and
    rms_norm_mixer_dynamo_optimized_fmnist.onnx the same with the exporter's default optimisation,
    which leaves the norms' epsilons and Pow's exponent as scalar initializers its graph signature
    does not list as parameters (constants: infopro does not train them)."""
    torch.manual_seed(2000)
    model = RMSNormMixer()
    with torch.no_grad():
        for norm in (model.norm, model.norm2):
            norm.weight.uniform_(0.5, 1.5)
    x = forward_input((1, 28, 28))
    with torch.no_grad():
        logits = model(x)
    for name, optimize in (("rms_norm_mixer_dynamo_fmnist", False),
                           ("rms_norm_mixer_dynamo_optimized_fmnist", True)):
        path = os.path.join(HERE, name + ".onnx")
        export_torch_export_stripped(model, path, optimize)
        write_ipgd(os.path.join(GOLDEN_DIR, name + "_forward.ipgd"),
                   [("input", x.numpy()), ("logits", logits.numpy())])
        print("%s: %d bytes" % (path, os.path.getsize(path)))


class RoundingCNN(nn.Module):
    """A convolution's features through torch.abs, negation, torch.sign, torch.floor and
    torch.ceil, and masks from the comparisons >= and <= made float: the element-wise ops that
    torch.export writes as Abs, Neg, Sign, Floor, Ceil, GreaterOrEqual and LessOrEqual (its
    integer division of index arithmetic is Sign(q) * Floor(Abs(q))). Floor, Ceil, Sign and the
    masks pass no gradient back, as in PyTorch."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(1, 8, 3, stride=2, padding=1)
        self.fc = nn.Linear(8 * 14 * 14, 10)

    def forward(self, x):
        h = self.conv(x)
        magnitude = torch.abs(h) + 0.5 * torch.neg(h)
        steps = (torch.floor(h * 4) + torch.ceil(h * 4)) / 8
        # compared as steps, so that >= and <= meet equality (0 and 2 are among the steps)
        band = (torch.floor(h * 4) >= 0).float() * (torch.ceil(h * 4) <= 2).float()
        features = magnitude + steps + band * h + 0.1 * torch.sign(h)
        return self.fc(features.flatten(1))


def export_rounding():
    """rounding_cnn_dynamo_fmnist.onnx: RoundingCNN from torch.export with optimize=False, and
    its eval-mode logits on forward_input as the golden."""
    torch.manual_seed(2100)
    export_torch_export_with_logits(RoundingCNN(), "rounding_cnn_dynamo_fmnist")


class AdaptivePoolCNN(nn.Module):
    """A convolution's 7x7 map pooled to 5x5 by nn.AdaptiveAvgPool2d, whose windows (of 2 and 3
    rows and columns) do not divide the map and overlap: torch.export writes it as index
    arithmetic (Range, Div, Abs, Floor, Sign, int64 GreaterOrEqual, bool Unsqueeze, all constants)
    and a GatherND of the map transposed to [H, W, N, C] at indices addressing its 2 spatial axes,
    masked to each window's extent (Where) and summed (as VGG and AlexNet pool a map smaller than
    7x7)."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(1, 8, 3, stride=4, padding=1)
        self.pool = nn.AdaptiveAvgPool2d(5)
        self.fc = nn.Linear(8 * 5 * 5, 10)

    def forward(self, x):
        return self.fc(self.pool(torch.relu(self.conv(x))).flatten(1))


class FourierPositionCNN(nn.Module):
    """A convolution's 7x7 map plus a Fourier positional encoding computed as timm's EdgeNeXt
    computes it: rows and columns counted by cumulative sums of a mask of ones the size of the
    batch's maps, scaled, through sin and cos (CumSum, Sin, Cos; constants, folded), projected by
    a 1x1 convolution; then a classifier."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(1, 8, 3, stride=4, padding=1)
        self.position = nn.Conv2d(8, 8, 1)
        self.fc = nn.Linear(8 * 7 * 7, 10)

    def forward(self, x):
        h = torch.relu(self.conv(x))
        ones = torch.ones(h.shape[0], h.shape[2], h.shape[3], device=x.device)
        rows = ones.cumsum(1) / 7.0 * 6.2832
        columns = ones.cumsum(2) / 7.0 * 6.2832
        frequencies = torch.arange(2, dtype=torch.float32, device=x.device) + 1.0
        r = rows[:, :, :, None] * frequencies
        c = columns[:, :, :, None] * frequencies
        encoding = torch.cat([r.sin(), r.cos(), c.sin(), c.cos()], dim=3).permute(0, 3, 1, 2)
        return self.fc((h + self.position(encoding)).flatten(1))


class NormalizedCNN(nn.Module):
    """A convolution's features normalised per position over the channels (F.normalize: an L2
    norm, torch.export's ReduceL2, clamped) and summed over the rows (torch.sum: ReduceSum), as
    timm's EdgeNeXt normalises its attention's queries and keys; then a classifier."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(1, 8, 3, stride=4, padding=1)
        self.fc = nn.Linear(8 * 7, 10)

    def forward(self, x):
        h = nn.functional.normalize(self.conv(x), dim=1)
        return self.fc(torch.sum(h, dim=2).flatten(1))


def export_normalized():
    """normalized_cnn_dynamo_fmnist.onnx: NormalizedCNN from torch.export with optimize=False,
    and its logits as the golden."""
    torch.manual_seed(2400)
    export_torch_export_with_logits(NormalizedCNN(), "normalized_cnn_dynamo_fmnist")


class CbamCNN(nn.Module):
    """A convolution's features through CBAM's channel and spatial attention (Woo et al., "CBAM:
    Convolutional Block Attention Module", 2018): the channels weighted by a shared MLP over their
    spatial mean and maximum, the positions by a 7x7 convolution over the channels' mean and
    maximum; then a classifier over each channel's maximum of the attended features and minimum
    of the convolution's output (torch.amax and torch.amin: ReduceMax and ReduceMin)."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(1, 8, 3, stride=2, padding=1)
        self.mlp = nn.Sequential(nn.Linear(8, 4), nn.ReLU(), nn.Linear(4, 8))
        self.spatial = nn.Conv2d(2, 1, 7, padding=3)
        self.fc = nn.Linear(16, 10)

    def forward(self, x):
        h = self.conv(x)
        a = torch.relu(h)
        channel = self.mlp(a.mean((2, 3))) + self.mlp(torch.amax(a, dim=(2, 3)))
        a = a * torch.sigmoid(channel)[:, :, None, None]
        pooled = torch.cat([a.mean(1, keepdim=True), torch.amax(a, 1, keepdim=True)], 1)
        a = a * torch.sigmoid(self.spatial(pooled))
        return self.fc(torch.cat([torch.amax(a, (2, 3)), torch.amin(h, (2, 3))], 1))


def export_cbam():
    """cbam_cnn_dynamo_fmnist.onnx: CbamCNN from torch.export with optimize=False, and its logits as
    the golden; and golden/reduce_extremum_ties.ipgd: torch.amax's and torch.amin's gradients where
    a slice holds its extremum more than once (PyTorch shares dY among the ties)."""
    torch.manual_seed(2500)
    export_torch_export_with_logits(CbamCNN(), "cbam_cnn_dynamo_fmnist")
    generator = torch.Generator().manual_seed(2501)
    x = torch.randint(0, 3, (2, 3, 4), generator=generator).float().requires_grad_()
    dy_max = torch.rand(2, 1, 4, generator=generator)
    dy_min = torch.rand(2, 4, generator=generator)
    y_max = torch.amax(x, 1, keepdim=True)
    (dx_max,) = torch.autograd.grad(y_max, x, dy_max)
    y_min = torch.amin(x, 1)
    (dx_min,) = torch.autograd.grad(y_min, x, dy_min)
    write_ipgd(os.path.join(GOLDEN_DIR, "reduce_extremum_ties.ipgd"),
               [("x", x.detach().numpy()), ("y_max", y_max.detach().numpy()),
                ("dy_max", dy_max.numpy()), ("dx_max", dx_max.numpy()),
                ("y_min", y_min.detach().numpy()), ("dy_min", dy_min.numpy()),
                ("dx_min", dx_min.numpy())])


class SmoothActivationsCNN(nn.Module):
    """Two convolutions, each before a GroupNorm, whose features pass through the smooth
    activations (ELU, SELU, CELU with alpha 0.5, PReLU with a slope per channel, Softplus, Mish,
    Softsign), torch.exp and torch.log, then are pooled by torch.logsumexp over the map (a soft
    maximum), an L1 norm (torch.linalg.vector_norm) and a product of sigmoids along the rows
    (torch.prod), repeated twice along the features and offset by a learned vector repeated over
    the batch (Tensor.repeat, as XCiT and ConViT use it) and by a constant built in the forward
    pass by assignment into a selection (ConViT's positional indices); then a classifier by
    torch.einsum against a weight (MViTv2's relative positions use it so): ONNX's Elu, Selu, Celu,
    PRelu, Softplus, Mish, Exp, Log, ReduceLogSumExp, ReduceL1, ReduceProd, Tile, ScatterElements
    and Einsum."""

    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 8, 3, stride=2, padding=1)
        self.norm1 = nn.GroupNorm(4, 8)
        self.prelu = nn.PReLU(8, init=0.3)
        self.conv2 = nn.Conv2d(8, 16, 3, stride=2, padding=1)
        self.norm2 = nn.GroupNorm(4, 16)
        # in a list, so that its name (offset.0) reads as a parameter's in the tests
        self.offset = nn.ParameterList([nn.Parameter(torch.randn(1, 96) * 0.1)])
        self.classes = nn.ParameterList([nn.Parameter(torch.randn(10, 2, 48) * 0.1)])

    def forward(self, x):
        f = nn.functional
        h = self.norm1(self.conv1(x))
        a = (f.elu(h) + f.selu(h) + f.celu(h, 0.5) + self.prelu(h)) / 4
        g = self.norm2(self.conv2(a))
        b = (f.mish(g) + f.softplus(g) + f.softsign(g)) / 3 + torch.exp(-g.abs()) * torch.log(g * g + 1)
        pooled = [torch.logsumexp(b, dim=(2, 3)) - math.log(49),
                  torch.linalg.vector_norm(b, ord=1, dim=(2, 3)) / 49,
                  torch.prod(torch.sigmoid(b), dim=3).mean(2)]
        features = torch.cat(pooled, 1).repeat(1, 2)
        position = torch.zeros(1, 2, 48)
        position[:, 1] = torch.arange(48) / 48
        features = features + self.offset[0].repeat(x.shape[0], 1) + position.flatten(1)
        return torch.einsum("nrf,crf->nc", features.view(-1, 2, 48), self.classes[0])


def export_smooth_activations():
    """smooth_activations_cnn_dynamo_fmnist.onnx: SmoothActivationsCNN from torch.export with
    optimize=False, and its logits as the golden; and golden/reduce_prod_zeros.ipgd: torch.prod's
    gradient along slices holding no zero, one zero and two zeros (the product of the others,
    exactly)."""
    torch.manual_seed(2600)
    export_torch_export_with_logits(SmoothActivationsCNN(), "smooth_activations_cnn_dynamo_fmnist")
    generator = torch.Generator().manual_seed(2601)
    x = torch.rand(3, 4, 2, generator=generator) + 0.5
    x[1, 2, 0] = 0.0
    x[2, 0, 1] = x[2, 3, 1] = 0.0
    x.requires_grad_()
    dy = torch.rand(3, 2, generator=generator)
    y = torch.prod(x, 1)
    (dx,) = torch.autograd.grad(y, x, dy)
    write_ipgd(os.path.join(GOLDEN_DIR, "reduce_prod_zeros.ipgd"),
               [("x", x.detach().numpy()), ("y", y.detach().numpy()), ("dy", dy.numpy()),
                ("dx", dx.numpy())])


class RecurrentCNN(nn.Module):
    """A convolution whose 14 rows of features are a sequence of 14 steps (8 channels x 14
    columns each), read by a bidirectional nn.LSTM, then an nn.GRU, then an nn.RNN with ReLU
    (batch_first, PyTorch's zero initial states), classified from the RNN's mean over the steps
    and the GRU's last state. The TorchScript exporter writes ONNX's LSTM, GRU and RNN
    (activations ["Relu"]), their weights gathered from the parameters by Slice and Concat;
    torch.export writes LSTM and GRU and unrolls the RNN into a MatMul, Add and Relu per step."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(1, 8, 3, stride=2, padding=1)
        self.lstm = nn.LSTM(112, 16, batch_first=True, bidirectional=True)
        self.gru = nn.GRU(32, 16, batch_first=True)
        self.rnn = nn.RNN(16, 12, batch_first=True, nonlinearity="relu")
        self.fc = nn.Linear(28, 10)

    def forward(self, x):
        h = torch.relu(self.conv(x))
        steps = h.permute(0, 2, 1, 3).reshape(x.shape[0], 14, 112)
        a, _ = self.lstm(steps)
        g, last = self.gru(a)
        r, _ = self.rnn(g)
        return self.fc(torch.cat([r.mean(1), last[0]], 1))


def export_recurrent():
    """recurrent_cnn_fmnist.onnx (the TorchScript exporter) and recurrent_cnn_dynamo_fmnist.onnx
    (torch.export, optimize=False) of one RecurrentCNN, and its logits as both goldens."""
    torch.manual_seed(2700)
    model = RecurrentCNN()
    x = forward_input((1, 28, 28))
    with torch.no_grad():
        logits = model(x)
    path = os.path.join(HERE, "recurrent_cnn_fmnist.onnx")
    export_torchscript_training(model, path)
    dynamo_path = os.path.join(HERE, "recurrent_cnn_dynamo_fmnist.onnx")
    export_torch_export_stripped(model, dynamo_path)
    for written in (path, dynamo_path):
        name = os.path.basename(written)[:-len(".onnx")]
        write_ipgd(os.path.join(GOLDEN_DIR, name + "_forward.ipgd"),
                   [("input", x.numpy()), ("logits", logits.numpy())])
        print("%s: %d bytes" % (written, os.path.getsize(written)))


def export_fourier_position():
    """fourier_position_cnn_dynamo_fmnist.onnx: FourierPositionCNN from torch.export with
    optimize=False, and its logits as the golden."""
    torch.manual_seed(2300)
    export_torch_export_with_logits(FourierPositionCNN(), "fourier_position_cnn_dynamo_fmnist")


def export_adaptive_pool():
    """adaptive_pool_cnn_dynamo_fmnist.onnx: AdaptivePoolCNN from torch.export with
    optimize=False, and its logits as the golden."""
    torch.manual_seed(2200)
    export_torch_export_with_logits(AdaptivePoolCNN(), "adaptive_pool_cnn_dynamo_fmnist")


class TokenEmbedding(nn.Module):
    """Each of the 28 rows of an image is a token of 28 pixels, projected to 16 features, plus a
    fixed position table: a buffer, not a parameter."""

    def __init__(self):
        super().__init__()
        self.proj = nn.Linear(28, 16)
        self.register_buffer("position", torch.randn(28, 16) * 0.5)

    def forward(self, x):
        return self.proj(x.view(x.shape[0], 28, 28)) + self.position


class CausalAttention(nn.Module):
    """One attention head whose token i sees tokens 0..i: the scores plus a fixed mask buffer,
    -inf above the diagonal, as causal language models hold theirs."""

    def __init__(self):
        super().__init__()
        self.q = nn.Linear(16, 16)
        self.k = nn.Linear(16, 16)
        self.v = nn.Linear(16, 16)
        self.register_buffer("mask", torch.triu(torch.full((28, 28), float("-inf")), diagonal=1))

    def forward(self, t):
        scores = self.q(t) @ self.k(t).transpose(1, 2) * 0.25 + self.mask
        return t + torch.softmax(scores, -1) @ self.v(t)


class MaskedAttention(nn.Module):
    def __init__(self):
        super().__init__()
        self.embed = TokenEmbedding()
        self.attention = CausalAttention()
        self.fc = nn.Linear(16, 10)

    def forward(self, x):
        return self.fc(self.attention(self.embed(x)).mean(1))


def export_masked_attention():
    """masked_attention_dynamo_fmnist.onnx: MaskedAttention from torch.export with the exporter's
    defaults; its two buffers (embed.position, attention.mask with 378 -inf) are initializers the
    graph signature names BUFFER: constants to infopro, written back as loaded."""
    torch.manual_seed(2100)
    export_torch_export_with_logits(MaskedAttention(), "masked_attention_dynamo_fmnist",
                                    optimize=True)


def main():
    setup_determinism()
    if sys.argv[1:] == ["--only", "rms-norm"]:
        return export_rms_norm()
    if sys.argv[1:] == ["--only", "rounding"]:
        return export_rounding()
    if sys.argv[1:] == ["--only", "adaptive-pool"]:
        return export_adaptive_pool()
    if sys.argv[1:] == ["--only", "fourier-position"]:
        return export_fourier_position()
    if sys.argv[1:] == ["--only", "normalized"]:
        return export_normalized()
    if sys.argv[1:] == ["--only", "cbam"]:
        return export_cbam()
    if sys.argv[1:] == ["--only", "smooth-activations"]:
        return export_smooth_activations()
    if sys.argv[1:] == ["--only", "masked-attention"]:
        return export_masked_attention()
    if sys.argv[1:] == ["--only", "swin"]:
        return export_swin()
    if sys.argv[1:] == ["--only", "as-strided"]:
        return export_as_strided()
    if sys.argv[1:] == ["--only", "vit"]:
        return export_vit()
    if sys.argv[1:] == ["--only", "eval"]:
        return export_for_inference()
    if sys.argv[1:] == ["--only", "recurrent"]:
        return export_recurrent()
    if sys.argv[1:] == ["--only", "shared"]:
        return export_shared_parameter()
    if sys.argv[1:] == ["--only", "stochastic-depth"]:
        return export_stochastic_depth()
    if sys.argv[1:] == ["--only", "split"]:
        return export_split()
    if sys.argv[1:] == ["--only", "group-norm"]:
        return export_group_norm()
    export_for_inference()
    export_shared_parameter()
    export_stochastic_depth()
    export_split()
    export_group_norm()
    export_as_strided()
    export_vit()
    export_swin()
    export_rms_norm()
    export_rounding()
    export_adaptive_pool()
    export_fourier_position()
    export_normalized()
    export_cbam()
    export_smooth_activations()
    export_recurrent()
    export_masked_attention()
    for name, (build, options) in EXPORTS.items():
        torch.manual_seed(1100)
        model = build()
        randomize_bn(model, 2100)
        x = forward_input((1, 28, 28))
        model.eval()
        with torch.no_grad():
            logits = model(x)
        path = os.path.join(HERE, name + ".onnx")
        model.train()
        torch.onnx.export(model, (torch.rand(2, 1, 28, 28),), path, input_names=["input"],
                          output_names=["logits"],
                          dynamic_shapes={"x": {0: torch.export.Dim("batch")}},
                          external_data=False, **options)
        write_ipgd(os.path.join(GOLDEN_DIR, name + "_forward.ipgd"),
                   [("input", x.numpy()), ("logits", logits.numpy())])
        print("%s: %d bytes, torch %s, logits[0,:3] = %s" % (
            path, os.path.getsize(path), torch.__version__, logits[0, :3].tolist()))


if __name__ == "__main__":
    main()
