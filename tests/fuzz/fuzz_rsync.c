/* fuzz_rsync.c - what offsite reads from rsync and its configuration: --list-only lines (the
 * listing parser), and the url and ssh_command parsers. First byte: 0-1 listing lines, 2 a
 * url, 3 an ssh_command. */
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "offsite/store_rsync.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text;

    if (size < 1 || !(text = malloc(size)))
        return 0;
    memcpy(text, data + 1, size - 1);
    text[size - 1] = '\0';
    switch (data[0] % 4) {
    case 2: {
        ofs_rsync_url url;
        memset(&url, 0, sizeof(url));
        if (ofs_rsync_url_parse(&url, text) == 0)
            fuzz_check(url.host != NULL && url.path != NULL, "a parsed url has host and path");
        ofs_rsync_url_clear(&url);
        break;
    }
    case 3: {
        char **words = NULL;
        size_t count = 0;
        if (ofs_rsync_split_words(text, &words, &count) == 0) {
            char *quoted = ofs_rsync_rsh_quote(words);
            free(quoted);
            ofs_rsync_words_free(words);
        }
        break;
    }
    default:
        for (char *line = text, *next; line; line = next) {
            char type = 0, *name = NULL;
            ofs_object_info info;
            if ((next = strchr(line, '\n')))
                *next++ = '\0';
            memset(&info, 0, sizeof(info));
            if (ofs_rsync_parse_list_line(line, &type, &name, &info) == 0)
                fuzz_check(name != NULL, "a parsed line has a name");
        }
        break;
    }
    free(text);
    return 0;
}
