/*
 * fuzz.h - what the fuzz targets (tests/fuzz/fuzz_*.c) share. Each target defines
 * LLVMFuzzerTestOneInput; built with clang and -fsanitize=fuzzer it is a libFuzzer binary
 * (scripts/fuzz.sh), built with replay.c it is a plain program that runs given files and
 * directories once each (ctest: the seed corpus and every input that once crashed).
 */
#ifndef OFFSITE_FUZZ_H
#define OFFSITE_FUZZ_H

#include <stddef.h>
#include <stdint.h>

#include "offsite/keyring.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* fuzz_keyring(): the seed corpora's key (tests/fuzz/seed.key, a test key and nothing else),
 * loaded once from a private 0600 copy; objects sealed or MAC'd with it get past the
 * authentication checks, so the parsers behind them are reached. Aborts if it cannot. */
const ofs_keyring *fuzz_keyring(void);

/* fuzz_file(data, size, mode): a path to a file holding data (one per process, rewritten on
 * each call; mode applied), for parsers that take a path. */
const char *fuzz_file(const uint8_t *data, size_t size, unsigned mode);

/* fuzz_dir(): a private scratch directory of this process (removed at exit). */
const char *fuzz_dir(void);

/* fuzz_check(cond, what): abort with a message when a property the target asserts fails -
 * libFuzzer then keeps the input as a crash. */
#define fuzz_check(cond, what) ((cond) ? (void)0 : fuzz_fail(what, __FILE__, __LINE__))
void fuzz_fail(const char *what, const char *file, int line) __attribute__((noreturn));

#endif
