"""FusedSearchCV: GridSearchCV / RandomizedSearchCV for NNBinClassifier, candidates x folds trained
together as fused stacks, with GridSearchCV's results (`cv_results_`, `best_*`, refit)."""
from __future__ import annotations

import copy
import time
import warnings

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, MetaEstimatorMixin, clone
from sklearn.exceptions import FitFailedWarning
from sklearn.metrics import check_scoring
from sklearn.model_selection import ParameterGrid, ParameterSampler, check_cv
from sklearn.pipeline import Pipeline
from sklearn.utils import _safe_indexing
from sklearn.utils.validation import check_is_fitted, indexable

from nnbin.core.arguments import keyword_only
from nnbin.core.trials import Split, Trial, TrialRecord
from nnbin.search.ranking import rank_scores
from nnbin.sklearn.classifier import NNBinClassifier, classifier_fits, fit_seed


class FusedSearchCV(MetaEstimatorMixin, ClassifierMixin, BaseEstimator):
    """Cross-validated search over NNBinClassifier's parameters, trained as fused stacks.

    Parameters
    ----------
    estimator : NNBinClassifier, or a Pipeline whose last step is one
        Earlier pipeline steps are fitted on each training fold (their parameters may be
        searched too: each of their settings is one more pass over the folds).
    param_grid : dict or list of dicts, optional
        As in GridSearchCV; give this or ``param_distributions``.
    param_distributions : dict or list of dicts, optional
        As in RandomizedSearchCV (lists, or scipy.stats distributions), ``n_iter`` candidates.
    n_iter : int, default=10
    cv : int, splitter or iterable, default=5
        Any scikit-learn cross-validation (an int: StratifiedKFold).
    scoring : str, callable, list or dict, optional
        Any scikit-learn scoring; None uses the classifier's accuracy.
    refit : bool, str or callable, default=True
        Refit the best candidate on all rows (a metric name with multi-metric scoring).
    random_state : int, RandomState or None
        Sampling of ``param_distributions``.
    error_score : "raise" or float, default=nan
        Score of a candidate whose training diverged on a fold.
    verbose : int, default=0
        1 or more: GridSearchCV's "Fitting k folds for each of n candidates" line, and a
        progress bar of fits on stderr, moved by the epochs done as the stacks train.

    Attributes
    ----------
    cv_results_, best_params_, best_score_, best_index_, best_estimator_, n_splits_,
    refit_time_, scorer_, multimetric_, classes_, n_features_in_ : as in GridSearchCV.

    Example
    -------
    >>> from sklearn.datasets import load_breast_cancer
    >>> from sklearn.preprocessing import StandardScaler
    >>> X, y = load_breast_cancer(return_X_y=True)
    >>> search = FusedSearchCV(NNBinClassifier(epochs=5, random_state=0),
    ...                        param_grid={"hidden": [(), (8,)], "learning_rate": [0.001, 0.01]},
    ...                        cv=3, scoring="roc_auc")
    >>> search.fit(StandardScaler().fit_transform(X), y).cv_results_["rank_test_score"].shape
    (4,)
    """

    @keyword_only
    def __init__(self, estimator, param_grid=None, *, param_distributions=None, n_iter=10, cv=5,
                 scoring=None, refit=True, random_state=None, error_score=np.nan, verbose=0):
        self.estimator = estimator
        self.param_grid = param_grid
        self.param_distributions = param_distributions
        self.n_iter = n_iter
        self.cv = cv
        self.scoring = scoring
        self.refit = refit
        self.random_state = random_state
        self.error_score = error_score
        self.verbose = verbose

    # ------------------------------------------------------------ fit
    def fit(self, X, y, groups=None, **fit_params):
        """Train every candidate on every fold, score the folds, refit the best.

        Returns
        -------
        self
        """
        if fit_params:
            raise ValueError(f"FusedSearchCV does not pass fit parameters ({', '.join(fit_params)}) to the "
                             "fused engine; use GridSearchCV(NNBinClassifier) for sample_weight")
        X, y = indexable(X, y)
        y = np.asarray(y)
        _final_step(self.estimator)  # refuses any other estimator before work starts
        scorers = self._scorers()
        refit_metric = self._refit_metric(scorers)
        splits = list(check_cv(self.cv, y, classifier=True).split(X, y, groups))
        classes = np.unique(y)
        if len(classes) != 2:
            raise ValueError(f"Only binary classification is supported: y holds {len(classes)} classes")
        candidates, (scores, fit_times, score_times) = self._search(X, y, splits, scorers, refit_metric)
        self.multimetric_ = not _single(self.scoring)
        self.scorer_ = scorers if self.multimetric_ else scorers["score"]
        self.n_splits_ = len(splits)
        self.cv_results_ = _results(candidates, scores, fit_times, score_times)
        if self.refit is not False or not self.multimetric_:  # as GridSearchCV: one metric needs no refit
            self.best_index_ = (int(self.refit(self.cv_results_)) if callable(self.refit)
                                else int(self.cv_results_[f"rank_test_{refit_metric}"].argmin()))
            self.best_params_ = candidates[self.best_index_]
            if not callable(self.refit):
                self.best_score_ = float(self.cv_results_[f"mean_test_{refit_metric}"][self.best_index_])
        if self.refit is not False:
            start = time.perf_counter()
            self.best_estimator_ = clone(self.estimator).set_params(**self.best_params_).fit(X, y)
            self.refit_time_ = time.perf_counter() - start
            if hasattr(self.best_estimator_, "n_features_in_"):
                self.n_features_in_ = self.best_estimator_.n_features_in_
        self.classes_ = classes
        return self

    def _search(self, X, y, splits, scorers, refit_metric) -> tuple[list[dict], tuple]:
        """(candidates, their `_cross_validate` scores and times): the grid or sample, all at once."""
        candidates = self._candidates()
        if self.verbose:
            print(f"Fitting {len(splits)} folds for each of {len(candidates)} candidates, totalling "
                  f"{len(splits) * len(candidates)} fits")
        return candidates, self._cross_validate(X, y, splits, candidates, scorers)

    def _cross_validate(self, X, y, splits, candidates, scorers) -> tuple[dict, np.ndarray, np.ndarray]:
        """Every candidate on every split through the search protocol (one `CrossValidation`
        strategy, its `evaluate` training fused stacks): ({scorer name: (candidates, splits)
        scores}, fit seconds, score seconds)."""
        from nnbin.engines import fused
        from nnbin.progress import FitBar
        from nnbin.search.protocol import CrossValidation

        classes = np.unique(y)
        y01 = (y == classes[1]).astype(np.float32)
        final_name, final = _final_step(self.estimator)
        groups = _by_earlier_steps(candidates, final_name)
        estimators = {i: _configured(final, candidates[i], final_name) for _, members in groups for i in members}
        rows = _fold_rows(splits, stacked=_earlier_steps(self.estimator) is not None)
        trials = []
        for _, members in groups:
            for i in members:
                # GridSearchCV fits a fresh clone per fold: a RandomState gives every fold the same draw
                seed = fit_seed(copy.deepcopy(estimators[i].random_state))
                trials += [Trial("candidate", {"candidate": i}, estimators[i].hyper(),
                                 Split(0, k, train, validation), seed, f"{i}/{k}")
                           for k, (train, validation) in enumerate(rows)]
        plain = classifier_fits(estimators)
        with FitBar(len(trials), self.verbose > 0, desc="FusedSearchCV") as bar:
            def evaluate(batch: list[Trial]) -> list[TrialRecord]:  # per setting of the earlier steps
                records = {}
                for earlier, members in groups:
                    mine = [t for t in batch if t.point["candidate"] in members]
                    if not mine:
                        continue
                    folds = self._prepare_folds(X, y, y01, splits, earlier, final)
                    bar.expect(t.id for t in mine)
                    for result in fused.train_trials(mine, folds, progress=bar.listener, plain=plain):
                        bar.finished([result.trial.id])
                        records[result.trial.id] = self._record(result, X, y, classes, splits, scorers, candidates)
                return [records[t.id] for t in batch]

            outcome = CrossValidation(trials).run(evaluate)
        scores = {name: np.full((len(candidates), len(splits)), np.nan) for name in scorers}
        fit_times = np.zeros((len(candidates), len(splits)))
        score_times = np.zeros((len(candidates), len(splits)))
        for record in outcome.records:
            i, k = record.row["candidate"], record.row["fold"]
            fit_times[i, k], score_times[i, k] = record.row["fit_seconds"], record.row["score_seconds"]
            for name in scorers:
                scores[name][i, k] = record.row[f"test_{name}"]
        return scores, fit_times, score_times

    def _record(self, result, X, y, classes, splits, scorers, candidates) -> TrialRecord:
        """A trained trial scored by every scorer on its validation rows."""
        i, k = result.trial.point["candidate"], result.trial.split.fold
        start = time.perf_counter()
        validation = splits[k][1]
        X_val, y_val = _safe_indexing(X, validation), y[validation]
        predictions = _Predictions(classes, result.y_prob, result.logits)
        row = {"trial_id": result.trial.id, "candidate": i, "fold": k, "fit_seconds": result.fit_seconds}
        row.update({f"test_{name}": self._score(scorer, predictions, X_val, y_val, candidates[i])
                    for name, scorer in scorers.items()})
        row["score_seconds"] = time.perf_counter() - start
        return TrialRecord(row, [], np.asarray(result.y_prob, np.float32))

    def _candidates(self) -> list[dict]:
        if (self.param_grid is None) == (self.param_distributions is None):
            raise ValueError("give FusedSearchCV either param_grid (every combination) or "
                             "param_distributions with n_iter (a random sample)")
        if self.param_grid is not None:
            return list(ParameterGrid(self.param_grid))
        return list(ParameterSampler(self.param_distributions, self.n_iter, random_state=self.random_state))

    def _scorers(self) -> dict:
        """{name: scorer}; a single metric is named 'score', as GridSearchCV names it."""
        if _single(self.scoring):
            return {"score": check_scoring(self.estimator, scoring=self.scoring)}
        if isinstance(self.scoring, dict):
            return {name: check_scoring(self.estimator, scoring=s) for name, s in self.scoring.items()}
        return {name: check_scoring(self.estimator, scoring=name) for name in self.scoring}

    def _refit_metric(self, scorers: dict) -> str:
        if len(scorers) == 1 or self.refit is False or callable(self.refit):
            return next(iter(scorers))
        if self.refit not in scorers:
            raise ValueError(f"with several metrics, refit must name one of them ({', '.join(scorers)}), "
                             f"a callable or False; got {self.refit!r}")
        return self.refit

    def _prepare_folds(self, X, y, y01, splits, earlier_params: dict, final: NNBinClassifier):
        """ArrayFolds of the final step's input (rows as `_fold_rows` gives them). Without earlier
        steps, one array shared by every fold; with them, each fold's output of the steps fitted
        on its training rows, the folds stacked in one array."""
        from nnbin.engines.folds import ArrayFolds

        earlier = _earlier_steps(self.estimator)
        if earlier is None:
            return ArrayFolds(_dense(X), y01, final.validation_fraction)
        blocks, labels = [], []
        for train, validation in splits:
            steps = clone(earlier).set_params(**earlier_params)
            X_train = steps.fit_transform(_safe_indexing(X, train), y[train])
            X_val = steps.transform(_safe_indexing(X, validation))
            if blocks and X_train.shape[1] != blocks[0].shape[1]:
                raise ValueError(f"the pipeline's earlier steps give {blocks[0].shape[1]} features on one fold "
                                 f"and {X_train.shape[1]} on another; fix the columns they output (e.g. "
                                 "OneHotEncoder(categories=...) or handle_unknown='ignore')")
            blocks += [_dense(X_train), _dense(X_val)]
            labels += [y01[train], y01[validation]]
        return ArrayFolds(np.concatenate(blocks), np.concatenate(labels), final.validation_fraction)

    def _score(self, scorer, predictions, X_val, y_val, params) -> float:
        try:
            return float(scorer(predictions, X_val, y_val))
        except Exception as exc:  # a diverged fit (NaN probabilities), as GridSearchCV's error_score
            if self.error_score == "raise":
                raise
            warnings.warn(f"scoring failed for {params}: {exc}; its score is {self.error_score}",
                          FitFailedWarning)
            return self.error_score

    # ------------------------------------------------------------ the best estimator
    def _best(self):
        check_is_fitted(self, "best_estimator_")
        return self.best_estimator_

    def predict(self, X):
        return self._best().predict(X)

    def predict_proba(self, X):
        return self._best().predict_proba(X)

    def decision_function(self, X):
        return self._best().decision_function(X)

    def score(self, X, y):
        """The refit metric of the best estimator on (X, y)."""
        scorer = self.scorer_[self.refit] if self.multimetric_ else self.scorer_
        return scorer(self._best(), X, y)


class _Predictions(ClassifierMixin, BaseEstimator):
    """A fitted classifier standing in for one trial: its validation probabilities and their
    logits (decision_function, as NNBinClassifier's), for scikit-learn's scorers."""

    def __init__(self, classes, y_prob, logits):
        self.classes_, self.y_prob, self.logits = classes, np.asarray(y_prob, np.float64), np.asarray(logits, np.float64)

    def _check(self, X):
        if len(X) != len(self.y_prob):
            raise ValueError("a stored trial scores only its own validation rows")
        if not np.all(np.isfinite(self.y_prob)):
            raise ValueError("training diverged (the loss became NaN or infinite) on this fold")

    def predict_proba(self, X):
        self._check(X)
        return np.column_stack([1 - self.y_prob, self.y_prob])

    def decision_function(self, X):
        self._check(X)
        return self.logits

    def predict(self, X):
        self._check(X)
        return self.classes_[(self.y_prob >= 0.5).astype(int)]


# ---------------------------------------------------------------- helpers

def _single(scoring) -> bool:
    return scoring is None or isinstance(scoring, str) or callable(scoring)


def _final_step(estimator) -> tuple[str, NNBinClassifier]:
    """(parameter prefix, the NNBinClassifier) of an estimator or pipeline."""
    if isinstance(estimator, NNBinClassifier):
        return "", estimator
    if isinstance(estimator, Pipeline) and isinstance(estimator.steps[-1][1], NNBinClassifier):
        return estimator.steps[-1][0] + "__", estimator.steps[-1][1]
    raise ValueError("FusedSearchCV searches an NNBinClassifier or a Pipeline whose last step is one; "
                     f"got {type(estimator).__name__}")


def _earlier_steps(estimator):
    """The pipeline's steps before the classifier, as one Pipeline (None when there are none)."""
    if isinstance(estimator, Pipeline) and len(estimator.steps) > 1:
        return Pipeline(estimator.steps[:-1])
    return None


def _by_earlier_steps(candidates: list[dict], final_prefix: str) -> list[tuple[dict, list[int]]]:
    """Candidates grouped by the values they give the earlier pipeline steps:
    [(those values, candidate indices)]."""
    groups: list[tuple[dict, list[int]]] = []
    for i, params in enumerate(candidates):
        earlier = {k: v for k, v in params.items() if final_prefix and not k.startswith(final_prefix)}
        for values, members in groups:
            if values == earlier:
                members.append(i)
                break
        else:
            groups.append((earlier, [i]))
    return groups


def _configured(final: NNBinClassifier, params: dict, prefix: str) -> NNBinClassifier:
    """The classifier with a candidate's parameters set (validated: ValueError names a bad one)."""
    own = {k[len(prefix):]: v for k, v in params.items() if k.startswith(prefix)}
    estimator = clone(final).set_params(**own)
    estimator.hyper()
    if isinstance(estimator.class_weight, dict):
        raise ValueError("FusedSearchCV trains class_weight None or 'balanced'; for a dict of weights use "
                         "GridSearchCV(NNBinClassifier)")
    if estimator.validation_fraction != final.validation_fraction:
        raise ValueError("validation_fraction cannot be searched by FusedSearchCV (every candidate's "
                         "early-stopping split is made once per fold); set it on the estimator")
    return estimator


def _dense(part) -> np.ndarray:
    """An earlier steps' output as a finite float32 array."""
    from sklearn.utils import check_array

    return check_array(part.toarray() if hasattr(part, "toarray") else part, dtype=np.float32)


def _fold_rows(splits: list, stacked: bool) -> list[tuple[np.ndarray, np.ndarray]]:
    """Each split's (train, validation) rows in the array the final step trains on: the split
    itself, or, with earlier pipeline steps, its block of the folds stacked train, validation,
    train, ... (`_prepare_folds`)."""
    if not stacked:
        return list(splits)
    rows, offset = [], 0
    for train, validation in splits:
        n_train, n_val = len(train), len(validation)
        rows.append((offset + np.arange(n_train), offset + n_train + np.arange(n_val)))
        offset += n_train + n_val
    return rows


def _results(candidates: list[dict], scores: dict, fit_times, score_times) -> dict:
    """GridSearchCV's cv_results_ layout."""
    results = {"mean_fit_time": fit_times.mean(axis=1), "std_fit_time": fit_times.std(axis=1),
               "mean_score_time": score_times.mean(axis=1), "std_score_time": score_times.std(axis=1)}
    for name in dict.fromkeys(k for params in candidates for k in params):  # first-seen order
        column = np.ma.MaskedArray(np.empty(len(candidates), dtype=object), mask=True)
        for i, params in enumerate(candidates):
            if name in params:
                column[i] = params[name]
        results[f"param_{name}"] = column
    results["params"] = candidates
    for metric, table in scores.items():
        for k in range(table.shape[1]):
            results[f"split{k}_test_{metric}"] = table[:, k]
        results[f"mean_test_{metric}"] = table.mean(axis=1)
        results[f"std_test_{metric}"] = table.std(axis=1)
        results[f"rank_test_{metric}"] = rank_scores(results[f"mean_test_{metric}"]).astype(np.int32)
    return results
