#!/usr/bin/env python3
"""Compares a GPU run of a compiled program with the CPU trainer's reference run (issue 10's GPU
bundle, scripts/gpu-bundle.sh; run.sh calls this): the losses the two printed after the same
steps at the same seed, and what the steps did to the weights: every float32 initializer's update
(trained less initial) in the two trained ONNX files.

Standard library only (the GPU machine has a Python for its nvidia wheels, nothing more), so the
ONNX files are read with a small protobuf wire-format reader: ModelProto.graph (field 7),
GraphProto.initializer (5), TensorProto dims (1), data_type (2), float_data (4), name (8),
raw_data (9).

The checks, and why these tolerances: float32 on cuDNN (FMA math, no TF32) and on oneDNN differ
in the order of their sums, and two steps at learning rate 0.1 with batch normalisation over 32
images amplify that: two CPU runs that differ only in oneDNN's thread count (1 and 2) differ,
after the bundle's two steps, by 2.3e-3 of the whole update (the norm of the difference of the
updates over the norm of the update) and by up to 2.6e-2 of one tensor's update (a batch
normalisation bias, whose gradient is a sum with much cancellation); as a largest element
difference, by 5e-3 of a tensor's largest weight. The bundle carries such a pair (the reference
and a one-thread run) and run.sh prints this comparison beside the GPU's, so the spread is
measured, not assumed. A wrong gradient in any layer moves its tensor's update by its own size.
  - losses: within 1e-3 of the reference relative to max(1, |reference|) (printed to 4 places);
  - the whole update: differs by at most 2e-2 of its norm (10 times the CPU's own spread);
  - each tensor's update: by at most 0.25 of its norm (10 times), or, for a tensor the
    reference did not move, by at most 1e-6 of the tensor's size;
  - the largest element difference of the weights is printed, not checked.

    compare.py CPU_LOG OTHER_LOG CPU.onnx OTHER.onnx INITIAL.onnx
exit 0: within, 1: not, 2: a usage error
"""
import math
import re
import struct
import sys

LOSS_TOLERANCE = 1e-3
UPDATE_TOLERANCE = 2e-2
TENSOR_UPDATE_TOLERANCE = 0.25
UNMOVED_TOLERANCE = 1e-6


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


def norm(values):
    return math.sqrt(sum(v * v for v in values))


def compare_weights(cpu_model, other_model, initial_model):
    """Prints the update comparison; True when within tolerance."""
    a, b, start = initializers(cpu_model), initializers(other_model), initializers(initial_model)
    if not a or set(a) != set(b) or set(a) != set(start):
        print("  weights: the models hold different tensors")
        return False
    ok = True
    failures = []
    difference_sq = update_sq = 0.0
    worst_tensor, worst_tensor_name, worst_element, worst_element_name = 0.0, "-", 0.0, "-"
    for name in sorted(a):
        if not len(a[name]) == len(b[name]) == len(start[name]):
            print("  weights: tensor %s differs in size" % name)
            ok = False
            continue
        update = [x - s for x, s in zip(a[name], start[name])]
        difference = [y - x for x, y in zip(a[name], b[name])]
        update_norm, difference_norm = norm(update), norm(difference)
        update_sq += update_norm * update_norm
        difference_sq += difference_norm * difference_norm
        scale = max([1e-3] + [abs(x) for x in a[name]])
        element = max([0.0] + [abs(d) for d in difference]) / scale
        if element > worst_element:
            worst_element, worst_element_name = element, name
        if update_norm == 0.0:
            if element > UNMOVED_TOLERANCE:
                failures.append("%s was not moved by the reference, but by %.2e of its size"
                                % (name, element))
            continue
        relative = difference_norm / update_norm
        if relative > worst_tensor:
            worst_tensor, worst_tensor_name = relative, name
        if relative > TENSOR_UPDATE_TOLERANCE:
            failures.append("the update of %s differs by %.2e of its norm" % (name, relative))
    for failure in failures[:6]:
        print("  weights: " + failure)
    if len(failures) > 6:
        print("  weights: and %d tensors more" % (len(failures) - 6))
    ok = ok and not failures
    whole = math.sqrt(difference_sq / update_sq) if update_sq > 0 else float("inf")
    if whole > UPDATE_TOLERANCE:
        print("  weights: the whole update differs by %.2e of its norm" % whole)
        ok = False
    print("  updates: %d tensors, %d values; the whole update differs by %.2e of its norm "
          "(tolerance %.0e), one tensor's by at most %.2e (%s; tolerance %.2f); largest weight "
          "difference %.2e of a tensor's largest weight (%s)"
          % (len(a), sum(len(v) for v in a.values()), whole, UPDATE_TOLERANCE, worst_tensor,
             worst_tensor_name, TENSOR_UPDATE_TOLERANCE, worst_element, worst_element_name))
    return ok


def main():
    if len(sys.argv) != 6:
        print(__doc__, file=sys.stderr)
        return 2  # a usage error is not a comparison that failed (1)
    cpu_log, other_log, cpu_model, other_model, initial_model = sys.argv[1:]
    ok = True
    cpu, other = losses(cpu_log), losses(other_log)
    if not cpu or set(cpu) != set(other):
        print("  losses: the runs printed different losses: %s vs %s"
              % (sorted(cpu), sorted(other)))
        ok = False
    worst = 0.0
    for name in sorted(cpu):
        if name in other:
            error = abs(other[name] - cpu[name]) / max(1.0, abs(cpu[name]))
            worst = max(worst, error)
            if error > LOSS_TOLERANCE:
                print("  loss %s: %.4f against the reference's %.4f" % (name, other[name], cpu[name]))
                ok = False
    print("  losses: %d compared, largest relative difference %.2e (tolerance %.0e)"
          % (len(cpu), worst, LOSS_TOLERANCE))
    return 0 if compare_weights(cpu_model, other_model, initial_model) and ok else 1


if __name__ == "__main__":
    sys.exit(main())
