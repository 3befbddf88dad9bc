/* Step scheduling with preemption by recomputation (see scheduler.h). Lists are small arrays
 * kept sorted: a few hundred sequences at most, so insertion is cheap and order is explicit. */
#include "engine/scheduler.h"

#include <string.h>

#include "util/alloc.h"
#include "util/status.h"

ifn_status ifn_scheduler_init(ifn_scheduler *s, ifn_kv_cache *cache, int32_t max_num_seqs,
                              int32_t max_batched_tokens, int enable_prefix_cache) {
    memset(s, 0, sizeof *s);
    s->cache = cache;
    s->max_num_seqs = max_num_seqs;
    s->max_batched_tokens = max_batched_tokens;
    s->enable_prefix_cache = enable_prefix_cache;
    s->tokens = ifn_calloc((size_t)max_batched_tokens, sizeof *s->tokens);
    if (!s->tokens) return ifn_fail(IFN_E_NOMEM, "scheduler: no memory");
    return IFN_OK;
}

void ifn_scheduler_deinit(ifn_scheduler *s) {
    ifn_free(s->tokens);
    ifn_free(s->seqs);
    ifn_free(s->owners);
    ifn_free(s->running);
    ifn_free(s->waiting);
    memset(s, 0, sizeof *s);
}

static int runs_before(const ifn_sequence *a, const ifn_sequence *b) {
    if (a->priority != b->priority) return a->priority < b->priority;
    if (a->arrival != b->arrival) return a->arrival < b->arrival;
    return a->index < b->index;
}

static ifn_status ensure_lists(ifn_scheduler *s) {
    int32_t need = s->n_running + s->n_waiting + 1;
    if (need <= s->list_capacity) return IFN_OK;
    int32_t cap = s->list_capacity ? s->list_capacity * 2 : 64;
    while (cap < need) cap *= 2;
    ifn_sequence **running = ifn_realloc(s->running, sizeof *running * (size_t)cap);
    if (running) s->running = running;
    ifn_sequence **waiting = ifn_realloc(s->waiting, sizeof *waiting * (size_t)cap);
    if (waiting) s->waiting = waiting;
    if (!running || !waiting) return ifn_fail(IFN_E_NOMEM, "scheduler: no memory");
    s->list_capacity = cap;
    return IFN_OK;
}

static void insert_sorted(ifn_sequence **list, int32_t *count, ifn_sequence *seq) {
    int32_t i = *count;
    while (i > 0 && runs_before(seq, list[i - 1])) {
        list[i] = list[i - 1];
        i--;
    }
    list[i] = seq;
    (*count)++;
}

static int remove_from(ifn_sequence **list, int32_t *count, const ifn_sequence *seq) {
    for (int32_t i = 0; i < *count; i++) {
        if (list[i] != seq) continue;
        memmove(&list[i], &list[i + 1], sizeof *list * (size_t)(*count - i - 1));
        (*count)--;
        return 1;
    }
    return 0;
}

ifn_status ifn_scheduler_add_waiting(ifn_scheduler *s, ifn_sequence *seq) {
    ifn_status st = ensure_lists(s);
    if (st != IFN_OK) return st;
    seq->state = IFN_SEQ_WAITING;
    insert_sorted(s->waiting, &s->n_waiting, seq);
    return IFN_OK;
}

ifn_status ifn_scheduler_add_running(ifn_scheduler *s, ifn_sequence *seq) {
    ifn_status st = ensure_lists(s);
    if (st != IFN_OK) return st;
    seq->state = IFN_SEQ_RUNNING;
    insert_sorted(s->running, &s->n_running, seq);
    return IFN_OK;
}

void ifn_scheduler_remove(ifn_scheduler *s, ifn_sequence *seq) {
    if (!remove_from(s->running, &s->n_running, seq)) remove_from(s->waiting, &s->n_waiting, seq);
}

/* Frees a running sequence's blocks and queues it again for recomputation. */
static void preempt(ifn_scheduler *s, ifn_sequence *seq) {
    remove_from(s->running, &s->n_running, seq);
    ifn_sequence_drop_kv(seq, s->cache);
    seq->state = IFN_SEQ_WAITING;
    insert_sorted(s->waiting, &s->n_waiting, seq); /* capacity: it just left running */
    s->preemptions++;
}

static ifn_status ensure_batch_seqs(ifn_scheduler *s, int32_t need) {
    if (need <= s->seq_capacity) return IFN_OK;
    int32_t cap = need * 2;
    ifn_batch_seq *seqs = ifn_realloc(s->seqs, sizeof *seqs * (size_t)cap);
    if (seqs) s->seqs = seqs;
    ifn_sequence **owners = ifn_realloc(s->owners, sizeof *owners * (size_t)cap);
    if (owners) s->owners = owners;
    if (!seqs || !owners) return ifn_fail(IFN_E_NOMEM, "scheduler: no memory");
    s->seq_capacity = cap;
    return IFN_OK;
}

/* Appends `chunk` tokens of seq (from its first uncomputed position) to the batch. */
static ifn_status add_to_batch(ifn_scheduler *s, ifn_sequence *seq, int32_t chunk) {
    ifn_status st = ensure_batch_seqs(s, s->n_seqs + 1);
    if (st != IFN_OK) return st;
    int32_t pos0 = seq->table.n_tokens;
    int wants_logits = pos0 + chunk == (int32_t)seq->tokens.count && !seq->embd_sum;
    memcpy(s->tokens + s->n_tokens, seq->tokens.ids + pos0, sizeof(int32_t) * (size_t)chunk);
    s->seqs[s->n_seqs] = (ifn_batch_seq){&seq->table, pos0, chunk, s->n_tokens,
                                         wants_logits ? s->n_rows : -1, seq->embd_sum};
    s->owners[s->n_seqs++] = seq;
    seq->step_tokens = chunk;
    seq->logits_row = wants_logits ? s->n_rows++ : -1;
    s->n_tokens += chunk;
    return IFN_OK;
}

/* Schedules the running sequences in order, preempting from the tail when blocks run out. */
static ifn_status schedule_running(ifn_scheduler *s, int32_t *budget) {
    for (int32_t i = 0; i < s->n_running && *budget > 0;) {
        ifn_sequence *seq = s->running[i];
        int32_t pending = ifn_sequence_pending(seq);
        int32_t chunk = pending < *budget ? pending : *budget;
        if (chunk <= 0) {
            i++;
            continue;
        }
        ifn_status st;
        while ((st = ifn_block_table_reserve(&seq->table, s->cache, chunk)) == IFN_E_FULL &&
               s->n_running - 1 > i)
            preempt(s, s->running[s->n_running - 1]);
        if (st == IFN_E_FULL) {
            preempt(s, seq); /* nothing behind it to take blocks from */
            continue;
        }
        if (st == IFN_OK) st = add_to_batch(s, seq, chunk);
        if (st != IFN_OK) return st;
        *budget -= chunk;
        i++;
    }
    return IFN_OK;
}

/* Admits waiting sequences while there is budget, room and KV memory. */
static ifn_status admit_waiting(ifn_scheduler *s, int32_t *budget, ifn_sequence **out_unfit) {
    while (s->n_waiting > 0 && *budget > 0 && s->n_running < s->max_num_seqs) {
        ifn_sequence *seq = s->waiting[0];
        int32_t n = (int32_t)seq->tokens.count;
        int32_t matched = 0;
        /* Cached blocks would skip positions whose hidden states an embedding must sum. */
        if (s->enable_prefix_cache && !seq->embd_sum)
            matched = ifn_block_table_match_prefix(&seq->table, s->cache, seq->tokens.ids, n);
        if (!seq->is_admitted_once) seq->n_cached_prompt = matched;
        int32_t pending = n - seq->table.n_tokens;
        int32_t chunk = pending < *budget ? pending : *budget;
        ifn_status st = ifn_block_table_reserve(&seq->table, s->cache, chunk);
        if (st == IFN_E_FULL) {
            ifn_sequence_drop_kv(seq, s->cache);
            if (s->n_running == 0 && s->n_seqs == 0) { /* cannot fit even in an idle cache */
                remove_from(s->waiting, &s->n_waiting, seq);
                *out_unfit = seq;
            }
            return IFN_OK;
        }
        if (st != IFN_OK) return st;
        remove_from(s->waiting, &s->n_waiting, seq);
        seq->is_admitted_once = 1;
        insert_sorted(s->running, &s->n_running, seq);
        seq->state = IFN_SEQ_RUNNING;
        st = add_to_batch(s, seq, chunk);
        if (st != IFN_OK) return st;
        *budget -= chunk;
    }
    return IFN_OK;
}

ifn_status ifn_scheduler_schedule(ifn_scheduler *s, ifn_batch *out, ifn_sequence **out_unfit) {
    *out_unfit = NULL;
    s->n_seqs = 0;
    s->n_tokens = 0;
    s->n_rows = 0;
    for (int32_t i = 0; i < s->n_running; i++) {
        s->running[i]->step_tokens = 0;
        s->running[i]->logits_row = -1;
    }
    int32_t budget = s->max_batched_tokens;
    ifn_status st = schedule_running(s, &budget);
    if (st == IFN_OK) st = admit_waiting(s, &budget, out_unfit);
    if (st != IFN_OK) return st;
    memset(out, 0, sizeof *out);
    out->tokens = s->tokens;
    out->n_tokens = s->n_tokens;
    out->seqs = s->seqs;
    out->n_seqs = s->n_seqs;
    return IFN_OK;
}
