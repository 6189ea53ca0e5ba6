/* The progress display of progress.h. */
#include "progress.h"

#include <stdbool.h>
#include <string.h>
#include <unistd.h>

#include <time.h>

double ipro_progress_now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

double ipro_progress_since_exec(void) {
  /* field 22 of /proc/self/stat: the process's start, in clock ticks since boot; the command
   * name (field 2) may hold spaces, so fields are counted after its closing parenthesis */
  FILE *stat = fopen("/proc/self/stat", "r");
  char line[1024];
  bool read = stat && fgets(line, sizeof line, stat);
  if (stat) fclose(stat);
  const char *at = read ? strrchr(line, ')') : NULL;
  unsigned long long start = 0;
  for (int field = 2; at && field < 22; field++)
    at = strchr(at + 1, ' ');
  long ticks = sysconf(_SC_CLK_TCK);
  if (!at || sscanf(at, " %llu", &start) != 1 || ticks <= 0) return -1;
  struct timespec now;
  clock_gettime(CLOCK_BOOTTIME, &now);
  return (double)now.tv_sec + 1e-9 * (double)now.tv_nsec - (double)start / (double)ticks;
}

void ipro_progress_begin(ipro_progress *p, FILE *out, bool terminal, int64_t epoch, int64_t epochs,
                         int64_t steps, int64_t batch, int64_t log_every) {
  *p = (ipro_progress){.out = out,
                       .terminal = terminal,
                       .epoch = epoch,
                       .epochs = epochs,
                       .steps = steps,
                       .batch = batch,
                       .log_every = log_every > 0 ? log_every : (steps + 9) / 10,
                       .start = ipro_progress_now()};
  if (p->log_every < 1) p->log_every = 1;
}

/* "1:05" or "1:02:03". */
static void format_duration(double seconds, char *buffer, size_t size) {
  long s = seconds > 0 ? (long)(seconds + 0.5) : 0;
  if (s >= 3600)
    snprintf(buffer, size, "%ld:%02ld:%02ld", s / 3600, s / 60 % 60, s % 60);
  else
    snprintf(buffer, size, "%ld:%02ld", s / 60, s % 60);
}

void ipro_progress_update(ipro_progress *p, int64_t done, double mean_loss, double learning_rate) {
  double now = ipro_progress_now(), elapsed = now - p->start;
  bool last = done == p->steps;
  if (p->terminal ? !last && now - p->last_draw < 0.1 : !last && done % p->log_every != 0) return;
  p->last_draw = now;
  double rate = elapsed > 0 ? (double)(done * p->batch) / elapsed : 0;
  char eta[32];
  format_duration(done > 0 ? elapsed / (double)done * (double)(p->steps - done) : 0, eta,
                  sizeof eta);
  if (p->terminal) {
    enum { width = 20 };
    char bar[width + 1];
    int filled = (int)(width * done / (p->steps ? p->steps : 1));
    for (int i = 0; i < width; i++)
      bar[i] = i < filled ? '=' : (i == filled ? '>' : ' ');
    bar[width] = '\0';
    fprintf(p->out,
            "\repoch %lld/%lld [%s] %lld/%lld  loss %.4f  lr %.4g  %.0f images/s  ETA %s\033[K",
            (long long)p->epoch, (long long)p->epochs, bar, (long long)done, (long long)p->steps,
            mean_loss, learning_rate, rate, eta);
    p->drawn = true;
  } else {
    fprintf(p->out, "epoch %lld/%lld  step %lld/%lld  loss %.4f  lr %.4g  %.0f images/s  ETA %s\n",
            (long long)p->epoch, (long long)p->epochs, (long long)done, (long long)p->steps,
            mean_loss, learning_rate, rate, eta);
  }
  fflush(p->out);
}

void ipro_progress_end(ipro_progress *p) {
  if (p->drawn) fprintf(p->out, "\r\033[K");
  p->drawn = false;
  fflush(p->out);
}
