/* A backend for planning only: it wraps a real backend and remembers, per kind of node, whether
 * the real backend runs it and how much workspace its kernel needs, so that the partitioner,
 * which builds thousands of candidate module programs whose nodes repeat (the same convolution
 * shapes in every module that contains them), prepares each kind of kernel once.
 *
 * A kind of node is its op, attributes, the dtype, shape and kind of every operand, and the values
 * of small constant operands (Clip bounds, Resize scales): everything a backend reads when it
 * prepares a kernel. Kernels it hands out for a remembered kind only carry workspace_bytes and
 * refuse to run; executors made with it must be plan_only. */
#ifndef IPRO_PLANNING_BACKEND_H
#define IPRO_PLANNING_BACKEND_H

#include "runtime/backend.h"

/* Takes ownership of inner (destroyed with the planning backend). */
ipro_status ipro_planning_backend_create(ipro_backend *inner, ipro_backend **out, ipro_error *err);

#endif
