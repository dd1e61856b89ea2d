"""The result-file contract shared by running and reporting (issue 24).

``identity`` (the run identity that keys every artefact of a run), ``files`` (``Result``, checked
reading and atomic writing with a checksum, the scan of a results folder), ``schema`` (the keys
and types a result file must hold), ``stored_values`` (numbers read back, re-derived and range
checked), ``reference`` (where the committed reference lives and whether a cell agrees with it:
``AGREES``, ``DIFFERS``, ``NOT_COMPARED``) and ``noise`` (the noise margin that the claims and the
agreement check share). ``benchmark.run`` writes through it; ``benchmark.report``,
``benchmark.frontier`` and ``benchmark.robustness`` read through it. It imports none of them.
"""
