"""Writes jinja-conformance.json: small templates rendered by Python's jinja2 in Hugging Face's environment.

Each case is (name, template, variables); the output records the rendered text, or the exception Python raised.
JinjaConformanceTest renders every case with Candor's interpreter and compares: the text byte for byte, or that
it fails too (with the matching kind of error). Run from the repository root:

    python3 engine/src/test/python/jinja_conformance.py

(jinja2 3.1, as Debian's python3-jinja2 ships it; the output records the version used.)
"""
import json
import os
import sys

import jinja2

sys.path.insert(0, os.path.dirname(__file__))
from hf_jinja import render  # noqa: E402

OUT = os.path.join(os.path.dirname(__file__), "..", "resources", "dev", "candor", "engine", "tokenizer",
                   "jinja-conformance.json")

MSGS = [{"role": "system", "content": "S"}, {"role": "user", "content": "Hi"},
        {"role": "assistant", "content": "Hello!"}, {"role": "user", "content": "Bye"}]

CASES = [
    # ---- whitespace control: trim_blocks, lstrip_blocks, - and + ----
    ("trim_blocks", "{% if true %}\nyes\n{% endif %}\nafter", {}),
    ("lstrip_blocks", "  {% if true %}\n    x\n  {% endif %}\n", {}),
    ("lstrip_not_for_variables", "  {{ 'v' }}\n  {% if true %}z{% endif %}", {}),
    ("lstrip_text_before_tag", "a  {% if true %}b{% endif %}", {}),
    ("minus_left", "a   \n\n  {%- if true %}b{% endif %}", {}),
    ("minus_right", "{% if true -%}   \n\n  b{% endif %}", {}),
    ("minus_variable", "a  {{- 'b' -}}  c", {}),
    ("plus_keeps_indent", "  {%+ if true %}x{% endif %}", {}),
    ("plus_keeps_newline", "{% if true +%}\nx{% endif %}", {}),
    ("comment_trim", "a\n  {# note #}\nb", {}),
    ("comment_minus", "a  {#- note -#}  b", {}),
    ("crlf_source", "a\r\n{% if true %}\r\nb\r\n{% endif %}\r\n", {}),
    ("trailing_newline_dropped", "x\n", {}),
    ("two_trailing_newlines", "x\n\n", {}),
    ("raw", "{% raw %}{{ not rendered }} {% if %}{% endraw %}", {}),
    ("raw_minus", "a {%- raw -%} {{ x }} {%- endraw -%} b", {}),
    ("raw_trim", "{% raw %}\nx\n{% endraw %}\ny", {}),
    ("line_starting_after_block", "{% if true %}\n  {% if true %}\n    deep\n  {% endif %}\n{% endif %}", {}),
    ("tabs_lstrip", "\t{% if true %}x{% endif %}", {}),
    ("data_only_whitespace", "   ", {}),
    ("empty", "", {}),
    ("newline_only_after_tag", "{% set x = 1 %}\n\n{{ x }}", {}),
    ("minus_both_in_loop", "{%- for i in [1, 2] -%}\n  {{ i }}\n{%- endfor -%}", {}),
    ("variable_then_newline", "{{ 'a' }}\n{{ 'b' }}\n", {}),
    # ---- literals and printing ----
    ("print_none", "{{ none }}|{{ None }}|{{ true }}|{{ False }}", {}),
    ("print_numbers", "{{ 1 }} {{ -3 }} {{ 1.0 }} {{ 1.5e3 }} {{ 0.1 }} {{ 1e-5 }} {{ 1e16 }} {{ 1e15 }} {{ 123456789012345678 }}", {}),
    ("print_float_repr", "{{ 0.1 + 0.2 }} {{ 1 / 3 }} {{ 2 / 2 }} {{ 10 ** 20 }} {{ 2.0 ** 70 }} {{ -0.0 }}", {}),
    ("int_forms", "{{ 0x1F }} {{ 0o17 }} {{ 0b101 }} {{ 1_000 }} {{ 1_0.5 }}", {}),
    ("print_list", "{{ [1, 'a', none, true, 1.5, [2]] }}", {}),
    ("print_dict", "{{ {'a': 1, 'b': [1, 2], 'c': {'d': none}} }}", {}),
    ("print_tuple", "{{ (1,) }} {{ (1, 2) }} {{ () }} {{ 1, 2 }}", {}),
    ("string_quotes", "{{ \"it's\" }} {{ 'say \"hi\"' }} {{ ['it\\'s', \"a\\\"b\"] }} {{ ['both \\' \"'] }}", {}),
    ("string_escapes", "{{ 'a\\tb\\\\c\\x41\\u00e9\\U0001F600\\101\\N{BULLET}' }}", {}),
    ("string_unknown_escape", "{{ 'a\\db\\q' }}", {}),
    ("string_repr_escapes", "{{ ['a\\nb', '\\t', '\\x00', '\\x7f', '\u00e9', '\\u2028', '\u00a0', '\\U0001F600'] }}", {}),
    ("adjacent_strings", "{{ 'a' 'b' \"c\" }}", {}),
    ("unicode_literal", "{{ 'héllo wörld 你好 🦙' }}", {}),
    ("backslash_before_unicode", "{{ '\\é' }}", {}),
    # ---- operators ----
    ("arithmetic", "{{ 7 + 3 }} {{ 7 - 10 }} {{ 7 * 3 }} {{ 7 / 2 }} {{ 7 // 2 }} {{ -7 // 2 }} {{ 7 % 3 }} {{ -7 % 3 }} {{ 7 % -3 }} {{ 2 ** 10 }} {{ 2 ** -1 }}", {}),
    ("float_arith", "{{ 7.5 // 2 }} {{ -7.5 % 2 }} {{ 7.5 % -2 }} {{ 1.5 * 2 }} {{ 3 - 0.5 }}", {}),
    ("pow_left_assoc", "{{ 2 ** 3 ** 2 }} {{ -2 ** 2 }} {{ (-2) ** 2 }}", {}),
    ("precedence", "{{ 1 + 2 * 3 }} {{ (1 + 2) * 3 }} {{ 2 * 3 ~ 4 }} {{ 10 - 2 - 3 }} {{ 'a' ~ 1 + 2 ~ 'b' if false else 'c' }}", {}),
    ("err_tilde_binds_tighter_than_plus", "{{ 1 + 2 ~ 3 + 4 }}", {}),
    ("concat_tilde", "{{ 'a' ~ 1 ~ none ~ true ~ [1] ~ undefined_thing }}", {}),
    ("string_plus", "{{ 'a' + 'b' }} {{ [1] + [2, 3] }} {{ (1,) + (2,) }} {{ 'ab' * 3 }} {{ 3 * 'x' }} {{ [0] * 3 }} {{ 'x' * 0 }} {{ 'x' * -1 }}", {}),
    ("bool_arith", "{{ true + true }} {{ true * 3 }} {{ -true }} {{ 'x' * true }}", {}),
    ("and_or_values", "{{ 'a' and 'b' }}|{{ '' and 'b' }}|{{ 'a' or 'b' }}|{{ '' or 0 }}|{{ none or [] }}|{{ 0 and x.y }}", {}),
    ("not_precedence", "{{ not true and false }} {{ not (true and false) }} {{ not 1 == 2 }} {{ not none }}", {}),
    ("comparisons", "{{ 1 < 2 }} {{ 2 <= 2 }} {{ 3 > 4 }} {{ 'a' < 'b' }} {{ [1, 2] < [1, 3] }} {{ (1, 2) == (1, 2) }} {{ [1] == (1,) }} {{ 1 == 1.0 }} {{ true == 1 }} {{ 'a' != 'a' }}", {}),
    ("chained_comparison", "{{ 1 < 2 < 3 }} {{ 1 < 3 < 2 }} {{ 3 > 2 == 2 }}", {}),
    ("in_operator", "{{ 'b' in 'abc' }} {{ 2 in [1, 2] }} {{ 'k' in {'k': 1} }} {{ 3 not in [1] }} {{ 'x' in undefined_thing }} {{ 1 in (1, 2) }}", {}),
    ("none_compare", "{{ none == none }} {{ none == 0 }} {{ undefined_a == undefined_b }} {{ undefined_a == none }}", {}),
    ("dict_equality", "{{ {'a': 1, 'b': 2} == {'b': 2, 'a': 1} }} {{ {'a': 1} == {'a': 1.0} }}", {}),
    ("condexpr", "{{ 'y' if true else 'n' }} {{ 'y' if false else 'n' }} [{{ 'y' if false }}] {{ 'a' if false else 'b' if true else 'c' }}", {}),
    ("unary_minus_filter", "{{ -5 | abs }} {{ -(5 | abs) }} {{ - 2 + 3 }}", {}),
    ("filter_binds_tighter", "{{ 'ab' ~ 'cd' | upper }} {{ [1, 2] + [3] | list }} {{ 1 + [1, 2] | length }}", {}),
    ("test_precedence", "{{ 1 is number and 'x' is string }} {{ not 1 is string }} {{ 2 + 3 is odd }}", {}),
    ("int_overflow", "{{ 9223372036854775807 + 1 }} {{ -9223372036854775808 - 1 }} {{ 2 ** 64 }} {{ 99999999999999999999 * 3 }} {{ 2 ** 100 // 3 }}", {}),
    ("int_float_mixed_compare", "{{ 9007199254740993 == 9007199254740992.0 }} {{ 9007199254740992 == 9007199254740992.0 }}", {}),
    # ---- variables, attributes, items ----
    ("getattr_dict", "{{ m.role }} {{ m['content'] }} {{ m.missing }}|{{ m['missing'] }}|", {"m": {"role": "user", "content": "hi"}}),
    ("getattr_method_first", "{{ d.items is defined }} {{ d['items'] }} {{ d.get('x', 'dflt') }}", {"d": {"items": 5}}),
    ("dict_methods", "{% for k, v in d.items() %}{{ k }}={{ v }};{% endfor %} {{ d.keys() | list }} {{ d.values() | list }} {{ d.get('a') }} {{ d.get('z') }}", {"d": {"a": 1, "b": 2}}),
    ("index_and_negative", "{{ xs[0] }} {{ xs[-1] }} {{ xs.1 }} [{{ xs[10] }}] {{ 'abc'[1] }} {{ 'abc'[-1] }}", {"xs": [10, 20, 30]}),
    ("slices", "{{ xs[1:] }} {{ xs[:2] }} {{ xs[::-1] }} {{ xs[::2] }} {{ xs[-2:] }} {{ xs[1:-1] }} {{ 'hello'[::-1] }} {{ 'hello'[1:3] }} {{ xs[5:] }} {{ xs[-100:1] }}", {"xs": [1, 2, 3, 4, 5]}),
    ("slice_astral", "{{ s[0] }} {{ s[1:] }} {{ s | length }} {{ s[::-1] }}", {"s": "😀ab"}),
    ("undefined_prints_empty", "[{{ nothing }}] [{{ nothing | default('d') }}] [{{ nothing is defined }}]", {}),
    ("undefined_attr_of_undefined", "{{ nothing.attr }}", {}),
    ("undefined_attr_of_missing_key", "{{ m.a.b }}", {"m": {}}),
    ("undefined_in_arith", "{{ nothing + 1 }}", {}),
    ("undefined_iterates_empty", "{% for x in nothing %}{{ x }}{% else %}empty{% endfor %} {{ nothing | length }} {{ nothing | list }}", {}),
    ("none_attribute", "[{{ n.x }}] [{{ n.x is defined }}]", {"n": None}),
    ("attr_on_int", "[{{ (5).real is defined }}]", {}),
    ("dunder_blocked", "{{ ''.__class__ }}", {}),
    ("dunder_used", "{{ ''.__class__.__mro__ }}", {}),
    ("mutating_method_blocked", "{{ xs.append(4) }}", {"xs": [1]}),
    ("mutating_dict_blocked", "{{ d.update({'a': 2}) }}", {"d": {"a": 1}}),
    ("mutating_method_attr_is_undefined", "[{{ xs.append }}] {{ xs.append is defined }}", {"xs": [1]}),
    ("subscript_by_name_method", "{{ 'abc'['upper']() }}", {}),
    ("dot_integer_chain", "{{ m.0.1 }}", {"m": [[1, 2]]}),
    # ---- statements: if / for / set / namespace ----
    ("if_elif_else", "{% for n in [1, 2, 3] %}{% if n == 1 %}one{% elif n == 2 %}two{% else %}many{% endif %} {% endfor %}", {}),
    ("for_loop_vars", "{% for x in 'abc' %}{{ loop.index }}{{ loop.index0 }}{{ loop.revindex }}{{ loop.revindex0 }}{{ loop.first }}{{ loop.last }}{{ loop.length }} {% endfor %}", {}),
    ("for_prev_next", "{% for x in [1, 2, 3] %}[{{ loop.previtem }}|{{ loop.nextitem }}]{% endfor %}", {}),
    ("for_cycle_changed", "{% for x in [1, 1, 2, 2, 3] %}{{ loop.cycle('a', 'b') }}{% if loop.changed(x) %}!{% endif %}{% endfor %}", {}),
    ("for_else", "{% for x in [] %}x{% else %}none{% endfor %}", {}),
    ("for_filter", "{% for x in range(10) if x is odd %}{{ x }}{{ loop.length }} {% endfor %}", {}),
    ("for_unpack", "{% for a, b in [[1, 2], [3, 4]] %}{{ a }}-{{ b }} {% endfor %}{% for k, v in {'x': 1}.items() %}{{ k }}{{ v }}{% endfor %}", {}),
    ("for_dict_keys", "{% for k in {'b': 1, 'a': 2} %}{{ k }}{% endfor %}", {}),
    ("for_nested_loop", "{% for i in [1, 2] %}{% for j in [3, 4] %}{{ loop.index }}{{ i }}{{ j }} {% endfor %}{{ loop.index }}|{% endfor %}", {}),
    ("for_break_continue", "{% for i in range(10) %}{% if i == 2 %}{% continue %}{% endif %}{% if i == 5 %}{% break %}{% endif %}{{ i }}{% endfor %}", {}),
    ("for_recursive", "{% for item in tree recursive %}<{{ item.name }}{% if item.children %}:{{ loop(item.children) }}{% endif %}{{ loop.depth }}>{% endfor %}", {"tree": [{"name": "a", "children": [{"name": "b", "children": []}, {"name": "c"}]}, {"name": "d"}]}),
    ("loop_scope_does_not_leak", "{% set x = 'out' %}{% for i in [1, 2] %}[{{ x }}]{% set x = i %}[{{ x }}]{% endfor %}{{ x }}", {}),
    ("loop_var_fresh_each_iteration", "{% for i in [1, 2] %}{% if i == 2 %}[{{ y }}]{% endif %}{% set y = i %}{% endfor %}", {}),
    ("if_scope_leaks", "{% set x = 'o' %}{% if true %}{% set x = 'i' %}{% endif %}{{ x }}", {}),
    ("namespace_survives_loop", "{% set ns = namespace(n=0, found=false) %}{% for i in range(4) %}{% set ns.n = ns.n + i %}{% if i == 2 %}{% set ns.found = true %}{% endif %}{% endfor %}{{ ns.n }} {{ ns.found }}", {}),
    ("namespace_from_dict", "{% set ns = namespace({'a': 1}, b=2) %}{{ ns.a }}{{ ns.b }}{{ ns.c }}|", {}),
    ("namespace_assign_non_namespace", "{% set d = {} %}{% set d.x = 1 %}", {}),
    ("set_tuple", "{% set a, b = 1, 2 %}{{ a }}{{ b }}{% set c, d = 'xy' %}{{ c }}{{ d }}", {}),
    ("set_tuple_mismatch", "{% set a, b = [1, 2, 3] %}", {}),
    ("set_block", "{% set body %}hello {{ 'world' }}{% endset %}[{{ body }}]", {}),
    ("set_block_filter", "{% set body | upper | trim %}  hi {% endset %}[{{ body }}]", {}),
    ("with_block", "{% set a = 1 %}{% with a = 2, b = a %}{{ a }}{{ b }}{% endwith %}{{ a }}", {}),
    ("filter_block", "{% filter upper %}hello {{ 'x' }}{% endfilter %}", {}),
    ("filter_block_chain", "{% filter replace('a', 'b') | upper %}banana{% endfilter %}", {}),
    ("print_statement", "{% print 'a' ~ 'b' %}", {}),
    ("colon_in_block", "{% for x in [1]: %}{{ x }}{% endfor %}", {}),
    # ---- macros ----
    ("macro_basic", "{% macro greet(name, greeting='Hello') %}{{ greeting }}, {{ name }}!{% endmacro %}{{ greet('Ann') }} {{ greet('Bob', greeting='Hi') }} {{ greet(greeting='Yo', name='Cy') }}", {}),
    ("macro_missing_arg", "{% macro m(a, b) %}[{{ a }}|{{ b }}]{% endmacro %}{{ m(1) }}", {}),
    ("macro_varargs_kwargs", "{% macro m(a) %}{{ a }}{{ varargs }}{{ kwargs }}{% endmacro %}{{ m(1, 2, 3, x=4) }}", {}),
    ("macro_late_binding", "{% macro m() %}{{ x }}{% endmacro %}{% set x = 'late' %}{{ m() }}", {}),
    ("macro_returns_string", "{% macro m() %}abc{% endmacro %}{{ m() | upper }} {{ m() | length }}", {}),
    ("macro_recursion", "{% macro count(n) %}{{ n }}{% if n > 0 %}{{ count(n - 1) }}{% endif %}{% endmacro %}{{ count(5) }}", {}),
    ("macro_no_loop_vars", "{% macro m() %}[{{ i }}]{% endmacro %}{% for i in [1] %}{{ m() }}{% endfor %}", {}),
    ("call_block", "{% macro wrap(tag) %}<{{ tag }}>{{ caller() }}</{{ tag }}>{% endmacro %}{% call wrap('b') %}bold{% endcall %}", {}),
    ("call_block_args", "{% macro each(xs) %}{% for x in xs %}{{ caller(x) }}{% endfor %}{% endmacro %}{% call(item) each([1, 2]) %}({{ item }}){% endcall %}", {}),
    ("generation_tag", "{% for m in messages %}{% if m.role == 'assistant' %}{% generation %}{{ m.content }}{% endgeneration %}{% else %}{{ m.content }}{% endif %}|{% endfor %}", {"messages": MSGS}),
    # ---- filters ----
    ("f_length_count", "{{ [1, 2] | length }} {{ 'héllo' | count }} {{ {'a': 1} | length }}", {}),
    ("f_join", "{{ [1, 2, 3] | join(', ') }} {{ ['a', none] | join }} {{ ms | join('/', attribute='role') }}", {"ms": MSGS}),
    ("f_upper_lower_title_capitalize", "{{ 'hELLo wOrld' | upper }} {{ 'HeLLo' | lower }} {{ 'hello world-wide (x) [y' | title }} {{ 'hELLO there' | capitalize }}", {}),
    ("f_trim", "[{{ '  a b  ' | trim }}] [{{ 'xxaxx' | trim('x') }}] [{{ '\u00a0\\t a \\n' | trim }}]", {}),
    ("f_replace", "{{ 'aaa' | replace('a', 'b') }} {{ 'aaa' | replace('a', 'b', 2) }} {{ 'abc' | replace('', '-') }} {{ 123 | replace(2, 9) }}", {}),
    ("f_default", "{{ x | default('d') }} {{ '' | default('d') }} {{ '' | default('d', true) }} {{ none | default('d') }} {{ x | d('dd') }}", {}),
    ("f_first_last", "{{ [1, 2, 3] | first }} {{ [1, 2, 3] | last }} {{ 'abc' | first }} [{{ [] | first }}] {{ {'a': 1, 'b': 2} | last }}", {}),
    ("f_list_string", "{{ 'ab' | list }} {{ (1, 2) | list }} {{ 123 | string }} {{ none | string }} {{ [1] | string }}", {}),
    ("f_int", "{{ '42' | int }} {{ '42.9' | int }} {{ 'x' | int }} {{ 'x' | int(7) }} {{ 3.99 | int }} {{ -3.99 | int }} {{ '0x1A' | int(base=16) }} {{ '0b11' | int(0, 0) }} {{ ' 12 ' | int }} {{ '1_000' | int }} {{ true | int }} {{ none | int }}", {}),
    ("f_float", "{{ '1.5' | float }} {{ 'x' | float }} {{ 2 | float }} {{ '1e3' | float }} {{ 'inf' | float }} {{ 'x' | float(1.5) }}", {}),
    ("f_round", "{{ 2.5 | round }} {{ 3.5 | round }} {{ 2.675 | round(2) }} {{ 2.1 | round(0, 'ceil') }} {{ 2.9 | round(method='floor') }} {{ 5 | round }} {{ 1234 | round(-2) }} {{ -2.5 | round }}", {}),
    ("f_abs", "{{ -3 | abs }} {{ -2.5 | abs }} {{ true | abs }}", {}),
    ("f_sort", "{{ ['b', 'A', 'c'] | sort }} {{ ['b', 'A', 'c'] | sort(case_sensitive=true) }} {{ [3, 1, 2] | sort(reverse=true) }} {{ ms | sort(attribute='role') | map(attribute='content') | join(',') }}", {"ms": MSGS}),
    ("f_sort_multi_attr", "{{ xs | sort(attribute='a,b') | map(attribute='b') | join }}", {"xs": [{"a": 2, "b": "x"}, {"a": 1, "b": "z"}, {"a": 1, "b": "y"}]}),
    ("f_dictsort", "{{ {'b': 1, 'A': 3, 'c': 2} | dictsort }} {{ {'b': 1, 'a': 3} | dictsort(by='value') }} {{ {'b': 1, 'a': 3} | dictsort(reverse=true) }}", {}),
    ("f_unique", "{{ ['a', 'A', 'b', 'a'] | unique | list }} {{ ['a', 'A'] | unique(case_sensitive=true) | list }}", {}),
    ("f_reverse", "{{ 'abc' | reverse }} {{ [1, 2, 3] | reverse | list }}", {}),
    ("f_min_max_sum", "{{ [3, 1, 2] | min }} {{ [3, 1, 2] | max }} {{ ['b', 'A'] | min }} {{ [1, 2, 3] | sum }} {{ [1.5, 2] | sum(start=10) }} {{ xs | sum(attribute='n') }} [{{ [] | max }}]", {"xs": [{"n": 1}, {"n": 2}]}),
    ("f_map", "{{ ms | map(attribute='role') | list }} {{ ['a', 'b'] | map('upper') | join }} {{ [1, 2] | map('string') | join('-') }} {{ ms | map(attribute='nope', default='?') | join }}", {"ms": MSGS}),
    ("f_select_reject", "{{ range(6) | select('odd') | list }} {{ range(6) | reject('odd') | list }} {{ [0, 1, '', 'a'] | select | list }} {{ range(6) | select('divisibleby', 3) | list }} {{ [1, 5, 9] | select('>', 4) | list }}", {}),
    ("f_selectattr", "{{ ms | selectattr('role', 'equalto', 'user') | map(attribute='content') | join(',') }} {{ ms | rejectattr('role', 'eq', 'user') | list | length }} {{ ts | selectattr('f') | list | length }}", {"ms": MSGS, "ts": [{"f": True}, {"f": False}, {}]}),
    ("f_items", "{% for k, v in {'a': 1, 'b': 2} | items %}{{ k }}{{ v }}{% endfor %} {{ nothing | items | list }}", {}),
    ("f_items_not_mapping", "{{ [1] | items | list }}", {}),
    ("f_attr", "{{ d | attr('items') is defined }} [{{ d | attr('a') }}] {{ 'abc' | attr('upper') is callable }}", {"d": {"a": 1}}),
    ("f_batch_slice", "{{ range(7) | batch(3) | list }} {{ range(7) | batch(3, 'x') | list }} {{ range(7) | slice(3) | list }}", {}),
    ("f_indent", "{{ 'a\\nb\\n\\nc' | indent }}|{{ 'a\\nb' | indent(2, true) }}|{{ 'a\\n\\nb' | indent(first=true, blank=true) }}|{{ 'x\\ny' | indent('> ') }}", {}),
    ("f_center_wordcount_truncate", "[{{ 'ab' | center(7) }}] {{ 'one two, three!' | wordcount }} {{ 'hello world foo bar' | truncate(12) }} {{ 'hello world foo bar' | truncate(12, true) }} {{ 'short' | truncate(10) }}", {}),
    ("f_format", "{{ '%s-%d' | format('a', 3) }} {{ '%05.2f|%x|%r|%5s|%-5s|' | format(3.14159, 255, 'q', 'ab', 'cd') }} {{ '%(a)s' | format(a=1) }} {{ '%e %g %g %g' | format(12345.678, 0.0001, 123456789, 100) }} {{ '%%' | format() }}", {}),
    ("f_escape_safe", "{{ '<a href=\"x\">&\\'</a>' | e }} {{ '<b>' | safe }} {{ 5 | escape }}", {}),
    ("f_tojson", "{{ {'a': [1, 2.5, none, true], 'b': 'é\"\\\\\\n'} | tojson }}", {}),
    ("f_tojson_indent", "{{ {'a': [1, {'b': 2}], 'c': {}} | tojson(indent=2) }}", {}),
    ("f_tojson_options", "{{ {'b': 1, 'a': [1, 2]} | tojson(separators=(',', ':'), sort_keys=true) }} {{ 'é😀' | tojson(ensure_ascii=true) }} {{ [] | tojson(indent=4) }} {{ {'a': 1} | tojson(indent='\\t') }}", {}),
    ("f_tojson_keys", "{{ {1: 'a', true: 'b', none: 'c', 2.5: 'd'} | tojson }}", {}),
    ("f_tojson_floats", "{{ [0.1, 1e-7, 1e22, 100.0, -0.0, 3.0e-5] | tojson }}", {}),
    ("f_tojson_undefined", "{{ nothing | tojson }}", {}),
    ("f_tojson_tool_schema", "{{ tool | tojson }}", {"tool": {"type": "function", "function": {"name": "get_weather", "description": "Get the weather «now»", "parameters": {"type": "object", "properties": {"city": {"type": "string", "enum": ["Paris", "Zürich"]}, "days": {"type": "integer", "minimum": 1}}, "required": ["city"]}}}}),
    ("f_tojson_control_chars", "{{ '\\x01\\x1f\\x7f\\u2028' | tojson }}", {}),
    ("f_unknown_filter_in_if", "{% if false %}{{ x | no_such_filter }}{% endif %}ok", {}),
    ("f_unknown_filter_in_condexpr", "{{ 1 if true else (2 | no_such_filter) }}", {}),
    ("f_unknown_filter_taken", "{% if true %}{{ x | no_such_filter }}{% endif %}", {}),
    ("f_unknown_filter_top", "{{ x | no_such_filter }}", {}),
    ("f_unknown_filter_loop_in_if", "{% if false %}{% for x in [1] %}{{ x | no_such_filter }}{% endfor %}{% endif %}", {}),
    ("f_unknown_test_in_if", "{% if false %}{{ x is no_such_test }}{% endif %}ok", {}),
    ("f_length_of_int", "{{ 5 | length }}", {}),
    # ---- tests ----
    ("tests_types", "{{ 1 is integer }} {{ true is integer }} {{ 1.0 is float }} {{ 1 is number }} {{ true is number }} {{ 'a' is string }} {{ {} is mapping }} {{ [] is sequence }} {{ 'a' is sequence }} {{ 1 is sequence }} {{ [] is iterable }} {{ none is none }} {{ true is boolean }} {{ true is true }} {{ 0 is false }}", {}),
    ("tests_values", "{{ 3 is odd }} {{ 4 is even }} {{ 9 is divisibleby 3 }} {{ 9 is divisibleby(4) }} {{ 'abc' is lower }} {{ 'ABC' is upper }} {{ 2 is in [1, 2] }} {{ 'a' is eq 'a' }} {{ 1 is lt 2 }} {{ 1 is ge 1 }} {{ 1 is ne 2 }} {{ none is sameas none }} {{ 'upper' is filter }} {{ 'odd' is test }} {{ range is callable }}", {}),
    ("tests_defined", "{{ x is defined }} {{ x is undefined }} {{ m.a is defined }} {{ m.b is defined }} {{ m.a is not none }}", {"m": {"a": None}}),
    ("test_not_chain", "{{ 1 is not string }} {{ not 1 is string }}", {}),
    ("unknown_test", "{{ 1 is no_such_test }}", {}),
    # ---- str methods ----
    ("str_startswith", "{{ 'hello'.startswith('he') }} {{ 'hello'.endswith('lo') }} {{ 'hello'.startswith(('x', 'h')) }} {{ 'hello'.startswith('l', 2) }} {{ 'hello'.endswith('ell', 0, 4) }}", {}),
    ("str_split", "{{ 'a,b,,c'.split(',') }} {{ '  a  b c '.split() }} {{ 'a b c'.split(' ', 1) }} {{ 'a,b,c'.rsplit(',', 1) }} {{ '  a b  c '.split(None, 1) }} {{ '  a b  c '.rsplit(None, 1) }} {{ ''.split() }} {{ ''.split(',') }}", {}),
    ("str_strip", "[{{ '  x  '.strip() }}] [{{ '\\n\\nx\\n'.lstrip('\\n') }}] [{{ 'xyhixy'.strip('xy') }}] [{{ '  x  '.rstrip() }}]", {}),
    ("str_think_split", "{% set c = '<think>\\nreason\\n</think>\\n\\nanswer' %}[{{ c.split('</think>')[-1].lstrip('\\n') }}] [{{ c.split('</think>')[0].rstrip('\\n').split('<think>')[-1].lstrip('\\n') }}]", {}),
    ("str_case", "{{ 'hello world'.title() }} {{ \"they're bill's\".title() }} {{ 'HELLO'.lower() }} {{ 'hi'.upper() }} {{ 'hEllo'.capitalize() }} {{ 'AbC'.swapcase() }}", {}),
    ("str_find_count", "{{ 'hello'.find('l') }} {{ 'hello'.rfind('l') }} {{ 'hello'.find('z') }} {{ 'hello'.count('l') }} {{ 'aaaa'.count('aa') }} {{ 'hello'.index('e') }} {{ '😀ab'.find('b') }}", {}),
    ("str_index_missing", "{{ 'hello'.index('z') }}", {}),
    ("str_replace_join", "{{ 'a-b-c'.replace('-', '+') }} {{ 'a-b-c'.replace('-', '+', 1) }} {{ ', '.join(['x', 'y']) }} {{ ''.join('abc') }}", {}),
    ("str_join_non_str", "{{ ', '.join([1, 2]) }}", {}),
    ("str_predicates", "{{ '123'.isdigit() }} {{ 'abc'.isalpha() }} {{ 'a1'.isalnum() }} {{ '  '.isspace() }} {{ 'abc'.islower() }} {{ 'ABC'.isupper() }} {{ ''.isdigit() }} {{ 'Hello World'.istitle() }}", {}),
    ("str_padding", "[{{ 'ab'.center(6, '*') }}] [{{ 'ab'.ljust(4) }}] [{{ 'ab'.rjust(4, '.') }}] [{{ '42'.zfill(5) }}] [{{ '-42'.zfill(5) }}] [{{ 'abc'.center(6) }}]", {}),
    ("str_partition", "{{ 'a=b=c'.partition('=') }} {{ 'a=b=c'.rpartition('=') }} {{ 'abc'.partition('x') }}", {}),
    ("str_prefix_suffix", "{{ 'prefix-x'.removeprefix('prefix-') }} {{ 'x.txt'.removesuffix('.txt') }} {{ 'x'.removesuffix('') }}", {}),
    ("str_splitlines", "{{ 'a\\nb\\r\\nc\\rd'.splitlines() }} {{ 'a\\nb\\n'.splitlines(true) }}", {}),
    ("str_format_method", "{{ '{} and {}'.format('a', 'b') }} {{ '{1}{0}'.format('a', 'b') }} {{ '{x}!'.format(x=3) }} {{ '{:>5}|{:<5}|{:^5}|{:.2f}'.format('a', 'b', 'c', 3.14159) }} {{ '{{}}'.format() }}", {}),
    ("str_percent", "{{ 'x%sy' % 3 }} {{ '%s and %s' % ('a', 'b') }} {{ '%(k)s' % {'k': 'v'} }} {{ '%d%%' % 50 }}", {}),
    ("str_percent_errors", "{{ '%s %s' % ('a',) }}", {}),
    # ---- globals ----
    ("range_forms", "{{ range(3) | list }} {{ range(1, 4) | list }} {{ range(10, 0, -3) | list }} {{ range(0) | list }} {{ range(3) | length }}", {}),
    ("range_too_big", "{{ range(100001) | length }}", {}),
    ("range_limit_ok", "{{ range(100000) | length }}", {}),
    ("dict_global", "{{ dict(a=1, b=2) }} {{ dict([['x', 1]]) }} {{ dict({'a': 1}, b=2) }}", {}),
    ("cycler_joiner", "{% set c = cycler('a', 'b') %}{{ c.next() }}{{ c.next() }}{{ c.next() }}{{ c.current }}{% set j = joiner('|') %}{% for x in [1, 2, 3] %}{{ j() }}{{ x }}{% endfor %}", {}),
    ("raise_exception", "{% if true %}{{ raise_exception('Conversation roles must alternate!') }}{% endif %}", {}),
    ("strftime_now", "{{ strftime_now('%d %b %Y') }} {{ strftime_now('%Y-%m-%d %H:%M:%S') }} {{ strftime_now('%A %B %-d %j %I%p %y %f %%') }}", {}),
    # ---- errors ----
    ("err_syntax_unclosed", "{% if true %}never closed", {}),
    ("err_syntax_bad_expr", "{{ 1 + }}", {}),
    ("err_unknown_tag", "{% frobnicate %}", {}),
    ("err_stray_end", "{% endif %}", {}),
    ("err_unterminated_string", "{{ 'abc }}", {}),
    ("err_unbalanced", "{{ (1 }}", {}),
    ("err_type_add", "{{ 'a' + 1 }}", {}),
    ("err_type_add_int_str", "{{ 1 + 'a' }}", {}),
    ("err_div_zero", "{{ 1 / 0 }}", {}),
    ("err_mod_zero", "{{ 1 % 0 }}", {}),
    ("err_call_string", "{{ 'abc'() }}", {}),
    ("err_call_undefined", "{{ nothing() }}", {}),
    ("err_iterate_int", "{% for x in 5 %}{% endfor %}", {}),
    ("err_iterate_none", "{% for x in none %}{% endfor %}", {}),
    ("err_in_none", "{{ 'a' in none }}", {}),
    ("err_in_str_int", "{{ 1 in 'abc' }}", {}),
    ("err_compare", "{{ 1 < 'a' }}", {}),
    ("err_compare_undefined", "{{ nothing < 1 }}", {}),
    ("err_break_outside_loop", "{% break %}", {}),
    ("err_extends", "{% extends 'base.html' %}", {}),
    ("err_include", "{% include 'x' %}", {}),
    ("err_empty_sep", "{{ 'abc'.split('') }}", {}),
    ("err_unhashable", "{{ {[1]: 2} }}", {}),
    ("err_none_method", "{{ none.startswith('a') }}", {}),
    ("err_filter_bad_arg", "{{ 'x' | center('wide') }}", {}),
    ("err_slice_step_zero", "{{ [1, 2][::0] }}", {}),
    ("err_tuple_unpack_int", "{% for a, b in [1, 2] %}{% endfor %}", {}),
]


def main():
    out = {"jinja2": jinja2.__version__, "cases": []}
    for name, template, variables in CASES:
        result = render(template, **variables)
        case = {"name": name, "template": template, "variables": variables}
        if isinstance(result, tuple):
            case["error"] = result[1]
            case["message"] = result[2]
        else:
            case["output"] = result
        out["cases"].append(case)
    with open(OUT, "w", encoding="utf-8") as f:
        json.dump(out, f, ensure_ascii=False, indent=1)
        f.write("\n")
    print(f"wrote {len(CASES)} cases to {os.path.normpath(OUT)}")


if __name__ == "__main__":
    main()
