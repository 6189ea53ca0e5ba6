/* A model whose weights hold a NaN that no loss sees, for the tests of "training diverged" on
 * the weights themselves (cli/finite_parameters.h). */
#ifndef IPRO_TEST_NAN_MODEL_H
#define IPRO_TEST_NAN_MODEL_H

#include <stdbool.h>
#include <stddef.h>

/* models/mlp_fmnist.onnx (read from the current folder, the source folder in the tests) with the
 * first value of its first bias (file order) made NaN, written to path; the bias's name into
 * name. A NaN there never reaches a loss: the ReLU after it turns the unit's activation into 0
 * and its gradient too, so the NaN stays in the weights while every loss is finite. False (after
 * a failed check) when it cannot be written. */
bool ipro_test_write_nan_bias_model(const char *path, char *name, size_t size);

#endif
