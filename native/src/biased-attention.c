/*
 * Attention with an additive bias and no prefix, over padded blocks: T5's self-attention (the
 * relative-position bias, bidirectional in the encoder, causal in the decoder) and its cross-
 * attention (no bias; a block of queries over one encoder row's keys). Queries and [k | v] rows
 * are read in place through their row strides, so a fused [q | k | v] row needs no split; keys
 * past a block's length get probability 0, which also makes their gradients 0.
 */
#include <stdlib.h>

#include "attention-rows.h"
#include "kernels.h"

/* Keys query i of a block sees. */
static int64_t visible_keys(const lopt_biased_attention_dims *dims, int64_t b, int64_t i) {
  const int64_t length = dims->key_lengths[b];
  return dims->causal && i + 1 < length ? i + 1 : length;
}

void lopt_biased_attention_forward(const lopt_biased_attention_dims *dims, const float *q, const float *kv, float *context,
                                   float *probs) {
  const int64_t Tq = dims->queries, Tk = dims->keys, hs = dims->head_size, W = dims->heads * hs;
  float *p = probs;
  for (int64_t b = 0; b < dims->batch; b++) {
    for (int64_t h = 0; h < dims->heads; h++, p += Tq * Tk) {
      const float *qh = q + b * Tq * dims->q_stride + h * hs, *kh = kv + b * Tk * dims->kv_stride + h * hs, *vh = kh + W;
      gemm(false, true, Tq, Tk, hs, dims->scale, qh, dims->q_stride, kh, dims->kv_stride, 0.0f, p, Tk);
      for (int64_t i = 0; i < Tq; i++) {
        float *row = p + i * Tk;
        const int64_t visible = visible_keys(dims, b, i);
        if (dims->bias) {
          const float *bias = dims->bias + (h * Tq + i) * Tk;
          for (int64_t j = 0; j < visible; j++) row[j] += bias[j];
        }
        softmax_row(row, visible, Tk);
      }
      gemm(false, false, Tq, hs, Tk, 1.0f, p, Tk, vh, dims->kv_stride, 0.0f, context + b * Tq * W + h * hs, W);
    }
  }
}

void lopt_biased_attention_backward(const lopt_biased_attention_dims *dims, const float *d_context, const float *q,
                                    const float *kv, const float *probs, float *d_q, float *d_kv) {
  const int64_t Tq = dims->queries, Tk = dims->keys, hs = dims->head_size, W = dims->heads * hs;
  const int64_t qs = dims->q_stride, kvs = dims->kv_stride;
  float *ds = malloc((size_t)(Tq * Tk) * sizeof(float));
  const float *p = probs;
  for (int64_t b = 0; b < dims->batch; b++) {
    for (int64_t h = 0; h < dims->heads; h++, p += Tq * Tk) {
      const int64_t q_at = b * Tq * qs + h * hs, kv_at = b * Tk * kvs + h * hs;
      const float *dc = d_context + b * Tq * W + h * hs;
      /* dP = dC · Vᵀ and dV = Pᵀ · dC; through the softmax to dS; dQ = dS · K and dK = dSᵀ · Q. */
      gemm(false, true, Tq, Tk, hs, 1.0f, dc, W, kv + kv_at + W, kvs, 0.0f, ds, Tk);
      gemm(true, false, Tk, hs, Tq, 1.0f, p, Tk, dc, W, 0.0f, d_kv + kv_at + W, kvs);
      for (int64_t i = 0; i < Tq; i++) softmax_backward_row(p + i * Tk, ds + i * Tk, Tk, dims->scale);
      gemm(false, false, Tq, hs, Tk, 1.0f, ds, Tk, kv + kv_at, kvs, 0.0f, d_q + q_at, qs);
      gemm(true, false, Tk, hs, Tq, 1.0f, ds, Tk, q + q_at, qs, 0.0f, d_kv + kv_at, kvs);
    }
  }
  free(ds);
}
