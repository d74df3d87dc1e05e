/* What the attention kernels share: a row-major gemm, and a softmax row's forward and backward. */
#ifndef LOPT_ATTENTION_ROWS_H
#define LOPT_ATTENTION_ROWS_H
#include <cblas.h>
#include <math.h>
#include <stdbool.h>
#include <stdint.h>

/* C (m×n, ldc) = alpha · op(A) · op(B) + beta · C, row-major. */
static inline void gemm(bool ta, bool tb, int64_t m, int64_t n, int64_t k, float alpha, const float *a, int64_t lda,
                        const float *b, int64_t ldb, float beta, float *c, int64_t ldc) {
  if (m == 0 || n == 0) return;
  cblas_sgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans, (int)m, (int)n, (int)k,
              alpha, a, (int)lda, b, (int)ldb, beta, c, (int)ldc);
}

/* Softmax of a row's first `visible` scores (visible ≥ 1); the rest of its `width` get 0. */
static inline void softmax_row(float *row, int64_t visible, int64_t width) {
  float max = -INFINITY;
  for (int64_t j = 0; j < visible; j++) max = row[j] > max ? row[j] : max;
  float sum = 0.0f;
  for (int64_t j = 0; j < visible; j++) sum += (row[j] = expf(row[j] - max));
  const float inv = 1.0f / sum;
  for (int64_t j = 0; j < visible; j++) row[j] *= inv;
  for (int64_t j = visible; j < width; j++) row[j] = 0.0f;
}

/* Through a softmax row P, with the scores' scale folded in: dP becomes dS = scale · P ⊙ (dP − Σ_j dP ⊙ P). */
static inline void softmax_backward_row(const float *p, float *d, int64_t width, float scale) {
  float dot = 0.0f;
  for (int64_t j = 0; j < width; j++) dot += p[j] * d[j];
  for (int64_t j = 0; j < width; j++) d[j] = scale * p[j] * (d[j] - dot);
}

#endif
