/* What the op rows of frontend/ops/ have in common: error messages that name the node, attribute
 * checks, reading the inputs with their dtypes checked, axis normalisation, broadcasting, reading
 * constant inputs at compile time, and writing (or folding) outputs.
 *
 * Every failure comes back as IPRO_ERROR with a message that starts "node 'NAME' (OpType): ". */
#ifndef IPRO_OP_HELPERS_H
#define IPRO_OP_HELPERS_H

#include "ir/graph.h"

/* Sets of dtypes, as bit masks over ipro_dtype. */
#define IPRO_DTYPES(d) (1u << (d))
#define IPRO_DTYPES_FLOAT IPRO_DTYPES(IPRO_DTYPE_FLOAT)
/* The real types an activation may have: float32, and float64 (ONNX's T of the float ops), which
 * the reference kernels run on for double-precision checks. */
#define IPRO_DTYPES_REAL (IPRO_DTYPES_FLOAT | IPRO_DTYPES(IPRO_DTYPE_DOUBLE))
#define IPRO_DTYPES_INT64 IPRO_DTYPES(IPRO_DTYPE_INT64)
#define IPRO_DTYPES_INDEX (IPRO_DTYPES(IPRO_DTYPE_INT64) | IPRO_DTYPES(IPRO_DTYPE_INT32))
/* What a shape computation (Shape, Gather, Concat, ...) may carry besides activations. */
#define IPRO_DTYPES_SHAPE_DATA (IPRO_DTYPES_REAL | IPRO_DTYPES_INT64)

/* Formats "node 'NAME' (OpType): <message>" into err; returns IPRO_ERROR. */
ipro_status ipro_op_fail(ipro_error *err, const ipro_node *node, const char *format, ...)
    __attribute__((format(printf, 3, 4)));
/* The same for running out of memory while rewriting the node. */
ipro_status ipro_op_out_of_memory(ipro_error *err, const ipro_node *node);

/* The name of the i-th input or output tensor, "" when omitted. */
const char *ipro_op_input_name(const ipro_graph *graph, const ipro_node *node, int i);
const char *ipro_op_output_name(const ipro_graph *graph, const ipro_node *node, int i);

/* Checks that every attribute of node is one of known (a NULL-terminated list of "name:kind",
 * kind one of i f s I(ints) F(floats) t(tensor)) and of the right kind. Ours are errors, not
 * warnings: an attribute we do not understand might change the result. */
ipro_status ipro_op_check_attributes(const ipro_node *node, const char *const *known,
                                     ipro_error *err);

/* Checks the number of inputs and outputs: the first min_inputs inputs and the first min_outputs
 * outputs must be present, and no more than max_inputs / max_outputs may be given. */
ipro_status ipro_op_check_arity(const ipro_graph *graph, const ipro_node *node, int min_inputs,
                                int max_inputs, int min_outputs, int max_outputs, ipro_error *err);

/* The i-th input with a known shape and a dtype in the mask `dtypes`, or an error. For
 * ipro_op_optional_input an omitted input gives *out = NULL and IPRO_OK. */
ipro_status ipro_op_input(const ipro_graph *graph, const ipro_node *node, int i, unsigned dtypes,
                          ipro_tensor **out, ipro_error *err);
ipro_status ipro_op_optional_input(const ipro_graph *graph, const ipro_node *node, int i,
                                   unsigned dtypes, ipro_tensor **out, ipro_error *err);
/* Checks an input's rank against [min_rank, max_rank] (max_rank < 0: no upper bound). */
ipro_status ipro_op_check_rank(const ipro_graph *graph, const ipro_node *node, int i, int min_rank,
                               int max_rank, ipro_error *err);

/* True for a dimension that stands for the symbolic batch. */
static inline bool ipro_dim_is_batch(int64_t dim) { return dim == IPRO_DIM_BATCH; }
/* Fails with "a concrete batch size is needed" when a dimension of input i from axis `from` on is
 * the symbolic batch; used where an op computes with a dimension rather than passing it on. */
ipro_status ipro_op_require_concrete(const ipro_graph *graph, const ipro_node *node, int i,
                                     int from, ipro_error *err);
ipro_status ipro_op_batch_error(const ipro_node *node, ipro_error *err, const char *what);

/* Normalises axis for a tensor of the given rank (valid: -rank..rank-1) into *out. */
ipro_status ipro_op_axis(const ipro_node *node, const char *what, int64_t axis, int rank,
                         int64_t *out, ipro_error *err);

/* The node's attribute "axis" (fallback when absent) for a tensor of the given rank, normalised
 * into *axis and written back (the canonical form's non-negative axis). */
ipro_status ipro_op_canonical_axis(ipro_node *node, int64_t fallback, int rank, int64_t *axis,
                                   ipro_error *err);

/* Multidirectional (numpy) broadcast of a and b into *out. The symbolic batch broadcasts with 1
 * and with itself. */
ipro_status ipro_op_broadcast(const ipro_node *node, const ipro_shape *a, const char *a_name,
                              const ipro_shape *b, const char *b_name, ipro_shape *out,
                              ipro_error *err);

/* True when a tensor's value is known at compile time (an initializer or a constant). */
bool ipro_tensor_is_constant(const ipro_tensor *tensor);
/* Whether tensor is a constant training cannot change, which an op on it may fold into a new
 * constant: a Constant's value, a folded one, an integer initializer. A real initializer is a
 * parameter, trained through the op: folded, it would never train (a GroupNorm's weight
 * unsqueezed to [C, 1, 1] once was, and was written back as it was loaded). */
bool ipro_tensor_is_foldable(const ipro_tensor *tensor);
/* Reads constant input i (int64 or int32) into values (room for max), its length into *count.
 * A missing input is an error; a non-constant one too, naming the node and input. */
ipro_status ipro_op_constant_ints(const ipro_graph *graph, const ipro_node *node, int i,
                                  int64_t *values, int max, int *count, ipro_error *err);
ipro_status ipro_op_constant_floats(const ipro_graph *graph, const ipro_node *node, int i,
                                    float *values, int max, int *count, ipro_error *err);
/* Scalar (or one-element) constant inputs. */
ipro_status ipro_op_constant_float(const ipro_graph *graph, const ipro_node *node, int i,
                                   float *value, ipro_error *err);
ipro_status ipro_op_constant_bool(const ipro_graph *graph, const ipro_node *node, int i,
                                  bool *value, ipro_error *err);
/* Marks input i as omitted, after its value has become an attribute (trailing omitted inputs
 * leave n_inputs). */
void ipro_op_drop_input(ipro_node *node, int i);

/* Writers of canonical attributes that turn running out of memory into a message. */
ipro_status ipro_op_put_int(ipro_node *node, const char *name, int64_t value, ipro_error *err);
ipro_status ipro_op_put_float(ipro_node *node, const char *name, float value, ipro_error *err);
ipro_status ipro_op_put_string(ipro_node *node, const char *name, const char *value,
                               ipro_error *err);
ipro_status ipro_op_put_ints(ipro_node *node, const char *name, const int64_t *values, int count,
                             ipro_error *err);
ipro_status ipro_op_put_floats(ipro_node *node, const char *name, const float *values, int count,
                               ipro_error *err);
/* Writes the attribute with its present value, or `value` when it is absent. */
ipro_status ipro_op_default_int(ipro_node *node, const char *name, int64_t value, ipro_error *err);
ipro_status ipro_op_default_float(ipro_node *node, const char *name, float value, ipro_error *err);
ipro_status ipro_op_default_string(ipro_node *node, const char *name, const char *value,
                                   ipro_error *err);

/* Sets output i's dtype and shape (nothing when the output is omitted). The output is an
 * activation: a value folded by an earlier inference is dropped. */
ipro_status ipro_op_set_output(ipro_graph *graph, const ipro_node *node, int i, ipro_dtype dtype,
                               const ipro_shape *shape, ipro_error *err);
/* Input i of node, a constant, as doubles broadcast to shape: a new array of
 * ipro_shape_elements(shape) values for the caller to free; NULL after an error (out of memory,
 * or an int64 value of the symbolic batch). For the folds of arithmetic on constants. */
double *ipro_op_broadcast_doubles(const ipro_graph *graph, const ipro_node *node, int i,
                                  const ipro_shape *shape, ipro_error *err);
/* Output 0 of node folded from count doubles converted to dtype. */
ipro_status ipro_op_fold_doubles(ipro_graph *graph, const ipro_node *node, ipro_dtype dtype,
                                 const ipro_shape *shape, const double *values, ipro_error *err);
/* Sets output i and folds it: a CONSTANT whose data is a copy of bytes. */
ipro_status ipro_op_fold_output(ipro_graph *graph, const ipro_node *node, int i, ipro_dtype dtype,
                                const ipro_shape *shape, const void *bytes, size_t size,
                                ipro_error *err);
/* Shapes of rank 1 and 0, for the results of shape computations. */
ipro_shape ipro_shape_vector(int64_t length);
ipro_shape ipro_shape_scalar(void);

/* Elements of a shape at the graph's batch (1 while it is symbolic); 0 when unknown. */
int64_t ipro_op_elements(const ipro_graph *graph, const ipro_shape *shape);
int64_t ipro_op_input_elements(const ipro_graph *graph, const ipro_node *node, int i);
int64_t ipro_op_output_elements(const ipro_graph *graph, const ipro_node *node, int i);
/* A dimension at the graph's batch (1 while symbolic). */
int64_t ipro_op_dim(const ipro_graph *graph, int64_t dim);

/* ---- sliding windows (Conv, ConvTranspose, MaxPool, AveragePool) ---- */
typedef struct {
  int n; /* number of spatial axes */
  int64_t kernel[IPRO_MAX_RANK];
  int64_t strides[IPRO_MAX_RANK];
  int64_t dilations[IPRO_MAX_RANK];
  int64_t pads[2 * IPRO_MAX_RANK]; /* begins, then ends */
  const char *auto_pad;            /* NOTSET, VALID, SAME_UPPER or SAME_LOWER */
} ipro_window;

/* Reads kernel_shape (or takes kernel when given: the weights' spatial dims, which an attribute
 * must then agree with), strides, dilations, pads and auto_pad for n spatial axes, with the ONNX
 * defaults. */
ipro_status ipro_op_read_window(const ipro_node *node, int n, const int64_t *kernel,
                                ipro_window *window, ipro_error *err);
/* Fails unless auto_pad is absent or one of the four values ONNX defines. */
ipro_status ipro_op_check_auto_pad(const ipro_node *node, ipro_error *err);
/* Output spatial dims of a convolution or pooling window over input dims `in`; resolves auto_pad
 * into window->pads (auto_pad becomes NOTSET). ceil_mode as in MaxPool/AveragePool. */
ipro_status ipro_op_window_output(const ipro_node *node, ipro_window *window, const int64_t *in,
                                  bool ceil_mode, int64_t *out, ipro_error *err);
/* Writes kernel_shape, strides, dilations, pads and auto_pad = NOTSET. */
ipro_status ipro_op_write_window(ipro_node *node, const ipro_window *window, ipro_error *err);
/* Rows shared by many ops: a normalize for ops without attributes, and a cost of 0 FLOPs. */
ipro_status ipro_op_normalize_no_attributes(ipro_graph *graph, ipro_node *node, ipro_error *err);
int64_t ipro_op_zero_flops(const ipro_graph *graph, const ipro_node *node);

#endif
