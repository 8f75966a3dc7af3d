"""Optimisation pieces below the tasks that use them: the child learning-rate schedules."""
