/* The intermediate representation every stage after the frontend works on.
 *
 * A graph owns an array of tensors and an array of nodes; nodes refer to tensors by index, so the
 * arrays may grow while passes run. Tensors carry a dtype, a shape whose batch dimension may still
 * be symbolic (IPRO_DIM_BATCH), and, for initializers and folded constants, their data.
 * Nodes are kept in topological order. After ipro_graph_normalize every op has one canonical form
 * (see op_table.h), so no later stage looks at opset versions. */
#ifndef IPRO_GRAPH_H
#define IPRO_GRAPH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ir/error.h"
#include "ir/op_list.h"

#define IPRO_MAX_RANK 8

/* The value of a dimension that equals the (not yet chosen) batch size. */
#define IPRO_DIM_BATCH (-(INT64_C(1) << 40))

/* Numbered as ONNX's TensorProto.DataType, so values pass through unchanged. */
typedef enum {
  IPRO_DTYPE_UNDEFINED = 0,
  IPRO_DTYPE_FLOAT = 1,
  IPRO_DTYPE_UINT8 = 2,
  IPRO_DTYPE_INT8 = 3,
  IPRO_DTYPE_UINT16 = 4,
  IPRO_DTYPE_INT16 = 5,
  IPRO_DTYPE_INT32 = 6,
  IPRO_DTYPE_INT64 = 7,
  IPRO_DTYPE_STRING = 8,
  IPRO_DTYPE_BOOL = 9,
  IPRO_DTYPE_FLOAT16 = 10,
  IPRO_DTYPE_DOUBLE = 11,
  IPRO_DTYPE_UINT32 = 12,
  IPRO_DTYPE_UINT64 = 13,
  IPRO_DTYPE_COUNT_ = 17
} ipro_dtype;

typedef enum {
#define IPRO_OP_ENUM_(id, name) IPRO_OP_##id,
  IPRO_OP_LIST(IPRO_OP_ENUM_) IPRO_INTERNAL_OP_LIST(IPRO_OP_ENUM_)
#undef IPRO_OP_ENUM_
      IPRO_OP_COUNT
} ipro_op;
/* Ops from here on are created by the compiler only (op_list.h). */
#define IPRO_OP_FIRST_INTERNAL IPRO_OP_CONV_GRAD_INPUT

typedef enum {
  IPRO_TENSOR_ACTIVATION = 0, /* computed at run time */
  IPRO_TENSOR_INITIALIZER,    /* an ONNX initializer: weights, biases, BN statistics */
  IPRO_TENSOR_CONSTANT,       /* a Constant node's value or a folded shape computation */
  IPRO_TENSOR_STATE           /* training state kept across steps: parameter gradients,
                                 optimizer moments, hyper-parameters (zero-initialised) */
} ipro_tensor_kind;

typedef struct {
  int rank; /* -1 while unknown */
  int64_t dims[IPRO_MAX_RANK];
} ipro_shape;

typedef struct {
  char *name;
  ipro_dtype dtype;
  ipro_shape shape;
  ipro_tensor_kind kind;
  void *data; /* owned; row-major; set for initializers and constants */
  size_t data_bytes;
  int producer; /* index of the producing node, or -1 */
  /* graph inputs: the shape in the file, batch still symbolic (ipro_tensor_declare_shape);
   * NULL for every other tensor, which keeps the tensor arrays of a training graph (hundreds of
   * tensors per module) a third smaller */
  ipro_shape *declared_shape;
  bool is_graph_input;
  bool is_graph_output;
  /* an initializer --freeze left untrained (codegen/frozen_parameters.h): held and uploaded like a
   * parameter, given no gradient and no update */
  bool frozen;
} ipro_tensor;

typedef enum {
  IPRO_ATTR_FLOAT,
  IPRO_ATTR_INT,
  IPRO_ATTR_STRING,
  IPRO_ATTR_FLOATS,
  IPRO_ATTR_INTS,
  IPRO_ATTR_TENSOR /* value is the index of a (constant) tensor in the graph */
} ipro_attr_kind;

typedef struct {
  char *name;
  ipro_attr_kind kind;
  float f;
  int64_t i; /* INT value, or the tensor index for IPRO_ATTR_TENSOR */
  char *s;
  int count; /* FLOATS / INTS length */
  float *floats;
  int64_t *ints;
} ipro_attr;

typedef struct {
  char *name;
  char *op_type; /* as written in the file, for messages */
  ipro_op op;
  int n_inputs;
  int *inputs; /* tensor indices; -1 for an omitted optional input */
  int n_outputs;
  int *outputs; /* tensor indices; -1 for an omitted optional output */
  int n_attrs;
  ipro_attr *attrs;
} ipro_node;

typedef struct {
  char *domain; /* "" for the default ONNX domain */
  int64_t version;
} ipro_opset;

typedef struct {
  char *path; /* the file it was loaded from, for messages */
  char *producer_name;
  char *producer_version;
  int64_t ir_version;
  /* The model's metadata_props as the file has them (the loader copies them; n_metadata keys,
   * each with its value). */
  int n_metadata;
  char **metadata_keys, **metadata_values;
  /* BatchNormalizations the exporter folded into the layers before them, by torch.export's
   * graph signature (frontend/onnx_graph_signature.c): how many, and the first one's module
   * ("layer1.0.bn1"); 0 and "" for a file without such a signature. */
  int folded_batch_norms;
  char folded_batch_norm[256];
  int n_opsets;
  ipro_opset *opsets;
  int64_t opset; /* version of the default domain */

  int n_tensors, tensor_capacity;
  ipro_tensor *tensors;
  /* Open-addressing index from tensor name to tensor index (graph.c): -1 marks an empty entry;
   * its capacity is a power of two at least twice n_tensors, so lookups stay O(1) in graphs with
   * thousands of tensors (the partitioner builds thousands of module programs). */
  int *tensor_index;
  int tensor_index_capacity;
  int n_nodes, node_capacity;
  ipro_node *nodes;
  int n_inputs; /* graph inputs that are not initializers */
  int *inputs;
  int n_outputs;
  int *outputs;

  int64_t batch; /* 0 while the batch dimension is symbolic */
} ipro_graph;

/* ---- construction and lookup (graph.c) ---- */
ipro_graph *ipro_graph_create(void);
void ipro_graph_free(ipro_graph *graph);
/* Gives back the tensor and node arrays' room beyond their counts (they grow by doubling while a
 * graph is built; a graph held for training keeps them whole). Adding to the graph afterwards
 * grows them again. */
void ipro_graph_shrink_to_fit(ipro_graph *graph);
/* Sets tensor's declared shape (a graph input's) to a copy of shape; IPRO_ERROR if out of
 * memory. */
ipro_status ipro_tensor_declare_shape(ipro_tensor *tensor, const ipro_shape *shape);
/* Returns the index of the tensor called name, creating an empty activation if absent; -1 if out
 * of memory. */
int ipro_graph_tensor(ipro_graph *graph, const char *name);
int ipro_graph_find_tensor(const ipro_graph *graph, const char *name);
/* The value of the model's metadata entry `key`, or NULL. */
const char *ipro_graph_metadata(const ipro_graph *graph, const char *key);
/* Appends a node with room for the given numbers of inputs and outputs (all -1); returns its index
 * or -1 if out of memory. */
int ipro_graph_add_node(ipro_graph *graph, const char *name, const char *op_type, int n_inputs,
                        int n_outputs);
/* Removes the nodes flagged in removed (n_nodes flags), keeping the others in order, and sets
 * every tensor's producer again; tensors stay (those only removed nodes wrote have none). */
void ipro_graph_remove_nodes(ipro_graph *graph, const bool *removed);
/* Moves the last node to position at, the nodes from there one on, and sets every tensor's
 * producer again (a node appended where its inputs are ready and its readers not yet run). */
void ipro_graph_move_last_node(ipro_graph *graph, int at);
/* Sets a tensor's data to a copy of bytes; returns IPRO_ERROR if out of memory. */
ipro_status ipro_tensor_set_data(ipro_tensor *tensor, const void *bytes, size_t size,
                                 ipro_error *err);

/* ---- attributes (graph.c) ---- */
const ipro_attr *ipro_node_attr(const ipro_node *node, const char *name);
int64_t ipro_node_attr_int(const ipro_node *node, const char *name, int64_t fallback);
float ipro_node_attr_float(const ipro_node *node, const char *name, float fallback);
/* The random stream a node that draws random numbers (Dropout, RandomUniformLike) draws from: its
 * "seed" attribute (an int, or a float's bits) when it has one, else a hash (FNV-1a) of its name,
 * so that two such nodes of one step draw differently, and every process that runs the same
 * program (a compiled program, an MPI rank, another backend) draws the same. */
uint64_t ipro_node_random_stream(const ipro_node *node);
const char *ipro_node_attr_string(const ipro_node *node, const char *name, const char *fallback);
/* Returns the attribute's INTS (count in *count), or NULL with *count = 0 when absent. */
const int64_t *ipro_node_attr_ints(const ipro_node *node, const char *name, int *count);
const float *ipro_node_attr_floats(const ipro_node *node, const char *name, int *count);
/* Add or replace attributes (the normalisation passes use these). */
ipro_status ipro_node_set_int(ipro_node *node, const char *name, int64_t value);
ipro_status ipro_node_set_float(ipro_node *node, const char *name, float value);
ipro_status ipro_node_set_string(ipro_node *node, const char *name, const char *value);
ipro_status ipro_node_set_ints(ipro_node *node, const char *name, const int64_t *values, int count);
ipro_status ipro_node_set_floats(ipro_node *node, const char *name, const float *values, int count);
void ipro_node_remove_attr(ipro_node *node, const char *name);

/* Whether a node that runs (one not folded into constants) reads the tensor, or it is a graph
 * output. */
bool ipro_graph_tensor_is_read(const ipro_graph *graph, int tensor);

/* Makes node n, a Dropout that passes its input through (ratio 0, or in inference form) and whose
 * mask output nothing reads, an Identity of its input; false (unchanged) when its mask is read. */
bool ipro_dropout_to_identity(ipro_graph *graph, int n);

/* The node's i-th input tensor, or NULL when i is out of range or the input is omitted. */
ipro_tensor *ipro_node_input(const ipro_graph *graph, const ipro_node *node, int i);
ipro_tensor *ipro_node_output(const ipro_graph *graph, const ipro_node *node, int i);
/* Whether the node was folded into constants: none of its outputs is an activation. */
bool ipro_node_is_folded(const ipro_graph *graph, const ipro_node *node);
/* Whether the node's i-th input is a running statistic, BatchNormalization's mean or variance
 * (inputs 3 and 4): state that training updates, never a trained parameter, whatever its kind. */
bool ipro_node_input_is_running_statistic(const ipro_node *node, int i);

/* ---- shapes and dtypes (shape.c) ---- */
size_t ipro_dtype_size(ipro_dtype dtype); /* 0 for types without a fixed size */
const char *ipro_dtype_name(ipro_dtype dtype);
/* Converts count elements of one dtype into another, as ONNX's Cast does: float32, float64,
 * int64, int32 and bool (nonzero is true; reals go to integers toward zero, NaN to 0 and values
 * beyond the range to its nearest end, where ONNX leaves them undefined). False, nothing written,
 * for any other dtype. */
bool ipro_dtype_convert(const void *in, ipro_dtype from, void *out, ipro_dtype to, int64_t count);
/* Copies in, of shape in_shape, broadcast to out_shape by numpy's rules (shapes right-aligned,
 * dimensions of 1 repeated) into out; elements of element bytes. A dimension of out that is a
 * multiple of in's takes in's whole that many times, as ONNX's Tile does. The shapes must
 * broadcast or tile. */
void ipro_broadcast_copy(const void *in, const ipro_shape *in_shape, void *out,
                         const ipro_shape *out_shape, size_t element);
/* ONNX's Slice of a tensor of a shape: per dimension the first element, the step and the count
 * taken (all of a dimension no axis names), and the result's shape. */
/* GatherElements' and ScatterElements' addressing: the offset in a tensor of data_shape of the
 * element at position p (row-major) of a tensor of indices_shape (of the same rank, no larger
 * along any axis), its coordinate along axis replaced by index (already in [0, data's extent)). */
int64_t ipro_element_offset(const ipro_shape *indices_shape, const ipro_shape *data_shape, int axis,
                            int64_t p, int64_t index);
/* Whether indices of indices_shape address data of data_shape along axis as GatherElements and
 * ScatterElements do: one rank, axis inside it, and no dimension but axis's longer than data's
 * (so that ipro_element_offset stays inside data). */
bool ipro_elements_fit(const ipro_shape *indices_shape, const ipro_shape *data_shape, int axis);
/* The index at position p of int64 indices (int32 when int32_indices), taken into [0, extent);
 * false when it lies outside [-extent, extent). */
bool ipro_element_index(const void *indices, bool int32_indices, int64_t p, int64_t extent,
                        int64_t *index);
/* ScatterElements without reduction: data (elements of element bytes) copied into out, then each
 * element of updates written where ipro_element_offset puts its position of the indices (int64,
 * or int32 when int32_indices; negative ones count from the end of axis). NULL, or what is wrong
 * (indices that do not fit data, an index outside the axis). */
const char *ipro_scatter_elements(const void *data, const ipro_shape *data_shape, size_t element,
                                  const void *indices, bool int32_indices,
                                  const ipro_shape *indices_shape, const void *updates, int axis,
                                  void *out);
/* Transposes in (shape in_shape, elements of element bytes) into out: out's axis k is in's axis
 * perm[k]. perm must be a permutation of in's axes. */
void ipro_transpose_copy(const void *in, const ipro_shape *in_shape, const int64_t *perm, void *out,
                         size_t element);
/* ONNX's GatherND with batch_dims 0: out (shape indices.shape[:-1] + data.shape[k:]) holds the
 * slices of data (elements of element bytes) at indices (int64, shape [..., k], negative counting
 * from the end). NULL, or what is wrong (an index out of range). */
const char *ipro_gather_nd(const void *data, const ipro_shape *data_shape, size_t element,
                           const int64_t *indices, const ipro_shape *indices_shape, void *out);
/* ONNX's ScatterND without reduction: out (data's shape, elements of element bytes) is data with
 * the slices indices (int64, shape [..., k]: the first k coordinates of a slice of data, negative
 * counting from the end) replaced by updates (shape indices.shape[:-1] + data.shape[k:]), later
 * slices over earlier. The shapes must agree (checked by inference). NULL, or what is wrong (an
 * index out of range). */
const char *ipro_scatter_nd(const void *data, const ipro_shape *data_shape, size_t element,
                            const int64_t *indices, const ipro_shape *indices_shape,
                            const void *updates, void *out);
typedef struct {
  int64_t first[IPRO_MAX_RANK], step[IPRO_MAX_RANK];
  ipro_shape shape;
} ipro_slice;
/* From n starts, ends and optionally axes and steps (NULL: 0..n-1, and 1s), clamped as ONNX
 * clamps them; NULL, or what is wrong (an axis out of range, a step of 0). */
const char *ipro_slice_of(const ipro_shape *data, const int64_t *starts, const int64_t *ends,
                          const int64_t *axes, const int64_t *steps, int n, ipro_slice *out);
/* Copies the slice of in (of shape data) into out, elements of element bytes. */
void ipro_slice_copy(const ipro_slice *slice, const ipro_shape *data, const void *in, void *out,
                     size_t element);
/* Number of elements; -1 if the shape is unknown or still has a symbolic batch dimension. */
int64_t ipro_shape_elements(const ipro_shape *shape);
/* Elements of a shape with the symbolic batch counted as batch (as 1 when batch is 0), into
 * *elements (may be NULL); false when a product overflows or passes IPRO_MAX_TENSOR_ELEMENTS
 * (checked_size.h), the most one tensor may hold. */
bool ipro_shape_size(const ipro_shape *shape, int64_t batch, int64_t *elements);
/* The largest batch at which ipro_shape_size holds for shape (INT64_MAX when the shape does not
 * grow with the batch; 0 when it does not fit even at batch 1). */
int64_t ipro_shape_max_batch(const ipro_shape *shape);
bool ipro_shape_equal(const ipro_shape *a, const ipro_shape *b);
/* Writes "[N,3,32,32]" (N for the batch dimension); returns buffer. */
char *ipro_shape_format(const ipro_shape *shape, char *buffer, size_t size);
/* Replaces every IPRO_DIM_BATCH in shape by batch. */
void ipro_shape_bind_batch(ipro_shape *shape, int64_t batch);
/* Bytes a tensor's value occupies at the graph's batch size (0 if unknown). */
int64_t ipro_tensor_bytes(const ipro_tensor *tensor);

/* ---- loading (onnx_load.c) ---- */
/* Decodes an ONNX ModelProto from a file or a memory buffer into a graph (not yet normalised).
 * path is used for messages and to resolve external data files. */
ipro_status ipro_graph_load(const char *path, ipro_graph **out, ipro_error *err);
ipro_status ipro_graph_load_buffer(const uint8_t *bytes, size_t size, const char *path,
                                   ipro_graph **out, ipro_error *err);
/* Decodes one serialized TensorProto (as in the ONNX test data) into a standalone tensor whose
 * data is owned by the caller (free with ipro_tensor_release). */
ipro_status ipro_tensor_load_file(const char *path, ipro_tensor *out, ipro_error *err);
void ipro_tensor_release(ipro_tensor *tensor);
/* Writes tensor (dtype, shape, data) as one serialized TensorProto, atomically. */
ipro_status ipro_tensor_save_file(const char *path, const ipro_tensor *tensor, ipro_error *err);

/* The default-domain opsets the vendored ONNX node tests (tests/ and the conformance suite) run
 * this build with. */
#define IPRO_OPSET_OLDEST_TESTED 9
#define IPRO_OPSET_NEWEST_TESTED 25
/* Writes the opset imports outside that range, and those of other domains, as "ai.onnx 26,
 * com.example 1" into text; returns how many there are (opset_check.c). */
int ipro_graph_untested_opsets(const ipro_graph *graph, char *text, size_t size);

/* ---- passes ---- */
/* Puts every node into its canonical form (op_table.h) for the model's opset. */
ipro_status ipro_graph_normalize(ipro_graph *graph, ipro_error *err);
/* Infers all shapes and dtypes with the given batch size (0: keep the batch symbolic) and
 * constant-folds shape computations where their inputs are known. Safe to call again with a
 * different batch: it starts from the graph inputs each time. */
ipro_status ipro_graph_infer_shapes(ipro_graph *graph, int64_t batch, ipro_error *err);
/* Puts BatchNormalization and Dropout nodes into inference form (running statistics; a Dropout
 * whose mask nothing reads becomes an Identity), and an exporter's stochastic depth too (the branch
 * kept whole: stochastic_depth.h), and drops the outputs only training produces (BN running
 * statistics, Dropout masks) when nothing reads them. Between ipro_graph_normalize and
 * ipro_graph_infer_shapes. */
ipro_status ipro_graph_set_inference_mode(ipro_graph *graph, ipro_error *err);
/* The largest batch at which every tensor of a graph inferred with a symbolic batch stays within
 * IPRO_MAX_TENSOR_ELEMENTS (INT64_MAX when none grows with the batch); the tensor that sets it
 * into *limiting_tensor (-1 when none does; may be NULL). */
int64_t ipro_graph_max_batch(const ipro_graph *graph, int *limiting_tensor);
/* Infers the graph with a symbolic batch and fails, naming the tensor that limits it and the
 * largest batch possible, when batch is larger than ipro_graph_max_batch. A graph that infers only
 * at a concrete batch passes; its inference then checks every size itself. */
ipro_status ipro_graph_check_batch(ipro_graph *graph, int64_t batch, ipro_error *err);
/* load + normalize + infer in one call (the batch checked first); what the CLI and the tests
 * normally use. */
ipro_status ipro_graph_open(const char *path, int64_t batch, ipro_graph **out, ipro_error *err);

#endif
