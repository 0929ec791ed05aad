/* decode_null.c - the sink that writes nothing (verify --read-data): the decoder does every
 * check, the sink only says yes; see decode.h. */
#include "offsite/decode.h"

static int null_worker_new(void *sink, void **worker)
{
    (void)sink;
    *worker = NULL;
    return 0;
}

static void null_worker_free(void *worker)
{
    (void)worker;
}

static int null_entry(void *worker, const ofs_catalog_entry *e)
{
    (void)worker;
    (void)e;
    return 0;
}

static int null_tail_begin(void *worker, const ofs_catalog_entry *e, void *staged)
{
    (void)worker;
    (void)e;
    (void)staged;
    return 0;
}

static int null_write(void *worker, uint64_t offset, const void *data, size_t size)
{
    (void)worker;
    (void)offset;
    (void)data;
    (void)size;
    return 0;
}

static int null_stage(void *worker, void **staged)
{
    (void)worker;
    *staged = NULL;
    return 0;
}

static int null_commit(void *worker, const ofs_tar_xattr *xattrs, size_t xattr_count)
{
    (void)worker;
    (void)xattrs;
    (void)xattr_count;
    return 0;
}

static void null_discard(void *worker, const ofs_catalog_entry *e, void *staged)
{
    (void)worker;
    (void)e;
    (void)staged;
}

static int null_with_xattrs(void *worker, const ofs_catalog_entry *e,
                            const ofs_tar_xattr *xattrs, size_t xattr_count)
{
    (void)worker;
    (void)e;
    (void)xattrs;
    (void)xattr_count;
    return 0;
}

static int null_finish(void *sink)
{
    (void)sink;
    return 0;
}

const ofs_sink_ops ofs_null_sink = {
    .worker_new = null_worker_new,
    .worker_free = null_worker_free,
    .file_begin = null_entry,
    .prefix_begin = null_entry,
    .tail_begin = null_tail_begin,
    .file_write = null_write,
    .prefix_stage = null_stage,
    .file_commit = null_commit,
    .file_abort = null_worker_free,
    .staged_discard = null_discard,
    .dir = null_with_xattrs,
    .symlink = null_entry,
    .fifo = null_with_xattrs,
    .hardlink = null_entry,
    .dir_metadata = null_entry,
    .finish = null_finish,
};
