"""The PTB recurrent-cell search space (docs/enas_reference.md §1.3, §2.4, §5.2): typed architecture,
controller, weight-shared language model and fixed language model. Importing `space` registers
it as ``rnn``."""
