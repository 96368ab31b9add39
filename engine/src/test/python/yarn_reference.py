"""Writes rope-reference.json: RoPE inverse frequencies and attention factors by Hugging Face's formulas.

A plain-Python (float64, no numpy, no torch) restatement of what transformers 5 does with a config.json's RoPE:
RotaryEmbeddingConfigMixin.convert_rope_params_to_dict / standardize_rope_params (rope_scaling, else
rope_parameters, flat or per layer type; rope_theta from there, else the top level, else 10000; for yarn the
original_max_position_embeddings from the top level, else the parameters, else max_position_embeddings), then
_compute_default_rope_parameters or _compute_yarn_parameters (find_correction_dim, find_correction_range with
truncate, linear_ramp_factor, the interpolation/extrapolation blend, get_mscale for the attention factor).
RopeParametersTest parses each config.json with Candor and compares (Candor computes in float32 as transformers'
tensors do, so agreement is to float32 rounding).

Run from the repository root:  python3 engine/src/test/python/yarn_reference.py
"""
import json
import math
import os

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "resources", "dev", "candor", "engine",
                   "checkpoint", "rope-reference.json")
LAYER_TYPES = {"full_attention", "sliding_attention"}


def standardized(config):
    """The flat rope parameter dict transformers 5 ends up with (one layer type: full_attention)."""
    params = config.get("rope_scaling") or config.get("rope_parameters") or {}
    if params and set(params) <= LAYER_TYPES:
        params = params["full_attention"]
    params = dict(params)
    params.setdefault("rope_theta", config.get("rope_theta", 10000.0))
    params.setdefault("rope_type", params.get("type", "default"))
    if params["rope_type"] == "yarn":
        if "original_max_position_embeddings" in config:
            params["original_max_position_embeddings"] = config["original_max_position_embeddings"]
        else:
            params.setdefault("original_max_position_embeddings", config["max_position_embeddings"])
    return params


def head_dim(config):
    return config.get("head_dim") or config["hidden_size"] // config["num_attention_heads"]


def default_rope(config, params):
    dim = head_dim(config)
    base = params["rope_theta"]
    return [1.0 / (base ** (i / dim)) for i in range(0, dim, 2)], 1.0


def yarn_rope(config, params):
    base = params["rope_theta"]
    dim = head_dim(config)
    factor = params.get("factor")
    attention_factor = params.get("attention_factor")
    mscale = params.get("mscale")
    mscale_all_dim = params.get("mscale_all_dim")
    original = params["original_max_position_embeddings"]
    if factor is None:
        factor = config["max_position_embeddings"] / original

    def get_mscale(scale, m=1):
        return 1.0 if scale <= 1 else 0.1 * m * math.log(scale) + 1.0

    if attention_factor is None:
        if mscale and mscale_all_dim:
            attention_factor = float(get_mscale(factor, mscale) / get_mscale(factor, mscale_all_dim))
        else:
            attention_factor = get_mscale(factor)
    beta_fast = params.get("beta_fast") or 32
    beta_slow = params.get("beta_slow") or 1

    def correction_dim(rotations):
        return (dim * math.log(original / (rotations * 2 * math.pi))) / (2 * math.log(base))

    low, high = correction_dim(beta_fast), correction_dim(beta_slow)
    if params.get("truncate", True):
        low, high = math.floor(low), math.ceil(high)
    low, high = max(low, 0), min(high, dim - 1)
    if low == high:
        high += 0.001
    inv_freq = []
    for k, i in enumerate(range(0, dim, 2)):
        pos_freq = base ** (i / dim)
        extrapolation = 1.0 / pos_freq
        interpolation = 1.0 / (factor * pos_freq)
        ramp = min(1.0, max(0.0, (k - low) / (high - low)))
        extrapolation_factor = 1 - ramp
        inv_freq.append(interpolation * (1 - extrapolation_factor) + extrapolation * extrapolation_factor)
    return inv_freq, attention_factor


def qwen2(hidden, heads, **extra):
    c = {"architectures": ["Qwen2ForCausalLM"], "model_type": "qwen2", "hidden_act": "silu", "hidden_size": hidden,
         "intermediate_size": 4 * hidden, "num_hidden_layers": 2, "num_attention_heads": heads,
         "num_key_value_heads": heads, "vocab_size": 1000, "max_position_embeddings": 32768, "rms_norm_eps": 1e-6,
         "tie_word_embeddings": False, "torch_dtype": "float32"}
    c.update(extra)
    return c


CONFIGS = [
    ("qwen2.5-7b-yarn-transformers4", qwen2(3584, 28, rope_theta=1000000.0,
        rope_scaling={"factor": 4.0, "original_max_position_embeddings": 32768, "type": "yarn"})),
    ("qwen3-8b-yarn-transformers5", qwen2(4096, 32, head_dim=128, max_position_embeddings=131072,
        rope_parameters={"rope_type": "yarn", "rope_theta": 1000000.0, "factor": 4.0,
                         "original_max_position_embeddings": 32768})),
    ("yarn-attention-factor-betas-no-truncate", qwen2(1024, 8, rope_theta=500000.0,
        rope_parameters={"rope_type": "yarn", "factor": 8.0, "original_max_position_embeddings": 8192,
                         "attention_factor": 0.8, "beta_fast": 16, "beta_slow": 2, "truncate": False})),
    ("yarn-mscale-deepseek-style", qwen2(1024, 16, rope_theta=10000.0, max_position_embeddings=163840,
        rope_scaling={"type": "yarn", "factor": 40, "original_max_position_embeddings": 4096, "mscale": 1.0,
                      "mscale_all_dim": 0.707, "beta_fast": 32, "beta_slow": 1})),
    ("yarn-factor-from-lengths", qwen2(512, 8, rope_theta=1000000.0, max_position_embeddings=65536,
        rope_parameters={"rope_type": "yarn", "original_max_position_embeddings": 16384})),
    ("yarn-per-layer-type", qwen2(512, 4, max_position_embeddings=65536, layer_types=["full_attention"] * 2,
        rope_parameters={"full_attention": {"rope_type": "yarn", "rope_theta": 1000000.0, "factor": 2.0,
                                            "original_max_position_embeddings": 32768}})),
    ("yarn-top-level-original-wins", qwen2(512, 4, rope_theta=10000.0, original_max_position_embeddings=8192,
        rope_parameters={"rope_type": "yarn", "factor": 2.0, "original_max_position_embeddings": 4096})),
    ("yarn-beta-zero-means-default", qwen2(512, 4, rope_theta=10000.0,
        rope_parameters={"rope_type": "yarn", "factor": 2.0, "original_max_position_embeddings": 4096,
                         "beta_fast": 0, "beta_slow": None})),
    ("yarn-tiny-odd-test-shape", qwen2(32, 4, head_dim=8, rope_theta=10000.0, max_position_embeddings=512,
        rope_parameters={"rope_type": "yarn", "factor": 4.0, "original_max_position_embeddings": 128})),
    ("default-rope-parameters-only", qwen2(896, 14, max_position_embeddings=32768,
        rope_parameters={"rope_type": "default", "rope_theta": 1000000.0})),
    ("default-rope-theta-only", qwen2(896, 14, rope_theta=1000000.0)),
    ("default-theta-absent", qwen2(896, 14)),
    ("default-theta-in-both-parameters-win", qwen2(896, 14, rope_theta=10000.0,
        rope_parameters={"rope_type": "default", "rope_theta": 1000000.0})),
    ("rope-scaling-default-type", qwen2(896, 14, rope_theta=1000000.0, rope_scaling={"type": "default"})),
]


def main():
    out = []
    for name, config in CONFIGS:
        params = standardized(config)
        compute = yarn_rope if params["rope_type"] == "yarn" else default_rope
        inv_freq, attention_factor = compute(config, params)
        out.append({"name": name, "config": config, "rope_type": params["rope_type"],
                    "rope_theta": params["rope_theta"], "inv_freq": inv_freq, "attention_factor": attention_factor})
    os.makedirs(os.path.dirname(OUT), exist_ok=True)
    with open(OUT, "w", encoding="utf-8") as f:
        json.dump({"formula": "transformers 5 modeling_rope_utils, in float64", "cases": out}, f, indent=1)
        f.write("\n")
    print(f"wrote {len(out)} cases to {os.path.normpath(OUT)}")


if __name__ == "__main__":
    main()
