"""Checks prompt_step.py's T5 forward against the reference fixtures (the `t5.*` section of
../shared/fixtures/README.md) on models/tiny-t5-random: the relative-position bucket table, the
encoder output and the decoder logits with and without a prompt, the seq2seq loss of `prompt`,
each method's prompt, loss and gradients, greedy generation, and (where the sentencepiece module
is installed) the tokenizer ids. Prints the largest differences; exits 1 when one is past its
tolerance or an exact check differs.

    /usr/bin/python3 bench/pytorch/check_t5_fixtures.py

The shared folder is $LOPT_SHARED_DIR, or ../shared beside the checkout.
"""
import json
import os
import sys

import torch

from fixture_checks import method_diffs, method_params, method_prompt, report
from prompt_step import load_model, read_safetensors, relative_position_bucket

SHARED = os.environ.get("LOPT_SHARED_DIR", os.path.join(os.path.dirname(__file__), "../../../shared"))
MODEL = f"{SHARED}/models/tiny-t5-random"


def forward(model, rows, lengths, decoder_input_ids, prompt=None):
    """(encoder output (b, n + L, d), logits (b, T, V)) for right-padded rows with an optional prompt (n, d) in front."""
    x, enc_lengths = model.encoder_input(prompt, [row[:length] for row, length in zip(rows, lengths)])
    encoded = model.encode(x, enc_lengths)
    return encoded, model.decode(torch.tensor(decoder_input_ids), encoded, enc_lengths) @ model.head.T


def seq2seq_loss(logits, labels):
    """HF's: cross-entropy over every label token that is not −100, mean over those tokens."""
    return torch.nn.functional.cross_entropy(logits.reshape(-1, logits.shape[-1]), labels.reshape(-1), ignore_index=-100)


def check_tokenizer(fixture):
    """Exact ids from spiece.model, or None where the sentencepiece module is missing."""
    try:
        import sentencepiece
    except ImportError:
        return None
    sp = sentencepiece.SentencePieceProcessor(model_file=f"{MODEL}/spiece.model")
    return all(sp.encode(case["text"]) == case["ids"] for case in fixture["tokenizer"])


def main():
    with open(f"{SHARED}/fixtures/t5.json") as f:
        fixture = json.load(f)
    tensors = read_safetensors(f"{SHARED}/fixtures/t5.safetensors", "")
    model = load_model(MODEL)
    ids, lengths, n = fixture["input_ids"], fixture["lengths"], fixture["n"]
    labels, decoder_ids = torch.tensor(fixture["labels"]), fixture["decoder_input_ids"]
    diffs = []  # (what, kind, difference)
    exact = {}  # what -> matches

    table = fixture["relative_position_buckets"]
    relative = torch.tensor(table["relative_position"])
    for key, bidirectional in (("encoder_bidirectional", True), ("decoder_causal", False)):
        buckets = relative_position_bucket(relative, bidirectional, table["num_buckets"], table["max_distance"]).tolist()
        exact[f"buckets {key}"] = buckets == table[key]

    with torch.no_grad():
        encoded, logits = forward(model, ids, lengths, decoder_ids, tensors["prompt"])
        diffs.append(("encoder_hidden", "logits", max((encoded[i, :n + length] - tensors["encoder_hidden"][i, :n + length]).abs().max().item() for i, length in enumerate(lengths))))
        diffs.append(("logits", "logits", (logits - tensors["logits"]).abs().max().item()))
        diffs.append(("prompt_loss", "loss", abs(seq2seq_loss(logits, labels).item() - fixture["prompt_loss"])))
        # The benchmark's path (prompt_step.py's loss): a label scored as its whole decoder output, </s> included.
        rows = [row[:length] for row, length in zip(ids, lengths)]
        target = [t for t in fixture["labels"][0] if t != -100]
        scores = model.label_scores(tensors["prompt"], rows, [target])
        log_probs = torch.log_softmax(tensors["logits"][0, : len(target)], dim=-1)
        expected = log_probs[torch.arange(len(target)), torch.tensor(target)].sum()
        diffs.append(("label_scores (row 0, its own target)", "logits", (scores[0, 0] - expected).abs().item()))
        _, plain = forward(model, ids, lengths, decoder_ids)
        diffs.append(("logits_plain", "logits", (plain - tensors["logits_plain"]).abs().max().item()))

    for method, spec in fixture["methods"].items():
        params = method_params(tensors, method, spec)
        X = method_prompt(tensors, method, spec, params)
        loss = seq2seq_loss(forward(model, ids, lengths, decoder_ids, X)[1], labels)
        diffs += method_diffs(method, tensors, method, spec, params, X, loss)

    generation = fixture["generation"]
    with torch.no_grad():
        x, enc_lengths = model.encoder_input(tensors[generation["prompt"]], [generation["input_ids"]])
        encoded = model.encode(x, enc_lengths)
        row = [generation["decoder_start_token_id"]]
        for _ in range(generation["steps"]):
            row.append((model.decode(torch.tensor([row]), encoded, enc_lengths)[0, -1] @ model.head.T).argmax().item())
    exact["generation"] = row[1:] == generation["generated_ids"]
    tokenizer = check_tokenizer(fixture)
    if tokenizer is not None:
        exact["tokenizer ids (spiece.model)"] = tokenizer

    for what, ok in exact.items():
        print(f"t5: {what} {'matches' if ok else 'DIFFERS'}" + ("" if ok or what != "generation" else f": {row[1:]}"))
    if tokenizer is None:
        print("t5: tokenizer ids not checked (no sentencepiece module)")
    return report("t5", diffs) and all(exact.values())


if __name__ == "__main__":
    sys.exit(0 if main() else 1)
