"""scikit-learn estimators on nnbin's engines.

    NNBinClassifier   one network, fitted like any scikit-learn classifier
    FusedSearchCV     GridSearchCV / RandomizedSearchCV whose candidates x folds train as fused stacks
    FusedTPESearchCV  the same, candidates proposed by Optuna's TPE sampler a batch at a time
"""
from nnbin.sklearn.classifier import NNBinClassifier
from nnbin.sklearn.search import FusedSearchCV
from nnbin.sklearn.tpe_search import FusedTPESearchCV

__all__ = ["FusedSearchCV", "FusedTPESearchCV", "NNBinClassifier"]
