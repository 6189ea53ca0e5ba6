/* The local-training settings' defaults and the λ of each module (module_program.h), apart from
 * the program builder, so that what reads settings links no graph building. */
#include <string.h>

#include "module_program.h"

void ipro_local_settings_defaults(ipro_local_settings *s) {
  memset(s, 0, sizeof *s);
  s->optimizer = IPRO_OPTIMIZER_SGD;
  s->heads.convs = 1;
  s->heads.fcs = 2;
  s->heads.aux_loss = IPRO_AUX_LOSS_CONTRAST;
  s->heads.classes = 10;
  s->heads.image_channels = 1;
  s->heads.std[0] = 1;
  s->heads.seed = 1;
  s->lambda_first[0] = 5;
  s->lambda_first[1] = 1;
  s->lambda_last[0] = 0;
  s->lambda_last[1] = 1;
  s->K = 2;
  s->choose_heads = true;
  s->fuse_relu = true;
  s->copy_output = true;
}

void ipro_local_lambdas(const ipro_local_settings *s, int module, float *reconstruction,
                        float *aux) {
  float t = s->K > 2 ? (float)module / (float)(s->K - 2) : 0.0f;
  *reconstruction = s->lambda_first[0] + t * (s->lambda_last[0] - s->lambda_first[0]);
  *aux = s->lambda_first[1] + t * (s->lambda_last[1] - s->lambda_first[1]);
}
