"""The trainer's logistic regression: the runtime's solver (runtime/fit.py), which the page's Teach
panel runs too, so the trainer and the page fit models with one implementation."""

from ..runtime.fit import LogisticRegression, NotFittedError, class_sample_weights, objective

__all__ = ["LogisticRegression", "NotFittedError", "class_sample_weights", "objective"]
