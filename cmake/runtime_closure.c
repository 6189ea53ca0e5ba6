/* A program that links the thin runtime library (infopro_runtime) whole and nothing else of
 * infopro (CMakeLists.txt): every function it calls must be the runtime's own or a system
 * library's, so a runtime file that reaches into the compiler fails the build. It does nothing
 * when run. */
#include "runtime/trainer.h"

int main(void) {
  ipro_trainer_free(NULL);
  return 0;
}
