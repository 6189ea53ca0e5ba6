/* The ops' names (op_table.h: ipro_op_name, ipro_op_from_name, ipro_op_from_any_name), from
 * op_list.h alone, apart from the op table's rows: what names ops (the graph, the program
 * format, messages) links none of the ops' shape rules. */
#include <string.h>

#include "ir/op_names.h"

static const char *const names[] = {
#define IPRO_OP_NAME_STRING_(id, name) name,
    IPRO_OP_LIST(IPRO_OP_NAME_STRING_) IPRO_INTERNAL_OP_LIST(IPRO_OP_NAME_STRING_)
#undef IPRO_OP_NAME_STRING_
};
_Static_assert(sizeof names / sizeof names[0] == IPRO_OP_COUNT, "one name per op");

/* Names of ops that are another op in disguise. Upsample is Resize with asymmetric coordinates
 * and floor rounding (ipro_resize_normalize reads op_type to tell them apart). */
static const struct {
  const char *name;
  ipro_op op;
} aliases[] = {{"Upsample", IPRO_OP_RESIZE}};

const char *ipro_op_name(ipro_op op) {
  if ((int)op < 0 || op >= IPRO_OP_COUNT) return "unknown";
  return names[op];
}

ipro_op ipro_op_from_name(const char *name) {
  /* Internal ops are the compiler's own: a file cannot name them. */
  for (int op = 0; op < IPRO_OP_FIRST_INTERNAL; op++)
    if (strcmp(names[op], name) == 0) return (ipro_op)op;
  for (size_t i = 0; i < sizeof aliases / sizeof aliases[0]; i++)
    if (strcmp(aliases[i].name, name) == 0) return aliases[i].op;
  return IPRO_OP_COUNT;
}

ipro_op ipro_op_from_any_name(const char *name) {
  for (int op = 0; op < IPRO_OP_COUNT; op++)
    if (strcmp(names[op], name) == 0) return (ipro_op)op;
  return IPRO_OP_COUNT;
}
