/* Checkpoints round-trip and refuse every damaged or foreign file:
 *   - a hand-built checkpoint (position with milestones, tensors of two dtypes, class names)
 *     decodes to what was encoded, as version 3; one without class names decodes without them;
 *   - version-1 and version-2 files (version 3's layout without the class names and the split
 *     flag, or without the flag, built here by hand from schemas/checkpoint.md) still decode,
 *     with no class names and no split; a version-1 header over a version-2 payload, an empty
 *     class name and one holding a NUL are refused;
 *   - a split (K = 3: cuts, heads' settings, λ, each module's heads) and a normalisation of 3
 *     channels are written and read back field by field; a split flag of 2, 17 modules, a
 *     module's heads missing or of 4 convolutions, a normalisation of 5 channels or with a std of
 *     0 are refused as malformed, and one that is not finite, has a std of 0 or 5 channels is not
 *     recorded; a trainer cut once records its split (K, the cut's name, the
 *     module's heads from the settings' shape, λ), and one whose settings the reader would not
 *     take records none (K 0), rather than write a checkpoint that cannot be read;
 *   - a file with a bad magic, another version, cut short at several lengths, with bytes
 *     appended, or with one payload byte flipped (CRC mismatch) is rejected with a message
 *     naming the file; a payload whose CRC is right but whose tensor length contradicts its shape
 *     is rejected as malformed;
 *   - with a trainer (models/mlp_fmnist.onnx, which has Dropout, at batch 4): after two steps, a
 *     saved checkpoint restored into a fresh trainer gives bit-identical parameters and optimizer
 *     moments, and the next step (same batch) gives bit-identical loss and parameters on both,
 *     for SGD and for AdamW (whose bias correction depends on the restored step count); the
 *     class names given to save are read back;
 *   - restoring a checkpoint with a tensor the program lacks, a tensor of another shape, a
 *     missing tensor, or an SGD checkpoint into an AdamW trainer fails naming file and tensor;
 *   - saving leaves exactly checkpoint.ipck in the directory (no temporary files). */
#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/checkpoint.h"
#include "runtime/framed_file.h"
#include "support/check.h"

#define BATCH 4
#define PIXELS 784

static char directory[] = "/tmp/ipro_test_checkpoint_XXXXXX";

static ipro_training_position sample_position(void) {
  ipro_training_position p = {.epochs_done = 3,
                              .steps_done = 1170,
                              .total_epochs = 10,
                              .seed = UINT64_C(0xfedcba9876543210),
                              .batch = 128,
                              .limit = 50000,
                              .crop_padding = 4,
                              .flip = true,
                              .random_resized_crop = true,
                              .optimizer = ipro_optimizer_defaults(IPRO_OPTIMIZER_SGD)};
  p.schedule = (ipro_lr_schedule){.kind = IPRO_SCHEDULE_STEP,
                                  .base_rate = 0.1,
                                  .warmup_epochs = 1,
                                  .gamma = 0.2,
                                  .n_milestones = 3,
                                  .milestones = {5, 7, 9}};
  return p;
}

static bool same_position(const ipro_training_position *a, const ipro_training_position *b) {
  const ipro_optimizer_settings *x = &a->optimizer, *y = &b->optimizer;
  const ipro_lr_schedule *s = &a->schedule, *t = &b->schedule;
  bool same = a->epochs_done == b->epochs_done && a->steps_done == b->steps_done &&
              a->total_epochs == b->total_epochs && a->seed == b->seed && a->batch == b->batch &&
              a->limit == b->limit && a->crop_padding == b->crop_padding && a->flip == b->flip &&
              a->random_resized_crop == b->random_resized_crop && x->kind == y->kind &&
              x->momentum == y->momentum && x->weight_decay == y->weight_decay &&
              x->nesterov == y->nesterov && x->beta1 == y->beta1 && x->beta2 == y->beta2 &&
              x->epsilon == y->epsilon && s->kind == t->kind && s->base_rate == t->base_rate &&
              s->warmup_epochs == t->warmup_epochs && s->gamma == t->gamma &&
              s->n_milestones == t->n_milestones;
  for (int i = 0; same && i < s->n_milestones; i++)
    same = s->milestones[i] == t->milestones[i];
  return same;
}

static bool write_bytes(const char *path, const uint8_t *bytes, size_t size) {
  FILE *file = fopen(path, "wb");
  if (!file) return false;
  bool ok = fwrite(bytes, 1, size, file) == size;
  return fclose(file) == 0 && ok;
}

/* Writes bytes to a file, reads it as a checkpoint, and expects a failure mentioning the file
 * and `needle`. */
static void expect_rejected(const char *what, const uint8_t *bytes, size_t size,
                            const char *needle) {
  char path[256];
  snprintf(path, sizeof path, "%s/damaged.ipck", directory);
  CHECK(write_bytes(path, bytes, size));
  ipro_checkpoint c;
  ipro_error err = {{0}};
  ipro_status status = ipro_checkpoint_read(path, &c, &err);
  CHECK_MSG(status == IPRO_ERROR, "%s: accepted", what);
  if (status == IPRO_OK) {
    ipro_checkpoint_release(&c);
    return;
  }
  CHECK_MSG(strstr(err.message, path) && strstr(err.message, needle),
            "%s: message lacks the file or '%s': %s", what, needle, err.message);
}

/* The little-endian u32 at bytes[at], and one written there. */
static void put_u32_at(uint8_t *bytes, size_t at, uint32_t value) {
  for (int i = 0; i < 4; i++)
    bytes[at + i] = (uint8_t)(value >> (8 * i));
}

/* The frame's header rewritten for a payload of `payload` bytes and a version (CRC included). */
static void reframe(uint8_t *bytes, uint32_t version, size_t payload) {
  put_u32_at(bytes, 8, version);
  put_u32_at(bytes, 12, ipro_crc32(bytes + IPRO_FRAME_HEADER_BYTES, payload));
  put_u32_at(bytes, 16, (uint32_t)payload);
  put_u32_at(bytes, 20, 0);
}

/* Class names: written and read back (version 2), absent in a version-1 file, refused when
 * malformed. */
static void class_names_and_version_1(void) {
  float weights[2] = {0.25f, -1};
  char tensor_name[] = "layer.weight";
  ipro_checkpoint_tensor tensor = {.name = tensor_name,
                                   .dtype = IPRO_DTYPE_FLOAT,
                                   .shape = {1, {2}},
                                   .data = weights,
                                   .bytes = sizeof weights};
  char cat[] = "cat", dog[] = "dog \xc3\xa9t\xc3\xa9";
  char *names[2] = {cat, dog};
  ipro_checkpoint c = {
      .position = sample_position(), .n_tensors = 1, .tensors = &tensor, .n_class_names = 2};
  c.class_names = names;
  uint8_t *bytes = NULL;
  size_t size = 0;
  ipro_error err = {{0}};
  CHECK_OK(ipro_checkpoint_encode(&c, &bytes, &size, &err), &err);
  if (!bytes) return;
  CHECK(bytes[8] == 3);
  ipro_checkpoint back;
  CHECK_OK(ipro_checkpoint_decode(bytes, size, "memory", &back, &err), &err);
  CHECK_EQ_INT(back.n_class_names, 2);
  for (int i = 0; i < back.n_class_names && i < 2; i++)
    CHECK_MSG(strcmp(back.class_names[i], names[i]) == 0, "class %d came back as '%s'", i,
              back.class_names[i]);
  ipro_checkpoint_release(&back);
  CHECK(back.class_names == NULL && back.n_class_names == 0);

  /* An empty name and a NUL in a name, with the CRC right: "dog..." becomes "d\0g..." and
   * "cat" announces 0 bytes (the rest then misparses, but the length is refused first). */
  uint8_t *damaged = malloc(size);
  if (!damaged) return;
  size_t last_name = size - 8 - (sizeof dog - 1); /* the split flag and channel count after it */
  memcpy(damaged, bytes, size);
  damaged[last_name + 1] = 0;
  reframe(damaged, 3, size - IPRO_FRAME_HEADER_BYTES);
  expect_rejected("NUL in a class name", damaged, size, "NUL");
  memcpy(damaged, bytes, size);
  put_u32_at(damaged, last_name - 4 - 3 - 4, 0);
  reframe(damaged, 3, size - IPRO_FRAME_HEADER_BYTES);
  expect_rejected("empty class name", damaged, size, "class 0 has a name of 0 bytes");
  free(damaged);
  free(bytes);

  /* Without names, split or normalisation: the count 0, the flag 0 and the channel count 0 end
   * the payload. */
  c.n_class_names = 0;
  c.class_names = NULL;
  CHECK_OK(ipro_checkpoint_encode(&c, &bytes, &size, &err), &err);
  if (!bytes) return;
  CHECK(size > 36 && memcmp(bytes + size - 12, "\0\0\0\0\0\0\0\0\0\0\0\0", 12) == 0);
  CHECK_OK(ipro_checkpoint_decode(bytes, size, "memory", &back, &err), &err);
  CHECK(back.n_class_names == 0 && back.class_names == NULL && back.n_tensors == 1 &&
        back.split.K == 0);
  ipro_checkpoint_release(&back);

  /* Version 2: the same payload without the split flag and the normalisation, under version 2. */
  uint8_t *version_1 = malloc(size);
  if (!version_1) return;
  size -= 4;
  memcpy(version_1, bytes, size - 4);
  reframe(version_1, 2, size - 4 - IPRO_FRAME_HEADER_BYTES);
  CHECK_OK(ipro_checkpoint_decode(version_1, size - 4, "version 2", &back, &err), &err);
  CHECK(same_position(&c.position, &back.position));
  CHECK(back.n_class_names == 0 && back.n_tensors == 1 && back.split.K == 0);
  ipro_checkpoint_release(&back);

  /* Version 1: without the class-name count too, under version 1. */
  size -= 4;
  memcpy(version_1, bytes, size - 4);
  reframe(version_1, 1, size - 4 - IPRO_FRAME_HEADER_BYTES);
  char path[256];
  snprintf(path, sizeof path, "%s/version_1.ipck", directory);
  CHECK(write_bytes(path, version_1, size - 4));
  CHECK_OK(ipro_checkpoint_read(path, &back, &err), &err);
  CHECK(same_position(&c.position, &back.position));
  CHECK(back.n_class_names == 0 && back.n_tensors == 1 &&
        strcmp(back.tensors[0].name, tensor_name) == 0 &&
        memcmp(back.tensors[0].data, weights, sizeof weights) == 0);
  ipro_checkpoint_release(&back);
  ipro_training_position position;
  CHECK_OK(ipro_checkpoint_read_position(path, &position, &err), &err);
  CHECK(same_position(&c.position, &position));
  /* version 1 over a version-2 payload: the count is 4 bytes version 1 does not have */
  memcpy(version_1, bytes, size);
  reframe(version_1, 1, size - IPRO_FRAME_HEADER_BYTES);
  expect_rejected("version 1 with class names", version_1, size, "4 unread payload bytes");
  free(version_1);
  free(bytes);
}

/* A split of K = 3 written and read back, and refused where malformed. */
static void split_record(void) {
  ipro_checkpoint c = {.position = sample_position()};
  ipro_split_record *split = &c.split;
  split->K = 3;
  snprintf(split->cuts[0], sizeof split->cuts[0], "/block1/Relu_output_0");
  snprintf(split->cuts[1], sizeof split->cuts[1], "/block2/Relu_output_0 \xc3\xa9");
  ipro_local_settings *l = &split->local;
  l->heads = (ipro_head_options){.convs = 2,
                                 .fcs = 3,
                                 .decoder = IPRO_DECODER_REDUCED,
                                 .aux_loss = IPRO_AUX_LOSS_CROSS_ENTROPY,
                                 .classes = 100,
                                 .image_channels = 3};
  l->lambda_first[0] = 2.5f, l->lambda_first[1] = 1, l->lambda_last[0] = 0.25f;
  l->lambda_last[1] = 0.75f;
  l->decoder_fixed = true;
  l->n_module_heads = 2;
  l->module_heads[0] = (ipro_head_choice){1, 2, IPRO_DECODER_PAPER};
  l->module_heads[1] = (ipro_head_choice){0, 1, IPRO_DECODER_REDUCED};
  ipro_checkpoint_set_normalization(&c, (const float[]){0.4914f, -0.5f, 0},
                                    (const float[]){0.247f, 2, 1e-3f}, 3);
  uint8_t *bytes = NULL;
  size_t size = 0;
  ipro_error err = {{0}};
  CHECK_OK(ipro_checkpoint_encode(&c, &bytes, &size, &err), &err);
  if (!bytes) return;
  ipro_checkpoint back;
  CHECK_OK(ipro_checkpoint_decode(bytes, size, "memory", &back, &err), &err);
  const ipro_split_record *b = &back.split;
  const ipro_local_settings *bl = &b->local;
  CHECK_EQ_INT(b->K, 3);
  CHECK(strcmp(b->cuts[0], split->cuts[0]) == 0 && strcmp(b->cuts[1], split->cuts[1]) == 0);
  CHECK(bl->heads.convs == 2 && bl->heads.fcs == 3 && bl->heads.decoder == IPRO_DECODER_REDUCED &&
        bl->heads.aux_loss == IPRO_AUX_LOSS_CROSS_ENTROPY && bl->heads.classes == 100 &&
        bl->heads.image_channels == 3);
  CHECK(bl->lambda_first[0] == 2.5f && bl->lambda_first[1] == 1 && bl->lambda_last[0] == 0.25f &&
        bl->lambda_last[1] == 0.75f && !bl->choose_heads && bl->decoder_fixed);
  CHECK(bl->n_module_heads == 2 && bl->module_heads[0].convs == 1 && bl->module_heads[0].fcs == 2 &&
        bl->module_heads[0].decoder == IPRO_DECODER_PAPER && bl->module_heads[1].convs == 0 &&
        bl->module_heads[1].fcs == 1 && bl->module_heads[1].decoder == IPRO_DECODER_REDUCED);
  CHECK(ipro_split_same_cuts_and_heads(split, b));
  CHECK(back.n_normalization == 3 && back.mean[0] == 0.4914f && back.mean[1] == -0.5f &&
        back.mean[2] == 0 && back.std[0] == 0.247f && back.std[1] == 2 && back.std[2] == 1e-3f);
  ipro_checkpoint_release(&back);
  /* a normalisation its reader would refuse is not recorded */
  ipro_checkpoint refused = {0};
  ipro_checkpoint_set_normalization(&refused, (const float[]){0, 0}, (const float[]){1, 0}, 2);
  CHECK_EQ_INT(refused.n_normalization, 0);
  ipro_checkpoint_set_normalization(&refused, (const float[]){NAN}, (const float[]){1}, 1);
  CHECK_EQ_INT(refused.n_normalization, 0);
  ipro_checkpoint_set_normalization(&refused, (const float[]){0, 0, 0, 0, 0},
                                    (const float[]){1, 1, 1, 1, 1}, 5);
  CHECK_EQ_INT(refused.n_normalization, 0);
  /* The payload ends with the flag and the record (schemas/checkpoint.md): K, two names (4 bytes
   * of length each), 6 u32 of the heads' settings, 4 f32 of λ, 2 flags, the count of module heads
   * and two heads of 3 u32. */
  /* then the normalisation: a channel count, 3 means and 3 stds */
  size_t normalization = size - 4 - 3 * 4 * 2, heads_count = normalization - 2 * 12 - 4;
  size_t flag = heads_count - 4 * 2 - 4 * 4 - 4 * 6 - (4 + strlen(split->cuts[1])) -
                (4 + strlen(split->cuts[0])) - 4 - 4;
  uint8_t *damaged = malloc(size);
  if (!damaged) return free(bytes);
  CHECK(bytes[flag] == 1 && bytes[flag + 4] == 3);
  static const struct {
    size_t offset; /* from the flag */
    uint32_t value;
    const char *says;
  } damages[] = {{0, 2, "split flag 2"}, {4, 17, "its split: the number of modules"}};
  for (size_t i = 0; i < sizeof damages / sizeof damages[0]; i++) {
    memcpy(damaged, bytes, size);
    put_u32_at(damaged, flag + damages[i].offset, damages[i].value);
    reframe(damaged, 3, size - IPRO_FRAME_HEADER_BYTES);
    expect_rejected(damages[i].says, damaged, size, damages[i].says);
  }
  memcpy(damaged, bytes, size);
  CHECK_EQ_INT((int)damaged[heads_count], 2);
  put_u32_at(damaged, heads_count, 1); /* one module's heads where K = 3 has two */
  reframe(damaged, 3, size - IPRO_FRAME_HEADER_BYTES);
  expect_rejected("a module's heads missing", damaged, size,
                  "its split: the local-training settings");
  memcpy(damaged, bytes, size);
  put_u32_at(damaged, heads_count + 4, 4); /* module 1's heads: 4 convolutions */
  reframe(damaged, 3, size - IPRO_FRAME_HEADER_BYTES);
  expect_rejected("4 convolutions", damaged, size, "its split: the local-training settings");
  memcpy(damaged, bytes, size);
  CHECK_EQ_INT((int)damaged[normalization], 3);
  put_u32_at(damaged, normalization, 5);
  reframe(damaged, 3, size - IPRO_FRAME_HEADER_BYTES);
  expect_rejected("5 channels", damaged, size, "a normalisation of 5 channels");
  memcpy(damaged, bytes, size);
  put_u32_at(damaged, normalization + 4 + 3 * 4 + 4, 0); /* channel 1's std: 0 */
  reframe(damaged, 3, size - IPRO_FRAME_HEADER_BYTES);
  expect_rejected("a std of 0", damaged, size, "channel 1's normalisation (mean -0.5, std 0)");
  free(damaged);
  free(bytes);
}

/* A trainer cut once records its split; one whose settings would not be read back, none. */
static void trainer_split(void) {
  char model[1024];
  ipro_test_path(model, sizeof model, "models/mlp_fmnist.onnx");
  const char *cuts[1] = {"/net/net.5/Relu_output_0"};
  ipro_trainer_options options = {.batch = BATCH,
                                  .optimizer = ipro_optimizer_defaults(IPRO_OPTIMIZER_SGD),
                                  .n_cuts = 1,
                                  .cuts = cuts};
  options.local.heads = (ipro_head_options){.convs = 0,
                                            .fcs = 2,
                                            .aux_loss = IPRO_AUX_LOSS_CROSS_ENTROPY,
                                            .classes = 10,
                                            .image_channels = 1,
                                            .std = {1},
                                            .seed = 1};
  options.local.lambda_first[0] = 5, options.local.lambda_first[1] = 1;
  options.local.lambda_last[1] = 1;
  options.local.fuse_relu = true;
  ipro_trainer *trainer = NULL;
  ipro_error err = {{0}};
  CHECK_OK(ipro_trainer_create(model, &options, &trainer, &err), &err);
  if (!trainer) return;
  ipro_split_record split;
  ipro_trainer_split(trainer, &split);
  CHECK_EQ_INT(split.K, 2);
  CHECK(strcmp(split.cuts[0], cuts[0]) == 0);
  CHECK(split.local.n_module_heads == 1 && split.local.module_heads[0].convs == 0 &&
        split.local.module_heads[0].fcs == 2 &&
        split.local.module_heads[0].decoder == IPRO_DECODER_PAPER);
  CHECK(split.local.lambda_first[0] == 5 && split.local.heads.classes == 10 &&
        split.local.heads.aux_loss == IPRO_AUX_LOSS_CROSS_ENTROPY);
  ipro_training_position position = sample_position();
  ipro_checkpoint captured;
  CHECK_OK(ipro_checkpoint_capture(trainer, &position, &captured, &err), &err);
  CHECK(ipro_split_same_cuts_and_heads(&split, &captured.split));
  ipro_checkpoint_release(&captured);
  ipro_trainer_free(trainer);
  /* 0 classes: a record its reader would refuse */
  options.local.heads.classes = 0;
  options.n_cuts = 0;
  CHECK_OK(ipro_trainer_create(model, &options, &trainer, &err), &err);
  if (!trainer) return;
  ipro_trainer_split(trainer, &split);
  CHECK_EQ_INT(split.K, 0);
  ipro_trainer_free(trainer);
}

static void format_round_trip_and_damage(void) {
  float weights[6] = {1.5f, -2, 0, 3e-20f, INFINITY, -0.0f};
  int64_t counts[2] = {7, -9};
  char name_a[] = "layer.weight", name_b[] = "optimizer/moment1:layer.weight";
  ipro_checkpoint_tensor tensors[2] = {{.name = name_a,
                                        .dtype = IPRO_DTYPE_FLOAT,
                                        .shape = {2, {2, 3}},
                                        .data = weights,
                                        .bytes = sizeof weights},
                                       {.name = name_b,
                                        .dtype = IPRO_DTYPE_INT64,
                                        .shape = {1, {2}},
                                        .data = counts,
                                        .bytes = sizeof counts}};
  ipro_checkpoint c = {.position = sample_position(), .n_tensors = 2, .tensors = tensors};
  uint8_t *bytes = NULL;
  size_t size = 0;
  ipro_error err = {{0}};
  CHECK_OK(ipro_checkpoint_encode(&c, &bytes, &size, &err), &err);
  if (!bytes) return;
  CHECK(memcmp(bytes, "IPROCKPT", 8) == 0 && bytes[8] == IPRO_CHECKPOINT_VERSION);

  ipro_checkpoint back;
  CHECK_OK(ipro_checkpoint_decode(bytes, size, "memory", &back, &err), &err);
  CHECK(same_position(&c.position, &back.position));
  CHECK_EQ_INT(back.n_tensors, 2);
  for (int i = 0; i < back.n_tensors && i < 2; i++)
    CHECK_MSG(strcmp(back.tensors[i].name, tensors[i].name) == 0 &&
                  back.tensors[i].dtype == tensors[i].dtype &&
                  ipro_shape_equal(&back.tensors[i].shape, &tensors[i].shape) &&
                  back.tensors[i].bytes == tensors[i].bytes &&
                  memcmp(back.tensors[i].data, tensors[i].data, tensors[i].bytes) == 0,
              "tensor %d did not round-trip", i);
  ipro_checkpoint_release(&back);

  uint8_t *damaged = malloc(size + 16);
  if (!damaged) return;
  memcpy(damaged, bytes, size);
  damaged[0] = 'X';
  expect_rejected("bad magic", damaged, size, "bad magic");
  memcpy(damaged, bytes, size);
  damaged[8] = 4;
  expect_rejected("version 4", damaged, size, "version 4; this infopro reads versions 1 to 3");
  memcpy(damaged, bytes, size);
  damaged[8] = 0;
  expect_rejected("version 0", damaged, size, "version 0");
  const size_t cuts[] = {0, 5, 8, 23, 24, 100, size / 2, size - 1};
  for (size_t i = 0; i < sizeof cuts / sizeof cuts[0]; i++) {
    char what[64];
    snprintf(what, sizeof what, "cut to %zu bytes", cuts[i]);
    expect_rejected(what, bytes, cuts[i], cuts[i] < 8 ? "bad magic" : "truncated");
  }
  memcpy(damaged, bytes, size);
  memset(damaged + size, 0, 16);
  expect_rejected("bytes appended", damaged, size + 16, "after its payload");
  for (size_t at = 24; at < size; at += (size - 24) / 7 + 1) {
    memcpy(damaged, bytes, size);
    damaged[at] ^= 0x10;
    expect_rejected("one byte flipped", damaged, size, "CRC");
  }
  free(damaged);
  free(bytes);

  /* A consistent CRC over a payload that contradicts itself. */
  tensors[0].bytes = 20;
  CHECK_OK(ipro_checkpoint_encode(&c, &bytes, &size, &err), &err);
  expect_rejected("length against shape", bytes, size, "does not match its shape");
  free(bytes);

  ipro_checkpoint missing;
  CHECK(ipro_checkpoint_read("/nonexistent/checkpoint.ipck", &missing, &err) == IPRO_ERROR &&
        strstr(err.message, "/nonexistent/checkpoint.ipck"));
}

/* ---- with a trainer ---- */

static void make_batch(int seed, float *images, int64_t *labels) {
  uint32_t state = 12345u + (uint32_t)seed * 7919u;
  for (int i = 0; i < BATCH * PIXELS; i++) {
    state = state * 1664525u + 1013904223u;
    images[i] = (float)(state >> 8) / 16777216.0f * 2 - 1;
  }
  for (int i = 0; i < BATCH; i++)
    labels[i] = (i * 3 + seed) % 10;
}

static ipro_trainer *make_trainer(ipro_optimizer_kind kind) {
  char model[1024];
  ipro_test_path(model, sizeof model, "models/mlp_fmnist.onnx");
  ipro_trainer_options options = {.batch = BATCH, .optimizer = ipro_optimizer_defaults(kind)};
  ipro_trainer *trainer = NULL;
  ipro_error err = {{0}};
  CHECK_OK(ipro_trainer_create(model, &options, &trainer, &err), &err);
  return trainer;
}

/* Every tensor a checkpoint holds, equal bit for bit in both trainers. */
static int compare_held(ipro_trainer *a, ipro_trainer *b, const char *when) {
  CHECK_EQ_INT(ipro_trainer_module_count(a), 1);
  const ipro_graph *graph = ipro_trainer_module_graph(a, 0);
  ipro_error err = {{0}};
  int held = 0;
  for (int t = 0; t < graph->n_tensors; t++) {
    if (!ipro_checkpoint_holds(a, 0, t)) continue;
    held++;
    size_t bytes = (size_t)ipro_tensor_bytes(&graph->tensors[t]);
    uint8_t *x = malloc(bytes), *y = malloc(bytes);
    if (x && y && ipro_trainer_read(a, graph->tensors[t].name, x, bytes, &err) == IPRO_OK &&
        ipro_trainer_read(b, graph->tensors[t].name, y, bytes, &err) == IPRO_OK)
      CHECK_MSG(memcmp(x, y, bytes) == 0, "%s: '%s' differs", when, graph->tensors[t].name);
    else
      CHECK_MSG(false, "%s: reading '%s': %s", when, graph->tensors[t].name, err.message);
    free(x);
    free(y);
  }
  return held;
}

/* What infopro train does after an epoch (cli/train_epochs.c): capture, the class names, write. */
static ipro_status save(const char *directory, ipro_trainer *trainer,
                        const ipro_training_position *position, char *const *class_names,
                        int n_class_names, ipro_error *err) {
  ipro_checkpoint c;
  if (ipro_checkpoint_capture(trainer, position, &c, err) != IPRO_OK) return IPRO_ERROR;
  ipro_status status = ipro_checkpoint_set_class_names(&c, class_names, n_class_names, err);
  if (status == IPRO_OK) status = ipro_checkpoint_write(directory, &c, err);
  ipro_checkpoint_release(&c);
  return status;
}

static void trainer_round_trip(ipro_optimizer_kind kind) {
  const char *name = kind == IPRO_OPTIMIZER_SGD ? "sgd" : "adamw";
  ipro_trainer *a = make_trainer(kind), *b = make_trainer(kind);
  if (!a || !b) {
    ipro_trainer_free(a);
    ipro_trainer_free(b);
    return;
  }
  static float images[BATCH * PIXELS];
  int64_t labels[BATCH];
  ipro_error err = {{0}};
  float loss_a = 0, loss_b = 0;
  for (int s = 0; s < 2; s++) {
    make_batch(s, images, labels);
    CHECK_OK(ipro_trainer_step(a, images, labels, 0.05f, &loss_a, &err), &err);
  }
  ipro_training_position position = sample_position();
  position.optimizer = ipro_optimizer_defaults(kind);
  position.steps_done = ipro_trainer_steps(a);
  char sub[256];
  snprintf(sub, sizeof sub, "%s/%s", directory, name);
  char first[] = "airplane", second[] = "bird";
  char *class_names[2] = {first, second};
  CHECK_OK(save(sub, a, &position, class_names, 2, &err), &err);

  char path[300];
  ipro_checkpoint_path(sub, path, sizeof path);
  ipro_checkpoint c;
  CHECK_OK(ipro_checkpoint_read(path, &c, &err), &err);
  CHECK(same_position(&position, &c.position));
  CHECK(c.n_class_names == 2 && strcmp(c.class_names[0], "airplane") == 0 &&
        strcmp(c.class_names[1], "bird") == 0);
  CHECK_OK(ipro_checkpoint_restore(b, &c, path, &err), &err);
  ipro_trainer_set_steps(b, c.position.steps_done);
  CHECK_EQ_INT(ipro_trainer_steps(b), 2);

  const ipro_training_graph *training = ipro_trainer_module_training(a, 0);
  int held = compare_held(a, b, "after restore");
  int moments = kind == IPRO_OPTIMIZER_SGD ? 1 : 2;
  CHECK_MSG(held == training->n_parameters * (1 + moments), "%s: %d tensors held for %d parameters",
            name, held, training->n_parameters);
  CHECK_EQ_INT(c.n_tensors, held);

  make_batch(2, images, labels);
  CHECK_OK(ipro_trainer_step(a, images, labels, 0.05f, &loss_a, &err), &err);
  CHECK_OK(ipro_trainer_step(b, images, labels, 0.05f, &loss_b, &err), &err);
  CHECK_MSG(memcmp(&loss_a, &loss_b, sizeof loss_a) == 0 && isfinite(loss_a),
            "%s: the step after restoring gives loss %.9g, the original %.9g", name, (double)loss_b,
            (double)loss_a);
  compare_held(a, b, "one step after restore");

  /* Damaged contents are refused before anything is written. */
  if (kind == IPRO_OPTIMIZER_SGD && c.n_tensors > 1) {
    char *saved_name = c.tensors[0].name;
    c.tensors[0].name = "no.such.tensor";
    CHECK(ipro_checkpoint_restore(b, &c, path, &err) == IPRO_ERROR &&
          strstr(err.message, "no.such.tensor") && strstr(err.message, path));
    c.tensors[0].name = saved_name;
    ipro_shape saved_shape = c.tensors[0].shape;
    c.tensors[0].shape.dims[0] += 1;
    CHECK(ipro_checkpoint_restore(b, &c, path, &err) == IPRO_ERROR &&
          strstr(err.message, saved_name) && strstr(err.message, path));
    c.tensors[0].shape = saved_shape;
    c.n_tensors--;
    CHECK(ipro_checkpoint_restore(b, &c, path, &err) == IPRO_ERROR &&
          strstr(err.message, "has no tensor") && strstr(err.message, c.tensors[c.n_tensors].name));
    c.n_tensors++;
    ipro_trainer *adamw = make_trainer(IPRO_OPTIMIZER_ADAMW);
    if (adamw)
      CHECK(ipro_checkpoint_restore(adamw, &c, path, &err) == IPRO_ERROR &&
            strstr(err.message, "moment2"));
    ipro_trainer_free(adamw);
  }
  ipro_checkpoint_release(&c);

  /* Saving again replaces the file and leaves nothing else behind. */
  CHECK_OK(save(sub, a, &position, NULL, 0, &err), &err);
  DIR *dir = opendir(sub);
  int entries = 0, checkpoints = 0;
  for (struct dirent *e; dir && (e = readdir(dir));) {
    if (e->d_name[0] == '.') continue;
    entries++;
    checkpoints += strcmp(e->d_name, IPRO_CHECKPOINT_FILE) == 0;
  }
  if (dir) closedir(dir);
  CHECK(entries == 1 && checkpoints == 1);
  ipro_trainer_free(a);
  ipro_trainer_free(b);
}

int main(void) {
  if (!mkdtemp(directory)) return ipro_test_skip("cannot create a temporary folder");
  format_round_trip_and_damage();
  class_names_and_version_1();
  split_record();
  trainer_split();
  trainer_round_trip(IPRO_OPTIMIZER_SGD);
  trainer_round_trip(IPRO_OPTIMIZER_ADAMW);
  char command[200];
  snprintf(command, sizeof command, "rm -rf '%s'", directory);
  if (system(command) != 0) printf("note: could not remove %s\n", directory);
  return ipro_test_finish();
}
