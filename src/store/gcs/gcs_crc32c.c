/*
 * gcs_crc32c.c - CRC-32C (Castagnoli, reflected polynomial 0x82F63B78), the checksum GCS keeps
 * for every object beside its MD5. A checksum, not cryptography. Every byte pushed or restored
 * passes through it, so it uses the SSE4.2 crc32 instruction where the CPU has one (about 20x the
 * byte-wise table; the table made it a third of push's CPU) and slicing-by-8 tables elsewhere.
 */
#include <pthread.h>
#include <string.h>

#include "gcs_internal.h"

static uint32_t crc_table[8][256];
static int crc_hardware;
static pthread_once_t crc_once = PTHREAD_ONCE_INIT;

static void crc_init(void)
{
    for (uint32_t i = 0; i < 256; i++) {
        uint32_t c = i;
        for (int k = 0; k < 8; k++)
            c = c & 1 ? (c >> 1) ^ 0x82F63B78u : c >> 1;
        crc_table[0][i] = c;
    }
    for (uint32_t i = 0; i < 256; i++)
        for (int t = 1; t < 8; t++)
            crc_table[t][i] = (crc_table[t - 1][i] >> 8) ^ crc_table[0][crc_table[t - 1][i] & 0xff];
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
    __builtin_cpu_init();
    crc_hardware = __builtin_cpu_supports("sse4.2");
#endif
}

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
__attribute__((target("sse4.2"))) static uint32_t crc_sse42(uint32_t crc, const unsigned char *p,
                                                            size_t size)
{
    uint64_t c = crc;

    for (; size > 0 && ((uintptr_t)p & 7); size--)
        c = __builtin_ia32_crc32qi((uint32_t)c, *p++);
    for (; size >= 8; size -= 8, p += 8) {
        uint64_t word;
        memcpy(&word, p, 8);
        c = __builtin_ia32_crc32di(c, word);
    }
    for (; size > 0; size--)
        c = __builtin_ia32_crc32qi((uint32_t)c, *p++);
    return (uint32_t)c;
}
#endif

/* slicing-by-8: eight table lookups per 8 bytes; the word is read little-endian byte by byte */
static uint32_t crc_tables(uint32_t crc, const unsigned char *p, size_t size)
{
    for (; size >= 8; size -= 8, p += 8) {
        uint32_t low = crc ^ ((uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
                              (uint32_t)p[3] << 24);
        crc = crc_table[7][low & 0xff] ^ crc_table[6][(low >> 8) & 0xff] ^
              crc_table[5][(low >> 16) & 0xff] ^ crc_table[4][low >> 24] ^
              crc_table[3][p[4]] ^ crc_table[2][p[5]] ^ crc_table[1][p[6]] ^ crc_table[0][p[7]];
    }
    while (size--)
        crc = crc_table[0][(crc ^ *p++) & 0xff] ^ (crc >> 8);
    return crc;
}

uint32_t ofs_gcs_crc32c(uint32_t crc, const void *data, size_t size)
{
    pthread_once(&crc_once, crc_init);
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
    if (crc_hardware)
        return ~crc_sse42(~crc, data, size);
#endif
    return ~crc_tables(~crc, data, size);
}

uint32_t ofs_gcs_crc32c_portable(uint32_t crc, const void *data, size_t size)
{
    pthread_once(&crc_once, crc_init);
    return ~crc_tables(~crc, data, size);
}
