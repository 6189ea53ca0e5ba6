/* Building and checking kernel descriptions (kernel_generator.h). A description is a DAG of
 * nodes in one fixed array, each node's operands earlier in the array, so the IR builder
 * (kernel_ir.c) can emit the nodes in array order and share every value that is used twice. */
#include <assert.h>
#include <ctype.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "ir/kernel_generator.h"

static const char *const op_names[IPRO_KERNEL_OP_COUNT] = {
    [IPRO_KERNEL_LOAD] = "load",
    [IPRO_KERNEL_PARAM] = "param",
    [IPRO_KERNEL_CONSTANT] = "constant",
    [IPRO_KERNEL_ADD] = "add",
    [IPRO_KERNEL_SUB] = "sub",
    [IPRO_KERNEL_MUL] = "mul",
    [IPRO_KERNEL_DIV] = "div",
    [IPRO_KERNEL_MAX] = "max",
    [IPRO_KERNEL_MIN] = "min",
    [IPRO_KERNEL_NEG] = "neg",
    [IPRO_KERNEL_ABS] = "abs",
    [IPRO_KERNEL_SQRT] = "sqrt",
    [IPRO_KERNEL_EXP] = "exp",
    [IPRO_KERNEL_LOG] = "log",
    [IPRO_KERNEL_SELECT_GREATER] = "select_greater",
    [IPRO_KERNEL_SELECT_NOT_EQUAL] = "select_not_equal",
    [IPRO_KERNEL_COUNTER_UNIFORM] = "counter_uniform",
};

/* How many operands each op reads. */
static int operand_count(ipro_kernel_op op) {
  switch (op) {
  case IPRO_KERNEL_LOAD:
  case IPRO_KERNEL_PARAM:
  case IPRO_KERNEL_CONSTANT:
  case IPRO_KERNEL_COUNTER_UNIFORM: return 0;
  case IPRO_KERNEL_NEG:
  case IPRO_KERNEL_ABS:
  case IPRO_KERNEL_SQRT:
  case IPRO_KERNEL_EXP:
  case IPRO_KERNEL_LOG: return 1;
  case IPRO_KERNEL_SELECT_GREATER:
  case IPRO_KERNEL_SELECT_NOT_EQUAL: return 4;
  default: return 2;
  }
}

void ipro_kernel_desc_init(ipro_kernel_desc *desc, const char *name,
                           ipro_kernel_precision precision) {
  memset(desc, 0, sizeof *desc);
  snprintf(desc->name, sizeof desc->name, "%s", name);
  desc->precision = precision;
  for (int i = 0; i < IPRO_KERNEL_MAX_OUTPUTS; i++)
    desc->outputs[i] = desc->in_place[i] = -1;
}

int ipro_kernel_add_input(ipro_kernel_desc *desc, ipro_kernel_input_kind kind) {
  assert(desc->input_count < IPRO_KERNEL_MAX_INPUTS);
  desc->inputs[desc->input_count] = kind;
  return desc->input_count++;
}

static int add_node(ipro_kernel_desc *desc, ipro_kernel_op op, const int *operands) {
  assert(desc->node_count < IPRO_KERNEL_MAX_NODES);
  ipro_kernel_node *node = &desc->nodes[desc->node_count];
  memset(node, 0, sizeof *node);
  node->op = op;
  for (int i = 0; i < 4; i++)
    node->operands[i] = i < operand_count(op) ? operands[i] : -1;
  return desc->node_count++;
}

int ipro_kernel_load(ipro_kernel_desc *desc, int input) {
  int n = add_node(desc, IPRO_KERNEL_LOAD, NULL);
  desc->nodes[n].index = input;
  return n;
}

int ipro_kernel_param(ipro_kernel_desc *desc, int index) {
  assert(index >= 0 && index < IPRO_KERNEL_MAX_PARAMS);
  int n = add_node(desc, IPRO_KERNEL_PARAM, NULL);
  desc->nodes[n].index = index;
  if (index >= desc->param_count) desc->param_count = index + 1;
  return n;
}

int ipro_kernel_constant(ipro_kernel_desc *desc, double value) {
  int n = add_node(desc, IPRO_KERNEL_CONSTANT, NULL);
  desc->nodes[n].value = value;
  return n;
}

int ipro_kernel_counter_uniform(ipro_kernel_desc *desc, int first_integer) {
  assert(first_integer >= 0 && first_integer + 2 <= IPRO_KERNEL_MAX_INTEGERS);
  int n = add_node(desc, IPRO_KERNEL_COUNTER_UNIFORM, NULL);
  desc->nodes[n].index = first_integer;
  if (first_integer + 2 > desc->integer_count) desc->integer_count = first_integer + 2;
  return n;
}

int ipro_kernel_unary(ipro_kernel_desc *desc, ipro_kernel_op op, int a) {
  assert(operand_count(op) == 1);
  return add_node(desc, op, (int[]){a});
}

int ipro_kernel_binary(ipro_kernel_desc *desc, ipro_kernel_op op, int a, int b) {
  assert(operand_count(op) == 2);
  return add_node(desc, op, (int[]){a, b});
}

int ipro_kernel_select(ipro_kernel_desc *desc, ipro_kernel_op op, int a, int b, int then,
                       int otherwise) {
  assert(operand_count(op) == 4);
  return add_node(desc, op, (int[]){a, b, then, otherwise});
}

int ipro_kernel_sigmoid(ipro_kernel_desc *desc, int x) {
  int magnitude = ipro_kernel_unary(desc, IPRO_KERNEL_ABS, x);
  int e =
      ipro_kernel_unary(desc, IPRO_KERNEL_EXP, ipro_kernel_unary(desc, IPRO_KERNEL_NEG, magnitude));
  int one = ipro_kernel_constant(desc, 1.0);
  int positive = ipro_kernel_binary(desc, IPRO_KERNEL_DIV, one,
                                    ipro_kernel_binary(desc, IPRO_KERNEL_ADD, one, e));
  int negative = ipro_kernel_binary(desc, IPRO_KERNEL_MUL, e, positive);
  return ipro_kernel_select(desc, IPRO_KERNEL_SELECT_GREATER, x, ipro_kernel_constant(desc, 0.0),
                            positive, negative);
}

int ipro_kernel_relu(ipro_kernel_desc *desc, int x) {
  int zero = ipro_kernel_constant(desc, 0.0);
  return ipro_kernel_select(desc, IPRO_KERNEL_SELECT_GREATER, x, zero, x, zero);
}

void ipro_kernel_add_output(ipro_kernel_desc *desc, int node) {
  ipro_kernel_add_output_in_place(desc, node, -1);
}

void ipro_kernel_add_output_in_place(ipro_kernel_desc *desc, int node, int input) {
  assert(desc->output_count < IPRO_KERNEL_MAX_OUTPUTS);
  desc->outputs[desc->output_count] = node;
  desc->in_place[desc->output_count] = input;
  desc->output_kinds[desc->output_count] = IPRO_KERNEL_ELEMENT;
  desc->output_count++;
}

void ipro_kernel_add_mask_output(ipro_kernel_desc *desc, int node) {
  ipro_kernel_add_output(desc, node);
  desc->output_kinds[desc->output_count - 1] = IPRO_KERNEL_MASK;
}

static bool is_identifier(const char *name) {
  if (!(isalpha((unsigned char)name[0]) || name[0] == '_')) return false;
  for (const char *c = name; *c; c++)
    if (!(isalnum((unsigned char)*c) || *c == '_')) return false;
  return true;
}

ipro_status ipro_kernel_desc_check(const ipro_kernel_desc *desc, ipro_error *err) {
  const char *name = desc->name;
  if (!is_identifier(name))
    return ipro_error_set(err, "kernel '%s': the name is not a C identifier", name);
  if (desc->precision != IPRO_KERNEL_FLOAT && desc->precision != IPRO_KERNEL_DOUBLE)
    return ipro_error_set(err, "kernel %s: unknown precision %d", name, (int)desc->precision);
  if (desc->input_count < 0 || desc->input_count > IPRO_KERNEL_MAX_INPUTS || desc->node_count < 0 ||
      desc->node_count > IPRO_KERNEL_MAX_NODES || desc->param_count < 0 ||
      desc->param_count > IPRO_KERNEL_MAX_PARAMS || desc->integer_count < 0 ||
      desc->integer_count > IPRO_KERNEL_MAX_INTEGERS)
    return ipro_error_set(err, "kernel %s: a count is outside the description's capacity", name);
  if (desc->output_count < 1 || desc->output_count > IPRO_KERNEL_MAX_OUTPUTS)
    return ipro_error_set(err, "kernel %s: %d outputs (1 to %d allowed)", name, desc->output_count,
                          IPRO_KERNEL_MAX_OUTPUTS);
  for (int i = 0; i < desc->input_count; i++)
    if (desc->inputs[i] != IPRO_KERNEL_ELEMENT && desc->inputs[i] != IPRO_KERNEL_CHANNEL &&
        desc->inputs[i] != IPRO_KERNEL_MASK && desc->inputs[i] != IPRO_KERNEL_LABEL)
      return ipro_error_set(err, "kernel %s: input %d has an unknown kind", name, i);
  for (int n = 0; n < desc->node_count; n++) {
    const ipro_kernel_node *node = &desc->nodes[n];
    if ((int)node->op < 0 || node->op >= IPRO_KERNEL_OP_COUNT)
      return ipro_error_set(err, "kernel %s: node %d has an unknown op", name, n);
    for (int i = 0; i < operand_count(node->op); i++)
      if (node->operands[i] < 0 || node->operands[i] >= n)
        return ipro_error_set(err, "kernel %s: node %d (%s) reads node %d, not an earlier one",
                              name, n, op_names[node->op], node->operands[i]);
    if (node->op == IPRO_KERNEL_LOAD && (node->index < 0 || node->index >= desc->input_count))
      return ipro_error_set(err, "kernel %s: node %d loads input %d of %d", name, n, node->index,
                            desc->input_count);
    if (node->op == IPRO_KERNEL_PARAM && (node->index < 0 || node->index >= desc->param_count))
      return ipro_error_set(err, "kernel %s: node %d reads parameter %d of %d", name, n,
                            node->index, desc->param_count);
    if (node->op == IPRO_KERNEL_COUNTER_UNIFORM &&
        (node->index < 0 || node->index + 2 > desc->integer_count))
      return ipro_error_set(err, "kernel %s: node %d reads integer parameters %d and %d of %d",
                            name, n, node->index, node->index + 1, desc->integer_count);
  }
  for (int k = 0; k < desc->output_count; k++) {
    if (desc->outputs[k] < 0 || desc->outputs[k] >= desc->node_count)
      return ipro_error_set(err, "kernel %s: output %d is node %d of %d", name, k, desc->outputs[k],
                            desc->node_count);
    ipro_kernel_input_kind kind = desc->output_kinds[k];
    if (kind != IPRO_KERNEL_ELEMENT && kind != IPRO_KERNEL_MASK)
      return ipro_error_set(err, "kernel %s: output %d is neither float32 nor a mask", name, k);
    int input = desc->in_place[k];
    if (input < -1 || input >= desc->input_count ||
        (input >= 0 && (desc->inputs[input] != IPRO_KERNEL_ELEMENT || kind != IPRO_KERNEL_ELEMENT)))
      return ipro_error_set(err,
                            "kernel %s: output %d is in place over input %d, which is not "
                            "an element input, or is a mask",
                            name, k, input);
    for (int j = 0; j < k; j++)
      if (input >= 0 && desc->in_place[j] == input)
        return ipro_error_set(err, "kernel %s: outputs %d and %d are both in place over input %d",
                              name, j, k, input);
  }
  return IPRO_OK;
}
