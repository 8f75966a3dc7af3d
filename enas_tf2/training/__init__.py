"""Training machinery: distribution strategy, checkpoints, progress logs, search and final loops."""
