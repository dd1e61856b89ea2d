"""The bit-width frontier (ours, not in the paper; issue #16 part 2): MCT and PTQ at 3 and 2
bits beside Table 1's rows, a per-tensor sensitivity scan, a mixed-precision assignment under the
uniform 4-bit size, and their report (frontier.md / .json / .png)."""
