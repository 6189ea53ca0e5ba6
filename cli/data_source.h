/* Opening the --data of `train` and `eval` when the data depends on the model: an image folder is
 * decoded straight to the model's input size and channel count, and an npz's NCHW/NHWC ambiguity
 * is settled by the model's channels. Also the reports that only users' own data needs: the class
 * mapping, skipped images, and the measured normalisation. */
#ifndef IPRO_CLI_DATA_SOURCE_H
#define IPRO_CLI_DATA_SOURCE_H

#include <stdbool.h>

#include "runtime/dataset.h"

/* Loads `split` of spec_text for model (whose first input's declared [N, C, H, W] is read only
 * for imagefolder and npz). strict: an unreadable image is an error instead of a warning.
 * uncropped: an image folder's training split is kept uncropped for random-resized-crop
 * (ignored otherwise). Prints a warning line per skipped image to stderr, and one counting the
 * files of image formats infopro does not read when there are any, and the decoding rate for an
 * image folder. */
ipro_status ipro_cli_open_dataset(const char *model, const char *spec_text, bool strict,
                                  bool uncropped, ipro_dataset_split split, ipro_dataset *out,
                                  ipro_error *err);

/* Prints the class index of every class folder (image folders only). */
void ipro_cli_print_classes(const ipro_dataset *data);

/* Writes "INDEX NAME" lines into path (image folders only; nothing otherwise). */
ipro_status ipro_cli_write_classes(const ipro_dataset *data, const char *path, ipro_error *err);

#endif
