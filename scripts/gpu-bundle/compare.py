#!/usr/bin/env python3
"""Compares a GPU run of a compiled program with the CPU trainer's reference run (issue 10's GPU
bundle, scripts/gpu-bundle.sh; run.sh calls this): the losses the two printed after the same
steps at the same seed, and every float32 initializer of the two trained ONNX files.

Standard library only (the GPU machine has a Python for its nvidia wheels, nothing more), so the
ONNX files are read with a small protobuf wire-format reader: ModelProto.graph (field 7),
GraphProto.initializer (5), TensorProto dims (1), data_type (2), float_data (4), name (8),
raw_data (9).

Tolerances: a loss within 1e-3 of the reference relative to max(1, |reference|) (the logs print
four decimals); a tensor within 1e-3 of its largest reference magnitude (at least 1e-3) in its
largest element difference. float32 on cuDNN (FMA math, no TF32) and on oneDNN differ in the
order of sums only, which after two steps moves weights by about 1e-6 of their size.

    compare.py CPU_LOG GPU_LOG CPU.onnx GPU.onnx     exit 0: within tolerance, 1: not
"""
import re
import struct
import sys

LOSS_TOLERANCE = 1e-3
WEIGHT_TOLERANCE = 1e-3


def varint(data, at):
    value, shift = 0, 0
    while True:
        byte = data[at]
        at += 1
        value |= (byte & 0x7F) << shift
        if byte < 0x80:
            return value, at
        shift += 7


def fields(data):
    """(field number, wire type, value) for each field of a message."""
    at = 0
    while at < len(data):
        key, at = varint(data, at)
        number, wire = key >> 3, key & 7
        if wire == 0:
            value, at = varint(data, at)
        elif wire == 1:
            value, at = data[at:at + 8], at + 8
        elif wire == 2:
            length, at = varint(data, at)
            value, at = data[at:at + length], at + length
        elif wire == 5:
            value, at = data[at:at + 4], at + 4
        else:
            raise ValueError("unsupported protobuf wire type %d" % wire)
        yield number, wire, value


def initializers(path):
    """{name: tuple of floats} of the model's float32 initializers."""
    with open(path, "rb") as f:
        model = f.read()
    out = {}
    for number, _, graph in fields(model):
        if number != 7:
            continue
        for g_number, _, tensor in fields(graph):
            if g_number != 5:
                continue
            name, data_type, raw, floats = "", 0, None, []
            for t_number, wire, value in fields(tensor):
                if t_number == 8:
                    name = value.decode()
                elif t_number == 2:
                    data_type = value
                elif t_number == 9:
                    raw = value
                elif t_number == 4 and wire == 2:
                    floats.extend(struct.unpack("<%df" % (len(value) // 4), value))
                elif t_number == 4 and wire == 5:
                    floats.append(struct.unpack("<f", value)[0])
            if data_type != 1:
                continue
            if raw is not None:
                floats = struct.unpack("<%df" % (len(raw) // 4), raw)
            out[name] = tuple(floats)
    return out


def losses(path):
    """The final epoch line's loss and the local losses, by name."""
    found = {}
    with open(path) as f:
        for line in f:
            m = re.match(r"epoch \d+/\d+\s+loss (\S+)", line)
            if m:
                found["loss"] = float(m.group(1))
            if line.strip().startswith("local losses"):
                for name, value in re.findall(r"(module \d+ [a-z-]+) ([-0-9.eE+]+)", line):
                    found[name] = float(value)
    return found


def main():
    if len(sys.argv) != 5:
        sys.exit(__doc__)
    cpu_log, gpu_log, cpu_model, gpu_model = sys.argv[1:]
    ok = True
    cpu, gpu = losses(cpu_log), losses(gpu_log)
    if not cpu or set(cpu) != set(gpu):
        print("  losses: the runs printed different losses: %s vs %s" % (sorted(cpu), sorted(gpu)))
        ok = False
    worst = 0.0
    for name in sorted(cpu):
        if name in gpu:
            error = abs(gpu[name] - cpu[name]) / max(1.0, abs(cpu[name]))
            worst = max(worst, error)
            if error > LOSS_TOLERANCE:
                print("  loss %s: GPU %.4f, CPU %.4f" % (name, gpu[name], cpu[name]))
                ok = False
    print("  losses: %d compared, largest relative difference %.2e (tolerance %.0e)"
          % (len(cpu), worst, LOSS_TOLERANCE))
    a, b = initializers(cpu_model), initializers(gpu_model)
    if not a or set(a) != set(b):
        print("  weights: the trained models hold different tensors")
        ok = False
    worst, worst_name = 0.0, ""
    for name in sorted(a):
        if name not in b or len(a[name]) != len(b[name]):
            print("  weights: tensor %s differs in size" % name)
            ok = False
            continue
        scale = max([1e-3] + [abs(x) for x in a[name]])
        error = max([0.0] + [abs(x - y) for x, y in zip(a[name], b[name])]) / scale
        if error > worst:
            worst, worst_name = error, name
        if error > WEIGHT_TOLERANCE:
            print("  weights: %s differs by %.2e of its size" % (name, error))
            ok = False
    print("  weights: %d tensors, %d values compared, largest difference %.2e of a tensor's "
          "size (%s; tolerance %.0e)"
          % (len(a), sum(len(v) for v in a.values()), worst, worst_name or "-", WEIGHT_TOLERANCE))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
