/* libtandem under load, through the C ABI only: a service opened and closed
 * 1,000 times on one config folder, then 8 threads calling one service at
 * once, blocking and async, while a share syncs nothing in particular.
 * Run under ASan and LeakSanitizer by `make test`: any leak, overflow or
 * use after free across open, call and close fails it.
 *
 *   stress WORK_DIR [ROUNDS] */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tandem/tandem.h"

#define THREADS 8
#define CALLS_PER_THREAD 250

static const char* kOptions = "{\"listen\": \"tcp/127.0.0.1:0\", \"log_level\": \"error\"}";

static int fail(const char* what, int32_t status, char* message) {
  fprintf(stderr, "stress: %s: %s (%s)\n", what, message ? message : "", tandem_status_name(status));
  tandem_free(message);
  return 1;
}

struct worker {
  tandem_service* service;
  const char* share;
  int index;
  int failures;
};

static atomic_int async_done;
static atomic_int async_failed;

static void on_done(void* context, int32_t status, const char* json, size_t length) {
  (void)context;
  if (status != TANDEM_OK || length == 0 || json[length] != '\0') atomic_fetch_add(&async_failed, 1);
  atomic_fetch_add(&async_done, 1);
}

static void* work(void* arg) {
  struct worker* w = arg;
  char params[512];
  snprintf(params, sizeof params, "{\"share\": \"%s\"}", w->share);
  for (int i = 0; i < CALLS_PER_THREAD; ++i) {
    char* result = NULL;
    char* error = NULL;
    int32_t status;
    switch ((i + w->index) % 5) {
      case 0: status = tandem_call(w->service, "share_list", NULL, &result, &error); break;
      case 1: status = tandem_call(w->service, "share_get_info", params, &result, &error); break;
      case 2: status = tandem_call(w->service, "device_info", "{}", &result, &error); break;
      case 3: status = tandem_events_poll(w->service, 0, 0, "{\"limit\": 10}", &result, &error); break;
      default: status = tandem_call_async(w->service, "share_list_peers", params, on_done, NULL); break;
    }
    if (status != TANDEM_OK) {
      fprintf(stderr, "stress: thread %d call %d: %s (%s)\n", w->index, i, error ? error : "",
              tandem_status_name(status));
      ++w->failures;
    }
    /* A wrong call in the middle: refused, nothing else disturbed. */
    if (i % 50 == 0) {
      char* refused = NULL;
      if (tandem_call(w->service, "share_get_info", "{\"share\": 7}", NULL, &refused) != TANDEM_E_INVALID_PARAMS) {
        ++w->failures;
      }
      tandem_free(refused);
    }
    tandem_free(result);
    tandem_free(error);
  }
  return NULL;
}

int main(int argc, char** argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: %s WORK_DIR [ROUNDS]\n", argv[0]);
    return 2;
  }
  const int rounds = argc > 2 ? atoi(argv[2]) : 1000;
  char config[4096], folder[4096];
  snprintf(config, sizeof config, "%s/config", argv[1]);
  snprintf(folder, sizeof folder, "%s/folder", argv[1]);
  mkdir(folder, 0700);

  /* The folder is shared first, so every round opens its repository and
   * starts a scan that the close then stops. */
  {
    FILE* f = NULL;
    char path[4200];
    for (int i = 0; i < 20; ++i) {
      snprintf(path, sizeof path, "%s/file-%d.txt", folder, i);
      if ((f = fopen(path, "w")) == NULL) return fail("write a file", TANDEM_E_IO, NULL);
      fprintf(f, "file %d\n", i);
      fclose(f);
    }
  }
  tandem_service* service = NULL;
  char* error = NULL;
  int32_t status = tandem_service_open(config, kOptions, NULL, NULL, &service, &error);
  if (status != TANDEM_OK) return fail("open", status, error);
  char params[4200];
  snprintf(params, sizeof params, "{\"path\": \"%s\", \"name\": \"stress\"}", folder);
  char* share = NULL;
  status = tandem_call(service, "share_add", params, &share, &error);
  if (status != TANDEM_OK) return fail("share_add", status, error);
  tandem_free(share);
  if (tandem_service_close(service) != TANDEM_OK) return fail("close", TANDEM_E_INTERNAL, NULL);

  for (int round = 0; round < rounds; ++round) {
    status = tandem_service_open(config, kOptions, NULL, NULL, &service, &error);
    if (status != TANDEM_OK) return fail("open", status, error);
    char* info = NULL;
    status = tandem_call(service, "share_get_info", "{\"share\": \"stress\"}", &info, &error);
    if (status != TANDEM_OK) return fail("share_get_info", status, error);
    if (strstr(info, "\"state\":\"error\"") != NULL) return fail("the share after reopening", TANDEM_E_INTERNAL, info);
    tandem_free(info);
    if (tandem_service_close(service) != TANDEM_OK) return fail("close", TANDEM_E_INTERNAL, NULL);
  }
  printf("stress: opened and closed %d times\n", rounds);

  status = tandem_service_open(config, kOptions, NULL, NULL, &service, &error);
  if (status != TANDEM_OK) return fail("open", status, error);

  pthread_t threads[THREADS];
  struct worker workers[THREADS];
  for (int i = 0; i < THREADS; ++i) {
    workers[i] = (struct worker){service, "stress", i, 0};
    pthread_create(&threads[i], NULL, work, &workers[i]);
  }
  int failures = 0;
  for (int i = 0; i < THREADS; ++i) {
    pthread_join(threads[i], NULL);
    failures += workers[i].failures;
  }
  /* Async calls still running end with TANDEM_E_CLOSED at close, which is
   * counted as a failure: wait for them first. */
  const int expected_async = THREADS * (CALLS_PER_THREAD / 5);
  for (int i = 0; i < 10000 && atomic_load(&async_done) < expected_async; ++i) usleep(1000);
  if (tandem_service_close(service) != TANDEM_OK) return fail("close", TANDEM_E_INTERNAL, NULL);
  if (atomic_load(&async_done) != expected_async) {
    fprintf(stderr, "stress: %d of %d async calls ended\n", atomic_load(&async_done), expected_async);
    return 1;
  }
  failures += atomic_load(&async_failed);
  printf("stress: %d threads made %d calls each, %d failed\n", THREADS, CALLS_PER_THREAD, failures);
  return failures == 0 ? 0 : 1;
}
