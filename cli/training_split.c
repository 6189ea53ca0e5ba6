/* The split of a training run, searched for the model (training_split.h). */
#include "training_split.h"

#include <stdio.h>
#include <string.h>

#include "freezing.h"
#include "frontend/cost.h"
#include "partitioner/infopro_heads.h"
#include "partitioner/plan.h"

void ipro_cli_print_calibration(const ipro_module_costing *costing) {
  const ipro_step_calibration *calibration = ipro_module_costing_calibration(costing);
  if (calibration)
    printf("calibrated on %d timed steps of the K = %d programs at the middle cut point: "
           "kernels %.1f ms of %.1f ms per step\n",
           calibration->steps, calibration->modules, 1e3 * calibration->measured_seconds,
           1e3 * calibration->run_seconds);
}

ipro_status ipro_cli_split_for_training(const char *model, const ipro_cli_local_options *l,
                                        const ipro_local_settings *settings, ipro_device device,
                                        bool reference, ipro_cli_training_split *out,
                                        ipro_error *err) {
  memset(out, 0, sizeof *out);
  out->K = 1;
  /* No split option trains end to end: the K = 1 plan, chosen by the same call as -K 1, so that
   * its planned peak is the planner's and what planning leaves for the trainer to reuse (oneDNN's
   * primitive cache, the generated kernels) is made before the trainer, whichever option chose. */
  bool chosen = l->K || l->budget_bytes || l->n_cuts || l->plan_path;
  ipro_graph *network = NULL;
  if (ipro_graph_open(model, settings->batch, &network, err) != IPRO_OK) return IPRO_ERROR;
  ipro_graph_cost cost = {0};
  ipro_status status = ipro_cli_freeze(network, l, model, err);
  if (status == IPRO_OK) status = ipro_graph_cost_compute(network, &cost, err);
  ipro_module_costing *costing = NULL;
  if (status == IPRO_OK)
    cost.n_cut_points = ipro_heads_attachable_cuts(network, cost.cut_points, cost.n_cut_points);
  if (status == IPRO_OK)
    cost.n_cut_points =
        ipro_graph_cuts_after_parameters(network, cost.cut_points, cost.n_cut_points);
  if (status == IPRO_OK)
    status = ipro_module_costing_create_on(network, cost.cut_points, cost.n_cut_points, settings,
                                           device, reference, &costing, err);
  ipro_plan plan;
  if (status == IPRO_OK && l->calibrate)
    status = ipro_module_costing_calibrate(costing, IPRO_CLI_CALIBRATION_STEPS, err);
  if (status == IPRO_OK && l->calibrate) ipro_cli_print_calibration(costing);
  if (status == IPRO_OK) {
    ipro_module_coster backend = ipro_module_costing_coster(costing);
    const char *names[IPRO_MAX_MODULES];
    ipro_plan_settings plan_settings = {.split = ipro_cli_split_request(l, names),
                                        .local = *settings,
                                        .balance_time = l->balance_time};
    if (!chosen) plan_settings.split.K = 1;
    plan_settings.local.choose_heads = l->local.choose_heads;
    status = ipro_plan_choose(network, &cost, &plan_settings, &backend, &plan, err);
  }
  if (status == IPRO_OK) {
    if (plan.note) printf("note: %s\n", plan.note);
    if (plan.plan_batch && plan.plan_batch != settings->batch)
      printf("note: %s was made at batch %lld; its cuts are costed again at batch %lld (the head "
             "limit it was chosen under is kept)\n",
             l->plan_path, (long long)plan.plan_batch, (long long)settings->batch);
    out->K = plan.K;
    for (int k = 0; k + 1 < plan.K; k++)
      snprintf(out->cut_names[k], sizeof out->cut_names[k], "%s",
               network->tensors[plan.cuts[k]].name);
    out->planned_peak = plan.split.peak_bytes;
    out->e2e_peak = plan.e2e.peak_bytes;
    memcpy(out->heads, plan.heads, sizeof out->heads);
    /* the work that balances an MPI pipeline's stages (cli/train.c, choose_stages): the plan file's
     * measured times where it has them, for these modules */
    out->work_is_time = plan.K > 1 && plan.plan_module_seconds[0] > 0;
    for (int k = 0; k < plan.K && out->work_is_time; k++)
      out->module_work[k] = (uint64_t)(1e9 * plan.plan_module_seconds[k] + 0.5);
    for (int k = 0; k < plan.K && plan.K > 1 && !out->work_is_time && status == IPRO_OK; k++)
      status = ipro_module_costing_flops(costing, k, plan.K, plan.split.boundaries[k],
                                         plan.split.boundaries[k + 1], &out->module_work[k], err);
  }
  ipro_module_costing_free(costing);
  ipro_graph_cost_release(&cost); /* safe on a failed computation */
  ipro_graph_free(network);
  return status;
}
