/*
 * fuzz-pool.c - libFuzzer target: the input is a sequence of pool
 * operations (see ../interp.h), every result checked against a model.
 * Built by `make fuzz' with clang -fsanitize=fuzzer,address,undefined.
 */
#define INTERP_ABORT 1
#include "../interp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    interp_run(data, size);
    return 0;
}
