"""Objectives and divergences, each a small function registered once and usable everywhere."""

from genzoo.losses.adversarial import OBJECTIVES, AdversarialLoss, Objective, objective

__all__ = ["OBJECTIVES", "AdversarialLoss", "Objective", "objective"]
