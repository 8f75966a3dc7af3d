"""A NumPy (float64) replay of the macro controller, written from docs/enas_reference.md §2.2:
log-probability, sampled-choice entropy and the skip KL of a given architecture, as plain
functions of the weights, so tests can check the controller's values and (by finite
differences) the gradients the search step takes."""

import numpy as np

# Names of the macro controller's trainable weights (the last part of each variable path).
WEIGHT_NAMES = ("layer_0_kernel", "g_emb", "w_emb", "w_soft", "w_1", "w_2", "v")


def weights_of(controller) -> dict:
    """The controller's weights as float64 arrays, keyed by `WEIGHT_NAMES`."""
    return {v.path.split("/")[-1]: np.asarray(v.numpy(), np.float64)
            for v in controller.trainable_variables}


def _sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def _log_softmax(x):
    x = x - x.max(axis=-1, keepdims=True)
    return x - np.log(np.exp(x).sum(axis=-1, keepdims=True))


def replay(w: dict, rows, cfg, skip_target: float):
    """(log-prob, sampled entropy, mean skip KL) of the layer rows ``[[op, bits...], ...]``
    under the weights `w` (`weights_of`) and the `ControllerConfig` `cfg` (temperature and
    tanh constant applied when set)."""
    s = w["g_emb"].shape[1]
    state = (np.zeros((1, s)), np.zeros((1, s)))

    def lstm(x, state):
        cell, h = state
        i, f, o, g = np.split(np.concatenate([x, h], 1) @ w["layer_0_kernel"], 4, axis=1)
        cell = _sigmoid(i) * np.tanh(g) + _sigmoid(f) * cell
        return cell, _sigmoid(o) * np.tanh(cell)

    def shaped(logits):
        if cfg.temperature:
            logits = logits / cfg.temperature
        if cfg.tanh_constant:
            logits = cfg.tanh_constant * np.tanh(logits)
        return logits

    log_prob = entropy = 0.0
    kls, anchors = [], []
    x = w["g_emb"]
    for i, (op, *bits) in enumerate(rows):
        state = lstm(x, state)
        log_p = _log_softmax(shaped((state[1] @ w["w_soft"]).ravel()))
        log_prob += log_p[op]
        entropy += -np.exp(log_p[op]) * log_p[op]
        x = w["w_emb"][op][None]
        state = lstm(x, state)
        h = state[1]
        if i > 0:
            keys = np.concatenate([a @ w["w_1"] for a in anchors])
            q = (np.tanh(keys + h @ w["w_2"]) @ w["v"]).ravel()          # [i]
            logits = shaped(np.stack([-q, q], axis=1))                   # [i, 2]
            log_p = _log_softmax(logits)
            for j, bit in enumerate(bits):
                log_prob += log_p[j, bit]
                entropy += -np.exp(log_p[j, bit]) * log_p[j, bit]
            p = _sigmoid(logits)
            kls.append(np.sum(p * np.log(p / np.array([1 - skip_target, skip_target]))))
            on = np.array(bits, np.float64)[None]
            x = (on @ np.concatenate(anchors)) / (1.0 + on.sum())
        else:
            x = w["g_emb"]
        anchors.append(h)
    return log_prob, entropy, (np.mean(kls) if kls else 0.0)
