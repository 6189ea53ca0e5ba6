"""CIFAR-10-shaped data in CIFAR-10's binary format, for benchmarks whose figures depend only on
the shapes: TRAIN training and TEST test records of a label byte (i % 10) and 3072 random pixels
(seed 0), in DIR/data_batch_1.bin (the other four batches hold one record, since the reader
refuses empty files) and DIR/test_batch.bin.

    python3 bench/make_cifar_shaped.py DIR TRAIN TEST
"""
import os
import random
import sys

directory, train, test = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
os.makedirs(directory, exist_ok=True)
rng = random.Random(0)


def write(name, count):
    with open(os.path.join(directory, name), "wb") as f:
        for i in range(count):
            f.write(bytes([i % 10]) + rng.randbytes(3072))


write("data_batch_1.bin", train)
for b in range(2, 6):
    write("data_batch_%d.bin" % b, 1)
write("test_batch.bin", test)
