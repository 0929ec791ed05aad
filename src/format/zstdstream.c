/* zstdstream.c - zstd compression and decompression stages; see zstdstream.h. */
#include "offsite/zstdstream.h"
#include "offsite/error.h"

#include <stdlib.h>
#include <string.h>

#include <zstd.h>

/* ---- writer ---- */

typedef struct {
    ofs_writer parent;
    ofs_writer *next;
    ZSTD_CCtx *cctx;
    void *out;
    size_t out_size;
} zstd_writer;

/* Passes whatever zstd produced on to next, and empties the output buffer. */
static int zstd_flush_output(zstd_writer *z, ZSTD_outBuffer *output)
{
    int rc = 0;
    if (output->pos > 0)
        rc = ofs_writer_write(z->next, output->dst, output->pos);
    output->pos = 0;
    return rc;
}

static int zstd_write(ofs_writer *w, const void *data, size_t size)
{
    zstd_writer *z = (zstd_writer *)w;
    ZSTD_inBuffer input = { data, size, 0 };
    ZSTD_outBuffer output = { z->out, z->out_size, 0 };
    int rc;

    /* ZSTD_compressStream2's contract: call again until the input is used up. */
    while (input.pos < input.size) {
        size_t ret = ZSTD_compressStream2(z->cctx, &output, &input, ZSTD_e_continue);
        if (ZSTD_isError(ret))
            return ofs_error_set(OFS_ERROR, "zstd compression failed: %s",
                                 ZSTD_getErrorName(ret));
        if ((rc = zstd_flush_output(z, &output)) < 0)
            return rc;
    }
    return 0;
}

static int zstd_finish(ofs_writer *w)
{
    zstd_writer *z = (zstd_writer *)w;
    ZSTD_inBuffer input = { NULL, 0, 0 };
    ZSTD_outBuffer output = { z->out, z->out_size, 0 };
    size_t remaining;
    int rc;

    /* ZSTD_e_end returns how much is still to flush; 0 means the frame is complete. */
    do {
        remaining = ZSTD_compressStream2(z->cctx, &output, &input, ZSTD_e_end);
        if (ZSTD_isError(remaining))
            return ofs_error_set(OFS_ERROR, "zstd compression failed: %s",
                                 ZSTD_getErrorName(remaining));
        if ((rc = zstd_flush_output(z, &output)) < 0)
            return rc;
    } while (remaining != 0);
    return ofs_writer_finish(z->next);
}

static void zstd_writer_free(ofs_writer *w)
{
    zstd_writer *z = (zstd_writer *)w;
    ofs_writer_free(z->next);
    ZSTD_freeCCtx(z->cctx);
    free(z->out);
    free(z);
}

static const struct ofs_writer_ops zstd_writer_ops = { zstd_write, zstd_finish, zstd_writer_free };

static int zstd_set(ZSTD_CCtx *cctx, ZSTD_cParameter param, int value, const char *what)
{
    size_t ret = ZSTD_CCtx_setParameter(cctx, param, value);
    if (ZSTD_isError(ret))
        return ofs_error_set(OFS_ECONFIG, "zstd: cannot set %s to %d: %s", what, value,
                             ZSTD_getErrorName(ret));
    return 0;
}

int ofs_zstd_writer_new(ofs_writer **out, ofs_writer *next, int level, int threads)
{
    zstd_writer *z = calloc(1, sizeof(*z));
    int rc = 0;

    *out = NULL;
    if (!z) {
        ofs_writer_free(next);
        return ofs_error_set(OFS_ERROR, "out of memory");
    }
    z->parent.ops = &zstd_writer_ops;
    z->next = next;
    z->out_size = ZSTD_CStreamOutSize();
    z->out = malloc(z->out_size);
    z->cctx = ZSTD_createCCtx();
    if (!z->out || !z->cctx) {
        rc = ofs_error_set(OFS_ERROR, "out of memory");
        goto fail;
    }
    if (level < ZSTD_minCLevel() || level > ZSTD_maxCLevel()) {
        rc = ofs_error_set(OFS_ECONFIG, "invalid zstd compression level %d (expected %d..%d)",
                           level, ZSTD_minCLevel(), ZSTD_maxCLevel());
        goto fail;
    }
    if (threads < 0) {
        rc = ofs_error_set(OFS_ECONFIG, "invalid number of zstd threads %d", threads);
        goto fail;
    }
    if ((rc = zstd_set(z->cctx, ZSTD_c_compressionLevel, level, "the compression level")) < 0 ||
        (rc = zstd_set(z->cctx, ZSTD_c_checksumFlag, 1, "the checksum flag")) < 0)
        goto fail;
    /* A libzstd built without threads refuses nbWorkers > 0; that is a real error here,
     * because the caller planned its cores around it. */
    if (threads > 0 &&
        (rc = zstd_set(z->cctx, ZSTD_c_nbWorkers, threads, "the number of threads")) < 0)
        goto fail;
    *out = &z->parent;
    return 0;
fail:
    zstd_writer_free(&z->parent);
    return rc;
}

/* ---- reader ---- */

typedef struct {
    ofs_reader parent;
    ofs_reader *source;
    ZSTD_DCtx *dctx;
    void *in;
    size_t in_size;
    ZSTD_inBuffer input;
    size_t frame_remaining; /* last ZSTD_decompressStream hint: 0 = at a frame boundary */
    int started, source_ended, done;
} zstd_reader;

static int zstd_read(ofs_reader *r, void *buf, size_t size, size_t *got)
{
    zstd_reader *z = (zstd_reader *)r;
    ZSTD_outBuffer output = { buf, size, 0 };
    int rc;

    *got = 0;
    if (z->done)
        return 0;
    for (;;) {
        if (z->input.pos == z->input.size && !z->source_ended) {
            size_t n = 0;
            if ((rc = ofs_reader_read(z->source, z->in, z->in_size, &n)) < 0)
                return rc;
            z->input.size = n;
            z->input.pos = 0;
            if (n == 0)
                z->source_ended = 1;
        }
        int input_empty = z->input.pos == z->input.size;
        if (input_empty && z->source_ended) {
            if (!z->started)
                return ofs_error_set(OFS_ECORRUPT, "zstd stream is empty");
            if (z->frame_remaining == 0) {
                z->done = 1;
                return 0;
            }
        }
        /* One frame per stream: anything after a complete frame is garbage. */
        if (!input_empty && z->started && z->frame_remaining == 0)
            return ofs_error_set(OFS_ECORRUPT, "zstd stream has trailing data after its frame");
        z->started = 1;
        size_t ret = ZSTD_decompressStream(z->dctx, &output, &z->input);
        if (ZSTD_isError(ret))
            return ofs_error_set(OFS_ECORRUPT, "zstd stream is corrupt: %s",
                                 ZSTD_getErrorName(ret));
        z->frame_remaining = ret;
        if (output.pos > 0)
            break;
        /* With no input left, a call that yields nothing while the frame is incomplete
         * means the frame was cut short (internal buffers were flushed by this call). */
        if (input_empty && z->source_ended && ret != 0)
            return ofs_error_set(OFS_ECORRUPT, "zstd stream is truncated");
    }
    *got = output.pos;
    return 0;
}

static void zstd_reader_free(ofs_reader *r)
{
    zstd_reader *z = (zstd_reader *)r;
    ofs_reader_free(z->source);
    ZSTD_freeDCtx(z->dctx);
    free(z->in);
    free(z);
}

static const struct ofs_reader_ops zstd_reader_ops = { zstd_read, zstd_reader_free };

int ofs_zstd_reader_new(ofs_reader **out, ofs_reader *source)
{
    zstd_reader *z = calloc(1, sizeof(*z));
    *out = NULL;
    if (!z) {
        ofs_reader_free(source);
        return ofs_error_set(OFS_ERROR, "out of memory");
    }
    z->parent.ops = &zstd_reader_ops;
    z->source = source;
    z->in_size = ZSTD_DStreamInSize();
    z->in = malloc(z->in_size);
    z->dctx = ZSTD_createDCtx();
    if (!z->in || !z->dctx) {
        zstd_reader_free(&z->parent);
        return ofs_error_set(OFS_ERROR, "out of memory");
    }
    z->input.src = z->in;
    *out = &z->parent;
    return 0;
}
