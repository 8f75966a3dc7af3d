"""Search spaces: the only package that knows what architecture integers mean.

Each space (``micro`` now; ``macro`` and the RNN cell later) provides a typed architecture that
parses, validates and prints the original token strings, the controller's decision sequence for
that space, and the networks built from an architecture.
"""
