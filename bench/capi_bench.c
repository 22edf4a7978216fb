/* libtandem through its C ABI, as an app calls it:
 *   - one API call (share_list, one share of FILES files), blocking: median,
 *     p99 and max latency over CALLS calls, after a warm-up;
 *   - the same through tandem_call_async, completion to completion;
 *   - opening and closing a service with that share: time (median, p99)
 *     and the process's RSS before, while open and after close.
 * Prints one JSON object.
 *
 *   capi_bench WORK_DIR [--calls N] [--opens N] [--files N] */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "tandem/tandem.h"

static double now_us(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

static int by_value(const void* a, const void* b) {
  double x = *(const double*)a, y = *(const double*)b;
  return (x > y) - (x < y);
}

static double quantile(double* sorted, int n, double q) { return sorted[(int)(q * (n - 1))]; }

static long rss_kib(void) {
  FILE* f = fopen("/proc/self/status", "r");
  char line[256];
  long kib = -1;
  while (f && fgets(line, sizeof line, f)) {
    if (strncmp(line, "VmRSS:", 6) == 0) kib = strtol(line + 6, NULL, 10);
  }
  if (f) fclose(f);
  return kib;
}

static void must(int32_t status, char* error, const char* what) {
  if (status == TANDEM_OK) return;
  fprintf(stderr, "capi_bench: %s: %s\n", what, error ? error : tandem_status_name(status));
  exit(1);
}

static const char* kOptions = "{\"listen\": \"tcp/127.0.0.1:0\", \"log_level\": \"error\"}";

struct async_state {
  pthread_mutex_t mutex;
  pthread_cond_t done;
  int ended;
};

static void on_done(void* context, int32_t status, const char* json, size_t length) {
  (void)json;
  (void)length;
  struct async_state* s = context;
  if (status != TANDEM_OK) exit(1);
  pthread_mutex_lock(&s->mutex);
  s->ended = 1;
  pthread_cond_signal(&s->done);
  pthread_mutex_unlock(&s->mutex);
}

int main(int argc, char** argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: %s WORK_DIR [--calls N] [--opens N] [--files N]\n", argv[0]);
    return 2;
  }
  int calls = 20000, opens = 100, files = 1000;
  for (int i = 2; i + 1 < argc; i += 2) {
    if (!strcmp(argv[i], "--calls")) calls = atoi(argv[i + 1]);
    if (!strcmp(argv[i], "--opens")) opens = atoi(argv[i + 1]);
    if (!strcmp(argv[i], "--files")) files = atoi(argv[i + 1]);
  }
  char config[4096], folder[4096], path[4200], params[4300];
  snprintf(config, sizeof config, "%s/config", argv[1]);
  snprintf(folder, sizeof folder, "%s/folder", argv[1]);
  mkdir(folder, 0700);
  for (int i = 0; i < files; ++i) {
    snprintf(path, sizeof path, "%s/file-%05d.txt", folder, i);
    FILE* f = fopen(path, "w");
    if (!f) return 1;
    fprintf(f, "file %d\n", i);
    fclose(f);
  }
  const long rss_before = rss_kib();

  tandem_service* service = NULL;
  char* error = NULL;
  must(tandem_service_open(config, kOptions, NULL, NULL, &service, &error), error, "open");
  snprintf(params, sizeof params, "{\"path\": \"%s\", \"name\": \"bench\"}", folder);
  char* result = NULL;
  must(tandem_call(service, "share_add", params, &result, &error), error, "share_add");
  tandem_free(result);
  /* Indexed before measuring: the calls then race nothing but themselves. */
  for (int settled = 0; !settled;) {
    must(tandem_call(service, "share_get_info", "{\"share\": \"bench\"}", &result, &error), error, "info");
    settled = strstr(result, "\"state\":\"waiting for peers\"") != NULL;
    tandem_free(result);
    if (!settled) usleep(10000);
  }

  double* took = malloc(sizeof(double) * (calls > opens ? calls : opens));
  for (int i = 0; i < 1000; ++i) {
    must(tandem_call(service, "share_list", NULL, &result, &error), error, "share_list");
    tandem_free(result);
  }
  for (int i = 0; i < calls; ++i) {
    double t0 = now_us();
    must(tandem_call(service, "share_list", NULL, &result, &error), error, "share_list");
    took[i] = now_us() - t0;
    tandem_free(result);
  }
  qsort(took, calls, sizeof(double), by_value);
  double sync_median = quantile(took, calls, 0.5), sync_p99 = quantile(took, calls, 0.99),
         sync_max = took[calls - 1];

  struct async_state state = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0};
  for (int i = 0; i < calls; ++i) {
    double t0 = now_us();
    state.ended = 0;
    must(tandem_call_async(service, "share_list", NULL, on_done, &state), NULL, "share_list async");
    pthread_mutex_lock(&state.mutex);
    while (!state.ended) pthread_cond_wait(&state.done, &state.mutex);
    pthread_mutex_unlock(&state.mutex);
    took[i] = now_us() - t0;
  }
  qsort(took, calls, sizeof(double), by_value);
  double async_median = quantile(took, calls, 0.5), async_p99 = quantile(took, calls, 0.99);
  const long rss_open = rss_kib();
  tandem_service_close(service);

  double close_took[1000];
  for (int i = 0; i < opens; ++i) {
    double t0 = now_us();
    must(tandem_service_open(config, kOptions, NULL, NULL, &service, &error), error, "open");
    took[i] = now_us() - t0;
    t0 = now_us();
    tandem_service_close(service);
    close_took[i < 1000 ? i : 999] = now_us() - t0;
  }
  qsort(took, opens, sizeof(double), by_value);
  int n_close = opens < 1000 ? opens : 1000;
  qsort(close_took, n_close, sizeof(double), by_value);
  const long rss_after = rss_kib();

  printf("{\"calls\": %d, \"files\": %d,\n", calls, files);
  printf(" \"share_list_us\": {\"median\": %.1f, \"p99\": %.1f, \"max\": %.1f},\n", sync_median, sync_p99, sync_max);
  printf(" \"share_list_async_us\": {\"median\": %.1f, \"p99\": %.1f},\n", async_median, async_p99);
  printf(" \"open_ms\": {\"median\": %.2f, \"p99\": %.2f}, \"close_ms\": {\"median\": %.2f, \"p99\": %.2f},\n",
         quantile(took, opens, 0.5) / 1e3, quantile(took, opens, 0.99) / 1e3,
         quantile(close_took, n_close, 0.5) / 1e3, quantile(close_took, n_close, 0.99) / 1e3);
  printf(" \"rss_kib\": {\"before_open\": %ld, \"open\": %ld, \"after_%d_opens_and_closes\": %ld}}\n", rss_before,
         rss_open, opens, rss_after);
  free(took);
  return 0;
}
