/* config_check.c - the checks that need the whole file (required keys, keys that do not fit a
 * target's type, rules between keys), then the defaults that depend on other keys. See
 * config_internal.h. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <arpa/inet.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config_internal.h"
#include "offsite/error.h"
#include "offsite/text.h"
#include "offsite/schedule.h"


/* config_retention_inherit(p, s): a [retention NAME] takes every key it does not give from
 * [retention] (or its defaults), so an override names only what differs. */
int ofs_endpoint_host_is_ip(const char *endpoint)
{
    const char *host = endpoint ? strstr(endpoint, "://") : NULL;
    char text[64];
    struct in_addr v4;
    size_t n;

    if (!host)
        return 0;
    host += 3;
    if (*host == '[')
        return 1;
    n = strcspn(host, ":/");
    if (n >= sizeof(text))
        return 0;
    memcpy(text, host, n);
    text[n] = '\0';
    return inet_pton(AF_INET, text, &v4) == 1;
}

static int config_retention_inherit(config_parse *p, const section *s)
{
    const ofs_config_retention *main = &p->cfg->retention;
    ofs_config_retention *r = &p->cfg->retentions[s->index];
    int *ints[] = { &r->daily, &r->weekly, &r->monthly, &r->keep_last, &r->max_backups };
    const int from[] = { main->daily, main->weekly, main->monthly, main->keep_last,
                         main->max_backups };
    const char *names[] = { "daily", "weekly", "monthly", "keep_last", "max_backups" };

    for (size_t i = 0; i < sizeof(ints) / sizeof(ints[0]); i++)
        if (!s->key_lines[config_key_index(config_retention_keys, names[i])])
            *ints[i] = from[i];
    r->auto_prune = main->auto_prune;
    if (!r->lifecycle && !(r->lifecycle = strdup(main->lifecycle)))
        return config_fail(p, s->line, "out of memory");
    return 0;
}

/* config_schedule_defaults(p, agent): freshness in runs for sets that have a schedule (1 run
 * missed warns, 2 are critical) unless given as durations; run_grace, verify_after and the
 * notifier's timeout; the holiday file is read once here so a bad date is a config error. */
static int config_schedule_defaults(config_parse *p, const section *agent)
{
    ofs_config *cfg = p->cfg;
    int warn = config_key_index(config_set_keys, "warn_after");
    int critical = config_key_index(config_set_keys, "critical_after");
    for (size_t i = 0; i < p->section_count; i++) {
        const section *s = &p->sections[i];
        ofs_config_set *set = s->kind == SEC_SET ? &cfg->sets[s->index] : NULL;
        if (!set || (!set->schedule_count && !cfg->schedule_count))
            continue;
        if (!s->key_lines[warn])
            set->warn_runs = 1;
        if (!s->key_lines[critical])
            set->critical_runs = set->warn_runs > 2 ? set->warn_runs : 2;
    }
    if (!agent || !agent->key_lines[config_key_index(config_agent_keys, "run_grace")])
        cfg->run_grace = 3 * 3600;
    if (!cfg->verify_after && !(cfg->verify_after = strdup("off")))
        return ofs_error_set(OFS_ERROR, "out of memory reading '%s'", cfg->path);
    if (!cfg->notify.timeout)
        cfg->notify.timeout = 30;
    for (size_t i = 0; i < p->section_count; i++) {
        const section *s = &p->sections[i];
        const char *url = cfg->notify.webhook;
        if (s->kind == SEC_NOTIFY && url && strncmp(url, "http://", 7) != 0 &&
            strncmp(url, "https://", 8) != 0)
            return config_fail(p, s->key_lines[config_key_index(config_notify_keys, "webhook")],
                               "webhook: '%s' must start with http:// or https://", url);
    }
    if (cfg->holidays) {
        ofs_schedule *check = NULL;
        int rc = ofs_schedule_new(&check, "UTC");
        if (rc == 0)
            rc = ofs_schedule_add_holidays(check, cfg->holidays);
        ofs_schedule_free(check);
        if (rc < 0) {
            char message[1024];
            snprintf(message, sizeof(message), "%s", ofs_error_last());
            return config_fail(p, agent->key_lines[config_key_index(config_agent_keys,
                                                                    "holidays")],
                               "holidays: %s", message);
        }
    }
    return 0;
}

/* config_finish(p): required keys, keys that do not fit a target's type, cross-key rules,
 * then the defaults that depend on other keys. */
int config_finish(config_parse *p)
{
    ofs_config *cfg = p->cfg;
    section *agent = NULL;
    int rc;
    for (size_t i = 0; i < p->section_count; i++) {
        section *s = &p->sections[i];
        if (s->kind == SEC_AGENT)
            agent = s;
        if (s->kind == SEC_SET) {
            ofs_config_set *set = &cfg->sets[s->index];
            int warn = config_key_index(config_set_keys, "warn_after");
            int critical = config_key_index(config_set_keys, "critical_after");
            char w[32], c[32];
            if (set->path_count == 0)
                return config_fail(p, s->line, "%s: missing required key 'paths'", s->label);
            if (set->retention && !ofs_config_find_retention(cfg, set->retention))
                return config_fail(p, s->key_lines[config_key_index(config_set_keys, "retention")],
                                   "set '%s': retention '%s' names no [retention %s] section",
                                   set->name, set->retention, set->retention);
            if (set->warn_runs && set->critical_runs && set->critical_runs < set->warn_runs)
                return config_fail(p, s->key_lines[critical], "%s: critical_after (%d runs) is "
                                   "fewer than warn_after (%d runs)", s->label,
                                   set->critical_runs, set->warn_runs);
            if (!set->warn_runs && !set->critical_runs && set->critical_after < set->warn_after) {
                ofs_format_duration(set->warn_after, w, sizeof(w));
                ofs_format_duration(set->critical_after, c, sizeof(c));
                return config_fail(p, s->key_lines[critical] ? s->key_lines[critical]
                                      : s->key_lines[warn] ? s->key_lines[warn] : s->line,
                                   "%s: critical_after (%s) is shorter than warn_after (%s)",
                                   s->label, c, w);
            }
        } else if (s->kind == SEC_RETENTION && s->named) {
            if (config_retention_inherit(p, s) < 0)
                return OFS_ECONFIG;
        } else if (s->kind == SEC_TARGET) {
            ofs_config_target *t = &cfg->targets[s->index];
            int retention = config_key_index(config_target_keys, "retention");
            if (t->retention && !ofs_config_find_retention(cfg, t->retention))
                return config_fail(p, s->key_lines[retention], "target '%s': retention '%s' "
                                   "names no [retention %s] section", t->name, t->retention,
                                   t->retention);
            static const char *const required[] = { "path", "bucket", "bucket", "url" };
            unsigned bit = 0;
            if (!t->type)
                return config_fail(p, s->line, "%s: missing required key 'type' (file, s3, gcs "
                                   "or rsync)", s->label);
            for (int k = 0; config_target_types[k]; k++)
                if (strcmp(t->type, config_target_types[k]) == 0)
                    bit = 1u << k;
            for (int k = 0; config_target_keys[k].name; k++)
                if (s->key_lines[k] && !(config_target_keys[k].types & bit))
                    return config_fail(p, s->key_lines[k], "target '%s': key '%s' does not "
                                       "apply to type '%s'", t->name, config_target_keys[k].name,
                                       t->type);
            for (int k = 0; config_target_types[k]; k++)
                if (bit == 1u << k &&
                    !s->key_lines[config_key_index(config_target_keys, required[k])])
                    return config_fail(p, s->line, "%s: missing required key '%s' for type "
                                       "'%s'", s->label, required[k], t->type);
            /* a transition needs both where to and when; one alone is a mistake, not a default */
            int days = s->key_lines[config_key_index(config_target_keys, "transition_days")];
            int cls = s->key_lines[config_key_index(config_target_keys, "transition_class")];
            if (!days != !cls)
                return config_fail(p, days ? days : cls, "target '%s': %s is given without %s "
                                   "(give both, or neither)", t->name,
                                   days ? "transition_days" : "transition_class",
                                   days ? "transition_class" : "transition_days");
            int style = s->key_lines[config_key_index(config_target_keys, "url_style")];
            if (style && strcmp(t->url_style, "virtual") == 0 &&
                ofs_endpoint_host_is_ip(t->endpoint))
                return config_fail(p, style, "target '%s': url_style 'virtual' puts the bucket "
                                   "in front of the host name, but endpoint '%s' is an IP "
                                   "address\nHINT: set url_style = path", t->name, t->endpoint);
        }
    }
    if (cfg->set_count == 0)
        return config_fail(p, p->lineno > 0 ? p->lineno : 1, "no [set NAME] section: nothing "
                           "to back up");
    if (cfg->time_zone && !ofs_time_zone_ok(cfg->time_zone))
        return config_fail(p, agent ? agent->key_lines[config_key_index(config_agent_keys, "time_zone")]
                              : 1, "time_zone: unknown time zone '%s' (an IANA name such as "
                           "'Europe/London', or 'UTC')", cfg->time_zone);

    if ((rc = config_schedule_defaults(p, agent)) < 0)
        return rc;

    if (!cfg->state_dir && !(cfg->state_dir = strdup("/var/lib/offsite")))
        return ofs_error_set(OFS_ERROR, "out of memory reading '%s'", cfg->path);
    if (!cfg->staging_dir && !(cfg->staging_dir = config_normalize(cfg->state_dir, "staging")))
        return ofs_error_set(OFS_ERROR, "out of memory reading '%s'", cfg->path);
    if (!cfg->key_file && !(cfg->key_file = config_normalize(cfg->state_dir, "offsite.key")))
        return ofs_error_set(OFS_ERROR, "out of memory reading '%s'", cfg->path);
    if (!cfg->time_zone && !(cfg->time_zone = strdup("UTC")))
        return ofs_error_set(OFS_ERROR, "out of memory reading '%s'", cfg->path);
    if (!cfg->host) {
        char host[256] = "";
        if (gethostname(host, sizeof(host) - 1) < 0 || !host[0])
            return ofs_error_from_errno(errno, "%s: no host in [agent] and gethostname failed",
                                        cfg->path);
        if (!ofs_text_is_printable(host))
            return ofs_error_set(OFS_ECONFIG, "%s: no host in [agent], and the system's host "
                                 "name is not printable UTF-8\nHINT: set 'host' in [agent]",
                                 cfg->path);
        if (!(cfg->host = strdup(host)))
            return ofs_error_set(OFS_ERROR, "out of memory reading '%s'", cfg->path);
    }
    if (cfg->parallel == 0) {
        long cpus = sysconf(_SC_NPROCESSORS_ONLN);
        cfg->parallel = cpus < 1 ? 1 : cpus > 8 ? 8 : (int)cpus;
    }
    /* drivers read only their target's bwlimit: [agent] bwlimit is every target's default */
    for (size_t i = 0; cfg->bwlimit && i < cfg->target_count; i++)
        if (!cfg->targets[i].bwlimit && !(cfg->targets[i].bwlimit = strdup(cfg->bwlimit)))
            return ofs_error_set(OFS_ERROR, "out of memory reading '%s'", cfg->path);
    return 0;
}
