/*
 * Causal self-attention straight from the fused [q | k | v] rows of a layer, with keys and values
 * of `prefix` shared positions (the soft prompt's) in front of every sequence. Heads are read in
 * place through the row stride, so no transposes, splits or tiles are materialised.
 */
#include <cblas.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "kernels.h"

typedef struct {
  int64_t T, P, H, hs, W, LD, S;
} layout;

static layout layout_of(const lopt_attention_dims *dims) {
  const int64_t W = dims->heads * dims->head_size;
  return (layout){dims->t, dims->prefix, dims->heads, dims->head_size, W, 3 * W, dims->prefix + dims->t};
}

/* C (m×n, ldc) = alpha · op(A) · op(B) + beta · C, row-major. */
static void gemm(bool ta, bool tb, int64_t m, int64_t n, int64_t k, float alpha, const float *a, int64_t lda,
                 const float *b, int64_t ldb, float beta, float *c, int64_t ldc) {
  if (m == 0 || n == 0) return;
  cblas_sgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans, (int)m, (int)n, (int)k,
              alpha, a, (int)lda, b, (int)ldb, beta, c, (int)ldc);
}

/* Query i of a sequence of `length` real positions sees every shared key and its own keys j ≤ i, j < length. */
static int64_t visible_own(int64_t i, int32_t length) { return i + 1 < length ? i + 1 : length; }

static void softmax_row(float *row, int64_t prefix, int64_t own, int64_t width) {
  float max = -INFINITY;
  for (int64_t j = 0; j < prefix + own; j++) max = row[j] > max ? row[j] : max;
  float sum = 0.0f;
  for (int64_t j = 0; j < prefix + own; j++) sum += (row[j] = expf(row[j] - max));
  const float inv = 1.0f / sum;
  for (int64_t j = 0; j < prefix + own; j++) row[j] *= inv;
  for (int64_t j = prefix + own; j < width; j++) row[j] = 0.0f;
}

void lopt_attention_forward(const lopt_attention_dims *dims, const float *qkv, const float *prefix_qkv, float *context,
                            float *probs) {
  const layout L = layout_of(dims);
  for (int64_t b = 0; b < dims->batch; b++) {
    for (int64_t h = 0; h < L.H; h++) {
      const float *q = qkv + b * L.T * L.LD + h * L.hs, *k = q + L.W, *v = q + 2 * L.W;
      float *p = probs + (b * L.H + h) * L.T * L.S;
      float *c = context + b * L.T * L.W + h * L.hs;
      if (L.P) gemm(false, true, L.T, L.P, L.hs, dims->scale, q, L.LD, prefix_qkv + L.W + h * L.hs, L.LD, 0.0f, p, L.S);
      gemm(false, true, L.T, L.T, L.hs, dims->scale, q, L.LD, k, L.LD, 0.0f, p + L.P, L.S);
      for (int64_t i = 0; i < L.T; i++) softmax_row(p + i * L.S, L.P, visible_own(i, dims->lengths[b]), L.S);
      if (L.P) gemm(false, false, L.T, L.hs, L.P, 1.0f, p, L.S, prefix_qkv + 2 * L.W + h * L.hs, L.LD, 0.0f, c, L.W);
      gemm(false, false, L.T, L.hs, L.T, 1.0f, p + L.P, L.S, v, L.LD, L.P ? 1.0f : 0.0f, c, L.W);
    }
  }
}

void lopt_attention_backward(const lopt_attention_dims *dims, const float *d_context, const float *qkv,
                             const float *prefix_qkv, const float *probs, float *d_qkv, float *d_prefix_qkv) {
  const layout L = layout_of(dims);
  if (L.P) memset(d_prefix_qkv, 0, (size_t)(L.P * L.LD) * sizeof(float));
  float *ds = malloc((size_t)(L.T * L.S) * sizeof(float));
  for (int64_t b = 0; b < dims->batch; b++) {
    for (int64_t h = 0; h < L.H; h++) {
      const float *q = qkv + b * L.T * L.LD + h * L.hs, *k = q + L.W, *v = q + 2 * L.W;
      const float *kp = prefix_qkv ? prefix_qkv + L.W + h * L.hs : NULL, *vp = kp ? kp + L.W : NULL;
      float *dq = d_qkv + b * L.T * L.LD + h * L.hs, *dk = dq + L.W, *dv = dq + 2 * L.W;
      float *dkp = d_prefix_qkv ? d_prefix_qkv + L.W + h * L.hs : NULL, *dvp = dkp ? dkp + L.W : NULL;
      const float *dc = d_context + b * L.T * L.W + h * L.hs;
      const float *p = probs + (b * L.H + h) * L.T * L.S;
      /* dP = dC · [Vp; V]ᵀ, then dV = Pᵀ · dC (the shared values add up over the batch). */
      if (L.P) gemm(false, true, L.T, L.P, L.hs, 1.0f, dc, L.W, vp, L.LD, 0.0f, ds, L.S);
      gemm(false, true, L.T, L.T, L.hs, 1.0f, dc, L.W, v, L.LD, 0.0f, ds + L.P, L.S);
      gemm(true, false, L.T, L.hs, L.T, 1.0f, p + L.P, L.S, dc, L.W, 0.0f, dv, L.LD);
      if (L.P) gemm(true, false, L.P, L.hs, L.T, 1.0f, p, L.S, dc, L.W, 1.0f, dvp, L.LD);
      /* Through the softmax: dS = scale · P ⊙ (dP − Σ_j dP ⊙ P). */
      for (int64_t i = 0; i < L.T; i++) {
        const float *pr = p + i * L.S;
        float *dr = ds + i * L.S;
        float dot = 0.0f;
        for (int64_t j = 0; j < L.S; j++) dot += pr[j] * dr[j];
        for (int64_t j = 0; j < L.S; j++) dr[j] = dims->scale * pr[j] * (dr[j] - dot);
      }
      /* dQ = dS · [Kp; K], dK = dSᵀ · Q (the shared keys add up over the batch). */
      if (L.P) gemm(false, false, L.T, L.hs, L.P, 1.0f, ds, L.S, kp, L.LD, 0.0f, dq, L.LD);
      gemm(false, false, L.T, L.hs, L.T, 1.0f, ds + L.P, L.S, k, L.LD, L.P ? 1.0f : 0.0f, dq, L.LD);
      gemm(true, false, L.T, L.hs, L.T, 1.0f, ds + L.P, L.S, q, L.LD, 0.0f, dk, L.LD);
      if (L.P) gemm(true, false, L.P, L.hs, L.T, 1.0f, ds, L.S, q, L.LD, 1.0f, dkp, L.LD);
    }
  }
  free(ds);
}
