/* config_lookup.c - releasing a loaded configuration and finding its sections by name (kept
 * apart from config.c and its parts, which read and check the file); see include/offsite/config.h. */
#include <stdlib.h>
#include <string.h>

#include "offsite/config.h"
#include "offsite/error.h"
#include "offsite/schedule.h"

static void config_free_list(char **list, size_t count)
{
    for (size_t i = 0; i < count; i++)
        free(list[i]);
    free(list);
}

void ofs_config_free(ofs_config *cfg)
{
    if (!cfg)
        return;
    for (size_t i = 0; i < cfg->set_count; i++) {
        ofs_config_set *s = &cfg->sets[i];
        free(s->name);
        config_free_list(s->paths, s->path_count);
        config_free_list(s->excludes, s->exclude_count);
        free(s->pre_hook);
        free(s->post_hook);
        config_free_list(s->schedule, s->schedule_count);
        free(s->retention);
    }
    free(cfg->sets);
    for (size_t i = 0; i < cfg->target_count; i++) {
        ofs_config_target *t = &cfg->targets[i];
        char *strings[] = { t->name, t->type, t->path, t->endpoint, t->region, t->bucket,
                            t->prefix, t->url_style, t->storage_class, t->object_lock,
                            t->credentials_file, t->profile, t->ca_file, t->url, t->ssh_command,
                            t->password_file, t->retention, t->bwlimit, t->prune_profile };
        for (size_t k = 0; k < sizeof(strings) / sizeof(strings[0]); k++)
            free(strings[k]);
    }
    free(cfg->targets);
    for (size_t i = 0; i < cfg->retention_count; i++) {
        free(cfg->retentions[i].name);
        free(cfg->retentions[i].lifecycle);
    }
    free(cfg->retentions);
    free(cfg->retention.lifecycle);
    free(cfg->path);
    free(cfg->state_dir);
    free(cfg->staging_dir);
    free(cfg->key_file);
    free(cfg->host);
    free(cfg->time_zone);
    free(cfg->bwlimit);
    config_free_list(cfg->schedule, cfg->schedule_count);
    free(cfg->holidays);
    free(cfg->verify_after);
    free(cfg->safety_dir);
    free(cfg->notify.command);
    free(cfg->notify.webhook);
    config_free_list(cfg->notify.events, cfg->notify.event_count);
    free(cfg);
}

const ofs_config_set *ofs_config_find_set(const ofs_config *cfg, const char *name)
{
    for (size_t i = 0; cfg && name && i < cfg->set_count; i++)
        if (strcmp(cfg->sets[i].name, name) == 0)
            return &cfg->sets[i];
    return NULL;
}

const ofs_config_target *ofs_config_find_target(const ofs_config *cfg, const char *name)
{
    for (size_t i = 0; cfg && name && i < cfg->target_count; i++)
        if (strcmp(cfg->targets[i].name, name) == 0)
            return &cfg->targets[i];
    return NULL;
}

const ofs_config_retention *ofs_config_find_retention(const ofs_config *cfg, const char *name)
{
    for (size_t i = 0; cfg && name && i < cfg->retention_count; i++)
        if (strcmp(cfg->retentions[i].name, name) == 0)
            return &cfg->retentions[i];
    return NULL;
}

const ofs_config_retention *ofs_config_target_retention(const ofs_config *cfg,
                                                        const ofs_config_target *target)
{
    const ofs_config_retention *r = NULL;
    if (target && target->retention)
        r = ofs_config_find_retention(cfg, target->retention);
    return r ? r : &cfg->retention;
}

const ofs_config_retention *ofs_config_policy(const ofs_config *cfg,
                                              const ofs_config_target *target, const char *set)
{
    const ofs_config_set *s = ofs_config_find_set(cfg, set);
    if ((target && target->retention) || !s || !s->retention)
        return ofs_config_target_retention(cfg, target);
    const ofs_config_retention *r = ofs_config_find_retention(cfg, s->retention);
    return r ? r : &cfg->retention;
}

/* config_schedule_add(s, lines, count): add already-checked calendar lines. */
static int config_schedule_add(ofs_schedule *s, char **lines, size_t count)
{
    int rc = 0;
    for (size_t i = 0; i < count && rc == 0; i++)
        rc = ofs_schedule_add(s, lines[i]);
    return rc;
}

int ofs_config_schedule(const ofs_config *cfg, const ofs_config_set *set, ofs_schedule **out)
{
    ofs_schedule *s = NULL;
    int rc;

    *out = NULL;
    if ((rc = ofs_schedule_new(&s, cfg->time_zone)) < 0)
        return rc;
    if (set && set->schedule_count)
        rc = config_schedule_add(s, set->schedule, set->schedule_count);
    else
        rc = config_schedule_add(s, cfg->schedule, cfg->schedule_count);
    for (size_t i = 0; !set && rc == 0 && i < cfg->set_count; i++)
        rc = config_schedule_add(s, cfg->sets[i].schedule, cfg->sets[i].schedule_count);
    if (rc == 0 && cfg->holidays)
        rc = ofs_schedule_add_holidays(s, cfg->holidays);
    if (rc < 0) {
        ofs_schedule_free(s);
        return rc;
    }
    *out = s;
    return 0;
}
