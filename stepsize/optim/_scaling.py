"""The learning-rate / batch-size scaling rule (Granziol, Zohren & Roberts, JMLR 2022).

"Learning Rates as a Function of Batch Size: A Random Matrix Theory Approach to Neural Network
Training" (arXiv 2006.09092): the extremal eigenvalues of a mini-batch Hessian exceed those of
the full (empirical) Hessian, by a spectral broadening that shrinks as the batch grows.  The
largest stable learning rate therefore grows with the batch size: linearly for SGD, as the
square root for adaptive methods such as Adam, until it meets the full-batch curvature limit
``2 / lambda_max`` (explicit Euler's stability bound; :mod:`stepsize.optim._sharpness`).
"""

import math

from stepsize.optim._validate import check_choice, check_positive

RULES = {"linear": 1.0, "sqrt": 0.5}
OPTIMIZER_RULE = {
    "sgd": "linear",
    "sgdp": "linear",
    "adam": "sqrt",
    "adamp": "sqrt",
    "diffgrad": "sqrt",
    "exadam": "sqrt",
    "adagrad": "sqrt",
    "adagradnorm": "sqrt",
}


def scale_lr(lr, batch_size, new_batch_size, *, rule="linear", lambda_max=None):
    """The learning rate for ``new_batch_size`` given a good ``lr`` at ``batch_size``.

    ``rule``: "linear" (SGD: ``lr * B'/B``), "sqrt" (adaptive: ``lr * sqrt(B'/B)``), or an
    optimizer name from ``OPTIMIZER_RULE``.  With ``lambda_max`` (the full-batch sharpness) the
    result is capped at ``2 / lambda_max``.
    """
    lr = check_positive(lr, "lr")
    b0 = check_positive(batch_size, "batch_size")
    b1 = check_positive(new_batch_size, "new_batch_size")
    rule = OPTIMIZER_RULE.get(str(rule).lower(), rule)
    check_choice(rule, "rule", tuple(RULES) + tuple(OPTIMIZER_RULE))
    out = lr * (b1 / b0) ** RULES[rule]
    if lambda_max is not None:
        out = min(out, 2.0 / check_positive(lambda_max, "lambda_max"))
    return out


def scaling_exponent(batch_sizes, lrs):
    """Least-squares slope of ``log lr`` against ``log batch_size`` (1: linear, 1/2: sqrt)."""
    if len(batch_sizes) != len(lrs) or len(lrs) < 2:
        raise ValueError("batch_sizes and lrs must have the same length >= 2")
    xs = [math.log(check_positive(b, "batch_sizes")) for b in batch_sizes]
    ys = [math.log(check_positive(v, "lrs")) for v in lrs]
    mx, my = sum(xs) / len(xs), sum(ys) / len(ys)
    sxx = sum((x - mx) ** 2 for x in xs)
    if sxx == 0:
        raise ValueError("batch_sizes must not all be equal")
    return sum((x - mx) * (y - my) for x, y in zip(xs, ys)) / sxx
