/* The split of a training run as the files that carry it record it: K, the K-1 cut tensors' names
 * and the local settings its heads were built with (the heads' shape, loss, classes and image
 * channels, λ, and each local module's chosen heads). A compiled program (schemas/program.md)
 * and, since version 3, a checkpoint (schemas/checkpoint.md) write it with the same bytes, so
 * that `--resume` can take the split of the run that wrote the checkpoint. */
#ifndef IPRO_SPLIT_RECORD_H
#define IPRO_SPLIT_RECORD_H

#include <stdbool.h>

#include "ir/local_settings.h"
#include "runtime/framed_file.h"

#define IPRO_SPLIT_NAME_BYTES 512

typedef struct {
  int K; /* 0: none recorded (a checkpoint of version 1 or 2) */
  char cuts[IPRO_MAX_MODULES][IPRO_SPLIT_NAME_BYTES]; /* K-1 tensor names, in network order */
  /* Of these only what ipro_split_put writes: heads (convs, fcs, decoder, aux_loss, classes,
   * image_channels), lambda_first/last, choose_heads, decoder_fixed, K and the K-1 module_heads
   * (n_module_heads). */
  ipro_local_settings local;
} ipro_split_record;

/* Writes K, the K-1 cuts and the local settings. */
void ipro_split_put(ipro_byte_writer *w, const ipro_split_record *split);
/* Reads what ipro_split_put wrote into *out (the local settings' other fields left as they are):
 * NULL, or what is malformed ("the number of modules", "a cut tensor's name" or "the
 * local-training settings"). */
const char *ipro_split_get(ipro_byte_reader *r, ipro_split_record *out);

/* What of a record its reader would refuse (as ipro_split_get names it), or NULL: a record is
 * written only where it can be read back. */
const char *ipro_split_check(const ipro_split_record *split);

/* Whether two records name the same cuts and the same heads for each local module. */
bool ipro_split_same_cuts_and_heads(const ipro_split_record *a, const ipro_split_record *b);

#endif
