"""The hand-written gradient descent must find the same optimum as scipy's L-BFGS."""

import numpy as np
import pytest
from scipy.optimize import minimize

from facespectra.train.logistic import LogisticRegression, NotFittedError, class_sample_weights, objective


def _data(seed=0, n=300, d=8):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d)) * rng.uniform(0.5, 5, d) + rng.normal(size=d)
    X[:, 1] = X[:, 0] * 0.9 + rng.normal(size=n) * 0.3  # correlated columns make GD work for it
    y = (X @ rng.normal(size=d) + rng.normal(size=n) > 0.5).astype(float)
    y[: n // 3] = 0  # imbalance, so the class weights matter
    return X, y


@pytest.mark.parametrize("l2", [1e-3, 1e-1])
def test_gradient_descent_matches_lbfgs(l2):
    X, y = _data()
    clf = LogisticRegression(l2=l2, tol=1e-9, max_iter=100000).fit(X, y)
    assert clf.converged_
    Z = (X - clf.mean_) / clf.scale_
    sw = class_sample_weights(y, "balanced")
    ref = minimize(objective, np.zeros(X.shape[1] + 1), args=(Z, y, sw, l2), jac=True, method="L-BFGS-B",
                   options={"gtol": 1e-12, "ftol": 1e-15, "maxiter": 10000})
    np.testing.assert_allclose(clf.coef_, ref.x[:-1], atol=1e-4)
    assert abs(clf.intercept_ - ref.x[-1]) < 1e-4
    assert clf.loss_history_[-1] <= clf.loss_history_[0]


def test_unfitted_model_says_so():
    with pytest.raises(NotFittedError, match="not fitted"):
        LogisticRegression().predict_proba(np.zeros((1, 3)))


def test_resume_from_earlier_weights_starts_at_their_optimum():
    X, y = _data(1)
    first = LogisticRegression(l2=1e-2, tol=1e-8).fit(X[:200], y[:200])
    resumed = LogisticRegression(l2=1e-2, tol=1e-8).fit(X, y, init=(first.coef_, first.intercept_, first.mean_, first.scale_))
    fresh = LogisticRegression(l2=1e-2, tol=1e-8).fit(X, y)
    np.testing.assert_allclose(resumed.coef_, fresh.coef_, atol=1e-5)
    # the starting point, re-expressed in the new scaler, is exactly the earlier model's function
    theta = fresh._theta_from((first.coef_, first.intercept_, first.mean_, first.scale_))
    z = (X - fresh.mean_) / fresh.scale_ @ theta[:-1] + theta[-1]
    np.testing.assert_allclose(z, first.decision_function(X), atol=1e-9)


def test_predict_proba_columns_and_params():
    X, y = _data(2)
    clf = LogisticRegression(l2=1e-2).fit(X, y)
    p = clf.predict_proba(X)
    assert p.shape == (len(X), 2)
    np.testing.assert_allclose(p.sum(axis=1), 1.0)
    assert ((clf.decision_function(X) >= 0) == (p[:, 1] >= 0.5)).all()
    assert clf.get_params()["l2"] == 1e-2
    with pytest.raises(ValueError):
        clf.set_params(alpha=1)
