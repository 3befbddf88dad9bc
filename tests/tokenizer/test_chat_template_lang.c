/* Language features of the chat-template interpreter, one table row per feature: each
 * template is rendered with its JSON variables and must give exactly the text Jinja2 gives
 * (configured like Hugging Face: trim_blocks, lstrip_blocks, loopcontrols, HF's tojson);
 * expectations were produced by that reference engine. Then templates that must fail at
 * render time (with Jinja2's message) and at parse time. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include "tokenizer/chat_template.h"
#include "util/alloc.h"
#include "util/status.h"

typedef struct render_case {
    const char *name;
    const char *source;
    const char *vars_json;
    const char *expected; /* output, or for error cases a part of the message */
} render_case;

static const render_case g_cases[] = {
    {"if_elif_else", "{% if x == 1 %}one{% elif x == 2 %}two{% else %}many{% endif %}",
     "{\"x\": 2}", "two"},
    {"if_truthiness",
     "{% if [] %}a{% endif %}{% if {} %}b{% endif %}{% if 'x' %}c{% endif %}{% if 0.0 %}d{% endif "
     "%}{% if none %}e{% endif %}",
     "{}", "c"},
    {"for_loop_vars",
     "{% for m in ms %}{{ loop.index }}{{ loop.index0 }}{{ loop.revindex }}{{ loop.revindex0 }}{{ "
     "loop.first }}{{ loop.last }}{{ loop.length }};{% endfor %}",
     "{\"ms\": [\"a\", \"b\", \"c\"]}", "1032TrueFalse3;2121FalseFalse3;3210FalseTrue3;"},
    {"for_cycle_prev_next",
     "{% for m in ms %}{{ loop.cycle('x', 'y') }}{{ loop.previtem }}|{{ loop.nextitem }},{% endfor "
     "%}",
     "{\"ms\": [1, 2, 3]}", "x|2,y1|3,x2|,"},
    {"for_else", "{% for m in ms %}{{ m }}{% else %}empty{% endfor %}", "{\"ms\": []}", "empty"},
    {"for_filter", "{% for x in xs if x is odd %}{{ x }}{{ loop.last }}{% endfor %}",
     "{\"xs\": [1, 2, 3, 4, 5]}", "1False3False5True"},
    {"for_unpack_items", "{% for k, v in d.items() %}{{ k }}={{ v }};{% endfor %}",
     "{\"d\": {\"b\": 1, \"a\": 2}}", "b=1;a=2;"},
    {"for_dict_keys", "{% for k in d %}{{ k }}{% endfor %}", "{\"d\": {\"b\": 1, \"a\": 2}}", "ba"},
    {"for_string_chars", "{% for c in 'h\303\251llo' %}[{{ c }}]{% endfor %}", "{}",
     "[h][\303\251][l][l][o]"},
    {"for_scope",
     "{% set x = 0 %}{% for i in [1, 2] %}{{ x }}{% set x = i %}{{ x }}{% endfor %}{{ x }}", "{}",
     "01020"},
    {"break_continue",
     "{% for i in range(10) %}{% if i == 2 %}{% continue %}{% endif %}{% if i == 5 %}{% break %}{% "
     "endif %}{{ i }}{% endfor %}",
     "{}", "0134"},
    {"nested_break",
     "{% for i in range(3) %}{% for j in range(3) %}{% if j > i %}{% break %}{% endif %}{{ i }}{{ "
     "j }} {% endfor %}{% endfor %}",
     "{}", "00 10 11 20 21 22 "},
    {"set_tuple", "{% set a, b = 1, 'two' %}{{ a }}{{ b }}", "{}", "1two"},
    {"set_block", "{% set s %}  hi {{ 1 + 1 }} {% endset %}[{{ s }}]", "{}", "[  hi 2 ]"},
    {"set_block_filter", "{% set s | upper | trim %}  hi  {% endset %}[{{ s }}]", "{}", "[HI]"},
    {"namespace_assign",
     "{% set ns = namespace(n=0, seen=[]) %}{% for i in range(4) %}{% set ns.n = ns.n + i %}{% set "
     "ns.seen = ns.seen + [i] %}{% endfor %}{{ ns.n }} {{ ns.seen }}",
     "{}", "6 [0, 1, 2, 3]"},
    {"namespace_print", "{{ namespace(a=1, b='x') }}", "{}", "<Namespace {'a': 1, 'b': 'x'}>"},
    {"macro_defaults_kwargs",
     "{% macro m(a, b=2) %}{{ a }}-{{ b }}-{{ varargs }}-{{ kwargs }}{% endmacro %}{{ m(1) }}|{{ "
     "m(1, 3) }}|{{ m(b=5, a=4) }}|{{ m(1, 2, 3) }}|{{ m(1, c=3) }}",
     "{}", "1-2-()-{}|1-3-()-{}|4-5-()-{}|1-2-(3,)-{}|1-2-()-{'c': 3}"},
    {"macro_recursive",
     "{% macro f(n) %}{% if n > 0 %}{{ n }}{{ f(n - 1) }}{% endif %}{% endmacro %}{{ f(4) }}", "{}",
     "4321"},
    {"macro_closure", "{% macro m() %}{{ y }}{% endmacro %}{% set y = 5 %}{{ m() }}", "{}", "5"},
    {"macro_missing_param", "{% macro m(a, b) %}[{{ b }}]{% endmacro %}{{ m(1) }}", "{}", "[]"},
    {"call_block",
     "{% macro wrap(t) %}<{{ t }}>{{ caller() }}</{{ t }}>{% endmacro %}{% call wrap('b') "
     "%}inner{% endcall %}",
     "{}", "<b>inner</b>"},
    {"call_block_args",
     "{% macro each(xs) %}{% for x in xs %}{{ caller(x) }}{% endfor %}{% endmacro %}{% call(v) "
     "each([1, 2]) %}({{ v }}){% endcall %}",
     "{}", "(1)(2)"},
    {"filter_block", "{% filter upper %}abc{{ 'd' }}{% endfilter %}", "{}", "ABCD"},
    {"with_block", "{% set x = 5 %}{% with x = x + 1, y = 2 %}{{ x }}{{ y }}{% endwith %}{{ x }}",
     "{}", "625"},
    {"raw_block", "{% raw %}{{ not }} {% rendered %}{% endraw %}", "{}",
     "{{ not }} {% rendered %}"},
    {"comment", "a{# hidden {{ x }} #}b", "{}", "ab"},
    {"generation_block", "a{% generation %}b{{ 1 }}{% endgeneration %}c", "{}", "ab1c"},
    {"ws_trim_lstrip", "a\n  {% if true %}\n  b\n  {% endif %}\nc", "{}", "a\n  b\nc"},
    {"ws_dash_modifiers", "a\n  {%- if true -%}\n  b\n  {%- endif -%}\nc", "{}", "abc"},
    {"ws_plus_modifiers", "  {%+ if true %}a{% endif +%}\nb", "{}", "  a\nb"},
    {"ws_var_no_trim", "{{ 'a' }}\n{{ 'b' }}\n", "{}", "a\nb"},
    {"ws_var_dash", "{{- 'a' -}}\n\n  {{- 'b' -}}", "{}", "ab"},
    {"ws_trailing_newline", "x\n", "{}", "x"},
    {"ws_crlf", "{% if true %}a{% endif %}\r\nb\r\n", "{}", "ab"},
    {"ws_comment_line", "x\n    {# comment #}\ny", "{}", "x\ny"},
    {"ws_inline_block", "a  {% if true %}  b  {% endif %}  c", "{}", "a    b    c"},
    {"ws_raw", "{% raw %}\n  {{ x }}\n{% endraw %}\nz", "{}", "\n  {{ x }}\nz"},
    {"literals", "{{ [1, 'a', none, true, 1.5, (1,), (1, 2), {'k': [false]}] }}", "{}",
     "[1, 'a', None, True, 1.5, (1,), (1, 2), {'k': [False]}]"},
    {"string_escapes", "{{ 'a\\tb\\n\\x41\\u00e9\\'' ~ \"\\\"\" }}", "{}", "a\tb\nA\303\251'\""},
    {"adjacent_strings", "{{ 'a' 'b' \"c\" }}", "{}", "abc"},
    {"attr_item_access", "{{ d.a }} {{ d['a'] }} {{ d.b.c }} {{ l[0] }} {{ l[-1] }} {{ l.0 }}",
     "{\"d\": {\"a\": 1, \"b\": {\"c\": 2}}, \"l\": [7, 8]}", "1 1 2 7 8 7"},
    {"missing_attr_is_undefined", "[{{ d.zz }}][{{ l[9] }}][{{ 'ab'.zz }}]{{ d.zz is defined }}",
     "{\"d\": {}, \"l\": []}", "[][][]False"},
    {"slices",
     "{{ 'abcdef'[1:4] }} {{ 'abcdef'[::-1] }} {{ l[1:] }} {{ l[:-1] }} {{ l[::2] }} {{ "
     "'h\303\251llo'[1:3] }}",
     "{\"l\": [1, 2, 3, 4]}", "bcd fedcba [2, 3, 4] [1, 2, 3] [1, 3] \303\251l"},
    {"arithmetic",
     "{{ 7 + 2 }} {{ 7 - 2 }} {{ 7 * 2 }} {{ 7 / 2 }} {{ 7 // 2 }} {{ -7 // 2 }} {{ 7 % 3 }} {{ -7 "
     "% 3 }} {{ 2 ** 10 }} {{ 2 ** -1 }} {{ 7.5 // 2 }} {{ 0.1 + 0.2 }}",
     "{}", "9 5 14 3.5 3 -4 1 2 1024 0.5 3.0 0.30000000000000004"},
    {"float_printing",
     "{{ 1.0 }} {{ 2.5 }} {{ 1e20 }} {{ 1e16 }} {{ 1e15 }} {{ 0.0001 }} {{ 0.00001 }} {{ -0.0 }} "
     "{{ 3.0 * 2 }} {{ 1 / 3 }}",
     "{}", "1.0 2.5 1e+20 1e+16 1000000000000000.0 0.0001 1e-05 -0.0 6.0 0.3333333333333333"},
    {"concat_tilde", "{{ 'a' ~ 1 ~ none ~ true ~ 2.5 ~ [1] }}", "{}", "a1NoneTrue2.5[1]"},
    {"string_repeat_and_list_concat", "{{ 'ab' * 3 }} {{ [1] + [2, 3] }} {{ [0] * 2 }}", "{}",
     "ababab [1, 2, 3] [0, 0]"},
    {"comparisons",
     "{{ 1 == 1.0 }} {{ 1 != 2 }} {{ 'a' < 'b' }} {{ [1, 2] < [1, 3] }} {{ 2 >= 2 }} {{ 1 < 2 < 3 "
     "}} {{ 3 > 2 > 2 }} {{ true == 1 }}",
     "{}", "True True True True True True False True"},
    {"logic", "{{ true and 'x' }} {{ 0 or 'y' }} {{ not 1 }} {{ not x is defined }} {{ 1 and 0 }}",
     "{}", "x y False True 0"},
    {"membership",
     "{{ 'b' in 'abc' }} {{ 2 in [1, 2] }} {{ 'k' in {'k': 1} }} {{ 1 not in [1] }} {{ 'a' in "
     "undefined_var }}",
     "{}", "True True True False False"},
    {"ternary", "{{ 'y' if 1 else 'n' }} {{ 'y' if 0 else 'n' }} [{{ 'y' if 0 }}]", "{}", "y n []"},
    {"precedence",
     "{{ 1 + 2 * 3 }} {{ (1 + 2) * 3 }} {{ -2 ** 2 }} {{ 2 ** 3 ** 2 }} {{ -3 | abs }}", "{}",
     "7 9 4 64 3"},
    {"filter_binds_tight", "{{ 'a' + 'b' | upper }}", "{}", "aB"},
    {"percent_format",
     "{{ '%s-%d-%05.1f-%x-%r-%%' % ('a', 3, 2.25, 255, 'q') }} {{ '%(k)s' % {'k': 1} }}", "{}",
     "a-3-002.2-ff-'q'-% 1"},
    {"str_format",
     "{{ '{} {}'.format(1, 'a') }} {{ '{0}{0}'.format('x') }} {{ "
     "'{n:>4}|{n:<4}|{f:.2f}'.format(n=7, f=3.14159) }}",
     "{}", "1 a xx    7|7   |3.14"},
    {"undefined_prints_empty",
     "[{{ nothing }}][{{ nothing | default('d') }}][{{ nothing | length }}]", "{}", "[][d][0]"},
    {"call_kwargs", "{{ dict(a=1, b=[2]) }} {{ range(1, 10, 4) | list }}", "{}",
     "{'a': 1, 'b': [2]} [1, 5, 9]"},
    {"tests_types",
     "{{ 'x' is string }} {{ 1 is number }} {{ true is number }} {{ 1 is integer }} {{ 1.0 is "
     "integer }} {{ 1.5 is float }} {{ {} is mapping }} {{ [] is sequence }} {{ 'a' is iterable }} "
     "{{ 1 is iterable }} {{ true is boolean }} {{ f is callable }} {{ none is none }}",
     "{\"f\": null}", "True True True True False True True True True False True False True"},
    {"tests_values",
     "{{ x is defined }} {{ x is undefined }} {{ 3 is odd }} {{ 4 is even }} {{ 9 is divisibleby 3 "
     "}} {{ 1 is true }} {{ false is false }} {{ 'a' is equalto 'a' }} {{ 2 is eq 3 }} {{ 2 is ne "
     "3 }} {{ 'ab' is lower }} {{ 'AB' is upper }} {{ 1 is in [1] }} {{ 2 is gt 1 }}",
     "{}", "False True True True True False True True False True True True True True"},
    {"test_not", "{{ 1 is not none }} {{ x is not defined }}", "{}", "True True"},
    {"filters_string",
     "{{ '  a b  ' | trim }}|{{ 'xax' | trim('x') }}|{{ 'aBc' | upper }}|{{ 'aBc' | lower }}|{{ "
     "'hello wORLD-x' | title }}|{{ 'hELLO' | capitalize }}|{{ 'aXa' | replace('a', 'b') }}|{{ 'a "
     "b c' | wordcount }}|{{ 'abc' | center(7) }}|",
     "{}", "a b|a|ABC|abc|Hello World-X|Hello|bXb|3|  abc  |"},
    {"filters_length_first_last",
     "{{ [1, 2] | length }} {{ 'h\303\251llo' | count }} {{ {'a': 1} | length }} {{ [3, 4] | first "
     "}} {{ [3, 4] | last }} {{ 'abc' | first }} [{{ [] | first }}]",
     "{}", "2 5 1 3 4 a []"},
    {"filters_join",
     "{{ [1, 2, 3] | join(', ') }} {{ ['a', 'b'] | join }} {{ users | join(',', attribute='n') }}",
     "{\"users\": [{\"n\": \"x\"}, {\"n\": \"y\"}]}", "1, 2, 3 ab x,y"},
    {"filter_tojson",
     "{{ d | tojson }} {{ d | tojson(indent=2) }} {{ '\303\251<>&\"' | tojson }} {{ [1.0, none, "
     "true] | tojson }} {{ {'b': 1, 'a': 2} | tojson(sort_keys=true) }}",
     "{\"d\": {\"a\": [1, {\"b\": \"c\"}], \"e\": {}}}",
     "{\"a\": [1, {\"b\": \"c\"}], \"e\": {}} {\n  \"a\": [\n    1,\n    {\n      \"b\": \"c\"\n   "
     " }\n  ],\n  \"e\": {}\n} \"\303\251<>&\\\"\" [1.0, null, true] {\"a\": 2, \"b\": 1}"},
    {"filter_default",
     "{{ x | default('d') }} {{ '' | default('d') }} {{ '' | default('d', true) }} {{ none | "
     "d('n') }} {{ 0 | d(5, true) }}",
     "{}", "d  d None 5"},
    {"filters_convert",
     "{{ '12' | int }} {{ 3.9 | int }} {{ 'x' | int }} {{ 'x' | int(7) }} {{ '1.5' | float }} {{ 2 "
     "| float }} {{ 5 | string }} {{ none | string }} {{ [1] | string }} {{ 'ab' | list }} {{ "
     "{'a': 1} | list }}",
     "{}", "12 3 0 7 1.5 2.0 5 None [1] ['a', 'b'] ['a']"},
    {"filters_numbers",
     "{{ -3 | abs }} {{ -2.5 | abs }} {{ 2.567 | round(2) }} {{ 2.5 | round }} {{ 3.5 | round }} "
     "{{ 2.1 | round(0, 'ceil') }} {{ 2.9 | round(0, 'floor') }} {{ 7 | round }} {{ [1, 2.5] | sum "
     "}} {{ [3, 1, 2] | max }} {{ [3, 1, 2] | min }}",
     "{}", "3 2.5 2.57 2.0 4.0 3.0 2.0 7 3.5 3 1"},
    {"filters_items_dictsort",
     "{{ d | items | list }} {{ d | dictsort }} {{ d | dictsort(reverse=true) }} {{ d | "
     "dictsort(by='value') }}",
     "{\"d\": {\"b\": 1, \"A\": 3, \"a\": 2}}",
     "[('b', 1), ('A', 3), ('a', 2)] [('A', 3), ('a', 2), ('b', 1)] [('b', 1), ('A', 3), ('a', 2)] "
     "[('b', 1), ('a', 2), ('A', 3)]"},
    {"filters_select",
     "{{ xs | select('odd') | list }} {{ xs | reject('odd') | list }} {{ xs | select('gt', 2) | "
     "list }} {{ [0, 1, none, 'a'] | select | list }}",
     "{\"xs\": [1, 2, 3, 4]}", "[1, 3] [2, 4] [3, 4] [1, 'a']"},
    {"filters_selectattr",
     "{{ ms | selectattr('role', 'equalto', 'user') | map(attribute='c') | list }} {{ ms | "
     "rejectattr('role', 'eq', 'user') | list | length }} {{ ms | selectattr('x') | list }}",
     "{\"ms\": [{\"role\": \"user\", \"c\": 1}, {\"role\": \"bot\", \"c\": 2, \"x\": true}]}",
     "[1] 1 [{'role': 'bot', 'c': 2, 'x': True}]"},
    {"filters_map",
     "{{ xs | map('string') | join('-') }} {{ ds | map(attribute='a.b') | list }} {{ ds | "
     "map(attribute='z', default=0) | list }} {{ ['a', 'b'] | map('upper') | list }}",
     "{\"xs\": [1, 2], \"ds\": [{\"a\": {\"b\": 5}}]}", "1-2 [5] [0] ['A', 'B']"},
    {"filters_sort_unique_reverse",
     "{{ [3, 1, 2] | sort }} {{ ['b', 'A', 'a'] | sort }} {{ ['b', 'A'] | "
     "sort(case_sensitive=true) }} {{ ds | sort(attribute='n', reverse=true) | map(attribute='n') "
     "| list }} {{ [1, 2, 1, 3] | unique | list }} {{ [1, 2] | reverse | list }} {{ 'abc' | "
     "reverse }}",
     "{\"ds\": [{\"n\": 1}, {\"n\": 3}, {\"n\": 2}]}",
     "[1, 2, 3] ['A', 'a', 'b'] ['A', 'b'] [3, 2, 1] [1, 2, 3] [2, 1] cba"},
    {"filter_indent",
     "{{ 'a\\nb\\n\\nc' | indent(2) }}|{{ 'a\\nb' | indent(2, first=true) }}|{{ 'a\\n\\nb' | "
     "indent(2, blank=true) }}|{{ 'a\\nb' | indent('> ') }}",
     "{}", "a\n  b\n\n  c|  a\n  b|a\n  \n  b|a\n> b"},
    {"filters_markup",
     "{{ '<b>' | safe }} {{ '<b>' | escape }} {{ ('x' | safe) + '<' }} {{ '<a>' | e | e }}", "{}",
     "<b> &lt;b&gt; x&lt; &lt;a&gt;"},
    {"filter_format_batch_truncate",
     "{{ '%s=%s' | format('k', 1) }} {{ [1, 2, 3] | batch(2) | list }} {{ 'hello world foo' | "
     "truncate(9) }}",
     "{}", "k=1 [[1, 2], [3]] hello..."},
    {"filter_tojson_ensure_ascii",
     "{{ 'h\303\251 \360\237\230\200' | tojson(ensure_ascii=true) }} {{ {'k': [1, 2]} | "
     "tojson(separators=(',', ':')) }}",
     "{}", "\"h\\u00e9 \\ud83d\\ude00\" {\"k\":[1,2]}"},
    {"markup_concat_escapes",
     "{{ ('<b>' | safe) + '<i>' }} {{ '<i>' + ('<b>' | safe) }} {{ ('<b>' | safe) ~ '<i>' }} {{ "
     "('a' | safe | upper) + '<' }}",
     "{}", "<b>&lt;i&gt; &lt;i&gt;<b> <b><i> A&lt;"},
    {"macro_output_is_plain", "{% macro m() %}<b>{% endmacro %}{{ m() + '<i>' }}", "{}", "<b><i>"},
    {"str_methods",
     "{{ ' a '.strip() }}|{{ 'xax'.lstrip('x') }}|{{ 'xax'.rstrip('x') }}|{{ 'a,b,,c'.split(',') "
     "}}|{{ ' a  b '.split() }}|{{ 'a b c'.split(' ', 1) }}|{{ 'a b c'.rsplit(' ', 1) }}|{{ "
     "'a\\nb'.splitlines() }}",
     "{}", "a|ax|xa|['a', 'b', '', 'c']|['a', 'b']|['a', 'b c']|['a b', 'c']|['a', 'b']"},
    {"str_methods2",
     "{{ 'abc'.startswith('a') }} {{ 'abc'.endswith(('x', 'c')) }} {{ 'hello'.upper() }} {{ "
     "'HeLLo'.lower() }} {{ 'hello world'.title() }} {{ 'hello'.capitalize() }} {{ "
     "'aaa'.replace('a', 'b', 2) }} {{ 'abcb'.find('b') }} {{ 'abcb'.rfind('b') }} {{ "
     "'abcb'.count('b') }} {{ '-'.join(['x', 'y']) }} {{ 'ab'.removeprefix('a') }} {{ "
     "'12'.isdigit() }}",
     "{}", "True True HELLO hello Hello World Hello bba 1 3 2 x-y b True"},
    {"dict_methods",
     "{{ d.items() | list }} {{ d.keys() | list }} {{ d.values() | list }} {{ d.get('a') }} {{ "
     "d.get('z') }} {{ d.get('z', 9) }}",
     "{\"d\": {\"a\": 1, \"b\": 2}}", "[('a', 1), ('b', 2)] ['a', 'b'] [1, 2] 1 None 9"},
    {"list_methods", "{{ [1, 2, 1].count(1) }} {{ [1, 2, 1].index(2) }}", "{}", "2 1"},
    {"unicode_case",
     "{{ '\303\211COLE' | lower }} {{ 'stra\303\237e' | upper }} {{ '\307\206' | upper }}", "{}",
     "\303\251cole STRASSE \307\204"},
    {"strftime_now_undefined",
     "{% if strftime_now is defined %}{{ strftime_now('%d') }}{% else %}26 Jul 2024{% endif %}",
     "{}", "26 Jul 2024"},
    {"messages_idiom",
     "{% for m in messages %}{{ '<|' + m['role'] + '|>' + m['content'] | trim + '\\n' }}{% endfor "
     "%}{% if add_generation_prompt %}<|assistant|>{% endif %}",
     "{\"messages\": [{\"role\": \"user\", \"content\": \" hi \"}, {\"role\": \"assistant\", "
     "\"content\": \"yo\"}], \"add_generation_prompt\": true}",
     "<|user|>hi\n<|assistant|>yo\n<|assistant|>"},
    {"tool_calls_idiom",
     "{% for t in tools %}{{ t.function.name }}:{{ t.function.parameters | tojson }}{% endfor %}{% "
     "if m.tool_calls is defined and m.tool_calls is not none %}{{ "
     "m.tool_calls[0].function.arguments | tojson }}{% endif %}",
     "{\"tools\": [{\"function\": {\"name\": \"f\", \"parameters\": {\"type\": \"object\", "
     "\"properties\": {\"x\": {\"type\": \"string\"}}}}}], \"m\": {\"tool_calls\": [{\"function\": "
     "{\"arguments\": {\"city\": \"Z\303\274rich\"}}}]}}",
     "f:{\"type\": \"object\", \"properties\": {\"x\": {\"type\": \"string\"}}}{\"city\": "
     "\"Z\303\274rich\"}"},
};

static const render_case g_error_cases[] = {
    {"raise_exception", "{{ raise_exception('custom failure') }}", "{}", "custom failure"},
    {"undefined_arith", "{{ x + 1 }}", "{}", "'x' is undefined"},
    {"undefined_attr_of_undefined", "{{ x.y }}", "{}", "'x' is undefined"},
    {"str_plus_int", "{{ 'a' + 1 }}", "{}", "can only concatenate str (not \"int\") to str"},
    {"str_plus_dict", "{{ 'a' + d }}", "{\"d\": {}}",
     "can only concatenate str (not \"dict\") to str"},
    {"int_plus_str", "{{ 1 + 'a' }}", "{}", "unsupported operand type(s) for +: 'int' and 'str'"},
    {"division_by_zero", "{{ 1 / 0 }}", "{}", "division by zero"},
    {"compare_mixed", "{{ 1 < 'a' }}", "{}",
     "'<' not supported between instances of 'int' and 'str'"},
    {"in_string_needs_string", "{{ 1 in 'abc' }}", "{}",
     "'in <string>' requires string as left operand, not int"},
    {"tojson_generator", "{{ [1] | map('string') | tojson }}", "{}",
     "Object of type generator is not JSON serializable"},
    {"tojson_undefined", "{{ x | tojson }}", "{}",
     "Object of type Undefined is not JSON serializable"},
    {"list_append_unsafe", "{% set l = [] %}{{ l.append(1) }}", "{}",
     "access to attribute 'append' of 'list' object is unsafe."},
    {"range_too_big", "{{ range(200000) | length }}", "{}",
     "Range too big. The sandbox blocks ranges larger than MAX_RANGE (100000)."},
    {"not_iterable", "{% for x in 5 %}{% endfor %}", "{}", "'int' object is not iterable"},
    {"unpack_mismatch", "{% set a, b = [1] %}", "{}",
     "not enough values to unpack (expected 2, got 1)"},
    {"namespace_only_assign", "{% set d = {} %}{% set d.a = 1 %}", "{}",
     "cannot assign attribute on non-namespace object"},
    {"call_undefined", "{{ nope() }}", "{}", "'nope' is undefined"},
    {"call_string", "{{ 'abc'() }}", "{}", "'str' object is not callable"},
    {"length_of_int", "{{ 5 | length }}", "{}", "object of type 'int' has no len()"},
    {"items_of_list", "{{ [1] | items | list }}", "{}", "Can only get item pairs from a mapping."},
    {"int_of_undefined", "{{ missing | int }}", "{}", "'missing' is undefined"},
    {"strftime_now_call", "{{ strftime_now('%Y') }}", "{}", "'strftime_now' is undefined"},
};

static const struct {
    const char *name;
    const char *source;
} g_syntax_cases[] = {
    {"unterminated_var", "{{ x "},
    {"unterminated_block", "{% if x "},
    {"unterminated_comment", "{# x"},
    {"unterminated_string", "{{ 'abc }}"},
    {"missing_endif", "{% if 1 %}x"},
    {"missing_endfor", "{% for x in y %}"},
    {"stray_endif", "{% endif %}"},
    {"unknown_tag_do", "{% do x %}"},
    {"unknown_tag_include", "{% include 'x' %}"},
    {"unknown_filter", "{{ x | nofilter }}"},
    {"unknown_test", "{{ x is nottest }}"},
    {"break_outside_loop", "{% break %}"},
    {"bad_expression", "{{ 1 + }}"},
    {"empty_output", "{{ }}"},
    {"unbalanced_paren", "{{ (1, 2 }}"},
    {"bad_dict", "{{ {'a' 1} }}"},
    {"kwarg_before_positional", "{{ f(a=1, 2) }}"},
    {"double_else", "{% if 1 %}{% else %}{% else %}{% endif %}"},
    {"bad_escape", "{{ '\\x4' }}"},
    {"garbage_char", "{{ 1 ? 2 }}"},
    {"missing_in", "{% for x y %}{% endfor %}"},
    {"missing_endraw", "{% raw %}abc"},
    {"recursive_loop_unsupported", "{% for x in y recursive %}{% endfor %}"},
};

/* Renders source with vars; returns the status and fills *out (ifn_free it). */
static ifn_status render(const char *source, const char *vars_json, char **out, size_t *out_len) {
    json_error_t err;
    json_t *vars = json_loads(vars_json, 0, &err);
    assert_non_null(vars);
    ifn_chat_template *t = NULL;
    ifn_status st = ifn_chat_template_create(source, strlen(source), &t);
    *out = NULL;
    if (st == IFN_OK) st = ifn_chat_template_render(t, vars, out, out_len);
    ifn_chat_template_destroy(t);
    json_decref(vars);
    return st;
}

static void test_chat_template_language_features_match_jinja2(void **state) {
    (void)state;
    size_t failed = 0, n = sizeof g_cases / sizeof g_cases[0];
    for (size_t i = 0; i < n; i++) {
        char *text = NULL;
        size_t len = 0;
        ifn_status st = render(g_cases[i].source, g_cases[i].vars_json, &text, &len);
        int ok = st == IFN_OK && len == strlen(g_cases[i].expected) &&
                 memcmp(text, g_cases[i].expected, len) == 0;
        if (!ok) {
            failed++;
            fprintf(stderr, "  FAIL %s\n    got:  %s\n    want: %s\n", g_cases[i].name,
                    st == IFN_OK ? text : ifn_last_error(), g_cases[i].expected);
        }
        ifn_free(text);
    }
    fprintf(stderr, "  %zu/%zu language cases match\n", n - failed, n);
    assert_int_equal(failed, 0);
}

static void test_chat_template_runtime_errors_are_reported(void **state) {
    (void)state;
    size_t failed = 0, n = sizeof g_error_cases / sizeof g_error_cases[0];
    for (size_t i = 0; i < n; i++) {
        char *text = NULL;
        size_t len = 0;
        ifn_status st = render(g_error_cases[i].source, g_error_cases[i].vars_json, &text, &len);
        if (st == IFN_OK || !strstr(ifn_last_error(), g_error_cases[i].expected)) {
            failed++;
            fprintf(stderr, "  FAIL %s: status %d, message \"%s\", want \"%s\"\n",
                    g_error_cases[i].name, (int)st, st == IFN_OK ? text : ifn_last_error(),
                    g_error_cases[i].expected);
        }
        ifn_free(text);
    }
    assert_int_equal(failed, 0);
}

static void test_chat_template_syntax_errors_fail_at_create(void **state) {
    (void)state;
    size_t failed = 0, n = sizeof g_syntax_cases / sizeof g_syntax_cases[0];
    for (size_t i = 0; i < n; i++) {
        ifn_chat_template *t = NULL;
        const char *src = g_syntax_cases[i].source;
        ifn_status st = ifn_chat_template_create(src, strlen(src), &t);
        if (st != IFN_E_FORMAT || !strstr(ifn_last_error(), "syntax error at line")) {
            failed++;
            fprintf(stderr, "  FAIL %s: status %d \"%s\"\n", g_syntax_cases[i].name, (int)st,
                    ifn_last_error());
        }
        ifn_chat_template_destroy(t);
    }
    assert_int_equal(failed, 0);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_chat_template_language_features_match_jinja2),
        cmocka_unit_test(test_chat_template_runtime_errors_are_reported),
        cmocka_unit_test(test_chat_template_syntax_errors_fail_at_create),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
