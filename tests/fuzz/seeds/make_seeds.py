"""Writes the generated seed files of tests/fuzz/corpus/ (plan/ and dataset/, and program/ from
programs compiled first, below); run from the repository root when a target's input layout
changes. The suite itself never runs this (it needs
no Python): the files it writes are committed. The ONNX protobuf is encoded by hand (wire format)
so that no onnx package is needed; .npz and PNG files are written with the standard library.
The JPEG seed (dataset/jpeg_rgb.bin) is not made here: it is a 9x7 RGB image written by
libjpeg-turbo (quality 75) behind the row byte 4 and its length, as the others are."""
import gzip
import io
import os
import struct
import zipfile
import zlib


def varint(v):
    v &= (1 << 64) - 1
    out = b''
    while True:
        b = v & 0x7f
        v >>= 7
        if v:
            out += bytes([b | 0x80])
        else:
            return out + bytes([b])


def field(number, value):
    if isinstance(value, int):
        return varint(number << 3) + varint(value)
    if isinstance(value, str):
        value = value.encode()
    return varint(number << 3 | 2) + varint(len(value)) + value


def tensor(name, dims, values):
    return b''.join(field(1, d) for d in dims) + field(2, 1) + field(8, name) + \
        field(9, struct.pack('<%df' % len(values), *values))


def attribute_ints(name, values):
    return field(1, name) + b''.join(field(8, v) for v in values) + field(20, 7)


def attribute_int(name, value):
    return field(1, name) + field(3, value) + field(20, 2)


def node(op, inputs, outputs, name, attributes=()):
    return b''.join(field(1, i) for i in inputs) + b''.join(field(2, o) for o in outputs) + \
        field(3, name) + field(4, op) + b''.join(field(5, a) for a in attributes)


def value_info(name, dims):
    shape = b''.join(field(1, field(2, d) if isinstance(d, str) else field(1, d)) for d in dims)
    return field(1, name) + field(2, field(1, field(1, 1) + field(2, shape)))


def residual_model(graph_extra=b''):
    """x[N,1,8,8] -> Conv -> Relu -> Conv -> Add(residual) -> Relu -> GlobalAveragePool ->
    Flatten -> Gemm -> y[N,10]: a symbolic batch and two cut points; graph_extra: more fields of
    the graph."""
    pads = attribute_ints('pads', [1, 1, 1, 1])
    kernel = attribute_ints('kernel_shape', [3, 3])
    nodes = [
        node('Conv', ['x', 'w1', 'b1'], ['c1'], 'conv1', [pads, kernel]),
        node('Relu', ['c1'], ['r1'], 'relu1'),
        node('Conv', ['r1', 'w2', 'b2'], ['c2'], 'conv2', [pads, kernel]),
        node('Add', ['r1', 'c2'], ['s'], 'add'),
        node('Relu', ['s'], ['r2'], 'relu2'),
        node('GlobalAveragePool', ['r2'], ['p'], 'pool'),
        node('Flatten', ['p'], ['f'], 'flatten'),
        node('Gemm', ['f', 'w3', 'b3'], ['y'], 'fc', [attribute_int('transB', 1)]),
    ]
    inits = [tensor('w1', [4, 1, 3, 3], [0.1] * 36), tensor('b1', [4], [0.0] * 4),
             tensor('w2', [4, 4, 3, 3], [0.05] * 144), tensor('b2', [4], [0.0] * 4),
             tensor('w3', [10, 4], [0.2] * 40), tensor('b3', [10], [0.0] * 10)]
    graph = b''.join(field(1, n) for n in nodes) + field(2, 'residual') + \
        b''.join(field(5, t) for t in inits) + field(11, value_info('x', ['N', 1, 8, 8])) + \
        field(12, value_info('y', ['N', 10])) + graph_extra
    return field(1, 8) + field(2, 'make_seeds') + field(7, graph) + field(8, field(2, 17))


def signature_model():
    """residual_model with what torch.export's exporter adds: each initializer's kind in its
    value_info's metadata (field 4, unknown to Debian's onnx.proto) and the program's signature
    as text in the graph's metadata (field 16), naming a parameter, a buffer the graph holds (b3)
    and a running mean it lacks (a BatchNormalization folded away)."""
    def entry(key, value):
        return field(1, key) + field(2, value)

    kind = 'pkg.torch.export.graph_signature.InputSpec.kind'
    signature = ("\n# inputs\np_w1: PARAMETER target='w1'\nb_b3: BUFFER target='b3' "
                 "persistent=True\nb_bn_running_mean: BUFFER target='bn.running_mean' "
                 "persistent=True\nx: USER_INPUT\n")
    infos = field(13, field(1, 'w1') + field(4, entry(kind, 'PARAMETER'))) + \
        field(13, field(1, 'b3') + field(4, entry(kind, 'BUFFER')))
    metadata = field(16, entry('pkg.torch.export.ExportedProgram.graph_signature', signature))
    return residual_model(infos + metadata)


def plan_header(batch, K, budget, choices):
    return struct.pack('<qBQB', batch, K, budget, choices) + bytes(6)


def idx(magic_dims, sizes, body):
    return struct.pack('>I', 0x800 | magic_dims) + b''.join(struct.pack('>I', s) for s in sizes) + body


def npy(dtype, shape, body):
    header = "{'descr': '%s', 'fortran_order': False, 'shape': (%s), }" % (
        dtype, ''.join('%d, ' % d for d in shape) if len(shape) == 1 else ', '.join(map(str, shape)))
    header += ' ' * (63 - (10 + len(header)) % 64) + '\n'
    return b'\x93NUMPY\x01\x00' + struct.pack('<H', len(header)) + header.encode() + body


def npz(compression):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, 'w', compression) as z:
        z.writestr('x_train.npy', npy('|u1', (3, 4, 5), bytes(range(60))))
        z.writestr('y_train.npy', npy('<i8', (3,), struct.pack('<3q', 0, 9, 4)))
        z.writestr('x_test.npy', npy('|u1', (1, 4, 5), bytes(range(20))))
        z.writestr('y_test.npy', npy('<i8', (1,), struct.pack('<q', 3)))
    return buffer.getvalue()


def png(width, height, colour_type, channels):
    rows = b''.join(b'\x00' + bytes((x * 7 + y * 3 + c) % 256 for x in range(width)
                                      for c in range(channels)) for y in range(height))
    def chunk(kind, data):
        return struct.pack('>I', len(data)) + kind + data + struct.pack('>I', zlib.crc32(kind + data))
    return b'\x89PNG\r\n\x1a\n' + chunk(b'IHDR', struct.pack('>IIBBBBB', width, height, 8, colour_type, 0, 0, 0)) + \
        chunk(b'IDAT', zlib.compress(rows)) + chunk(b'IEND', b'')


def write(path, data):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, 'wb') as f:
        f.write(data)


def main():
    model = residual_model()
    for name, batch, K, budget, choices in [
            ('batch1_k2', 1, 1, 0, 3), ('batch32_k3_budget', 32, 2, 1 << 20, 3),
            ('batch2pow31', 1 << 31, 1, 0, 3), ('batch99999999999', 99999999999, 1, 1 << 60, 1),
            ('batch_largest', 2147483647 // 256, 1, 0, 3), ('batch_negative', -5, 0, 0, 3)]:
        write('tests/fuzz/corpus/plan/%s.bin' % name, plan_header(batch, K, budget, choices) + model)
    # tests/fuzz/corpus/plan/regression-claimed-size.bin is not made here: libFuzzer found it
    # (2026-12-05, fuzz.plan in `make test`), an initializer whose dims claim 8.3 GB beside a few
    # bytes of data, which the decoder allocated before checking; it is kept as found.
    with open('tests/fuzz/corpus/onnx_load/regression-reshape-overflow.onnx', 'rb') as f:
        write('tests/fuzz/corpus/plan/regression-reshape-overflow.bin',
              plan_header(2, 1, 0, 3) + f.read())
    # onnx_load/torch_export_signature.onnx: the graph signature's fields (session 31)
    write('tests/fuzz/corpus/onnx_load/torch_export_signature.onnx', signature_model())
    images = idx(3, [3, 4, 5], bytes(range(60)))
    labels = idx(1, [3], bytes([0, 9, 4]))
    write('tests/fuzz/corpus/dataset/idx.bin', bytes([0]) + struct.pack('<I', len(images)) + images + labels)
    gz_images = gzip.compress(images, mtime=0)
    write('tests/fuzz/corpus/dataset/idx_gzip.bin',
          bytes([0]) + struct.pack('<I', len(gz_images)) + gz_images + gzip.compress(labels, mtime=0))
    record10 = bytes([7]) + bytes(i % 251 for i in range(3072))
    write('tests/fuzz/corpus/dataset/cifar10.bin', bytes([1]) + struct.pack('<I', len(record10)) + record10 + record10)
    record100 = bytes([19, 99]) + bytes(i % 13 for i in range(3072))
    write('tests/fuzz/corpus/dataset/cifar100.bin', bytes([2]) + struct.pack('<I', 2 * len(record100)) + 2 * record100)
    for name, compression in [('npz_stored', zipfile.ZIP_STORED), ('npz_deflated', zipfile.ZIP_DEFLATED)]:
        archive = npz(compression)
        write('tests/fuzz/corpus/dataset/%s.bin' % name, bytes([3]) + struct.pack('<I', len(archive)) + archive)
    for name, colour_type, channels in [('png_grey', 0, 1), ('png_rgb', 2, 3), ('png_rgba', 6, 4)]:
        image = png(9, 7, colour_type, channels)
        write('tests/fuzz/corpus/dataset/%s.bin' % name, bytes([4]) + struct.pack('<I', len(image)) + image)
    # program/: real compiled programs of the bundled MLP (the smallest module encodings), end to
    # end and K = 2 at batch 8, made by the Release build with
    #   ./build/infopro compile models/mlp_fmnist.onnx --data fashion-mnist --batch 8 [-K 2] -o DIR
    # into /tmp/ipro-seed-mlp1 and /tmp/ipro-seed-mlp2, then cut here: the embedded model (which
    # the reader does not parse) shortened to its first 64 bytes, the frame's length and CRC made
    # again. Skipped when those folders are missing. They are of program format version 5; the
    # same programs of versions 2, 3 and 4 (mlp_*_version2.ipro to mlp_*_version4.ipro) were
    # written by earlier infopro builds and are kept, so that the older layouts stay fuzzed.
    with open('models/mlp_fmnist.onnx', 'rb') as f:
        model_bytes = len(f.read())
    for K, name in [(1, 'mlp_e2e'), (2, 'mlp_k2')]:
        path = '/tmp/ipro-seed-mlp%d/program.ipro' % K
        if os.path.exists(path):
            with open(path, 'rb') as f:
                write('tests/fuzz/corpus/program/%s.ipro' % name, cut_program(f.read(), model_bytes))
    # checkpoint/: version 3 (session 26) is version 2 followed by a split flag and, where it is
    # 1, the split's record (runtime/split_record.c), then the normalisation (a channel count,
    # the means, the stds); made from version_2_class_names.ipck.
    with open('tests/fuzz/corpus/checkpoint/version_2_class_names.ipck', 'rb') as f:
        v2 = f.read()
    write('tests/fuzz/corpus/checkpoint/version_3_no_split.ipck',
          checkpoint_v3(v2, struct.pack('<II', 0, 0)))
    write('tests/fuzz/corpus/checkpoint/version_3_split_k3.ipck',
          checkpoint_v3(v2, struct.pack('<I', 1) + split_record() +
                        struct.pack('<I3f3f', 3, 0.4914, 0.4822, 0.4465, 0.247, 0.2435, 0.2616)))


def split_record():
    """K = 3 cut at two tensors: the heads 1c2f with the paper's decoder, contrastive loss, 10
    classes, 1 channel, lambda 5,1 -> 0,1, chosen automatically, the second module's 0c1f reduced."""
    def string(text):
        return struct.pack('<I', len(text)) + text.encode()
    return (struct.pack('<I', 3) + string('/Relu_output_0') + string('/layer1/Relu_1_output_0') +
            struct.pack('<6I', 1, 2, 0, 0, 10, 1) + struct.pack('<4f', 5, 0, 1, 1) +
            struct.pack('<3I', 1, 0, 2) + struct.pack('<6I', 1, 2, 0, 0, 1, 1))


def checkpoint_v3(v2, tail):
    """A version-2 checkpoint as version 3 with `tail` after its payload, the frame made again."""
    assert v2[8:12] == struct.pack('<I', 2)
    payload = v2[24:] + tail
    return v2[:8] + struct.pack('<IIQ', 3, zlib.crc32(payload), len(payload)) + payload


def cut_program(program, model_bytes):
    """The program with its embedded model (its last field: u64 length, then the bytes) cut to
    64 bytes, in a frame made again (magic, version, CRC-32 of the payload, payload length)."""
    payload = program[24:]
    assert struct.unpack('<Q', payload[-model_bytes - 8:-model_bytes])[0] == model_bytes
    payload = payload[:-model_bytes - 8] + struct.pack('<Q', 64) + payload[-model_bytes:][:64]
    return program[:12] + struct.pack('<IQ', zlib.crc32(payload), len(payload)) + payload


main()
