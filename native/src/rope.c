/*
 * Rotary position embedding in Hugging Face's rotate_half layout: x' = x · cos + rotate_half(x) · sin
 * with rotate_half(x) = [−x₂, x₁], i.e. the pair (x_i, x_{i+h/2}) turns by θ = position · inv_freq[i].
 * The angle is formed in float32 as HF does (inv_freq · position), its cosine and sine in double.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "kernels.h"

void lopt_rope(const float *x, float *out, const int32_t *positions, const float *inv_freq, int64_t rows, int64_t heads,
               int64_t rotated, int64_t head_size, bool inverse) {
  const int64_t half = head_size / 2, width = heads * head_size;
  float *cos_row = malloc((size_t)half * sizeof(float)), *sin_row = malloc((size_t)half * sizeof(float));
  for (int64_t r = 0; r < rows; r++) {
    const float *xr = x + r * width;
    float *yr = out + r * width;
    for (int64_t i = 0; i < half; i++) {
      const float angle = (float)positions[r] * inv_freq[i];
      cos_row[i] = (float)cos((double)angle);
      sin_row[i] = inverse ? -(float)sin((double)angle) : (float)sin((double)angle);
    }
    for (int64_t h = 0; h < rotated; h++) {
      const float *a = xr + h * head_size, *b = a + half;
      float *ya = yr + h * head_size, *yb = ya + half;
      for (int64_t i = 0; i < half; i++) {
        ya[i] = a[i] * cos_row[i] - b[i] * sin_row[i];
        yb[i] = b[i] * cos_row[i] + a[i] * sin_row[i];
      }
    }
    memcpy(yr + rotated * head_size, xr + rotated * head_size, (size_t)((heads - rotated) * head_size) * sizeof(float));
  }
  free(cos_row);
  free(sin_row);
}
