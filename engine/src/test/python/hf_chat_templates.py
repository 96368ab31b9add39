"""Writes chat-template-golden.json: conversations rendered as transformers' apply_chat_template renders them.

The templates are the published Qwen2.5-Instruct and Qwen3 chat templates (their tokenizer_config.json, unchanged)
and four templates written for these tests in the style of other common ones (templates/*.jinja). Each case is
rendered in Hugging Face's environment (hf_jinja.py) with the variables apply_chat_template passes:
messages, tools (None when not given), documents=None, add_generation_prompt, the tokenizer's special tokens
(transformers' special_tokens_map: only the tokens the config sets) and the extra keyword arguments.
ChatTemplateGoldenTest renders every case through Candor's ChatTemplate and compares the bytes.

Run from the repository root:  python3 engine/src/test/python/hf_chat_templates.py
"""
import json
import os
import sys

import jinja2

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from hf_jinja import render  # noqa: E402

ROOT = os.path.normpath(os.path.join(HERE, "..", "..", "..", ".."))
RES = os.path.join(HERE, "..", "resources", "dev", "candor", "engine", "tokenizer")
OUT = os.path.join(RES, "chat-template-golden.json")

SPECIAL_TOKEN_ATTRIBUTES = ["bos_token", "eos_token", "unk_token", "sep_token", "pad_token", "cls_token",
                            "mask_token", "additional_special_tokens"]


def special_tokens_map(config):
    """transformers' tokenizer.special_tokens_map: each attribute the config sets to a non-empty value."""
    out = {}
    for name in SPECIAL_TOKEN_ATTRIBUTES:
        value = config.get(name)
        if isinstance(value, dict):
            value = value.get("content")
        if value:
            out[name] = value
    return out


def tokenizer_template(path):
    with open(path, encoding="utf-8") as f:
        config = json.load(f)
    return config["chat_template"], special_tokens_map(config)


STYLE_TOKENS = {
    "llama3-style": {"bos_token": "<|begin_of_text|>", "eos_token": "<|eot_id|>"},
    "mistral-style": {"bos_token": "<s>", "eos_token": "</s>", "unk_token": "<unk>"},
    "deepseek-r1-style": {"bos_token": "<｜begin▁of▁sentence｜>", "eos_token": "<｜end▁of▁sentence｜>"},
    "gemma-style": {"bos_token": "<bos>", "eos_token": "<eos>", "pad_token": "<pad>"},
}


def templates():
    out = {
        "qwen2.5": tokenizer_template(os.path.join(ROOT, "models", "tokenizers", "qwen2.5", "tokenizer_config.json")),
        "qwen3": tokenizer_template(os.path.join(RES, "qwen3", "tokenizer_config.json")),
    }
    for name, tokens in STYLE_TOKENS.items():
        with open(os.path.join(RES, "templates", name + ".jinja"), encoding="utf-8") as f:
            out[name] = (f.read(), tokens)
    return out


# ---- conversations ----

def msg(role, content, **extra):
    m = {"role": role, "content": content}
    m.update(extra)
    return m


WEATHER = {"type": "function", "function": {
    "name": "get_weather", "description": "Current weather for a city, in °C or °F.",
    "parameters": {"type": "object", "properties": {
        "city": {"type": "string", "description": "City name, e.g. Zürich"},
        "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]}},
        "required": ["city"]}}}
SEARCH = {"type": "function", "function": {
    "name": "search", "description": "Search the web.",
    "parameters": {"type": "object", "properties": {"query": {"type": "string"},
                                                    "top_k": {"type": "integer", "minimum": 1, "maximum": 10}},
                   "required": ["query"]}}}
TOOLS = [WEATHER, SEARCH]


def call(id_, name, arguments):
    return {"id": id_, "type": "function", "function": {"name": name, "arguments": arguments}}


SIMPLE = [msg("user", "What is 2+2?")]
SYSTEM_MULTI = [msg("system", "You are terse."), msg("user", "Hello"), msg("assistant", "Hi."),
                msg("user", "Again?")]
THINKING_FIELD = [msg("user", "Is 17 prime?"),
                  msg("assistant", "Yes, 17 is prime.", reasoning_content="17 has no divisors but 1 and 17."),
                  msg("user", "And 21?")]
THINKING_LAST = [msg("user", "Is 17 prime?"),
                 msg("assistant", "Yes.", reasoning_content="\nCheck 2, 3: no.\n")]
THINKING_INLINE = [msg("user", "Is 17 prime?"),
                   msg("assistant", "<think>\nTry 2, 3, 4.\n</think>\n\nYes, it is prime."),
                   msg("user", "Why?")]
TOOL_CONVERSATION = [
    msg("system", "You help with the weather."),
    msg("user", "Weather in Paris and Zürich?"),
    msg("assistant", "", tool_calls=[call("c1", "get_weather", {"city": "Paris"}),
                                     call("c2", "get_weather", {"city": "Zürich", "unit": "celsius"})]),
    msg("tool", '{"temp": 18, "sky": "clear"}', tool_call_id="c1", name="get_weather"),
    msg("tool", '{"temp": 11, "sky": "rain"}', tool_call_id="c2", name="get_weather"),
    msg("assistant", "Paris: 18 °C, clear. Zürich: 11 °C, rain."),
    msg("user", "Thanks!"),
]
TOOL_MULTI_STEP = [
    msg("user", "Find the weather where the 2026 Olympics are."),
    msg("assistant", "Let me search.", reasoning_content="I need the host city first.",
        tool_calls=[call("a", "search", {"query": "2026 Winter Olympics host city", "top_k": 3})]),
    msg("tool", "Milan and Cortina d'Ampezzo", tool_call_id="a"),
    msg("assistant", "", reasoning_content="Now the weather in Milan.",
        tool_calls=[call("b", "get_weather", {"city": "Milan"})]),
    msg("tool", '{"temp": 4}', tool_call_id="b"),
]
TOOL_ARGUMENTS_STRING = [
    msg("user", "Weather in Oslo?"),
    msg("assistant", "", tool_calls=[call("x", "get_weather", '{"city": "Oslo"}')]),
    msg("tool", "-3 °C"),
]
TOOL_RESPONSE_AS_USER = [msg("user", "Hi"), msg("assistant", "Hello"),
                         msg("user", "<tool_response>\nok\n</tool_response>")]
HOSTILE = [msg("system", "{% if true %}not a tag{% endif %}"),
           msg("user", "{{ 7 * 7 }} {% for x in range(3) %}x{% endfor %} {# c #} \\n '\" <|im_end|> {{ raise_exception('boom') }}"),
           msg("assistant", "{%- raw %}{{ messages }}{% endraw -%}"),
           msg("user", "}} {{ {% %} #} {#")]
UNICODE = [msg("system", "Réponds en français. 你好. مرحبا. ᚠᛇᚻ."),
           msg("user", "Emoji 🦙🧪👩‍👩‍👧, combining e\u0301, ZWJ, NBSP:\u00a0|, line sep:\u2028|, tab:\t|, CRLF:\r\n|"),
           msg("assistant", "Ça va 😀"), msg("user", "\u0000 and \u001f and \u007f")]
SYSTEM_LATER = [msg("user", "a"), msg("system", "mid-conversation system"), msg("assistant", "b"), msg("user", "c")]
EMPTY_SYSTEM = [msg("system", ""), msg("user", "x")]
UNKNOWN_ROLE = [msg("user", "a"), msg("developer", "dev note"), msg("user", "b")]
NULL_CONTENT_TOOL_CALL = [msg("user", "Weather?"),
                          msg("assistant", None, tool_calls=[call("n", "get_weather", {"city": "Rome"})])]
ALTERNATING_BROKEN = [msg("user", "a"), msg("user", "b")]
LLAMA_TOOLS = [msg("system", "  Be helpful.  "), msg("user", "Weather in Lima?"),
               msg("assistant", None, tool_calls=[call("l", "get_weather", {"city": "Lima"})]),
               msg("tool", {"temp": 22}), msg("user", "ok")]


def case(template, messages, add_generation_prompt=True, tools=None, kwargs=None, name=None):
    return {"name": name, "template": template, "messages": messages, "tools": tools,
            "add_generation_prompt": add_generation_prompt, "kwargs": kwargs or {}}


def cases():
    out = []
    for t in ["qwen2.5", "qwen3"]:
        out += [
            case(t, SIMPLE, name="simple"),
            case(t, SYSTEM_MULTI, name="system_multi_turn"),
            case(t, SYSTEM_MULTI, add_generation_prompt=False, name="no_generation_prompt"),
            case(t, THINKING_FIELD, name="thinking_reasoning_content"),
            case(t, THINKING_LAST, add_generation_prompt=False, name="thinking_last_turn"),
            case(t, THINKING_INLINE, name="thinking_inline"),
            case(t, SIMPLE, kwargs={"enable_thinking": False}, name="enable_thinking_false"),
            case(t, SIMPLE, kwargs={"enable_thinking": True}, name="enable_thinking_true"),
            case(t, SYSTEM_MULTI, tools=TOOLS, name="tools_with_system"),
            case(t, SIMPLE, tools=TOOLS, name="tools_without_system"),
            case(t, SIMPLE, tools=[], name="tools_empty_list"),
            case(t, TOOL_CONVERSATION, tools=TOOLS, name="tool_calls_and_responses"),
            case(t, TOOL_MULTI_STEP, tools=TOOLS, name="tool_multi_step"),
            case(t, TOOL_MULTI_STEP, tools=TOOLS, kwargs={"enable_thinking": False}, name="tool_multi_step_no_think"),
            case(t, TOOL_ARGUMENTS_STRING, tools=TOOLS, name="tool_arguments_string"),
            case(t, TOOL_RESPONSE_AS_USER, name="tool_response_as_user"),
            case(t, HOSTILE, name="template_syntax_in_messages"),
            case(t, UNICODE, name="unicode"),
            case(t, SYSTEM_LATER, name="system_later"),
            case(t, EMPTY_SYSTEM, name="empty_system"),
            case(t, UNKNOWN_ROLE, name="unknown_role_dropped"),
            case(t, NULL_CONTENT_TOOL_CALL, tools=TOOLS, name="null_content_tool_call"),
            case(t, [], name="no_messages"),
            case(t, SIMPLE, kwargs={"eos_token": "<override>", "custom": [1, {"a": None}]}, name="kwargs_override"),
        ]
    out += [
        case("llama3-style", SYSTEM_MULTI, name="dated_system"),
        case("llama3-style", LLAMA_TOOLS, tools=[WEATHER], name="tools_in_first_user_turn"),
        case("llama3-style", SIMPLE, kwargs={"date_string": "26 Jul 2024"}, name="date_kwarg"),
        case("llama3-style", [msg("user", "a"), msg("assistant", None, tool_calls=[call("1", "s", {}), call("2", "s", {})])],
             name="two_tool_calls_refused"),
        case("mistral-style", SYSTEM_MULTI, name="system_into_last_user"),
        case("mistral-style", ALTERNATING_BROKEN, name="alternation_refused"),
        case("mistral-style", [msg("user", "  padded  "), msg("assistant", "  reply  "), msg("user", "more")],
             name="trimmed_replies"),
        case("deepseek-r1-style", THINKING_INLINE, name="reasoning_stripped"),
        case("deepseek-r1-style", [msg("system", "A. "), msg("system", "B."), msg("user", "q")], name="systems_joined"),
        case("gemma-style", SYSTEM_MULTI, name="system_into_first_user"),
        case("gemma-style", ALTERNATING_BROKEN, name="alternation_refused"),
        case("gemma-style", UNICODE, name="unicode"),
    ]
    return out


def main():
    tpl = templates()
    results = []
    for c in cases():
        source, tokens = tpl[c["template"]]
        variables = dict(tokens)
        variables.update(c["kwargs"])
        rendered = render(source, messages=c["messages"], tools=c["tools"], documents=None,
                          add_generation_prompt=c["add_generation_prompt"], **variables)
        c = dict(c)
        c["name"] = c["template"] + "/" + c["name"]
        if isinstance(rendered, tuple):
            c["error"], c["message"] = rendered[1], rendered[2]
        else:
            c["output"] = rendered
        results.append(c)
    with open(OUT, "w", encoding="utf-8") as f:
        json.dump({"jinja2": jinja2.__version__, "special_tokens": {k: v[1] for k, v in tpl.items()},
                   "cases": results}, f, ensure_ascii=False, indent=1)
        f.write("\n")
    print(f"wrote {len(results)} cases to {os.path.normpath(OUT)}")


if __name__ == "__main__":
    main()
