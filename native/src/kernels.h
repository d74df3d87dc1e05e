/* The numeric kernels behind the addon's functions; addon.c checks and unpacks the arguments. */
#ifndef LOPT_KERNELS_H
#define LOPT_KERNELS_H
#include <stdbool.h>
#include <stdint.h>

/* out[i] = op(a[a_index[i]]) · op(b[b_index[i]]) (+ bias on every row), row-major, i < batch. */
void lopt_gemm(const float *a, const float *b, float *out, const float *bias, int64_t batch, const int32_t *a_index,
               const int32_t *b_index, int64_t m, int64_t n, int64_t k, bool trans_a, bool trans_b);

/* Sizes of a causal self-attention over rows of [q | k | v] (widths heads·head_size, then
 * kv_heads·head_size twice; kv_heads divides heads): the batch's sequences packed one after
 * another, lengths[b] rows each, after `prefix` shared positions. The prefix rows come in
 * `prefix_blocks` blocks of `prefix` rows, one block after another (several cached soft prompts
 * in one batch); sequence b attends to block prefix_of[b], or every sequence to block 0 when
 * prefix_of is NULL. */
typedef struct {
  int64_t batch, prefix, heads, kv_heads, head_size;
  const int32_t *lengths;
  float scale;
  int64_t prefix_blocks;
  const int32_t *prefix_of;
} lopt_attention_dims;

/* Floats of the attention probabilities: Σ_b heads · lengths[b] · (prefix + lengths[b]). */
int64_t lopt_attention_probs_size(const lopt_attention_dims *dims);

/* context [Σ lengths, heads·head_size]; probs kept for the gradient. */
void lopt_attention_forward(const lopt_attention_dims *dims, const float *qkv, const float *prefix_qkv, float *context,
                            float *probs);

/* Gradients of the forward pass: d_qkv like qkv, d_prefix_qkv like prefix_qkv (its q part 0; each block gets its own sequences' share). */
void lopt_attention_backward(const lopt_attention_dims *dims, const float *d_context, const float *qkv,
                             const float *prefix_qkv, const float *probs, float *d_qkv, float *d_prefix_qkv);

/* Sizes of an attention over padded blocks: `batch` blocks of `queries` query rows, each over its
 * own `keys` [k | v] rows (k, then v, heads·head_size each, at the start of a row); rows lie
 * q_stride and kv_stride floats apart. Block b's queries see its first key_lengths[b] ≥ 1 keys
 * (`causal`: query i at most i + 1 of them); scores are scale · q·k + bias[h, i, j] when bias
 * ([heads, queries, keys], shared by the blocks) is given. */
typedef struct {
  int64_t batch, queries, keys, heads, head_size, q_stride, kv_stride;
  const int32_t *key_lengths;
  const float *bias;
  bool causal;
  float scale;
} lopt_biased_attention_dims;

/* context [batch·queries, heads·head_size]; probs [batch, heads, queries, keys] kept for the gradient. */
void lopt_biased_attention_forward(const lopt_biased_attention_dims *dims, const float *q, const float *kv, float *context,
                                   float *probs);

/* Gradients of the forward pass, d_q and d_kv with q's and kv's strides (they may be disjoint columns of one array). */
void lopt_biased_attention_backward(const lopt_biased_attention_dims *dims, const float *d_context, const float *q,
                                    const float *kv, const float *probs, float *d_q, float *d_kv);

/* GELU, tanh approximation, and its gradient dx = dy · gelu'(x). */
void lopt_gelu_forward(const float *x, float *out, int64_t size);
void lopt_gelu_backward(const float *x, const float *dy, float *dx, int64_t size);

/* Layer normalisation of `rows` rows of `width` over the last dimension, and its input gradient. */
void lopt_layer_norm_forward(const float *x, const float *gamma, const float *beta, float *out, int64_t rows, int64_t width,
                             float epsilon);
void lopt_layer_norm_backward(const float *x, const float *gamma, const float *dy, float *dx, int64_t rows, int64_t width,
                              float epsilon);

/* RMS normalisation of `rows` rows of `width` (x · γ / √(mean(x²) + ε)), and its input gradient. */
void lopt_rms_norm_forward(const float *x, const float *gamma, float *out, int64_t rows, int64_t width, float epsilon);
void lopt_rms_norm_backward(const float *x, const float *gamma, const float *dy, float *dx, int64_t rows, int64_t width,
                            float epsilon);

/* SwiGLU of rows [gate (width) | up (width)]: out (rows, width) = silu(gate) ⊙ up, and the gradient
 * d_gate_up (rows, 2·width) of it. */
void lopt_swiglu_forward(const float *gate_up, float *out, int64_t rows, int64_t width);
void lopt_swiglu_backward(const float *gate_up, const float *dy, float *d_gate_up, int64_t rows, int64_t width);

/* Rotary position embedding in Hugging Face's rotate_half layout, of the first `rotated` heads of
 * each row of `heads` heads of head_size (the query and key heads of a [q | k | v] row; the value
 * heads are copied): the pair (i, i + head_size/2) of a head in row r turns by the angle
 * positions[r] · inv_freq[i]. `inverse` turns the other way, which is the gradient. */
void lopt_rope(const float *x, float *out, const int32_t *positions, const float *inv_freq, int64_t rows, int64_t heads,
               int64_t rotated, int64_t head_size, bool inverse);

#endif
