/* Layer normalisation over the last dimension, and its input gradient (the scale and shift are frozen). */
#include <math.h>

#include "kernels.h"

static void row_statistics(const float *row, int64_t width, float epsilon, float *mean, float *rstd) {
  float sum = 0.0f;
  for (int64_t j = 0; j < width; j++) sum += row[j];
  const float m = sum / (float)width;
  float squares = 0.0f;
  for (int64_t j = 0; j < width; j++) squares += (row[j] - m) * (row[j] - m);
  *mean = m;
  *rstd = 1.0f / sqrtf(squares / (float)width + epsilon);
}

void lopt_layer_norm_forward(const float *x, const float *gamma, const float *beta, float *out, int64_t rows, int64_t width,
                             float epsilon) {
  for (int64_t i = 0; i < rows; i++) {
    const float *xr = x + i * width;
    float *yr = out + i * width;
    float mean, rstd;
    row_statistics(xr, width, epsilon, &mean, &rstd);
    for (int64_t j = 0; j < width; j++) yr[j] = (xr[j] - mean) * rstd * gamma[j] + beta[j];
  }
}

/* dx = rstd · (g − mean(g) − x̂ · mean(g ⊙ x̂)), with g = dy ⊙ γ and x̂ the normalised input. */
void lopt_layer_norm_backward(const float *x, const float *gamma, const float *dy, float *dx, int64_t rows, int64_t width,
                              float epsilon) {
  for (int64_t i = 0; i < rows; i++) {
    const float *xr = x + i * width, *dyr = dy + i * width;
    float *dxr = dx + i * width;
    float mean, rstd;
    row_statistics(xr, width, epsilon, &mean, &rstd);
    float g_sum = 0.0f, gx_sum = 0.0f;
    for (int64_t j = 0; j < width; j++) {
      const float g = dyr[j] * gamma[j];
      g_sum += g;
      gx_sum += g * (xr[j] - mean) * rstd;
    }
    const float g_mean = g_sum / (float)width, gx_mean = gx_sum / (float)width;
    for (int64_t j = 0; j < width; j++) {
      dxr[j] = rstd * (dyr[j] * gamma[j] - g_mean - (xr[j] - mean) * rstd * gx_mean);
    }
  }
}
