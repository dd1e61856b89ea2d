"""The noise-robustness sweep (ours, not in the paper): ``quads-bench robustness``."""
