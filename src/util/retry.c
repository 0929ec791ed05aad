/*
 * retry.c - backoff inside a budget (see include/offsite/retry.h).
 */
#include "offsite/retry.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "offsite/clock.h"
#include "offsite/error.h"
#include "offsite/log.h"

void ofs_retry_begin(ofs_retry *r, const ofs_retry_policy *policy)
{
    memset(r, 0, sizeof(*r));
    r->policy = *policy;
    r->delay = policy->first_delay;
    r->started = ofs_clock_monotonic();
    r->seed = (unsigned)time(NULL) ^ (unsigned)(uintptr_t)r;
}

static void retry_sleep(double seconds)
{
    struct timespec ts = { (time_t)seconds, (long)((seconds - (double)(time_t)seconds) * 1e9) };
    while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
        ;
}

void ofs_retry_now(ofs_retry *r)
{
    r->tries++;
    if (!r->first)
        r->first = ofs_error_save();
}

int ofs_retry_again(ofs_retry *r, int rc, const char *name, const char *what,
                    const char *object)
{
    const ofs_retry_policy *p = &r->policy;
    double wait;

    r->tries++;
    if (rc != OFS_ETRANSIENT)
        return 0;
    if (!r->first)
        r->first = ofs_error_save();
    wait = r->delay;
    if (p->jitter)
        wait = r->delay / 2 + (r->delay / 2) * ((double)rand_r(&r->seed) / RAND_MAX);
    if (r->tries < p->max_tries && r->slept + wait <= p->budget + 1e-9 &&
        (p->window <= 0 ||
         ofs_clock_monotonic() - r->started + wait <= p->budget + p->window)) {
        ofs_log_warn("%s: %s %s: %s; retrying in %.1fs", name, what, object, ofs_error_last(),
                     wait);
        retry_sleep(wait);
        r->slept += wait;
        r->delay = r->delay * 2 > p->max_delay ? p->max_delay : r->delay * 2;
        return 1;
    }
    if (r->first && r->tries > 1) {
        char *first = r->first;
        r->first = NULL;
        ofs_error_set(rc, "%s (failed %d times in all)", first, r->tries);
        free(first);
    }
    return 0;
}

void ofs_retry_end(ofs_retry *r)
{
    free(r->first);
    r->first = NULL;
}
