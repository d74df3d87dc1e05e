/* SwiGLU, the gated MLP activation of Llama-family models: silu(gate) ⊙ up, and its gradient. */
#include <math.h>

#include "kernels.h"

static float sigmoid(float x) { return 1.0f / (1.0f + expf(-x)); }

void lopt_swiglu_forward(const float *gate_up, float *out, int64_t rows, int64_t width) {
  for (int64_t i = 0; i < rows; i++) {
    const float *g = gate_up + i * 2 * width, *u = g + width;
    float *y = out + i * width;
    for (int64_t j = 0; j < width; j++) y[j] = g[j] * sigmoid(g[j]) * u[j];
  }
}

/* d gate = dy · up · σ(g) · (1 + g · (1 − σ(g))), d up = dy · silu(g). */
void lopt_swiglu_backward(const float *gate_up, const float *dy, float *d_gate_up, int64_t rows, int64_t width) {
  for (int64_t i = 0; i < rows; i++) {
    const float *g = gate_up + i * 2 * width, *u = g + width, *dyr = dy + i * width;
    float *dg = d_gate_up + i * 2 * width, *du = dg + width;
    for (int64_t j = 0; j < width; j++) {
      const float s = sigmoid(g[j]);
      dg[j] = dyr[j] * u[j] * s * (1.0f + g[j] * (1.0f - s));
      du[j] = dyr[j] * g[j] * s;
    }
  }
}
