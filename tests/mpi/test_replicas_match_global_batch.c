/* `mpirun -np 4 infopro train ... -K 2 --batch 64` runs 2 replicas of a 2-stage pipeline, each
 * training 32 images of every batch and averaging its gradients with the other before every
 * update: the trained weights must be those of one process training the same batches of 64. The
 * same for `mpirun -np 2 ... -K 1` (2 replicas of the whole network: plain data parallelism). The
 * oracle is the single-process trainer at the global batch; the replicas compute each gradient
 * as two means over 32 images, averaged, where the oracle sums 64 at once, so the two differ by
 * float32 rounding in the order of summation and nothing else, for a network where every image
 * contributes to the loss on its own:
 *   - the MLP of models/mlp_fmnist.onnx without its Dropout (written here, with protobuf-c: a
 *     replica's Dropout mask is drawn by element index within its own batch, so replica 1 would
 *     drop other units than the oracle's second half), no BatchNorm (a replica normalises with
 *     its own batch's statistics, as in PyTorch's DistributedDataParallel);
 *   - InfoPro heads with the cross-entropy local loss (--local-loss ce: a mean over images; the
 *     default supervised contrastive loss pairs images across the batch) and no reconstruction
 *     weight (--lambda 0,1,0,1: the decoder head has BatchNorm); the heads are not in --out.
 * Tolerance: for every weight tensor, max |replicas - oracle| <= 1e-3 x max |oracle - initial|,
 * i.e. the replicas reproduce the training's change to a thousandth. Rounding in summing 64
 * float32 terms in another order is about 64 x 2^-24 = 4e-6 relative per gradient element; four
 * SGD steps with momentum carry it forward without amplifying it by orders of magnitude at this
 * learning rate, so 1e-3 holds with a wide margin, while a replica that skipped the averaging
 * (half the batch's gradient) would be off by a large fraction of the change: a run at batch 32
 * in one process is checked to exceed the tolerance, so the test can fail. The epoch's loss (the
 * replicas' mean) must match the oracle's to 2e-4 too. The K = 2 replicas' checkpoint, resumed
 * in one process for a second epoch, trains what the one process's own checkpoint resumed does
 * (same tolerance): the format is the single-process one. And 3 ranks for K = 1 cannot share a
 * batch of 64: one message, exit status 1, and 2 replicas of a diverging pipeline print one
 * message, naming the rank with its stage and replica once. Skipped when Fashion-MNIST or mpirun
 * is missing. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ir/graph.h"
#include "onnx.pb-c.h"
#include "support/check.h"
#include "support/command.h"
#include "support/mpi_runs.h"

static char directory[] = "/tmp/ipro_test_replicas_XXXXXX";

#define COMMON " --data fashion-mnist --epochs 1 --test-limit 100"
/* the heads' options, given with a split only (end to end they are a usage error) */
#define HEADS " --local-loss ce --lambda 0,1,0,1"

/* models/mlp_fmnist.onnx with its Dropout node (and the Constant nodes feeding it) removed, the
 * node after it reading Dropout's input instead. */
static bool write_without_dropout(const char *path) {
  char source[4096];
  snprintf(source, sizeof source, "%s/models/mlp_fmnist.onnx", ipro_test_source_dir());
  size_t size = 0;
  uint8_t *bytes = ipro_test_read_file(source, &size);
  Onnx__ModelProto *model = bytes ? onnx__model_proto__unpack(NULL, size, bytes) : NULL;
  free(bytes);
  if (!model) return false;
  Onnx__GraphProto *graph = model->graph;
  const char *kept = NULL, *dropped = NULL;
  for (size_t n = 0; n < graph->n_node; n++)
    if (strcmp(graph->node[n]->op_type, "Dropout") == 0) {
      kept = graph->node[n]->input[0];
      dropped = graph->node[n]->output[0];
    }
  /* the kept nodes in a new array for packing; the model keeps its own for freeing */
  Onnx__NodeProto **all = graph->node, **nodes = calloc(graph->n_node + 1, sizeof *nodes);
  size_t n_all = graph->n_node, out = 0;
  for (size_t n = 0; kept && nodes && n < n_all; n++) {
    Onnx__NodeProto *node = all[n];
    bool feeds_dropout = strcmp(node->op_type, "Constant") == 0 && strstr(node->name, "net.3/");
    if (strcmp(node->op_type, "Dropout") == 0 || feeds_dropout) continue;
    for (size_t i = 0; i < node->n_input; i++)
      if (strcmp(node->input[i], dropped) == 0) {
        free(node->input[i]);
        node->input[i] = strdup(kept);
      }
    nodes[out++] = node;
  }
  bool ok = false;
  if (kept && nodes && out + 3 == n_all) {
    graph->node = nodes;
    graph->n_node = out;
    size_t packed_size = onnx__model_proto__get_packed_size(model);
    uint8_t *packed = malloc(packed_size);
    FILE *f = packed ? fopen(path, "wb") : NULL;
    if (f) {
      onnx__model_proto__pack(model, packed);
      ok = fwrite(packed, 1, packed_size, f) == packed_size;
      ok = fclose(f) == 0 && ok;
    }
    free(packed);
    graph->node = all;
    graph->n_node = n_all;
  }
  free(nodes);
  onnx__model_proto__free_unpacked(model, NULL);
  return ok;
}

/* The largest, over the weight tensors of `a`, of max|a - b| / max|b - initial|. */
static double worst_ratio(const ipro_graph *a, const ipro_graph *b, const ipro_graph *initial) {
  double worst = 0;
  for (int t = 0; t < initial->n_tensors; t++) {
    const ipro_tensor *i = &initial->tensors[t];
    if (i->kind != IPRO_TENSOR_INITIALIZER || i->dtype != IPRO_DTYPE_FLOAT) continue;
    int ta = ipro_graph_find_tensor(a, i->name), tb = ipro_graph_find_tensor(b, i->name);
    CHECK_MSG(ta >= 0 && tb >= 0 && a->tensors[ta].data_bytes == i->data_bytes &&
                  b->tensors[tb].data_bytes == i->data_bytes,
              "weight '%s' missing or resized", i->name);
    if (ta < 0 || tb < 0) continue;
    const float *x = a->tensors[ta].data, *y = b->tensors[tb].data, *z = i->data;
    double difference = 0, change = 0;
    for (size_t e = 0; e < i->data_bytes / sizeof(float); e++) {
      difference = fmax(difference, fabs((double)x[e] - (double)y[e]));
      change = fmax(change, fabs((double)y[e] - (double)z[e]));
    }
    CHECK_MSG(change > 0, "training did not change '%s'", i->name);
    if (change > 0) worst = fmax(worst, difference / change);
  }
  return worst;
}

static ipro_graph *load(const char *path) {
  ipro_graph *graph = NULL;
  ipro_error err = {{0}};
  CHECK_MSG(ipro_graph_load(path, &graph, &err) == IPRO_OK, "%s: %s", path, err.message);
  return graph;
}

static double epoch_loss(const char *out) {
  const char *line = strstr(out, "epoch 1/1  loss ");
  return line ? atof(line + strlen("epoch 1/1  loss ")) : NAN;
}

/* The weights `ranks` processes train (K = 2 as two stages, K = 1 as pure data parallelism)
 * against the oracle's, with the epoch's loss; returns the worst ratio. */
static double replicas_match(const char *model, const char *oracle, const char *out_one, int ranks,
                             const char *split, const char *replica_line) {
  char command[4096], launcher[1024], out[800];
  snprintf(out, sizeof out, "%s/replicas_%d.onnx", directory, ranks);
  snprintf(command, sizeof command, "train '%s'" COMMON " %s --limit 256 --batch 64 --out '%s'",
           model, split, out);
  ipro_command_result r;
  ipro_test_run_infopro_under(ipro_test_mpi_launcher(ranks, ranks == 4, launcher, sizeof launcher),
                              command, &r);
  CHECK_MSG(r.exit_status == 0, "%d ranks: exit %d: %s", ranks, r.exit_status, r.err);
  CHECK_MSG(strstr(r.out, replica_line), "%d ranks: no line '%s': %s", ranks, replica_line, r.out);
  double loss_one = epoch_loss(out_one), loss_many = epoch_loss(r.out);
  CHECK_MSG(fabs(loss_one - loss_many) <= 2e-4, "epoch loss %.4f in one process, %.4f on %d ranks",
            loss_one, loss_many, ranks);
  ipro_graph *initial = load(model), *a = load(oracle), *b = load(out);
  double ratio = initial && a && b ? worst_ratio(b, a, initial) : INFINITY;
  ipro_graph_free(initial);
  ipro_graph_free(a);
  ipro_graph_free(b);
  return ratio;
}

int main(void) {
  int skip = ipro_test_mpi_ready(directory);
  if (skip) return skip;
  char model[700], command[4096], launcher[1024];
  snprintf(model, sizeof model, "%s/mlp.onnx", directory);
  CHECK_MSG(write_without_dropout(model), "cannot write %s", model);

  for (int K = 1; K <= 2; K++) {
    char oracle[700], half[700], split[64], many[800];
    snprintf(oracle, sizeof oracle, "%s/one_K%d.onnx", directory, K);
    snprintf(half, sizeof half, "%s/half_K%d.onnx", directory, K);
    snprintf(split, sizeof split, "%s", K == 2 ? "-K 2" HEADS : "-K 1");
    /* K = 2 also writes the checkpoint that one process resumes below */
    snprintf(many, sizeof many, "%s%s%s%s", split, K == 2 ? " --checkpoint '" : "",
             K == 2 ? directory : "", K == 2 ? "/ck'" : "");
    ipro_command_result one, small;
    snprintf(command, sizeof command,
             "train '%s'" COMMON " %s --limit 256 --batch 64 --out '%s'%s%s%s", model, split,
             oracle, K == 2 ? " --checkpoint '" : "", K == 2 ? directory : "",
             K == 2 ? "/ck_one'" : "");
    ipro_test_run_infopro(command, &one);
    CHECK_MSG(one.exit_status == 0, "one process: exit %d: %s", one.exit_status, one.err);
    /* the control: batches of 32 in one process (4 steps over 128 images), as a replica that
     * did not average would train */
    snprintf(command, sizeof command, "train '%s'" COMMON " %s --limit 128 --batch 32 --out '%s'",
             model, split, half);
    ipro_test_run_infopro(command, &small);
    CHECK_MSG(small.exit_status == 0, "batch 32: exit %d: %s", small.exit_status, small.err);
    char line[128];
    snprintf(line, sizeof line, "MPI: 2 replicas of the %d-stage pipeline, each training 32 images",
             K);
    double ratio = replicas_match(model, oracle, one.out, 2 * K, many, line);
    ipro_graph *initial = load(model), *a = load(oracle), *c = load(half);
    double control = initial && a && c ? worst_ratio(c, a, initial) : 0;
    printf("K = %d, 2 replicas vs one process at the global batch: max difference %.3g of the "
           "change; batch 32 alone: %.3g\n",
           K, ratio, control);
    CHECK_MSG(ratio <= 1e-3, "K = %d: the replicas' weights differ by %.3g of training's change", K,
              ratio);
    CHECK_MSG(control > 1e-3, "K = %d: the control (batch 32 alone) is within the tolerance: %.3g",
              K, control);
    ipro_graph_free(initial);
    ipro_graph_free(a);
    ipro_graph_free(c);
  }

  /* the replicas' checkpoint is one process's: resumed in one process for a second epoch, it
   * trains what resuming the one process's own checkpoint trains (to the same tolerance) */
  char resumed[2][700];
  for (int i = 0; i < 2; i++) {
    snprintf(resumed[i], sizeof resumed[i], "%s/resumed_%d.onnx", directory, i);
    snprintf(command, sizeof command,
             "train '%s'" COMMON " -K 2" HEADS
             " --limit 256 --batch 64 --epochs 2 --checkpoint '%s/%s' "
             "--resume --out '%s'",
             model, directory, i == 0 ? "ck" : "ck_one", resumed[i]);
    ipro_command_result a;
    ipro_test_run_infopro(command, &a);
    CHECK_MSG(a.exit_status == 0 && strstr(a.out, "resuming from"), "resume %d: exit %d: %s %s", i,
              a.exit_status, a.out, a.err);
  }
  ipro_graph *initial = load(model), *x = load(resumed[0]), *y = load(resumed[1]);
  double ratio = initial && x && y ? worst_ratio(x, y, initial) : INFINITY;
  printf("the replicas' checkpoint and one process's, each resumed in one process: %.3g of the "
         "change\n",
         ratio);
  CHECK_MSG(ratio <= 1e-3, "resumed from the replicas' checkpoint: %.3g of training's change",
            ratio);
  ipro_graph_free(initial);
  ipro_graph_free(x);
  ipro_graph_free(y);

  /* 3 replicas cannot share a batch of 64: one message, exit 1 */
  ipro_command_result r;
  snprintf(command, sizeof command, "train '%s'" COMMON " --limit 256 --batch 64", model);
  ipro_test_run_infopro_under(ipro_test_mpi_launcher(3, false, launcher, sizeof launcher), command,
                              &r);
  const char *first = strstr(r.err, "infopro: ");
  CHECK_MSG(r.exit_status == 1 && first && !strstr(first + 1, "infopro: ") &&
                strstr(first, "3 replicas (mpirun -np 3 for 1 module) cannot share a batch of 64"),
            "3 ranks, batch 64: exit %d, stderr: %s", r.exit_status, r.err);
  /* 2 replicas of 2 stages diverging (a learning rate that makes a loss NaN in step 2, in both
   * replicas alike): one message, naming the world rank once with its stage and replica */
  snprintf(command, sizeof command,
           "train '%s' --data fashion-mnist --limit 64 --test-limit 64 --epochs 1 --batch 32 -K 2 "
           "--lr 1e30",
           model);
  ipro_test_run_infopro_under(ipro_test_mpi_launcher(4, false, launcher, sizeof launcher), command,
                              &r);
  const char *said = strstr(r.err, "infopro: rank ");
  int rank = -1, stage = -1, replica = -1, used = 0;
  if (said)
    sscanf(said, "infopro: rank %d (stage %d of replica %d): %n", &rank, &stage, &replica, &used);
  CHECK_MSG(r.exit_status == 1 && ipro_test_lines_with(r.err, "training diverged") == 1 &&
                used > 0 && strncmp(said + used, "training diverged", 17) == 0 &&
                rank == 2 * (replica - 1) + stage - 1,
            "2 replicas diverging: exit %d, stderr: %s", r.exit_status, r.err);
  ipro_test_remove_directory(directory);
  return ipro_test_finish();
}
