"""The chat-template environment of Hugging Face transformers, rebuilt from its documented configuration.

transformers (utils/chat_template_utils.py, _compile_jinja_template) renders chat templates with
    ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True,
                                  extensions=[AssistantTracker, jinja2.ext.loopcontrols])
where AssistantTracker adds a {% generation %}...{% endgeneration %} block that renders its body, and with
    filters["tojson"] = json.dumps(x, ensure_ascii=False, indent=None, separators=None, sort_keys=False)
    globals["raise_exception"] = raise jinja2.exceptions.TemplateError(message)
    globals["strftime_now"] = datetime.now().strftime(format)
apply_chat_template then renders with messages=, tools= (None when not given), documents=None,
add_generation_prompt=, the tokenizer's special tokens (special_tokens_map: only those that are set) and the
caller's extra keyword arguments.

strftime_now here uses a fixed clock (FIXED_NOW) so that its output can be committed as test data.
"""
import datetime
import json

import jinja2
import jinja2.ext
import jinja2.nodes
from jinja2.sandbox import ImmutableSandboxedEnvironment

FIXED_NOW = datetime.datetime(2026, 3, 7, 14, 5, 9, 123456)


class GenerationTag(jinja2.ext.Extension):
    """{% generation %}body{% endgeneration %}: renders body (HF also records where it starts and ends)."""
    tags = {"generation"}

    def parse(self, parser):
        lineno = next(parser.stream).lineno
        body = parser.parse_statements(["name:endgeneration"], drop_needle=True)
        return jinja2.nodes.CallBlock(self.call_method("_render"), [], [], body).set_lineno(lineno)

    def _render(self, caller):
        return caller()


def environment():
    env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True,
                                        extensions=[GenerationTag, jinja2.ext.loopcontrols])

    def raise_exception(message):
        raise jinja2.exceptions.TemplateError(message)

    def tojson(x, ensure_ascii=False, indent=None, separators=None, sort_keys=False):
        return json.dumps(x, ensure_ascii=ensure_ascii, indent=indent, separators=separators, sort_keys=sort_keys)

    def strftime_now(format):
        return FIXED_NOW.strftime(format)

    env.filters["tojson"] = tojson
    env.globals["raise_exception"] = raise_exception
    env.globals["strftime_now"] = strftime_now
    return env


def render(template, **variables):
    """The rendered text, or ("error", exception type name, message)."""
    try:
        return environment().from_string(template).render(**variables)
    except Exception as e:  # noqa: BLE001 - every failure is recorded as data
        return ("error", type(e).__name__, str(e))
