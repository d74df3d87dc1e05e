/*
 * Causal self-attention straight from the fused [q | k | v] rows of a layer, for sequences packed
 * one after another without padding, with the keys and values of `prefix` shared positions (the
 * soft prompt's) in front of every sequence. Heads are read in place through the row stride, so
 * no transposes, splits, tiles, masks or padding rows are materialised. With grouped-query
 * attention (kv_heads < heads) query head h reads key/value head h / (heads / kv_heads), in place
 * too: the shared heads are never repeated. Sequences may follow different prefixes (blocks of
 * P rows in prefix_qkv, see lopt_attention_dims): each reads its own block in place, so a batch
 * of several cached prompts needs no split of its rows.
 */
#include <stdlib.h>
#include <string.h>

#include "attention-rows.h"
#include "kernels.h"

/* P shared rows, H query heads of hs, `group` query heads per key/value head; a row is [q (W) | k (KW) | v (KW)], LD wide. */
typedef struct {
  int64_t P, H, hs, group, W, KW, LD;
} layout;

static layout layout_of(const lopt_attention_dims *dims) {
  const int64_t W = dims->heads * dims->head_size, KW = dims->kv_heads * dims->head_size;
  return (layout){dims->prefix, dims->heads, dims->head_size, dims->heads / dims->kv_heads, W, KW, W + 2 * KW};
}

/* Where sequence b's prefix block starts, in floats from the first block's. */
static int64_t block_offset(const lopt_attention_dims *dims, const layout *L, int64_t b) {
  return dims->prefix_of ? (int64_t)dims->prefix_of[b] * L->P * L->LD : 0;
}

/* Offset in a row of query head h's key (its value follows KW later). */
static int64_t key_offset(const layout *L, int64_t h) { return L->W + (h / L->group) * L->hs; }

int64_t lopt_attention_probs_size(const lopt_attention_dims *dims) {
  int64_t size = 0;
  for (int64_t b = 0; b < dims->batch; b++) size += dims->heads * dims->lengths[b] * (dims->prefix + dims->lengths[b]);
  return size;
}

void lopt_attention_forward(const lopt_attention_dims *dims, const float *qkv, const float *prefix_qkv, float *context,
                            float *probs) {
  const layout L = layout_of(dims);
  int64_t row = 0;
  float *p = probs;
  for (int64_t b = 0; b < dims->batch; row += dims->lengths[b], b++) {
    const int64_t T = dims->lengths[b], S = L.P + T;
    for (int64_t h = 0; h < L.H; h++, p += T * S) {
      const float *q = qkv + row * L.LD + h * L.hs, *k = qkv + row * L.LD + key_offset(&L, h), *v = k + L.KW;
      float *c = context + row * L.W + h * L.hs;
      const float *kp = L.P ? prefix_qkv + block_offset(dims, &L, b) + key_offset(&L, h) : NULL;
      if (L.P) gemm(false, true, T, L.P, L.hs, dims->scale, q, L.LD, kp, L.LD, 0.0f, p, S);
      gemm(false, true, T, T, L.hs, dims->scale, q, L.LD, k, L.LD, 0.0f, p + L.P, S);
      for (int64_t i = 0; i < T; i++) softmax_row(p + i * S, L.P + i + 1, S);
      if (L.P) gemm(false, false, T, L.hs, L.P, 1.0f, p, S, kp + L.KW, L.LD, 0.0f, c, L.W);
      gemm(false, false, T, L.hs, T, 1.0f, p + L.P, S, v, L.LD, L.P ? 1.0f : 0.0f, c, L.W);
    }
  }
}

void lopt_attention_backward(const lopt_attention_dims *dims, const float *d_context, const float *qkv,
                             const float *prefix_qkv, const float *probs, float *d_qkv, float *d_prefix_qkv) {
  const layout L = layout_of(dims);
  if (L.P) memset(d_prefix_qkv, 0, (size_t)(dims->prefix_blocks * L.P * L.LD) * sizeof(float));
  int64_t longest = 0;
  for (int64_t b = 0; b < dims->batch; b++) longest = dims->lengths[b] > longest ? dims->lengths[b] : longest;
  float *ds = malloc((size_t)(longest * (L.P + longest)) * sizeof(float));
  int64_t row = 0;
  const float *p = probs;
  for (int64_t b = 0; b < dims->batch; row += dims->lengths[b], b++) {
    const int64_t T = dims->lengths[b], S = L.P + T;
    for (int64_t h = 0; h < L.H; h++, p += T * S) {
      const int64_t kv = key_offset(&L, h);
      const float *q = qkv + row * L.LD + h * L.hs, *k = qkv + row * L.LD + kv, *v = k + L.KW;
      const int64_t block = block_offset(dims, &L, b);
      const float *kp = prefix_qkv ? prefix_qkv + block + kv : NULL, *vp = kp ? kp + L.KW : NULL;
      float *dq = d_qkv + row * L.LD + h * L.hs, *dk = d_qkv + row * L.LD + kv, *dv = dk + L.KW;
      float *dkp = d_prefix_qkv ? d_prefix_qkv + block + kv : NULL, *dvp = dkp ? dkp + L.KW : NULL;
      const float *dc = d_context + row * L.W + h * L.hs;
      /* The first query head of a group writes its key/value head's gradients, the others add to them. */
      const float kv_beta = h % L.group == 0 ? 0.0f : 1.0f;
      /* dP = dC · [Vp; V]ᵀ, then dV = Pᵀ · dC (the shared values add up over the batch). */
      if (L.P) gemm(false, true, T, L.P, L.hs, 1.0f, dc, L.W, vp, L.LD, 0.0f, ds, S);
      gemm(false, true, T, T, L.hs, 1.0f, dc, L.W, v, L.LD, 0.0f, ds + L.P, S);
      gemm(true, false, T, L.hs, T, 1.0f, p + L.P, S, dc, L.W, kv_beta, dv, L.LD);
      if (L.P) gemm(true, false, L.P, L.hs, T, 1.0f, p, S, dc, L.W, 1.0f, dvp, L.LD);
      for (int64_t i = 0; i < T; i++) softmax_backward_row(p + i * S, ds + i * S, S, dims->scale);
      /* dQ = dS · [Kp; K], dK = dSᵀ · Q (the shared keys add up over the batch). */
      if (L.P) gemm(false, false, T, L.hs, L.P, 1.0f, ds, S, kp, L.LD, 0.0f, dq, L.LD);
      gemm(false, false, T, L.hs, T, 1.0f, ds + L.P, S, k, L.LD, L.P ? 1.0f : 0.0f, dq, L.LD);
      gemm(true, false, T, L.hs, T, 1.0f, ds + L.P, S, q, L.LD, kv_beta, dk, L.LD);
      if (L.P) gemm(true, false, L.P, L.hs, T, 1.0f, ds, S, q, L.LD, 1.0f, dkp, L.LD);
    }
  }
  free(ds);
}
