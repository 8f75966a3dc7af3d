"""`enas-ptb`'s own flag groups (text data, the child language model) and its defaults for the
shared groups (the ``ptb_rnn_search`` preset's values; ``ptb_rnn_final``: hidden 800, batch 64,
clip 0.25, its dropouts, alpha 0.7, beta 0, init 0.05, 3000 epochs).

Names follow the original PTB ``main.py`` where it has the setting (``--child_bptt_steps``,
``--child_rhn_depth``, ``--child_lstm_hidden_size``, ``--child_l2_reg``,
``--child_rnn_slowness_reg``, ``--child_grad_bound``, ``--child_lr``, ``--controller_*``). The
dropouts are enas_lm's RATES (``--child_drop_e`` ...), not the original's keep probabilities: the
corrected model drops different things (word types, embedding units, DropConnect).
"""

from __future__ import annotations

from enas_tf2.cli.flags.shared import Group

SHARED_DEFAULTS = {
    "config_help": "Preset to start from (flags override its fields): ptb_rnn_search, "
                   "ptb_rnn_final, or NAME.smoke for a CPU-sized run. Default: ptb_rnn_final "
                   "when an architecture is given (--child_fixed_arc / --arch_json), else "
                   "ptb_rnn_search.",
    "output_dir": "runs/ptb_rnn_search",
    "output_dir_help": "Run folder: checkpoints, logs, arch.json (search) or run_config.json and "
                       "best/ (final). Default: the preset's (runs/<preset name>).",
    "fixed_arc_help": "Train this cell from scratch instead of searching: the token string, "
                      "enas_lm's 2K tokens (published: '0 2 1 0 2 1 2 2 4 0 5 0 3 2 6 2') or "
                      "the original repo's 2D-1. The node count and encoding follow the string.",
    "arch_json_help": "Train the cell of a search's arch.json (or run folder) from scratch.",
    "seed_help": "Seed of every random stream (sampling, dropout, window lengths).",
    "num_epochs": 600, "num_epochs_help": "Epochs to train (one epoch = one pass over the "
                                          "training stream); final runs: ptb_rnn_final's 3000.",
    "log_every": 100,
    "strategy_help": " Every replica carries its own rows' state; batch sizes must divide by "
                     "the replica count.",
    "tanh_constant": 2.25, "temperature": 5.0, "entropy_weight": 1e-5, "bl_dec": 0.999,
    "controller_lr": 5e-5, "train_steps": 25,
}


def data(g: Group) -> None:
    """The corpus and its windows."""
    g.string("data_path", "data/ptb", "Folder with ptb.train.txt, ptb.valid.txt, ptb.test.txt "
             "(scripts/download_ptb.sh fetches them).")
    g.integer("batch_size", 128, "Parallel training rows (global; split over replicas). "
              "enas_lm: 128 search, 64 final.")
    g.integer("eval_batch_size", 128, "Rows of the validation pass and of the controller's "
              "reward batches.")
    g.integer("test_batch_size", 1, "Rows of the test pass (1: the whole test stream in one "
              "row, as enas_lm).")
    g.integer("child_bptt_steps", 35, "BPTT window length (training windows vary around it, "
              "evaluation windows are exactly this long).")
    g.bool("child_variable_bptt", True, "enas_lm's random training window lengths (35 w.p. 0.95 "
           "else 17.5, plus N(0, 5)); the learning rate is scaled by length / bptt. Off: fixed "
           "windows.")


def child(g: Group) -> None:
    """The child language model and its optimizer."""
    g.enum("child_cell_variant", "enas_lm", ["enas_lm", "original"],
           "Search: 'enas_lm' (corrected: fixed tanh node 0, output = mean of the searched "
           "nodes) or 'original' (melodyguan/enas encoding: searched node-0 activation, mean of "
           "loose ends). Final runs take it from the arc.")
    g.integer("child_rhn_depth", 10, "Nodes of the cell, node 0 included (the original's depth "
              "D): the controller searches D-1 (prev, func) nodes. enas_lm search: 10; the "
              "published cell has 9. Final runs take it from the arc.")
    g.integer("child_lstm_hidden_size", 200, "Cell width; the word embedding has the same size "
              "(tied softmax). enas_lm: 200 search, 800 final.")
    g.float("child_drop_e", 0.10, "Word-type dropout RATE (whole embedding rows).")
    g.float("child_drop_i", 0.20, "Embedding-unit dropout rate (one mask per row, shared over "
            "time).")
    g.float("child_drop_x", 0.75, "Rate of the mask on the cell input entering node 0.")
    g.float("child_drop_l", 0.25, "Rate of the mask on every node's input state.")
    g.float("child_drop_o", 0.75, "Output dropout rate (before the softmax).")
    g.float("child_drop_w", 0.0, "DropConnect rate on the recurrent weights.")
    g.float("child_init_range", 0.04, "Every weight is uniform(-r, r).")
    g.float("child_l2_reg", 8e-7, "Weight decay: this times the sum of squared weights (final: "
            "all weights; search: node 0 and the sampled cell's slices).")
    g.float("child_rnn_activation_reg", 0.0, "Activation L2 (enas_lm's alpha): times mean(h^2) "
            "of the cell outputs. enas_lm final: 0.7.")
    g.float("child_rnn_slowness_reg", 1.0, "Slowness (enas_lm's beta): times mean((h_t - "
            "h_{t-1})^2). enas_lm final: 0.")
    g.float("child_grad_bound", 0.1, "Clip child gradients to this global norm (enas_lm: 0.1 "
            "search, 0.25 final; 0 = off).")
    g.float("child_lr", 20.0, "SGD learning rate (scaled per window by length / bptt).")
    g.integer("child_lr_dec_every", 1, "Decay the learning rate every N epochs ...")
    g.float("child_lr_dec_rate", 1.0, "... by this factor (1.0 = constant, enas_lm's).")
