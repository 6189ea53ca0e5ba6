/* Which class names a model was trained on, so that an image folder whose classes moved is
 * refused rather than scored with shifted labels. An image folder's class index is the sorted
 * position of its folder's name, so renaming, adding or removing a class folder silently
 * renumbers the classes after it. `infopro train` writes the names into the trained model's
 * metadata (key IPRO_CLI_CLASSES_METADATA) and `infopro eval` compares a folder with them; its
 * checkpoints hold them too (runtime/checkpoint.h), and `--resume` compares the same way. */
#ifndef IPRO_CLI_CLASS_MAPPING_H
#define IPRO_CLI_CLASS_MAPPING_H

#include "runtime/dataset.h"

#define IPRO_CLI_CLASSES_METADATA "infopro.classes"

/* The metadata value for data's classes: the names in index order joined by newlines, each with
 * its control characters escaped as ir/printable.h shows them (so a newline in a folder's name
 * cannot split it into two names; the classes file beside --out writes them the same way).
 * NULL when data has no class names (not an image folder) or on no memory; the caller frees. */
char *ipro_cli_classes_metadata(const ipro_dataset *data);

/* Fails with one message naming the first index whose names differ (and both names) when model's
 * metadata names classes other than data's; succeeds when they agree, when data has no class
 * names, and when the model carries no class names (a model not trained by infopro on an image
 * folder). spec names the data in the message. */
ipro_status ipro_cli_check_model_classes(const char *model, const ipro_dataset *data,
                                         const char *spec, ipro_error *err);

/* The same comparison against the class names a checkpoint holds (names[0..count), raw as the
 * folders are named; count 0 for a checkpoint without them, which succeeds), for --resume: a
 * run resumed on a folder whose classes moved would train on shifted labels. path names the
 * checkpoint in the message. */
ipro_status ipro_cli_check_checkpoint_classes(char *const *names, int count, const char *path,
                                              const ipro_dataset *data, const char *spec,
                                              ipro_error *err);

#endif
