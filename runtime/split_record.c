/* A training run's split in a program file or a checkpoint (split_record.h). */
#include "split_record.h"

#include <math.h>
#include <string.h>

#include "runtime/dataset.h"

static void put_head(ipro_byte_writer *w, int convs, int fcs, ipro_decoder_kind decoder) {
  ipro_put_u32(w, (uint32_t)convs);
  ipro_put_u32(w, (uint32_t)fcs);
  ipro_put_u32(w, (uint32_t)decoder);
}

void ipro_split_put(ipro_byte_writer *w, const ipro_split_record *split) {
  ipro_put_u32(w, (uint32_t)split->K);
  for (int k = 0; k + 1 < split->K; k++)
    ipro_put_string(w, split->cuts[k]);
  const ipro_local_settings *l = &split->local;
  const ipro_head_options *h = &l->heads;
  put_head(w, h->convs, h->fcs, h->decoder);
  ipro_put_u32(w, (uint32_t)h->aux_loss);
  ipro_put_u32(w, (uint32_t)h->classes);
  ipro_put_u32(w, (uint32_t)h->image_channels);
  for (int i = 0; i < 2; i++) {
    ipro_put_f32(w, l->lambda_first[i]);
    ipro_put_f32(w, l->lambda_last[i]);
  }
  ipro_put_u32(w, l->choose_heads ? 1 : 0);
  ipro_put_u32(w, l->decoder_fixed ? 1 : 0);
  ipro_put_u32(w, (uint32_t)l->n_module_heads);
  for (int k = 0; k < l->n_module_heads; k++)
    put_head(w, l->module_heads[k].convs, l->module_heads[k].fcs, l->module_heads[k].decoder);
}

static void get_head(ipro_byte_reader *r, ipro_head_choice *head) {
  head->convs = (int)ipro_get_u32(r);
  head->fcs = (int)ipro_get_u32(r);
  head->decoder = (ipro_decoder_kind)ipro_get_u32(r);
}

static bool head_valid(const ipro_head_choice *h) {
  return h->convs >= 0 && h->convs <= 3 && h->fcs >= 1 && h->fcs <= 3 &&
         (unsigned)h->decoder <= IPRO_DECODER_REDUCED;
}

static bool flag_valid(uint32_t v, bool *flag) {
  *flag = v == 1;
  return v <= 1;
}

/* Whether the local settings are in the ranges the reader takes. */
static bool local_valid(int K, const ipro_local_settings *l) {
  const ipro_head_options *h = &l->heads;
  ipro_head_choice shape = {h->convs, h->fcs, h->decoder};
  if (!head_valid(&shape) || (unsigned)h->aux_loss > IPRO_AUX_LOSS_CROSS_ENTROPY ||
      h->classes < 1 || h->classes > IPRO_DATASET_MAX_CLASSES || h->image_channels < 1 ||
      h->image_channels > 4 || l->n_module_heads != K - 1)
    return false;
  for (int i = 0; i < 2; i++)
    if (!isfinite(l->lambda_first[i]) || !isfinite(l->lambda_last[i])) return false;
  for (int k = 0; k < l->n_module_heads; k++)
    if (!head_valid(&l->module_heads[k])) return false;
  return true;
}

const char *ipro_split_check(const ipro_split_record *split) {
  if (split->K < 1 || split->K > IPRO_MAX_MODULES) return "the number of modules";
  for (int k = 0; k + 1 < split->K; k++)
    if (!split->cuts[k][0] || !memchr(split->cuts[k], '\0', sizeof split->cuts[k]))
      return "a cut tensor's name";
  return local_valid(split->K, &split->local) ? NULL : "the local-training settings";
}

const char *ipro_split_get(ipro_byte_reader *r, ipro_split_record *out) {
  uint32_t K = ipro_get_u32(r);
  if (r->short_read || K < 1 || K > IPRO_MAX_MODULES) return "the number of modules";
  out->K = (int)K;
  for (uint32_t k = 0; k + 1 < K; k++)
    if (!ipro_get_string(r, out->cuts[k], sizeof out->cuts[k]) || !out->cuts[k][0])
      return "a cut tensor's name";
  ipro_local_settings *l = &out->local;
  ipro_head_choice shape;
  get_head(r, &shape);
  l->heads.convs = shape.convs;
  l->heads.fcs = shape.fcs;
  l->heads.decoder = shape.decoder;
  l->heads.aux_loss = (ipro_aux_loss)ipro_get_u32(r);
  l->heads.classes = (int)ipro_get_u32(r);
  l->heads.image_channels = (int)ipro_get_u32(r);
  for (int i = 0; i < 2; i++) {
    l->lambda_first[i] = ipro_get_f32(r);
    l->lambda_last[i] = ipro_get_f32(r);
  }
  bool flags_valid = flag_valid(ipro_get_u32(r), &l->choose_heads) &&
                     flag_valid(ipro_get_u32(r), &l->decoder_fixed);
  uint32_t n = ipro_get_u32(r);
  if (r->short_read || !flags_valid || n != K - 1) return "the local-training settings";
  l->n_module_heads = (int)n;
  for (int k = 0; k < l->n_module_heads; k++)
    get_head(r, &l->module_heads[k]);
  l->K = (int)K;
  if (r->short_read || !local_valid(out->K, l)) return "the local-training settings";
  return NULL;
}

bool ipro_split_same_cuts_and_heads(const ipro_split_record *a, const ipro_split_record *b) {
  if (a->K != b->K) return false;
  for (int k = 0; k + 1 < a->K; k++) {
    const ipro_head_choice *x = &a->local.module_heads[k], *y = &b->local.module_heads[k];
    if (strcmp(a->cuts[k], b->cuts[k]) != 0 || x->convs != y->convs || x->fcs != y->fcs ||
        x->decoder != y->decoder)
      return false;
  }
  return true;
}
