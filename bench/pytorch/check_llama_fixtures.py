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

from fixture_checks import method_diffs, method_params, method_prompt, report
from prompt_step import attention_mask, label_loss, load_model, read_safetensors

SHARED = os.environ.get("LOPT_SHARED_DIR", os.path.join(os.path.dirname(__file__), "../../../shared"))
FOLDERS = {"llama": "tiny-llama-random", "qwen2": "tiny-qwen2-random"}


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
        params = method_params(tensors, method, spec)
        for form in (model.last_hidden_per_row, model.last_hidden_shared_prefix):
            X = method_prompt(tensors, method, spec, params)
            loss = label_loss(model, form(X, inputs), label_tokens, labels)
            diffs += method_diffs(f"{method} {form.__name__.removeprefix('last_hidden_')}", tensors, method, spec, params, X, loss)
    with torch.no_grad():
        generated, row = [], list(fixture["generation"]["input_ids"])
        for _ in range(fixture["generation"]["steps"]):
            generated.append(all_logits(model, [row], [len(row)], tensors["prompt"])[0, -1].argmax().item())
            row.append(generated[-1])
    ok = generated == fixture["generation"]["generated_ids"]
    print(f"{family}: generation {'matches' if ok else f'differs: {generated}'}")
    return report(family, diffs) and ok


if __name__ == "__main__":
    results = [check(family) for family in (sys.argv[1:] or FOLDERS)]
    sys.exit(0 if all(results) else 1)
