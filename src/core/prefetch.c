/* prefetch.c - a reader that reads its source ahead in a thread of its own; see prefetch.h. */
#include "prefetch.h"
#include "offsite/error.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#define PREFETCH_SLOTS 4
#define PREFETCH_SIZE (1u << 20)

typedef struct prefetch_reader {
    ofs_reader base;
    ofs_reader *source;
    pthread_t thread;
    int started;
    pthread_mutex_t lock;
    pthread_cond_t cond;
    char *slot[PREFETCH_SLOTS];
    size_t slot_size[PREFETCH_SLOTS];
    size_t head, filled, read_pos;
    int done, stop, rc;
    char *message;              /* the source's error, moved from the thread */
} prefetch_reader;

static void *prefetch_thread(void *arg)
{
    prefetch_reader *p = arg;
    pthread_mutex_lock(&p->lock);
    for (;;) {
        while (p->filled == PREFETCH_SLOTS && !p->stop)
            pthread_cond_wait(&p->cond, &p->lock);
        if (p->stop)
            break;
        size_t tail = (p->head + p->filled) % PREFETCH_SLOTS;
        pthread_mutex_unlock(&p->lock);
        size_t got = 0;
        int rc = ofs_reader_read_full(p->source, p->slot[tail], PREFETCH_SIZE, &got);
        char *message = rc < 0 ? ofs_error_save() : NULL;
        pthread_mutex_lock(&p->lock);
        if (rc < 0) {
            p->rc = rc;
            p->message = message;
            p->done = 1;
        } else if (got == 0) {
            p->done = 1;
        } else {
            p->slot_size[tail] = got;
            p->filled++;
        }
        pthread_cond_broadcast(&p->cond);
        if (p->done)
            break;
    }
    pthread_mutex_unlock(&p->lock);
    return NULL;
}

static int prefetch_read(ofs_reader *r, void *buf, size_t size, size_t *got)
{
    prefetch_reader *p = (prefetch_reader *)r;
    int rc = 0;
    *got = 0;
    pthread_mutex_lock(&p->lock);
    while (p->filled == 0 && !p->done)
        pthread_cond_wait(&p->cond, &p->lock);
    if (p->filled > 0) {
        size_t left = p->slot_size[p->head] - p->read_pos;
        size_t n = left < size ? left : size;
        /* the slot is the reader's alone until it is handed back below */
        pthread_mutex_unlock(&p->lock);
        memcpy(buf, p->slot[p->head] + p->read_pos, n);
        pthread_mutex_lock(&p->lock);
        p->read_pos += n;
        *got = n;
        if (p->read_pos == p->slot_size[p->head]) {
            p->head = (p->head + 1) % PREFETCH_SLOTS;
            p->filled--;
            p->read_pos = 0;
            pthread_cond_broadcast(&p->cond);
        }
    } else if (p->rc < 0) {
        rc = ofs_error_restore(p->rc, p->message);
    }
    pthread_mutex_unlock(&p->lock);
    return rc;
}

static void prefetch_free(ofs_reader *r)
{
    prefetch_reader *p = (prefetch_reader *)r;
    if (p->started) {
        pthread_mutex_lock(&p->lock);
        p->stop = 1;
        pthread_cond_broadcast(&p->cond);
        pthread_mutex_unlock(&p->lock);
        pthread_join(p->thread, NULL);
    }
    ofs_reader_free(p->source);
    for (int i = 0; i < PREFETCH_SLOTS; i++)
        free(p->slot[i]);
    free(p->message);
    pthread_cond_destroy(&p->cond);
    pthread_mutex_destroy(&p->lock);
    free(p);
}

static const struct ofs_reader_ops prefetch_ops = { prefetch_read, prefetch_free };

int prefetch_reader_new(ofs_reader **out, ofs_reader *source)
{
    prefetch_reader *p = calloc(1, sizeof(*p));
    *out = NULL;
    if (!p) {
        ofs_reader_free(source);
        return ofs_error_set(OFS_ERROR, "out of memory");
    }
    p->base.ops = &prefetch_ops;
    p->source = source;
    pthread_mutex_init(&p->lock, NULL);
    pthread_cond_init(&p->cond, NULL);
    for (int i = 0; i < PREFETCH_SLOTS; i++) {
        if (!(p->slot[i] = malloc(PREFETCH_SIZE))) {
            prefetch_free(&p->base);
            return ofs_error_set(OFS_ERROR, "out of memory");
        }
    }
    int err = pthread_create(&p->thread, NULL, prefetch_thread, p);
    if (err != 0) {
        prefetch_free(&p->base);
        return ofs_error_from_errno(err, "cannot start a read-ahead thread");
    }
    p->started = 1;
    *out = &p->base;
    return 0;
}
