"""scikit-learn estimators on nnbin's engines.

    NNBinClassifier   one network, fitted like any scikit-learn classifier
    FusedSearchCV     GridSearchCV / RandomizedSearchCV whose candidates x folds train as fused stacks
"""
from nnbin.sklearn.classifier import NNBinClassifier

__all__ = ["NNBinClassifier"]
