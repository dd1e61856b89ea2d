"""Running table rows: runner, workspace, recipe, tune, results, efficiency, provenance,
reference."""
