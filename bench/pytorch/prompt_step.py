"""PyTorch baseline for bench:train: the same prompt-tuning step as the engine's, on the same
frozen GPT-2 weights, batch and initial prompt, so that step times compare like for like.

    python3 prompt_step.py BATCH.json   ->   JSON on stdout

BATCH.json (written by bench/train.ts): model (folder with config.json + model.safetensors),
inputs (token ids per row), labels, labelTokens (one token id per label), prompt (method, n,
r, activation, params {name: {shape, data}}, X0), steps, threads (thread counts to try),
learningRate, clip, forms (optional: which of the two to time). Two forms of the step are timed: `per-row`, the usual prompt tuning that
puts the prompt in front of every row; `shared-prefix`, the engine's form, where the prompt's
keys and values are computed once per step and shared by the rows. Reports the median step
time per form and thread count, and the first step's loss (to check that both sides compute
the same thing).
"""
import json
import os
import statistics
import struct
import sys
import time

import numpy as np
import torch

DTYPES = {"F32": np.float32, "F16": np.float16, "BF16": np.uint16}


def read_safetensors(path):
    """Every tensor of one file as float32 (BF16: its bits are the top half of a float32's)."""
    with open(path, "rb") as f:
        size = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(size))
        body = f.read()
    tensors = {}
    for name, meta in header.items():
        if name == "__metadata__":
            continue
        start, end = meta["data_offsets"]
        array = np.frombuffer(body[start:end], dtype=DTYPES[meta["dtype"]]).reshape(meta["shape"])
        if meta["dtype"] == "BF16":
            array = (array.astype(np.uint32) << 16).view(np.float32)
        tensors[name.removeprefix("transformer.")] = torch.from_numpy(array.astype(np.float32))
        del array
    return tensors


def read_weights(folder):
    """A folder's weights: model.safetensors, or the shards its model.safetensors.index.json lists."""
    if os.path.exists(f"{folder}/model.safetensors"):
        return read_safetensors(f"{folder}/model.safetensors")
    with open(f"{folder}/model.safetensors.index.json") as f:
        shards = sorted(set(json.load(f)["weight_map"].values()))
    tensors = {}
    for shard in shards:
        tensors.update(read_safetensors(f"{folder}/{shard}"))
    return tensors


class FrozenGpt2:
    def __init__(self, folder):
        with open(f"{folder}/config.json") as f:
            config = json.load(f)
        self.w = read_weights(folder)
        self.layers = config["n_layer"]
        self.heads = config["n_head"]
        self.eps = config["layer_norm_epsilon"]
        self.d = config["n_embd"]

    def ln(self, x, name):
        return torch.nn.functional.layer_norm(x, (self.d,), self.w[f"{name}.weight"], self.w[f"{name}.bias"], self.eps)

    def linear(self, x, name):
        return torch.addmm(self.w[f"{name}.bias"], x.reshape(-1, x.shape[-1]), self.w[f"{name}.weight"]).reshape(*x.shape[:-1], -1)

    def split_heads(self, t):
        b, T, _ = t.shape
        return t.reshape(b, T, self.heads, -1).transpose(1, 2)

    def block(self, i, x, mask, past=None):
        """x (b, T, d); past: (keys, values) of shared positions, (1, H, P, hs) each."""
        b, T, d = x.shape
        q, k, v = self.linear(self.ln(x, f"h.{i}.ln_1"), f"h.{i}.attn.c_attn").split(d, dim=2)
        q, k, v = self.split_heads(q), self.split_heads(k), self.split_heads(v)
        own = (k, v)
        if past is not None:
            k = torch.cat([past[0].expand(b, -1, -1, -1), k], dim=2)
            v = torch.cat([past[1].expand(b, -1, -1, -1), v], dim=2)
        scores = q @ k.transpose(-1, -2) / (q.shape[-1] ** 0.5) + mask
        context = (torch.softmax(scores, dim=-1) @ v).transpose(1, 2).reshape(b, T, d)
        x = x + self.linear(context, f"h.{i}.attn.c_proj")
        hidden = torch.nn.functional.gelu(self.linear(self.ln(x, f"h.{i}.ln_2"), f"h.{i}.mlp.c_fc"), approximate="tanh")
        return x + self.linear(hidden, f"h.{i}.mlp.c_proj"), own

    def mask(self, lengths, T, P):
        """Additive mask (b, 1, T, P + T): every shared position, then causal within the row's length."""
        j = torch.arange(T)
        allowed = (j[None, :] <= j[:, None])[None] & (j[None, None, :] < torch.tensor(lengths)[:, None, None])
        own = torch.where(allowed, 0.0, -1e9)
        return torch.cat([torch.zeros(len(lengths), T, P), own], dim=2)[:, None]

    def positions(self, start, count):
        return self.w["wpe.weight"][start:start + count]

    def last_hidden_per_row(self, prompt, inputs):
        n, L = prompt.shape[0], max(map(len, inputs))
        lengths = [n + len(ids) for ids in inputs]
        rows = [torch.cat([prompt, self.w["wte.weight"][ids], torch.zeros(L - len(ids), self.d)]) for ids in inputs]
        x = torch.stack(rows) + self.positions(0, n + L)
        mask = self.mask(lengths, n + L, 0)
        for i in range(self.layers):
            x, _ = self.block(i, x, mask)
        return self.ln(x, "ln_f")[torch.arange(len(inputs)), torch.tensor(lengths) - 1]

    def last_hidden_shared_prefix(self, prompt, inputs):
        n, L = prompt.shape[0], max(map(len, inputs))
        lengths = [len(ids) for ids in inputs]
        p = (prompt + self.positions(0, n))[None]
        x = torch.stack([torch.cat([self.w["wte.weight"][ids], torch.zeros(L - len(ids), self.d)]) for ids in inputs])
        x = x + self.positions(n, L)
        prefix_mask, input_mask = self.mask([n], n, 0), self.mask(lengths, L, n)
        for i in range(self.layers):
            p, past = self.block(i, p, prefix_mask)
            x, _ = self.block(i, x, input_mask, past)
        return self.ln(x, "ln_f")[torch.arange(len(inputs)), torch.tensor(lengths) - 1]


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


def tensor_of(entry):
    return torch.tensor(entry["data"], dtype=torch.float32).reshape(entry["shape"])


def run(model, batch, last_hidden, threads):
    torch.set_num_threads(threads)
    spec = dict(batch["prompt"])
    if spec.get("X0"):
        spec["X0"] = tensor_of(spec["X0"])
    params = {name: tensor_of(entry).requires_grad_() for name, entry in spec["params"].items()}
    optimizer = torch.optim.AdamW(params.values(), lr=batch["learningRate"], weight_decay=0.0)
    labels = torch.tensor(batch["labels"])
    label_tokens = torch.tensor(batch["labelTokens"])
    times, first_loss = [], None
    for _ in range(batch["steps"] + 1):
        start = time.perf_counter()
        optimizer.zero_grad()
        hidden = last_hidden(prompt_of(spec, params), batch["inputs"])
        log_probs = torch.log_softmax(hidden @ model.w["wte.weight"].T, dim=-1)
        loss = torch.nn.functional.cross_entropy(log_probs[:, label_tokens], labels)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params.values(), batch["clip"])
        optimizer.step()
        times.append((time.perf_counter() - start) * 1000)
        first_loss = loss.item() if first_loss is None else first_loss
    return {"medianStepMs": statistics.median(times[1:]), "firstLoss": first_loss}


def main():
    with open(sys.argv[1]) as f:
        batch = json.load(f)
    model = FrozenGpt2(batch["model"])
    every_form = {"per-row": model.last_hidden_per_row, "shared-prefix": model.last_hidden_shared_prefix}
    forms = {name: form for name, form in every_form.items() if name in batch.get("forms", every_form)}
    results = [
        {"form": form, "threads": threads, **run(model, batch, last_hidden, threads)}
        for form, last_hidden in forms.items()
        for threads in batch["threads"]
    ]
    blas = next((line.strip() for line in torch.__config__.show().splitlines() if "BLAS" in line), "unknown BLAS")
    print(json.dumps({"torch": torch.__version__, "blas": blas, "results": results}))


if __name__ == "__main__":
    main()
