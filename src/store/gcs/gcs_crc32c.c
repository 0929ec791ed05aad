/*
 * gcs_crc32c.c - CRC-32C (Castagnoli, reflected polynomial 0x82F63B78), the checksum GCS keeps
 * for every object beside its MD5. A byte-wise table: a checksum, not cryptography.
 */
#include <pthread.h>

#include "gcs_internal.h"

static uint32_t crc_table[256];
static pthread_once_t crc_once = PTHREAD_ONCE_INIT;

static void crc_init(void)
{
    for (uint32_t i = 0; i < 256; i++) {
        uint32_t c = i;
        for (int k = 0; k < 8; k++)
            c = c & 1 ? (c >> 1) ^ 0x82F63B78u : c >> 1;
        crc_table[i] = c;
    }
}

uint32_t ofs_gcs_crc32c(uint32_t crc, const void *data, size_t size)
{
    const unsigned char *p = data;

    pthread_once(&crc_once, crc_init);
    crc = ~crc;
    while (size--)
        crc = crc_table[(crc ^ *p++) & 0xff] ^ (crc >> 8);
    return ~crc;
}
