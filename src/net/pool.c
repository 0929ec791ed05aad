/*
 * pool.c - idle connection slots kept for reuse (see include/offsite/http.h).
 */
#include "offsite/http.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "offsite/error.h"

#define POOL_IDLE_MAX 16

struct ofs_http_pool {
    ofs_http_options opt;
    char *ca_file;
    pthread_mutex_t lock;  /* guards idle */
    ofs_http **idle;
    size_t idle_count, idle_cap;
};

int ofs_http_pool_new(ofs_http_pool **out, const ofs_http_options *options)
{
    ofs_http_pool *p = NULL;

    *out = NULL;
    if (!(p = calloc(1, sizeof(*p))))
        return ofs_error_set(OFS_ERROR, "out of memory");
    if (options)
        p->opt = *options;
    p->opt.ca_file = NULL;
    if (options && options->ca_file && !(p->ca_file = strdup(options->ca_file))) {
        free(p);
        return ofs_error_set(OFS_ERROR, "out of memory");
    }
    p->opt.ca_file = p->ca_file;
    pthread_mutex_init(&p->lock, NULL);
    *out = p;
    return 0;
}

void ofs_http_pool_free(ofs_http_pool *p)
{
    if (!p)
        return;
    for (size_t i = 0; i < p->idle_count; i++)
        ofs_http_free(p->idle[i]);
    free(p->idle);
    pthread_mutex_destroy(&p->lock);
    free(p->ca_file);
    free(p);
}

int ofs_http_pool_acquire(ofs_http_pool *p, ofs_http **out)
{
    *out = NULL;
    pthread_mutex_lock(&p->lock);
    if (p->idle_count > 0)
        *out = p->idle[--p->idle_count];
    pthread_mutex_unlock(&p->lock);
    return *out ? 0 : ofs_http_new(out, &p->opt);
}

void ofs_http_pool_release(ofs_http_pool *p, ofs_http *h)
{
    if (!h)
        return;
    ofs_http_end(h);
    pthread_mutex_lock(&p->lock);
    if (p->idle_count == p->idle_cap && p->idle_cap < POOL_IDLE_MAX) {
        size_t cap = p->idle_cap ? p->idle_cap * 2 : 4;
        ofs_http **grown = realloc(p->idle, cap * sizeof(*grown));
        if (grown) {
            p->idle = grown;
            p->idle_cap = cap;
        }
    }
    if (p->idle_count < p->idle_cap) {
        p->idle[p->idle_count++] = h;
        h = NULL;
    }
    pthread_mutex_unlock(&p->lock);
    ofs_http_free(h);
}
