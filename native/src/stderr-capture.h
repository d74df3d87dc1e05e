#ifndef LOPT_STDERR_CAPTURE_H
#define LOPT_STDERR_CAPTURE_H
#include <node_api.h>

/* stderrCaptureBegin(): fd 2 goes to a temporary file until stderrCaptureEnd() returns its text. */
napi_value stderr_capture_begin(napi_env env, napi_callback_info info);
napi_value stderr_capture_end(napi_env env, napi_callback_info info);

#endif
