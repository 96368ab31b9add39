#!/usr/bin/env python3
"""Hugging Face's side of the GPU proof (bench/gpu/run.sh runs it on the device; nothing here needs a network).

  make       a random BF16 checkpoint of a real Qwen2.5 shape, sharded like the hub's, with the Qwen2.5 tokenizer
  reference  transformers' logits for a chat prompt's last rows and its greedy continuation, for GpuBench to compare
  bench      transformers' decode speed on the same checkpoint: eager, static cache + torch.compile, and assisted
             generation with a drafter and with itself as its own drafter
"""
import argparse
import json
import os
import shutil
import sys
import time

import torch

SHAPES = {
    # Qwen/Qwen2.5-0.5B-Instruct and Qwen/Qwen2.5-7B-Instruct, as their config.json files give them
    "0.5b": dict(hidden_size=896, intermediate_size=4864, num_hidden_layers=24, num_attention_heads=14,
                 num_key_value_heads=2, vocab_size=151936, tie_word_embeddings=True),
    "7b": dict(hidden_size=3584, intermediate_size=18944, num_hidden_layers=28, num_attention_heads=28,
               num_key_value_heads=4, vocab_size=152064, tie_word_embeddings=False),
}
PROMPT = "Write a Python function that returns the n-th Fibonacci number, with a short docstring."


def config_json(shape, vocab=None):
    c = dict(SHAPES[shape])
    if vocab:
        c["vocab_size"] = vocab
    c.update(architectures=["Qwen2ForCausalLM"], model_type="qwen2", hidden_act="silu", rms_norm_eps=1e-6,
             rope_theta=1000000.0, max_position_embeddings=32768, torch_dtype="bfloat16", use_sliding_window=False,
             sliding_window=32768, max_window_layers=21, attention_dropout=0.0, bos_token_id=151643,
             eos_token_id=151645, initializer_range=0.02, use_cache=True, rope_scaling=None)
    return c


def tensors(c):
    """(name, shape, kind) for every weight of a Qwen2ForCausalLM."""
    h, i, heads, kv = c["hidden_size"], c["intermediate_size"], c["num_attention_heads"], c["num_key_value_heads"]
    hd = h // heads
    yield "model.embed_tokens.weight", (c["vocab_size"], h), "matrix"
    for l in range(c["num_hidden_layers"]):
        p = f"model.layers.{l}."
        yield p + "input_layernorm.weight", (h,), "norm"
        yield p + "self_attn.q_proj.weight", (heads * hd, h), "matrix"
        yield p + "self_attn.q_proj.bias", (heads * hd,), "bias"
        yield p + "self_attn.k_proj.weight", (kv * hd, h), "matrix"
        yield p + "self_attn.k_proj.bias", (kv * hd,), "bias"
        yield p + "self_attn.v_proj.weight", (kv * hd, h), "matrix"
        yield p + "self_attn.v_proj.bias", (kv * hd,), "bias"
        yield p + "self_attn.o_proj.weight", (h, heads * hd), "matrix"
        yield p + "post_attention_layernorm.weight", (h,), "norm"
        yield p + "mlp.gate_proj.weight", (i, h), "matrix"
        yield p + "mlp.up_proj.weight", (i, h), "matrix"
        yield p + "mlp.down_proj.weight", (h, i), "matrix"
    yield "model.norm.weight", (h,), "norm"
    if not c["tie_word_embeddings"]:
        yield "lm_head.weight", (c["vocab_size"], h), "matrix"


def make(args):
    from safetensors.torch import save_file
    if os.path.exists(os.path.join(args.out, "config.json")):
        print(f"{args.out}: exists")
        return
    os.makedirs(args.out, exist_ok=True)
    c = config_json(args.shape, args.vocab)
    # plan the shards (at most 4 GB each, as the hub's), then make and write one shard at a time
    specs = list(tensors(c))
    plan, size, limit = [[]], 0, int(args.shard_gb * (1 << 30))
    for spec in specs:
        n = 2 * torch.Size(spec[1]).numel()
        if size + n > limit and plan[-1]:
            plan.append([])
            size = 0
        plan[-1].append(spec)
        size += n
    g = torch.Generator(device=args.device).manual_seed(args.seed)
    index = {"metadata": {"total_size": 0}, "weight_map": {}}
    for k, shard_specs in enumerate(plan):
        file = f"model-{k + 1:05d}-of-{len(plan):05d}.safetensors" if len(plan) > 1 else "model.safetensors"
        shard = {}
        for name, shape, kind in shard_specs:
            if kind == "norm":  # around 1, as trained norms are, not exactly 1
                t = 1 + 0.1 * torch.randn(shape, generator=g, device=args.device)
            else:
                t = args.std * torch.randn(shape, generator=g, device=args.device)
            shard[name] = t.to(torch.bfloat16).cpu().contiguous()
            index["weight_map"][name] = file
            index["metadata"]["total_size"] += t.numel() * 2
        save_file(shard, os.path.join(args.out, file), metadata={"format": "pt"})
        del shard
    if len(plan) > 1:
        with open(os.path.join(args.out, "model.safetensors.index.json"), "w") as f:
            json.dump(index, f, indent=2)
    with open(os.path.join(args.out, "config.json"), "w") as f:
        json.dump(c, f, indent=2)
    with open(os.path.join(args.out, "generation_config.json"), "w") as f:
        json.dump({"bos_token_id": 151643, "eos_token_id": [151645, 151643], "do_sample": False}, f, indent=2)
    for name in ("tokenizer.json", "tokenizer_config.json"):
        shutil.copy(os.path.join(args.tokenizer, name), args.out)
    print(f"{args.out}: {len(plan)} shard(s), {index['metadata']['total_size'] / 1e9:.2f} GB")


def load(path, device="cuda"):
    """The checkpoint in BF16 on the GPU, whatever this transformers calls the dtype argument."""
    import transformers
    from transformers import AutoModelForCausalLM
    key = "dtype" if int(transformers.__version__.split(".")[0]) >= 5 else "torch_dtype"
    try:
        model = AutoModelForCausalLM.from_pretrained(path, device_map=device, **{key: torch.bfloat16})
    except (ImportError, ValueError):  # no accelerate for device_map: load, then move
        model = AutoModelForCausalLM.from_pretrained(path, **{key: torch.bfloat16}).to(device)
    if model.dtype != torch.bfloat16:
        model = model.to(torch.bfloat16)
    return model.eval()


def prompt_ids(path):
    from transformers import AutoTokenizer
    tok = AutoTokenizer.from_pretrained(path)
    ids = tok.apply_chat_template([{"role": "user", "content": PROMPT}], add_generation_prompt=True, tokenize=True)
    if hasattr(ids, "keys"):  # transformers 5 returns a BatchEncoding
        ids = ids["input_ids"]
    if hasattr(ids, "tolist"):
        ids = ids.tolist()
    if ids and isinstance(ids[0], list):  # a batch of one
        ids = ids[0]
    return [int(i) for i in ids]


@torch.no_grad()
def reference(args):
    import transformers
    os.makedirs(args.out, exist_ok=True)
    model = load(args.model)
    ids = prompt_ids(args.model)
    x = torch.tensor([ids], device="cuda")
    logits = model(x).logits[0, -args.rows:].float().cpu().contiguous()
    logits.numpy().astype("<f4").tofile(os.path.join(args.out, "logits.f32"))
    out = model.generate(x, max_new_tokens=args.greedy, min_new_tokens=args.greedy, do_sample=False)
    greedy = out[0, len(ids):].tolist()
    with open(os.path.join(args.out, "reference.json"), "w") as f:
        json.dump({"prompt": ids, "logit_rows": args.rows, "greedy": greedy,
                   "transformers": transformers.__version__, "torch": torch.__version__}, f)
    print(f"reference: {len(ids)} prompt tokens, {args.rows} logit rows, {len(greedy)} greedy tokens")


def timed_generate(model, x, n, **kwargs):
    torch.cuda.synchronize()
    t0 = time.perf_counter()
    out = model.generate(x, max_new_tokens=n, min_new_tokens=n, do_sample=False, **kwargs)
    torch.cuda.synchronize()
    return time.perf_counter() - t0, out


@torch.no_grad()
def bench(args):
    import transformers
    model = load(args.model)
    x = torch.tensor([prompt_ids(args.model)], device="cuda")
    n = args.tokens
    r = {"transformers": transformers.__version__, "torch": torch.__version__, "tokens": n,
         "device": torch.cuda.get_device_name()}

    def rate(label, **kwargs):
        try:
            timed_generate(model, x, 8, **kwargs)  # warm-up (and compilation)
            short, _ = timed_generate(model, x, 1, **kwargs)  # prefill and one token
            times = [timed_generate(model, x, n, **kwargs)[0] for _ in range(3)]
            t = sorted(times)[1]
            r[label] = {"tokens_per_second": (n - 1) / max(t - short, 1e-9), "seconds": t}
        except Exception as e:  # record why, go on with the rest
            r[label] = {"error": f"{type(e).__name__}: {e}"[:500]}
        print(label, r[label], flush=True)

    rate("eager")
    if args.drafter:
        drafter = load(args.drafter)
        rate("assisted", assistant_model=drafter)
        del drafter
    rate("assisted_self", assistant_model=model)
    if not args.no_compile:
        try:
            model.generation_config.cache_implementation = "static"
            model.forward = torch.compile(model.forward, mode="reduce-overhead", fullgraph=True)
            rate("static_cache_compiled")
        except Exception as e:
            r["static_cache_compiled"] = {"error": f"{type(e).__name__}: {e}"[:500]}
    with open(args.out, "w") as f:
        json.dump(r, f, indent=2)


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="command", required=True)
    m = sub.add_parser("make")
    m.add_argument("--shape", choices=SHAPES, required=True)
    m.add_argument("--vocab", type=int, help="another vocab_size (a drafter sized to its target's lm_head)")
    m.add_argument("--out", required=True)
    m.add_argument("--tokenizer", default="models/tokenizers/qwen2.5")
    m.add_argument("--std", type=float, default=0.02)
    m.add_argument("--seed", type=int, default=1)
    m.add_argument("--shard-gb", type=float, default=4.0, help="largest shard, in GiB")
    m.add_argument("--device", default="cuda", help="where to draw the random numbers (cpu works, slowly)")
    ref = sub.add_parser("reference")
    ref.add_argument("--model", required=True)
    ref.add_argument("--out", required=True)
    ref.add_argument("--rows", type=int, default=8)
    ref.add_argument("--greedy", type=int, default=32)
    b = sub.add_parser("bench")
    b.add_argument("--model", required=True)
    b.add_argument("--drafter")
    b.add_argument("--tokens", type=int, default=256)
    b.add_argument("--no-compile", action="store_true")
    b.add_argument("--out", required=True)
    args = p.parse_args()
    {"make": make, "reference": reference, "bench": bench}[args.command](args)


if __name__ == "__main__":
    sys.exit(main())
