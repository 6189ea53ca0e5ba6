/* The plan as JSON (plan.h, schemas/plan.schema.json): what ipro_plan_read (plan_file.h)
 * reads back with `--plan FILE`, and the figures beside it. */
#include <stdio.h>
#include <stdlib.h>

#include "frontend/json_writer.h"
#include "plan.h"
#include "plan_file.h"

/* A float option as the shortest decimal that reads back to it. */
static double short_decimal(float value) {
  char text[32];
  snprintf(text, sizeof text, "%.7g", (double)value);
  return strtod(text, NULL);
}

static void write_module(ipro_json_writer *w, const char *key, const ipro_plan *r,
                         const ipro_plan_module *m, int index, bool with_peak_without) {
  const ipro_graph *g = r->network;
  ipro_json_begin_object(w, key);
  if (index) ipro_json_int(w, "index", index);
  ipro_json_string(w, "first_node", g->nodes[m->first_node].name);
  ipro_json_string(w, "last_node", g->nodes[m->last_node].name);
  ipro_json_string(w, "output_tensor", g->tensors[m->output_tensor].name);
  ipro_json_int(w, "parameters", m->parameters);
  ipro_json_int(w, "head_parameters", m->head_parameters);
  ipro_json_int(w, "flops", m->flops);
  if (r->calibrated && m->step_seconds > 0) /* the schema asks for a time above 0 */
    ipro_json_double(w, "calibrated_step_seconds", m->step_seconds);
  ipro_json_int(w, "input_bytes", (int64_t)m->memory.input_bytes);
  ipro_json_int(w, "output_bytes", (int64_t)m->memory.output_bytes);
  ipro_json_int(w, "arena_bytes", (int64_t)m->memory.arena_bytes);
  ipro_json_int(w, "transient_bytes", (int64_t)m->memory.transient_bytes);
  ipro_json_int(w, "persistent_bytes", (int64_t)m->memory.persistent_bytes);
  ipro_json_int(w, "largest_workspace_bytes", (int64_t)m->memory.largest_workspace_bytes);
  if (with_peak_without) {
    ipro_json_int(w, "peak_without_cut_bytes", (int64_t)m->peak_without_cut_bytes);
    char shape[16], reason[256];
    const ipro_head_choice *h = &r->heads[index - 1];
    snprintf(shape, sizeof shape, "%dc%df", h->convs, h->fcs);
    ipro_json_begin_object(w, "head");
    ipro_json_string(w, "shape", shape);
    ipro_json_string(w, "decoder", ipro_decoder_name(h->decoder));
    ipro_json_bool(w, "limited", r->heads_limited[index - 1]);
    ipro_json_string(w, "why", ipro_plan_head_reason(r, index - 1, reason, sizeof reason));
    ipro_json_end_object(w);
  }
  ipro_json_end_object(w);
}

void ipro_plan_write(const ipro_plan *r, FILE *out) {
  const ipro_graph *g = r->network;
  const ipro_local_settings *s = &r->settings.local;
  ipro_json_writer w = {.out = out};
  ipro_json_begin_object(&w, NULL);
  ipro_json_string(&w, "format", "infopro-plan");
  ipro_json_int(&w, "version", IPRO_PLAN_VERSION);
  if (r->settings.made_by) ipro_json_string(&w, "infopro", r->settings.made_by);
  /* K and the cuts first: `--plan FILE` reads the first "cuts" array of the file. */
  ipro_json_int(&w, "K", r->K);
  ipro_json_begin_array(&w, "cuts");
  for (int k = 0; k + 1 < r->K; k++)
    ipro_json_string(&w, NULL, g->tensors[r->modules[k].output_tensor].name);
  ipro_json_end_array(&w);
  ipro_json_string(&w, "model", g->path);
  ipro_json_int(&w, "batch", g->batch);
  ipro_json_string(&w, "backend", r->backend_name);
  ipro_json_string(&w, "optimizer", r->optimizer_name);
  ipro_json_string(&w, "chosen_by", ipro_plan_chosen_by(r));
  ipro_json_begin_array(&w, "cut_points");
  for (int c = 0; c < r->cost->n_cut_points; c++)
    ipro_json_string(&w, NULL, g->tensors[r->cost->cut_points[c]].name);
  ipro_json_end_array(&w);
  ipro_json_begin_object(&w, "heads");
  ipro_json_string(&w, "shape", s->choose_heads ? "auto" : r->head_shape);
  ipro_json_string(&w, "loss", s->heads.aux_loss == IPRO_AUX_LOSS_CONTRAST ? "contrast" : "ce");
  ipro_json_begin_array(&w, "lambda");
  ipro_json_double(&w, NULL, short_decimal(s->lambda_first[0]));
  ipro_json_double(&w, NULL, short_decimal(s->lambda_first[1]));
  ipro_json_double(&w, NULL, short_decimal(s->lambda_last[0]));
  ipro_json_double(&w, NULL, short_decimal(s->lambda_last[1]));
  ipro_json_end_array(&w);
  ipro_json_int(&w, "image_channels", s->heads.image_channels);
  ipro_json_int(&w, "classes", s->heads.classes);
  ipro_json_end_object(&w);
  ipro_json_begin_array(&w, "modules");
  for (int k = 0; k < r->K; k++)
    write_module(&w, NULL, r, &r->modules[k], k + 1, k + 1 < r->K);
  ipro_json_end_array(&w);
  ipro_json_int(&w, "fixed_bytes", (int64_t)r->fixed_bytes);
  ipro_json_int(&w, "persistent_bytes", (int64_t)r->split.persistent_bytes);
  ipro_json_int(&w, "max_transient_bytes", (int64_t)r->split.max_transient_bytes);
  ipro_json_int(&w, "peak_bytes", (int64_t)r->split.peak_bytes);
  /* The whole network as the one module of end-to-end training. */
  write_module(&w, "e2e", r, &r->e2e_module, 0, false);
  ipro_json_int(&w, "e2e_peak_bytes", (int64_t)r->e2e.peak_bytes);
  ipro_json_double(&w, "reduction", ipro_plan_reduction(r));
  if (r->bound.K) {
    ipro_json_int(&w, "bound_peak_bytes", (int64_t)r->bound.peak_bytes);
    ipro_json_double(&w, "bound_kept", ipro_plan_bound_kept(r));
  }
  if (r->head_limit != UINT64_MAX) ipro_json_int(&w, "head_limit_bytes", (int64_t)r->head_limit);
  if (r->budget_bytes) {
    ipro_json_int(&w, "budget_bytes", (int64_t)r->budget_bytes);
    ipro_json_bool(&w, "fits", r->split.peak_bytes <= r->budget_bytes);
  }
  ipro_json_end_object(&w);
}
