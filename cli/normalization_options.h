/* `--mean m1,m2,..` and `--std s1,s2,..`, the per-channel input normalisation that `infopro eval`
 * and `infopro train` both take: parsed from the command line, then laid over the dataset's
 * default normalisation once the dataset is loaded (its channel count is known only then). */
#ifndef IPRO_CLI_NORMALIZATION_OPTIONS_H
#define IPRO_CLI_NORMALIZATION_OPTIONS_H

#include <stdbool.h>

#include "runtime/dataset.h"

typedef struct {
  float mean[IPRO_DATASET_MAX_CHANNELS], std[IPRO_DATASET_MAX_CHANNELS];
  int n_mean, n_std; /* 0: the dataset's default */
} ipro_cli_normalization;

/* Consumes argv[*i] and its value when argv[*i] is --mean or --std: returns 1 when consumed
 * (advancing *i past the value), 0 when argv[*i] is another argument, 2 on a malformed value
 * (the message, naming `command` and the flag, is printed). */
int ipro_cli_normalization_option(const char *command, int argc, char **argv, int *i,
                                  ipro_cli_normalization *n);

/* Replaces data's mean and std by the ones given (each list must have one value per channel of
 * data, which `spec` names in the message); leaves data alone when neither was given. */
ipro_status ipro_cli_normalization_apply(const ipro_cli_normalization *n, const char *spec,
                                         ipro_dataset *data, ipro_error *err);

/* The normalisation a trained model carries: `infopro train --out` writes the one it trained
 * with (the dataset's, the measured one of users' data, or --mean/--std) into the model's
 * metadata_props under these keys, as comma-separated floats of nine significant digits (the
 * floats themselves), and `infopro eval` reads it back where neither --mean nor --std is given. */
#define IPRO_CLI_MEAN_METADATA "infopro.normalization.mean"
#define IPRO_CLI_STD_METADATA "infopro.normalization.std"
#define IPRO_CLI_NORMALIZATION_TEXT_BYTES (IPRO_DATASET_MAX_CHANNELS * 20)

/* values[0..count) as "a,b,c" with nine significant digits into text. */
void ipro_cli_normalization_text(const float *values, int count,
                                 char text[IPRO_CLI_NORMALIZATION_TEXT_BYTES]);
/* The normalisation model's metadata holds, into n (both lists, or n_mean = n_std = 0 where the
 * model has none or they do not parse); false where the model cannot be read. */
bool ipro_cli_model_normalization(const char *model, ipro_cli_normalization *n);

#endif
