/* The per-epoch figures of `infopro train --json` (epoch_history.h). */
#include "epoch_history.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

ipro_status ipro_cli_epoch_history_reserve(ipro_cli_epoch_history *h, int64_t epochs,
                                           ipro_error *err) {
  memset(h, 0, sizeof *h);
  if (epochs <= 0) return IPRO_OK;
  h->capacity = epochs < IPRO_CLI_HISTORY_MAX_EPOCHS ? epochs : IPRO_CLI_HISTORY_MAX_EPOCHS;
  h->records = calloc((size_t)h->capacity, sizeof *h->records);
  if (!h->records) {
    h->capacity = 0;
    return ipro_error_set(err, "out of memory for the history of %lld epochs", (long long)epochs);
  }
  return IPRO_OK;
}

void ipro_cli_epoch_history_add(ipro_cli_epoch_history *h, const ipro_cli_epoch_record *record,
                                const char *const *local_names, int n_local) {
  if (h->n >= h->capacity) {
    h->left_out++;
    return;
  }
  if (h->n == 0) {
    h->n_local = n_local < IPRO_CLI_HISTORY_MAX_LOSSES ? n_local : IPRO_CLI_HISTORY_MAX_LOSSES;
    for (int l = 0; l < h->n_local; l++)
      snprintf(h->local_names[l], sizeof h->local_names[l], "%s", local_names[l]);
  }
  h->records[h->n++] = *record;
}

void ipro_cli_epoch_history_json(const ipro_cli_epoch_history *h, ipro_json_writer *w) {
  ipro_json_begin_array(w, "history");
  for (int64_t i = 0; i < h->n; i++) {
    const ipro_cli_epoch_record *e = &h->records[i];
    ipro_json_begin_object(w, NULL);
    ipro_json_int(w, "epoch", e->epoch);
    ipro_json_double(w, "loss", e->loss);
    ipro_json_double(w, "test_accuracy", e->test_accuracy);
    ipro_json_double(w, "test_loss", e->test_loss);
    ipro_json_double(w, "learning_rate", e->learning_rate);
    ipro_json_double(w, "seconds", e->seconds);
    if (h->n_local > 0) {
      ipro_json_begin_object(w, "local_losses");
      for (int l = 0; l < h->n_local; l++)
        ipro_json_double(w, h->local_names[l], e->local_losses[l]);
      ipro_json_end_object(w);
    }
    ipro_json_end_object(w);
  }
  ipro_json_end_array(w);
  if (h->left_out) ipro_json_int(w, "history_left_out", h->left_out);
}

void ipro_cli_epoch_history_free(ipro_cli_epoch_history *h) {
  free(h->records);
  memset(h, 0, sizeof *h);
}
