/* fuzz_config.c - the INI configuration (inih behind offsite's reader and checks): any file
 * either loads, with every value checked, or fails naming FILE:LINE; a loaded one has a set
 * and defaults filled in. */
#include <string.h>

#include "fuzz.h"
#include "offsite/config.h"
#include "offsite/error.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    ofs_config *cfg = NULL;
    const char *path = fuzz_file(data, size, 0600);
    int rc = ofs_config_load(&cfg, path);

    if (rc == 0) {
        fuzz_check(cfg->set_count > 0 && cfg->host && cfg->time_zone && cfg->staging_dir,
                   "a loaded configuration is complete");
        ofs_config_free(cfg);
    } else if (rc == OFS_ECONFIG) {
        fuzz_check(strncmp(ofs_error_last(), path, strlen(path)) == 0,
                   "a config error names the file");
    }
    return 0;
}
