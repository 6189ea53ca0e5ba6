/* `infopro inspect MODEL.onnx [--batch N] [--json]`: what the frontend knows about a model —
 * producer, IR version, opsets, the model's metadata, one row per node (output shape, parameters,
 * FLOPs, bytes saved for the backward pass, cut point or not) and the totals, as a table or as one
 * JSON object. */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "commands.h"
#include "frontend/cost.h"
#include "frontend/json_writer.h"
#include "ir/graph.h"
#include "ir/printable.h"
#include "partitioner/plan.h"

static const char usage[] = "usage: infopro inspect MODEL.onnx [--batch N] [--json]\n"
                            "  --batch N   batch size for shapes, FLOPs and bytes (default 1)\n"
                            "  --json      print one JSON object instead of the table\n";

/* The model's own text (names, producer, metadata) is shown with its control characters escaped
 * (ir/printable.h); shown(i, text) uses the i-th of a few buffers, for the ones a line needs. */
#define shown(i, text) ipro_printable(text, shown_text[i], sizeof shown_text[i])

static void print_table(const ipro_graph *graph, const ipro_graph_cost *cost) {
  char a[64], b[64], c[64], d[64], shape[128], shown_text[2][IPRO_PRINTABLE_MAX];
  printf("model       %s\n", shown(0, graph->path));
  printf("producer    %s %s\n", shown(0, graph->producer_name), shown(1, graph->producer_version));
  printf("IR version  %" PRId64 "\n", graph->ir_version);
  printf("opsets     ");
  for (int i = 0; i < graph->n_opsets; i++)
    printf(" %s %" PRId64, *graph->opsets[i].domain ? shown(0, graph->opsets[i].domain) : "ai.onnx",
           graph->opsets[i].version);
  printf("\n");
  /* the model's metadata: a model `infopro train --out` wrote carries its normalisation */
  for (int i = 0; i < graph->n_metadata; i++)
    printf("metadata    %s = %s\n", shown(0, graph->metadata_keys[i]),
           shown(1, graph->metadata_values[i]));
  for (int i = 0; i < graph->n_inputs; i++) {
    const ipro_tensor *t = &graph->tensors[graph->inputs[i]];
    printf(
        "input       %s %s %s\n", shown(0, t->name), ipro_dtype_name(t->dtype),
        ipro_shape_format(t->declared_shape ? t->declared_shape : &t->shape, shape, sizeof shape));
  }
  for (int i = 0; i < graph->n_outputs; i++) {
    const ipro_tensor *t = &graph->tensors[graph->outputs[i]];
    printf("output      %s %s %s\n", shown(0, t->name), ipro_dtype_name(t->dtype),
           ipro_shape_format(&t->shape, shape, sizeof shape));
  }
  printf("batch       %" PRId64 "\n\n", graph->batch);
  printf("%4s  %-28s %-18s %-18s %12s %16s %14s  %s\n", "#", "node", "op", "output", "params",
         "FLOPs", "saved bytes", "cut");
  for (int n = 0; n < graph->n_nodes; n++) {
    const ipro_node *node = &graph->nodes[n];
    const ipro_node_cost *nc = &cost->nodes[n];
    const ipro_tensor *output = ipro_node_output(graph, node, 0);
    if (ipro_node_is_folded(graph, node))
      snprintf(shape, sizeof shape, "(constant)");
    else
      ipro_shape_format(&output->shape, shape, sizeof shape);
    printf("%4d  %-28.28s %-18.18s %-18.18s %12s %16s %14s  %s\n", n, shown(0, node->name),
           shown(1, node->op_type), shape, ipro_plan_grouped((uint64_t)nc->params, a, sizeof a),
           ipro_plan_grouped((uint64_t)nc->flops, b, sizeof b),
           ipro_plan_grouped((uint64_t)nc->saved_bytes, c, sizeof c), nc->is_cut ? "cut" : "");
  }
  printf("\ntotal       %d nodes, %s parameters (+%s BN running values), %s FLOPs\n",
         graph->n_nodes, ipro_plan_grouped((uint64_t)cost->params, a, sizeof a),
         ipro_plan_grouped((uint64_t)cost->bn_running_values, b, sizeof b),
         ipro_plan_grouped((uint64_t)cost->flops, c, sizeof c));
  printf("saved bytes %s for the backward pass at batch %" PRId64 " (input batch %s bytes)\n",
         ipro_plan_grouped((uint64_t)cost->saved_bytes, a, sizeof a), graph->batch,
         ipro_plan_grouped((uint64_t)cost->input_bytes, d, sizeof d));
  printf("cut points  %d:", cost->n_cut_points);
  for (int i = 0; i < cost->n_cut_points; i++)
    printf(" %s", shown(0, graph->tensors[cost->cut_points[i]].name));
  printf("\n");
}

static void print_json(const ipro_graph *graph, const ipro_graph_cost *cost) {
  char shape[128];
  ipro_json_writer w = {.out = stdout};
  ipro_json_begin_object(&w, NULL);
  ipro_json_string(&w, "model", graph->path);
  ipro_json_string(&w, "producer", graph->producer_name);
  ipro_json_string(&w, "producer_version", graph->producer_version);
  ipro_json_int(&w, "ir_version", graph->ir_version);
  ipro_json_begin_object(&w, "opsets");
  for (int i = 0; i < graph->n_opsets; i++)
    ipro_json_int(&w, *graph->opsets[i].domain ? graph->opsets[i].domain : "ai.onnx",
                  graph->opsets[i].version);
  ipro_json_end_object(&w);
  ipro_json_begin_object(&w, "metadata");
  for (int i = 0; i < graph->n_metadata; i++)
    ipro_json_string(&w, graph->metadata_keys[i], graph->metadata_values[i]);
  ipro_json_end_object(&w);
  ipro_json_int(&w, "batch", graph->batch);
  ipro_json_int(&w, "params", cost->params);
  ipro_json_int(&w, "bn_running_values", cost->bn_running_values);
  ipro_json_int(&w, "flops", cost->flops);
  ipro_json_int(&w, "saved_bytes", cost->saved_bytes);
  ipro_json_int(&w, "input_bytes", cost->input_bytes);
  ipro_json_begin_array(&w, "nodes");
  for (int n = 0; n < graph->n_nodes; n++) {
    const ipro_node *node = &graph->nodes[n];
    const ipro_node_cost *nc = &cost->nodes[n];
    const ipro_tensor *output = ipro_node_output(graph, node, 0);
    ipro_json_begin_object(&w, NULL);
    ipro_json_string(&w, "name", node->name);
    ipro_json_string(&w, "op", node->op_type);
    ipro_json_string(&w, "output", output ? output->name : "");
    ipro_json_string(&w, "shape",
                     output ? ipro_shape_format(&output->shape, shape, sizeof shape) : "");
    ipro_json_bool(&w, "folded", ipro_node_is_folded(graph, node));
    ipro_json_int(&w, "params", nc->params);
    ipro_json_int(&w, "flops", nc->flops);
    ipro_json_int(&w, "output_bytes", nc->output_bytes);
    ipro_json_int(&w, "saved_bytes", nc->saved_bytes);
    ipro_json_bool(&w, "cut_point", nc->is_cut);
    ipro_json_end_object(&w);
  }
  ipro_json_end_array(&w);
  ipro_json_begin_array(&w, "cut_points");
  for (int i = 0; i < cost->n_cut_points; i++)
    ipro_json_string(&w, NULL, graph->tensors[cost->cut_points[i]].name);
  ipro_json_end_array(&w);
  ipro_json_end_object(&w);
}

int ipro_cli_inspect(int argc, char **argv) {
  const char *path = NULL;
  int64_t batch = 1;
  bool json = false;
  for (int i = 0; i < argc; i++) {
    if (strcmp(argv[i], "--help") == 0) {
      fputs(usage, stdout);
      return 0;
    } else if (strcmp(argv[i], "--json") == 0) {
      json = true;
    } else if (strcmp(argv[i], "--batch") == 0) {
      if (!ipro_cli_parse_positive("--batch", i + 1 < argc ? argv[i + 1] : NULL, &batch)) return 2;
      i++;
    } else if (argv[i][0] == '-' || path) {
      static const char *const value_options[] = {"--batch", NULL};
      return ipro_cli_refuse_argument("infopro inspect", argv[i], i + 1 == argc, value_options,
                                      usage);
    } else {
      path = argv[i];
    }
  }
  if (!path) return ipro_cli_missing_argument("infopro inspect", "MODEL.onnx", usage);
  ipro_error err = {{0}};
  ipro_graph *graph = NULL;
  if (ipro_graph_open(path, batch, &graph, &err) != IPRO_OK) return ipro_cli_fail(err.message);
  ipro_cli_warn_untested_opsets(graph, path);
  ipro_cli_warn_folded_batch_norms(graph, path);
  ipro_graph_cost cost;
  if (ipro_graph_cost_compute(graph, &cost, &err) != IPRO_OK) {
    ipro_graph_free(graph);
    return ipro_cli_fail(err.message);
  }
  if (json)
    print_json(graph, &cost);
  else
    print_table(graph, &cost);
  ipro_graph_cost_release(&cost);
  ipro_graph_free(graph);
  return 0;
}
