/* The op table is complete (every op of op_list.h has a row with a name, an infer and a flops
 * function), names round-trip through ipro_op_from_name, and the FLOPs and saved-state figures of
 * a hand-built network equal the formulas of op_table.h's contract, computed here from the
 * layer sizes alone. */
#include <string.h>

#include "frontend/op_table.h"
#include "hand_graph.h"
#include "tests/support/check.h"

static void check_rows(void) {
  for (int op = 0; op < IPRO_OP_COUNT; op++) {
    const ipro_op_info *info = ipro_op_info_of((ipro_op)op);
    CHECK_MSG(info != NULL, "op %d has no row", op);
    if (!info) continue;
    CHECK_MSG(info->name && strcmp(info->name, ipro_op_name((ipro_op)op)) == 0,
              "row %d is named '%s', op_list.h says '%s'", op, info->name ? info->name : "(null)",
              ipro_op_name((ipro_op)op));
    CHECK_MSG(info->infer != NULL, "%s has no infer", ipro_op_name((ipro_op)op));
    CHECK_MSG(info->flops != NULL, "%s has no flops", ipro_op_name((ipro_op)op));
    /* A file may name ONNX ops; the compiler's internal ops are never read from a file. */
    CHECK_EQ_INT(ipro_op_from_name(ipro_op_name((ipro_op)op)),
                 op < IPRO_OP_FIRST_INTERNAL ? op : IPRO_OP_COUNT);
  }
  CHECK(ipro_op_info_of(IPRO_OP_COUNT) == NULL);
  CHECK_EQ_INT(ipro_op_from_name("Upsample"), IPRO_OP_RESIZE);
  CHECK_EQ_INT(ipro_op_from_name("ArgMax"), IPRO_OP_COUNT);
  CHECK_EQ_INT(ipro_op_from_name("conv"), IPRO_OP_COUNT);
  CHECK_EQ_INT(ipro_op_from_name(""), IPRO_OP_COUNT);
}

static int64_t node_flops(const ipro_graph *graph, const char *name) {
  const ipro_node *node = hand_find_node(graph, name);
  return ipro_op_info_of(node->op)->flops(graph, node);
}

static int64_t node_extra(const ipro_graph *graph, const char *name) {
  const ipro_node *node = hand_find_node(graph, name);
  int64_t (*extra)(const ipro_graph *, const ipro_node *) =
      ipro_op_info_of(node->op)->saved_extra_bytes;
  return extra ? extra(graph, node) : 0;
}

/* conv3x3(3->4, bias) - BN - ReLU - maxpool2 - deconv2x2 stride 2 (4->2) - GAP - flatten -
 * FC(2->10) - softmax - dropout(training), at opset 13 with a symbolic batch. */
static ipro_graph *small_network(void) {
  ipro_graph *g = hand_graph(13);
  hand_input(g, "x", 4, (int64_t[]){IPRO_DIM_BATCH, 3, 8, 8});
  hand_initializer(g, "w", IPRO_DTYPE_FLOAT, 4, (int64_t[]){4, 3, 3, 3}, NULL);
  hand_initializer(g, "b", IPRO_DTYPE_FLOAT, 1, (int64_t[]){4}, NULL);
  const char *bn_names[4] = {"scale", "shift", "mean", "var"};
  for (int i = 0; i < 4; i++)
    hand_initializer(g, bn_names[i], IPRO_DTYPE_FLOAT, 1, (int64_t[]){4}, NULL);
  hand_initializer(g, "wt", IPRO_DTYPE_FLOAT, 4, (int64_t[]){4, 2, 2, 2}, NULL);
  hand_initializer(g, "wfc", IPRO_DTYPE_FLOAT, 2, (int64_t[]){10, 2}, NULL);
  hand_initializer(g, "bfc", IPRO_DTYPE_FLOAT, 1, (int64_t[]){10}, NULL);
  float ratio = 0.25f;
  uint8_t training = 1;
  hand_initializer(g, "ratio", IPRO_DTYPE_FLOAT, 0, NULL, &ratio);
  hand_initializer(g, "training", IPRO_DTYPE_BOOL, 0, NULL, &training);

  ipro_node *conv = hand_node(g, "conv", "Conv", "x,w,b", "c1");
  ipro_node_set_ints(conv, "pads", (int64_t[]){1, 1, 1, 1}, 4);
  hand_node(g, "bn", "BatchNormalization", "c1,scale,shift,mean,var", "b1");
  hand_node(g, "relu", "Relu", "b1", "r1");
  ipro_node *pool = hand_node(g, "pool", "MaxPool", "r1", "p1");
  ipro_node_set_ints(pool, "kernel_shape", (int64_t[]){2, 2}, 2);
  ipro_node_set_ints(pool, "strides", (int64_t[]){2, 2}, 2);
  ipro_node *deconv = hand_node(g, "deconv", "ConvTranspose", "p1,wt", "d1");
  ipro_node_set_ints(deconv, "strides", (int64_t[]){2, 2}, 2);
  hand_node(g, "gap", "GlobalAveragePool", "d1", "g1");
  hand_node(g, "flat", "Flatten", "g1", "f1");
  ipro_node *fc = hand_node(g, "fc", "Gemm", "f1,wfc,bfc", "y");
  ipro_node_set_int(fc, "transB", 1);
  hand_node(g, "softmax", "Softmax", "y", "s");
  hand_node(g, "drop", "Dropout", "s,ratio,training", "z,mask");
  hand_output(g, "z");
  return g;
}

static void check_costs(int64_t batch) {
  ipro_graph *g = small_network();
  ipro_error err = {{0}};
  CHECK_OK(ipro_graph_normalize(g, &err), &err);
  CHECK_OK(ipro_graph_infer_shapes(g, batch, &err), &err);
  int64_t n = batch > 0 ? batch : 1; /* FLOPs count a symbolic batch as 1 */

  int64_t conv_out = n * 4 * 8 * 8;
  CHECK_EQ_INT(node_flops(g, "conv"), 2 * conv_out * 3 * 9 + conv_out);
  CHECK_EQ_INT(node_flops(g, "bn"), 2 * conv_out);
  CHECK_EQ_INT(node_flops(g, "relu"), conv_out);
  CHECK_EQ_INT(node_flops(g, "pool"), n * 4 * 4 * 4 * 4);
  /* ConvTranspose: 2 * N * Cin * in-spatial * (Cout / group) * kernel, no bias */
  CHECK_EQ_INT(node_flops(g, "deconv"), 2 * n * 4 * 16 * 2 * 4);
  CHECK_EQ_INT(node_flops(g, "gap"), n * 2 * 8 * 8);
  CHECK_EQ_INT(node_flops(g, "flat"), 0);
  CHECK_EQ_INT(node_flops(g, "fc"), 2 * n * 10 * 2 + n * 10);
  CHECK_EQ_INT(node_flops(g, "softmax"), 3 * n * 10);
  CHECK_EQ_INT(node_flops(g, "drop"), n * 10);

  /* BN at opset 13 with one output is in inference form: no statistics kept. */
  CHECK_EQ_INT(node_extra(g, "bn"), 0);
  CHECK_EQ_INT(node_extra(g, "drop"), n * 10);
  CHECK_EQ_INT(node_extra(g, "conv"), 0);

  const ipro_tensor *mask = hand_tensor(g, "mask");
  CHECK_EQ_INT(mask->dtype, IPRO_DTYPE_BOOL);
  CHECK_EQ_INT(hand_tensor(g, "d1")->shape.dims[2], 8);
  ipro_graph_free(g);
}

/* BatchNormalization in training form (opset 14+) keeps mean and inverse std per channel. */
static void check_batch_norm_training(void) {
  ipro_graph *g = hand_graph(15);
  hand_input(g, "x", 4, (int64_t[]){IPRO_DIM_BATCH, 6, 5, 5});
  const char *names[4] = {"scale", "shift", "mean", "var"};
  for (int i = 0; i < 4; i++)
    hand_initializer(g, names[i], IPRO_DTYPE_FLOAT, 1, (int64_t[]){6}, NULL);
  ipro_node *bn = hand_node(g, "bn", "BatchNormalization", "x,scale,shift,mean,var",
                            "y,running_mean,running_var");
  ipro_node_set_int(bn, "training_mode", 1);
  hand_output(g, "y");
  ipro_error err = {{0}};
  CHECK_OK(ipro_graph_normalize(g, &err), &err);
  CHECK_OK(ipro_graph_infer_shapes(g, 3, &err), &err);
  CHECK_EQ_INT(node_extra(g, "bn"), 2 * 6 * 4);
  CHECK_EQ_INT(node_flops(g, "bn"), 2 * 3 * 6 * 5 * 5);
  CHECK_EQ_INT(hand_tensor(g, "running_var")->shape.dims[0], 6);
  ipro_graph_free(g);
}

/* MatMul with batch dimensions, linear Resize over one axis, Sum of three inputs. */
static void check_other_costs(void) {
  ipro_graph *g = hand_graph(13);
  hand_input(g, "a", 3, (int64_t[]){IPRO_DIM_BATCH, 3, 4});
  hand_initializer(g, "b", IPRO_DTYPE_FLOAT, 2, (int64_t[]){4, 5}, NULL);
  hand_input(g, "x", 4, (int64_t[]){IPRO_DIM_BATCH, 3, 4, 4});
  float scales[4] = {1, 1, 2, 1};
  hand_initializer(g, "scales", IPRO_DTYPE_FLOAT, 1, (int64_t[]){4}, scales);
  hand_node(g, "mm", "MatMul", "a,b", "m");
  ipro_node *resize = hand_node(g, "resize", "Resize", "x,,scales", "r");
  ipro_node_set_string(resize, "mode", "linear");
  hand_node(g, "sum", "Sum", "x,x,x", "s");
  hand_output(g, "m");
  hand_output(g, "r");
  hand_output(g, "s");
  ipro_error err = {{0}};
  CHECK_OK(ipro_graph_normalize(g, &err), &err);
  CHECK_OK(ipro_graph_infer_shapes(g, 2, &err), &err);
  CHECK_EQ_INT(node_flops(g, "mm"), 2 * 2 * 3 * 5 * 4);
  CHECK_EQ_INT(node_flops(g, "resize"), 2 * 3 * 8 * 4 * 2);
  CHECK_EQ_INT(node_flops(g, "sum"), 2 * 2 * 3 * 4 * 4);
  ipro_graph_free(g);
}

int main(void) {
  check_rows();
  check_costs(0);
  check_costs(2);
  check_batch_norm_training();
  check_other_costs();
  return ipro_test_finish();
}
