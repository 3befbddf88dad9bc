/* The model manager on a repository of four small models (stories260K as llama2.c and as GGUF,
 * aidreams260K, and a random GGUF from `inferneo synth`) with a memory budget that fits two:
 * 1. cycling through them never exceeds the budget (the reserved estimates, and the allocator's
 *    live bytes), evicts the least recently used, reloads on demand, and every lease generates
 *    its own model's greedy tokens (run.c's reference, or the model alone);
 * 2. 20 threads acquiring a cold model cause exactly one load;
 * 3. pinned models are never evicted; a model that cannot fit fails with IFN_E_FULL and disturbs
 *    nothing; keep_alive 0 unloads when idle; max_models caps the count;
 * 4. two models generate concurrently through the shared compute pool, each correctly. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "manager/manager.h"
#include "manager/repo_fixture.h"
#include "util/alloc.h"
#include "util/status.h"
#include "util/time.h"

#define N_MODELS 4
#define N_CHECK 24       /* greedy tokens compared per generation */
#define LIVE_SLACK 65536 /* bookkeeping of the manager and the test outside any model */

static const char *const g_names[N_MODELS] = {"stories", "dreams", "storiesgguf", "random"};

typedef struct fixture {
    char root[256];
    int32_t prompt[N_MODELS][64];
    int32_t n_prompt[N_MODELS];
    int32_t want[N_MODELS][N_CHECK];
} fixture;

static const char *path_in(const fixture *f, const char *rel) {
    static char buf[4][1024];
    static int next;
    char *out = buf[next++ % 4];
    snprintf(out, sizeof buf[0], "%s/%s", f->root, rel);
    return out;
}

/* The random model has no reference file: its own greedy tokens, loaded alone, are it. */
static int reference_of_random(fixture *f) {
    ifn_served_model_params p = ifn_served_model_params_default();
    p.model_path = path_in(f, "random/1/random.gguf");
    p.engine.n_threads = 1;
    p.engine.kv_type = IFN_DTYPE_F32;
    p.engine.max_num_seqs = 2;
    ifn_served_model *model = NULL;
    if (ifn_served_model_load(&p, &model) != IFN_OK) return 0;
    memcpy(f->prompt[3], f->prompt[0], sizeof f->prompt[0]);
    f->n_prompt[3] = f->n_prompt[0];
    ifn_status st = fx_generate(model, f->prompt[3], f->n_prompt[3], N_CHECK, f->want[3]);
    ifn_served_model_destroy(model);
    return st == IFN_OK;
}

static int setup(void **state) {
    static fixture f;
    const char *bin = shared_path("models/stories260K/stories260K.bin");
    const char *tok = shared_path("models/stories260K/tok512.bin");
    const char *dreams = shared_path("models/aidreams260K/aidreams260K.bin");
    const char *dreams_tok = shared_path("models/aidreams260K/tok512.bin");
    const char *gguf = shared_path("models/stories260K/stories260Ktok512.gguf");
    *state = NULL;
    if (!bin || !tok || !dreams || !dreams_tok || !gguf) return 0;
    f.n_prompt[0] = fx_reference("models/stories260K/greedy_once_upon_a_time.ids.txt", f.prompt[0],
                                 f.want[0], N_CHECK);
    f.n_prompt[1] = fx_reference("models/aidreams260K/greedy_i_dreamed.ids.txt", f.prompt[1],
                                 f.want[1], N_CHECK);
    f.n_prompt[2] = fx_reference("models/stories260K/greedy_lily_went_to.ids.txt", f.prompt[2],
                                 f.want[2], N_CHECK);
    if (!f.n_prompt[0] || !f.n_prompt[1] || !f.n_prompt[2]) return 0;
    fx_mkdtemp(f.root);
    for (int i = 0; i < N_MODELS; i++) {
        char rel[64];
        snprintf(rel, sizeof rel, "%s/1", g_names[i]);
        fx_mkdirs(f.root, rel);
    }
    fx_copy(bin, f.root, "stories/1/stories260K.bin", 0);
    fx_copy(tok, f.root, "stories/1/tok512.bin", 0);
    fx_copy(dreams, f.root, "dreams/1/aidreams260K.bin", 0);
    fx_copy(dreams_tok, f.root, "dreams/1/tok512.bin", 0);
    fx_copy(gguf, f.root, "storiesgguf/1/stories260Ktok512.gguf", 0);
    /* the GGUF declares a 128-token context; run.c's reference used the trained 512 */
    fx_write(f.root, "storiesgguf/config.json", "{\"context_length\": 512, \"aliases\": [\"sg\"]}");
    if (!fx_synth(f.root, "random/1/random.gguf", 11) || !reference_of_random(&f)) {
        fx_rm_rf(f.root);
        return 0;
    }
    *state = &f;
    return 0;
}

static int teardown(void **state) {
    fixture *f = *state;
    if (f) fx_rm_rf(f->root);
    return 0;
}

static ifn_manager_params small_params(const fixture *f) {
    ifn_manager_params p = ifn_manager_params_default();
    p.repository_dir = f->root;
    p.n_threads = 2;
    p.engine.kv_type = IFN_DTYPE_F32; /* run.c's arithmetic, for the reference tokens */
    p.engine.max_num_seqs = 4;
    p.engine.max_batched_tokens = 64;
    p.engine.kv_cache_bytes = 1u << 20;
    return p;
}

static int model_index(const char *name) {
    for (int i = 0; i < N_MODELS; i++)
        if (strcmp(g_names[i], name) == 0) return i;
    return -1;
}

/* Every model's estimate, indexed like g_names. */
static void estimates(ifn_manager *m, size_t *out) {
    ifn_manager_model_info *infos = NULL;
    int32_t n = 0;
    assert_int_equal(ifn_manager_list(m, &infos, &n), IFN_OK);
    assert_int_equal(n, N_MODELS);
    for (int32_t i = 0; i < n; i++) {
        assert_null(infos[i].error);
        out[model_index(infos[i].name)] = infos[i].estimated_bytes;
    }
    ifn_manager_list_free(infos, n);
}

/* Which models are ready (bit i = g_names[i]); also checks that the allocator's live bytes
 * above `base` stay within the heap part of the loaded models' estimates. */
static unsigned loaded_set(ifn_manager *m, size_t base) {
    ifn_manager_model_info *infos = NULL;
    int32_t n = 0;
    assert_int_equal(ifn_manager_list(m, &infos, &n), IFN_OK);
    unsigned set = 0;
    size_t heap_estimate = 0;
    for (int32_t i = 0; i < n; i++) {
        if (infos[i].state != IFN_MANAGER_STATE_READY) continue;
        set |= 1u << model_index(infos[i].name);
        heap_estimate += infos[i].estimated_bytes - infos[i].estimated_weights_bytes;
        assert_true(infos[i].loaded_bytes > 0 && infos[i].loaded_bytes <= infos[i].estimated_bytes);
    }
    ifn_manager_list_free(infos, n);
    size_t live = ifn_alloc_live_bytes();
    if (live > base + heap_estimate + LIVE_SLACK)
        fail_msg("live bytes grew by %zu, more than the estimates' %zu", live - base,
                 heap_estimate);
    return set;
}

static void check_generates(const fixture *f, ifn_manager_lease *lease) {
    int i = model_index(ifn_manager_lease_name(lease));
    assert_true(i >= 0);
    int32_t got[N_CHECK];
    assert_int_equal(
        fx_generate(ifn_manager_lease_model(lease), f->prompt[i], f->n_prompt[i], N_CHECK, got),
        IFN_OK);
    for (int k = 0; k < N_CHECK; k++)
        if (got[k] != f->want[i][k])
            fail_msg("%s: token %d is %d, want %d", g_names[i], k, got[k], f->want[i][k]);
}

static void use_model(const fixture *f, ifn_manager *m, const char *name) {
    ifn_manager_lease *lease = NULL;
    ifn_status st = ifn_manager_acquire(m, name, IFN_KEEP_ALIVE_DEFAULT, 20000, &lease);
    if (st != IFN_OK) fail_msg("acquire %s: %s", name, ifn_last_error());
    check_generates(f, lease);
    ifn_manager_release(lease);
}

static void test_manager_cycles_models_within_budget_evicting_lru(void **state) {
    fixture *f = *state;
    if (!f) skip();
    ifn_manager_params p = small_params(f);
    ifn_manager *m = NULL;
    assert_int_equal(ifn_manager_create(&p, &m), IFN_OK);
    size_t est[N_MODELS];
    estimates(m, est);
    ifn_manager_destroy(m);
    /* a budget for the two largest, never three of them */
    size_t sorted[N_MODELS];
    memcpy(sorted, est, sizeof sorted);
    for (int i = 0; i < N_MODELS; i++)
        for (int k = i + 1; k < N_MODELS; k++)
            if (sorted[k] > sorted[i]) {
                size_t t = sorted[i];
                sorted[i] = sorted[k];
                sorted[k] = t;
            }
    p.max_memory_bytes = sorted[0] + sorted[1];
    assert_true(sorted[1] + sorted[2] + sorted[3] > p.max_memory_bytes);
    size_t before = ifn_alloc_live_bytes();
    assert_int_equal(ifn_manager_create(&p, &m), IFN_OK);
    size_t base = ifn_alloc_live_bytes();

    for (int round = 0; round < 3; round++) {
        for (int i = 0; i < N_MODELS; i++) {
            use_model(f, m, g_names[i]);
            unsigned want = (1u << i) | (round + i > 0 ? 1u << ((i + N_MODELS - 1) % N_MODELS) : 0);
            assert_int_equal(loaded_set(m, base), want);
        }
    }
    ifn_manager_stats st;
    ifn_manager_get_stats(m, &st);
    assert_int_equal(st.loads, 12);
    assert_int_equal(st.evictions, 10);
    assert_true(st.peak_reserved_bytes <= p.max_memory_bytes);
    assert_true(st.peak_reserved_bytes > sorted[3]);

    /* least recently *used*, not first loaded: touch "random" (loaded first of the pair) */
    use_model(f, m, "random");      /* loaded: storiesgguf, random (random used last) */
    use_model(f, m, "storiesgguf"); /* a hit: now random is least recently used */
    use_model(f, m, "stories");
    assert_int_equal(loaded_set(m, base), (1u << 0) | (1u << 2));
    use_model(f, m, "sg"); /* the alias is the same model: a hit */
    ifn_manager_get_stats(m, &st);
    assert_int_equal(st.loads, 13);
    assert_true(st.peak_reserved_bytes <= p.max_memory_bytes);
    ifn_manager_destroy(m);
    assert_int_equal(ifn_alloc_live_bytes(), before); /* every byte returned */
}

typedef struct racer {
    ifn_manager *manager;
    pthread_barrier_t *start;
    ifn_served_model *got;
    ifn_status status;
} racer;

static void *race_acquire(void *arg) {
    racer *r = arg;
    ifn_manager_lease *lease = NULL;
    pthread_barrier_wait(r->start);
    r->status = ifn_manager_acquire(r->manager, "dreams", IFN_KEEP_ALIVE_DEFAULT, 20000, &lease);
    if (r->status == IFN_OK) {
        r->got = ifn_manager_lease_model(lease);
        usleep(1000);
        ifn_manager_release(lease);
    }
    return NULL;
}

static void test_manager_concurrent_cold_acquires_load_once(void **state) {
    fixture *f = *state;
    if (!f) skip();
    ifn_manager_params p = small_params(f);
    ifn_manager *m = NULL;
    assert_int_equal(ifn_manager_create(&p, &m), IFN_OK);
    enum { N = 20 };
    pthread_t threads[N];
    racer racers[N];
    pthread_barrier_t start;
    pthread_barrier_init(&start, NULL, N);
    for (int i = 0; i < N; i++) {
        racers[i] = (racer){m, &start, NULL, IFN_E_INTERNAL};
        assert_int_equal(pthread_create(&threads[i], NULL, race_acquire, &racers[i]), 0);
    }
    for (int i = 0; i < N; i++)
        pthread_join(threads[i], NULL);
    pthread_barrier_destroy(&start);
    for (int i = 0; i < N; i++) {
        assert_int_equal(racers[i].status, IFN_OK);
        assert_ptr_equal(racers[i].got, racers[0].got);
    }
    ifn_manager_stats st;
    ifn_manager_get_stats(m, &st);
    assert_int_equal(st.loads, 1);
    assert_int_equal(st.n_loaded, 1);
    ifn_manager_destroy(m);
}

static void test_manager_pinned_stays_and_full_disturbs_nothing(void **state) {
    fixture *f = *state;
    if (!f) skip();
    fx_write(f->root, "stories/config.json", "{\"pinned\": true}");
    ifn_manager_params p = small_params(f);
    ifn_manager *m = NULL;
    assert_int_equal(ifn_manager_create(&p, &m), IFN_OK);
    size_t est[N_MODELS];
    estimates(m, est);
    ifn_manager_destroy(m);
    size_t biggest = 0;
    for (int i = 0; i < N_MODELS; i++)
        biggest = est[i] > biggest ? est[i] : biggest;
    p.max_memory_bytes = 2 * biggest;
    assert_int_equal(ifn_manager_create(&p, &m), IFN_OK);
    size_t base = ifn_alloc_live_bytes();

    use_model(f, m, "stories"); /* pinned, and now the least recently used */
    use_model(f, m, "dreams");
    use_model(f, m, "storiesgguf"); /* evicts dreams, not the pinned stories */
    assert_int_equal(loaded_set(m, base), (1u << 0) | (1u << 2));
    use_model(f, m, "random");
    assert_int_equal(loaded_set(m, base), (1u << 0) | (1u << 3));

    /* both slots busy (one pinned, one leased): a third model cannot fit */
    ifn_manager_lease *held = NULL, *other = NULL;
    assert_int_equal(ifn_manager_acquire(m, "random", IFN_KEEP_ALIVE_DEFAULT, 5000, &held), IFN_OK);
    ifn_manager_stats before, after;
    ifn_manager_get_stats(m, &before);
    int64_t t0 = ifn_time_now_ns();
    assert_int_equal(ifn_manager_acquire(m, "dreams", IFN_KEEP_ALIVE_DEFAULT, 5000, &other),
                     IFN_E_FULL);
    assert_true(ifn_time_now_ns() - t0 < 1000000000LL); /* refused at once, not after waiting */
    assert_non_null(strstr(ifn_last_error(), "not enough memory for model 'dreams'"));
    ifn_manager_get_stats(m, &after);
    assert_int_equal(after.evictions, before.evictions);
    assert_int_equal(after.loads, before.loads);
    assert_int_equal(after.rejected_full, before.rejected_full + 1);
    assert_int_equal(loaded_set(m, base), (1u << 0) | (1u << 3));
    check_generates(f, held); /* the running model still works */
    ifn_manager_release(held);
    use_model(f, m, "dreams"); /* random is idle now: evicted */
    assert_int_equal(loaded_set(m, base), (1u << 0) | (1u << 1));
    ifn_manager_destroy(m);

    /* a budget smaller than one model */
    p.max_memory_bytes = est[1] / 2;
    assert_int_equal(ifn_manager_create(&p, &m), IFN_OK);
    assert_int_equal(ifn_manager_acquire(m, "dreams", IFN_KEEP_ALIVE_DEFAULT, 5000, &other),
                     IFN_E_FULL);
    assert_non_null(strstr(ifn_last_error(), "more than the whole memory budget"));
    ifn_manager_destroy(m);
    fx_write(f->root, "stories/config.json", "{}");
}

static int wait_state(ifn_manager *m, const char *name, ifn_manager_state want, int64_t ms) {
    for (int64_t waited = 0; waited <= ms; waited += 5) {
        ifn_manager_model_info *infos = NULL;
        int32_t n = 0;
        assert_int_equal(ifn_manager_list(m, &infos, &n), IFN_OK);
        int found = 0;
        for (int32_t i = 0; i < n; i++)
            found |= strcmp(infos[i].name, name) == 0 && infos[i].state == want;
        ifn_manager_list_free(infos, n);
        if (found) return 1;
        usleep(5000);
    }
    return 0;
}

static void test_manager_keep_alive_and_max_models(void **state) {
    fixture *f = *state;
    if (!f) skip();
    ifn_manager_params p = small_params(f);
    p.max_models = 1;
    ifn_manager *m = NULL;
    assert_int_equal(ifn_manager_create(&p, &m), IFN_OK);
    size_t base = ifn_alloc_live_bytes();
    ifn_manager_lease *lease = NULL;
    /* keep_alive 0: unloaded as soon as the lease ends */
    assert_int_equal(ifn_manager_acquire(m, "stories", 0, 5000, &lease), IFN_OK);
    assert_int_equal(loaded_set(m, base), 1u << 0);
    usleep(100000);
    assert_int_equal(loaded_set(m, base), 1u << 0); /* leased: stays */
    ifn_manager_release(lease);
    assert_true(wait_state(m, "stories", IFN_MANAGER_STATE_UNLOADED, 2000));
    /* a short keep-alive expires; forever does not; max_models 1 evicts the other */
    assert_int_equal(ifn_manager_load(m, "dreams", 150, 5000), IFN_OK);
    assert_true(wait_state(m, "dreams", IFN_MANAGER_STATE_READY, 0));
    assert_true(wait_state(m, "dreams", IFN_MANAGER_STATE_UNLOADED, 2000));
    assert_int_equal(ifn_manager_load(m, "dreams", IFN_KEEP_ALIVE_FOREVER, 5000), IFN_OK);
    usleep(300000);
    assert_int_equal(loaded_set(m, base), 1u << 1);
    use_model(f, m, "random");
    assert_int_equal(loaded_set(m, base), 1u << 3);
    ifn_manager_stats st;
    ifn_manager_get_stats(m, &st);
    assert_int_equal(st.evictions, 1);
    assert_int_equal(st.loads, 4);
    ifn_manager_destroy(m);
}

typedef struct pool_user {
    const fixture *f;
    ifn_manager *manager;
    const char *name;
    int rounds;
} pool_user;

static void *generate_rounds(void *arg) {
    pool_user *u = arg;
    ifn_manager_lease *lease = NULL;
    if (ifn_manager_acquire(u->manager, u->name, IFN_KEEP_ALIVE_DEFAULT, 20000, &lease) != IFN_OK)
        return NULL;
    for (int i = 0; i < u->rounds; i++)
        check_generates(u->f, lease);
    ifn_manager_release(lease);
    return NULL;
}

static void test_manager_models_share_the_pool_concurrently(void **state) {
    fixture *f = *state;
    if (!f) skip();
    ifn_manager_params p = small_params(f);
    ifn_manager *m = NULL;
    assert_int_equal(ifn_manager_create(&p, &m), IFN_OK);
    assert_int_equal(ifn_pool_size(ifn_manager_pool(m)), 2);
    pool_user users[3] = {{f, m, "stories", 20}, {f, m, "dreams", 20}, {f, m, "random", 20}};
    pthread_t threads[3];
    for (int i = 0; i < 3; i++)
        pthread_create(&threads[i], NULL, generate_rounds, &users[i]);
    for (int i = 0; i < 3; i++)
        pthread_join(threads[i], NULL);
    ifn_manager_stats st;
    ifn_manager_get_stats(m, &st);
    assert_int_equal(st.loads, 3);
    int depth = 1; /* engine stats are published after the step that finished the request */
    for (int i = 0; i < 200 && depth > 0; i++, usleep(5000))
        depth = ifn_manager_queue_depth(m, "stories");
    assert_int_equal(depth, 0);
    assert_int_equal(ifn_manager_queue_depth(m, "nosuch"), 0);
    ifn_manager_destroy(m);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_manager_cycles_models_within_budget_evicting_lru),
        cmocka_unit_test(test_manager_concurrent_cold_acquires_load_once),
        cmocka_unit_test(test_manager_pinned_stays_and_full_disturbs_nothing),
        cmocka_unit_test(test_manager_keep_alive_and_max_models),
        cmocka_unit_test(test_manager_models_share_the_pool_concurrently),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
