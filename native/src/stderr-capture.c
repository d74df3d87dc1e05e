/*
 * Points file descriptor 2 at an anonymous temporary file for a while, so that what a native
 * library prints there (Dawn's start-up warnings) can be read back and filtered instead of
 * reaching the process's own stderr. POSIX only, as is the rest of the addon.
 */
#define _POSIX_C_SOURCE 200809L
#include <node_api.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "stderr-capture.h"

/* What is read back at most; a library that prints more loses the rest. */
#define CAPTURE_LIMIT 65536

static int saved_stderr = -1;
static int capture_fd = -1;

napi_value stderr_capture_begin(napi_env env, napi_callback_info info) {
  (void)info;
  if (saved_stderr >= 0) {
    napi_throw_error(env, "LOPT_NATIVE", "stderr is already being captured");
    return NULL;
  }
  char path[] = "/tmp/lopt-stderr-XXXXXX";
  const int fd = mkstemp(path);
  if (fd < 0) {
    napi_throw_error(env, "LOPT_NATIVE", "cannot create a file to capture stderr");
    return NULL;
  }
  unlink(path);
  fflush(stderr);
  saved_stderr = dup(2);
  if (saved_stderr < 0 || dup2(fd, 2) < 0) {
    if (saved_stderr >= 0) close(saved_stderr);
    saved_stderr = -1;
    close(fd);
    napi_throw_error(env, "LOPT_NATIVE", "cannot redirect stderr");
    return NULL;
  }
  capture_fd = fd;
  return NULL;
}

napi_value stderr_capture_end(napi_env env, napi_callback_info info) {
  (void)info;
  if (saved_stderr < 0) {
    napi_throw_error(env, "LOPT_NATIVE", "stderr is not being captured");
    return NULL;
  }
  fflush(stderr);
  dup2(saved_stderr, 2);
  close(saved_stderr);
  saved_stderr = -1;
  static char text[CAPTURE_LIMIT];
  const ssize_t length = pread(capture_fd, text, sizeof text, 0);
  close(capture_fd);
  capture_fd = -1;
  napi_value result;
  if (napi_create_string_utf8(env, text, length > 0 ? (size_t)length : 0, &result) != napi_ok) return NULL;
  return result;
}
