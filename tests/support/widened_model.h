/* A classifier of any number of classes for the tests of datasets with many of them: the bundled
 * models/mlp_fmnist.onnx (1x28x28 images, 784-256-128 hidden units) with its last layer widened
 * from 10 logits to `classes`. */
#ifndef IPRO_TEST_WIDENED_MODEL_H
#define IPRO_TEST_WIDENED_MODEL_H

#include <stdbool.h>

/* Writes the widened model to path: the last Gemm's weight [classes, 128] filled with fixed
 * pseudo-random values in [-0.05, 0.05], its bias [classes] with zeros, and the declared output
 * [N, classes]; every other tensor as the bundled file has it. False (after a failed check) when
 * the bundled model is not the one described or the file cannot be written. */
bool ipro_test_write_widened_mlp(const char *path, int classes);

#endif
