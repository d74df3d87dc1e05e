/*
 * GELU, tanh approximation (HF gelu_new). tanh comes from an inline exp (Cody–Waite reduction and
 * a degree-6 polynomial, relative error ~1e-7) so that the loops vectorise: libm's tanhf does not,
 * and was most of the kernel's time.
 */
/* Only this file: its clamped exp has no NaN or infinity to keep, and the vectoriser needs the licence. */
#pragma GCC optimize("fast-math")

#include <stdint.h>

#include "kernels.h"

static const float SCALE = 0.7978845608028654f; /* √(2/π) */
static const float CUBIC = 0.044715f;

static inline float exp_inline(float x) {
  x = __builtin_fminf(__builtin_fmaxf(x, -87.0f), 87.0f);
  const float t = x * 1.44269504088896341f;
  const int32_t ni = (int32_t)(t + (t >= 0.0f ? 0.5f : -0.5f)); /* round to nearest */
  const float n = (float)ni;
  const float r = (x - n * 0.693359375f) + n * 2.12194440e-4f; /* x − n·ln2, in two parts */
  float p = 1.0f / 720.0f;
  p = p * r + 1.0f / 120.0f;
  p = p * r + 1.0f / 24.0f;
  p = p * r + 1.0f / 6.0f;
  p = p * r + 0.5f;
  p = p * r + 1.0f;
  p = p * r + 1.0f;
  union {
    int32_t bits;
    float value;
  } scale = {.bits = (ni + 127) << 23};
  return p * scale.value;
}

static inline float tanh_inline(float u) { return 1.0f - 2.0f / (exp_inline(2.0f * u) + 1.0f); }

void lopt_gelu_forward(const float *x, float *out, int64_t size) {
#pragma omp simd
  for (int64_t i = 0; i < size; i++) {
    const float u = SCALE * (x[i] + CUBIC * x[i] * x[i] * x[i]);
    out[i] = 0.5f * x[i] * (1.0f + tanh_inline(u));
  }
}

void lopt_gelu_backward(const float *x, const float *dy, float *dx, int64_t size) {
#pragma omp simd
  for (int64_t i = 0; i < size; i++) {
    const float u = SCALE * (x[i] + CUBIC * x[i] * x[i] * x[i]);
    const float t = tanh_inline(u);
    const float du = SCALE * (1.0f + 3.0f * CUBIC * x[i] * x[i]);
    dx[i] = dy[i] * (0.5f * (1.0f + t) + 0.5f * x[i] * (1.0f - t * t) * du);
  }
}
