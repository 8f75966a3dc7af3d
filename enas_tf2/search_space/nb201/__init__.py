"""The NAS-Bench-201 cell space (Dong & Yang, ICLR 2020): 6 edges of a 4-node cell, 5 ops each.

Space definition: docs/nb201.md. Modules: `ops` (op ids and names), `arch` (`Nb201Arch`, the
benchmark's own string format), `config` (`Nb201Config`), `controller` (`Nb201Controller`),
`branches` (the weight-shared child's branch table for `layers.branch_switch`), `child`
(`Nb201Child`), `blocks` (the ResNet reduction block), `cell` (the fixed cell), `net`
(`Nb201Net`, the benchmark's network), `graph` (its picture), `space` (`Nb201Space`, the
registry entry). Nothing is imported here, so importing the package does not pull in TensorFlow.
"""
