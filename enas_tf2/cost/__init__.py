"""Hardware cost of architectures and cost-aware search objectives (issue 22).

  tally.py          `CostTally`: parameter and multiply-add arithmetic of conv, depthwise, dense
                    and batch-norm layers, used by each space's own ``cost.py``
  graph_macs.py     an independent count: multiply-adds of the convolutions and matmuls of a
                    built Keras model's inference graph (tests and `enas-arch cost`)
  objective.py      `Objective`: accuracy only (the paper's) or accuracy under a target in
                    params, MACs or latency (MnasNet-style soft or hard), as a controller reward
  latency_table.py  `LatencyTable`: per-block latencies measured with the LiteRT interpreter,
                    summed to predict a whole network's latency
  pareto.py         the accuracy/cost Pareto front of scored architectures

Only `search_space/<space>/cost.py` knows which layers an architecture's integers build; this
package holds the arithmetic shared by every space and the space-independent objective.
"""
