/*
 * retry.h - attempts with exponential backoff inside a time budget, for operations that may
 * fail with OFS_ETRANSIENT (a dropped connection, a 5xx, a 429): the store layer's one-shot
 * operations and the network drivers' requests (s3, gcs) share it.
 *
 * A loop reads:
 *     ofs_retry r;
 *     ofs_retry_begin(&r, OFS_RETRY_STORE);
 *     do rc = attempt(); while (rc < 0 && ofs_retry_again(&r, rc, name, "stat", key));
 *     ofs_retry_end(&r);
 * Only OFS_ETRANSIENT is tried again. When the tries or the budget are spent, the message the
 * operator sees is the FIRST failure (the cause; later ones are often its echo) with the count:
 * "connection to HOST: ... (failed 5 times in all)". Each retry is logged at warn.
 */
#ifndef OFFSITE_RETRY_H
#define OFFSITE_RETRY_H

typedef struct ofs_retry_policy {
    int max_tries;       /* attempts at most */
    double first_delay;  /* seconds before the second attempt; doubled each time */
    double max_delay;    /* the doubling stops here */
    double budget;       /* seconds of sleeping between attempts, in all */
    double window;       /* > 0: also give up once the wall time since begin, plus the next
                            wait, passes budget + window (attempts that each wait out a stall
                            timeout would otherwise take hours) */
    int jitter;          /* half of each delay random, so parallel requests spread out */
} ofs_retry_policy;

typedef struct ofs_retry {
    ofs_retry_policy policy;
    int tries;           /* attempts counted so far */
    double delay, slept, started;
    unsigned seed;
    char *first;         /* the first transient failure's message */
} ofs_retry;

/* ofs_retry_begin(r, policy): start counting; policy is copied. */
void ofs_retry_begin(ofs_retry *r, const ofs_retry_policy *policy);

/*
 * ofs_retry_again(r, rc, name, what, object): after an attempt that failed with rc: 1 once it
 * has logged "NAME: WHAT OBJECT: MESSAGE; retrying in Ns" and slept, when rc is
 * OFS_ETRANSIENT and the policy allows another attempt. Otherwise 0; if rc is transient and
 * more than one attempt failed, this thread's message becomes "FIRST (failed N times in all)".
 */
int ofs_retry_again(ofs_retry *r, int rc, const char *name, const char *what,
                    const char *object);

/* ofs_retry_now(r): count a transient failure to be tried again at once, without sleeping
 * (s3 after correcting its clock from the server's Date). */
void ofs_retry_now(ofs_retry *r);

/* ofs_retry_end(r): frees what begin and again kept. */
void ofs_retry_end(ofs_retry *r);

#endif
