"""scikit-learn estimators on nnbin's engines.

    NNBinClassifier   one network, fitted like any scikit-learn classifier
    FusedSearchCV     GridSearchCV / RandomizedSearchCV whose candidates x folds train as fused stacks
"""
from nnbin.sklearn.classifier import NNBinClassifier
from nnbin.sklearn.search import FusedSearchCV

__all__ = ["FusedSearchCV", "NNBinClassifier"]
