"""Checks prompt_step.py's Llama-family forward against the reference fixtures (see
../shared/fixtures/README.md): logits without and with a prompt, each method's loss and
gradients in both forms of the step, and greedy generation. Prints the largest differences;
exits 1 when one is past its tolerance.

    python3 bench/pytorch/check_llama_fixtures.py [FAMILY …]   (default: llama qwen2)

The shared folder is $LOPT_SHARED_DIR, or ../shared beside the checkout.
"""
import json
import os
import sys

import torch

from prompt_step import SIGMA, attention_mask, label_loss, load_model, read_safetensors

SHARED = os.environ.get("LOPT_SHARED_DIR", os.path.join(os.path.dirname(__file__), "../../../shared"))
FOLDERS = {"llama": "tiny-llama-random", "qwen2": "tiny-qwen2-random"}
# The fixtures' contracts: absolute on logits, relative to the largest reference value on gradients, absolute on losses.
TOLERANCE = {"logits": 1e-4, "grad": 1e-4, "loss": 1e-5}


def all_logits(model, rows, lengths, prompt=None):
    """Logits (b, T, V) at every position of right-padded rows (b, L) with an optional prompt (n, d) in front."""
    x = model.embed(torch.tensor(rows))
    if prompt is not None:
        x = torch.cat([prompt.expand(len(rows), -1, -1), x], dim=1)
        lengths = [prompt.shape[0] + length for length in lengths]
    hidden, _ = model.layers(x, 0, attention_mask(lengths, x.shape[1], 0))
    return model.final_norm(hidden) @ model.head.T


def real_positions_diff(logits, reference, lengths):
    return max((logits[i, :length] - reference[i, :length]).abs().max().item() for i, length in enumerate(lengths))


def check(family):
    with open(f"{SHARED}/fixtures/{family}.json") as f:
        fixture = json.load(f)
    tensors = read_safetensors(f"{SHARED}/fixtures/{family}.safetensors", "")
    model = load_model(f"{SHARED}/models/{FOLDERS[family]}")
    ids, lengths, n = fixture["input_ids"], fixture["lengths"], fixture["n"]
    inputs = [row[:length] for row, length in zip(ids, lengths)]
    labels, label_tokens = torch.tensor(fixture["labels"]), torch.tensor(fixture["label_ids"])
    diffs = []  # (what, kind, difference)
    with torch.no_grad():
        diffs.append(("logits_plain", "logits", real_positions_diff(all_logits(model, ids, lengths), tensors["logits_plain"], lengths)))
        with_prompt = all_logits(model, ids, lengths, tensors["prompt"])
        diffs.append(("logits", "logits", real_positions_diff(with_prompt, tensors["logits"], [n + length for length in lengths])))
    for method, spec in fixture["methods"].items():
        params = {name: tensors[f"{method}.{name}"].clone().requires_grad_() for name in spec["params"]}
        if method == "pt":
            prompt = lambda: params["X"]
        elif method == "lopt1":
            prompt = lambda: params["U"] @ params["V"]
        else:
            prompt = lambda: SIGMA[spec["act"]](tensors["lopt2.X0"] @ params["U"]) @ params["V"]
        for form in (model.last_hidden_per_row, model.last_hidden_shared_prefix):
            what = f"{method} {form.__name__.removeprefix('last_hidden_')}"
            X = prompt()
            loss = label_loss(model, form(X, inputs), label_tokens, labels)
            grads = torch.autograd.grad(loss, list(params.values()))
            diffs.append((f"{what} X", "logits", (X - tensors[f"{method}.X"]).abs().max().item()))
            diffs.append((f"{what} loss", "loss", abs(loss.item() - spec["loss"])))
            for name, grad in zip(params, grads):
                reference = tensors[f"{method}.grad.{name}"]
                diffs.append((f"{what} grad.{name}", "grad", ((grad - reference).abs().max() / reference.abs().max()).item()))
    with torch.no_grad():
        generated, row = [], list(fixture["generation"]["input_ids"])
        for _ in range(fixture["generation"]["steps"]):
            generated.append(all_logits(model, [row], [len(row)], tensors["prompt"])[0, -1].argmax().item())
            row.append(generated[-1])
    ok = generated == fixture["generation"]["generated_ids"]
    print(f"{family}: generation {'matches' if ok else f'differs: {generated}'}")
    for kind in TOLERANCE:
        worst = max((d for d in diffs if d[1] == kind), key=lambda d: d[2])
        print(f"{family}: max {kind} diff {worst[2]:.2e} ({worst[0]}; tolerance {TOLERANCE[kind]:.0e})")
    failed = [d for d in diffs if d[2] > TOLERANCE[d[1]]]
    for what, kind, diff in failed:
        print(f"{family}: FAIL {what}: {diff:.2e} > {TOLERANCE[kind]:.0e}")
    return ok and not failed


if __name__ == "__main__":
    results = [check(family) for family in (sys.argv[1:] or FOLDERS)]
    sys.exit(0 if all(results) else 1)
