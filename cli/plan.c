/* `infopro plan MODEL.onnx [--batch B] [-K N | --budget BYTES | --cuts T1,.. | --plan FILE] ...`:
 * the split that `infopro train` would use with the same options, and what it costs. The plan is
 * the partitioner's (partitioner/plan.h), costed by the runtime's costing
 * (runtime/module_costing.h), which builds and plans each module's real training program, so its
 * numbers are the bytes the trainer allocates. This file parses the options, prints the plan beside
 * end-to-end training (K = 1) of the same network, and writes it as JSON (ipro_plan_write,
 * schemas/plan.schema.json, read back by `--plan FILE`) and as an HTML page (plan_html.c). */
#include "plan.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "commands.h"
#include "freezing.h"
#include "ir/atomic_file.h"
#include "ir/printable.h"
#include "ir/same_file.h"
#include "local_options.h"
#include "memory_report.h"
#include "output_file.h"
#include "output_paths.h"
#include "partitioner/infopro_heads.h"
#include "training_split.h"
#include "version.h"

static const char usage_head[] =
    "usage: infopro plan MODEL.onnx [--batch B] [-K N | --budget BYTES | --cuts T1,... |\n"
    "                    --plan FILE] [heads] [--json FILE|-] [--html FILE] [--reference]\n"
    "                    [--device cpu|cuda] [--balance memory|time] [--gflops G]\n"
    "Chooses where to cut MODEL into gradient-isolated modules (as `infopro train` would with the\n"
    "same options) and reports each module's memory and FLOPs beside end-to-end training.\n"
    "  --batch B               training batch size the memory is planned for (default 128)\n";
static const char usage_tail[] =
    "  --optimizer KIND        sgd or adamw: the optimizer state counted (default sgd)\n"
    "  --json FILE|-           also write the plan as JSON (schemas/plan.schema.json); '-' prints\n"
    "                          it on stdout instead of the table\n"
    "  --html FILE             also write a self-contained HTML page with memory charts\n"
    "  --reference             plan for the reference kernels instead of oneDNN\n"
    "  --device cpu|cuda       plan for the CPU (oneDNN, the default) or an NVIDIA GPU (cuDNN's\n"
    "                          workspaces differ from oneDNN's)\n"
    "  --gflops G              the FLOP rate module step times are shown at (default 40, about\n"
    "                          one core of the machine this was written on; measure yours with\n"
    "                          bench/pipeline_projection.sh)\n"
    "-K, --cuts and --plan are alternatives. --budget alone picks the fewest modules that fit;\n"
    "with one of them it only checks the plan against the budget (exit status 1 when it does\n"
    "not fit).\n";

static void print_usage(FILE *out) {
  fputs(usage_head, out);
  fputs(ipro_cli_local_usage, out);
  fputs(usage_tail, out);
}

static double mebibytes(uint64_t bytes) { return (double)bytes / 1048576.0; }

static void lambda_text(const ipro_local_settings *s, char *buffer, size_t size) {
  snprintf(buffer, size, "%g,%g -> %g,%g", s->lambda_first[0], s->lambda_first[1],
           s->lambda_last[0], s->lambda_last[1]);
}

void ipro_plan_peak_change(uint64_t peak, uint64_t end_to_end, char *text, size_t size) {
  char words[64];
  ipro_cli_peak_change(peak, end_to_end, words, sizeof words);
  if (peak > end_to_end)
    snprintf(text, size, "%s than end to end", words);
  else
    snprintf(text, size, "reduction %.1f%%",
             end_to_end ? 100.0 * (1.0 - (double)peak / (double)end_to_end) : 0.0);
}

static void print_table(const ipro_plan *r, int programs, double seconds) {
  const ipro_graph *g = r->network;
  const ipro_local_settings *s = &r->settings.local;
  char a[32], b[32], c[32], d[32], e[32], f[32], h[32], l[64];
  printf("model       %s\n", g->path);
  printf("batch       %" PRId64 ", %d cut points, backend %s, optimizer %s\n", g->batch,
         r->cost->n_cut_points, r->backend_name, r->optimizer_name);
  const char *by = ipro_plan_chosen_by(r);
  if (strcmp(by, "--plan") == 0 && r->plan_batch && r->plan_batch != g->batch)
    printf("split       the cuts of %s, made at batch %lld, costed again at batch %lld (the head "
           "limit it was chosen under is kept)\n",
           r->settings.split.plan_path, (long long)r->plan_batch, (long long)g->batch);
  else if (strcmp(by, "--plan") == 0)
    printf("split       the cuts of %s\n", r->settings.split.plan_path);
  else if (strcmp(by, "--balance time") == 0)
    printf("split       %d modules whose slowest module's step is the shortest (--balance time)\n",
           r->K);
  else if (strcmp(by, "--cuts") == 0)
    printf("split       the cuts given (--cuts)\n");
  else if (strcmp(by, "--budget") == 0)
    printf("split       the fewest modules that fit the budget (%d), smallest peak\n", r->K);
  else if (strcmp(by, "-K") == 0)
    printf("split       %d modules with the smallest peak (-K)\n", r->K);
  else
    printf("split       end to end (no -K, --budget, --cuts or --plan)\n");
  lambda_text(s, l, sizeof l);
  printf("heads       %s, %s loss, lambda (reconstruction,auxiliary) %s\n\n",
         s->choose_heads ? "auto (per cut)" : r->head_shape,
         s->heads.aux_loss == IPRO_AUX_LOSS_CONTRAST ? "contrastive" : "cross-entropy", l);

  /* node names as shown: control characters escaped (ir/printable.h) */
  char shown_first[IPRO_PRINTABLE_MAX], shown_last[IPRO_PRINTABLE_MAX];
  int width = 10;
  for (int k = 0; k < r->K; k++) {
    int first = (int)strlen(
        ipro_printable(g->nodes[r->modules[k].first_node].name, shown_first, sizeof shown_first));
    int last = (int)strlen(
        ipro_printable(g->nodes[r->modules[k].last_node].name, shown_last, sizeof shown_last));
    if (first > width) width = first;
    if (last > width) width = last;
  }
  printf("%-6s  %-*s  %-*s %11s %18s %14s %14s %14s %14s %11s  %s\n", "module", width, "first node",
         width, "last node", "parameters", "FLOPs/step", "arena", "handoff", "transient",
         "persistent", "head params", "heads");
  for (int k = 0; k <= r->K; k++) {
    const ipro_plan_module *m = k < r->K ? &r->modules[k] : &r->e2e_module;
    char label[16];
    if (k < r->K)
      snprintf(label, sizeof label, "%d", k + 1);
    else
      snprintf(label, sizeof label, "E2E");
    if (k == r->K) printf("\n");
    char heads[32] = "-";
    if (k + 1 < r->K)
      snprintf(heads, sizeof heads, "%dc%df %s", r->heads[k].convs, r->heads[k].fcs,
               ipro_decoder_name(r->heads[k].decoder));
    printf("%-6s  %-*s  %-*s %11s %18s %14s %14s %14s %14s %11s  %s\n", label, width,
           ipro_printable(g->nodes[m->first_node].name, shown_first, sizeof shown_first), width,
           ipro_printable(g->nodes[m->last_node].name, shown_last, sizeof shown_last),
           ipro_plan_grouped((uint64_t)m->parameters, a, sizeof a),
           ipro_plan_grouped((uint64_t)m->flops, b, sizeof b),
           ipro_plan_grouped(m->memory.arena_bytes, c, sizeof c),
           ipro_plan_grouped(m->memory.input_bytes + m->memory.output_bytes, d, sizeof d),
           ipro_plan_grouped(m->memory.transient_bytes, e, sizeof e),
           ipro_plan_grouped(m->memory.persistent_bytes, f, sizeof f),
           ipro_plan_grouped((uint64_t)m->head_parameters, h, sizeof h), heads);
  }
  printf("(bytes; handoff = the activation received + the one handed on; transient = arena + "
         "handoff;\n persistent = parameters, gradients and optimizer state, heads included; "
         "head params = parameters of the InfoPro heads;\n heads = classifier head and decoder "
         "of each local module)\n\n");
  for (int k = 0; k + 1 < r->K; k++) {
    char reason[256];
    printf("heads at cut %d: %dc%df, %s decoder: %s\n", k + 1, r->heads[k].convs, r->heads[k].fcs,
           ipro_decoder_name(r->heads[k].decoder),
           ipro_plan_head_reason(r, k, reason, sizeof reason));
  }

  printf("cuts: ");
  if (r->K == 1) printf("none (end to end)");
  for (int k = 0; k + 1 < r->K; k++)
    printf("%s%s", k ? ", " : "",
           ipro_printable(g->tensors[r->modules[k].output_tensor].name, shown_first,
                          sizeof shown_first));
  printf("\n");
  double reduction = ipro_plan_reduction(r);
  char change[64];
  ipro_plan_peak_change(r->split.peak_bytes, r->e2e.peak_bytes, change, sizeof change);
  printf("peak: %s bytes (%.1f MiB) planned; end-to-end: %s bytes (%.1f MiB); %s\n",
         ipro_plan_grouped(r->split.peak_bytes, a, sizeof a), mebibytes(r->split.peak_bytes),
         ipro_plan_grouped(r->e2e.peak_bytes, b, sizeof b), mebibytes(r->e2e.peak_bytes), change);
  printf("      = fixed %s (input batch and labels) + persistent %s + largest transient %s "
         "(module %d)\n",
         ipro_plan_grouped(r->fixed_bytes, a, sizeof a),
         ipro_plan_grouped(r->split.persistent_bytes, b, sizeof b),
         ipro_plan_grouped(r->split.max_transient_bytes, c, sizeof c), r->largest_module + 1);
  if (r->bound.K) {
    ipro_plan_peak_change(r->bound.peak_bytes, r->e2e.peak_bytes, change, sizeof change);
    /* a bound at or above end to end leaves no saving for the heads to keep a share of */
    if (r->bound.peak_bytes >= r->e2e.peak_bytes)
      printf("bound: %s bytes (%.1f MiB) with heads of zero cost at the same K (%s): even free "
             "heads would not save memory at this K\n",
             ipro_plan_grouped(r->bound.peak_bytes, a, sizeof a), mebibytes(r->bound.peak_bytes),
             change);
    else
      printf("bound: %s bytes (%.1f MiB) with heads of zero cost at the same K (%s); "
             "the heads keep %.1f%% of that saving\n",
             ipro_plan_grouped(r->bound.peak_bytes, a, sizeof a), mebibytes(r->bound.peak_bytes),
             change, 100.0 * ipro_plan_bound_kept(r));
  }
  if (r->budget_bytes) {
    bool fits = r->split.peak_bytes <= r->budget_bytes;
    uint64_t gap =
        fits ? r->budget_bytes - r->split.peak_bytes : r->split.peak_bytes - r->budget_bytes;
    printf("budget: %s bytes (%.1f MiB): %s, %s bytes %s\n",
           ipro_plan_grouped(r->budget_bytes, a, sizeof a), mebibytes(r->budget_bytes),
           fits ? "fits" : "does NOT fit", ipro_plan_grouped(gap, b, sizeof b),
           fits ? "to spare" : "over");
  }
  if (reduction < 0 && r->K > 2)
    printf("note: this plan needs more memory than end-to-end training: its heads cost more "
           "than its cuts save\n");
  for (int k = 0; k + 1 < r->K; k++) {
    const ipro_plan_module *m = &r->modules[k];
    if (m->peak_without_cut_bytes <= r->split.peak_bytes)
      printf("note: the heads at cut %d (%s) cost more than the cut saves: without it the peak "
             "would be %s bytes (%.1f MiB)%s\n",
             k + 1,
             ipro_printable(g->tensors[m->output_tensor].name, shown_first, sizeof shown_first),
             ipro_plan_grouped(m->peak_without_cut_bytes, a, sizeof a),
             mebibytes(m->peak_without_cut_bytes), r->K == 2 ? ", end to end" : "");
  }
  int widest = 0;
  for (int k = 1; k < r->K; k++)
    if (r->modules[k].memory.largest_workspace_bytes >
        r->modules[widest].memory.largest_workspace_bytes)
      widest = k;
  printf("largest kernel workspace: %s bytes (module %d)%s\n",
         ipro_plan_grouped(r->modules[widest].memory.largest_workspace_bytes, a, sizeof a),
         widest + 1,
         strcmp(r->backend_name, "cuda") == 0
             ? "; cuDNN convolutions reserve a bound from their shapes (the im2col matrix, at "
               "most 256 MiB), the algorithm is chosen within it at the program's start-up"
             : "");
  ipro_plan_print_times(r);
  printf("planned in %.1f s (%d module programs built and planned)\n", seconds, programs);
}

/* The plan's writers as ipro_cli_write_output takes them. */
static void write_json(const void *report, FILE *out) { ipro_plan_write(report, out); }
static void write_html(const void *report, FILE *out) { ipro_plan_html_write(report, out); }

static int usage_error(const char *message, const char *argument) {
  fprintf(stderr, "infopro plan: %s%s%s%s\n", message, argument ? " '" : "",
          argument ? argument : "", argument ? "'" : "");
  print_usage(stderr);
  return 2;
}

int ipro_cli_plan(int argc, char **argv) {
  const char *path = NULL, *json_path = NULL, *html_path = NULL;
  int64_t batch = 128;
  bool reference = false;
  double gflops = 40;
  bool gflops_given = false;
  ipro_device device = IPRO_DEVICE_CPU;
  ipro_cli_local_options options;
  ipro_cli_local_defaults(&options);
  options.local.optimizer = IPRO_OPTIMIZER_SGD;
  for (int i = 0; i < argc; i++) {
    const char *a = argv[i], *value = i + 1 < argc ? argv[i + 1] : NULL;
    int consumed = ipro_cli_local_option(argc, argv, &i, &options);
    if (consumed == 2) return 2;
    if (consumed == 1) continue;
    if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
      print_usage(stdout);
      return 0;
    } else if (strcmp(a, "--batch") == 0) {
      if (!ipro_cli_parse_positive(a, value, &batch)) return 2;
      i++;
    } else if (strcmp(a, "--json") == 0 || strcmp(a, "--html") == 0) {
      if (!value || !*value)
        return usage_error(a[2] == 'j' ? "--json needs a file or '-'" : "--html needs a file",
                           NULL);
      if (a[2] == 'h' && strcmp(value, "-") == 0)
        return usage_error("--html needs a file, not", value);
      *(a[2] == 'j' ? &json_path : &html_path) = value;
      i++;
    } else if (strcmp(a, "--optimizer") == 0) {
      if (value && strcmp(value, "sgd") == 0)
        options.local.optimizer = IPRO_OPTIMIZER_SGD;
      else if (value && strcmp(value, "adamw") == 0)
        options.local.optimizer = IPRO_OPTIMIZER_ADAMW;
      else
        return usage_error("--optimizer expects sgd or adamw, got", value ? value : "");
      i++;
    } else if (strcmp(a, "--gflops") == 0) {
      char *end = NULL;
      gflops = value ? strtod(value, &end) : 0;
      if (!value || end == value || *end || !(gflops > 0 && gflops < 1e12))
        return usage_error("--gflops expects a positive rate, got", value ? value : "");
      gflops_given = true;
      i++;
    } else if (strcmp(a, "--reference") == 0) {
      reference = true;
    } else if (strcmp(a, "--device") == 0 && value) {
      if (!ipro_cli_parse_device(value, &device)) return 2;
      i++;
    } else if (a[0] == '-' || path) {
      static const char *const value_options[] = {"--device", NULL};
      ipro_cli_refuse_argument("infopro plan", a, !value, value_options, NULL);
      print_usage(stderr);
      return 2;
    } else {
      path = a;
    }
  }
  if (!path) return usage_error("missing MODEL.onnx", NULL);
  if (ipro_cli_local_conflicts("plan", &options, true)) return 2;
  /* the JSON and the page on one file would leave only the page; either on the model (or its
   * external data) would replace it */
  if (json_path && html_path && strcmp(json_path, "-") != 0 && ipro_same_file(json_path, html_path))
    return usage_error("--json and --html name the same file; give each its own:", html_path);
  char read_path[4200];
  const char *read = ipro_cli_read_file_at(json_path, path, NULL, read_path, sizeof read_path);
  if (!read) read = ipro_cli_read_file_at(html_path, path, NULL, read_path, sizeof read_path);
  if (read) return usage_error("--json or --html would replace a file the plan reads:", read);
  if (gflops_given && options.calibrate)
    return usage_error("--gflops and --calibrate both set the step times; give one", NULL);
  if (options.calibrate && device == IPRO_DEVICE_CUDA)
    return usage_error("--calibrate measures on the CPU only (a CUDA kernel returns before it "
                       "finishes); with --device cuda, --gflops sets the rate the times are "
                       "estimated at",
                       NULL);

  ipro_plan report = {0};
  ipro_error err = {{0}};
  ipro_graph *network = NULL;
  ipro_graph_cost cost = {0};
  ipro_module_costing *costing = NULL;
  struct timespec start, end;
  clock_gettime(CLOCK_MONOTONIC, &start);
  ipro_status status = ipro_graph_open(path, batch, &network, &err);
  if (status == IPRO_OK) {
    ipro_cli_warn_untested_opsets(network, path);
    ipro_cli_warn_folded_batch_norms(network, path);
  }
  if (status == IPRO_OK && (network->n_inputs != 1 || network->n_outputs != 1))
    status = ipro_error_set(&err,
                            "%s: a plan needs one input (the images) and one output (the "
                            "logits); the model has %d and %d",
                            path, network->n_inputs, network->n_outputs);
  if (status == IPRO_OK) status = ipro_cli_freeze(network, &options, path, &err);
  if (status == IPRO_OK) status = ipro_graph_cost_compute(network, &cost, &err);
  if (status == IPRO_OK)
    cost.n_cut_points = ipro_heads_attachable_cuts(network, cost.cut_points, cost.n_cut_points);
  if (status == IPRO_OK)
    cost.n_cut_points =
        ipro_graph_cuts_after_parameters(network, cost.cut_points, cost.n_cut_points);
  if (status == IPRO_OK) {
    /* The heads read the image and predict the classes: their sizes come from the model. The
     * dataset's normalisation changes no byte, so it stays the identity. */
    const ipro_shape *input = &network->tensors[network->inputs[0]].shape;
    const ipro_shape *output = &network->tensors[network->outputs[0]].shape;
    ipro_head_options *heads = &options.local.heads;
    heads->image_channels = input->rank >= 2 ? (int)input->dims[1] : 1;
    heads->classes = output->rank >= 1 ? (int)output->dims[output->rank - 1] : 1;
    for (int c = 0; c < 4; c++) {
      heads->mean[c] = 0;
      heads->std[c] = 1;
    }
    options.local.batch = batch;
    status = ipro_module_costing_create_on(network, cost.cut_points, cost.n_cut_points,
                                           &options.local, device, reference, &costing, &err);
    if (status != IPRO_OK && device == IPRO_DEVICE_CUDA)
      ipro_error_prefix(&err, "--device %s", ipro_device_name(device));
  }
  if (status == IPRO_OK && options.calibrate)
    status = ipro_module_costing_calibrate(costing, IPRO_CLI_CALIBRATION_STEPS, &err);
  ipro_module_coster backend = {0};
  if (status == IPRO_OK) {
    backend = ipro_module_costing_coster(costing);
    const char *names[IPRO_MAX_MODULES];
    ipro_plan_settings settings = {.split = ipro_cli_split_request(&options, names),
                                   .local = options.local,
                                   .balance_time = options.balance_time,
                                   .made_by = ipro_cli_version()};
    status = ipro_plan_choose(network, &cost, &settings, &backend, &report, &err);
  }
  if (status == IPRO_OK) status = ipro_plan_figures(&report, &backend, &err);
  report.gflops = gflops;
  const char *why = report.note;
  if (status == IPRO_OK && why) fprintf(stderr, "infopro plan: %s\n", why);
  if (status == IPRO_OK && !(json_path && strcmp(json_path, "-") == 0)) {
    clock_gettime(CLOCK_MONOTONIC, &end);
    print_table(&report, ipro_module_costing_programs_built(costing),
                (double)(end.tv_sec - start.tv_sec) + 1e-9 * (double)(end.tv_nsec - start.tv_nsec));
    ipro_cli_print_calibration(costing);
    fflush(stdout);
  }
  if (status == IPRO_OK && json_path)
    status = ipro_cli_write_output(json_path, stdout, write_json, &report, &err);
  if (status == IPRO_OK && html_path)
    status = ipro_cli_write_output(html_path, stdout, write_html, &report, &err);
  if (status == IPRO_OK && json_path && strcmp(json_path, "-") != 0)
    printf("plan written to %s\n", json_path);
  if (status == IPRO_OK && html_path) printf("page written to %s\n", html_path);
  /* --budget beside -K, --cuts or --plan checks the plan: a plan that does not fit is a failure,
   * for scripts as for the reader, after the table and files that show by how much. */
  if (status == IPRO_OK && report.budget_bytes && report.split.peak_bytes > report.budget_bytes) {
    char peak[32], budget[32], over[32];
    status = ipro_error_set(
        &err, "the plan does not fit --budget %s bytes: its peak of %s bytes is %s bytes over",
        ipro_plan_grouped(report.budget_bytes, budget, sizeof budget),
        ipro_plan_grouped(report.split.peak_bytes, peak, sizeof peak),
        ipro_plan_grouped(report.split.peak_bytes - report.budget_bytes, over, sizeof over));
  }
  ipro_module_costing_free(costing);
  ipro_graph_cost_release(&cost); /* safe on a cost never computed or failed */
  ipro_graph_free(network);
  return status == IPRO_OK ? 0 : ipro_cli_fail(err.message);
}
