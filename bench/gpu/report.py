#!/usr/bin/env python3
"""Summarises a bench/gpu/run.sh output folder (candor-SHAPE.json, hf-SHAPE.json) as a markdown report."""
import glob
import json
import os
import sys


def get(d, *path):
    for p in path:
        if not isinstance(d, dict) or p not in d:
            return None
        d = d[p]
    return d


def fmt(v, digits=3):
    if v is None:
        return "—"
    if isinstance(v, float):
        return f"{v:.{digits}g}"
    return str(v)


def main(folder):
    out = ["# Candor cuda backend on a GPU", ""]
    for path in sorted(glob.glob(os.path.join(folder, "candor-*.json"))):
        shape = os.path.basename(path)[len("candor-"):-len(".json")]
        c = json.load(open(path))
        hf_path = os.path.join(folder, f"hf-{shape}.json")
        h = json.load(open(hf_path)) if os.path.exists(hf_path) else {}
        out.append(f"## {shape}: {c.get('model')} on {c.get('device')}")
        if "error" in c:
            out += ["", f"**error**: `{c['error']}`", ""]
        out += ["", "| measure | value |", "|---|---|"]
        rows = [
            ("bandwidth limit (D2D copy, read + write)", fmt(c.get("bandwidth_gb_per_s")) + " GB/s"),
            ("decode tokens/s (graph replay, summary to host)", fmt(c.get("decode_tokens_per_second"))),
            ("decode step ms on full logits (logits to host)", fmt(c.get("decode_step_on_logits_ms"))),
            ("bytes per token (weights + KV)", fmt(c.get("bytes_per_token"))),
            ("**fraction of the bandwidth limit**", fmt(c.get("fraction_of_bandwidth_limit"))),
            ("device step ms (graph replays) / its fraction of the limit", fmt(c.get("device_step_ms")) + " / "
             + fmt(c.get("device_fraction_of_bandwidth_limit"))),
            ("the same at a 2k context", fmt(c.get("device_step_ms_at_2k_context")) + " / "
             + fmt(c.get("device_fraction_of_bandwidth_limit_at_2k_context"))),
            ("host's share of a step (upload, launch, download)", fmt(c.get("host_fraction_of_step"))),
            ("decode step ms at 2k context", fmt(c.get("decode_step_ms_at_2k_context"))),
            ("prefill tokens/s (2k prompt)", fmt(c.get("prefill_tokens_per_second")) + " (through cuBLAS: "
             + fmt(c.get("gemm_prefill")) + ", " + fmt(c.get("gemm_library")) + ")"),
            ("verify step (k=4) / decode step", fmt(c.get("verify_over_decode"))),
            ("generator tokens/s (full records)", fmt(c.get("generator_tokens_per_second"))),
            ("**generator overhead, fraction of a step** (records from summaries)",
             fmt(c.get("generator_overhead_fraction_of_step"))),
            ("record from full logits on the host (sampling) µs / fraction of step",
             fmt(c.get("distribution_record_us")) + " / " + fmt(c.get("distribution_record_fraction_of_step"))),
            ("**probe per token, fraction of a step** (tap to host + probe on host)",
             fmt(c.get("probe_fraction_of_step"))),
            ("self-draft speedup (acceptance)", fmt(get(c, "self_draft", "speedup_over_generator")) + " ("
             + fmt(get(c, "self_draft", "acceptance")) + ")"),
            ("drafter: draft step / decode step", fmt(get(c, "drafter", "draft_over_decode"))),
            ("drafter speedup (acceptance)", fmt(get(c, "drafter", "speedup_over_generator")) + " ("
             + fmt(get(c, "drafter", "acceptance")) + ")"),
            ("vs transformers: logits ‖Δ‖/‖ref‖", fmt(get(c, "vs_transformers", "logits_relative_error"))),
            ("vs transformers: greedy tokens agreeing", fmt(get(c, "vs_transformers", "greedy_tokens_agreeing")) + " / "
             + fmt(get(c, "vs_transformers", "greedy_tokens"))),
            ("vs CPU path: logits ‖Δ‖/‖ref‖", fmt(get(c, "vs_cpu", "logits_relative_error"))),
            ("vs CPU path: greedy tokens agreeing", fmt(get(c, "vs_cpu", "greedy_tokens_agreeing")) + " / "
             + fmt(get(c, "vs_cpu", "greedy_tokens"))),
        ]
        batched = c.get("batched_decode") or {}
        for size, v in (batched.get("sizes") or {}).items():
            rows.append((f"B = {size} sequences: aggregate decode tokens/s batched / in turn (ratio); greedy agreeing",
                         fmt(v.get("batched_tokens_per_second")) + " / " + fmt(v.get("in_turn_tokens_per_second"))
                         + " (" + fmt(v.get("batched_over_in_turn")) + "); " + fmt(v.get("greedy_tokens_agreeing"))
                         + " / " + fmt(v.get("greedy_tokens"))))
        if batched:
            valid = "valid" if batched.get("valid") else "**INVALID**: " + "; ".join(batched.get("invalid_reasons", []))
            rows.append(("batched decode self-checks", valid))
        for label in ("eager", "static_cache_compiled", "assisted", "assisted_self"):
            v = h.get(label)
            if v is None:
                continue
            if "tokens_per_second" in v:
                value = fmt(v["tokens_per_second"])
            else:
                value = "error: " + v.get("error", "")[:120]
            ratio = ""
            if "tokens_per_second" in v and c.get("generator_tokens_per_second"):
                ratio = f" (Candor generator / this: {c['generator_tokens_per_second'] / v['tokens_per_second']:.2f})"
            rows.append((f"transformers {label} tokens/s", value + ratio))
        out += [f"| {a} | {b} |" for a, b in rows]
        out.append("")
    djl = os.path.join(folder, "djl-cuda.txt")
    if os.path.exists(djl):
        lines = [l for l in open(djl) if l.strip()]
        keep = [l.rstrip() for l in lines if l.startswith("==") or "djl-cuda:" in l or "caused by" in l]
        out += ["## DJL's own CUDA path", "", "```", *keep[:20], "```", ""]
    print("\n".join(out))


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "build/gpu-out")
