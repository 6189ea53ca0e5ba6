/* What `train`, `compile` and `plan` do with --freeze and --freeze-statistics before they cost
 * or build anything: the parameters and running statistics the patterns name are marked in the
 * model's network (codegen/frozen_parameters.h), and the standard output says what was frozen. */
#ifndef IPRO_CLI_FREEZING_H
#define IPRO_CLI_FREEZING_H

#include "cli/local_options.h"
#include "ir/graph.h"

/* Freezes the parameters --freeze names in network (codegen/frozen_parameters.h), the model
 * file's, and the running statistics --freeze-statistics names, and says on the standard output
 * how many it froze and how many remain to train. */
ipro_status ipro_cli_freeze(ipro_graph *network, const ipro_cli_local_options *options,
                            const char *model, ipro_error *err);

#endif
