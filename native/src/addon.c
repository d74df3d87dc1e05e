/*
 * N-API surface of the kernels. Every tensor is a typed-array view of a backend's own memory;
 * sizes are checked against the views here so that a wrong call throws instead of corrupting it.
 */
#include <cblas.h>
#include <node_api.h>
#include <stddef.h>

#include "kernels.h"
#include "stderr-capture.h"

#define MAX_ARGS 15

typedef struct {
  napi_env env;
  napi_value argv[MAX_ARGS];
  size_t argc;
  bool failed;
} call;

static bool start(napi_env env, napi_callback_info info, call *c, size_t expected) {
  c->env = env;
  c->argc = MAX_ARGS;
  c->failed = napi_get_cb_info(env, info, &c->argc, c->argv, NULL, NULL) != napi_ok || c->argc != expected;
  if (c->failed) napi_throw_type_error(env, "LOPT_NATIVE", "wrong number of arguments");
  return !c->failed;
}

static void fail(call *c, const char *message) {
  if (!c->failed) napi_throw_range_error(c->env, "LOPT_NATIVE", message);
  c->failed = true;
}

/* A typed array of `type` holding `expected` elements (any count when expected < 0); NULL for JS null when nullable. */
static void *array(call *c, size_t i, napi_typedarray_type type, int64_t expected, bool nullable) {
  if (c->failed) return NULL;
  napi_valuetype kind;
  if (nullable && napi_typeof(c->env, c->argv[i], &kind) == napi_ok && kind == napi_null) return NULL;
  bool is_typed = false;
  napi_typedarray_type actual;
  size_t length;
  void *data = NULL;
  if (napi_is_typedarray(c->env, c->argv[i], &is_typed) != napi_ok || !is_typed ||
      napi_get_typedarray_info(c->env, c->argv[i], &actual, &length, &data, NULL, NULL) != napi_ok || actual != type) {
    fail(c, type == napi_float32_array ? "expected a Float32Array" : "expected an Int32Array");
    return NULL;
  }
  if (expected >= 0 && (int64_t)length != expected) fail(c, "an array's length does not match the sizes given");
  return data;
}

/* The element count of typed array argument i of `type` (0 after a failure). */
static int64_t length_of(call *c, size_t i, napi_typedarray_type type) {
  size_t length = 0;
  if (array(c, i, type, -1, false)) napi_get_typedarray_info(c->env, c->argv[i], NULL, &length, NULL, NULL, NULL);
  return (int64_t)length;
}

static int64_t integer(call *c, size_t i) {
  int64_t value = 0;
  if (!c->failed && (napi_get_value_int64(c->env, c->argv[i], &value) != napi_ok || value < 0)) fail(c, "expected a non-negative integer");
  return value;
}

static double number(call *c, size_t i) {
  double value = 0;
  if (!c->failed && napi_get_value_double(c->env, c->argv[i], &value) != napi_ok) fail(c, "expected a number");
  return value;
}

static bool boolean(call *c, size_t i) {
  bool value = false;
  if (!c->failed && napi_get_value_bool(c->env, c->argv[i], &value) != napi_ok) fail(c, "expected a boolean");
  return value;
}

/* gemm(a, b, out, bias | null, aIndex, bIndex, aCount, bCount, m, n, k, transposeA, transposeB) */
static napi_value gemm(napi_env env, napi_callback_info info) {
  call c;
  if (!start(env, info, &c, 13)) return NULL;
  const int64_t a_count = integer(&c, 6), b_count = integer(&c, 7), m = integer(&c, 8), n = integer(&c, 9), k = integer(&c, 10);
  const int64_t batch = length_of(&c, 4, napi_int32_array);
  const int32_t *a_index = array(&c, 4, napi_int32_array, batch, false);
  const int32_t *b_index = array(&c, 5, napi_int32_array, batch, false);
  const float *a = array(&c, 0, napi_float32_array, a_count * m * k, false);
  const float *b = array(&c, 1, napi_float32_array, b_count * k * n, false);
  float *out = array(&c, 2, napi_float32_array, batch * m * n, false);
  const float *bias = array(&c, 3, napi_float32_array, n, true);
  const bool trans_a = boolean(&c, 11), trans_b = boolean(&c, 12);
  for (int64_t i = 0; !c.failed && i < batch; i++) {
    if (a_index[i] < 0 || a_index[i] >= a_count || b_index[i] < 0 || b_index[i] >= b_count) fail(&c, "a batch index is out of range");
  }
  if (c.failed) return NULL;
  lopt_gemm(a, b, out, bias, batch, a_index, b_index, m, n, k, trans_a, trans_b);
  return NULL;
}

/* An attention call's sizes, from the arguments that follow its tensors: lengths, prefix, heads, kvHeads, headSize, scale,
 * prefixOf (Int32Array of each sequence's prefix block, or null: one block for all). */
typedef struct {
  lopt_attention_dims dims;
  /* Packed rows, the context's width, the width of a [q | k | v] row, the probabilities' floats, the prefix blocks' floats. */
  int64_t rows, width, qkv_width, probs, prefix_floats;
} attention_call;

static attention_call attention_sizes(call *c, size_t first) {
  const int64_t batch = length_of(c, first, napi_int32_array);
  attention_call a = {{batch, integer(c, first + 1), integer(c, first + 2), integer(c, first + 3), integer(c, first + 4),
                       array(c, first, napi_int32_array, batch, false), (float)number(c, first + 5), 1,
                       array(c, first + 6, napi_int32_array, batch, true)},
                      0, 0, 0, 0, 0};
  for (int64_t b = 0; !c->failed && b < batch; b++) {
    if (a.dims.lengths[b] < 1) fail(c, "every length must be at least 1");
    else a.rows += a.dims.lengths[b];
    if (a.dims.prefix_of && a.dims.prefix_of[b] < 0) fail(c, "a prefix block index is negative");
    else if (a.dims.prefix_of && a.dims.prefix_of[b] >= a.dims.prefix_blocks) a.dims.prefix_blocks = a.dims.prefix_of[b] + 1;
  }
  if (batch == 0 || a.dims.heads == 0 || a.dims.kv_heads == 0 || a.dims.head_size == 0) fail(c, "attention sizes must be positive");
  else if (a.dims.heads % a.dims.kv_heads != 0) fail(c, "the key/value heads must divide the query heads");
  if (!c->failed) {
    a.width = a.dims.heads * a.dims.head_size;
    a.qkv_width = a.width + 2 * a.dims.kv_heads * a.dims.head_size;
    a.probs = lopt_attention_probs_size(&a.dims);
    a.prefix_floats = a.dims.prefix_blocks * a.dims.prefix * a.qkv_width;
  }
  return a;
}

/* attentionProbsSize(lengths, prefix, heads, kvHeads, headSize, scale, prefixOf): floats of the probabilities the forward pass keeps */
static napi_value attention_probs_size(napi_env env, napi_callback_info info) {
  call c;
  if (!start(env, info, &c, 7)) return NULL;
  const attention_call a = attention_sizes(&c, 0);
  napi_value result;
  if (c.failed || napi_create_int64(env, a.probs, &result) != napi_ok) return NULL;
  return result;
}

/* attentionForward(qkv, prefixQkv | null, context, probs, lengths, prefix, heads, kvHeads, headSize, scale, prefixOf) */
static napi_value attention_forward(napi_env env, napi_callback_info info) {
  call c;
  if (!start(env, info, &c, 11)) return NULL;
  const attention_call a = attention_sizes(&c, 4);
  const float *qkv = array(&c, 0, napi_float32_array, a.rows * a.qkv_width, false);
  const float *prefix_qkv = array(&c, 1, napi_float32_array, a.prefix_floats, a.dims.prefix == 0);
  float *context = array(&c, 2, napi_float32_array, a.rows * a.width, false);
  float *probs = array(&c, 3, napi_float32_array, a.probs, false);
  if (c.failed) return NULL;
  lopt_attention_forward(&a.dims, qkv, prefix_qkv, context, probs);
  return NULL;
}

/* attentionBackward(dContext, qkv, prefixQkv | null, probs, dQkv, dPrefixQkv | null, lengths, prefix, heads, kvHeads, headSize, scale, prefixOf) */
static napi_value attention_backward(napi_env env, napi_callback_info info) {
  call c;
  if (!start(env, info, &c, 13)) return NULL;
  const attention_call a = attention_sizes(&c, 6);
  const float *d_context = array(&c, 0, napi_float32_array, a.rows * a.width, false);
  const float *qkv = array(&c, 1, napi_float32_array, a.rows * a.qkv_width, false);
  const float *prefix_qkv = array(&c, 2, napi_float32_array, a.prefix_floats, a.dims.prefix == 0);
  const float *probs = array(&c, 3, napi_float32_array, a.probs, false);
  float *d_qkv = array(&c, 4, napi_float32_array, a.rows * a.qkv_width, false);
  float *d_prefix_qkv = array(&c, 5, napi_float32_array, a.prefix_floats, a.dims.prefix == 0);
  if (c.failed) return NULL;
  lopt_attention_backward(&a.dims, d_context, qkv, prefix_qkv, probs, d_qkv, d_prefix_qkv);
  return NULL;
}

/* Typed array i of floats holding `rows` rows of `width` that lie `stride` apart (a view may end after the last row's `width`). */
static void *strided_rows(call *c, size_t i, int64_t rows, int64_t stride, int64_t width) {
  const int64_t length = length_of(c, i, napi_float32_array);
  if (!c->failed && (stride < width || length < (rows - 1) * stride + width)) fail(c, "an array is shorter than its rows and stride need");
  return array(c, i, napi_float32_array, -1, false);
}

/* A biased attention call's sizes, from the arguments that follow its tensors: keyLengths, queries, keys, heads, headSize, qStride, kvStride, causal, scale. */
typedef struct {
  lopt_biased_attention_dims dims;
  /* The context's width, the probabilities' floats. */
  int64_t width, probs;
} biased_attention_call;

static biased_attention_call biased_attention_sizes(call *c, size_t first) {
  const int64_t batch = length_of(c, first, napi_int32_array);
  biased_attention_call a = {{batch, integer(c, first + 1), integer(c, first + 2), integer(c, first + 3), integer(c, first + 4),
                              integer(c, first + 5), integer(c, first + 6), array(c, first, napi_int32_array, batch, false), NULL,
                              boolean(c, first + 7), (float)number(c, first + 8)},
                             0, 0};
  const lopt_biased_attention_dims *d = &a.dims;
  if (!c->failed && (batch == 0 || d->queries == 0 || d->keys == 0 || d->heads == 0 || d->head_size == 0)) fail(c, "attention sizes must be positive");
  if (!c->failed && d->causal && d->queries != d->keys) fail(c, "causal attention needs as many queries as keys");
  for (int64_t b = 0; !c->failed && b < batch; b++) {
    if (d->key_lengths[b] < 1 || d->key_lengths[b] > d->keys) fail(c, "every key length must be between 1 and the keys");
  }
  if (!c->failed) {
    a.width = d->heads * d->head_size;
    a.probs = batch * d->heads * d->queries * d->keys;
  }
  return a;
}

/* biasedAttentionForward(q, kv, bias | null, context, probs, keyLengths, queries, keys, heads, headSize, qStride, kvStride, causal, scale) */
static napi_value biased_attention_forward(napi_env env, napi_callback_info info) {
  call c;
  if (!start(env, info, &c, 14)) return NULL;
  biased_attention_call a = biased_attention_sizes(&c, 5);
  const lopt_biased_attention_dims *d = &a.dims;
  const float *q = strided_rows(&c, 0, d->batch * d->queries, d->q_stride, a.width);
  const float *kv = strided_rows(&c, 1, d->batch * d->keys, d->kv_stride, 2 * a.width);
  a.dims.bias = array(&c, 2, napi_float32_array, d->heads * d->queries * d->keys, true);
  float *context = array(&c, 3, napi_float32_array, d->batch * d->queries * a.width, false);
  float *probs = array(&c, 4, napi_float32_array, a.probs, false);
  if (c.failed) return NULL;
  lopt_biased_attention_forward(d, q, kv, context, probs);
  return NULL;
}

/* biasedAttentionBackward(dContext, q, kv, probs, dQ, dKv, keyLengths, queries, keys, heads, headSize, qStride, kvStride, causal, scale) */
static napi_value biased_attention_backward(napi_env env, napi_callback_info info) {
  call c;
  if (!start(env, info, &c, 15)) return NULL;
  const biased_attention_call a = biased_attention_sizes(&c, 6);
  const lopt_biased_attention_dims *d = &a.dims;
  const float *d_context = array(&c, 0, napi_float32_array, d->batch * d->queries * a.width, false);
  const float *q = strided_rows(&c, 1, d->batch * d->queries, d->q_stride, a.width);
  const float *kv = strided_rows(&c, 2, d->batch * d->keys, d->kv_stride, 2 * a.width);
  const float *probs = array(&c, 3, napi_float32_array, a.probs, false);
  float *d_q = strided_rows(&c, 4, d->batch * d->queries, d->q_stride, a.width);
  float *d_kv = strided_rows(&c, 5, d->batch * d->keys, d->kv_stride, 2 * a.width);
  if (c.failed) return NULL;
  lopt_biased_attention_backward(d, d_context, q, kv, probs, d_q, d_kv);
  return NULL;
}

/* geluForward(x, out) and geluBackward(x, dy, dx) */
static napi_value gelu(napi_env env, napi_callback_info info, bool backward) {
  call c;
  if (!start(env, info, &c, backward ? 3 : 2)) return NULL;
  const int64_t size = length_of(&c, 0, napi_float32_array);
  const float *x = array(&c, 0, napi_float32_array, size, false);
  const float *dy = backward ? array(&c, 1, napi_float32_array, size, false) : NULL;
  float *out = array(&c, backward ? 2 : 1, napi_float32_array, size, false);
  if (c.failed) return NULL;
  if (backward) lopt_gelu_backward(x, dy, out, size);
  else lopt_gelu_forward(x, out, size);
  return NULL;
}

static napi_value gelu_forward(napi_env env, napi_callback_info info) { return gelu(env, info, false); }
static napi_value gelu_backward(napi_env env, napi_callback_info info) { return gelu(env, info, true); }

/* The rows and width of x when gamma has one value per column. */
static void layer_norm_sizes(call *c, size_t x_arg, size_t gamma_arg, int64_t *rows, int64_t *width) {
  const int64_t size = length_of(c, x_arg, napi_float32_array), columns = length_of(c, gamma_arg, napi_float32_array);
  if (!c->failed && (columns == 0 || size % columns != 0)) fail(c, "x's size is not a multiple of gamma's");
  *width = columns;
  *rows = columns ? size / columns : 0;
}

/* layerNormForward(x, gamma, beta, out, epsilon) and layerNormBackward(x, gamma, dy, dx, epsilon) */
static napi_value layer_norm(napi_env env, napi_callback_info info, bool backward) {
  call c;
  if (!start(env, info, &c, 5)) return NULL;
  int64_t rows, width;
  layer_norm_sizes(&c, 0, 1, &rows, &width);
  const float *x = array(&c, 0, napi_float32_array, rows * width, false), *gamma = array(&c, 1, napi_float32_array, width, false);
  const float *beta_or_dy = array(&c, 2, napi_float32_array, backward ? rows * width : width, false);
  float *out = array(&c, 3, napi_float32_array, rows * width, false);
  const float epsilon = (float)number(&c, 4);
  if (c.failed) return NULL;
  if (backward) lopt_layer_norm_backward(x, gamma, beta_or_dy, out, rows, width, epsilon);
  else lopt_layer_norm_forward(x, gamma, beta_or_dy, out, rows, width, epsilon);
  return NULL;
}

static napi_value layer_norm_forward(napi_env env, napi_callback_info info) { return layer_norm(env, info, false); }
static napi_value layer_norm_backward(napi_env env, napi_callback_info info) { return layer_norm(env, info, true); }

/* rmsNormForward(x, gamma, out, epsilon) and rmsNormBackward(x, gamma, dy, dx, epsilon) */
static napi_value rms_norm(napi_env env, napi_callback_info info, bool backward) {
  call c;
  if (!start(env, info, &c, backward ? 5 : 4)) return NULL;
  int64_t rows, width;
  layer_norm_sizes(&c, 0, 1, &rows, &width);
  const float *x = array(&c, 0, napi_float32_array, rows * width, false), *gamma = array(&c, 1, napi_float32_array, width, false);
  const float *dy = backward ? array(&c, 2, napi_float32_array, rows * width, false) : NULL;
  float *out = array(&c, backward ? 3 : 2, napi_float32_array, rows * width, false);
  const float epsilon = (float)number(&c, backward ? 4 : 3);
  if (c.failed) return NULL;
  if (backward) lopt_rms_norm_backward(x, gamma, dy, out, rows, width, epsilon);
  else lopt_rms_norm_forward(x, gamma, out, rows, width, epsilon);
  return NULL;
}

static napi_value rms_norm_forward(napi_env env, napi_callback_info info) { return rms_norm(env, info, false); }
static napi_value rms_norm_backward(napi_env env, napi_callback_info info) { return rms_norm(env, info, true); }

/* swigluForward(gateUp, out, width) and swigluBackward(gateUp, dy, dGateUp, width): gateUp (rows, 2·width), out and dy (rows, width) */
static napi_value swiglu(napi_env env, napi_callback_info info, bool backward) {
  call c;
  if (!start(env, info, &c, backward ? 4 : 3)) return NULL;
  const int64_t width = integer(&c, backward ? 3 : 2), size = length_of(&c, 0, napi_float32_array);
  if (!c.failed && (width == 0 || size % (2 * width) != 0)) fail(&c, "the gate and up rows are not a multiple of twice the width");
  const int64_t rows = width ? size / (2 * width) : 0;
  const float *gate_up = array(&c, 0, napi_float32_array, rows * 2 * width, false);
  const float *dy = backward ? array(&c, 1, napi_float32_array, rows * width, false) : NULL;
  float *out = array(&c, backward ? 2 : 1, napi_float32_array, rows * width * (backward ? 2 : 1), false);
  if (c.failed) return NULL;
  if (backward) lopt_swiglu_backward(gate_up, dy, out, rows, width);
  else lopt_swiglu_forward(gate_up, out, rows, width);
  return NULL;
}

static napi_value swiglu_forward(napi_env env, napi_callback_info info) { return swiglu(env, info, false); }
static napi_value swiglu_backward(napi_env env, napi_callback_info info) { return swiglu(env, info, true); }

/* rope(x, out, positions, invFreq, heads, rotated, inverse): x and out (rows, heads · 2·invFreq.length), one position per row */
static napi_value rope(napi_env env, napi_callback_info info) {
  call c;
  if (!start(env, info, &c, 7)) return NULL;
  const int64_t rows = length_of(&c, 2, napi_int32_array), half = length_of(&c, 3, napi_float32_array);
  const int64_t heads = integer(&c, 4), rotated = integer(&c, 5);
  if (!c.failed && (half == 0 || rotated > heads)) fail(&c, "rope needs a frequency per pair and at most `heads` rotated heads");
  const float *x = array(&c, 0, napi_float32_array, rows * heads * 2 * half, false);
  float *out = array(&c, 1, napi_float32_array, rows * heads * 2 * half, false);
  const int32_t *positions = array(&c, 2, napi_int32_array, rows, false);
  const float *inv_freq = array(&c, 3, napi_float32_array, half, false);
  const bool inverse = boolean(&c, 6);
  if (c.failed) return NULL;
  lopt_rope(x, out, positions, inv_freq, rows, heads, rotated, 2 * half, inverse);
  return NULL;
}

/* threads(n?): OpenBLAS's thread count, set first when n is given. */
static napi_value threads(napi_env env, napi_callback_info info) {
  call c;
  c.env = env;
  c.argc = 1;
  c.failed = napi_get_cb_info(env, info, &c.argc, c.argv, NULL, NULL) != napi_ok;
  napi_valuetype kind = napi_undefined;
  if (!c.failed && c.argc == 1) napi_typeof(env, c.argv[0], &kind);
  if (!c.failed && kind != napi_undefined) {
    const int64_t wanted = integer(&c, 0);
    if (wanted < 1) fail(&c, "threads(n) needs a positive integer");
    if (c.failed) return NULL;
    openblas_set_num_threads((int)wanted);
  }
  napi_value result;
  if (napi_create_int32(env, openblas_get_num_threads(), &result) != napi_ok) return NULL;
  return result;
}

static napi_value init(napi_env env, napi_value exports) {
  const napi_property_descriptor props[] = {
      {"gemm", NULL, gemm, NULL, NULL, NULL, napi_default, NULL},
      {"attentionProbsSize", NULL, attention_probs_size, NULL, NULL, NULL, napi_default, NULL},
      {"attentionForward", NULL, attention_forward, NULL, NULL, NULL, napi_default, NULL},
      {"attentionBackward", NULL, attention_backward, NULL, NULL, NULL, napi_default, NULL},
      {"biasedAttentionForward", NULL, biased_attention_forward, NULL, NULL, NULL, napi_default, NULL},
      {"biasedAttentionBackward", NULL, biased_attention_backward, NULL, NULL, NULL, napi_default, NULL},
      {"geluForward", NULL, gelu_forward, NULL, NULL, NULL, napi_default, NULL},
      {"geluBackward", NULL, gelu_backward, NULL, NULL, NULL, napi_default, NULL},
      {"layerNormForward", NULL, layer_norm_forward, NULL, NULL, NULL, napi_default, NULL},
      {"layerNormBackward", NULL, layer_norm_backward, NULL, NULL, NULL, napi_default, NULL},
      {"rmsNormForward", NULL, rms_norm_forward, NULL, NULL, NULL, napi_default, NULL},
      {"rmsNormBackward", NULL, rms_norm_backward, NULL, NULL, NULL, napi_default, NULL},
      {"swigluForward", NULL, swiglu_forward, NULL, NULL, NULL, napi_default, NULL},
      {"swigluBackward", NULL, swiglu_backward, NULL, NULL, NULL, napi_default, NULL},
      {"rope", NULL, rope, NULL, NULL, NULL, napi_default, NULL},
      {"threads", NULL, threads, NULL, NULL, NULL, napi_default, NULL},
      {"stderrCaptureBegin", NULL, stderr_capture_begin, NULL, NULL, NULL, napi_default, NULL},
      {"stderrCaptureEnd", NULL, stderr_capture_end, NULL, NULL, NULL, napi_default, NULL},
  };
  if (napi_define_properties(env, exports, sizeof(props) / sizeof(props[0]), props) != napi_ok) return NULL;
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
