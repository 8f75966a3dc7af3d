"""The macro (whole network) search space: an op and skip connections per layer.

Space definition: docs/enas_reference.md §1.1. Modules: `ops` (branch ids), `arch` (`MacroArch`),
`config` (`MacroConfig`), `controller` (`MacroController`), `branches` (the weight-shared child's
branch table for `layers.branch_switch`), `skip_sum` (run-time skip connections), `child`
(`MacroChild`), `fixed_layer` and `net` (`MacroNet`), `space` (`MacroSpace`, the registry
entry). Nothing is imported here, so importing the package does not pull in TensorFlow.
"""
