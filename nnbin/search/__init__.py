"""Search: which configurations are cross-validated.

points      the grid points of a family (every combination, or random draws) and halving's rungs
strategies  one protocol for every search, `strategy.run(evaluate)`: plain cross-validation
            (grid, random), nested cross-validation, successive halving
halving     successive halving's plan and rungs
"""
from nnbin.search.points import (DISTRIBUTIONS, check_distribution, family_points, halving_budgets,
                                 is_distribution)

__all__ = ["DISTRIBUTIONS", "check_distribution", "family_points", "halving_budgets", "is_distribution"]
