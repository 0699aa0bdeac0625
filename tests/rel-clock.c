/*
 * rel-clock.c - the wait of a destroyed large pool's regions in the
 * thread's cache, on a clock this program sets.
 *
 * The program's clock_gettime() stands in front of the C library's for
 * the monotonic clocks, which the cache reads to time the wait
 * (lib/os.c): time passes only when the program says.  The regions of a
 * destroyed pool must all wait 99 ms and all but four go back at the
 * first call on the cache 100 ms after they came.  Then the clock goes
 * back, as time() does when the wall clock is set back (os.c's fallback
 * where clock_gettime() is missing) and the monotonic clock does in a
 * child that fork() put in another time namespace: the regions that
 * were waiting and those of a pool destroyed after the step must wait
 * their 100 ms again from the clock's new reading, neither go back at
 * once nor stay for good, and the debug mode (on here), which checks
 * that they wait oldest first, must find nothing wrong.
 *
 * The clock is the embedded library's (the same code, linked
 * statically), so that the program's clock_gettime() is the one its
 * calls reach in a static build too.
 */
#define _GNU_SOURCE
#include <cymem.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define MIB ((size_t)1 << 20)

static uint64_t now_ms = (uint64_t)1 << 32;

int clock_gettime(clockid_t id, struct timespec *ts)
{
    if (id == CLOCK_MONOTONIC
#ifdef CLOCK_MONOTONIC_COARSE
        || id == CLOCK_MONOTONIC_COARSE
#endif
    ) {
        ts->tv_sec = (time_t)(now_ms / 1000);
        ts->tv_nsec = (long)(now_ms % 1000) * 1000000L;
        return 0;
    }
    return (int)syscall(SYS_clock_gettime, id, ts);
}

static int failures;

static void expect(int cond, const char *what)
{
    if (!cond) {
        fprintf(stderr, "rel-clock: %s\n", what);
        failures++;
    }
}

/* A pool of about 32 MiB in blocks of 2000 bytes: eight regions or
 * more. */
static cymem_pool *large_pool(void)
{
    cymem_pool *pool = cymem_pool_new();
    for (size_t done = 0; pool != NULL && done < 32 * MIB; done += 2000)
        if (cymem_pool_alloc(pool, 1, 2000) == NULL) {
            expect(0, "a block of a large pool");
            break;
        }
    expect(pool != NULL, "a large pool");
    return pool;
}

/* A call on the thread's cache: a small pool made and destroyed. */
static void call(void)
{
    cymem_pool *pool = cymem_pool_new();
    expect(pool != NULL, "a pool");
    cymem_pool_destroy(pool);
}

static size_t trim(const char *when)
{
    size_t kept = cymem_trim();
    printf("rel-clock: %zu KiB kept %s\n", kept >> 10, when);
    return kept;
}

int main(void)
{
    setenv("CYMEM_DEBUG", "1", 1);
    call();
    (void)cymem_trim();

    cymem_pool_destroy(large_pool());
    now_ms += 99;
    call();
    expect(trim("99 ms after a destroy") >= 28 * MIB, "regions went back before their wait");

    cymem_pool_destroy(large_pool());
    now_ms += 100;
    call();
    expect(trim("100 ms after a destroy") <= 16 * MIB + 8 * MIB,
           "regions stayed in the cache past their wait");

    /* The clock goes back 5 s between two destroys: the second pool is
     * made before the first is destroyed, so that it does not take the
     * first one's regions. */
    for (int wait = 99; wait <= 100; wait++) {
        cymem_pool *a = large_pool(), *b = large_pool();
        cymem_pool_destroy(a);
        now_ms -= 5000;
        cymem_pool_destroy(b);
        now_ms += (uint64_t)wait;
        call();
        size_t kept = trim(wait == 99 ? "99 ms after the clock went back"
                                      : "100 ms after the clock went back");
        if (wait == 99)
            expect(kept >= 60 * MIB, "regions went back at once when the clock went back");
        else
            expect(kept <= 16 * MIB + 8 * MIB,
                   "regions stayed in the cache past their wait when the clock went back");
    }

    if (failures == 0)
        printf("rel-clock: regions wait 100 ms, whatever the clock did: ok\n");
    return failures ? 1 : 0;
}
