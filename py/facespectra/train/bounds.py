"""The promise and its confidence bound: at most 1% confident errors per class, shown at 95% confidence.

A rate seen as 0 errors in 225 images is no proof of 1%: the one-sided 95% Clopper-Pearson upper bound
of 0 in n is 1 - 0.05^(1/n), 1.3% at n = 225, and only n >= 299 can bring it to 1%. So a condition's
promise is kept when the bound is within PROMISE or, where no count in so few images could show that,
when it holds no error at all; and every table states n and the bound beside the rate.
"""

from scipy.stats import beta

PROMISE = 0.01
CONFIDENCE = 0.95


def upper_bound(errors, n, confidence=CONFIDENCE):
    """One-sided Clopper-Pearson upper confidence bound of an error rate seen as `errors` in `n`."""
    if n == 0 or errors >= n:
        return 1.0
    return float(beta.ppf(confidence, errors + 1, n - errors))


def keeps_promise(errors, n):
    """Whether `errors` confident errors in `n` images keep the promise (see the module)."""
    return upper_bound(errors, n) <= max(PROMISE, upper_bound(0, n))
