"""Choosing and creating the `tf.distribute` strategy, and facts the loops need about it."""

from __future__ import annotations

import json
import os

import tensorflow as tf

from enas_tf2.errors import EnasError

STRATEGIES = ("default", "mirrored", "multi_worker")


def split_cpu(num_devices: int) -> None:
    """Splits the host CPU into `num_devices` logical devices (lets a CPU-only machine test
    MirroredStrategy). Must run before TensorFlow initialises its devices."""
    if num_devices <= 1:
        return
    cpus = tf.config.list_physical_devices("CPU")
    try:
        tf.config.set_logical_device_configuration(
            cpus[0], [tf.config.LogicalDeviceConfiguration() for _ in range(num_devices)])
    except RuntimeError as err:  # already initialised: only fine if the split is already there
        if len(tf.config.list_logical_devices("CPU")) != num_devices:
            raise EnasError(f"cannot split the CPU into {num_devices} devices after TensorFlow "
                            f"started: {err}") from err


def make_strategy(name: str, num_cpu_devices: int = 0) -> tf.distribute.Strategy:
    """Creates the strategy named by ``--strategy``.

    - ``default``: one device (the first GPU if any, else the CPU).
    - ``mirrored``: all local GPUs, or the `num_cpu_devices` logical CPUs when there is no GPU.
    - ``multi_worker``: `MultiWorkerMirroredStrategy`; the cluster comes from ``TF_CONFIG``.
    """
    if name not in STRATEGIES:
        raise EnasError(f"unknown --strategy={name!r}; choose one of {', '.join(STRATEGIES)}")
    if name == "multi_worker":
        if not os.environ.get("TF_CONFIG"):
            raise EnasError("--strategy=multi_worker needs the TF_CONFIG environment variable "
                            "(cluster and task); see docs/running.md, 'Several GPUs or machines'")
        try:
            json.loads(os.environ["TF_CONFIG"])
        except ValueError as err:
            raise EnasError(f"TF_CONFIG is not valid JSON: {err}") from err
        split_cpu(num_cpu_devices)
        # RING collectives work on CPU and GPU hosts alike; NCCL is chosen automatically by AUTO
        # only when GPUs exist.
        impl = (tf.distribute.experimental.CommunicationImplementation.AUTO
                if tf.config.list_physical_devices("GPU")
                else tf.distribute.experimental.CommunicationImplementation.RING)
        return tf.distribute.MultiWorkerMirroredStrategy(
            communication_options=tf.distribute.experimental.CommunicationOptions(
                implementation=impl))
    split_cpu(num_cpu_devices)
    if name == "default":
        return tf.distribute.get_strategy()
    gpus = tf.config.list_logical_devices("GPU")
    if gpus:
        return tf.distribute.MirroredStrategy()
    cpus = [d.name for d in tf.config.list_logical_devices("CPU")]
    # NCCL is GPU-only; on CPUs reduce through one device.
    return tf.distribute.MirroredStrategy(
        devices=cpus, cross_device_ops=tf.distribute.ReductionToOneDevice())


def check_batch_size(strategy: tf.distribute.Strategy, batch_size: int, flag: str) -> None:
    """Global batches are split evenly over replicas; refuse sizes that cannot be."""
    replicas = strategy.num_replicas_in_sync
    if batch_size <= 0 or batch_size % replicas:
        raise EnasError(f"{flag}={batch_size} is not divisible by the {replicas} replicas of the "
                        f"strategy; use a multiple of {replicas}")


def task_info(strategy: tf.distribute.Strategy) -> tuple[bool, int]:
    """Returns (is_chief, worker_index). Only the chief writes shared outputs."""
    resolver = getattr(strategy, "cluster_resolver", None)
    if resolver is None or not getattr(resolver, "task_type", None):
        return True, 0
    task_type, task_id = resolver.task_type, int(resolver.task_id or 0)
    has_chief = "chief" in resolver.cluster_spec().as_dict()
    is_chief = task_type == "chief" or (task_type == "worker" and task_id == 0 and not has_chief)
    return is_chief, task_id
