/* stat-alloc.c - a program with known allocations, for `cymem-stat record'.
 * 100 mallocs, 10 of them resized, all freed; no stdio.  With the argument
 * --fail it exits with status 3 after doing the same; with --kill it
 * kills itself with SIGKILL instead of exiting. */
#include <signal.h>
#include <stdlib.h>
#include <string.h>

int main(int argc, char **argv)
{
    char *p[100];
    for (int i = 0; i < 100; i++) {
        p[i] = malloc(16 + (size_t)i * 8);
        if (p[i] == NULL)
            return 1;
        memset(p[i], i, 16);
    }
    for (int i = 0; i < 10; i++) {
        char *q = realloc(p[i], 4096 + (size_t)i);
        if (q == NULL)
            return 1;
        p[i] = q;
    }
    for (int i = 0; i < 100; i++)
        free(p[i]);
    if (argc > 1 && strcmp(argv[1], "--kill") == 0)
        raise(SIGKILL);
    return argc > 1 && strcmp(argv[1], "--fail") == 0 ? 3 : 0;
}
