"""The macro (whole network) search space: an op and skip connections per layer.

Space definition: docs/enas_reference.md §1.1.

Modules: `ops` (branch ids), `arch` (`MacroArch`), `config` (`MacroConfig`), `controller`,
`branches` (the weight-shared child's branch table), `child` (`MacroChild`), `net` (`MacroNet`),
`space` (`MacroSpace`, the registry entry). Nothing is imported here, so importing the package
does not pull in TensorFlow.
"""
