/*
 * rel-stress.c - the fuzz target's interpreter on seeded random bytes.
 *
 *   rel-stress [BYTES [SEED]]
 *
 * make check runs 400,000 bytes (a few hundred thousand operations) from
 * a fixed seed; make stress runs far more.  Exit 0 when every check of
 * interp.h held.
 */
#include "interp.h"

int main(int argc, char **argv)
{
    size_t bytes = argc > 1 ? strtoul(argv[1], NULL, 10) : 400000;
    uint64_t seed = argc > 2 ? strtoull(argv[2], NULL, 10) : 20261124;
    uint8_t *buf = malloc(bytes);
    if (buf == NULL)
        return 99;
    for (size_t i = 0; i < bytes; i++) {
        seed = seed * 6364136223846793005ull + 1442695040888963407ull;
        buf[i] = (uint8_t)(seed >> 56);
    }
    int rc = interp_run(buf, bytes);
    free(buf);
    printf("%s: %zu bytes of operations, seed %s\n", rc ? "FAIL" : "ok", bytes,
           argc > 2 ? argv[2] : "20261124");
    return rc;
}
