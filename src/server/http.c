/* libmicrohttpd glue (see http.h). MHD runs one thread per connection; every callback below
 * runs on that connection's thread. */
#include "server/http.h"

#include <arpa/inet.h>
#include <errno.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include "util/alloc.h"
#include "util/log.h"
#include "util/status.h"

struct ifn_http_server {
    struct MHD_Daemon *daemon;
    ifn_http_params params;
    uint16_t port;
    pthread_mutex_t lock; /* guards n_upgrades */
    pthread_cond_t upgrades_done;
    int n_upgrades;       /* upgraded connections whose run has not closed them */
};

struct ifn_http_request {
    ifn_http_server *server;
    struct MHD_Connection *conn;
    const char *method; /* MHD's strings, valid for the request */
    const char *path;
    char *body;
    size_t len, cap;
    int is_too_large;
    int has_response;
    enum MHD_Result queued; /* what the access handler returns */
};

struct ifn_http_upgrade {
    ifn_http_server *server;
    struct MHD_UpgradeResponseHandle *handle;
    int fd;
    char *extra;
    size_t n_extra;
    ifn_http_upgrade_fn run;
    void *user;
};

typedef struct upgrade_start {
    ifn_http_upgrade_fn run;
    void *user;
} upgrade_start;

typedef struct stream_state {
    ifn_http_stream_fn produce;
    void (*done)(void *user);
    void *user;
} stream_state;

ifn_http_params ifn_http_params_default(void) {
    ifn_http_params p;
    memset(&p, 0, sizeof p);
    p.host = "127.0.0.1";
    p.port = 8000;
    p.max_body_bytes = 8u << 20;
    p.max_connections = 1024;
    p.idle_timeout_s = 600;
    return p;
}

/* ---- request ------------------------------------------------------------------------------ */

const char *ifn_http_request_method(const ifn_http_request *r) { return r->method; }
const char *ifn_http_request_path(const ifn_http_request *r) { return r->path; }

const char *ifn_http_request_body(const ifn_http_request *r, size_t *out_len) {
    *out_len = r->len;
    return r->body ? r->body : "";
}

int ifn_http_request_body_too_large(const ifn_http_request *r) { return r->is_too_large; }

const char *ifn_http_request_header(const ifn_http_request *r, const char *name) {
    return MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, name);
}

int ifn_http_request_client_gone(const ifn_http_request *r) {
    const union MHD_ConnectionInfo *info =
        MHD_get_connection_info(r->conn, MHD_CONNECTION_INFO_CONNECTION_FD);
    if (!info) return 1;
    struct pollfd pfd = {.fd = info->connect_fd, .events = POLLIN};
    if (poll(&pfd, 1, 0) <= 0) return 0;
    if (pfd.revents & (POLLERR | POLLHUP | POLLNVAL)) return 1;
    /* Readable: either a pipelined request (still connected) or the end of the stream. */
    char byte;
    ssize_t n = recv(info->connect_fd, &byte, 1, MSG_PEEK | MSG_DONTWAIT);
    return n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR);
}

static int append_body(ifn_http_request *r, const char *data, size_t n) {
    size_t max = r->server->params.max_body_bytes;
    if (r->is_too_large) return 0;
    if (r->len + n > max) {
        r->is_too_large = 1;
        ifn_free(r->body);
        r->body = NULL;
        r->len = r->cap = 0;
        return 0;
    }
    if (r->len + n + 1 > r->cap) {
        size_t cap = r->cap ? r->cap : 4096;
        while (cap < r->len + n + 1) cap *= 2;
        char *grown = ifn_realloc(r->body, cap);
        if (!grown) return -1;
        r->body = grown;
        r->cap = cap;
    }
    memcpy(r->body + r->len, data, n);
    r->len += n;
    r->body[r->len] = '\0';
    return 0;
}

/* ---- responses ---------------------------------------------------------------------------- */

static int add_headers(struct MHD_Response *resp, const char *content_type,
                       const ifn_http_header *headers) {
    if (content_type && MHD_add_response_header(resp, "Content-Type", content_type) != MHD_YES)
        return -1;
    for (const ifn_http_header *h = headers; h && h->name; h++)
        if (MHD_add_response_header(resp, h->name, h->value) != MHD_YES) return -1;
    return 0;
}

static ifn_status queue(ifn_http_request *r, int status, struct MHD_Response *resp,
                        const char *content_type, const ifn_http_header *headers) {
    if (!resp) return ifn_fail(IFN_E_NOMEM, "http: cannot create a response");
    if (add_headers(resp, content_type, headers) != 0) {
        MHD_destroy_response(resp);
        return ifn_fail(IFN_E_INVALID, "http: bad response header");
    }
    r->has_response = 1;
    r->queued = MHD_queue_response(r->conn, (unsigned)status, resp);
    MHD_destroy_response(resp);
    return r->queued == MHD_YES ? IFN_OK : ifn_fail(IFN_E_IO, "http: cannot queue the response");
}

ifn_status ifn_http_respond(ifn_http_request *r, int status, const char *content_type,
                            const char *body, size_t len, const ifn_http_header *headers) {
    if (r->has_response) return ifn_fail(IFN_E_INVALID, "http: request answered twice");
    struct MHD_Response *resp =
        MHD_create_response_from_buffer(len, (void *)body, MHD_RESPMEM_MUST_COPY);
    return queue(r, status, resp, content_type, headers);
}

static ssize_t read_stream(void *cls, uint64_t pos, char *buf, size_t max) {
    (void)pos;
    stream_state *s = cls;
    long n = s->produce(s->user, buf, max);
    if (n > 0) return (ssize_t)n;
    return n == 0 ? MHD_CONTENT_READER_END_OF_STREAM : MHD_CONTENT_READER_END_WITH_ERROR;
}

static void free_stream(void *cls) {
    stream_state *s = cls;
    if (s->done) s->done(s->user);
    ifn_free(s);
}

ifn_status ifn_http_respond_stream(ifn_http_request *r, int status, const char *content_type,
                                   const ifn_http_header *headers, ifn_http_stream_fn produce,
                                   void (*done)(void *user), void *user) {
    if (r->has_response) return ifn_fail(IFN_E_INVALID, "http: request answered twice");
    stream_state *s = ifn_calloc(1, sizeof *s);
    if (!s) return ifn_fail(IFN_E_NOMEM, "no memory");
    *s = (stream_state){produce, done, user};
    struct MHD_Response *resp =
        MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 16384, read_stream, s, free_stream);
    if (!resp) {
        free_stream(s);
        return ifn_fail(IFN_E_NOMEM, "http: cannot create a response");
    }
    return queue(r, status, resp, content_type, headers);
}

/* ---- upgrade ------------------------------------------------------------------------------ */

static void *run_upgrade(void *arg) {
    ifn_http_upgrade *u = arg;
    u->run(u->user, u->fd, u->extra, u->n_extra, u);
    return NULL;
}

static void on_upgrade(void *cls, struct MHD_Connection *conn, void *req_cls, const char *extra,
                       size_t n_extra, MHD_socket sock, struct MHD_UpgradeResponseHandle *handle) {
    (void)conn;
    upgrade_start *start = cls;
    ifn_http_request *r = req_cls;
    ifn_http_upgrade *u = ifn_calloc(1, sizeof *u);
    if (u) u->extra = ifn_malloc(n_extra + 1);
    pthread_t thread;
    if (u && u->extra) {
        *u = (ifn_http_upgrade){r->server, handle, sock, u->extra, n_extra, start->run,
                                start->user};
        if (n_extra) memcpy(u->extra, extra, n_extra);
        pthread_mutex_lock(&r->server->lock);
        r->server->n_upgrades++;
        pthread_mutex_unlock(&r->server->lock);
        if (pthread_create(&thread, NULL, run_upgrade, u) == 0) {
            pthread_detach(thread);
            ifn_free(start);
            return;
        }
        pthread_mutex_lock(&r->server->lock);
        r->server->n_upgrades--;
        pthread_mutex_unlock(&r->server->lock);
    }
    IFN_LOG_ERROR("http", "cannot start an upgraded connection");
    if (u) ifn_free(u->extra);
    ifn_free(u);
    ifn_free(start);
    MHD_upgrade_action(handle, MHD_UPGRADE_ACTION_CLOSE);
}

ifn_status ifn_http_respond_upgrade(ifn_http_request *r, const ifn_http_header *headers,
                                    ifn_http_upgrade_fn run, void *user) {
    if (r->has_response) return ifn_fail(IFN_E_INVALID, "http: request answered twice");
    upgrade_start *start = ifn_calloc(1, sizeof *start);
    if (!start) return ifn_fail(IFN_E_NOMEM, "no memory");
    *start = (upgrade_start){run, user};
    struct MHD_Response *resp = MHD_create_response_for_upgrade(on_upgrade, start);
    if (!resp) ifn_free(start);
    return queue(r, MHD_HTTP_SWITCHING_PROTOCOLS, resp, NULL, headers);
}

void ifn_http_upgrade_close(ifn_http_upgrade *u) {
    ifn_http_server *s = u->server;
    MHD_upgrade_action(u->handle, MHD_UPGRADE_ACTION_CLOSE);
    ifn_free(u->extra);
    ifn_free(u);
    pthread_mutex_lock(&s->lock);
    if (--s->n_upgrades == 0) pthread_cond_broadcast(&s->upgrades_done);
    pthread_mutex_unlock(&s->lock);
}

/* ---- daemon ------------------------------------------------------------------------------- */

static void dispatch(ifn_http_request *r) {
    r->server->params.handler(r->server->params.user, r);
    if (!r->has_response) {
        IFN_LOG_ERROR("http", "%s %s: handler gave no answer", r->method, r->path);
        static const char msg[] = "internal error: no response\n";
        (void)ifn_http_respond(r, 500, "text/plain", msg, sizeof msg - 1, NULL);
    }
}

static int declared_too_large(const ifn_http_request *r) {
    const char *length = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND,
                                                     MHD_HTTP_HEADER_CONTENT_LENGTH);
    if (!length) return 0;
    errno = 0;
    char *end;
    unsigned long long n = strtoull(length, &end, 10);
    return errno != 0 || n > r->server->params.max_body_bytes;
}

static enum MHD_Result on_access(void *cls, struct MHD_Connection *conn, const char *url,
                                 const char *method, const char *version, const char *upload,
                                 size_t *upload_size, void **req_cls) {
    (void)version;
    ifn_http_server *s = cls;
    ifn_http_request *r = *req_cls;
    if (!r) {
        r = ifn_calloc(1, sizeof *r);
        if (!r) return MHD_NO;
        *r = (ifn_http_request){.server = s, .conn = conn, .method = method, .path = url};
        *req_cls = r;
        if (!declared_too_large(r)) return MHD_YES;
        r->is_too_large = 1; /* answer now; MHD closes the connection instead of reading it */
        dispatch(r);
        return r->queued;
    }
    if (r->has_response) return MHD_YES;
    if (*upload_size) {
        int rc = append_body(r, upload, *upload_size);
        *upload_size = 0;
        return rc == 0 ? MHD_YES : MHD_NO;
    }
    dispatch(r);
    return r->queued;
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **req_cls,
                         enum MHD_RequestTerminationCode code) {
    (void)cls, (void)conn, (void)code;
    ifn_http_request *r = *req_cls;
    if (!r) return;
    ifn_free(r->body);
    ifn_free(r);
    *req_cls = NULL;
}

static void on_mhd_log(void *cls, const char *fmt, va_list ap) {
    (void)cls;
    char line[512];
    vsnprintf(line, sizeof line, fmt, ap);
    size_t n = strlen(line);
    while (n > 0 && line[n - 1] == '\n') line[--n] = '\0';
    IFN_LOG_DEBUG("http", "%s", line);
}

static ifn_status parse_address(const char *host, uint16_t port, struct sockaddr_storage *addr,
                                int *out_is_v6) {
    memset(addr, 0, sizeof *addr);
    struct sockaddr_in *v4 = (struct sockaddr_in *)addr;
    struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)addr;
    if (inet_pton(AF_INET, host, &v4->sin_addr) == 1) {
        v4->sin_family = AF_INET;
        v4->sin_port = htons(port);
        *out_is_v6 = 0;
        return IFN_OK;
    }
    if (inet_pton(AF_INET6, host, &v6->sin6_addr) == 1) {
        v6->sin6_family = AF_INET6;
        v6->sin6_port = htons(port);
        *out_is_v6 = 1;
        return IFN_OK;
    }
    return ifn_fail(IFN_E_INVALID, "--host %s is not a numeric IPv4 or IPv6 address", host);
}

ifn_status ifn_http_server_start(const ifn_http_params *p, ifn_http_server **out_server) {
    if (!p->handler) return ifn_fail(IFN_E_INVALID, "http: no handler");
    struct sockaddr_storage addr;
    int is_v6 = 0;
    ifn_status st = parse_address(p->host ? p->host : "127.0.0.1", p->port, &addr, &is_v6);
    if (st != IFN_OK) return st;
    ifn_http_server *s = ifn_calloc(1, sizeof *s);
    if (!s) return ifn_fail(IFN_E_NOMEM, "no memory");
    s->params = *p;
    pthread_mutex_init(&s->lock, NULL);
    pthread_cond_init(&s->upgrades_done, NULL);
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION |
                     MHD_USE_POLL | MHD_USE_ITC | MHD_ALLOW_UPGRADE | MHD_USE_ERROR_LOG |
                     (is_v6 ? MHD_USE_IPv6 : 0);
    s->daemon = MHD_start_daemon(
        flags, p->port, NULL, NULL, on_access, s, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&addr,
        MHD_OPTION_NOTIFY_COMPLETED, on_completed, s, MHD_OPTION_CONNECTION_LIMIT,
        (unsigned)p->max_connections, MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)p->idle_timeout_s,
        MHD_OPTION_EXTERNAL_LOGGER, on_mhd_log, s, MHD_OPTION_LISTEN_BACKLOG_SIZE, 1024u,
        MHD_OPTION_END);
    if (!s->daemon) {
        int err = errno;
        pthread_cond_destroy(&s->upgrades_done);
        pthread_mutex_destroy(&s->lock);
        ifn_free(s);
        return ifn_fail(IFN_E_IO, "cannot listen on %s:%u: %s", p->host, (unsigned)p->port,
                        err ? strerror(err) : "unknown error");
    }
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(s->daemon, MHD_DAEMON_INFO_BIND_PORT);
    s->port = info ? info->port : p->port;
    *out_server = s;
    return IFN_OK;
}

uint16_t ifn_http_server_port(const ifn_http_server *s) { return s->port; }

void ifn_http_server_quiesce(ifn_http_server *s) {
    MHD_socket fd = MHD_quiesce_daemon(s->daemon);
    if (fd != MHD_INVALID_SOCKET) close(fd);
}

void ifn_http_server_stop(ifn_http_server *s) {
    if (!s) return;
    pthread_mutex_lock(&s->lock); /* upgraded connections belong to their runners until closed */
    while (s->n_upgrades > 0) pthread_cond_wait(&s->upgrades_done, &s->lock);
    pthread_mutex_unlock(&s->lock);
    MHD_stop_daemon(s->daemon);
    pthread_cond_destroy(&s->upgrades_done);
    pthread_mutex_destroy(&s->lock);
    ifn_free(s);
}
