"""Logistic regression fitted by gradient descent in numpy: the one solver of the trainer and the page.

numpy + standard library only, so the page's Teach panel runs this very module in Pyodide and the
trainer imports it (train/logistic.py). Written here rather than taken from scikit-learn so neither
side has a heavy dependency and the objective is explicit (the tests check the optimum against
scipy's L-BFGS on `objective`). Features are standardised inside `fit`; the weights file stores
that scaler, so the model that runs is the same function.
"""

import numpy as np

from .model import sigmoid


class NotFittedError(RuntimeError):
    """predict/decision_function called before fit."""


def class_sample_weights(y, class_weight):
    """Per-sample weights, normalised to mean 1. "balanced": both classes weigh the same in total."""
    y = np.asarray(y)
    if class_weight is None:
        return np.ones(len(y))
    if class_weight == "balanced":
        n, n1 = len(y), int(y.sum())
        counts = {0: n - n1, 1: n1}
        weights = {c: n / (2.0 * counts[c]) if counts[c] else 0.0 for c in (0, 1)}
    else:
        weights = {0: float(class_weight[0]), 1: float(class_weight[1])}
    sw = np.where(y == 1, weights[1], weights[0])
    return sw / sw.mean()


def objective(theta, Z, y, sw, l2):
    """Weighted mean log-loss + l2/2·|w|² (intercept theta[-1] unpenalised) and its gradient."""
    w, b = theta[:-1], theta[-1]
    z = Z @ w + b
    # log(1+e^z) - y·z, written stably
    loss_i = np.logaddexp(0.0, z) - y * z
    total = sw.sum()
    loss = float(sw @ loss_i) / total + 0.5 * l2 * float(w @ w)
    r = sw * (sigmoid(z) - y) / total
    grad = np.empty_like(theta)
    grad[:-1] = Z.T @ r + l2 * w
    grad[-1] = r.sum()
    return loss, grad


class LogisticRegression:
    """Binary logistic regression, scikit-learn style (fit / predict_proba / decision_function).

    `lr` is a multiple of 1/L, L being the gradient's Lipschitz bound on this data, so the same
    value is safe for any feature set (lr ≤ 1 never diverges). Nesterov momentum with adaptive
    restart; stops when the largest gradient component falls below `tol` or after `max_iter`.
    """

    def __init__(self, l2=1e-3, lr=1.0, max_iter=20000, tol=1e-7, class_weight="balanced", momentum=True):
        self.l2 = l2
        self.lr = lr
        self.max_iter = max_iter
        self.tol = tol
        self.class_weight = class_weight
        self.momentum = momentum

    def get_params(self):
        return {k: getattr(self, k) for k in ("l2", "lr", "max_iter", "tol", "class_weight", "momentum")}

    def set_params(self, **params):
        for k, v in params.items():
            if k not in self.get_params():
                raise ValueError(f"unknown parameter {k!r}")
            setattr(self, k, v)
        return self

    def fit(self, X, y, init=None):
        """init: optional (coef, intercept, mean, scale) of an earlier model to start from (resume)."""
        X = np.asarray(X, dtype=np.float64)
        y = np.asarray(y, dtype=np.float64)
        if X.ndim != 2 or len(X) != len(y):
            raise ValueError("X must be 2-D with one row per label")
        if not set(np.unique(y)) <= {0.0, 1.0}:
            raise ValueError("labels must be 0 (real) or 1 (fake)")
        self.mean_ = X.mean(axis=0)
        scale = X.std(axis=0)
        self.scale_ = np.where(scale > 1e-12, scale, 1.0)
        Z = (X - self.mean_) / self.scale_
        sw = class_sample_weights(y, self.class_weight)
        theta = np.zeros(X.shape[1] + 1) if init is None else self._theta_from(init)
        # Lipschitz bound of the gradient: 1/4·λmax(Zᵀ S Z / Σs) (+1 for the intercept column) + l2
        Zs = Z * np.sqrt(sw / sw.sum())[:, None]
        lam = np.linalg.eigvalsh(Zs.T @ Zs)[-1] if Z.shape[1] else 0.0
        step = self.lr / (0.25 * (lam + 1.0) + self.l2)
        self.loss_history_ = []
        prev, t = theta.copy(), 1.0
        look = theta.copy()
        self.converged_ = False
        for it in range(self.max_iter):
            loss, grad = objective(look, Z, y, sw, self.l2)
            new = look - step * grad
            self.loss_history_.append(loss)
            if np.max(np.abs(grad)) < self.tol:
                theta = look
                self.converged_ = True
                break
            if self.momentum:
                # restart momentum when it points uphill (O'Donoghue & Candès)
                if grad @ (new - prev) > 0:
                    t = 1.0
                t_next = (1.0 + np.sqrt(1.0 + 4.0 * t * t)) / 2.0
                look = new + ((t - 1.0) / t_next) * (new - prev)
                t = t_next
            else:
                look = new
            prev = new
            theta = new
        self.n_iter_ = it + 1
        self.coef_ = theta[:-1].copy()
        self.intercept_ = float(theta[-1])
        return self

    def _theta_from(self, init):
        """Re-express an earlier model (in its own scaler) in this fit's standardised space."""
        coef, intercept, mean, scale = (np.asarray(v, dtype=np.float64) for v in init)
        if coef.shape != self.mean_.shape:
            raise ValueError(f"initial model has {coef.size} coefficients, the data has {self.mean_.size} features")
        raw = coef / scale
        return np.append(raw * self.scale_, float(intercept) + raw @ (self.mean_ - mean))

    def _check_fitted(self):
        if not hasattr(self, "coef_"):
            raise NotFittedError("this LogisticRegression is not fitted yet: call fit(X, y) first")

    def decision_function(self, X):
        self._check_fitted()
        X = np.atleast_2d(np.asarray(X, dtype=np.float64))
        return (X - self.mean_) / self.scale_ @ self.coef_ + self.intercept_

    def predict_proba(self, X):
        p = sigmoid(self.decision_function(X))
        return np.column_stack([1.0 - p, p])

    def predict(self, X):
        return (self.decision_function(X) >= 0).astype(int)


def class_reference(X, y):
    """Per-class mean and spread of every feature: what the page's explanation draws a result against."""
    X, y = np.asarray(X, dtype=np.float64), np.asarray(y)
    return {"mean_real": X[y == 0].mean(0).tolist(), "mean_fake": X[y == 1].mean(0).tolist(),
            "std_real": X[y == 0].std(0).tolist(), "std_fake": X[y == 1].std(0).tolist()}
