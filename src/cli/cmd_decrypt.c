/* cmd_decrypt.c - `offsite decrypt --key KEYFILE [--name NAME]`: one sealed object from stdin
 * to stdout, for extraction by hand. Needs no configuration. The seal reader releases a
 * segment only after its tag verified, so nothing of a failed segment is written. */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "offsite/cli.h"
#include "offsite/error.h"
#include "offsite/seal.h"
#include "offsite/stream.h"

enum { DECRYPT_OPT_KEY = 300, DECRYPT_OPT_NAME };

int ofs_cmd_decrypt(ofs_cli *cli, int argc, char **argv)
{
    static const struct option options[] = {
        { "key", required_argument, NULL, DECRYPT_OPT_KEY },
        { "name", required_argument, NULL, DECRYPT_OPT_NAME },
        { NULL, 0, NULL, 0 }
    };
    const char *arg, *key_file = NULL, *name = NULL;
    ofs_keyring *ring = NULL;
    ofs_reader *r = NULL;
    ofs_writer *w = NULL;
    uint64_t copied = 0;
    int index = 0, opt, rc;

    while ((rc = ofs_cli_parse(cli, argc, argv, options, &index, &opt, &arg)) == 1) {
        if (opt == DECRYPT_OPT_KEY)
            key_file = arg;
        else if (opt == DECRYPT_OPT_NAME)
            name = arg;
    }
    if (rc != 0)
        return rc == 2 ? 0 : rc;
    if (index < argc)
        return ofs_cli_usage_error(cli, "unexpected argument '%s' (the object comes on stdin)",
                                   argv[index]);
    if (!key_file)
        return ofs_cli_usage_error(cli, "decrypt needs --key KEYFILE");
    if (cli->json)
        return ofs_cli_usage_error(cli, "decrypt writes the object to stdout: --json does not "
                                        "apply");
    if ((rc = ofs_keyring_load(&ring, key_file)) < 0 ||
        (rc = ofs_fd_reader_new(&r, STDIN_FILENO, "stdin")) < 0 ||
        (rc = ofs_seal_reader_new(&r, r, ring, name)) < 0 ||
        (rc = ofs_fd_writer_new(&w, STDOUT_FILENO, "stdout")) < 0 ||
        (rc = ofs_stream_copy(r, w, &copied)) < 0 || (rc = ofs_writer_finish(w)) < 0)
        goto cleanup;
cleanup:
    ofs_writer_free(w);
    ofs_reader_free(r);
    ofs_keyring_free(ring);
    if (rc < 0) {
        /* a wrong name or key id is also an authentication failure: say so in the words
           of the exit code, whatever detail the seal reader gave */
        if (rc == OFS_EAUTH && !strstr(ofs_error_last(), "authentication failed"))
            ofs_error_wrap(rc, "authentication failed");
        return ofs_error_wrap(rc, "decrypt");
    }
    return 0;
}
