/* What the pipeline's ranks hold, brought together on rank 0 (pipeline.h; with replicas, within
 * each replica, whose module-0 rank receives it): the trained state as
 * one whole-plan checkpoint, and per-rank values such as the epoch's loss sums. Each rank
 * serialises its part with the checkpoint's own encoder (runtime/checkpoint.h), so what travels
 * is checked on arrival (sizes, CRC) like a file would be. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pipeline_internal.h"

/* Gathers each rank's `bytes` on rank 0: *all (rank 0 only, malloc'd) with offsets[r], sizes[r]. */
static ipro_status gather_bytes(ipro_pipeline *p, const uint8_t *bytes, size_t size, uint8_t **all,
                                int *sizes, int *offsets, ipro_error *err) {
  *all = NULL;
  if (size > (size_t)INT32_MAX)
    return ipro_error_set(err, "rank %d's state is %zu bytes, over MPI's int count", p->rank, size);
  int mine = (int)size;
  if (IPRO_MPI(MPI_Gather(&mine, 1, MPI_INT, sizes, 1, MPI_INT, 0, p->comm), err) != IPRO_OK)
    return IPRO_ERROR;
  size_t total = 0;
  if (p->rank == 0) {
    for (int r = 0; r < p->size; r++) {
      if (total + (size_t)sizes[r] > (size_t)INT32_MAX)
        return ipro_error_set(err, "the ranks' state is over MPI's int count of bytes");
      offsets[r] = (int)total;
      total += (size_t)sizes[r];
    }
    *all = malloc(total ? total : 1);
    if (!*all) return ipro_error_set(err, "out of memory gathering the ranks' state");
  }
  return IPRO_MPI(MPI_Gatherv(bytes, mine, MPI_BYTE, *all, sizes, offsets, MPI_BYTE, 0, p->comm),
                  err);
}

/* Moves the tensors of `part` to the end of `whole` (part is left empty). */
static ipro_status append(ipro_checkpoint *whole, ipro_checkpoint *part, ipro_error *err) {
  ipro_checkpoint_tensor *grown =
      realloc(whole->tensors, sizeof *grown * (size_t)(whole->n_tensors + part->n_tensors + 1));
  if (!grown) return ipro_error_set(err, "out of memory gathering the ranks' state");
  whole->tensors = grown;
  memcpy(whole->tensors + whole->n_tensors, part->tensors, sizeof *grown * (size_t)part->n_tensors);
  whole->n_tensors += part->n_tensors;
  part->n_tensors = 0;
  return IPRO_OK;
}

ipro_status ipro_pipeline_gather_state(ipro_pipeline *p, const ipro_training_position *position,
                                       ipro_checkpoint *out, ipro_error *err) {
  memset(out, 0, sizeof *out);
  ipro_checkpoint mine;
  uint8_t *bytes = NULL, *all = NULL;
  size_t size = 0;
  int *sizes = calloc((size_t)p->size * 2, sizeof(int));
  ipro_status status = sizes ? IPRO_OK : ipro_error_set(err, "out of memory");
  if (status == IPRO_OK) status = ipro_checkpoint_capture(p->trainer, position, &mine, err);
  if (status == IPRO_OK) {
    status = ipro_checkpoint_encode(&mine, &bytes, &size, err);
    ipro_checkpoint_release(&mine);
  }
  if (status == IPRO_OK) status = gather_bytes(p, bytes, size, &all, sizes, sizes + p->size, err);
  if (status == IPRO_OK && p->rank == 0) {
    out->position = *position;
    for (int r = 0; status == IPRO_OK && r < p->size; r++) {
      char name[64];
      snprintf(name, sizeof name, "the state of rank %d", r);
      ipro_checkpoint part;
      status = ipro_checkpoint_decode(all + sizes[p->size + r], (size_t)sizes[r], name, &part, err);
      if (status == IPRO_OK) {
        if (r == 0) out->split = part.split; /* every rank's trainer holds the same split */
        status = append(out, &part, err);
        ipro_checkpoint_release(&part);
      }
    }
    if (status != IPRO_OK) ipro_checkpoint_release(out);
  }
  free(all);
  free(bytes);
  free(sizes);
  return status;
}

/* Whether one of the trainer's modules keeps a tensor of this name in its checkpoint. */
static bool held(ipro_trainer *trainer, const char *name) {
  for (int k = 0; k < ipro_trainer_module_count(trainer); k++) {
    int t = ipro_graph_find_tensor(ipro_trainer_module_graph(trainer, k), name);
    if (t >= 0 && ipro_checkpoint_holds(trainer, k, t)) return true;
  }
  return false;
}

ipro_status ipro_pipeline_restore(ipro_trainer *trainer, const ipro_checkpoint *checkpoint,
                                  const char *path, ipro_error *err) {
  /* a view of the tensors this rank holds; ipro_checkpoint_restore checks none is missing */
  ipro_checkpoint part = {.position = checkpoint->position};
  part.tensors = calloc((size_t)checkpoint->n_tensors + 1, sizeof *part.tensors);
  if (!part.tensors) return ipro_error_set(err, "out of memory restoring %s", path);
  for (int i = 0; i < checkpoint->n_tensors; i++)
    if (held(trainer, checkpoint->tensors[i].name))
      part.tensors[part.n_tensors++] = checkpoint->tensors[i];
  ipro_status status = ipro_checkpoint_restore(trainer, &part, path, err);
  free(part.tensors);
  return status;
}

ipro_status ipro_pipeline_gather_values(ipro_pipeline *p, const double *values,
                                        const char *const *names, int count, double *all_values,
                                        const char **all_names,
                                        char (*storage)[IPRO_PIPELINE_NAME_BYTES], int *all_count,
                                        ipro_error *err) {
  typedef struct {
    int count;
    double values[IPRO_PIPELINE_MAX_VALUES];
    char names[IPRO_PIPELINE_MAX_VALUES][IPRO_PIPELINE_NAME_BYTES];
  } rank_values;
  *all_count = 0;
  rank_values mine = {.count = count < IPRO_PIPELINE_MAX_VALUES ? count : IPRO_PIPELINE_MAX_VALUES};
  for (int i = 0; i < mine.count; i++) {
    mine.values[i] = values[i];
    snprintf(mine.names[i], IPRO_PIPELINE_NAME_BYTES, "%s", names[i]);
  }
  /* the replicas of a module report the same names: their mean */
  if (p->replicas > 1) {
    if (IPRO_MPI(MPI_Allreduce(MPI_IN_PLACE, mine.values, mine.count, MPI_DOUBLE, MPI_SUM,
                               p->module_comm),
                 err) != IPRO_OK)
      return IPRO_ERROR;
    for (int i = 0; i < mine.count; i++)
      mine.values[i] /= p->replicas;
  }
  rank_values *all = p->rank == 0 ? calloc((size_t)p->size, sizeof *all) : NULL;
  if (p->rank == 0 && !all) return ipro_error_set(err, "out of memory");
  ipro_status status = IPRO_MPI(
      MPI_Gather(&mine, (int)sizeof mine, MPI_BYTE, all, (int)sizeof mine, MPI_BYTE, 0, p->comm),
      err);
  for (int r = 0; status == IPRO_OK && all && r < p->size; r++)
    for (int i = 0; i < all[r].count && *all_count < IPRO_PIPELINE_MAX_VALUES; i++) {
      all_values[*all_count] = all[r].values[i];
      memcpy(storage[*all_count], all[r].names[i], IPRO_PIPELINE_NAME_BYTES);
      all_names[*all_count] = storage[*all_count];
      ++*all_count;
    }
  free(all);
  return status;
}
