/* RMS normalisation over the last dimension (Llama's, T5's), and its input gradient (the scale is frozen). */
#include <math.h>

#include "kernels.h"

static float inverse_rms(const float *row, int64_t width, float epsilon) {
  float squares = 0.0f;
  for (int64_t j = 0; j < width; j++) squares += row[j] * row[j];
  return 1.0f / sqrtf(squares / (float)width + epsilon);
}

void lopt_rms_norm_forward(const float *x, const float *gamma, float *out, int64_t rows, int64_t width, float epsilon) {
  for (int64_t i = 0; i < rows; i++) {
    const float *xr = x + i * width;
    float *yr = out + i * width;
    const float r = inverse_rms(xr, width, epsilon);
    for (int64_t j = 0; j < width; j++) yr[j] = gamma[j] * (xr[j] * r);
  }
}

/* dx = r · (g − x · r² · mean(g ⊙ x)), with g = dy ⊙ γ and r = 1/√(mean(x²) + ε). */
void lopt_rms_norm_backward(const float *x, const float *gamma, const float *dy, float *dx, int64_t rows, int64_t width,
                            float epsilon) {
  for (int64_t i = 0; i < rows; i++) {
    const float *xr = x + i * width, *dyr = dy + i * width;
    float *dxr = dx + i * width;
    const float r = inverse_rms(xr, width, epsilon);
    float gx_sum = 0.0f;
    for (int64_t j = 0; j < width; j++) gx_sum += dyr[j] * gamma[j] * xr[j];
    const float correction = r * r * gx_sum / (float)width;
    for (int64_t j = 0; j < width; j++) dxr[j] = r * (dyr[j] * gamma[j] - xr[j] * correction);
  }
}
