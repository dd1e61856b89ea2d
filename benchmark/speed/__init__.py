"""The pytest-benchmark suites (`pytest benchmark/ --benchmark-only`) and the authors' k-means."""
