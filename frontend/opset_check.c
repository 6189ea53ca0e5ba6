/* Which of a model's opset imports this build has not been tested with.
 *
 * The loader accepts any default-domain opset from 7 on, since normalisation puts every op into
 * one canonical form; but an op whose meaning changed in a version newer than the vendored ONNX
 * node tests (or older than the oldest of them) has never been run here. The CLI warns about
 * such imports, once, naming them, rather than refusing a model that may well be fine. */
#include <stdio.h>
#include <string.h>

#include "ir/graph.h"

static bool is_default_domain(const char *domain) {
  return strcmp(domain, "") == 0 || strcmp(domain, "ai.onnx") == 0;
}

int ipro_graph_untested_opsets(const ipro_graph *graph, char *text, size_t size) {
  int count = 0;
  size_t used = 0;
  if (size) text[0] = '\0';
  for (int i = 0; i < graph->n_opsets; i++) {
    const ipro_opset *opset = &graph->opsets[i];
    bool known = is_default_domain(opset->domain);
    if (known && opset->version >= IPRO_OPSET_OLDEST_TESTED &&
        opset->version <= IPRO_OPSET_NEWEST_TESTED)
      continue;
    if (used < size)
      used += (size_t)snprintf(text + used, size - used, "%s%s %lld", count ? ", " : "",
                               known ? "ai.onnx" : opset->domain, (long long)opset->version);
    count++;
  }
  return count;
}
