/* ipro_fuse_transposed_weights (codegen/fusion.h) on hand-built graphs, what the bundled models'
 * fused-vs-unfused steps (runtime.test_fused_relu) do not show:
 * - Y = MatMul(X [2, 3, 4], Transpose(W [5, 4])) becomes Gemm(Reshape(X, [6, 4]), W,
 *   transB = 1) and a Reshape to Y's [2, 3, 5]: no Transpose left, Y still written, once;
 * - a file whose tensors already use a name the rewrite would give (here "mm:rows") keeps its
 *   MatMul and Transpose, and that tensor is not written over;
 * - a Transpose read by two nodes is not a linear layer's weight alone: left as it is. */
#include <stdio.h>
#include <string.h>

#include "codegen/fusion.h"
#include "support/check.h"
#include "tests/frontend/hand_graph.h"

static int count_op(const ipro_graph *graph, ipro_op op) {
  int count = 0;
  for (int n = 0; n < graph->n_nodes; n++)
    count += graph->nodes[n].op == op;
  return count;
}

/* X [2, 3, 4], W [5, 4], T = Transpose(W), Y = MatMul(X, T); with `clash`, an initializer named
 * as the rewrite would name its reshaped X; with `shared`, T is also a graph output. */
static ipro_graph *linear_layer(bool clash, bool shared) {
  ipro_graph *g = hand_graph(17);
  hand_input(g, "X", 3, (int64_t[]){2, 3, 4});
  hand_initializer(g, "W", IPRO_DTYPE_FLOAT, 2, (int64_t[]){5, 4}, NULL);
  if (clash) hand_initializer(g, "mm:rows", IPRO_DTYPE_FLOAT, 1, (int64_t[]){3}, NULL);
  hand_node(g, "t", "Transpose", "W", "T");
  hand_node(g, "mm", "MatMul", "X,T", "Y");
  hand_output(g, "Y");
  if (shared) hand_output(g, "T");
  ipro_error err = {{0}};
  CHECK_OK(ipro_graph_normalize(g, &err), &err);
  CHECK_OK(ipro_graph_infer_shapes(g, 0, &err), &err);
  return g;
}

int main(void) {
  ipro_error err = {{0}};
  ipro_graph *g = linear_layer(false, false);
  int fused = -1;
  CHECK_OK(ipro_fuse_transposed_weights(g, &fused, &err), &err);
  CHECK_OK(ipro_graph_infer_shapes(g, 0, &err), &err);
  const ipro_tensor *y = &g->tensors[ipro_graph_find_tensor(g, "Y")];
  const ipro_node *gemm = NULL;
  for (int n = 0; n < g->n_nodes; n++)
    if (g->nodes[n].op == IPRO_OP_GEMM) gemm = &g->nodes[n];
  CHECK_MSG(fused == 1 && count_op(g, IPRO_OP_TRANSPOSE) == 0 &&
                count_op(g, IPRO_OP_MAT_MUL) == 0 && count_op(g, IPRO_OP_RESHAPE) == 2 && gemm,
            "fused %d; %d Transposes, %d MatMuls, %d Reshapes", fused,
            count_op(g, IPRO_OP_TRANSPOSE), count_op(g, IPRO_OP_MAT_MUL),
            count_op(g, IPRO_OP_RESHAPE));
  if (gemm) {
    const ipro_tensor *a = ipro_node_input(g, gemm, 0), *b = ipro_node_input(g, gemm, 1);
    CHECK(ipro_node_attr_int(gemm, "transB", 0) == 1 && ipro_node_attr_int(gemm, "transA", 1) == 0);
    CHECK(strcmp(b->name, "W") == 0 && a->shape.rank == 2 && a->shape.dims[0] == 6 &&
          a->shape.dims[1] == 4);
  }
  CHECK(y->producer >= 0 && g->nodes[y->producer].op == IPRO_OP_RESHAPE && y->shape.rank == 3 &&
        y->shape.dims[0] == 2 && y->shape.dims[1] == 3 && y->shape.dims[2] == 5);
  ipro_graph_free(g);

  for (int form = 0; form < 2; form++) {
    g = linear_layer(form == 0, form == 1);
    CHECK_OK(ipro_fuse_transposed_weights(g, &fused, &err), &err);
    CHECK_MSG(fused == 0 && count_op(g, IPRO_OP_TRANSPOSE) == 1 &&
                  count_op(g, IPRO_OP_MAT_MUL) == 1,
              "%s: fused %d", form == 0 ? "a tensor in the way" : "T also an output", fused);
    if (form == 0) {
      const ipro_tensor *kept = &g->tensors[ipro_graph_find_tensor(g, "mm:rows")];
      CHECK(kept->kind == IPRO_TENSOR_INITIALIZER && kept->shape.rank == 1 &&
            kept->shape.dims[0] == 3 && kept->producer < 0);
    }
    ipro_graph_free(g);
  }
  return ipro_test_finish();
}
