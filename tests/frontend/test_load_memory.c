/* Loading a model holds its weights at most twice at a time, not three times: the file's bytes
 * go as soon as protobuf-c has decoded them, before the graph copies the weights out of the
 * decoded message (ipro_graph_load). Measured with the counting allocator
 * (runtime/counting_allocator.h), which sees every malloc, protobuf-c's included, against the
 * file's size from the file system: the peak while ResNet-110 (6.7 MB, almost all weights) loads
 * is at most 2.5 times the file (measured 2.25: the file, its decoded message and their
 * bookkeeping; 3.3 with the file held until the graph was built), and the loaded graph holds
 * about the file once (at most 1.25 times: the weights and the graph's names). */
#include <stdio.h>
#include <sys/stat.h>

#include "ir/graph.h"
#include "runtime/counting_allocator.h"
#include "tests/support/check.h"

int main(void) {
  if (!ipro_counting_allocator_start()) return ipro_test_skip("the counting allocator is off");
  char path[1024];
  ipro_test_path(path, sizeof path, "models/resnet110.onnx");
  struct stat file;
  CHECK(stat(path, &file) == 0);
  int64_t size = (int64_t)file.st_size;
  int64_t before = ipro_counting_allocator_in_use();
  ipro_counting_allocator_reset_peak();
  ipro_error err = {{0}};
  ipro_graph *graph = NULL;
  CHECK_OK(ipro_graph_load(path, &graph, &err), &err);
  int64_t peak = ipro_counting_allocator_peak() - before;
  int64_t held = ipro_counting_allocator_in_use() - before;
  printf("resnet110.onnx: %lld bytes; loading peaked at %lld (%.2fx), the graph holds %lld "
         "(%.2fx)\n",
         (long long)size, (long long)peak, (double)peak / (double)size, (long long)held,
         (double)held / (double)size);
  CHECK_MSG(peak <= size * 5 / 2, "loading peaked at %lld bytes for a %lld-byte file",
            (long long)peak, (long long)size);
  CHECK_MSG(held >= size * 9 / 10 && held <= size * 5 / 4,
            "the graph holds %lld bytes for a %lld-byte file", (long long)held, (long long)size);
  ipro_graph_free(graph);
  return ipro_test_finish();
}
