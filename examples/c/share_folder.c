/* The smallest program that embeds Tandem: shares a folder, prints its
 * token, and prints the service's events until Ctrl-C (or SECONDS pass).
 *
 *   share_folder CONFIG_DIR FOLDER [SECONDS]
 *
 * Both paths absolute. Another device joins with `tandem import TOKEN DIR`
 * and `tandem peer add SHARE tcp/THIS_HOST:PORT`. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "tandem/tandem.h"

static volatile sig_atomic_t stop = 0;
static void on_signal(int signal) { (void)signal; stop = 1; }

/* The value of "key": N in a flat JSON text (enough for last_id here; a real
 * program uses its JSON library). */
static unsigned long long number_after(const char* json, const char* key) {
  const char* at = strstr(json, key);
  return at ? strtoull(at + strlen(key), NULL, 10) : 0;
}

int main(int argc, char** argv) {
  if (argc < 3) {
    fprintf(stderr, "usage: %s CONFIG_DIR FOLDER [SECONDS]\n", argv[0]);
    return 2;
  }
  const time_t until = argc > 3 ? time(NULL) + atoi(argv[3]) : 0;
  signal(SIGINT, on_signal);
  signal(SIGTERM, on_signal);

  tandem_service* service = NULL;
  char* error = NULL;
  if (tandem_service_open(argv[1], "{\"listen\": \"tcp/0.0.0.0:0\", \"log_level\": \"warn\"}", NULL, NULL, &service,
                          &error) != TANDEM_OK) {
    fprintf(stderr, "cannot open the service: %s\n", error);
    tandem_free(error);
    return 1;
  }

  /* Parameters are JSON; a real program builds them with its JSON library. */
  char params[4096];
  snprintf(params, sizeof params, "{\"path\": \"%s\"}", argv[2]);
  char* share = NULL;
  int32_t status = tandem_call(service, "share_add", params, &share, &error);
  if (status == TANDEM_E_ALREADY_EXISTS) {
    printf("already shared: %s\n", error);
  } else if (status != TANDEM_OK) {
    fprintf(stderr, "cannot share %s: %s\n", argv[2], error);
    tandem_free(error);
    tandem_service_close(service);
    return 1;
  } else {
    printf("shared: %s\n", share);
  }
  tandem_free(share);
  tandem_free(error);

  char* device = NULL;
  if (tandem_call(service, "device_info", NULL, &device, NULL) == TANDEM_OK) printf("device: %s\n", device);
  tandem_free(device);
  fflush(stdout);

  unsigned long long since = 0;
  while (!stop && (until == 0 || time(NULL) < until)) {
    char* page = NULL;
    if (tandem_events_poll(service, since, 500, NULL, &page, NULL) != TANDEM_OK) break;
    since = number_after(page, "\"last_id\":");
    if (strstr(page, "\"events\":[]") == NULL) {
      printf("%s\n", page);
      fflush(stdout);
    }
    tandem_free(page);
  }
  tandem_service_close(service);
  return 0;
}
