#!/usr/bin/python3
"""Export the ONNX networks used by infopro's tests and demos, and their goldens.

Developer tool, run from the repository root with Debian's Python (torch 1.13,
onnx 1.12; CPU only):

    /usr/bin/python3 models/export_models.py           # export + write goldens
    /usr/bin/python3 models/export_models.py --check   # read back and verify
    /usr/bin/python3 models/export_models.py --only infopro-losses  # one golden
    /usr/bin/python3 models/export_models.py --only decoder-step
    /usr/bin/python3 models/export_models.py --only frozen-train
    /usr/bin/python3 models/export_models.py --only frozen-statistics

Files written (all into models/):

    <model>.onnx                    exported in ONNX *training* form
    golden/<model>_forward.ipgd     "input" (2 images) and eval-mode "logits"
    golden/resnet8_fmnist_train.ipgd  two SGD steps of resnet8_fmnist (see
                                    write_train_golden for the tensor names)
    golden/infopro_losses.ipgd      SupCon, BCE and bilinear upsampling with
                                    their gradients (infopro_loss_tensors);
                                    written alone with --only infopro-losses
    golden/decoder_step.ipgd        a first module's reconstruction step with
                                    either decoder: loss and gradients
                                    (decoder_step_tensors); --only decoder-step
    golden/resnet8_fmnist_frozen_train.ipgd  the two SGD steps with the stem and
                                    first block frozen (frozen_train_tensors);
                                    --only frozen-train
    golden/resnet8_fmnist_frozen_statistics_train.ipgd  the two SGD steps with
                                    layer2's BatchNorms in eval mode
                                    (frozen_statistics_tensors); --only
                                    frozen-statistics

Golden file format "IPGD" (little-endian):

    uint32 magic = 0x44475049 (bytes 'I','P','G','D')
    uint32 version = 1
    uint32 tensor_count
    repeat tensor_count times:
        uint32 name_length, name bytes (UTF-8, no terminator)
        uint32 rank, rank x int64 dims
        float32 data (product of dims, row-major)

Notes on the state that goes into the ONNX files
------------------------------------------------
torch.onnx.export in TrainingMode.TRAINING traces the model in train mode, i.e.
it runs one real forward pass, which updates the BatchNorm running statistics
(and num_batches_tracked) of the module being exported, and the exported
initializers then hold those updated values. To keep the file equal to the
state we chose, we export a deep copy of the model and afterwards overwrite
every initializer of the file with the corresponding tensor of the untouched
model (the names are the PyTorch state_dict keys). All goldens are computed
from that same untouched state; --check reloads the weights *from the ONNX
files* and recomputes every golden.
"""

import argparse
import copy
import os
import struct
import sys

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

import onnx
from onnx import numpy_helper

HERE = os.path.dirname(os.path.abspath(__file__))
GOLDEN_DIR = os.path.join(HERE, "golden")

IPGD_MAGIC = 0x44475049  # b"IPGD" read as a little-endian uint32
IPGD_VERSION = 1
MAX_ONNX_BYTES = 10 * 1024 * 1024

# --------------------------------------------------------------------------
# IPGD reader / writer
# --------------------------------------------------------------------------


def write_ipgd(path, tensors):
    """tensors: list of (name, numpy array); data is stored as float32."""
    names = [n for n, _ in tensors]
    if len(set(names)) != len(names):
        raise ValueError("duplicate tensor names in %s" % path)
    with open(path, "wb") as f:
        f.write(struct.pack("<III", IPGD_MAGIC, IPGD_VERSION, len(tensors)))
        for name, arr in tensors:
            arr = np.ascontiguousarray(np.asarray(arr, dtype=np.float32))
            nb = name.encode("utf-8")
            f.write(struct.pack("<I", len(nb)))
            f.write(nb)
            f.write(struct.pack("<I", arr.ndim))
            if arr.ndim:
                f.write(struct.pack("<%dq" % arr.ndim, *arr.shape))
            f.write(arr.astype("<f4").tobytes(order="C"))


def read_ipgd(path):
    """Returns an ordered list of (name, float32 numpy array)."""
    with open(path, "rb") as f:
        data = f.read()
    off = 0

    def take(fmt):
        nonlocal off
        size = struct.calcsize(fmt)
        if off + size > len(data):
            raise ValueError("%s: truncated" % path)
        vals = struct.unpack_from(fmt, data, off)
        off += size
        return vals

    magic, version, count = take("<III")
    if magic != IPGD_MAGIC:
        raise ValueError("%s: bad magic 0x%08x" % (path, magic))
    if version != IPGD_VERSION:
        raise ValueError("%s: bad version %d" % (path, version))
    out = []
    for _ in range(count):
        (nlen,) = take("<I")
        if off + nlen > len(data):
            raise ValueError("%s: truncated name" % path)
        name = data[off:off + nlen].decode("utf-8")
        off += nlen
        (rank,) = take("<I")
        dims = take("<%dq" % rank) if rank else ()
        if any(d < 0 for d in dims):
            raise ValueError("%s: negative dim in %s" % (path, name))
        n = int(np.prod(dims, dtype=np.int64)) if rank else 1
        if off + 4 * n > len(data):
            raise ValueError("%s: truncated data of %s" % (path, name))
        arr = np.frombuffer(data, dtype="<f4", count=n, offset=off).reshape(dims)
        off += 4 * n
        out.append((name, arr.astype(np.float32)))
    if off != len(data):
        raise ValueError("%s: %d trailing bytes" % (path, len(data) - off))
    return out


# --------------------------------------------------------------------------
# Networks
# --------------------------------------------------------------------------


def conv3x3(cin, cout, stride=1):
    return nn.Conv2d(cin, cout, 3, stride=stride, padding=1, bias=False)


class BasicBlock(nn.Module):
    """conv3x3-BN-ReLU-conv3x3-BN + shortcut, then ReLU (He et al. 2016).

    The shortcut is the identity when the shape is unchanged, else a
    1x1 conv (stride s, no bias) + BN projection."""

    def __init__(self, cin, cout, stride):
        super().__init__()
        self.conv1 = conv3x3(cin, cout, stride)
        self.bn1 = nn.BatchNorm2d(cout)
        self.conv2 = conv3x3(cout, cout, 1)
        self.bn2 = nn.BatchNorm2d(cout)
        if stride != 1 or cin != cout:
            self.shortcut = nn.Sequential(
                nn.Conv2d(cin, cout, 1, stride=stride, bias=False),
                nn.BatchNorm2d(cout))
        else:
            self.shortcut = nn.Sequential()

    def forward(self, x):
        out = F.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return F.relu(out + self.shortcut(x))


class CifarResNet(nn.Module):
    """CIFAR-style ResNet with 6n+2 layers, widths 16/32/64."""

    def __init__(self, n, in_channels, num_classes=10):
        super().__init__()
        self.conv1 = conv3x3(in_channels, 16)
        self.bn1 = nn.BatchNorm2d(16)
        self.layer1 = self._stage(16, 16, n, 1)
        self.layer2 = self._stage(16, 32, n, 2)
        self.layer3 = self._stage(32, 64, n, 2)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(64, num_classes)
        # PyTorch's default Conv2d init is kept on purpose: with He-normal
        # init, eval mode (BN with fixed random running statistics, which do
        # not renormalise) roughly doubles the activation variance in every
        # residual block, and resnet110's eval logits reach ~1e10.

    @staticmethod
    def _stage(cin, cout, n, stride):
        blocks = [BasicBlock(cin, cout, stride)]
        blocks += [BasicBlock(cout, cout, 1) for _ in range(n - 1)]
        return nn.Sequential(*blocks)

    def forward(self, x):
        x = F.relu(self.bn1(self.conv1(x)))
        x = self.layer3(self.layer2(self.layer1(x)))
        x = self.pool(x)
        x = x.view(x.size(0), -1)  # Shape->Gather->Unsqueeze->Concat->Reshape
        return self.fc(x)


class DenseLayer(nn.Module):
    def __init__(self, cin, growth):
        super().__init__()
        self.bn = nn.BatchNorm2d(cin)
        self.conv = conv3x3(cin, growth)

    def forward(self, x):
        y = self.conv(F.relu(self.bn(x)))
        return torch.cat([x, y], 1)


class Transition(nn.Module):
    def __init__(self, cin, cout):
        super().__init__()
        self.bn = nn.BatchNorm2d(cin)
        self.conv = nn.Conv2d(cin, cout, 1, bias=False)
        # count_include_pad=False: identical result with padding=0, but the
        # default (True) makes torch 1.13 export an all-zero Pad before the
        # AveragePool.
        self.pool = nn.AvgPool2d(2, count_include_pad=False)

    def forward(self, x):
        return self.pool(self.conv(F.relu(self.bn(x))))


class DenseNetSmall(nn.Module):
    """Stem conv, dense block (3 layers, k=12), transition, dense block
    (3 layers, k=12), BN-ReLU, global average pool, Linear."""

    def __init__(self, in_channels=1, num_classes=10, growth=12, stem=24):
        super().__init__()
        self.conv0 = conv3x3(in_channels, stem)
        c = stem
        self.block1 = nn.Sequential(*[DenseLayer(c + i * growth, growth)
                                      for i in range(3)])
        c += 3 * growth                       # 60
        self.trans1 = Transition(c, c // 2)   # 60 -> 30, 28x28 -> 14x14
        c //= 2
        self.block2 = nn.Sequential(*[DenseLayer(c + i * growth, growth)
                                      for i in range(3)])
        c += 3 * growth                       # 66
        self.bn_final = nn.BatchNorm2d(c)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(c, num_classes)

    def forward(self, x):
        x = self.conv0(x)
        x = self.block2(self.trans1(self.block1(x)))
        x = F.relu(self.bn_final(x))
        x = self.pool(x)
        x = torch.flatten(x, 1)  # ONNX Flatten
        return self.fc(x)


class InvertedResidual(nn.Module):
    """1x1 expand conv+BN+ReLU6, 3x3 depthwise conv+BN+ReLU6, 1x1 project
    conv+BN; residual Add when stride 1 and channels are equal."""

    def __init__(self, cin, cout, stride, expand):
        super().__init__()
        hidden = cin * expand
        self.use_res = stride == 1 and cin == cout
        self.conv = nn.Sequential(
            nn.Conv2d(cin, hidden, 1, bias=False),
            nn.BatchNorm2d(hidden),
            nn.ReLU6(inplace=False),
            nn.Conv2d(hidden, hidden, 3, stride=stride, padding=1,
                      groups=hidden, bias=False),
            nn.BatchNorm2d(hidden),
            nn.ReLU6(inplace=False),
            nn.Conv2d(hidden, cout, 1, bias=False),
            nn.BatchNorm2d(cout))

    def forward(self, x):
        y = self.conv(x)
        return x + y if self.use_res else y


class MobileNetV2Small(nn.Module):
    # (expand t, out channels c, repeats n, first stride s)
    CONFIG = [(4, 16, 1, 1), (4, 24, 2, 2), (4, 32, 2, 2), (4, 48, 1, 1)]

    def __init__(self, in_channels=1, num_classes=10, last=128):
        super().__init__()
        layers = [nn.Conv2d(in_channels, 16, 3, stride=1, padding=1, bias=False),
                  nn.BatchNorm2d(16), nn.ReLU6(inplace=False)]
        c = 16
        for t, cout, n, s in self.CONFIG:
            for i in range(n):
                layers.append(InvertedResidual(c, cout, s if i == 0 else 1, t))
                c = cout
        layers += [nn.Conv2d(c, last, 1, bias=False), nn.BatchNorm2d(last),
                   nn.ReLU6(inplace=False)]
        self.features = nn.Sequential(*layers)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Sequential(nn.Dropout(0.2), nn.Linear(last, num_classes))

    def forward(self, x):
        x = self.pool(self.features(x))
        x = torch.flatten(x, 1)
        return self.classifier(x)


class MLP(nn.Module):
    def __init__(self):
        super().__init__()
        self.net = nn.Sequential(
            nn.Flatten(), nn.Linear(784, 256), nn.ReLU(), nn.Dropout(0.1),
            nn.Linear(256, 128), nn.ReLU(), nn.Linear(128, 10))

    def forward(self, x):
        return self.net(x)


class TwinLinear(nn.Module):
    """Two linear classifiers on the same pixels, summed: a network with no cut point (the
    input stays alive until the second branch has read it, and the branches only meet at the
    output), for the partitioner's "trains end to end, and says why" path."""

    def __init__(self):
        super().__init__()
        self.a = nn.Linear(784, 10)
        self.b = nn.Linear(784, 10)

    def forward(self, x):
        # two different flattenings, so that the exporter keeps two nodes reading the input
        return self.a(torch.flatten(x, 1)) + self.b(x.view(-1, 784))


# name -> (constructor, input shape without batch, opset)
MODELS = {
    "resnet8_fmnist": (lambda: CifarResNet(1, 1), (1, 28, 28), 17),
    "resnet32": (lambda: CifarResNet(5, 3), (3, 32, 32), 17),
    "resnet110": (lambda: CifarResNet(18, 3), (3, 32, 32), 17),
    "densenet_small": (lambda: DenseNetSmall(), (1, 28, 28), 17),
    "mobilenetv2_small": (lambda: MobileNetV2Small(), (1, 28, 28), 17),
    "mlp_fmnist": (lambda: MLP(), (1, 28, 28), 13),
    "twin_linear_fmnist": (lambda: TwinLinear(), (1, 28, 28), 17),
}
MODEL_SEEDS = {name: i for i, name in enumerate(MODELS)}

# --------------------------------------------------------------------------
# Helpers
# --------------------------------------------------------------------------


def setup_determinism():
    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True)


def randomize_bn(model, gen_seed):
    """Make BatchNorm non-trivial so eval output differs clearly from an
    identity BN: weight ~ U(0.5,1.5), bias ~ N(0,0.1), running_mean ~
    N(0,0.1), running_var ~ U(0.5,1.5)."""
    g = torch.Generator().manual_seed(gen_seed)
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, nn.BatchNorm2d):
                c = m.num_features
                m.weight.copy_(torch.rand(c, generator=g) + 0.5)
                m.bias.copy_(torch.randn(c, generator=g) * 0.1)
                m.running_mean.copy_(torch.randn(c, generator=g) * 0.1)
                m.running_var.copy_(torch.rand(c, generator=g) + 0.5)


def build_model(name):
    ctor, _, _ = MODELS[name]
    torch.manual_seed(1000 + MODEL_SEEDS[name])
    model = ctor()
    randomize_bn(model, 2000 + MODEL_SEEDS[name])
    return model


def exported_state_keys(model):
    """The state_dict entries that should appear as ONNX initializers:
    everything except the integer num_batches_tracked counters."""
    return [k for k, v in model.state_dict().items() if v.is_floating_point()]


def trainable_count(model):
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


def bn_running_count(model):
    return sum(v.numel() for k, v in model.state_dict().items()
               if k.endswith(".running_mean") or k.endswith(".running_var"))


def load_state_from_onnx(model, onnx_model):
    """Copy the initializers of an ONNX file into the PyTorch model
    (matching by name = state_dict key). Returns the model."""
    inits = {i.name: numpy_helper.to_array(i) for i in onnx_model.graph.initializer}
    sd = model.state_dict()
    missing = [k for k in exported_state_keys(model) if k not in inits]
    if missing:
        raise RuntimeError("initializers missing from ONNX file: %s" % missing)
    new_sd = {}
    for k, v in sd.items():
        if k in inits:
            new_sd[k] = torch.from_numpy(np.array(inits[k], copy=True)).to(v.dtype)
        else:
            new_sd[k] = v
    model.load_state_dict(new_sd)
    return model


def forward_input(shape):
    torch.manual_seed(1234)
    return torch.rand((2,) + tuple(shape), dtype=torch.float32)


def eval_logits(model, x):
    model.eval()
    with torch.no_grad():
        return model(x)


def try_onnxruntime(path, x, expected):
    """Cross-check with onnxruntime if it happens to be installed. Note the
    file is in training form (BatchNormalization training_mode=1, Dropout
    training_mode input true), so it is run only as a smoke test of
    loadability; the eval-mode comparison is skipped for such graphs."""
    try:
        import onnxruntime as ort  # noqa: F401
    except Exception:
        return None
    try:
        sess = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
        (out,) = sess.run(["logits"], {"input": x.numpy()})
        return out.shape == tuple(expected.shape)
    except Exception as e:  # report but do not fail
        print("  onnxruntime: %s" % e)
        return False


# --------------------------------------------------------------------------
# Export
# --------------------------------------------------------------------------


def export_onnx(name, model, path):
    _, shape, opset = MODELS[name]
    # Export a copy: tracing in training mode runs a forward pass that
    # updates the BN running statistics of the module being traced.
    clone = copy.deepcopy(model)
    clone.train()
    torch.manual_seed(42)
    dummy = torch.rand((2,) + tuple(shape), dtype=torch.float32)
    torch.onnx.export(
        clone, dummy, path,
        training=torch.onnx.TrainingMode.TRAINING,
        do_constant_folding=False,
        input_names=["input"], output_names=["logits"],
        dynamic_axes={"input": {0: "batch"}, "logits": {0: "batch"}},
        opset_version=opset)

    # Put the untouched state back into the file's initializers.
    om = onnx.load(path)
    sd = model.state_dict()
    keys = exported_state_keys(model)
    init_names = [i.name for i in om.graph.initializer]
    extra = sorted(set(init_names) - set(keys))
    missing = sorted(set(keys) - set(init_names))
    if extra or missing:
        raise RuntimeError("%s: initializer names differ from state_dict keys: "
                           "extra=%s missing=%s" % (name, extra, missing))
    for init in om.graph.initializer:
        ref = sd[init.name].detach().cpu().numpy().astype(np.float32)
        if tuple(init.dims) != ref.shape:
            raise RuntimeError("%s: shape mismatch for %s" % (name, init.name))
        init.CopyFrom(numpy_helper.from_array(ref, init.name))
    onnx.checker.check_model(om)
    onnx.save(om, path)
    return om


def write_forward_golden(name, model, path):
    _, shape, _ = MODELS[name]
    x = forward_input(shape)
    y = eval_logits(model, x)
    write_ipgd(path, [("input", x.numpy()), ("logits", y.numpy())])
    return x, y


class ReluMargin:
    """While open, records for every F.relu call the smallest |input| over the input's RMS: how
    near the batch brings a ReLU to its kink. One float32 implementation's rounding (another
    summation order in a BatchNorm's statistics, about 1e-7 of the RMS) can carry an input across
    zero that is nearer than that, and then its gradient passes where another's stops: a golden
    made there cannot tell a right implementation from a wrong one."""

    def __enter__(self):
        self.margins = []
        self.relu = F.relu

        def recording(x, *args, **kwargs):
            with torch.no_grad():
                xd = x.detach().double()
                self.margins.append((xd.abs().min() / xd.pow(2).mean().sqrt()).item())
            return self.relu(x, *args, **kwargs)
        F.relu = recording
        return self

    def __exit__(self, *exc):
        F.relu = self.relu
        return False


def train_golden_tensors(model, after_train=None, seed=99):
    """Two SGD steps of `model` (modified in place) on a fixed batch (drawn from `seed`);
    after_train, when given, is called on the model once it is in training mode (to put some
    modules back in eval mode).

    Semantics the C implementation must match:

    * BatchNorm in train mode normalises with the biased batch variance
      (divide by N*H*W), but PyTorch updates the running variance with the
      *unbiased* batch variance (divide by N*H*W - 1):
          running_mean = (1 - 0.1) * running_mean + 0.1 * batch_mean
          running_var  = (1 - 0.1) * running_var  + 0.1 * batch_var * m/(m-1)
      with m = N*H*W. PyTorch's momentum 0.1 is ONNX's momentum 0.9
      (ONNX: running = momentum * running + (1 - momentum) * current).
      Note the ONNX spec's current_var is the biased variance, so a plain
      ONNX-spec implementation would NOT reproduce these goldens; use the
      m/(m-1) correction for the running_var update.
    * loss = CrossEntropyLoss (mean over the batch) on the logits.
    * SGD(lr=0.05, momentum=0.9, nesterov=True, weight_decay=1e-4, dampening=0),
      per parameter p with gradient g:
          d   = g + wd * p
          buf = d                      (first step)
          buf = momentum * buf + d     (later steps)
          d   = d + momentum * buf     (nesterov)
          p   = p - lr * d
      Weight decay applies to every trainable parameter (BN weight/bias and
      biases included). The stored "grad:" tensors are the raw gradients of
      the first backward (weight decay not included).
    """
    setup_determinism()
    torch.manual_seed(seed)
    x = torch.rand(8, 1, 28, 28, dtype=torch.float32)
    labels = torch.randint(0, 10, (8,))
    model.train()
    if after_train:
        after_train(model)
    params = [(n, p) for n, p in model.named_parameters() if p.requires_grad]
    opt = torch.optim.SGD([p for _, p in params], lr=0.05, momentum=0.9,
                          nesterov=True, weight_decay=1e-4)
    crit = nn.CrossEntropyLoss()

    tensors = [("input", x.numpy().copy()),
               ("labels", labels.to(torch.float32).numpy().copy())]
    # iteration 1
    opt.zero_grad()
    loss1 = crit(model(x), labels)
    loss1.backward()
    tensors.append(("loss_step1", np.array([loss1.item()], dtype=np.float32)))
    for n, p in params:
        tensors.append(("grad:" + n, p.grad.detach().numpy().copy()))
    opt.step()
    # iteration 2
    opt.zero_grad()
    loss2 = crit(model(x), labels)
    loss2.backward()
    opt.step()
    tensors.append(("loss_step2", np.array([loss2.item()], dtype=np.float32)))
    for n, p in params:
        tensors.append(("param_after2:" + n, p.detach().numpy().copy()))
    for k, v in model.state_dict().items():
        if v.is_floating_point():
            tensors.append(("after2:" + k, v.detach().numpy().copy()))
    return tensors


# --------------------------------------------------------------------------
# InfoPro losses (golden/infopro_losses.ipgd)
# --------------------------------------------------------------------------


def sup_con_loss(features, labels, temperature=0.07, base_temperature=0.07):
    """Supervised contrastive loss as the SupContrast reference code
    (HobbitLong/SupContrast, losses.py) computes it, with one view per sample
    and contrast_mode 'all': every sample is an anchor, its positives are the
    other samples of its class, the denominator runs over every sample but the
    anchor, and an anchor without positives divides by 1 (so contributes 0).
    Written here from that definition, independently of the C kernel.
    features: [N, D], already L2-normalised; labels: [N] int64."""
    n = features.shape[0]
    labels = labels.contiguous().view(-1, 1)
    mask = torch.eq(labels, labels.T).to(features.dtype)
    anchor_dot_contrast = torch.matmul(features, features.T) / temperature
    logits_max, _ = torch.max(anchor_dot_contrast, dim=1, keepdim=True)
    logits = anchor_dot_contrast - logits_max.detach()
    logits_mask = torch.scatter(torch.ones_like(mask), 1,
                                torch.arange(n).view(-1, 1), 0)
    mask = mask * logits_mask
    exp_logits = torch.exp(logits) * logits_mask
    log_prob = logits - torch.log(exp_logits.sum(1, keepdim=True))
    mask_pos_pairs = mask.sum(1)
    mask_pos_pairs = torch.where(mask_pos_pairs < 1e-6,
                                 torch.ones_like(mask_pos_pairs), mask_pos_pairs)
    mean_log_prob_pos = (mask * log_prob).sum(1) / mask_pos_pairs
    loss = -(temperature / base_temperature) * mean_log_prob_pos
    return loss.mean()


def infopro_loss_tensors():
    """Goldens of the InfoPro local losses and of the decoder's upsampling
    (codegen/internal_ops.md, "The InfoPro losses"). Inputs are drawn in
    float32 (as stored); losses and gradients are computed in float64 from
    those stored values by autograd, so the goldens are as exact as float32
    storage allows. Losses are stored as shape [1]; labels as float32.

    supcon_*:   features [16, 128], labels [16] in 0..4 (class 4 has exactly one
                member, so one anchor has no positives); loss of
                sup_con_loss(F.normalize(features)), T = 0.07, and d/dfeatures.
    bce_*:      p = sigmoid(randn [2,1,28,28]), target = rand; nn.BCELoss()
                (mean) and d/dp.
    upsample_*: F.interpolate(input [2,3,7,7], size (28, 28), bilinear,
                align_corners=True) and the gradient w.r.t. input of
                sum(output * upstream) for a random upstream [2,3,28,28].
    """
    setup_determinism()
    torch.manual_seed(2021)
    features = torch.randn(16, 128, dtype=torch.float32)
    labels = torch.randint(0, 4, (16,))
    labels[5] = 4
    f64 = features.double().requires_grad_()
    sup_con = sup_con_loss(F.normalize(f64, dim=1), labels, 0.07, 0.07)
    (sup_con_grad,) = torch.autograd.grad(sup_con, f64)

    p = torch.sigmoid(torch.randn(2, 1, 28, 28, dtype=torch.float32))
    target = torch.rand(2, 1, 28, 28, dtype=torch.float32)
    p64 = p.double().requires_grad_()
    bce = nn.BCELoss()(p64, target.double())
    (bce_grad,) = torch.autograd.grad(bce, p64)

    x = torch.randn(2, 3, 7, 7, dtype=torch.float32)
    upstream = torch.randn(2, 3, 28, 28, dtype=torch.float32)
    x64 = x.double().requires_grad_()
    y64 = F.interpolate(x64, size=(28, 28), mode="bilinear", align_corners=True)
    (x_grad,) = torch.autograd.grad(y64, x64, grad_outputs=upstream.double())

    def f32(t):
        return t.detach().to(torch.float32).numpy().copy()

    return [
        ("supcon_features", f32(features)),
        ("supcon_labels", f32(labels.to(torch.float32))),
        ("supcon_loss", np.array([sup_con.item()], dtype=np.float32)),
        ("supcon_grad", f32(sup_con_grad)),
        ("bce_p", f32(p)),
        ("bce_target", f32(target)),
        ("bce_loss", np.array([bce.item()], dtype=np.float32)),
        ("bce_grad", f32(bce_grad)),
        ("upsample_input", f32(x)),
        ("upsample_output", f32(y64)),
        ("upsample_upstream", f32(upstream)),
        ("upsample_grad", f32(x_grad)),
    ]


INFOPRO_LOSSES_GOLDEN = os.path.join(GOLDEN_DIR, "infopro_losses.ipgd")


def write_or_check_golden(label, path, tensors, check):
    """Writes the golden file, or with check compares it, bit for bit, with the tensors computed
    again; returns the exit status (1 when the names differ; compare raises on a value)."""
    if check:
        gold = read_ipgd(path)
        if [n for n, _ in gold] != [n for n, _ in tensors]:
            print("%s: FAIL: tensor names differ" % label)
            return 1
        for (n, a), (_, b) in zip(gold, tensors):
            compare(label + " " + n, b, a, rtol=0, atol=0)
        print("%s: OK (%d tensors)" % (label, len(gold)))
        return 0
    os.makedirs(GOLDEN_DIR, exist_ok=True)
    write_ipgd(path, tensors)
    return 0


def do_infopro_losses(check):
    tensors = infopro_loss_tensors()
    status = write_or_check_golden("infopro_losses", INFOPRO_LOSSES_GOLDEN, tensors, check)
    if check:
        return status
    d = dict(tensors)
    print("infopro_losses: supcon_loss=%.7f bce_loss=%.7f, |supcon_grad|max=%.4g "
          "|bce_grad|max=%.4g |upsample_grad|max=%.4g"
          % (d["supcon_loss"][0], d["bce_loss"][0], np.abs(d["supcon_grad"]).max(),
             np.abs(d["bce_grad"]).max(), np.abs(d["upsample_grad"]).max()))
    return 0


# --------------------------------------------------------------------------
# The decoders' training step (golden/decoder_step.ipgd)
# --------------------------------------------------------------------------


def decoder_step_tensors():
    """Golden of a first local module's reconstruction step with each InfoPro decoder
    (partitioner/infopro_heads.h), for tests/runtime/test_reduced_decoder.c: a 2 x 1 x 12 x 12
    normalised image x, the network's part conv3x3 (1 -> 6, stride 2, padding 1, no bias) and Tanh
    making the cut h (6 x 6), then the decoder: conv3x3 (6 -> 12, padding 1, no bias), BatchNorm in
    training mode (batch statistics, eps 1e-5), ReLU, conv3x3 (12 -> 1, padding 1, no bias),
    Sigmoid, and nn.BCELoss (mean) against the image with the normalisation undone
    (x * 0.25 + 0.5):
      reduced: on h itself, against the image resized bilinearly to 6 x 6 (half_pixel:
               F.interpolate without align_corners);
      paper:   on h upsampled bilinearly to 12 x 12 with align_corners, against the image.
    Every input is drawn in float32 (as stored); the losses and the gradients of the five
    parameters are computed in float64 from those stored values by autograd. Written from the
    definitions above, independently of infopro's heads and kernels."""
    setup_determinism()
    torch.manual_seed(2026)
    image = torch.rand(2, 1, 12, 12) * 4 - 2  # normalised; undone, every pixel lies in [0, 1]
    def uniform(shape, bound):
        return (torch.rand(*shape) * 2 - 1) * bound
    parameters = [
        ("conv1.weight", uniform((6, 1, 3, 3), 0.5)),
        ("infopro1/decoder/conv1.weight", uniform((12, 6, 3, 3), 1 / 54 ** 0.5)),
        ("infopro1/decoder/conv1.bn.weight", 1 + uniform((12,), 0.2)),
        ("infopro1/decoder/conv1.bn.bias", uniform((12,), 0.1)),
        ("infopro1/decoder/conv2.weight", uniform((1, 12, 3, 3), 1 / 108 ** 0.5)),
    ]
    tensors = [("image", image.numpy().copy())]
    tensors += [(name, t.numpy().copy()) for name, t in parameters]
    x = image.double()
    for decoder in ("reduced", "paper"):
        p64 = [t.double().requires_grad_() for _, t in parameters]
        w1, d1, bn_w, bn_b, d2 = p64
        h = torch.tanh(F.conv2d(x, w1, stride=2, padding=1))
        if decoder == "reduced":
            source = h
            target = F.interpolate(x, size=(6, 6), mode="bilinear", align_corners=False)
        else:
            source = F.interpolate(h, size=(12, 12), mode="bilinear", align_corners=True)
            target = x
        z = F.batch_norm(F.conv2d(source, d1, padding=1), None, None, bn_w, bn_b,
                         training=True, eps=1e-5)
        p = torch.sigmoid(F.conv2d(F.relu(z), d2, padding=1))
        loss = nn.BCELoss()(p, target * 0.25 + 0.5)
        grads = torch.autograd.grad(loss, p64)
        tensors.append((decoder + "/loss", np.array([loss.item()], dtype=np.float32)))
        for (name, _), g in zip(parameters, grads):
            tensors.append((decoder + "/grad/" + name, g.detach().to(torch.float32).numpy().copy()))
    return tensors


DECODER_STEP_GOLDEN = os.path.join(GOLDEN_DIR, "decoder_step.ipgd")


def do_decoder_step(check):
    tensors = decoder_step_tensors()
    status = write_or_check_golden("decoder_step", DECODER_STEP_GOLDEN, tensors, check)
    if check:
        return status
    d = dict(tensors)
    print("decoder_step: loss reduced %.7f paper %.7f" % (d["reduced/loss"][0], d["paper/loss"][0]))
    return 0


# The frozen-backbone steps (golden/resnet8_fmnist_frozen_train.ipgd)
# --------------------------------------------------------------------------

# What tests/runtime/test_golden_training.c passes as `--freeze PATTERN`s: PyTorch module
# prefixes, each freezing the parameters named PATTERN or PATTERN.<anything>
FROZEN_PREFIXES = ["conv1", "bn1", "layer1"]
FROZEN_TRAIN_GOLDEN = os.path.join(GOLDEN_DIR, "resnet8_fmnist_frozen_train.ipgd")
# The batch's seed: with the plain golden's (99) the second step brings an input of layer3.0's
# first ReLU within 5.8e-8 of its RMS to zero, and oneDNN's AVX-512 BatchNormalization on two
# threads (statistics summed in another order) puts it on the other side, which moves
# layer3.0.conv1's updated weights by 1.4% (PyTorch, infopro's reference kernels and oneDNN on
# one thread or on AVX2 agree). Of seeds 99-159, 104 keeps every ReLU input furthest from zero
# (5.3e-6 of the RMS, 50 times that rounding); the generator refuses a batch nearer than
# FROZEN_TRAIN_MARGIN.
FROZEN_TRAIN_SEED = 104
FROZEN_TRAIN_MARGIN = 5e-6


def frozen_train_tensors():
    """train_golden_tensors' two SGD steps of resnet8_fmnist with its stem and first block
    frozen (requires_grad False, so the optimizer never sees them) while their BatchNorms stay in
    training mode: "grad:" holds only the trained parameters' gradients, "after2:" every
    state_dict entry (the frozen parameters unchanged, every running statistic updated)."""
    setup_determinism()
    om = onnx.load(os.path.join(HERE, "resnet8_fmnist.onnx"))
    model = load_state_from_onnx(build_model("resnet8_fmnist"), om)
    for name, parameter in model.named_parameters():
        if any(name == p or name.startswith(p + ".") for p in FROZEN_PREFIXES):
            parameter.requires_grad_(False)
    with ReluMargin() as relu:
        tensors = train_golden_tensors(model, seed=FROZEN_TRAIN_SEED)
    margin = min(relu.margins)
    if margin < FROZEN_TRAIN_MARGIN:
        raise SystemExit("frozen_train: a ReLU input lies %.3g of its RMS from zero (at least %g "
                         "wanted): choose another FROZEN_TRAIN_SEED" % (margin, FROZEN_TRAIN_MARGIN))
    print("frozen_train: every ReLU input at least %.3g of its RMS from zero" % margin)
    return tensors


# tests/runtime/test_golden_training.c's --freeze-statistics: layer2 (its block's two BatchNorms
# and its shortcut's), where float32 and float64 agree to 5e-6 in every gradient; with layer1's
# they differ by 0.5% (a ReLU near its kink in this batch), too near to compare at 1e-4
FROZEN_STATISTICS_PREFIX = "layer2"
FROZEN_STATISTICS_GOLDEN = os.path.join(GOLDEN_DIR, "resnet8_fmnist_frozen_statistics_train.ipgd")


def frozen_statistics_tensors():
    """train_golden_tensors' two SGD steps of resnet8_fmnist with layer2's BatchNorms in eval
    mode (normalising with their running statistics and leaving them as they are) and every
    parameter trained: their scale and bias get gradients through the inference form, and the
    convolutions before them through its input gradient."""
    setup_determinism()
    om = onnx.load(os.path.join(HERE, "resnet8_fmnist.onnx"))
    model = load_state_from_onnx(build_model("resnet8_fmnist"), om)

    def eval_batch_norms(m):
        for name, module in m.named_modules():
            if isinstance(module, nn.BatchNorm2d) and name.startswith(FROZEN_STATISTICS_PREFIX + "."):
                module.eval()
    return train_golden_tensors(model, eval_batch_norms)


def do_frozen_statistics(check):
    tensors = frozen_statistics_tensors()
    return write_or_check_golden("frozen_statistics", FROZEN_STATISTICS_GOLDEN, tensors, check)


def do_frozen_train(check):
    tensors = frozen_train_tensors()
    status = write_or_check_golden("frozen_train", FROZEN_TRAIN_GOLDEN, tensors, check)
    if check:
        return status
    d = dict(tensors)
    print("frozen_train: %d tensors, %d gradients, loss_step1=%.6f loss_step2=%.6f"
          % (len(tensors), sum(n.startswith("grad:") for n in d), d["loss_step1"][0],
             d["loss_step2"][0]))
    return 0


# --------------------------------------------------------------------------
# Reporting
# --------------------------------------------------------------------------


def describe_onnx(om):
    from collections import Counter
    ops = Counter(n.op_type for n in om.graph.node)
    opset = {o.domain or "ai.onnx": o.version for o in om.opset_import}
    forms = {}
    consts = {n.output[0]: n for n in om.graph.node if n.op_type == "Constant"}
    inits = {i.name for i in om.graph.initializer}
    for n in om.graph.node:
        if n.op_type in ("BatchNormalization", "Dropout", "Clip"):
            attrs = []
            for a in n.attribute:
                attrs.append("%s=%s" % (a.name, onnx.helper.get_attribute_value(a)))
            ins = []
            for i in n.input[1:]:
                if i in consts:
                    v = numpy_helper.to_array(consts[i].attribute[0].t)
                    ins.append("Constant(%s)" % v.tolist())
                elif i in inits:
                    ins.append("init")
                else:
                    ins.append(i or "<empty>")
            form = "%s inputs=1+[%s] outputs=%d attrs={%s}" % (
                n.op_type, ", ".join(ins) if n.op_type != "BatchNormalization"
                else "%d initializers" % (len(n.input) - 1),
                len(n.output), ", ".join(attrs))
            forms[form] = forms.get(form, 0) + 1
    used = set()
    for n in om.graph.node:
        used.update(n.input)
    graph_outs = {o.name for o in om.graph.output}
    dangling = 0
    for n in om.graph.node:
        for o in n.output:
            if o and o not in used and o not in graph_outs:
                dangling += 1
    return ops, opset, forms, dangling


# --------------------------------------------------------------------------
# Main modes
# --------------------------------------------------------------------------


def do_export(names=None):
    setup_determinism()
    os.makedirs(GOLDEN_DIR, exist_ok=True)
    for name in names or MODELS:
        model = build_model(name)
        path = os.path.join(HERE, name + ".onnx")
        om = export_onnx(name, model, path)
        size = os.path.getsize(path)
        if size >= MAX_ONNX_BYTES:
            raise RuntimeError("%s is %d bytes (limit 10 MB)" % (path, size))
        x, y = write_forward_golden(
            name, model, os.path.join(GOLDEN_DIR, name + "_forward.ipgd"))
        ort_ok = try_onnxruntime(path, x, y)
        ops, opset, forms, dangling = describe_onnx(om)
        print("%s: opset %s, %d bytes, params %d, BN running values %d, "
              "logits[0,:3]=%s" % (name, opset, size, trainable_count(model),
                                   bn_running_count(model),
                                   np.round(y[0, :3].numpy(), 4).tolist()))
        print("  ops: %s" % dict(sorted(ops.items())))
        for f, c in forms.items():
            print("  %dx %s" % (c, f))
        print("  unused node outputs: %d" % dangling)
        if ort_ok is not None:
            print("  onnxruntime smoke test: %s" % ort_ok)

        if name == "resnet8_fmnist":
            tensors = train_golden_tensors(copy.deepcopy(model))
            write_ipgd(os.path.join(GOLDEN_DIR, name + "_train.ipgd"), tensors)
            d = dict(tensors)
            print("  train golden: %d tensors, loss_step1=%.6f loss_step2=%.6f"
                  % (len(tensors), d["loss_step1"][0], d["loss_step2"][0]))


def compare(label, got, want, rtol=1e-5, atol=1e-6):
    got = np.asarray(got, dtype=np.float32)
    want = np.asarray(want, dtype=np.float32)
    if got.shape != want.shape:
        raise RuntimeError("%s: shape %s != %s" % (label, got.shape, want.shape))
    if not np.all(np.isfinite(want)):
        raise RuntimeError("%s: non-finite values in golden" % label)
    if not np.allclose(got, want, rtol=rtol, atol=atol):
        raise RuntimeError("%s: max abs diff %g" % (
            label, float(np.max(np.abs(got - want)))))


def do_check():
    setup_determinism()
    failures = 0
    for name in MODELS:
        _, shape, opset = MODELS[name]
        path = os.path.join(HERE, name + ".onnx")
        try:
            om = onnx.load(path)
            onnx.checker.check_model(om)
            size = os.path.getsize(path)
            if size >= MAX_ONNX_BYTES:
                raise RuntimeError("file too large: %d bytes" % size)
            got_opset = {o.domain or "ai.onnx": o.version for o in om.opset_import}
            if got_opset.get("ai.onnx") != opset:
                raise RuntimeError("opset %s, expected %d" % (got_opset, opset))
            # Model rebuilt with the architecture, weights taken from the file.
            ref = build_model(name)
            names_ok = sorted(i.name for i in om.graph.initializer) == \
                sorted(exported_state_keys(ref))
            if not names_ok:
                raise RuntimeError("initializer names != state_dict keys")
            # The deterministic rebuild must equal the file's weights.
            for i in om.graph.initializer:
                compare("%s init %s" % (name, i.name), numpy_helper.to_array(i),
                        ref.state_dict()[i.name].numpy(), rtol=0, atol=0)
            model = load_state_from_onnx(build_model(name), om)

            gold = read_ipgd(os.path.join(GOLDEN_DIR, name + "_forward.ipgd"))
            if [n for n, _ in gold] != ["input", "logits"]:
                raise RuntimeError("forward golden tensor names %s"
                                   % [n for n, _ in gold])
            g = dict(gold)
            compare(name + " input", forward_input(shape).numpy(), g["input"],
                    rtol=0, atol=0)
            compare(name + " logits",
                    eval_logits(model, torch.from_numpy(g["input"].copy())).numpy(),
                    g["logits"])
            msg = "forward ok"

            if name == "resnet8_fmnist":
                tpath = os.path.join(GOLDEN_DIR, name + "_train.ipgd")
                gold_t = read_ipgd(tpath)
                want = train_golden_tensors(load_state_from_onnx(build_model(name), om))
                if [n for n, _ in gold_t] != [n for n, _ in want]:
                    raise RuntimeError("train golden tensor names differ")
                for (n, a), (_, b) in zip(gold_t, want):
                    compare("%s train %s" % (name, n), b, a)
                msg += ", train ok (%d tensors)" % len(gold_t)
            print("%s: OK (%s, %d bytes)" % (name, msg, size))
        except Exception as e:
            failures += 1
            print("%s: FAIL: %s" % (name, e))
    if failures:
        print("%d model(s) failed" % failures)
        return 1
    print("all goldens verified")
    return 0


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--check", action="store_true",
                    help="read back every ONNX file and golden and verify them")
    ap.add_argument("--only", choices=["infopro-losses", "decoder-step", "frozen-train",
                                       "frozen-statistics"]
                    + list(MODELS),
                    help="write (or with --check, verify) only this golden; the "
                    "ONNX files and the other goldens are left alone")
    args = ap.parse_args()
    if args.only == "infopro-losses":
        return do_infopro_losses(args.check)
    if args.only == "decoder-step":
        return do_decoder_step(args.check)
    if args.only == "frozen-train":
        return do_frozen_train(args.check)
    if args.only == "frozen-statistics":
        return do_frozen_statistics(args.check)
    if args.only:
        do_export([args.only])
        return 0
    if args.check:
        return do_check()
    do_export()
    return 0


if __name__ == "__main__":
    sys.exit(main())
