"""Text input: the Penn Treebank corpus and its BPTT windows."""
