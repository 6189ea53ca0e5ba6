/* Building, planning and caching candidate modules' programs (see module_costing.h). */
#include "module_costing.h"

#include <stdlib.h>
#include <string.h>

#include "frontend/op_table.h"
#include "runtime/backend_settings.h"
#include "runtime/executor.h"
#include "runtime/planning_backend.h"

typedef struct {
  bool known;
  ipro_module_memory memory;
  int64_t flops, parameters, head_parameters;
  double seconds; /* predicted per step from the calibration, when there is one */
} cached_module;

/* The heads a local module can carry: the settings' own (index 0), the candidates of --aux-head
 * auto from the most faithful to the cheapest, and the zero-cost bound's. */
enum { HEADS_GIVEN, HEADS_CANDIDATE_FIRST, N_CANDIDATES = 4, HEADS_BOUND = 5, N_HEADS = 6 };
static const ipro_head_choice candidates[N_CANDIDATES] = {
    {1, 2, IPRO_DECODER_PAPER},
    {0, 2, IPRO_DECODER_PAPER},
    {1, 2, IPRO_DECODER_REDUCED},
    {0, 2, IPRO_DECODER_REDUCED},
};

struct ipro_module_costing {
  const ipro_graph *network;
  int *cuts;
  int n_cuts, B;
  ipro_local_settings settings;
  ipro_backend *backend, *fallback;
  cached_module *cache; /* [variant][heads][a][b], variant = decoder + 2·head */
  uint64_t head_limit;  /* --aux-head auto: the transient bytes a head may bring a module to */
  int programs_built;
  ipro_device device;
  bool reference;
  ipro_step_calibration *calibration; /* --calibrate; NULL: none */
};

ipro_status ipro_module_costing_create(const ipro_graph *network, const int *cut_points, int n_cuts,
                                       const ipro_local_settings *settings, bool reference,
                                       ipro_module_costing **out, ipro_error *err) {
  return ipro_module_costing_create_on(network, cut_points, n_cuts, settings, IPRO_DEVICE_CPU,
                                       reference, out, err);
}

ipro_status ipro_module_costing_create_on(const ipro_graph *network, const int *cut_points,
                                          int n_cuts, const ipro_local_settings *settings,
                                          ipro_device device, bool reference,
                                          ipro_module_costing **out, ipro_error *err) {
  *out = NULL;
  ipro_module_costing *c = calloc(1, sizeof *c);
  if (!c) return ipro_error_set(err, "out of memory");
  c->network = network;
  c->n_cuts = n_cuts;
  c->B = n_cuts + 2;
  c->settings = *settings;
  c->cuts = malloc(sizeof(int) * (size_t)(n_cuts + 1));
  c->head_limit = UINT64_MAX;
  c->device = device;
  c->reference = reference;
  c->cache = calloc(4 * N_HEADS * (size_t)c->B * (size_t)c->B, sizeof *c->cache);
  ipro_status status = c->cuts && c->cache ? IPRO_OK : ipro_error_set(err, "out of memory");
  if (status == IPRO_OK) memcpy(c->cuts, cut_points, sizeof(int) * (size_t)n_cuts);
  if (status == IPRO_OK)
    status = ipro_backend_create_for_planning(device, reference, &c->backend, &c->fallback, err);
  /* Candidate modules share most of their kinds of node: prepare each kind once. */
  if (status == IPRO_OK) status = ipro_planning_backend_create(c->backend, &c->backend, err);
  if (status == IPRO_OK) ipro_local_settings_for_backend(&c->settings, c->backend);
  if (status != IPRO_OK) {
    ipro_module_costing_free(c);
    return status;
  }
  *out = c;
  return IPRO_OK;
}

static int64_t count_parameters(const ipro_graph *g, const ipro_training_graph *t, bool heads) {
  int64_t total = 0;
  for (int p = 0; p < t->n_parameters; p++) {
    const ipro_tensor *param = &g->tensors[t->parameters[p]];
    bool is_head = ipro_is_head_tensor_name(param->name);
    if (is_head == heads) total += ipro_shape_elements(&param->shape);
  }
  return total;
}

static ipro_status build_and_plan(ipro_module_costing *c, int module, int K, int a, int b,
                                  int heads, cached_module *out, ipro_error *err) {
  ipro_local_settings settings = c->settings;
  settings.K = K;
  settings.n_module_heads = 0;
  settings.plan_only = true;
  if (heads == HEADS_BOUND) {
    /* The least any local loss needs: the gradient at the cut, through a global average pool
     * and one linear layer to the classes (N·C + N·classes floats, C·classes weights). */
    settings.heads.convs = 0, settings.heads.fcs = 1;
    settings.heads.aux_loss = IPRO_AUX_LOSS_CROSS_ENTROPY;
    settings.lambda_first[0] = settings.lambda_last[0] = 0;
    settings.lambda_first[1] = settings.lambda_last[1] = 1;
  } else if (heads != HEADS_GIVEN) {
    const ipro_head_choice *h = &candidates[heads - HEADS_CANDIDATE_FIRST];
    settings.heads.convs = h->convs, settings.heads.fcs = h->fcs;
    if (!settings.decoder_fixed) settings.heads.decoder = h->decoder;
  }
  int first = a == 0 ? -1 : c->cuts[a - 1];
  int last = b == c->B - 1 ? -1 : c->cuts[b - 1];
  ipro_graph *graph = NULL;
  ipro_training_graph training;
  if (ipro_module_program_build(c->network, first, last, module, &settings, &graph, &training,
                                err) != IPRO_OK)
    return IPRO_ERROR;
  ipro_executor_options plan_only = ipro_executor_module_plan_options(a == 0, b == c->B - 1);
  ipro_executor *executor = NULL;
  ipro_status status =
      ipro_executor_create_with(graph, c->backend, c->fallback, &plan_only, &executor, err);
  if (status == IPRO_OK) {
    ipro_module_memory_of(graph, ipro_executor_program(executor), a == 0, b == c->B - 1,
                          &out->memory);
    out->flops = 0;
    for (int n = 0; n < graph->n_nodes; n++)
      out->flops += ipro_op_info_of(graph->nodes[n].op)->flops(graph, &graph->nodes[n]);
    out->seconds = c->calibration ? ipro_step_calibration_seconds(c->calibration, graph) : 0;
    out->parameters = count_parameters(graph, &training, false);
    out->head_parameters = count_parameters(graph, &training, true);
    out->known = true;
    c->programs_built++;
  }
  ipro_executor_free(executor);
  ipro_training_graph_release(&training);
  ipro_graph_free(graph);
  return status;
}

static ipro_status lookup_heads(ipro_module_costing *c, int module, int K, int a, int b, int heads,
                                cached_module **out, ipro_error *err) {
  if (a < 0 || b >= c->B || a >= b) return ipro_error_set(err, "no module between %d and %d", a, b);
  int variant = 0;
  if (b != c->B - 1) {
    ipro_local_settings settings = c->settings;
    settings.K = K;
    float reconstruction, aux;
    ipro_local_lambdas(&settings, module, &reconstruction, &aux);
    variant = (reconstruction != 0) + 2 * (aux != 0);
  } else {
    heads = HEADS_GIVEN; /* the last module has no heads */
  }
  cached_module *entry = &c->cache[((variant * N_HEADS + heads) * c->B + a) * c->B + b];
  if (!entry->known && build_and_plan(c, module, K, a, b, heads, entry, err) != IPRO_OK)
    return IPRO_ERROR;
  *out = entry;
  return IPRO_OK;
}

/* Which heads the module carries: the settings' own, or with --aux-head auto the first
 * candidate whose transient bytes stay within the limit (the cheapest when none does). */
static ipro_status chosen_heads(ipro_module_costing *c, int module, int K, int a, int b, int *heads,
                                ipro_error *err) {
  *heads = HEADS_GIVEN;
  if (!c->settings.choose_heads || b == c->B - 1) return IPRO_OK;
  uint64_t cheapest = UINT64_MAX;
  for (int k = 0; k < N_CANDIDATES; k++) {
    if (c->settings.decoder_fixed && candidates[k].decoder != IPRO_DECODER_PAPER) break;
    cached_module *entry;
    if (lookup_heads(c, module, K, a, b, HEADS_CANDIDATE_FIRST + k, &entry, err) != IPRO_OK)
      return IPRO_ERROR;
    if (entry->memory.transient_bytes < cheapest) {
      cheapest = entry->memory.transient_bytes;
      *heads = HEADS_CANDIDATE_FIRST + k;
    }
    if (entry->memory.transient_bytes <= c->head_limit) {
      *heads = HEADS_CANDIDATE_FIRST + k;
      break;
    }
  }
  return IPRO_OK;
}

static ipro_status lookup(ipro_module_costing *c, int module, int K, int a, int b,
                          cached_module **out, ipro_error *err) {
  int heads;
  if (chosen_heads(c, module, K, a, b, &heads, err) != IPRO_OK) return IPRO_ERROR;
  return lookup_heads(c, module, K, a, b, heads, out, err);
}

static void cost_of(const cached_module *entry, ipro_module_cost *out) {
  out->transient_bytes = entry->memory.transient_bytes;
  out->persistent_bytes = entry->memory.persistent_bytes;
}

ipro_status ipro_module_costing_cost(void *context, int module, int K, int a, int b,
                                     ipro_module_cost *out, ipro_error *err) {
  cached_module *entry;
  if (lookup(context, module, K, a, b, &entry, err) != IPRO_OK) return IPRO_ERROR;
  cost_of(entry, out);
  return IPRO_OK;
}

ipro_status ipro_module_costing_bound_cost(void *context, int module, int K, int a, int b,
                                           ipro_module_cost *out, ipro_error *err) {
  cached_module *entry;
  if (lookup_heads(context, module, K, a, b, HEADS_BOUND, &entry, err) != IPRO_OK)
    return IPRO_ERROR;
  cost_of(entry, out);
  return IPRO_OK;
}

ipro_status ipro_module_costing_next_limit(void *context, int K, uint64_t limit, uint64_t *largest,
                                           ipro_error *err) {
  ipro_module_costing *c = context;
  uint64_t saved = c->head_limit;
  c->head_limit = limit;
  *largest = 0;
  /* A module on the last candidate has nothing cheaper to move to. Only the modules a split can
   * hold are asked: the first starts at the input, and module m ends early enough to leave a
   * boundary for each module after it (the others would be built for nothing: ConvMixer-768/32's
   * K = 2 plan built 16,269 programs for its 200-odd cut points, 19 s). */
  int last = HEADS_CANDIDATE_FIRST + (c->settings.decoder_fixed ? 1 : N_CANDIDATES - 1);
  ipro_status status = IPRO_OK;
  for (int module = 0; module + 1 < K && status == IPRO_OK; module++)
    for (int a = module; a < (module == 0 ? 1 : c->B - 1) && status == IPRO_OK; a++)
      for (int b = a + 1; b < c->B - (K - 1 - module) && status == IPRO_OK; b++) {
        int heads;
        cached_module *entry;
        status = chosen_heads(c, module, K, a, b, &heads, err);
        if (status == IPRO_OK && (heads == HEADS_GIVEN || heads == last)) continue;
        if (status == IPRO_OK) status = lookup_heads(c, module, K, a, b, heads, &entry, err);
        if (status == IPRO_OK && entry->memory.transient_bytes <= limit &&
            entry->memory.transient_bytes > *largest)
          *largest = entry->memory.transient_bytes;
      }
  c->head_limit = saved;
  return status;
}

void ipro_module_costing_set_head_limit(void *context, uint64_t transient_limit) {
  ipro_module_costing *c = context;
  c->head_limit = transient_limit;
}

ipro_status ipro_module_costing_heads(ipro_module_costing *c, int module, int K, int a, int b,
                                      ipro_head_choice *head, bool *limited, ipro_error *err) {
  int heads;
  if (chosen_heads(c, module, K, a, b, &heads, err) != IPRO_OK) return IPRO_ERROR;
  *limited = heads > HEADS_CANDIDATE_FIRST;
  if (heads == HEADS_GIVEN) {
    *head = (ipro_head_choice){c->settings.heads.convs, c->settings.heads.fcs,
                               c->settings.heads.decoder};
  } else {
    *head = candidates[heads - HEADS_CANDIDATE_FIRST];
    if (c->settings.decoder_fixed) head->decoder = c->settings.heads.decoder;
  }
  return IPRO_OK;
}

ipro_status ipro_module_costing_details(ipro_module_costing *c, int module, int K, int a, int b,
                                        ipro_module_memory *memory, int64_t *flops,
                                        int64_t *parameters, int64_t *head_parameters,
                                        ipro_error *err) {
  cached_module *entry;
  if (lookup(c, module, K, a, b, &entry, err) != IPRO_OK) return IPRO_ERROR;
  *memory = entry->memory;
  *flops = entry->flops;
  *parameters = entry->parameters;
  *head_parameters = entry->head_parameters;
  return IPRO_OK;
}

uint64_t ipro_module_costing_fixed_bytes(const ipro_module_costing *c) {
  return (uint64_t)ipro_tensor_bytes(&c->network->tensors[c->network->inputs[0]]) +
         sizeof(int64_t) * (uint64_t)c->settings.batch;
}

const char *ipro_module_costing_backend_name(const ipro_module_costing *c) {
  return c->backend->name;
}

int ipro_module_costing_programs_built(const ipro_module_costing *c) { return c->programs_built; }

void ipro_module_costing_free(ipro_module_costing *c) {
  if (!c) return;
  if (c->backend) c->backend->destroy(c->backend);
  if (c->fallback) c->fallback->destroy(c->fallback);
  free(c->cuts);
  free(c->cache);
  free(c->calibration);
  free(c);
}

ipro_status ipro_module_costing_calibrate(ipro_module_costing *c, int steps, ipro_error *err) {
  ipro_step_calibration *calibration = calloc(1, sizeof *calibration);
  if (!calibration) return ipro_error_set(err, "out of memory");
  if (ipro_step_calibration_measure(c->network, c->cuts, c->n_cuts, &c->settings, c->device,
                                    c->reference, steps, calibration, err) != IPRO_OK) {
    free(calibration);
    return IPRO_ERROR;
  }
  free(c->calibration);
  c->calibration = calibration;
  /* what was costed before has no prediction */
  memset(c->cache, 0, 4 * N_HEADS * (size_t)c->B * (size_t)c->B * sizeof *c->cache);
  return IPRO_OK;
}

const ipro_step_calibration *ipro_module_costing_calibration(const ipro_module_costing *c) {
  return c->calibration;
}

ipro_status ipro_module_costing_step_ns(void *context, int module, int K, int a, int b,
                                        uint64_t *work, ipro_error *err) {
  cached_module *entry;
  if (lookup(context, module, K, a, b, &entry, err) != IPRO_OK) return IPRO_ERROR;
  *work = entry->seconds > 0 ? (uint64_t)(entry->seconds * 1e9 + 0.5) : 0;
  return IPRO_OK;
}

ipro_status ipro_module_costing_flops(void *context, int module, int K, int a, int b,
                                      uint64_t *work, ipro_error *err) {
  ipro_module_memory memory;
  int64_t flops = 0, parameters = 0, head_parameters = 0;
  if (ipro_module_costing_details(context, module, K, a, b, &memory, &flops, &parameters,
                                  &head_parameters, err) != IPRO_OK)
    return IPRO_ERROR;
  *work = flops > 0 ? (uint64_t)flops : 0;
  return IPRO_OK;
}
