"""What check_llama_fixtures.py and check_t5_fixtures.py share: the fixtures' tolerances, each
method's prompt and the differences of its loss and gradients from the reference, and the report."""
import torch

from prompt_step import prompt_of

# The fixtures' contracts: absolute on hidden states and logits, relative to the largest reference value on gradients, absolute on losses.
TOLERANCE = {"logits": 1e-4, "grad": 1e-4, "loss": 1e-5}


def method_params(tensors, method, spec):
    """The method's reference parameters, as leaves to differentiate."""
    return {name: tensors[f"{method}.{name}"].clone().requires_grad_() for name in spec["params"]}


def method_prompt(tensors, method, spec, params):
    """X of the method from its parameters (lopt2 with the fixture's X0 and σ)."""
    return prompt_of({"method": method, "activation": spec.get("act"), "X0": tensors.get("lopt2.X0")}, params)


def method_diffs(what, tensors, method, spec, params, X, loss):
    """(what, kind, difference) of X, the loss and each parameter's gradient from the reference."""
    grads = torch.autograd.grad(loss, list(params.values()))
    diffs = [(f"{what} X", "logits", (X - tensors[f"{method}.X"]).abs().max().item()), (f"{what} loss", "loss", abs(loss.item() - spec["loss"]))]
    for name, grad in zip(params, grads):
        reference = tensors[f"{method}.grad.{name}"]
        diffs.append((f"{what} grad.{name}", "grad", ((grad - reference).abs().max() / reference.abs().max()).item()))
    return diffs


def report(name, diffs):
    """Prints the largest difference of each kind and every one past its tolerance; True when none is."""
    for kind in TOLERANCE:
        worst = max((d for d in diffs if d[1] == kind), key=lambda d: d[2])
        print(f"{name}: max {kind} diff {worst[2]:.2e} ({worst[0]}; tolerance {TOLERANCE[kind]:.0e})")
    failed = [d for d in diffs if d[2] > TOLERANCE[d[1]]]
    for what, kind, diff in failed:
        print(f"{name}: FAIL {what}: {diff:.2e} > {TOLERANCE[kind]:.0e}")
    return not failed
