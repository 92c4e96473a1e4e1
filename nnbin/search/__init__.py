"""Search: which configurations are cross-validated.

points      the grid points of a family (every combination, or random draws) and halving's rungs
protocol    the one search protocol, `strategy.run(evaluate)`, and plain cross-validation
ranking     the one ranking of configurations (tables, nested CV, FusedSearchCV)
strategies  an experiment's searches as strategies:
            cross-validation (grid, random), nested cross-validation, successive halving
halving     successive halving's rungs
"""
from nnbin.search.points import (DISTRIBUTIONS, check_distribution, family_points, halving_budgets,
                                 is_distribution)

__all__ = ["DISTRIBUTIONS", "check_distribution", "family_points", "halving_budgets", "is_distribution"]
