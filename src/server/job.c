/* Engine callbacks -> event queue -> connection thread (see job.h). */
#include "server/job.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "util/alloc.h"
#include "util/status.h"
#include "util/time.h"

/* One submitted engine request: the callbacks' user pointer. */
typedef struct job_request {
    ifn_job *job;
    int32_t choice_base;
} job_request;

struct ifn_job {
    ifn_engine *engine;
    pthread_mutex_t lock; /* guards everything below */
    pthread_cond_t changed;
    int refs;
    ifn_job_event *events;
    size_t n_events, head, cap_events;
    ifn_job_event taken; /* the event handed out last; freed on the next take */
    uint64_t *ids;       /* engine ids of submitted requests */
    size_t n_ids, cap_ids;
    int n_pending;       /* submitted requests whose on_done has not come */
    int is_aborted;
    ifn_status status;
    char message[256];
};

ifn_status ifn_job_create(ifn_engine *engine, ifn_job **out_job) {
    ifn_job *job = ifn_calloc(1, sizeof *job);
    if (!job) return ifn_fail(IFN_E_NOMEM, "no memory");
    job->engine = engine;
    job->refs = 1;
    pthread_mutex_init(&job->lock, NULL);
    pthread_cond_init(&job->changed, NULL);
    *out_job = job;
    return IFN_OK;
}

static void free_event(ifn_job_event *ev) {
    ifn_free(ev->text);
    ifn_free(ev->values);
    memset(ev, 0, sizeof *ev);
}

static void job_unref_locked(ifn_job *job) {
    if (--job->refs > 0) {
        pthread_mutex_unlock(&job->lock);
        return;
    }
    pthread_mutex_unlock(&job->lock);
    for (size_t i = job->head; i < job->n_events; i++) free_event(&job->events[i]);
    free_event(&job->taken);
    ifn_free(job->events);
    ifn_free(job->ids);
    pthread_cond_destroy(&job->changed);
    pthread_mutex_destroy(&job->lock);
    ifn_free(job);
}

/* Appends an event (taking ownership of its buffers); on allocation failure the event is
 * dropped and the job fails with IFN_E_NOMEM. Called with the lock held. */
static int push_event(ifn_job *job, ifn_job_event *ev) {
    if (job->head > 0 && job->head == job->n_events) job->head = job->n_events = 0;
    if (job->n_events == job->cap_events) {
        size_t cap = job->cap_events ? job->cap_events * 2 : 16;
        ifn_job_event *grown = ifn_realloc(job->events, cap * sizeof *grown);
        if (!grown) {
            free_event(ev);
            if (job->status == IFN_OK) job->status = IFN_E_NOMEM;
            return -1;
        }
        job->events = grown;
        job->cap_events = cap;
    }
    job->events[job->n_events++] = *ev;
    pthread_cond_broadcast(&job->changed);
    return 0;
}

static int on_token(void *user, int32_t index, int32_t token, const char *text, size_t len,
                    const ifn_sampler_logprobs *logprobs) {
    job_request *jr = user;
    ifn_job *job = jr->job;
    ifn_job_event ev = {.kind = IFN_JOB_EVENT_TOKEN, .choice = jr->choice_base + index,
                        .token = token, .len = len};
    ev.text = ifn_strndup(text, len);
    if (logprobs) {
        ev.has_logprobs = 1;
        ev.logprobs = *logprobs;
    }
    pthread_mutex_lock(&job->lock);
    int rc = ev.text ? push_event(job, &ev) : -1;
    int stop = rc != 0 || job->is_aborted;
    pthread_mutex_unlock(&job->lock);
    return stop;
}

static void on_finish(void *user, int32_t index, ifn_finish_reason reason, const char *text,
                      size_t len, const ifn_request_usage *usage) {
    job_request *jr = user;
    ifn_job *job = jr->job;
    ifn_job_event ev = {.kind = IFN_JOB_EVENT_FINISH, .choice = jr->choice_base + index,
                        .token = -1, .len = len, .reason = reason, .usage = *usage};
    ev.text = ifn_strndup(text, len);
    pthread_mutex_lock(&job->lock);
    if (ev.text) push_event(job, &ev);
    else if (job->status == IFN_OK) job->status = IFN_E_NOMEM;
    pthread_mutex_unlock(&job->lock);
}

static void on_embedding(void *user, const float *values, int32_t n_values,
                         const ifn_request_usage *usage) {
    job_request *jr = user;
    ifn_job *job = jr->job;
    ifn_job_event ev = {.kind = IFN_JOB_EVENT_EMBEDDING, .choice = jr->choice_base, .token = -1,
                        .n_values = n_values, .usage = *usage};
    ev.values = ifn_malloc((size_t)n_values * sizeof *values + 1);
    if (ev.values) memcpy(ev.values, values, (size_t)n_values * sizeof *values);
    pthread_mutex_lock(&job->lock);
    if (ev.values) push_event(job, &ev);
    else if (job->status == IFN_OK) job->status = IFN_E_NOMEM;
    pthread_mutex_unlock(&job->lock);
}

static void on_done(void *user, ifn_status status, const char *message) {
    job_request *jr = user;
    ifn_job *job = jr->job;
    ifn_free(jr);
    pthread_mutex_lock(&job->lock);
    if (status != IFN_OK && status != IFN_E_CANCELLED && job->status == IFN_OK) {
        job->status = status;
        snprintf(job->message, sizeof job->message, "%s", message ? message : "");
    }
    job->n_pending--;
    pthread_cond_broadcast(&job->changed);
    job_unref_locked(job);
}

static int remember_id(ifn_job *job, uint64_t id) {
    if (job->n_ids == job->cap_ids) {
        size_t cap = job->cap_ids ? job->cap_ids * 2 : 4;
        uint64_t *grown = ifn_realloc(job->ids, cap * sizeof *grown);
        if (!grown) return -1;
        job->ids = grown;
        job->cap_ids = cap;
    }
    job->ids[job->n_ids++] = id;
    return 0;
}

ifn_status ifn_job_submit(ifn_job *job, const ifn_request *request, int32_t choice_base) {
    job_request *jr = ifn_calloc(1, sizeof *jr);
    if (!jr) return ifn_fail(IFN_E_NOMEM, "no memory");
    jr->job = job;
    jr->choice_base = choice_base;
    ifn_request req = *request;
    req.callbacks = (ifn_request_callbacks){.on_token = on_token, .on_finish = on_finish,
                                            .on_embedding = on_embedding, .on_done = on_done,
                                            .user = jr};
    pthread_mutex_lock(&job->lock);
    int has_room = remember_id(job, 0) == 0; /* slot filled in below */
    if (has_room) {
        job->refs++;
        job->n_pending++;
    }
    pthread_mutex_unlock(&job->lock);
    if (!has_room) {
        ifn_free(jr);
        return ifn_fail(IFN_E_NOMEM, "no memory");
    }
    /* Never call into the engine with the job locked: its thread takes the lock in callbacks. */
    uint64_t id = 0;
    ifn_status st = ifn_engine_submit(job->engine, &req, &id);
    pthread_mutex_lock(&job->lock);
    if (st != IFN_OK) {
        job->n_pending--;
        job_unref_locked(job); /* unlocks; the creator still holds a reference */
        ifn_free(jr);
        return st;
    }
    for (size_t i = job->n_ids; i-- > 0;)
        if (job->ids[i] == 0) {
            job->ids[i] = id;
            break;
        }
    int aborted = job->is_aborted;
    pthread_mutex_unlock(&job->lock);
    if (aborted) ifn_engine_abort(job->engine, id);
    return IFN_OK;
}

int ifn_job_next(ifn_job *job, int timeout_ms, ifn_job_event *out) {
    struct timespec deadline = ifn_time_deadline_after_ms(timeout_ms);
    pthread_mutex_lock(&job->lock);
    free_event(&job->taken);
    int rc = 0;
    for (;;) {
        if (job->head < job->n_events) {
            job->taken = job->events[job->head++];
            *out = job->taken;
            rc = 1;
            break;
        }
        if (job->n_pending == 0) {
            rc = -1;
            break;
        }
        if (pthread_cond_timedwait(&job->changed, &job->lock, &deadline) == ETIMEDOUT) break;
    }
    pthread_mutex_unlock(&job->lock);
    return rc;
}

ifn_status ifn_job_status(const ifn_job *job, const char **out_message) {
    if (out_message) *out_message = job->message;
    return job->status;
}

void ifn_job_abort(ifn_job *job) {
    uint64_t ids[64];
    size_t done = 0;
    for (;;) { /* in batches, outside the lock (see ifn_job_submit) */
        pthread_mutex_lock(&job->lock);
        job->is_aborted = 1;
        size_t n = 0;
        while (done + n < job->n_ids && n < 64) {
            ids[n] = job->ids[done + n];
            n++;
        }
        pthread_mutex_unlock(&job->lock);
        if (n == 0) return;
        for (size_t i = 0; i < n; i++)
            if (ids[i]) ifn_engine_abort(job->engine, ids[i]);
        done += n;
    }
}

void ifn_job_release(ifn_job *job) {
    if (!job) return;
    pthread_mutex_lock(&job->lock);
    job_unref_locked(job);
}
