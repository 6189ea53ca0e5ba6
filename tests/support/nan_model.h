/* Models whose weights hold values that are not finite, or come to hold them in training while
 * every loss stays finite, written from the bundled models: for the tests of the commands that
 * refuse such a model before any work, and of "training diverged" on the trained values
 * themselves (cli/finite_parameters.h). */
#ifndef IPRO_TEST_NAN_MODEL_H
#define IPRO_TEST_NAN_MODEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* source (relative to the current folder: the source folder in the tests) with the first `count`
 * values of one float initializer set to value, written to path: the initializer named
 * `initializer`, or where that is NULL the first one-dimensional one in file order (a bias),
 * whose name goes into name (when not NULL). *elements (when not NULL) is that initializer's
 * value count. False (after a failed check) when there is no such initializer, it has fewer than
 * count values, or the file cannot be written. The model is rewritten with protobuf-c from its
 * decoded message, so everything else in it is as the source has it. */
bool ipro_test_write_model_with_value(const char *source, const char *initializer, float value,
                                      int count, const char *path, char *name, size_t size,
                                      int64_t *elements);

/* The running variance (input 4) of source's first BatchNormalization node, into name; false
 * (after a failed check) when it has none. */
bool ipro_test_batchnorm_variance(const char *source, char *name, size_t size);

/* models/mlp_fmnist.onnx made to diverge in its weights alone, written to path, the bias that
 * does into name. Every value is finite, but the first unit of the second hidden layer has a bias
 * of 1e38 and no weight to the logits (its column of the last layer is 0), so it changes no loss
 * and gets no gradient. Trained one step with IPRO_TEST_DIVERGING_OPTIONS, the weight decay
 * overflows that bias to -infinity (SGD with Nesterov momentum multiplies every weight by
 * 1 - 1.9 * 0.1 * 50 = -8.5), after which the ReLU makes the unit 0: the training and test losses
 * stay finite while the weights are not. More steps would carry the overflow into the last layer
 * and the test loss, so the tests train one batch (--limit 32 --batch 32). */
#define IPRO_TEST_DIVERGING_OPTIONS "--lr 0.1 --weight-decay 50"
bool ipro_test_write_diverging_bias_model(const char *path, char *name, size_t size);

#endif
