"""The bad-input cases of `test_bad_inputs.py` (and of the README's "Bad inputs" table): how each
is set up from the real CIFAR-10 subset and flower photos, and the error line it must produce.

`CASES` rows are ``(id, tool module, setup(env) -> (args, extra environment or None, run folder
that must stay unchanged or None), regular expression the one error line must match)``.
"""

import json
import os
import shutil
import subprocess
import sys
import time

from cli_runner import run_cli

ARCH = "0 1 1 0 2 4 0 2 1 2 1 0 0 2 1 1"          # 2 nodes per cell
TINY = ["--child_num_layers=2", "--child_num_cells=2", "--child_out_filters=4",
        "--batch_size=16", "--eval_batch_size=50", "--max_steps_per_epoch=2",
        "--max_eval_batches=1", "--num_epochs=1", "--nopreflight"]
TINY_FINAL = ["--config=cifar10_micro_final", "--nochild_use_aux_heads", "--valid_size=0",
              *TINY]


class Env:
    """Paths the cases use, built once per module from the real data."""

    def __init__(self, root, cifar10_dir, flowers_dir):
        self.root, self.cifar, self.flowers = root, str(cifar10_dir), str(flowers_dir)
        self.cleanups = []        # undo steps of a case (processes to stop, mounts to undo)

    def path(self, *parts):
        return os.path.join(str(self.root), *parts)

    @property
    def records(self):
        """The real photos converted (2 shards per split, longer side 40)."""
        folder = self.path("records")
        if not os.path.isdir(folder):
            from enas_tf2.data.convert.convert import convert
            convert("image_folder", self.flowers, folder, num_shards=2, max_side=40)
        return folder

    def copy_records(self, name):
        folder = self.path(name)
        shutil.copytree(self.records, folder)
        return folder

    @property
    def final_run(self):
        """A finished tiny final-training run folder (built once, never modified)."""
        folder = self.path("final_run")
        if not os.path.isdir(folder):
            proc = run_cli("cnn_main", TINY_FINAL + [f"--data_path={self.cifar}",
                                                     f"--output_dir={folder}",
                                                     f"--child_fixed_arc={ARCH}"])
            assert proc.returncode == 0, proc.stderr[-3000:]
        return folder

    def copy_final_run(self, name):
        folder = self.path(name)
        shutil.copytree(self.final_run, folder)
        return folder

    @property
    def export(self):
        folder = self.path("export")
        if not os.path.isdir(folder):
            proc = run_cli("export_main", [f"--output_dir={self.final_run}",
                                           f"--export_dir={folder}"])
            assert proc.returncode == 0, proc.stderr[-3000:]
        return folder

    def write(self, name, data):
        path = self.path(name)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "wb" if isinstance(data, bytes) else "w") as f:
            f.write(data)
        return path


def _cnn(*args):
    return lambda env: (list(args), None, None)


def _micro_final(*args, data=None):
    return lambda env: (TINY_FINAL + [f"--data_path={data or env.cifar}",
                                      f"--output_dir={env.path('out', str(time.time()))}",
                                      *args], None, None)


def _empty_folder(env):
    os.makedirs(env.path("empty"), exist_ok=True)
    return [f"--data_path={env.path('empty')}", f"--output_dir={env.path('o3')}"], None, None


def _records_case(mutate, *extra):
    def setup(env):
        folder = env.copy_records(f"rec_{mutate.__name__}")
        mutate(folder)
        return (TINY_FINAL + ["--dataset=tfrecord", "--image_size=32", f"--data_path={folder}",
                              f"--output_dir={env.path('out_' + mutate.__name__)}",
                              f"--child_fixed_arc={ARCH}", *extra], None, None)
    return setup


def truncated_shard(folder):
    path = os.path.join(folder, "train-00001-of-00002.tfrecord")
    with open(path, "r+b") as f:
        f.truncate(os.path.getsize(path) // 2)


def flipped_bytes(folder):
    path = os.path.join(folder, "train-00001-of-00002.tfrecord")
    data = bytearray(open(path, "rb").read())
    for i in range(len(data) // 2, len(data) // 2 + 32):
        data[i] ^= 0xFF
    open(path, "wb").write(bytes(data))


def label_out_of_range(folder):
    """Rewrites one train shard with every other label past the 5 classes (manifest updated to
    match, so only the labels are wrong)."""
    import tensorflow as tf
    from enas_tf2.data import manifest as manifest_lib, records
    path = os.path.join(folder, "train-00000-of-00002.tfrecord")
    examples = [records.parse_example(r) for r in tf.data.TFRecordDataset(path)]
    with tf.io.TFRecordWriter(path) as writer:
        for i, ex in enumerate(examples):
            label = 7 if i % 2 else int(ex[records.LABEL])
            writer.write(records.encode_example(ex[records.ENCODED].numpy(),
                                                ex[records.FORMAT].numpy().decode(), label,
                                                int(ex[records.HEIGHT]), int(ex[records.WIDTH])))
    manifest = manifest_lib.read_manifest(folder)
    for shard in manifest["splits"]["train"]["shards"]:
        if shard["name"] == os.path.basename(path):
            shard.update(manifest_lib.describe_shard(path, shard["count"]))
    manifest_lib.write_json(os.path.join(folder, manifest_lib.MANIFEST_FILE), manifest)


def other_tool_records(folder):
    """Shards written by another tool: its own feature names, no manifest."""
    import tensorflow as tf
    for name in os.listdir(folder):
        os.remove(os.path.join(folder, name))
    with open(os.path.join(folder, "labels.json"), "w") as f:
        json.dump(["a", "b"], f)
    with tf.io.TFRecordWriter(os.path.join(folder, "train-00000-of-00001.tfrecord")) as writer:
        for i in range(8):
            feature = {"image_raw": tf.train.Feature(bytes_list=tf.train.BytesList(
                value=[b"\0" * 12])), "label": tf.train.Feature(
                int64_list=tf.train.Int64List(value=[i % 2]))}
            writer.write(tf.train.Example(features=tf.train.Features(
                feature=feature)).SerializeToString())


def no_labels(folder):
    os.remove(os.path.join(folder, "labels.json"))


def _convert(make):
    def setup(env):
        folder = env.path(f"in_{make.__name__}")
        make(env, folder)
        return (["--source=image_folder", f"--input={folder}",
                 f"--output_dir={env.path('conv_' + make.__name__)}", "--strict"], None, None)
    return setup


def one_class(env, folder):
    shutil.copytree(os.path.join(env.flowers, "roses"), os.path.join(folder, "roses"))


def not_images(env, folder):
    for cls in ("roses", "tulips"):
        os.makedirs(os.path.join(folder, cls))
        for photo in sorted(os.listdir(os.path.join(env.flowers, cls)))[:10]:
            shutil.copy(os.path.join(env.flowers, cls, photo), os.path.join(folder, cls))
    with open(os.path.join(folder, "tulips", "notes.jpg"), "w") as f:
        f.write("not a photo\n")


def _run_folder(prepare, search=False):
    def setup(env):
        folder, args = prepare(env)
        what = [] if search else [f"--child_fixed_arc={ARCH}"]
        return (TINY_FINAL + [f"--data_path={env.cifar}", f"--output_dir={folder}", *what,
                              *args], None, folder)
    return setup


def output_is_a_file(env):
    return env.write("a_file", "x"), []


def not_writable(env):
    """A folder this process cannot write: a read-only bind mount for root (whom file modes do
    not stop), file modes otherwise."""
    folder = env.path("read_only")
    os.makedirs(folder, exist_ok=True)
    if os.geteuid() == 0:
        subprocess.run(["mount", "--bind", folder, folder], check=True)
        subprocess.run(["mount", "-o", "remount,ro,bind", folder], check=True)
        env.cleanups.append(lambda: subprocess.run(["umount", folder], check=True))
    else:
        os.chmod(folder, 0o555)
        env.cleanups.append(lambda: os.chmod(folder, 0o755))
    return folder, []


def changed_settings(env):
    return env.copy_final_run("changed"), ["--child_out_filters=8", "--batch_size=32"]


def search_into_final_folder(env):
    return env.copy_final_run("kind"), ["--config=cifar10_micro_search", "--valid_size=200"]


def in_use(env):
    import socket
    folder = env.copy_final_run("busy")
    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"])
    env.cleanups += [sleeper.kill, sleeper.wait]
    from enas_tf2.runs.run_lock import process_start_ticks
    env.write(os.path.join("busy", "run.lock"), json.dumps({
        "pid": sleeper.pid, "host": socket.gethostname(),
        "start_ticks": process_start_ticks(sleeper.pid), "started": time.time(),
        "command": "enas-cnn --output_dir=busy"}))
    return folder, []


def damaged_checkpoints(env):
    folder = env.copy_final_run("damaged")
    for name in os.listdir(os.path.join(folder, "ckpt")):
        if name.endswith(".index"):
            env.write(os.path.join("damaged", "ckpt", name), b"half-written")
    return folder, ["--num_epochs=2"]


def _export(prepare):
    def setup(env):
        folder = prepare(env)
        return ([f"--output_dir={folder}", f"--export_dir={env.path('exp_' + prepare.__name__)}"],
                None, folder)
    return setup


def no_checkpoint(env):
    folder = env.copy_final_run("no_ckpt")
    for sub in ("ckpt", "best"):
        shutil.rmtree(os.path.join(folder, sub), ignore_errors=True)
    return folder


def search_run(env):
    folder = env.path("a_search")
    os.makedirs(os.path.join(folder, "ckpt"), exist_ok=True)
    with open(os.path.join(env.final_run, "run_config.json")) as f:
        arch = json.load(f)["arch"]
    env.write(os.path.join("a_search", "arch.json"), json.dumps(arch))
    return folder


def _predict(make):
    def setup(env):
        return [f"--model_dir={env.export}", make(env)], None, None
    return setup


def text_file(env):
    return env.write("notes.jpg", "these are notes\n")


def huge_image(env):
    """A 30000 x 30000 gray PNG: tiny on disk (zeros compress), 2.7 GB once decoded."""
    import struct
    import zlib
    side = 30000

    def chunk(kind, data):
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))
    rows = zlib.compress(bytes(side + 1) * side, 9)     # filter byte 0 + a row of zeros
    header = struct.pack(">IIBBBBB", side, side, 8, 0, 0, 0, 0)
    return env.write("huge.png", b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header)
                     + chunk(b"IDAT", rows) + chunk(b"IEND", b""))


def _ptb(*args):
    return lambda env: (["--config=ptb_rnn_final.smoke", *args,
                         f"--output_dir={env.path('ptb_out')}"], None, None)


def _arch_file(obj_or_text, *args):
    def setup(env):
        text = obj_or_text if isinstance(obj_or_text, str) else json.dumps(obj_or_text)
        path = env.write(f"arch_{abs(hash(text))}.json", text)
        return (TINY_FINAL + [f"--data_path={env.cifar}", f"--output_dir={env.path('o_arch')}",
                              f"--arch_json={path}", *args], None, None)
    return setup


def _nb201_search(*args):
    """An nb201 search of the smoke preset on the real CIFAR-10 subset, with `args`."""
    return lambda env: (["--config=cifar10_nb201_search.smoke", f"--data_path={env.cifar}",
                         f"--output_dir={env.path('o_nb201', str(time.time()))}",
                         "--nopreflight", *args], None, None)


def _latency_table_32(env):
    """A latency table as `enas-arch latency-table` writes it, measured for 32x32 images."""
    table = {"kind": "enas_tf2 latency table", "space": "nb201",
             "space_config": {"num_layers": 1, "out_filters": 8}, "image_size": [32, 32],
             "num_classes": 10, "threads": 1, "precision": "float32",
             "interpreter": "ai_edge_litert", "entries": {"stem@32x32x8": 0.01}}
    return env.write("tables/nb201_32.json", json.dumps(table))


CASES = [
    # -- flags --
    ("unknown_enum_value", "cnn_main", _cnn("--search_for=nasnet"), r"--search_for"),
    ("unknown_flag", "cnn_main", _cnn("--child_num_layer=3"), r"child_num_layer"),
    ("not_a_number", "cnn_main", _cnn("--batch_size=big"), r"--batch_size"),
    ("zero_epochs", "cnn_main", _cnn("--num_epochs=0"), r"--num_epochs=0 must be positive"),
    ("keep_prob_out_of_range", "cnn_main", _cnn("--child_keep_prob=1.5"),
     r"--child_keep_prob must be in \(0, 1\]"),
    ("negative_memory_limit", "cnn_main", _cnn("--memory_limit_gb=-1"), r"memory_limit_gb"),
    ("fixed_arc_and_arch_json", "cnn_main", _cnn(f"--child_fixed_arc={ARCH}", "--arch_json=a"),
     r"either --child_fixed_arc or --arch_json"),
    ("space_and_preset_disagree", "cnn_main",
     _cnn("--search_for=macro", "--config=cifar10_micro_search"), r"--search_for=macro but"),
    ("unknown_preset", "cnn_main", _cnn("--config=cifar100_micro"), r"unknown --config"),
    ("flag_of_another_space", "cnn_main", _cnn("--controller_skip_target=0.5"),
     r"does not apply to the micro search space"),
    ("batch_not_divisible_by_replicas", "cnn_main",
     _micro_final(f"--child_fixed_arc={ARCH}", "--strategy=mirrored", "--num_cpu_devices=2",
                  "--batch_size=15"), r"not divisible by the 2 replicas"),
    ("multi_worker_without_tf_config", "cnn_main",
     _micro_final(f"--child_fixed_arc={ARCH}", "--strategy=multi_worker"), r"TF_CONFIG"),
    ("valid_size_too_large", "cnn_main", _micro_final(f"--child_fixed_arc={ARCH}",
                                                      "--valid_size=100000"), r"--valid_size"),
    ("malformed_image_size", "cnn_main", _micro_final(f"--child_fixed_arc={ARCH}",
                                                      "--image_size=12x"), r"--image_size"),
    # -- architectures --
    ("micro_arc_wrong_length", "cnn_main", _micro_final("--child_fixed_arc=0 1 2"), r"token"),
    ("micro_arc_token_out_of_range", "cnn_main",
     _micro_final("--child_fixed_arc=0 1 1 0 2 9 0 2 1 2 1 0 0 2 1 1"), r"token"),
    ("macro_arc_malformed", "cnn_main",
     lambda env: (["--search_for=macro", "--config=cifar10_macro_final", "--child_num_layers=2",
                   "--child_fixed_arc=9", f"--data_path={env.cifar}",
                   f"--output_dir={env.path('o_macro')}"], None, None),
     r"token 1 \(layer 0, op\) is 9"),
    ("arch_json_missing", "cnn_main", _micro_final("--arch_json=/nonexistent/arch.json"),
     r"cannot read --arch_json"),
    ("arch_json_not_json", "cnn_main", _arch_file("{not json"), r"not valid JSON"),
    ("arch_json_of_another_space", "cnn_main",
     _arch_file({"search_space": "macro", "tokens": "0"}), r"'macro' architecture"),
    ("arch_json_micro_malformed", "cnn_main",
     _arch_file({"search_space": "micro", "tokens": "0 0 0"}), r"token"),
    ("rnn_arc_malformed", "ptb_main", _ptb("--child_fixed_arc=0 9 1"), r"arc|token"),
    ("rnn_arch_json_of_another_space", "ptb_main",
     lambda env: _ptb(f"--arch_json={env.write('m.json', json.dumps({'search_space': 'micro', 'tokens': ARCH}))}")(env),
     r"not an rnn cell"),
    # -- data --
    ("data_folder_missing", "cnn_main", _micro_final(f"--child_fixed_arc={ARCH}",
                                                     data="/nonexistent/cifar"),
     r"does not exist"),
    ("data_folder_empty", "cnn_main", lambda env: _micro_final(
        f"--child_fixed_arc={ARCH}", data=_empty_folder(env)[0][0].split("=", 1)[1])(env),
     r"no CIFAR-10 data found"),
    ("image_folder_to_enas_cnn", "cnn_main", lambda env: _micro_final(
        f"--child_fixed_arc={ARCH}", data=env.flowers)(env), r"enas-convert"),
    ("image_folder_as_tfrecord", "cnn_main", lambda env: _micro_final(
        f"--child_fixed_arc={ARCH}", "--dataset=tfrecord", "--image_size=32",
        data=env.flowers)(env), r"enas-convert"),
    ("convert_one_class", "convert_main", _convert(one_class), r"class"),
    ("convert_unreadable_file", "convert_main", _convert(not_images), r"notes.jpg"),
    ("tfrecord_without_labels", "cnn_main", _records_case(no_labels), r"labels.json"),
    ("tfrecord_from_another_tool", "cnn_main", _records_case(other_tool_records),
     r"train-00000-of-00001.tfrecord' holds records that are not enas-convert image examples "
     r"\(Feature: image/encoded .*is required but could not be found\); was it written by "
     r"another tool\? Convert the images with enas-convert$"),
    ("tfrecord_label_out_of_range", "cnn_main", _records_case(label_out_of_range),
     r"has label 7, outside the 5 classes of its labels.json.*re-run enas-convert$"),
    ("shard_truncated", "cnn_main", _records_case(truncated_shard),
     r"train-00001-of-00002.tfrecord.*manifest.json"),
    ("shard_checksum_mismatch", "cnn_main", _records_case(flipped_bytes),
     r"train-00001-of-00002.tfrecord' is corrupt: its sha256 differs"),
    # -- run folders --
    ("output_dir_is_a_file", "cnn_main", _run_folder(output_is_a_file),
     r"is a file, not a folder"),
    ("output_dir_not_writable", "cnn_main", _run_folder(not_writable),
     r"is not writable \(no permission, or a read-only file system\)"),
    ("resume_with_other_settings", "cnn_main", _run_folder(changed_settings),
     r"data.batch_size 16 -> 32; space_config.out_filters 4 -> 8"),
    ("another_kind_of_run", "cnn_main", _run_folder(search_into_final_folder, search=True),
     r"holds a final-training run, not a search run"),
    ("folder_in_use", "cnn_main", _run_folder(in_use), r"in use by another run: pid \d+"),
    ("every_checkpoint_damaged", "cnn_main", _run_folder(damaged_checkpoints),
     r"no checkpoint in .* can be restored"),
    # -- export / predict --
    ("export_without_checkpoint", "export_main", _export(no_checkpoint), r"no trained checkpoint"),
    ("export_a_search_run", "export_main", _export(search_run), r"run_config.json"),
    ("predict_a_text_file", "predict_main", _predict(text_file), r"not a readable image"),
    ("predict_a_huge_image", "predict_main", _predict(huge_image),
     r"huge.png is 30000x30000 pixels \(900 megapixels\)"),
    ("predict_without_export", "predict_main",
     lambda env: ([f"--model_dir={env.path('nothing')}", env.flowers], None, None),
     r"does not exist"),
    # -- hardware-aware search (issue 22) --
    ("unknown_objective", "cnn_main", _cnn("--objective=flops"), r"--objective"),
    ("cost_target_not_positive", "cnn_main", _cnn("--objective=macs", "--cost_target=0"),
     r"--cost_target=0.0 must be > 0 with --objective=macs"),
    ("latency_table_of_another_image_size", "cnn_main", lambda env: _nb201_search(
        "--objective=latency", "--cost_target=1", f"--latency_table={_latency_table_32(env)}",
        "--image_size=16")(env),
     r"was measured for 32x32 images, but this run uses 16x16; make a table for 16x16"),
    # -- training --
    ("nan_loss", "cnn_main", _micro_final(f"--child_fixed_arc={ARCH}", "--child_lr_max=1e30",
                                          "--child_grad_bound=0", "--num_epochs=3",
                                          "--max_steps_per_epoch=4", "--log_every=1"),
     r"loss is (nan|inf)"),
    ("out_of_memory", "cnn_main", _micro_final(f"--child_fixed_arc={ARCH}", "--preflight",
                                               "--batch_size=2048", "--memory_limit_gb=0.5"),
     r"not enough memory"),
]
