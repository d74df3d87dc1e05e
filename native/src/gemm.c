#include <cblas.h>
#include <string.h>

#include "kernels.h"

void lopt_gemm(const float *a, const float *b, float *out, const float *bias, int64_t batch, const int32_t *a_index,
               const int32_t *b_index, int64_t m, int64_t n, int64_t k, bool trans_a, bool trans_b) {
  const float beta = bias ? 1.0f : 0.0f;
  if (bias) {
    for (int64_t row = 0; row < batch * m; row++) memcpy(out + row * n, bias, (size_t)n * sizeof(float));
  }
  const enum CBLAS_TRANSPOSE op_b = trans_b ? CblasTrans : CblasNoTrans;
  const int ldb = trans_b ? (int)k : (int)n;
  /* Consecutive left operands against one shared right operand are one tall product. */
  bool stacked = !trans_a && batch > 1;
  for (int64_t i = 0; stacked && i < batch; i++) stacked = a_index[i] == i && b_index[i] == b_index[0];
  if (stacked) {
    cblas_sgemm(CblasRowMajor, CblasNoTrans, op_b, (int)(batch * m), (int)n, (int)k, 1.0f, a, (int)k,
                b + (int64_t)b_index[0] * k * n, ldb, beta, out, (int)n);
    return;
  }
  for (int64_t i = 0; i < batch; i++) {
    cblas_sgemm(CblasRowMajor, trans_a ? CblasTrans : CblasNoTrans, op_b, (int)m, (int)n, (int)k, 1.0f,
                a + (int64_t)a_index[i] * m * k, trans_a ? (int)m : (int)k, b + (int64_t)b_index[i] * k * n, ldb, beta,
                out + i * m * n, (int)n);
  }
}
