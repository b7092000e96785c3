"""The IRT engine of assess: item models, ability estimation and calibration.

numpy + scipy only; no I/O outside :mod:`assess.irt.io` and the command line
(``python -m assess.irt``); never imports Flask or SQLAlchemy.

Conventions
-----------
* Logistic metric, D = 1. Models ``rasch``, ``2pl``, ``3pl`` (dichotomous), ``grm``
  (Samejima) and ``gpcm`` (Muraki); a bank may mix them and numbers of categories.
* ``responses`` is an integer array of shape (n_persons, n_items) holding categories
  ``0..K_j-1``, with ``-1`` where an item was not administered (float arrays with NaN are
  accepted too).
* θ estimates lie in ``[THETA_MIN, THETA_MAX] = [-6, 6]``.
* Invalid arguments raise ``ValueError`` with a message naming the bad value.

Public API
----------
:mod:`assess.irt.models`
    ``ItemBank`` (frozen): ``item_ids, model, a, b, c, thresholds (J, K-1, NaN-padded),
    n_categories``; ``ItemBank.from_arrays(model, a=, b=, c=, thresholds=, item_ids=)``,
    ``ItemBank.from_records([{item_id, model, a, b, c, thresholds | b1..}])``,
    ``.to_records()``, ``.subset(items)``, ``.index(item_id)``, ``.offsets``.
    ``category_probabilities(items, theta) -> (n, J, K)``,
    ``log_category_probabilities(items, theta) -> (n, J, K)``,
    ``item_information(items, theta) -> (n, J)``, ``test_information(items, theta) -> (n,)``,
    ``expected_score(items, theta, per_item=False) -> (n,) | (n, J)``,
    ``one_hot(responses, items) -> (N, Σ K)``.
:mod:`assess.irt.estimation`
    ``eap(responses, items, *, prior_mean=0, prior_sd=1, n_quad=61)``,
    ``map_estimate(responses, items, *, prior_mean=0, prior_sd=1, max_iter=50, tol=1e-6)``,
    ``mle(responses, items, *, max_iter=50, tol=1e-6)``,
    ``estimate_ability(responses, items, method, *, prior_mean, prior_sd)``, all returning
    ``AbilityEstimates(theta, se, method, n_iter, converged, extreme, n_responses)``.
:mod:`assess.irt.calibration`
    ``calibrate(responses, model="2pl", *, item_ids=None, n_categories=None, anchors=None,
    guess_prior=(5, 17), slope_prior=None, n_quad=41, max_iter=500, tol=1e-4,
    ll_tol=1e-4, min_responses=10, accelerate=True, standard_errors=True, progress=None)
    -> CalibrationResult(items, se, loglik, log_posterior, n_iter, converged, elapsed,
    latent_mean, latent_sd, latent_mean_se, latent_sd_se, n_persons, problems, anchors,
    history, warnings)``; ``marginal_loglik(responses, items, *, latent_mean=0,
    latent_sd=1, n_quad=41)``.
:mod:`assess.irt.simulate`
    ``simulate_items(model, n_items, *, n_categories=4, rng=None, item_ids=None)``,
    ``simulate_responses(items, theta, *, rng=None, administered=None)``.
:mod:`assess.irt.cat`
    ``next_item(bank, administered_idx, responses, *, exclude=None, min_items=0, max_items,
    se_target=None, randomesque=1, exposure_k=None, content=None, prior_mean=0,
    prior_sd=1, rng=None) -> CatStep(item, item_id, theta, se, stop_reason,
    n_administered, information)``; ``select_item``, ``ContentTargets(labels, targets)``,
    ``simulate_cat(bank, true_theta, ...) -> CatSimulation``,
    ``sympson_hetter(bank, target, ...) -> ExposureControl(k, ...)``.
:mod:`assess.irt.fit`
    ``person_fit_lz_star(responses, bank, theta, *, estimator="mle") -> (N,)``,
    ``item_fit_msq(responses, bank, theta) -> ItemFitMsq(infit, outfit, n, infit_zstd,
    outfit_zstd)``,
    ``item_fit_sx2(responses, bank, *, latent_mean, latent_sd, min_booklet=100) ->
    ItemFitSX2(statistic, df, p_value, n_groups)`` (missing responses: by booklet),
    ``summed_score_distribution(probs)`` (Lord-Wingersky).
:mod:`assess.irt.linking`
    ``link(base, new, *, method={"mean-mean","mean-sigma","haebara","stocking-lord"},
    symmetric=False) -> LinkingResult(A, B, method, items, anchors, loss, converged)``,
    ``transform_bank``.
:mod:`assess.irt.assembly`
    ``assemble_form(bank, theta, target, *, min_items, max_items, labels, content,
    exclude) -> AssembledForm`` (scipy.optimize.milp), ``information_curve``,
    ``marginal_reliability``, ``cat_marginal_reliability``.
:mod:`assess.irt.io`
    CSV formats of the command line (``read_responses``, ``read_params``, writers); errors
    are ``InputError(ValueError)`` naming file, row and column.

How it works (DESIGN.md, "The engine's core idea"): responses become a one-hot matrix Y and
the models log category probabilities on a θ grid; ``L = Y @ log P`` is every person's
log-likelihood at every grid point, EAP is a softmax of ``L + log prior`` and the E-step of
calibration is ``Yᵀ @ posterior``. M-steps are vectorised Fisher scoring across items.

Examples
--------
>>> import numpy as np
>>> from assess.irt import simulate_items, simulate_responses, calibrate, eap
>>> rng = np.random.default_rng(0)
>>> bank = simulate_items("2pl", 20, rng=rng)
>>> x = simulate_responses(bank, rng.standard_normal(1000), rng=rng)
>>> fit = calibrate(x, "2pl")
>>> scores = eap(x, fit.items)
>>> scores.theta.shape
(1000,)
"""

from assess.irt._core import THETA_MAX, THETA_MIN
from assess.irt.calibration import (
    CalibrationResult,
    ItemProblem,
    ParameterErrors,
    calibrate,
    marginal_loglik,
)
from assess.irt.estimation import AbilityEstimates, eap, estimate_ability, map_estimate, mle
from assess.irt.models import (
    MODELS,
    ItemBank,
    category_probabilities,
    expected_score,
    item_information,
    log_category_probabilities,
    one_hot,
    test_information,
)
from assess.irt.simulate import simulate_items, simulate_responses
from assess.irt.cat import (
    CatSimulation,
    CatStep,
    ContentTargets,
    ExposureControl,
    next_item,
    select_item,
    simulate_cat,
    sympson_hetter,
)
from assess.irt.fit import (
    ItemFitMsq,
    ItemFitSX2,
    item_fit_msq,
    item_fit_sx2,
    person_fit_lz_star,
    summed_score_distribution,
)
from assess.irt.linking import LinkingResult, link, transform_bank
from assess.irt.assembly import (
    AssembledForm,
    assemble_form,
    cat_marginal_reliability,
    information_curve,
    marginal_reliability,
)

__all__ = [
    "THETA_MIN",
    "THETA_MAX",
    "MODELS",
    "ItemBank",
    "category_probabilities",
    "log_category_probabilities",
    "item_information",
    "test_information",
    "expected_score",
    "one_hot",
    "AbilityEstimates",
    "eap",
    "map_estimate",
    "mle",
    "estimate_ability",
    "CalibrationResult",
    "ItemProblem",
    "ParameterErrors",
    "calibrate",
    "marginal_loglik",
    "simulate_items",
    "simulate_responses",
    "CatStep",
    "CatSimulation",
    "ContentTargets",
    "ExposureControl",
    "next_item",
    "select_item",
    "simulate_cat",
    "sympson_hetter",
    "person_fit_lz_star",
    "ItemFitMsq",
    "ItemFitSX2",
    "item_fit_msq",
    "item_fit_sx2",
    "summed_score_distribution",
    "LinkingResult",
    "link",
    "transform_bank",
    "AssembledForm",
    "assemble_form",
    "information_curve",
    "marginal_reliability",
    "cat_marginal_reliability",
]
