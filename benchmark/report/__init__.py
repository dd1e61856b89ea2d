"""Reports: result files -> Markdown tables, cells, claims, deviations, figure; the speed
benchmarks' report."""
