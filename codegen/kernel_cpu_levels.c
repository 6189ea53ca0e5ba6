/* The feature lists of kernel_cpu_levels.h, as the x86-64 psABI defines each level (each level
 * includes the one below it). */
#include "kernel_cpu_levels.h"

#include <string.h>

#define BASELINE "+cmov,+cx8,+fxsr,+mmx,+sse,+sse2"
#define V2 BASELINE ",+cx16,+sahf,+popcnt,+sse3,+sse4.1,+sse4.2,+ssse3"
#define V3 V2 ",+avx,+avx2,+bmi,+bmi2,+f16c,+fma,+lzcnt,+movbe,+xsave"
#define V4 V3 ",+avx512f,+avx512bw,+avx512cd,+avx512dq,+avx512vl"

const char ipro_kernel_cpu_level_names[] = "x86-64, x86-64-v2, x86-64-v3, x86-64-v4";

const char *ipro_kernel_cpu_level_features(const char *name) {
  static const struct {
    const char *name, *features;
  } levels[] = {
      {"x86-64", BASELINE},
      {"x86-64-v2", V2},
      {"x86-64-v3", V3},
      {"x86-64-v4", V4},
  };
  for (size_t i = 0; i < sizeof levels / sizeof levels[0]; i++)
    if (strcmp(name, levels[i].name) == 0) return levels[i].features;
  return NULL;
}
