/* `infopro train` through the binary, on models/mlp_fmnist.onnx and the first 512 Fashion-MNIST
 * training images (8 steps of 64 per epoch):
 *   - two epochs finish with one summary line per epoch, plain progress lines (stdout is a pipe
 *     here, not a terminal), a final line, memory figures that keep the plan's promise as
 *     the counting allocator and the RSS measure it (support/memory_checks.h), and the --out
 *     model; with `--json -` stdout is exactly one JSON object (jansson reads it whole, with the
 *     run's accuracy and a history record per epoch that says what the epoch's line printed)
 *     and those human-readable lines are on stderr;
 *   - `infopro eval` on that model, an independent program that loads the exported file,
 *     reports exactly the test accuracy the trainer printed for its last epoch, and the same test
 *     loss to the printed precision (both on the first 1000 test images, to keep this short);
 *   - at K = 2, which plans more memory than end to end for this model, the split and memory
 *     lines say "N% more" (not "-N% less");
 *   - usage errors exit with 2 (warm-up taking every epoch, a --limit below --batch among them),
 *     a missing dataset or checkpoint, or an unwritable --out or --json, with 1 and one line
 *     naming it (before any training);
 *   - --limit and --test-limit above a split's size (a 64/32-image npz) use the whole split, and
 *     a split smaller than --batch is an error (1) naming the data;
 *   - a one-epoch step schedule, which has no milestone, says in the header that the rate stays.
 * Resuming and divergence are in test_train_resume.c. Skipped when Fashion-MNIST is missing. */
#include <jansson.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ir/graph.h"
#include "runtime/dataset.h"
#include "support/bundled_models.h"
#include "support/check.h"
#include "support/command.h"
#include "support/memory_checks.h"
#include "support/mpi_runs.h"
#include "support/user_data.h"

static char directory[] = "/tmp/ipro_test_train_XXXXXX";

/* The numbers of the "epoch E/T ..." line for epoch `epoch`. */
static bool epoch_line(const char *out, int epoch, int epochs, double *accuracy, double *loss) {
  char head[64];
  snprintf(head, sizeof head, "epoch %d/%d  loss ", epoch, epochs);
  const char *line = strstr(out, head);
  double train_loss;
  return line && sscanf(line + strlen(head), "%lf  test accuracy %lf  test loss %lf", &train_loss,
                        accuracy, loss) == 3;
}

/* --json's "history": one record per epoch, numbered, each with the numbers its epoch line
 * printed (to their 4 decimals), a learning rate that the cosine schedule lowers from one epoch's
 * last step to the next, and seconds within the run's. */
static void check_history(const json_t *report, const char *log, int epochs) {
  const json_t *history = json_object_get(report, "history");
  CHECK_MSG(json_is_array(history) && (int)json_array_size(history) == epochs,
            "train --json: no history of %d epochs", epochs);
  double previous_rate = INFINITY;
  for (int e = 1; e <= epochs && history && (int)json_array_size(history) == epochs; e++) {
    const json_t *record = json_array_get(history, (size_t)e - 1);
    double accuracy = -1, test_loss = -1;
    CHECK_MSG(epoch_line(log, e, epochs, &accuracy, &test_loss), "no epoch line %d", e);
    char head[64];
    snprintf(head, sizeof head, "epoch %d/%d  loss ", e, epochs);
    double loss = strstr(log, head) ? atof(strstr(log, head) + strlen(head)) : -1;
    double rate = json_number_value(json_object_get(record, "learning_rate"));
    double seconds = json_number_value(json_object_get(record, "seconds"));
    CHECK_MSG(
        json_integer_value(json_object_get(record, "epoch")) == e &&
            fabs(json_number_value(json_object_get(record, "test_accuracy")) - accuracy) < 5e-5 &&
            fabs(json_number_value(json_object_get(record, "test_loss")) - test_loss) < 5e-5 &&
            fabs(json_number_value(json_object_get(record, "loss")) - loss) < 5e-5,
        "history record %d does not say what its epoch line printed (loss %.4f, test "
        "accuracy %.4f, test loss %.4f)",
        e, loss, accuracy, test_loss);
    CHECK_MSG(rate > 0 && rate < previous_rate && rate <= 0.1,
              "history record %d: learning rate %g after %g", e, rate, previous_rate);
    CHECK_MSG(seconds > 0 &&
                  seconds <= json_number_value(json_object_get(report, "seconds")) + 1e-9,
              "history record %d: %g seconds", e, seconds);
    CHECK_MSG(!json_object_get(record, "local_losses"), "end to end: local losses listed");
    previous_rate = rate;
  }
}

static void train_then_eval(void) {
  char arguments[2048], model[700];
  snprintf(model, sizeof model, "%s/trained.onnx", directory);
  snprintf(arguments, sizeof arguments,
           "train models/mlp_fmnist.onnx --data fashion-mnist --limit 512 --epochs 2 --batch 64 "
           "--test-limit 1000 --json - --out '%s'",
           model);
  ipro_command_result r;
  ipro_test_prepare_memory_measurement();
  ipro_test_run_infopro(arguments, &r);
  CHECK_MSG(r.exit_status == 0, "train: exit status %d, stderr: %s", r.exit_status, r.err);
  /* --json -: stdout is the JSON object alone, the log is on stderr */
  const char *log = r.err;
  json_error_t error;
  json_t *report = json_loads(r.out, 0, &error);
  CHECK_MSG(report && json_is_object(report),
            "train --json -: stdout is not one JSON object (%s at line %d): %.300s", error.text,
            error.line, r.out);
  CHECK_MSG(strstr(log, "512 training images, 8 steps of 64 per epoch (0 dropped)"),
            "train: no header in: %s", log);
  CHECK_MSG(strstr(log, "epoch 1/2  step 8/8  loss ") && strstr(log, "epoch 2/2  step 8/8"),
            "train: no plain progress lines in: %s", log);
  CHECK_MSG(!strchr(log, '\r') && !strchr(log, '\033'),
            "train: terminal control characters written to a pipe");
  double accuracy1 = -1, loss1 = -1, accuracy = -1, loss = -1;
  CHECK_MSG(epoch_line(log, 1, 2, &accuracy1, &loss1) && epoch_line(log, 2, 2, &accuracy, &loss),
            "train: no epoch lines in: %s", log);
  const char *final = strstr(log, "trained 2 epochs in ");
  double final_accuracy = -1;
  CHECK_MSG(final && sscanf(strstr(final, ": test accuracy"), ": test accuracy %lf",
                            &final_accuracy) == 1,
            "train: no final line in: %s", log);
  CHECK_MSG(final_accuracy == accuracy, "final accuracy %.4f, last epoch %.4f", final_accuracy,
            accuracy);
  CHECK_MSG(fabs(json_real_value(json_object_get(report, "test_accuracy")) - accuracy) < 5e-5,
            "the JSON's test_accuracy is not the last epoch's %.4f: %.300s", accuracy, r.out);
  check_history(report, log, 2);
  json_decref(report);
  /* The MLP's plan is 3.5 MB: compiling it (its 1.1 MB of weights decoded and copied into
   * graphs; measured 1.2 MB of transients in the Release build, 2.8 MB under the sanitizers) is
   * a far larger share than 1%, so the allowance is 4 MiB here; test_memory_measured.c holds
   * ResNet-8 to 1%. */
  ipro_test_check_train_memory("train", r.out,
                               (ipro_test_memory_bounds){4u << 20, 0.01, 4u << 20, 0, 0});
  /* An untrained MLP is at chance (0.1); two short epochs must do clearly better. */
  CHECK_MSG(accuracy > 0.5 && loss < 2.0, "accuracy %.4f, test loss %.4f after 2 epochs", accuracy,
            loss);
  CHECK(access(model, R_OK) == 0);

  snprintf(arguments, sizeof arguments, "eval '%s' --data fashion-mnist --limit 1000", model);
  ipro_test_run_infopro(arguments, &r);
  CHECK_MSG(r.exit_status == 0, "eval: exit status %d, stderr: %s", r.exit_status, r.err);
  const char *line = strstr(r.out, "accuracy ");
  double eval_accuracy = -1, eval_loss = -1;
  long long correct = -1, count = -1;
  CHECK_MSG(line &&
                sscanf(line, "accuracy %lf (%lld/%lld)", &eval_accuracy, &correct, &count) == 3 &&
                sscanf(strstr(line, "cross-entropy "), "cross-entropy %lf", &eval_loss) == 1,
            "eval: cannot parse: %s", r.out);
  CHECK_MSG(eval_accuracy == accuracy && count == 1000,
            "eval reports accuracy %.4f (%lld/%lld), the trainer printed %.4f", eval_accuracy,
            correct, count, accuracy);
  CHECK_MSG(fabs(eval_loss - loss) <= 0.00005 + 1e-9,
            "eval reports cross-entropy %.6f, the trainer printed %.4f", eval_loss, loss);
}

static void failures(void) {
  static const char *const usage_errors[] = {
      "train",
      "train models/mlp_fmnist.onnx",
      "train models/mlp_fmnist.onnx --data fashion-mnist --epochs 0",
      "train models/mlp_fmnist.onnx --data fashion-mnist --batch -3",
      "train models/mlp_fmnist.onnx --data fashion-mnist --lr -1",
      "train models/mlp_fmnist.onnx --data fashion-mnist --lr nan",
      "train models/mlp_fmnist.onnx --data fashion-mnist --schedule linear",
      "train models/mlp_fmnist.onnx --data fashion-mnist --optimizer adam",
      "train models/mlp_fmnist.onnx --data fashion-mnist --momentum 1.5",
      "train models/mlp_fmnist.onnx --data fashion-mnist --milestones 3,x",
      "train models/mlp_fmnist.onnx --data fashion-mnist --epochs 2 --warmup-epochs 2",
      "train models/mlp_fmnist.onnx --data fashion-mnist --limit 64",
      "train models/mlp_fmnist.onnx --data fashion-mnist --resume",
      "train models/mlp_fmnist.onnx --data fashion-mnist --frobnicate",
      "train models/mlp_fmnist.onnx --data fashion-mnist --epochs",
  };
  ipro_command_result r;
  for (size_t i = 0; i < sizeof usage_errors / sizeof usage_errors[0]; i++) {
    ipro_test_run_infopro(usage_errors[i], &r);
    CHECK_MSG(r.exit_status == 2 && r.err[0] && !r.out[0], "%s: exit status %d, stderr: %s",
              usage_errors[i], r.exit_status, r.err);
  }
  ipro_test_run_infopro("train --help", &r);
  CHECK_MSG(r.exit_status == 0 && strstr(r.out, "--checkpoint DIR"), "train --help: %d",
            r.exit_status);

  static const struct {
    const char *arguments, *needle;
  } failures[] = {
      {"train models/mlp_fmnist.onnx --data fashion-mnist:/nonexistent/fmnist",
       "/nonexistent/fmnist"},
      {"train models/mlp_fmnist.onnx --data fashion-mnist --checkpoint /nonexistent/ck --resume",
       "/nonexistent/ck/checkpoint.ipck"},
      {"train models/missing.onnx --data fashion-mnist --limit 64 --batch 32",
       "models/missing.onnx"},
      {"train models/mlp_fmnist.onnx --data fashion-mnist --limit 64 --batch 32 --out "
       "/nonexistent/dir/m.onnx",
       "/nonexistent/dir"},
      /* refused before any work, not after the training */
      {"train models/mlp_fmnist.onnx --data fashion-mnist --limit 64 --batch 32 --json "
       "/nonexistent/dir/r.json",
       "/nonexistent/dir/r.json"},
      {"train models/resnet32.onnx --data fashion-mnist --limit 64 --batch 32", "[N,3,32,32]"},
  };
  for (size_t i = 0; i < sizeof failures / sizeof failures[0]; i++) {
    ipro_test_run_infopro(failures[i].arguments, &r);
    CHECK_MSG(r.exit_status == 1 && r.err_lines == 1 && strstr(r.err, failures[i].needle),
              "%s: exit status %d, expected 1 and one line with '%s': %s", failures[i].arguments,
              r.exit_status, failures[i].needle, r.err);
  }
}

/* Whether graph `after` holds a tensor of loaded's name and size (*present) with its very bytes
 * (the result). */
static bool same_as_loaded(const ipro_graph *after, const ipro_tensor *loaded, bool *present) {
  int u = ipro_graph_find_tensor(after, loaded->name);
  const ipro_tensor *written = u >= 0 ? &after->tensors[u] : NULL;
  *present = written && written->data && loaded->data && written->data_bytes == loaded->data_bytes;
  return *present && memcmp(written->data, loaded->data, loaded->data_bytes) == 0;
}

/* Every parameter of the written model (a float initializer named as PyTorch names its
 * parameters, "group.weight") differs from the one it was loaded with: each trained. A parameter
 * folded into a constant at inference (a GroupNorm's weight unsqueezed to [C, 1, 1]) had no
 * gradient and was written back as loaded. */
static void check_every_parameter_trained(const char *name, const char *written) {
  char source[1024];
  snprintf(source, sizeof source, "%s/models/%s.onnx", ipro_test_source_dir(), name);
  ipro_graph *before = NULL, *after = NULL;
  ipro_error err = {{0}};
  CHECK_OK(ipro_graph_load(source, &before, &err), &err);
  CHECK_OK(ipro_graph_load(written, &after, &err), &err);
  int parameters = 0;
  for (int t = 0; before && after && t < before->n_tensors; t++) {
    const ipro_tensor *loaded = &before->tensors[t];
    if (loaded->kind != IPRO_TENSOR_INITIALIZER || loaded->dtype != IPRO_DTYPE_FLOAT ||
        !strchr(loaded->name, '.') || strstr(loaded->name, "running_") ||
        strstr(loaded->name, "num_batches"))
      continue;
    bool present, same = same_as_loaded(after, loaded, &present);
    CHECK_MSG(present && !same, "%s: parameter '%s' was written back as loaded", name,
              loaded->name);
    parameters++;
  }
  /* an initializer torch.export's graph signature names a buffer, or a scalar it does not list
   * (frontend/onnx_graph_signature.c), is a constant and comes back as loaded; the optimised
   * export has some (its epsilons and Pow's exponent) */
  int constants = 0;
  for (int t = 0; before && after && t < before->n_tensors; t++) {
    const ipro_tensor *loaded = &before->tensors[t];
    if (loaded->kind != IPRO_TENSOR_CONSTANT || loaded->producer >= 0 ||
        loaded->dtype != IPRO_DTYPE_FLOAT)
      continue;
    bool present;
    CHECK_MSG(same_as_loaded(after, loaded, &present),
              "%s: constant '%s' was not written back as loaded", name, loaded->name);
    constants++;
  }
  /* a BatchNormalization's running statistics (PyTorch's buffers running_mean, running_var:
   * state, not constants, though torch.export's signature names them buffers) were updated */
  int statistics = 0;
  for (int t = 0; before && after && t < before->n_tensors; t++) {
    const ipro_tensor *loaded = &before->tensors[t];
    if (!strstr(loaded->name, "running_") || loaded->dtype != IPRO_DTYPE_FLOAT || !loaded->data)
      continue;
    bool present, same = same_as_loaded(after, loaded, &present);
    CHECK_MSG(present && !same, "%s: running statistic '%s' was written back as loaded", name,
              loaded->name);
    statistics++;
  }
  CHECK_MSG(statistics > 0 || !strstr(name, "_bn_"), "%s: no running statistic found", name);
  CHECK_MSG(constants > 0 || !strstr(name, "optimized"),
            "%s: no scalar initializer loaded as a constant", name);
  CHECK_MSG(parameters > 0, "%s: no parameter found", name);
  ipro_graph_free(before);
  ipro_graph_free(after);
}

/* Models from PyTorch's torch.export-based exporter (models/export_dynamo.py), the default of
 * torch.onnx.export since PyTorch 2.9. With its defaults (cnn_dynamo_fmnist) the Dropout keeps
 * ratio and training_mode as initializers that normalisation makes attributes, so no module holds
 * them; with optimize=False (cnn_dynamo_bn_fmnist) the BatchNormalizations stay, in inference
 * form, beside Expand/CastLike bias subgraphs and computed ReduceMean axes; mixer_dynamo_fmnist
 * has LayerNormalization, Gelu and a linear layer on token sequences (MatMul of 3-D by 2-D), whose
 * tokens are cuts whose heads read their mean (its K = 2 cut is after its token mean,
 * vit_tiny_fmnist's at its encoder layer); effnet_tiny_fmnist and effnet_tiny_dynamo_fmnist, a tiny
 * torchvision EfficientNet from both exporters in training form, draw stochastic depth and dropout
 * with RandomUniformLike, Less, Cast and Div, which the test pass keeps whole; split_cnn_fmnist
 * splits and chunks channels (Split, and Slices of activations, whose gradients are a Concat and
 * Pads), and split_cnn_sequence_fmnist the same from torch.export without its optimisation
 * (SplitToSequence read by SequenceAt, loaded as Splits); group_norm_cnn_fmnist has GroupNorm and
 * InstanceNorm2d (InstanceNormalization), and group_norm_cnn_dynamo_fmnist the same from
 * torch.export without its optimisation (the norms' scales unsqueezed along a Range);
 * convnext_head_dynamo_fmnist has ConvNeXt's head, whose as_strided torch.export writes as a Gather
 * at indices it computes (folded; the gradient is the inverse permutation); vit_tiny_fmnist has
 * torchvision's ViT encoder from the TorchScript exporter (shapes computed with Equal, Where and
 * Mod, folded), and vit_tiny_opset14_fmnist the same at opset 14 (LayerNorm spelled out with Pow
 * and Sqrt, GELU with Erf); swin_tiny_fmnist has torchvision's Swin Transformer from the
 * TorchScript exporter (its shifted windows' masks built with ScatterND, Equal, Not and Where and
 * its attention scale with Pow, folded; windows padded with pads computed from shapes; patch
 * merging by strided Slices; relative position bias tables read at repeated indices; heads on [N,
 * H, W, C] feature maps) and swin_tiny_dynamo_fmnist the same from torch.export (the tables read by
 * GatherND at indices expanded from a Max); rms_norm_mixer_dynamo_fmnist has torch's RMSNorm from
 * torch.export (its rsqrt written as Sqrt and Reciprocal), and
 * rms_norm_mixer_dynamo_optimized_fmnist the same with the exporter's optimisation (its epsilons
 * and exponent scalar initializers, which must be written back as loaded: constants, not
 * parameters); rounding_cnn_dynamo_fmnist has Abs, Neg, Sign, Floor and Ceil of a convolution's
 * features and masks from GreaterOrEqual and LessOrEqual (the gradient through Abs and Neg, none
 * through the others); adaptive_pool_cnn_dynamo_fmnist pools a 7x7 map to 3x3 as torch.export
 * writes it (a GatherND of the map transposed to [H, W, N, C] at 2-axis indices, whose gradient
 * sums over the positions read; the transposed map is no cut: the heads read the batch first);
 * fourier_position_cnn_dynamo_fmnist adds a positional encoding folded from CumSum, Sin and Cos of
 * a mask the size of the batch's maps; normalized_cnn_dynamo_fmnist F.normalize and torch.sum
 * (ReduceL2 and ReduceSum, run with their gradients); cbam_cnn_dynamo_fmnist CBAM's attention
 * (ReduceMax and ReduceMin, with their gradients); recurrent_cnn_fmnist and
 * recurrent_cnn_dynamo_fmnist an nn.LSTM, nn.GRU and nn.RNN whose weights the exporters gather
 * from PyTorch's parameters by Slice and Concat (every one of them trains, through the gathering).
 * Local training (K = 2), the test pass after each epoch and the export go through for both (the
 * test pass once asked the trainer for the ratio and stopped after the first epoch; the second was
 * refused for its Expand), and the written model evaluates to the last test pass's accuracy. */
static void train_torch_export_model(const char *name) {
  char arguments[2048], model[700];
  snprintf(model, sizeof model, "%s/%s_trained.onnx", directory, name);
  snprintf(arguments, sizeof arguments,
           "train models/%s.onnx --data fashion-mnist --limit 256 --epochs 2 --batch 64 -K 2 "
           "--test-limit 500 --out '%s'",
           name, model);
  ipro_command_result r;
  ipro_test_run_infopro(arguments, &r);
  CHECK_MSG(r.exit_status == 0, "train %s: exit status %d, stderr: %s", name, r.exit_status, r.err);
  /* cnn_dynamo_fmnist alone was exported with the optimisation that folds BatchNormalizations
   * away (models/export_dynamo.py): its run, and no other, warns that it trains without them */
  bool folded = strcmp(name, "cnn_dynamo_fmnist") == 0;
  const char *warning = strstr(r.err, "exporter folded");
  char counted[200];
  ipro_test_folded_warning(counted, sizeof counted);
  CHECK_MSG(folded ? warning && strstr(r.err, counted) : !warning,
            "train %s: %s the folding warning ('%s'): %s", name, folded ? "without" : "with",
            counted, r.err);
  const char *final = strstr(r.out, "trained 2 epochs in ");
  double trained = -1, evaluated = -2;
  CHECK_MSG(final && sscanf(strstr(final, ": test accuracy"), ": test accuracy %lf", &trained) == 1,
            "train %s: no final line: %s", name, r.out);
  snprintf(arguments, sizeof arguments, "eval '%s' --data fashion-mnist --limit 500", model);
  ipro_test_run_infopro(arguments, &r);
  CHECK_MSG(r.exit_status == 0 && sscanf(r.out, "accuracy %lf", &evaluated) == 1,
            "eval %s (trained): exit status %d, stdout: %s, stderr: %s", name, r.exit_status, r.out,
            r.err);
  CHECK_MSG(fabs(evaluated - trained) < 1e-9, "%s: test pass %.4f, eval of the written model %.4f",
            name, trained, evaluated);
  check_every_parameter_trained(name, model);
}

/* masked_attention_dynamo_fmnist's buffers, named as PyTorch names them (models/export_dynamo.py,
 * MaskedAttention: a position table and a causal mask holding -inf), come back from
 * train_torch_export_model's run byte for byte as loaded: PyTorch does not train buffers. Trained,
 * the table drifted and the mask's -inf became NaN (before that, the -inf had the model refused).
 */
static void check_buffers_as_loaded(void) {
  static const char *const buffers[] = {"embed.position", "attention.mask"};
  char source[1024], written[700];
  snprintf(source, sizeof source, "%s/models/masked_attention_dynamo_fmnist.onnx",
           ipro_test_source_dir());
  snprintf(written, sizeof written, "%s/masked_attention_dynamo_fmnist_trained.onnx", directory);
  ipro_graph *before = NULL, *after = NULL;
  ipro_error err = {{0}};
  CHECK_OK(ipro_graph_load(source, &before, &err), &err);
  CHECK_OK(ipro_graph_load(written, &after, &err), &err);
  for (size_t i = 0; before && after && i < sizeof buffers / sizeof buffers[0]; i++) {
    int t = ipro_graph_find_tensor(before, buffers[i]);
    bool present;
    CHECK_MSG(t >= 0 && same_as_loaded(after, &before->tensors[t], &present),
              "buffer '%s' was not written back as loaded", buffers[i]);
  }
  ipro_graph_free(before);
  ipro_graph_free(after);
}

/* A model PyTorch's TorchScript exporter wrote in inference mode (models/export_dynamo.py,
 * export_for_inference): its equal zero biases deduplicated into Identity copies of the first.
 * They were separate parameters in PyTorch and train as such: the run writes the same bytes as
 * the run on the same file with each copy restored as an initializer by the onnx package
 * (cnn_eval_copies_fmnist), so the written model has the copies as trained initializers and no
 * Identity left. Folded as constants, the copies stayed untrained and the Identities stayed. */
static void train_deduplicated_parameters(void) {
  char arguments[2048], written[2][700];
  const char *names[2] = {"cnn_eval_fmnist", "cnn_eval_copies_fmnist"};
  for (int i = 0; i < 2; i++) {
    snprintf(written[i], sizeof written[i], "%s/%s_trained.onnx", directory, names[i]);
    snprintf(arguments, sizeof arguments,
             "train models/%s.onnx --data fashion-mnist --limit 256 --epochs 1 --batch 64 -K 2 "
             "--seed 3 --test-limit 100 --out '%s'",
             names[i], written[i]);
    ipro_command_result r;
    ipro_test_run_infopro(arguments, &r);
    CHECK_MSG(r.exit_status == 0, "train %s: exit status %d, stderr: %s", names[i], r.exit_status,
              r.err);
  }
  CHECK_MSG(ipro_test_same_file(written[0], written[1]),
            "%s and %s differ: the deduplicated parameters did not train as the separate ones",
            written[0], written[1]);
}

/* mlp_fmnist at K = 2 plans more memory than end to end (its heads cost more than the cut
 * saves): the split line and the memory line say "N% more", where they said "-N% less". */
static void more_than_end_to_end(void) {
  ipro_command_result r;
  ipro_test_run_infopro("train models/mlp_fmnist.onnx --data fashion-mnist --limit 64 "
                        "--test-limit 64 --epochs 1 --batch 32 -K 2",
                        &r);
  const char *split = strstr(r.out, "planned peak ");
  CHECK_MSG(r.exit_status == 0 && split && strstr(split, "% more)\n") &&
                strstr(r.out, "% more with K = 2)") && !strstr(r.out, "% less"),
            "-K 2 on mlp_fmnist: exit status %d, stdout: %s", r.exit_status, r.out);
}

/* --limit and --test-limit above a split's size use the whole split (train's --limit was an
 * error, the others were not): 64 training and 32 test images of an npz, and the header says so. */
static void limits_above_the_splits(void) {
  static uint8_t pixels[64 * 28 * 28];
  int64_t labels[64];
  for (int i = 0; i < 64; i++)
    labels[i] = i % 10;
  ipro_test_npy arrays[4] = {
      {"x_train", "|u1", 4, {64, 1, 28, 28}, pixels, sizeof pixels, false},
      {"y_train", "<i8", 1, {64}, labels, sizeof labels, false},
      {"x_test", "|u1", 4, {32, 1, 28, 28}, pixels, 32 * 28 * 28, false},
      {"y_test", "<i8", 1, {32}, labels, 32 * sizeof(int64_t), false},
  };
  char path[600], arguments[1024];
  snprintf(path, sizeof path, "%s/small.npz", directory);
  CHECK(ipro_test_write_npz(path, arrays, 4, false, false));
  snprintf(arguments, sizeof arguments,
           "train models/mlp_fmnist.onnx --data 'npz:%s' --limit 99999999 --test-limit 9999999 "
           "--epochs 1 --batch 32",
           path);
  ipro_command_result r;
  ipro_test_run_infopro(arguments, &r);
  CHECK_MSG(r.exit_status == 0 && strstr(r.out, "64 training images, 2 steps of 32") &&
                strstr(r.out, "; 32 test images"),
            "%s: exit status %d, stdout: %s, stderr: %s", arguments, r.exit_status, r.out, r.err);
  /* a split smaller than --batch is the data's doing: exit status 1, naming the data */
  snprintf(arguments, sizeof arguments,
           "train models/mlp_fmnist.onnx --data 'npz:%s' --epochs 1 --batch 128", path);
  ipro_test_run_infopro(arguments, &r);
  CHECK_MSG(r.exit_status == 1 && r.err_lines == 1 && strstr(r.err, path) &&
                strstr(r.err, ": 64 training images make no complete batch of 128 (--batch)"),
            "%s: exit status %d, stderr: %s", arguments, r.exit_status, r.err);
}

/* A one-epoch run's step schedule has no milestone (none lies below its one epoch): the header
 * said "step (x0.1 at epoch)", an empty list; it says the rate stays. */
static void one_epoch_step_schedule(void) {
  ipro_command_result r;
  ipro_test_run_infopro("train models/mlp_fmnist.onnx --data fashion-mnist --limit 64 "
                        "--test-limit 64 --epochs 1 --batch 32 --schedule step",
                        &r);
  CHECK_MSG(
      r.exit_status == 0 &&
          strstr(r.out, "; lr 0.1 step (no milestone in a 1-epoch run: the rate stays 0.1);") &&
          !strstr(r.out, "at epoch)"),
      "--schedule step --epochs 1: exit status %d, stdout: %s, stderr: %s", r.exit_status, r.out,
      r.err);
}

int main(void) {
  if (access(IPRO_FASHION_MNIST_DEFAULT_DIR "/t10k-images-idx3-ubyte.gz", R_OK) != 0)
    return ipro_test_skip("Fashion-MNIST not installed at " IPRO_FASHION_MNIST_DEFAULT_DIR);
  if (!ipro_test_infopro_available()) return ipro_test_skip("IPRO_INFOPRO is not set");
  if (!mkdtemp(directory)) return ipro_test_skip("cannot create a temporary directory");
  failures();
  more_than_end_to_end();
  limits_above_the_splits();
  one_epoch_step_schedule();
  train_then_eval();
  train_torch_export_model("cnn_dynamo_fmnist");
  train_torch_export_model("cnn_dynamo_bn_fmnist");
  train_torch_export_model("mixer_dynamo_fmnist");
  train_torch_export_model("effnet_tiny_fmnist");
  train_torch_export_model("effnet_tiny_dynamo_fmnist");
  train_torch_export_model("split_cnn_fmnist");
  train_torch_export_model("split_cnn_sequence_fmnist");
  train_torch_export_model("group_norm_cnn_fmnist");
  train_torch_export_model("group_norm_cnn_dynamo_fmnist");
  train_torch_export_model("convnext_head_dynamo_fmnist");
  train_torch_export_model("vit_tiny_fmnist");
  train_torch_export_model("vit_tiny_opset14_fmnist");
  train_torch_export_model("swin_tiny_fmnist");
  train_torch_export_model("swin_tiny_dynamo_fmnist");
  train_torch_export_model("rms_norm_mixer_dynamo_fmnist");
  train_torch_export_model("rms_norm_mixer_dynamo_optimized_fmnist");
  train_torch_export_model("masked_attention_dynamo_fmnist");
  train_torch_export_model("rounding_cnn_dynamo_fmnist");
  train_torch_export_model("adaptive_pool_cnn_dynamo_fmnist");
  train_torch_export_model("fourier_position_cnn_dynamo_fmnist");
  train_torch_export_model("normalized_cnn_dynamo_fmnist");
  train_torch_export_model("cbam_cnn_dynamo_fmnist");
  train_torch_export_model("smooth_activations_cnn_dynamo_fmnist");
  train_torch_export_model("recurrent_cnn_fmnist");
  train_torch_export_model("recurrent_cnn_dynamo_fmnist");
  check_buffers_as_loaded();
  train_deduplicated_parameters();
  ipro_test_remove_directory(directory);
  return ipro_test_finish();
}
