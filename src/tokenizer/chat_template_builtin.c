/* Built-in chat templates for models whose files carry none, written for this project in the
 * chat-template language. Each renders messages with string content, honours
 * add_generation_prompt and uses bos_token/eos_token where the format calls for them. */
#include "tokenizer/chat_template.h"

#include <string.h>

/* <|im_start|>role\ncontent<|im_end|>\n (Qwen, Hermes, many fine-tunes). */
static const char g_chatml[] =
    "{%- for message in messages -%}\n"
    "{{- '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>\\n' -}}\n"
    "{%- endfor -%}\n"
    "{%- if add_generation_prompt -%}{{- '<|im_start|>assistant\\n' -}}{%- endif -%}\n";

/* Llama 2 chat: the system prompt sits inside the first [INST] in <<SYS>> tags. */
static const char g_llama2[] =
    "{%- set ns = namespace(system='') -%}\n"
    "{%- if messages and messages[0]['role'] == 'system' -%}\n"
    "{%- set ns.system = messages[0]['content'] -%}{%- set messages = messages[1:] -%}\n"
    "{%- endif -%}\n"
    "{%- for message in messages -%}\n"
    "{%- if message['role'] == 'user' -%}\n"
    "{%- set text = message['content'] -%}\n"
    "{%- if loop.first and ns.system -%}\n"
    "{%- set text = '<<SYS>>\\n' + ns.system + '\\n<</SYS>>\\n\\n' + text -%}\n"
    "{%- endif -%}\n"
    "{{- bos_token + '[INST] ' + text | trim + ' [/INST]' -}}\n"
    "{%- elif message['role'] == 'assistant' -%}\n"
    "{{- ' ' + message['content'] | trim + ' ' + eos_token -}}\n"
    "{%- endif -%}\n"
    "{%- endfor -%}\n";

/* Llama 3 / 3.x instruct headers. */
static const char g_llama3[] =
    "{{- bos_token -}}\n"
    "{%- for message in messages -%}\n"
    "{{- '<|start_header_id|>' + message['role'] + '<|end_header_id|>\\n\\n' -}}\n"
    "{{- message['content'] | trim + '<|eot_id|>' -}}\n"
    "{%- endfor -%}\n"
    "{%- if add_generation_prompt -%}\n"
    "{{- '<|start_header_id|>assistant<|end_header_id|>\\n\\n' -}}\n"
    "{%- endif -%}\n";

/* Mistral instruct (v1 style): the system prompt is prepended to the first user turn. */
static const char g_mistral[] =
    "{%- set ns = namespace(system='') -%}\n"
    "{%- if messages and messages[0]['role'] == 'system' -%}\n"
    "{%- set ns.system = messages[0]['content'] -%}{%- set messages = messages[1:] -%}\n"
    "{%- endif -%}\n"
    "{{- bos_token -}}\n"
    "{%- for message in messages -%}\n"
    "{%- if message['role'] == 'user' -%}\n"
    "{%- set text = message['content'] -%}\n"
    "{%- if loop.first and ns.system -%}{%- set text = ns.system + '\\n\\n' + text -%}{%- endif "
    "-%}\n"
    "{{- '[INST] ' + text + ' [/INST]' -}}\n"
    "{%- elif message['role'] == 'assistant' -%}\n"
    "{{- ' ' + message['content'] + eos_token -}}\n"
    "{%- endif -%}\n"
    "{%- endfor -%}\n";

/* Gemma: user/model turns; a system prompt joins the first user turn. */
static const char g_gemma[] =
    "{%- set ns = namespace(system='') -%}\n"
    "{%- if messages and messages[0]['role'] == 'system' -%}\n"
    "{%- set ns.system = messages[0]['content'] + '\\n\\n' -%}{%- set messages = messages[1:] -%}\n"
    "{%- endif -%}\n"
    "{{- bos_token -}}\n"
    "{%- for message in messages -%}\n"
    "{%- set role = 'model' if message['role'] == 'assistant' else message['role'] -%}\n"
    "{%- set text = (ns.system if loop.first else '') + message['content'] -%}\n"
    "{{- '<start_of_turn>' + role + '\\n' + text | trim + '<end_of_turn>\\n' -}}\n"
    "{%- endfor -%}\n"
    "{%- if add_generation_prompt -%}{{- '<start_of_turn>model\\n' -}}{%- endif -%}\n";

/* Phi-3: <|role|>\ncontent<|end|>\n. */
static const char g_phi3[] =
    "{%- for message in messages -%}\n"
    "{{- '<|' + message['role'] + '|>\\n' + message['content'] + '<|end|>\\n' -}}\n"
    "{%- endfor -%}\n"
    "{%- if add_generation_prompt -%}{{- '<|assistant|>\\n' -}}{%- else -%}{{- eos_token -}}"
    "{%- endif -%}\n";

/* Zephyr: <|role|>\ncontent</s>\n (eos_token closes each turn). */
static const char g_zephyr[] =
    "{%- for message in messages -%}\n"
    "{{- '<|' + message['role'] + '|>\\n' + message['content'] + eos_token + '\\n' -}}\n"
    "{%- endfor -%}\n"
    "{%- if add_generation_prompt -%}{{- '<|assistant|>\\n' -}}{%- endif -%}\n";

static const struct {
    const char *name;
    const char *source;
} g_builtins[] = {
    {"chatml", g_chatml}, {"llama2", g_llama2}, {"llama3", g_llama3}, {"mistral", g_mistral},
    {"gemma", g_gemma},   {"phi3", g_phi3},     {"zephyr", g_zephyr},
};

const char *ifn_chat_template_builtin(const char *name) {
    for (size_t i = 0; name && i < sizeof g_builtins / sizeof g_builtins[0]; i++)
        if (strcmp(name, g_builtins[i].name) == 0) return g_builtins[i].source;
    return NULL;
}

const char *ifn_chat_template_builtin_name(size_t index) {
    return index < sizeof g_builtins / sizeof g_builtins[0] ? g_builtins[index].name : NULL;
}
