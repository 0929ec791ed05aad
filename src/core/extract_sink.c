/* extract_sink.c - extract.h's functions as the decoder's file-system sink (decode.h). */
#include "offsite/extract.h"

#include <stdlib.h>

static int sink_worker_new(void *sink, void **worker)
{
    ofs_extract_worker *w = NULL;
    int rc = ofs_extract_worker_new(&w, sink);
    *worker = w;
    return rc;
}

static void sink_worker_free(void *worker)
{
    ofs_extract_worker_free(worker);
}

static int sink_file_begin(void *worker, const ofs_catalog_entry *e)
{
    return ofs_extract_file_begin(worker, e);
}

static int sink_prefix_begin(void *worker, const ofs_catalog_entry *e)
{
    return ofs_extract_prefix_begin(worker, e);
}

/* staged is the temporary file's name, the sink's to free once the tail has it open */
static int sink_tail_begin(void *worker, const ofs_catalog_entry *e, void *staged)
{
    int rc = ofs_extract_tail_begin(worker, e, staged);
    if (rc < 0)
        ofs_extract_staged_discard(worker, e, staged);
    free(staged);
    return rc;
}

static int sink_file_write(void *worker, uint64_t offset, const void *data, size_t size)
{
    return ofs_extract_file_write(worker, offset, data, size);
}

static int sink_prefix_stage(void *worker, void **staged)
{
    char *name = NULL;
    int rc = ofs_extract_prefix_stage(worker, &name);
    *staged = name;
    return rc;
}

static int sink_file_commit(void *worker, const ofs_tar_xattr *xattrs, size_t xattr_count)
{
    return ofs_extract_file_commit(worker, xattrs, xattr_count);
}

static void sink_file_abort(void *worker)
{
    ofs_extract_file_abort(worker);
}

static void sink_staged_discard(void *worker, const ofs_catalog_entry *e, void *staged)
{
    ofs_extract_staged_discard(worker, e, staged);
    free(staged);
}

static int sink_dir(void *worker, const ofs_catalog_entry *e, const ofs_tar_xattr *xattrs,
                    size_t xattr_count)
{
    return ofs_extract_dir(worker, e, xattrs, xattr_count);
}

static int sink_symlink(void *worker, const ofs_catalog_entry *e)
{
    return ofs_extract_symlink(worker, e);
}

static int sink_fifo(void *worker, const ofs_catalog_entry *e, const ofs_tar_xattr *xattrs,
                     size_t xattr_count)
{
    return ofs_extract_fifo(worker, e, xattrs, xattr_count);
}

static int sink_hardlink(void *worker, const ofs_catalog_entry *e)
{
    return ofs_extract_hardlink(worker, e);
}

static int sink_dir_metadata(void *worker, const ofs_catalog_entry *e)
{
    return ofs_extract_dir_metadata(worker, e);
}

static int sink_finish(void *sink)
{
    return ofs_extract_sync(sink);
}

const ofs_sink_ops ofs_extract_sink = {
    .worker_new = sink_worker_new,
    .worker_free = sink_worker_free,
    .file_begin = sink_file_begin,
    .prefix_begin = sink_prefix_begin,
    .tail_begin = sink_tail_begin,
    .file_write = sink_file_write,
    .prefix_stage = sink_prefix_stage,
    .file_commit = sink_file_commit,
    .file_abort = sink_file_abort,
    .staged_discard = sink_staged_discard,
    .dir = sink_dir,
    .symlink = sink_symlink,
    .fifo = sink_fifo,
    .hardlink = sink_hardlink,
    .dir_metadata = sink_dir_metadata,
    .finish = sink_finish,
};
