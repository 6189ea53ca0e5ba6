/* The ops' names: the ONNX names of the supported ops and the canonical names of every op, the
 * internal ones included, as a model file and a compiled program's lowered modules spell them
 * (op_list.h lists them). */
#ifndef IPRO_OP_NAMES_H
#define IPRO_OP_NAMES_H

#include "ir/graph.h"

/* IPRO_OP_COUNT when name is not a supported op; a model file cannot
 * name an internal op. */
ipro_op ipro_op_from_name(const char *name);
/* Any op by its canonical name, internal ones included (a compiled program's lowered modules). */
ipro_op ipro_op_from_any_name(const char *name);
const char *ipro_op_name(ipro_op op);

#endif
