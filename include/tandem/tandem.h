/* tandem.h: the C ABI of libtandem, the whole Tandem service inside your
 * process, on threads of its own (the same service `tandem daemon` runs).
 *
 * Plain C99 for any foreign-function interface (ctypes, cffi, JNA, dart:ffi,
 * a Swift module map): opaque handles, integers, and NUL-terminated UTF-8
 * strings; no struct crosses the boundary by value. The API itself is
 * JSON-RPC's: one call takes a method name and JSON parameters and gives
 * JSON back. api/tandem-api.json describes every method, parameter, result,
 * error and event type.
 *
 * Ownership: every string the library returns through a `char**` is the
 * caller's and is freed with tandem_free(). Strings the library passes to a
 * callback are valid only during the call. Strings the caller passes are
 * read during the call only.
 *
 * Threads: a service runs its own event-loop thread and a small worker pool.
 * Every function may be called from any thread, at the same time, on one
 * service or several, except where a function says otherwise. Functions that
 * block say so; the rest never wait for the service. Callbacks run on the
 * service's own threads (or the one stopping it): they should return
 * quickly, may call tandem_call_async and any other service, and must not
 * call the blocking functions (tandem_call, tandem_events_poll,
 * tandem_service_stop, tandem_service_close) of the service whose callback
 * they are: those return TANDEM_E_WRONG_THREAD there instead of deadlocking.
 * Nothing here requires a callback: events are read by polling
 * (tandem_events_poll), and every call has a blocking form.
 *
 * Several services, each on its own config folder, run side by side in one
 * process. One config folder is held by one service (or daemon) at a time.
 */
#ifndef TANDEM_TANDEM_H
#define TANDEM_TANDEM_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__GNUC__)
#define TANDEM_EXPORT __attribute__((visibility("default")))
#else
#define TANDEM_EXPORT
#endif

/* Bumped on any change a caller compiled against an older header could
 * misread. A binding checks tandem_abi_version() == the version it knows. */
#define TANDEM_ABI_VERSION 1

/* Status codes. 1..8 are the service's error kinds (the same as the
 * JSON-RPC error's data.kind); the rest are the ABI's own. */
#define TANDEM_OK 0
#define TANDEM_E_INVALID_ARGUMENT 1    /* the caller gave something malformed */
#define TANDEM_E_NOT_FOUND 2           /* the named thing does not exist */
#define TANDEM_E_ALREADY_EXISTS 3      /* the thing to create is already there */
#define TANDEM_E_FAILED_PRECONDITION 4 /* a valid request in the wrong state */
#define TANDEM_E_UNSUPPORTED 5         /* understood, not implemented */
#define TANDEM_E_CORRUPT 6             /* stored or received bytes fail verification */
#define TANDEM_E_IO 7                  /* the filesystem or database refused */
#define TANDEM_E_INTERNAL 8            /* a bug worth reporting */
#define TANDEM_E_UNKNOWN_METHOD 9      /* no such method in the API */
#define TANDEM_E_INVALID_PARAMS 10     /* parameters missing, mistyped or unknown */
#define TANDEM_E_CLOSED 11             /* the service was closed before the call ended */
#define TANDEM_E_WRONG_THREAD 12       /* a blocking call from the service's own thread */

/* Log levels, for the option "log_level" and the log callback. */
#define TANDEM_LOG_TRACE 0
#define TANDEM_LOG_DEBUG 1
#define TANDEM_LOG_INFO 2
#define TANDEM_LOG_WARN 3
#define TANDEM_LOG_ERROR 4

typedef struct tandem_service tandem_service; /* opaque */

/* One log line (no newline), `length` bytes of UTF-8, NUL-terminated too.
 * Runs on the service's threads. */
typedef void (*tandem_log_fn)(void* context, int32_t level, const char* line, size_t length);

/* The end of a tandem_call_async. On TANDEM_OK `json` is the result; on an
 * error it is the one-line message. Runs once, on the service's event-loop
 * thread (or, when the service closes first, on the thread closing it,
 * with TANDEM_E_CLOSED). */
typedef void (*tandem_call_done_fn)(void* context, int32_t status, const char* json, size_t length);

/* TANDEM_ABI_VERSION of the library loaded. Never blocks. */
TANDEM_EXPORT uint32_t tandem_abi_version(void);

/* "ok", "invalid_argument", ... (a static string; never freed). */
TANDEM_EXPORT const char* tandem_status_name(int32_t status);

/* Opens the service of `config_dir` (an absolute path; created when missing)
 * and starts it: its shares start scanning and syncing, and it listens for
 * peers. `options_json` may be NULL or a JSON object with any of:
 *   "listen":         "tcp/HOST:PORT", the address for peers ("" : the config's)
 *   "log_level":      "trace", "debug", "info" (default), "warn", "error", "off"
 *   "events_kept":    the event ring's size, 100..1000000 (default 10000)
 *   "control_socket": true to also serve JSON-RPC on <config_dir>/tandem.sock,
 *                     so the tandem CLI and tandem.connect() can reach it
 *                     (default false)
 *   "gui":            "HOST:PORT" to serve the web UI there (port 0: any free
 *                     one; gui_login tells which), or "off" (default). Beyond
 *                     loopback only once a password is set (docs/gui.md).
 *   "gui_optional":   true: when the UI's address cannot be bound, run
 *                     without it (gui_login says why) rather than fail
 *                     (default false; the daemon's default address is so).
 *   "tune_allocator": true to set glibc's mmap and trim thresholds for
 *                     Tandem's blocks (mallopt: process-wide, so only when
 *                     asked; the daemon does). Without it a 1 GiB transfer
 *                     took about 5 % more time (docs/benchmarks.md).
 * `log` may be NULL: lines then go to stderr. With several services in one
 * process, a line logged on a service's event-loop thread goes to its own
 * callback; a line logged by worker threads goes to every open service's.
 * On success *out is the service; on failure *error_message (when not NULL)
 * is a one-line message to free with tandem_free, and *out is NULL.
 * Blocks while the config and the shares' repositories open. */
TANDEM_EXPORT int32_t tandem_service_open(const char* config_dir, const char* options_json, tandem_log_fn log,
                                          void* log_context, tandem_service** out, char** error_message);

/* Stops the service, and keeps the handle valid: every call still waiting
 * ends with TANDEM_E_CLOSED (a pending tandem_call_async's callback runs, on
 * this thread; whether such a call took effect is unknown: one waiting on
 * the disk may still finish during the stop), every call made from now on
 * returns TANDEM_E_CLOSED at once.
 * Blocks until running work ends: scans and transfers stop at a consistent
 * point, everything stored is on disk, the config folder is released (it
 * may be opened again). Safe to call from any thread, at the same time as
 * calls, and more than once. A binding whose threads may still be calling
 * stops first, waits for them to return, then closes. From a callback of
 * this service: TANDEM_E_WRONG_THREAD, and nothing is stopped. */
TANDEM_EXPORT int32_t tandem_service_stop(tandem_service* service);

/* Stops the service (as tandem_service_stop, if not yet) and frees the
 * handle. Call it once, when no other thread is in or will start a call
 * on `service`. NULL does nothing. From a callback of this service:
 * TANDEM_E_WRONG_THREAD, and nothing is closed. */
TANDEM_EXPORT int32_t tandem_service_close(tandem_service* service);

/* Calls `method` (e.g. "share_list") with `params_json` (a JSON object, or
 * NULL for none) and blocks until it ends. On TANDEM_OK *result_json is the
 * result as JSON; otherwise *error_message (when not NULL) is the one-line
 * reason. Both are freed with tandem_free. */
TANDEM_EXPORT int32_t tandem_call(tandem_service* service, const char* method, const char* params_json,
                                  char** result_json, char** error_message);

/* The same call without blocking: `done` runs once with the outcome. Returns
 * TANDEM_OK when the call was started; any other status means `done` will
 * not run. */
TANDEM_EXPORT int32_t tandem_call_async(tandem_service* service, const char* method, const char* params_json,
                                        tandem_call_done_fn done, void* context);

/* Events after id `since` (0: every event kept), waiting up to `timeout_ms`
 * for one; `filter_json` may be NULL or {"types": [...], "share": "...",
 * "limit": N}. *result_json is {"events": [...], "last_id": N, "missed": N}:
 * pass last_id as the next `since`. The same as tandem_call("events_poll").
 * Blocks up to timeout_ms (and returns TANDEM_E_CLOSED at once when the
 * service closes). */
TANDEM_EXPORT int32_t tandem_events_poll(tandem_service* service, uint64_t since, uint32_t timeout_ms,
                                         const char* filter_json, char** result_json, char** error_message);

/* Frees a string the library returned. NULL does nothing. */
TANDEM_EXPORT void tandem_free(char* text);

#ifdef __cplusplus
}
#endif

#endif /* TANDEM_TANDEM_H */
