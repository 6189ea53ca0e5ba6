/* --freeze and --freeze-statistics applied to a model's network, and said (freezing.h). */
#include "freezing.h"

#include <stdio.h>
#include <string.h>

#include "codegen/frozen_parameters.h"
#include "partitioner/plan.h"

ipro_status ipro_cli_freeze(ipro_graph *network, const ipro_cli_local_options *o, const char *model,
                            ipro_error *err) {
  ipro_frozen_count count;
  int statistics = 0;
  if (ipro_graph_freeze(network, o->n_frozen, o->frozen, model, &count, err) != IPRO_OK ||
      ipro_graph_freeze_statistics(network, o->n_frozen_statistics, o->frozen_statistics, model,
                                   &statistics, err) != IPRO_OK)
    return IPRO_ERROR;
  /* the first frozen ones by name, so that the user sees what the patterns matched */
  char values[32], names[400] = "";
  int named = 0;
  for (int t = 0; t < network->n_tensors && named < 3; t++) {
    if (!network->tensors[t].frozen) continue;
    size_t used = strlen(names);
    snprintf(names + used, sizeof names - used, "%s%.100s", named ? ", " : "",
             network->tensors[t].name);
    named++;
  }
  if (count.parameters)
    printf("frozen by --freeze: %d parameter%s (%s values: %s%s); %d trained\n", count.parameters,
           count.parameters == 1 ? "" : "s",
           ipro_plan_grouped((uint64_t)count.values, values, sizeof values), names,
           count.parameters > named ? ", ..." : "", count.trained);
  if (statistics)
    printf("running statistics frozen by --freeze-statistics: %d BatchNormalization%s\n",
           statistics, statistics == 1 ? "" : "s");
  return IPRO_OK;
}
