"""PyTorch baseline for bench:train: the same prompt-tuning step as the engine's, on the same
frozen weights, batch and initial prompt, so that step times compare like for like. Written
apart from the engine (plain PyTorch following Hugging Face's conventions), for GPT-2, for
the Llama family (model_type llama, qwen2, mistral) and for T5 (model_type t5, encoder-decoder),
chosen by config.json's model_type.

    python3 prompt_step.py BATCH.json   ->   JSON on stdout

BATCH.json (written by bench/train.ts): model (folder with config.json + model.safetensors or its shards),
inputs (token ids per row), labels, labelTokens (one token id per label; decoder-only models),
labelSequences (each label's whole decoder output, word tokens and </s>; T5), prompt (method, n,
r, activation, params {name: {shape, data}}, X0), steps, threads (thread counts to try),
learningRate, clip, forms (optional: which of the two to time). Two forms of the step are timed: `per-row`, the usual prompt tuning that
puts the prompt in front of every row; `shared-prefix`, the engine's form, where the prompt's
keys and values are computed once per step and shared by the rows. Reports the median step
time per form and thread count, and the first step's loss (to check that both sides compute
the same thing).

Decoder-only models score the label tokens at each row's last input position. T5 puts the
prompt in front of the encoder input and scores each label as its whole decoder output
(labelSequences: the word's tokens and </s>, after [decoder_start_token_id]), the sum of their
log-probabilities; cross-entropy over those scores is the loss. A shared prefix means nothing for a bidirectional encoder (every position sees the row), so for T5 only
the per-row form runs, whatever `forms` asks; the output's `note` (and a line on stderr) says so.
"""
import json
import math
import os
import statistics
import struct
import sys
import time

import numpy as np
import torch

DTYPES = {"F32": np.float32, "F16": np.float16, "BF16": np.uint16}


def read_safetensors(path, prefix):
    """Every tensor of one file as float32 (BF16: its bits are the top half of a float32's), `prefix`
    taken off the names; read one tensor at a time, so memory peaks at the weights plus one tensor."""
    tensors = {}
    with open(path, "rb") as f:
        size = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(size))
        for name, meta in header.items():
            if name == "__metadata__":
                continue
            f.seek(8 + size + meta["data_offsets"][0])
            array = np.empty(meta["shape"], dtype=DTYPES[meta["dtype"]])
            assert f.readinto(array) == array.nbytes, f"{path}: {name} is cut short"
            if meta["dtype"] == "BF16":
                array = (array.astype(np.uint32) << 16).view(np.float32)
            tensors[name.removeprefix(prefix)] = torch.from_numpy(array.astype(np.float32, copy=False))
    return tensors


def read_weights(folder, prefix):
    """A folder's weights: model.safetensors, or the shards its model.safetensors.index.json lists."""
    if os.path.exists(f"{folder}/model.safetensors"):
        return read_safetensors(f"{folder}/model.safetensors", prefix)
    with open(f"{folder}/model.safetensors.index.json") as f:
        shards = sorted(set(json.load(f)["weight_map"].values()))
    tensors = {}
    for shard in shards:
        tensors.update(read_safetensors(f"{folder}/{shard}", prefix))
    return tensors


def attention_mask(lengths, T, P):
    """Additive mask (b, 1, T, P + T): every shared position, then causal within the row's length."""
    j = torch.arange(T)
    allowed = (j[None, :] <= j[:, None])[None] & (j[None, None, :] < torch.tensor(lengths)[:, None, None])
    own = torch.where(allowed, 0.0, -1e9)
    return torch.cat([torch.zeros(len(lengths), T, P), own], dim=2)[:, None]


class FrozenDecoder:
    """The two forms of the prompted forward, for any decoder that defines embed (ids -> (T, d)),
    layers (x (b, T, d) at positions start … start+T−1, mask, the shared positions' (keys, values)
    per layer -> the last layer's output and each layer's own (keys, values)), final_norm and head
    ([V, d]: logits = hidden @ head.T)."""

    def last_hidden_per_row(self, prompt, inputs):
        n, L = prompt.shape[0], max(map(len, inputs))
        lengths = [n + len(ids) for ids in inputs]
        rows = [torch.cat([prompt, self.embed(ids), torch.zeros(L - len(ids), self.d)]) for ids in inputs]
        x, _ = self.layers(torch.stack(rows), 0, attention_mask(lengths, n + L, 0))
        return self.final_norm(x)[torch.arange(len(inputs)), torch.tensor(lengths) - 1]

    def last_hidden_shared_prefix(self, prompt, inputs):
        n, L = prompt.shape[0], max(map(len, inputs))
        lengths = [len(ids) for ids in inputs]
        _, past = self.layers(prompt[None], 0, attention_mask([n], n, 0))
        x = torch.stack([torch.cat([self.embed(ids), torch.zeros(L - len(ids), self.d)]) for ids in inputs])
        x, _ = self.layers(x, n, attention_mask(lengths, L, n), past)
        return self.final_norm(x)[torch.arange(len(inputs)), torch.tensor(lengths) - 1]


def attend(q, k, v, mask, past, scaled=True):
    """q (b, H, T, hs), k and v (b, H, S, hs) or, past given, prefixed by its (1, H, P, hs) -> (b, T, H·hs).
    `mask` is added to the scores (broadcast to (b, H, T, P + S)); T5 passes its position bias in it
    and scaled=False (its scores are not divided by √hs)."""
    b, _, T, _ = q.shape
    if past is not None:
        k = torch.cat([past[0].expand(b, -1, -1, -1), k], dim=2)
        v = torch.cat([past[1].expand(b, -1, -1, -1), v], dim=2)
    scores = q @ k.transpose(-1, -2)
    if scaled:
        scores = scores / (q.shape[-1] ** 0.5)
    return (torch.softmax(scores + mask, dim=-1) @ v).transpose(1, 2).reshape(b, T, -1)


def rms_norm(x, weight, eps):
    """Llama's RMSNorm and T5's layer norm: x / √(mean(x²) + eps) · weight, no mean taken off, no bias."""
    return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + eps) * weight


class FrozenGpt2(FrozenDecoder):
    def __init__(self, folder, config):
        self.w = read_weights(folder, "transformer.")
        self.n_layers = config["n_layer"]
        self.heads = config["n_head"]
        self.eps = config["layer_norm_epsilon"]
        self.d = config["n_embd"]
        self.head = self.w["wte.weight"]

    def ln(self, x, name):
        return torch.nn.functional.layer_norm(x, (self.d,), self.w[f"{name}.weight"], self.w[f"{name}.bias"], self.eps)

    def linear(self, x, name):
        """Conv1D: weight stored [in, out]."""
        return torch.addmm(self.w[f"{name}.bias"], x.reshape(-1, x.shape[-1]), self.w[f"{name}.weight"]).reshape(*x.shape[:-1], -1)

    def split_heads(self, t):
        b, T, _ = t.shape
        return t.reshape(b, T, self.heads, -1).transpose(1, 2)

    def block(self, i, x, mask, past):
        """x (b, T, d); past: (keys, values) of the shared positions, (1, H, P, hs) each, or None."""
        q, k, v = self.linear(self.ln(x, f"h.{i}.ln_1"), f"h.{i}.attn.c_attn").split(self.d, dim=2)
        q, k, v = self.split_heads(q), self.split_heads(k), self.split_heads(v)
        x = x + self.linear(attend(q, k, v, mask, past), f"h.{i}.attn.c_proj")
        hidden = torch.nn.functional.gelu(self.linear(self.ln(x, f"h.{i}.ln_2"), f"h.{i}.mlp.c_fc"), approximate="tanh")
        return x + self.linear(hidden, f"h.{i}.mlp.c_proj"), (k, v)

    def embed(self, ids):
        return self.w["wte.weight"][ids]

    def layers(self, x, start, mask, past=None):
        x = x + self.w["wpe.weight"][start:start + x.shape[1]]
        own = []
        for i in range(self.n_layers):
            x, kv = self.block(i, x, mask, past[i] if past else None)
            own.append(kv)
        return x, own

    def final_norm(self, x):
        return self.ln(x, "ln_f")


def rope_inv_freq(config, head_dim):
    """HF's inverse frequencies 1/θ^(2i/hd), i < hd/2, with rope_scaling 'linear' or 'llama3' applied."""
    inv_freq = 1.0 / (config.get("rope_theta", 10000.0) ** (torch.arange(0, head_dim, 2, dtype=torch.float32) / head_dim))
    scaling = config.get("rope_scaling") or {}
    kind = scaling.get("rope_type", scaling.get("type", "default"))
    if kind == "default":
        return inv_freq
    if kind == "linear":
        return inv_freq / scaling["factor"]
    if kind == "llama3":
        # HF's _compute_llama3_parameters: long wavelengths slowed by `factor`, short ones kept, a smooth blend between.
        factor, low, high = scaling["factor"], scaling["low_freq_factor"], scaling["high_freq_factor"]
        old_context = scaling["original_max_position_embeddings"]
        wavelen = 2 * math.pi / inv_freq
        scaled = torch.where(wavelen > old_context / low, inv_freq / factor, inv_freq)
        smooth = (old_context / wavelen - low) / (high - low)
        smoothed = (1 - smooth) * scaled / factor + smooth * scaled
        medium = (wavelen >= old_context / high) & (wavelen <= old_context / low)
        return torch.where(medium, smoothed, scaled)
    raise NotImplementedError(f"rope_scaling type {kind!r}")


def rotate_half(x):
    half = x.shape[-1] // 2
    return torch.cat([-x[..., half:], x[..., :half]], dim=-1)


class FrozenLlama(FrozenDecoder):
    """Llama, Qwen2 and Mistral: RMSNorm, RoPE in rotate_half layout (pairs (i, i + hd/2)),
    grouped-query attention (query head h reads kv head h // (H/KV)), SwiGLU MLP. Linear weights
    are stored [out, in]; any bias the file has is used (Qwen2's q/k/v, attention_bias, mlp_bias)."""

    def __init__(self, folder, config):
        assert config.get("hidden_act", "silu") == "silu", config["hidden_act"]
        self.w = read_weights(folder, "model.")
        self.n_layers = config["num_hidden_layers"]
        self.d = config["hidden_size"]
        self.heads = config["num_attention_heads"]
        self.kv_heads = config.get("num_key_value_heads") or self.heads
        self.head_dim = config.get("head_dim") or self.d // self.heads
        self.eps = config["rms_norm_eps"]
        self.inv_freq = rope_inv_freq(config, self.head_dim)
        # Mistral's sliding window (Qwen2's when use_sliding_window) is not applied: refuse sequences it would cut.
        windowed = config["model_type"] == "mistral" or config.get("use_sliding_window")
        self.window = (windowed and config.get("sliding_window")) or math.inf
        self.head = self.w.get("lm_head.weight", self.w["embed_tokens.weight"])

    def rms_norm(self, x, name):
        return rms_norm(x, self.w[f"{name}.weight"], self.eps)

    def linear(self, x, name):
        return torch.nn.functional.linear(x, self.w[f"{name}.weight"], self.w.get(f"{name}.bias"))

    def rope(self, start, count):
        """cos and sin (count, hd) of positions start … start+count−1, frequencies repeated as cat(freqs, freqs)."""
        freqs = torch.arange(start, start + count, dtype=torch.float32)[:, None] * self.inv_freq[None]
        angles = torch.cat([freqs, freqs], dim=-1)
        return angles.cos(), angles.sin()

    def split_heads(self, t, heads):
        b, T, _ = t.shape
        return t.reshape(b, T, heads, self.head_dim).transpose(1, 2)

    def layer(self, i, x, rope, mask, past):
        """x (b, T, d); past: (keys, values) of the shared positions, (1, KV, P, hd) each, or None."""
        p = f"layers.{i}"
        cos, sin = rope
        h = self.rms_norm(x, f"{p}.input_layernorm")
        q = self.split_heads(self.linear(h, f"{p}.self_attn.q_proj"), self.heads)  # (b, H, T, hd)
        k = self.split_heads(self.linear(h, f"{p}.self_attn.k_proj"), self.kv_heads)  # (b, KV, T, hd)
        v = self.split_heads(self.linear(h, f"{p}.self_attn.v_proj"), self.kv_heads)
        q, k = q * cos + rotate_half(q) * sin, k * cos + rotate_half(k) * sin
        group = self.heads // self.kv_heads
        expand = lambda t: t.repeat_interleave(group, dim=1)  # (·, KV, ·, hd) -> (·, H, ·, hd)
        shared = (expand(past[0]), expand(past[1])) if past else None
        x = x + self.linear(attend(q, expand(k), expand(v), mask, shared), f"{p}.self_attn.o_proj")
        h = self.rms_norm(x, f"{p}.post_attention_layernorm")
        gated = torch.nn.functional.silu(self.linear(h, f"{p}.mlp.gate_proj")) * self.linear(h, f"{p}.mlp.up_proj")
        return x + self.linear(gated, f"{p}.mlp.down_proj"), (k, v)

    def embed(self, ids):
        return self.w["embed_tokens.weight"][ids]

    def layers(self, x, start, mask, past=None):
        assert start + x.shape[1] <= self.window, f"{start + x.shape[1]} positions exceed the sliding window {self.window}"
        rope = self.rope(start, x.shape[1])
        own = []
        for i in range(self.n_layers):
            x, kv = self.layer(i, x, rope, mask, past[i] if past else None)
            own.append(kv)
        return x, own

    def final_norm(self, x):
        return self.rms_norm(x, "norm")


def relative_position_bucket(relative_position, bidirectional, num_buckets=32, max_distance=128):
    """HF's T5Attention._relative_position_bucket: relative_position = key − query (long tensor) ->
    bucket. Half the buckets (of each direction, when bidirectional: positive offsets take the
    upper half) count exact offsets 0 … max_exact−1, the rest grow logarithmically up to
    max_distance, past which everything shares the last bucket. Causal: offsets after the query
    (positive) fall in bucket 0."""
    buckets = torch.zeros_like(relative_position)
    if bidirectional:
        num_buckets //= 2
        buckets += (relative_position > 0).long() * num_buckets
        relative_position = relative_position.abs()
    else:
        relative_position = -torch.min(relative_position, torch.zeros_like(relative_position))
    max_exact = num_buckets // 2
    is_small = relative_position < max_exact
    # log(0) is -inf here, but only where is_small picks the exact bucket instead.
    if_large = max_exact + (
        torch.log(relative_position.float() / max_exact) / math.log(max_distance / max_exact) * (num_buckets - max_exact)
    ).long()
    if_large = torch.min(if_large, torch.full_like(if_large, num_buckets - 1))
    return buckets + torch.where(is_small, relative_position, if_large)


T5_ACTIVATIONS = {
    "relu": torch.relu,
    "gelu_new": lambda x: torch.nn.functional.gelu(x, approximate="tanh"),
    "gelu": torch.nn.functional.gelu,
    "silu": torch.nn.functional.silu,
}


class FrozenT5:
    """T5 (T5ForConditionalGeneration; classic and v1.1 / flan). Pre-norm blocks with T5's layer
    norm (RMS, no bias); attention without the 1/√d_kv scaling and with a learned relative-position
    bias that only block 0 of each stack holds and every layer of that stack adds (bidirectional
    buckets in the encoder, causal in the decoder; cross-attention has none); feed-forward relu
    (wi, wo) or gated (act(wi_0 x) · wi_1 x, wo; "gated-gelu" is gelu_new). One embedding,
    `shared.weight`, for encoder and decoder; the head is `lm_head.weight` when untied, else the
    embedding with the decoder output scaled by d_model^-0.5 first. Linear weights are [out, in].

    The soft prompt goes in front of the encoder's input embeddings and takes relative positions
    0 … n−1 (the input follows); the decoder cross-attends to every real encoder position, prompt
    rows included, padded ones masked."""

    def __init__(self, folder, config):
        self.w = read_weights(folder, "")
        self.d = config["d_model"]
        self.heads = config["num_heads"]
        self.d_kv = config["d_kv"]
        self.n_layers = {"encoder": config["num_layers"], "decoder": config.get("num_decoder_layers") or config["num_layers"]}
        self.eps = config.get("layer_norm_epsilon", 1e-6)
        self.num_buckets = config.get("relative_attention_num_buckets", 32)
        self.max_distance = config.get("relative_attention_max_distance", 128)
        # HF's T5Config: "gated-gelu" -> gated, gelu_new; "relu" -> relu; "gated-silu" -> gated, silu.
        act = config.get("feed_forward_proj", "relu").split("-")
        self.gated = len(act) > 1 and act[0] == "gated"
        self.act = T5_ACTIVATIONS["gelu_new" if act[-1] == "gelu" and self.gated else act[-1]]
        self.decoder_start = config.get("decoder_start_token_id", 0)
        self.tied = config.get("tie_word_embeddings", True)
        self.head = self.w["shared.weight"] if self.tied else self.w["lm_head.weight"]

    def linear(self, x, name):
        return torch.nn.functional.linear(x, self.w[f"{name}.weight"])

    def norm(self, x, name):
        return rms_norm(x, self.w[f"{name}.weight"], self.eps)

    def split_heads(self, t):
        b, T, _ = t.shape
        return t.reshape(b, T, self.heads, self.d_kv).transpose(1, 2)  # (b, H, T, d_kv)

    def position_bias(self, stack, queries, keys):
        """(1, H, queries, keys): block 0's table at the bucket of each (key − query)."""
        relative = torch.arange(keys)[None, :] - torch.arange(queries)[:, None]
        bucket = relative_position_bucket(relative, stack == "encoder", self.num_buckets, self.max_distance)
        table = self.w[f"{stack}.block.0.layer.0.SelfAttention.relative_attention_bias.weight"]  # (buckets, H)
        return table[bucket].permute(2, 0, 1)[None]

    def attention(self, x, context, name, bias):
        """x (b, T, d) queries, context (b, S, d) keys and values, bias added to the scores."""
        q, k, v = (self.split_heads(self.linear(t, f"{name}.{p}")) for t, p in ((x, "q"), (context, "k"), (context, "v")))
        return self.linear(attend(q, k, v, bias, None, scaled=False), f"{name}.o")

    def feed_forward(self, x, name):
        if self.gated:
            return self.linear(self.act(self.linear(x, f"{name}.wi_0")) * self.linear(x, f"{name}.wi_1"), f"{name}.wo")
        return self.linear(self.act(self.linear(x, f"{name}.wi")), f"{name}.wo")

    def encode(self, x, lengths):
        """x (b, S, d) input embeddings (prompt rows first), lengths (b) real positions -> (b, S, d) after final_layer_norm."""
        S = x.shape[1]
        keys = torch.where(torch.arange(S)[None] < torch.tensor(lengths)[:, None], 0.0, -1e9)  # (b, S)
        bias = self.position_bias("encoder", S, S) + keys[:, None, None, :]
        for i in range(self.n_layers["encoder"]):
            p = f"encoder.block.{i}.layer"
            h = self.norm(x, f"{p}.0.layer_norm")
            x = x + self.attention(h, h, f"{p}.0.SelfAttention", bias)
            x = x + self.feed_forward(self.norm(x, f"{p}.1.layer_norm"), f"{p}.1.DenseReluDense")
        return self.norm(x, "encoder.final_layer_norm")

    def decode(self, ids, encoded, lengths):
        """ids (b, T) decoder input ids, encoded (b, S, d), lengths (b) real encoder positions -> (b, T, d),
        the hidden state the head reads (final_layer_norm, then d_model^-0.5 when the head is tied)."""
        T, S = ids.shape[1], encoded.shape[1]
        causal = torch.where(torch.arange(T)[None, :] <= torch.arange(T)[:, None], 0.0, -1e9)  # (T, T)
        self_bias = self.position_bias("decoder", T, T) + causal
        cross_bias = torch.where(torch.arange(S)[None] < torch.tensor(lengths)[:, None], 0.0, -1e9)[:, None, None, :]
        y = self.w["shared.weight"][ids]
        for i in range(self.n_layers["decoder"]):
            p = f"decoder.block.{i}.layer"
            h = self.norm(y, f"{p}.0.layer_norm")
            y = y + self.attention(h, h, f"{p}.0.SelfAttention", self_bias)
            y = y + self.attention(self.norm(y, f"{p}.1.layer_norm"), encoded, f"{p}.1.EncDecAttention", cross_bias)
            y = y + self.feed_forward(self.norm(y, f"{p}.2.layer_norm"), f"{p}.2.DenseReluDense")
        y = self.norm(y, "decoder.final_layer_norm")
        return y * self.d ** -0.5 if self.tied else y

    def encoder_input(self, prompt, inputs):
        """[prompt rows][shared(ids)] per row, right-padded -> (b, n + L, d) and the real lengths."""
        prompt = torch.zeros(0, self.d) if prompt is None else prompt
        n, L = prompt.shape[0], max(map(len, inputs))
        rows = [torch.cat([prompt, self.w["shared.weight"][list(ids)], torch.zeros(L - len(ids), self.d)]) for ids in inputs]
        return torch.stack(rows), [n + len(ids) for ids in inputs]

    def label_scores(self, prompt, inputs, sequences):
        """(b, K) scores: each label's whole decoder output (its word's tokens and </s>, `sequences`),
        the sum of their log-probabilities after [decoder_start_token_id]; the encoder runs once."""
        x, lengths = self.encoder_input(prompt, inputs)
        encoded = self.encode(x, lengths)
        scores = []
        for seq in sequences:
            ids = torch.tensor([[self.decoder_start] + list(seq[:-1])] * len(inputs), dtype=torch.long)
            log_probs = torch.log_softmax(self.decode(ids, encoded, lengths) @ self.head.T, dim=-1)  # (b, len, V)
            scores.append(log_probs[:, torch.arange(len(seq)), torch.tensor(seq)].sum(-1))
        return torch.stack(scores, 1)


FAMILIES = {"gpt2": FrozenGpt2, "llama": FrozenLlama, "qwen2": FrozenLlama, "mistral": FrozenLlama, "t5": FrozenT5}


def load_model(folder):
    with open(f"{folder}/config.json") as f:
        config = json.load(f)
    if config["model_type"] not in FAMILIES:
        raise NotImplementedError(f"model_type {config['model_type']!r}: the baseline knows {', '.join(FAMILIES)}")
    return FAMILIES[config["model_type"]](folder, config)


SIGMA = {
    "tanh": torch.tanh,
    "relu": torch.relu,
    "sigmoid": torch.sigmoid,
    "gelu": lambda x: torch.nn.functional.gelu(x, approximate="tanh"),
}


def prompt_of(spec, params):
    if spec["method"] == "pt":
        return params["X"]
    if spec["method"] == "lopt1":
        return params["U"] @ params["V"]
    return SIGMA[spec["activation"]](spec["X0"] @ params["U"]) @ params["V"]


def label_loss(model, hidden, label_tokens, labels):
    """Cross-entropy over the label words' logits, mean over the rows."""
    log_probs = torch.log_softmax(hidden @ model.head.T, dim=-1)
    return torch.nn.functional.cross_entropy(log_probs[:, label_tokens], labels)


def tensor_of(entry):
    return torch.tensor(entry["data"], dtype=torch.float32).reshape(entry["shape"])


def run(model, batch, batch_loss, threads):
    torch.set_num_threads(threads)
    spec = dict(batch["prompt"])
    if spec.get("X0"):
        spec["X0"] = tensor_of(spec["X0"])
    params = {name: tensor_of(entry).requires_grad_() for name, entry in spec["params"].items()}
    optimizer = torch.optim.AdamW(params.values(), lr=batch["learningRate"], weight_decay=0.0)
    times, first_loss = [], None
    for _ in range(batch["steps"] + 1):
        start = time.perf_counter()
        optimizer.zero_grad()
        loss = batch_loss(prompt_of(spec, params))
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params.values(), batch["clip"])
        optimizer.step()
        times.append((time.perf_counter() - start) * 1000)
        first_loss = loss.item() if first_loss is None else first_loss
    return {"medianStepMs": statistics.median(times[1:]), "firstLoss": first_loss}


def main():
    with open(sys.argv[1]) as f:
        batch = json.load(f)
    model = load_model(batch["model"])
    labels = torch.tensor(batch["labels"])
    note = None
    if isinstance(model, FrozenT5):
        asked = batch.get("forms", ["per-row", "shared-prefix"])
        sequences = batch["labelSequences"]
        forms = {"per-row": lambda prompt: torch.nn.functional.cross_entropy(model.label_scores(prompt, batch["inputs"], sequences), labels)}
        note = (f"t5: only the per-row form runs (asked for {', '.join(asked)}): a bidirectional encoder has no shared "
                "prefix; each label is scored as its whole decoder output (word tokens and </s>)")
        print(f"prompt_step.py: {note}", file=sys.stderr)
    else:
        label_tokens = torch.tensor(batch["labelTokens"])
        every_form = {"per-row": model.last_hidden_per_row, "shared-prefix": model.last_hidden_shared_prefix}
        forms = {
            name: (lambda form: lambda prompt: label_loss(model, form(prompt, batch["inputs"]), label_tokens, labels))(form)
            for name, form in every_form.items() if name in batch.get("forms", every_form)
        }
    results = [
        {"form": form, "threads": threads, **run(model, batch, batch_loss, threads)}
        for form, batch_loss in forms.items()
        for threads in batch["threads"]
    ]
    blas = next((line.strip() for line in torch.__config__.show().splitlines() if "BLAS" in line), "unknown BLAS")
    print(json.dumps({"torch": torch.__version__, "blas": blas, "results": results, **({"note": note} if note else {})}))


if __name__ == "__main__":
    main()
