#!/usr/bin/env python3
"""The baseline of `offchain-trainer bench`: Templar's published SparseLoCo path in PyTorch.

Written from the algorithm's description (Templar / Covenant-72B, SparseLoCo), not from its code:

- error feedback: e <- beta * e + delta, per tensor;
- chunk-wise top-k: the tensor's 2-D view cut into chunks of at most 64 x 64 (the same chunk
  geometry as ours, so both sides select from the same chunks), the k largest |e| of each kept;
- 4-bin quantisation of the kept values: centred on their mean, bins of 1.5 sigma / 2, each bin
  decoded to the mean of its values, codes stored one byte each (uint8);
- 12-bit index packing: two chunk positions in three bytes;
- the residual e -= decompressed;
- aggregation: every peer's payload unpacked and dequantised, each peer's tensor clipped to the
  median norm across peers, scatter-mean over the peers that sent a coordinate, then outer SGD
  theta <- theta - lr * mean;
- the model: a LLaMA-style decoder (tied embedding, RMSNorm, RoPE, SwiGLU) in PyTorch eager,
  trained with torch.optim.AdamW after global-norm clipping to 1, the same shapes as ours;
- the model's largest matrix product (the output projection over one batch), GFLOP/s;
- the Gauntlet's work per payload: decode one payload, apply it alone (clipped, outer lr) and
  compute the loss on the assigned and the random evaluation rows.

Usage: `templar_reference.py --spec SPEC.json` (written by `offchain-trainer bench`); prints one
JSON object with the figures on stdout. Run alone with `--spec` pointing at a file such as the
one `offchain-trainer bench --keep-spec` leaves behind.
"""

import argparse
import json
import math
import statistics
import sys
import time

import torch
import torch.nn.functional as F

LEVELS = 4


def largest_divisor_at_most_64(n):
    for d in range(min(64, n), 0, -1):
        if n % d == 0:
            return d
    return 1


class Geometry:
    """A tensor's 2-D view cut into chunks of at most 64 x 64 values."""

    def __init__(self, shape):
        if len(shape) == 1:
            self.rows, self.cols = 1, shape[0]
        else:
            self.rows, self.cols = math.prod(shape[:-1]), shape[-1]
        self.cr = largest_divisor_at_most_64(self.rows)
        self.cc = largest_divisor_at_most_64(self.cols)
        self.chunk_len = self.cr * self.cc
        self.chunks = (self.rows // self.cr) * (self.cols // self.cc)

    def to_chunks(self, x):
        """(rows, cols) -> (chunks, chunk_len), a copy in chunk order."""
        return (
            x.view(self.rows // self.cr, self.cr, self.cols // self.cc, self.cc)
            .permute(0, 2, 1, 3)
            .reshape(self.chunks, self.chunk_len)
        )

    def from_chunks(self, c):
        """(chunks, chunk_len) -> (rows, cols)."""
        return (
            c.view(self.rows // self.cr, self.cols // self.cc, self.cr, self.cc)
            .permute(0, 2, 1, 3)
            .reshape(self.rows, self.cols)
        )


def quantise(vals):
    """4-bin quantisation: uint8 codes and the table of bin means."""
    shift = vals.mean()
    scale = 1.5 * vals.std(unbiased=False)
    z = (vals - shift) / torch.clamp(scale, min=1e-30)
    codes = torch.bucketize(z, torch.tensor([-0.5, 0.0, 0.5], device=vals.device)).to(torch.uint8)
    flat_codes = codes.flatten().long()
    sums = torch.zeros(LEVELS, device=vals.device).scatter_add_(0, flat_codes, vals.flatten())
    counts = torch.zeros(LEVELS, device=vals.device).scatter_add_(
        0, flat_codes, torch.ones_like(vals.flatten())
    )
    centres = shift + scale * torch.tensor([-0.75, -0.25, 0.25, 0.75], device=vals.device)
    table = torch.where(counts > 0, sums / torch.clamp(counts, min=1), centres)
    return codes, table


def pack12(idx):
    """Chunk positions (< 4096) -> 12-bit packed bytes, two positions in three bytes."""
    flat = idx.flatten().to(torch.int32)
    if flat.numel() % 2:
        flat = torch.cat([flat, flat.new_zeros(1)])
    pairs = flat.view(-1, 2)
    word = pairs[:, 0] | (pairs[:, 1] << 12)
    return torch.stack([word & 255, (word >> 8) & 255, (word >> 16) & 255], dim=1).to(torch.uint8)


def unpack12(packed, count):
    p = packed.to(torch.int32)
    word = p[:, 0] | (p[:, 1] << 8) | (p[:, 2] << 16)
    both = torch.stack([word & 4095, word >> 12], dim=1).flatten()
    return both[:count].long()


def compress(e, delta, geom, k, beta):
    """Error feedback, top-k, quantisation and the residual update of one tensor.
    Returns the kept positions and the codes and table (the payload's content)."""
    e.mul_(beta).add_(delta)
    x = geom.to_chunks(e.view(geom.rows, geom.cols))
    kk = min(k, geom.chunk_len)
    idx = torch.topk(x.abs(), kk, dim=1, sorted=False).indices
    vals = torch.gather(x, 1, idx)
    codes, table = quantise(vals)
    decoded = torch.zeros_like(x).scatter_(1, idx, table[codes.long()])
    e.sub_(geom.from_chunks(decoded).view_as(e))
    return idx, codes, table


def encode(idx, codes, table):
    """A tensor's payload: packed indices, one byte per code, the 4-entry table."""
    return (pack12(idx), codes.flatten().clone(), table.clone(), idx.shape)


def payload_bytes(payload):
    packed, codes, table, _ = payload
    return packed.numel() + codes.numel() + table.numel() * 4


def decode(payload):
    packed, codes, table, shape = payload
    idx = unpack12(packed, shape[0] * shape[1]).view(shape)
    return idx, table[codes.long()].view(shape)


def aggregate(theta, payloads, geoms, lr):
    """Decode every peer's payload, clip to the median norm, scatter-mean, outer SGD."""
    for t, geom in enumerate(geoms):
        decoded = [decode(p[t]) for p in payloads]
        norms = torch.stack([v.norm() for _, v in decoded])
        med = norms.median() if len(decoded) % 2 else norms.sort().values[
            len(decoded) // 2 - 1 : len(decoded) // 2 + 1
        ].mean()
        sums = torch.zeros(geom.chunks, geom.chunk_len, device=theta[t].device)
        counts = torch.zeros_like(sums)
        for (idx, vals), n in zip(decoded, norms):
            factor = torch.where(n > med, med / n, torch.ones_like(n))
            sums.scatter_add_(1, idx, vals * factor)
            counts.scatter_add_(1, idx, torch.ones_like(vals))
        mean = sums / torch.clamp(counts, min=1)
        theta[t].sub_(lr * geom.from_chunks(mean).view_as(theta[t]))


# ---- the model --------------------------------------------------------------------------------


class Llama(torch.nn.Module):
    def __init__(self, m):
        super().__init__()
        v, d, f, h = m["vocab_size"], m["d_model"], m["d_ff"], m["n_heads"]
        self.h, self.hd, self.eps = h, d // h, m["norm_eps"]
        self.embed = torch.nn.Parameter(torch.randn(v, d) * 0.02)
        self.layers = torch.nn.ModuleList()
        for _ in range(m["n_layers"]):
            layer = torch.nn.ParameterDict(
                {
                    "attn_norm": torch.nn.Parameter(torch.ones(d)),
                    "wq": torch.nn.Parameter(torch.randn(d, d) * 0.02),
                    "wk": torch.nn.Parameter(torch.randn(d, d) * 0.02),
                    "wv": torch.nn.Parameter(torch.randn(d, d) * 0.02),
                    "wo": torch.nn.Parameter(torch.randn(d, d) * 0.02),
                    "mlp_norm": torch.nn.Parameter(torch.ones(d)),
                    "w_gate": torch.nn.Parameter(torch.randn(f, d) * 0.02),
                    "w_up": torch.nn.Parameter(torch.randn(f, d) * 0.02),
                    "w_down": torch.nn.Parameter(torch.randn(d, f) * 0.02),
                }
            )
            self.layers.append(layer)
        self.final_norm = torch.nn.Parameter(torch.ones(d))
        t = m["seq_len"]
        inv = 1.0 / (m["rope_theta"] ** (torch.arange(0, self.hd, 2).float() / self.hd))
        ang = torch.outer(torch.arange(t).float(), inv)
        self.register_buffer("cos", ang.cos(), persistent=False)
        self.register_buffer("sin", ang.sin(), persistent=False)

    def norm(self, x, w):
        return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps) * w

    def rope(self, x):
        t = x.shape[2]
        x1, x2 = x[..., 0::2], x[..., 1::2]
        cos, sin = self.cos[:t], self.sin[:t]
        return torch.stack([x1 * cos - x2 * sin, x1 * sin + x2 * cos], dim=-1).flatten(-2)

    def forward(self, tokens):
        b, t = tokens.shape
        x = self.embed[tokens]
        for layer in self.layers:
            n = self.norm(x, layer["attn_norm"])
            heads = lambda w: (n @ w.t()).view(b, t, self.h, self.hd).transpose(1, 2)
            q, k, v = self.rope(heads(layer["wq"])), self.rope(heads(layer["wk"])), heads(layer["wv"])
            scores = (q @ k.transpose(-1, -2)) / math.sqrt(self.hd)
            mask = torch.full((t, t), float("-inf"), device=x.device).triu(1)
            attn = torch.softmax(scores + mask, dim=-1) @ v
            x = x + attn.transpose(1, 2).reshape(b, t, -1) @ layer["wo"].t()
            n = self.norm(x, layer["mlp_norm"])
            x = x + (F.silu(n @ layer["w_gate"].t()) * (n @ layer["w_up"].t())) @ layer["w_down"].t()
        return self.norm(x, self.final_norm) @ self.embed.t()

    def loss(self, rows):
        logits = self.forward(rows[:, :-1])
        return F.cross_entropy(logits.reshape(-1, logits.shape[-1]), rows[:, 1:].reshape(-1))


# ---- timing -----------------------------------------------------------------------------------


def sync(device):
    if device.startswith("cuda"):
        torch.cuda.synchronize()


def median_time(runs, device, f):
    f()
    sync(device)
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        f()
        sync(device)
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--spec", required=True, help="the JSON written by offchain-trainer bench")
    spec = json.load(open(parser.parse_args().spec))
    device, runs, k, beta = spec["device"], spec["runs"], spec["k"], spec["beta"]
    torch.manual_seed(0)
    shapes = spec["shapes"]
    geoms = [Geometry(s) for s in shapes]
    numel = sum(math.prod(s) for s in shapes)
    deltas = [torch.randn(math.prod(s), device=device) * 1e-3 for s in shapes]
    errors = [torch.zeros_like(d) for d in deltas]

    def compress_all():
        return [compress(e, d, g, k, beta) for e, d, g in zip(errors, deltas, geoms)]

    out = {"torch": torch.__version__, "device": device}
    for key, threads in (("compress_gbps_one", 1), ("compress_gbps_all", spec["threads"])):
        if device == "cpu":
            torch.set_num_threads(threads)
        elif key == "compress_gbps_one":
            continue
        out[key] = numel * 4 / median_time(runs, device, compress_all) / 1e9
    if device == "cpu":
        torch.set_num_threads(spec["threads"])

    payload = [encode(*c) for c in compress_all()]
    chunks = sum(g.chunks for g in geoms)
    out["bytes_per_chunk"] = sum(payload_bytes(p) for p in payload) / chunks

    # 20 peers' payloads (in memory, as after download) -> decode + aggregate + apply.
    peers = []
    for p in range(spec["peers"]):
        ds = [torch.randn_like(d) * 1e-3 for d in deltas]
        es = [torch.zeros_like(d) for d in deltas]
        peers.append([encode(*compress(e, d, g, k, beta)) for e, d, g in zip(es, ds, geoms)])
    theta = [torch.randn(math.prod(s), device=device) * 0.02 for s in shapes]
    out["aggregate_s"] = median_time(runs, device, lambda: aggregate(theta, peers, geoms, spec["lr"]))
    if spec.get("codec_only", False):
        json.dump(out, sys.stdout)
        print()
        return

    # The inner step: AdamW on the model, tokens/s.
    m = spec["model"]
    model = Llama(m).to(device)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-4, weight_decay=0.1)
    batch = torch.randint(0, m["vocab_size"], (spec["batch"], m["seq_len"] + 1), device=device)

    def step():
        opt.zero_grad(set_to_none=True)
        model.loss(batch).backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()

    per_step = median_time(runs, device, step)
    tokens = spec["batch"] * m["seq_len"]
    out["tokens_per_s"] = tokens / per_step

    # The optimizer's update alone (clip + AdamW), on one step's gradients.
    opt.zero_grad(set_to_none=True)
    model.loss(batch).backward()

    def update():
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()

    out["optimizer_s"] = median_time(runs, device, update)

    # The output projection alone, (tokens, d_model) @ (vocab, d_model)^T: the framework's
    # matrix products apart from everything else in a step.
    x = torch.randn(tokens, m["d_model"], device=device)
    w = torch.randn(m["vocab_size"], m["d_model"], device=device) * 0.02
    per_matmul = median_time(runs, device, lambda: x @ w.t())
    out["matmul_gflops"] = 2 * tokens * m["d_model"] * m["vocab_size"] / per_matmul / 1e9

    # The Gauntlet per payload: decode, apply alone (clipped), loss on assigned + random rows.
    params = list(model.parameters())
    mgeoms = [Geometry(list(p.shape)) for p in params]
    with torch.no_grad():
        mdeltas = [torch.randn_like(p).flatten() * 1e-3 for p in params]
        mpayload = [
            encode(*compress(torch.zeros_like(d), d, g, k, beta)) for d, g in zip(mdeltas, mgeoms)
        ]
    saved = [p.detach().clone() for p in params]
    n_eval, eval_batch = spec["eval_sequences"], spec["eval_batch"]
    rows = torch.randint(0, m["vocab_size"], (2 * n_eval, m["seq_len"] + 1), device=device)

    @torch.no_grad()
    def gauntlet():
        for p, g, pl, s in zip(params, mgeoms, mpayload, saved):
            idx, vals = decode(pl)
            dense = torch.zeros(g.chunks, g.chunk_len, device=device).scatter_(1, idx, vals)
            p.copy_(s - spec["lr"] * g.from_chunks(dense).view_as(s))
        for start in range(0, rows.shape[0], eval_batch):
            model.loss(rows[start : start + eval_batch]).item()
        for p, s in zip(params, saved):
            p.copy_(s)

    out["gauntlet_s"] = median_time(runs, device, gauntlet)
    json.dump(out, sys.stdout)
    print()


if __name__ == "__main__":
    main()
