/*
 * output.c - the report: an aligned table and a bar chart for people,
 * one JSON object or CSV for scripts.
 *
 * The JSON and CSV field names are an interface: cymem-stat(1) documents
 * each of them under OUTPUT.  Add fields; never rename or drop one.
 */
#include "config.h"

#include "cymem-stat.h"

#include <cymem.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

void stat3_of(const double *v, unsigned n, struct stat3 *out)
{
    double s[n ? n : 1];
    if (n == 0) {
        out->median = out->min = out->max = 0;
        return;
    }
    memcpy(s, v, n * sizeof *s);
    qsort(s, n, sizeof *s, cmp_double);
    out->min = s[0];
    out->max = s[n - 1];
    out->median = n % 2 ? s[n / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
}

/* ---- human units --------------------------------------------------------------- */

static const char *fmt_bytes(char *buf, size_t len, uint64_t b)
{
    static const char *const unit[] = { "KiB", "MiB", "GiB", "TiB" };
    double v = (double)b;
    int u = -1;
    if (b < 1024) {
        snprintf(buf, len, "%llu B", (unsigned long long)b);
        return buf;
    }
    while (v >= 1024 && u < 3) {
        v /= 1024;
        u++;
    }
    snprintf(buf, len, v < 10 ? "%.2f %s" : v < 100 ? "%.1f %s" : "%.0f %s", v, unit[u]);
    return buf;
}

static const char *fmt_count(char *buf, size_t len, uint64_t n)
{
    char digits[32], *o = buf;
    int nd = snprintf(digits, sizeof digits, "%llu", (unsigned long long)n);
    for (int i = 0; i < nd && (size_t)(o - buf) + 2 < len; i++) {
        if (i > 0 && (nd - i) % 3 == 0)
            *o++ = ',';
        *o++ = digits[i];
    }
    *o = '\0';
    return buf;
}

static const char *fmt_ms(char *buf, size_t len, double ns)
{
    double ms = ns / 1e6;
    snprintf(buf, len, ms < 10 ? "%.3f" : ms < 100 ? "%.2f" : "%.1f", ms);
    return buf;
}

static const char *fmt_pct(char *buf, size_t len, double f, int have)
{
    if (!have)
        snprintf(buf, len, "n/a");
    else
        snprintf(buf, len, "%.1f%%", f * 100);
    return buf;
}

/* ---- table and chart ------------------------------------------------------------- */

#define BAR_WIDTH 40

/* Whether @res is a recording's total row. */
static int is_total(const struct result *res)
{
    return res->source != NULL && strcmp(res->name, "total") == 0;
}

/* Whether @res has figures to show (it neither failed nor was skipped). */
static int has_figures(const struct result *res)
{
    return !res->failed && !res->skipped;
}

/* The table's name for a row: a replay is "replayN", N counting the
 * replays of the report from 1, so that the list of files above the
 * tables can say which trace each row replayed; a recording's sum is
 * "total". */
static const char *row_label(const struct report *r, size_t i, char *buf, size_t len)
{
    const struct result *res = &r->results[i];
    unsigned n = 0;
    if (res->source == NULL || is_total(res))
        return res->name;
    for (size_t k = 0; k <= i; k++)
        n += r->results[k].source != NULL && !is_total(&r->results[k]);
    snprintf(buf, len, "replay%u", n);
    return buf;
}

/* The widths of the table's first two columns: at least those of
 * "workload" and "backend" with room to spare, more for longer names. */
static int name_w = 9, backend_w = 8;

static void set_widths(const struct report *r)
{
    char lab[32];
    name_w = 9;
    backend_w = 8;
    for (size_t i = 0; i < r->nresults; i++) {
        int n = (int)strlen(row_label(r, i, lab, sizeof lab));
        name_w = n > name_w ? n : name_w;
    }
    for (unsigned k = 0; k < r->nalloc; k++) {
        int n = (int)strlen(r->alloc[k].name);
        backend_w = n > backend_w ? n : backend_w;
    }
}

/* The two first columns of a row, and the rest "n/a" when the allocator
 * does not run the workload: 1 then. */
static int row_start(const struct report *r, size_t i, unsigned k)
{
    char lab[32];
    printf("%-*s %-*s", name_w, k ? "" : row_label(r, i, lab, sizeof lab), backend_w,
           r->alloc[k].name);
    if (r->results[i].be[k].na == NULL)
        return 0;
    printf(" n/a: %s\n", r->results[i].be[k].na);
    return 1;
}

/* Up to @max bytes of @s, a name from a trace or the command line, with
 * each control byte as \xNN: the table is read on a terminal, which such
 * a byte would move or recolour.  (JSON and CSV quote their strings.) */
static void put_text(const char *s, size_t max)
{
    for (size_t i = 0; s[i] != '\0' && i < max; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c < 0x20 || c == 0x7f)
            printf("\\x%02x", c);
        else
            putchar(c);
    }
}

static void print_sources(const struct report *r)
{
    char lab[32];
    for (size_t i = 0; i < r->nresults; i++) {
        const struct result *res = &r->results[i];
        if (res->source == NULL)
            continue;
        printf("%s: ", row_label(r, i, lab, sizeof lab));
        put_text(res->source, SIZE_MAX);
        if (is_total(res))
            printf(" (the sum of %u process%s)", res->processes,
                   res->processes == 1 ? "" : "es");
        else if (res->skipped)
            printf(" (no allocation: not replayed)");
        else if (!res->failed)
            printf(" (%llu run%s", (unsigned long long)res->trace_runs,
                   res->trace_runs == 1 ? "" : "s");
        if (!is_total(res) && has_figures(res) && res->failed_allocs)
            printf(", %llu failed allocation%s not replayed",
                   (unsigned long long)res->failed_allocs, res->failed_allocs == 1 ? "" : "s");
        if (!is_total(res) && has_figures(res) && res->cut_lines)
            printf(", incomplete: %llu line%s cut short", (unsigned long long)res->cut_lines,
                   res->cut_lines == 1 ? "" : "s");
        printf("%s\n", !is_total(res) && has_figures(res) ? ")" : "");
    }
}

/* The result of the workload named @name, if it ran. */
static const struct result *find_result(const struct report *r, const char *name)
{
    for (size_t i = 0; i < r->nresults; i++)
        if (r->results[i].source == NULL && strcmp(r->results[i].name, name) == 0 &&
            has_figures(&r->results[i]))
            return &r->results[i];
    return NULL;
}

/* The result of the workload named @name, if it ran and compared the
 * first allocator with a pool. */
static const struct result *find_pool_result(const struct report *r, const char *name)
{
    const struct result *res = find_result(r, name);
    return res && backend_is_pool(r->alloc[res->target].kind) ? res : NULL;
}

/* The product brief's two figures next to what this run measured, when
 * it compared malloc with the pool on the workloads that stand for them:
 * 10,000 allocations 19 times faster with a preallocated pool (38 ms
 * against 2 ms, brief 4.1: prealloc), and 40% less memory for a
 * long-running service (brief 1.2: server). */
static void print_claims(const struct report *r)
{
    const struct result *pre = find_pool_result(r, "prealloc");
    const struct result *srv = find_pool_result(r, "server");
    if (strcmp(r->alloc[0].name, "malloc") != 0 || (pre == NULL && srv == NULL))
        return;
    unsigned t = pre ? pre->target : 0;
    printf("\nthe brief's claims against this run:\n");
    /* prealloc's count is its rounds of 10,000 allocations. */
    if (pre != NULL)
        printf("  10,000 allocations 19x faster than malloc (38 ms against 2 ms):\n"
               "    prealloc here: %.2fx (malloc %.3f ms, pool %.3f ms a round)\n",
               pre->speedup.median, pre->be[0].time_ns.median / 1e6 / (double)pre->count,
               pre->be[t].time_ns.median / 1e6 / (double)pre->count);
    t = srv ? srv->target : 0;
    if (srv != NULL && srv->be[0].peak_rss > 0) {
        double d = ((double)srv->be[t].peak_rss / (double)srv->be[0].peak_rss - 1) * 100;
        printf("  40%% less memory for a long-running service:\n"
               "    server here: peak RSS %.0f%% %s than malloc's", fabs(d),
               d <= 0 ? "less" : "more");
        if (srv->be[0].have_reserved && srv->be[t].have_reserved &&
            srv->be[0].peak_reserved > 0) {
            double e = ((double)srv->be[t].peak_reserved /
                        (double)srv->be[0].peak_reserved - 1) * 100;
            printf(", peak reserved %.0f%% %s", fabs(e), e <= 0 ? "less" : "more");
        }
        putchar('\n');
    }
}

/* The samples of @br's time split. */
static uint64_t prof_total(const struct backend_result *br)
{
    uint64_t total = 0;
    for (int c = 0; c < PROF_KINDS; c++)
        total += br->prof[c];
    return total;
}

/* What the run mapped and never touched, measured alike for every
 * backend (cymem-stat(1): "mapped" and "untouched"). */
static void print_mapped(const struct report *r)
{
    char a[16], b[16], c[16];
    printf("\n%-*s %-*s %9s %9s %9s\n", name_w, "workload", backend_w, "backend", "mapped",
           "touched", "untouched");
    for (size_t i = 0; i < r->nresults; i++) {
        const struct result *res = &r->results[i];
        if (!has_figures(res))
            continue;
        for (unsigned k = 0; k < r->nalloc; k++) {
            const struct backend_result *br = &res->be[k];
            int have = br->have_mapped;
            if (row_start(r, i, k))
                continue;
            printf(" %9s %9s %9s\n", have ? fmt_bytes(a, sizeof a, br->mapped) : "n/a",
                   have ? fmt_bytes(b, sizeof b, br->mapped - br->untouched) : "n/a",
                   have ? fmt_bytes(c, sizeof c, br->untouched) : "n/a");
        }
    }
}

/* Where the time went: the split of the sampled CPU time between the
 * kinds of operations, page faults, user and system time. */
static void print_time_split(const struct report *r)
{
    printf("\n%-*s %-*s %6s %6s %6s %6s %6s %8s %7s %7s\n", name_w, "workload", backend_w,
           "backend", "alloc", "resize", "free", "frall", "use", "faults", "user ms", "sys ms");
    for (size_t i = 0; i < r->nresults; i++) {
        const struct result *res = &r->results[i];
        if (!has_figures(res))
            continue;
        for (unsigned k = 0; k < r->nalloc; k++) {
            const struct backend_result *br = &res->be[k];
            uint64_t total = prof_total(br);
            if (row_start(r, i, k))
                continue;
            for (int c = 0; c < PROF_KINDS; c++) {
                if (total)
                    printf(" %5.0f%%", 100.0 * (double)br->prof[c] / (double)total);
                else
                    printf(" %6s", "-");
            }
            printf(" %8llu %7.1f %7.1f\n",
                   (unsigned long long)(br->usage.minflt + br->usage.majflt),
                   br->usage.utime_ns / 1e6, br->usage.stime_ns / 1e6);
        }
    }
}

/* The label of size bucket @b of a histogram: "<= 16 B" and so on. */
static const char *bucket_label(char *buf, size_t len, unsigned b)
{
    char n[32];
    if (b == PROFILE_BUCKETS - 1)
        snprintf(buf, len, "more");
    else
        snprintf(buf, len, "<= %s", fmt_bytes(n, sizeof n, (uint64_t)1 << b));
    return buf;
}

#define TABLE_SITES 5

/* For each replay: its busiest call sites, by operations and by bytes,
 * and the sizes it asked for. */
static void print_profiles(const struct report *r)
{
    char lab[32], a[32], b[32];
    for (size_t i = 0; i < r->nresults; i++) {
        const struct result *res = &r->results[i];
        const struct trace_profile *p = res->profile;
        if (!has_figures(res) || p == NULL || p->map != NULL)
            continue;
        const char *name = row_label(r, i, lab, sizeof lab);
        printf("\n%s: %zu call site%s; the top by operations, then by bytes:\n", name,
               p->nsites, p->nsites == 1 ? "" : "s");
        for (int by = 0; by < 2; by++) {
            const struct site *top = by ? p->top_bytes : p->top_ops;
            for (size_t k = 0; k < p->ntop && k < TABLE_SITES; k++) {
                printf("  %10s %9s  ", fmt_count(a, sizeof a, top[k].ops),
                       fmt_bytes(b, sizeof b, top[k].bytes));
                put_text(top[k].name, 52);
                putchar('\n');
            }
            if (!by)
                printf("  %10s %9s\n", "----", "----");
        }
        uint64_t most = 0, all = 0;
        for (unsigned k = 0; k < PROFILE_BUCKETS; k++) {
            all += p->size_hist[k];
            if (p->size_hist[k] > most)
                most = p->size_hist[k];
        }
        printf("%s: sizes of the allocations\n", name);
        for (unsigned k = 0; k < PROFILE_BUCKETS && most; k++) {
            if (p->size_hist[k] == 0)
                continue;
            int len = (int)((double)p->size_hist[k] / (double)most * 40 + 0.5);
            printf("  %-12s %10s %5.1f%% %.*s\n", bucket_label(b, sizeof b, k),
                   fmt_count(a, sizeof a, p->size_hist[k]),
                   100.0 * (double)p->size_hist[k] / (double)all, len,
                   "########################################");
        }
    }
}

static void print_table(const struct report *r, int quiet)
{
    char a[32], b[32], c[32], d[32], e[80], lab[32];
    set_widths(r);
    if (!quiet) {
        /* The names go on the next line where they would pass 80 columns. */
        int col = printf("cymem-stat %s, libcymem %s:", PACKAGE_VERSION, cymem_version());
        for (unsigned k = 0; k < r->nalloc; k++) {
            col += printf("%s", k == 0 ? "" : k + 1 == r->nalloc ? " and" : ",");
            if (col + 1 + (int)strlen(r->alloc[k].name) > 80) {
                fputs("\n ", stdout);
                col = 1;
            }
            col += printf(" %s", r->alloc[k].name);
        }
        putchar('\n');
        for (unsigned k = 0; k < r->nalloc; k++)
            if (r->alloc[k].kind == BACKEND_MALLOC)
                printf("  %-8s is %.66s\n", r->alloc[k].name, r->alloc[k].identity);
        for (unsigned k = 0; k < r->nmissing; k++)
            printf("  %-8s left out: %.60s\n", r->missing[k].name, r->missing[k].identity);
        if (r->repeat)
            printf("seed %llu, scale %g, %u run%s each: median time, (min - max)\n",
                   (unsigned long long)r->params.seed, r->params.scale, r->repeat,
                   r->repeat == 1 ? "" : "s");
        else
            printf("seed %llu, scale %g, %d to %d runs each (more while the speed-up "
                   "varies):\nmedian time, (min - max)\n", (unsigned long long)r->params.seed,
                   r->params.scale, DEFAULT_REPEAT, AUTO_REPEAT_MAX);
        printf("malloc's blocks are not zeroed; the pool zero-fills every block by "
               "contract,\nand its times include that.\n");
    }
    print_sources(r);
    putchar('\n');
    printf("%-*s %-*s %12s %9s  %-19s %7s %8s\n", name_w, "workload", backend_w, "backend",
           "operations", "time ms", "(min - max)", "ns/op", "Mops/s");
    for (size_t i = 0; i < r->nresults; i++) {
        const struct result *res = &r->results[i];
        const char *name = row_label(r, i, lab, sizeof lab);
        if (res->failed) {
            printf("%-*s FAILED: %.60s\n", name_w, name, res->error);
            continue;
        }
        if (res->skipped) {
            printf("%-*s skipped: no allocation\n", name_w, name);
            continue;
        }
        for (unsigned k = 0; k < r->nalloc; k++) {
            const struct backend_result *br = &res->be[k];
            if (row_start(r, i, k))
                continue;
            fmt_ms(b, sizeof b, br->time_ns.min);
            fmt_ms(c, sizeof c, br->time_ns.max);
            snprintf(e, sizeof e, "(%s - %s)", b, c);
            printf(" %12s %9s  %-19s %7.1f %8.2f\n", fmt_count(a, sizeof a, br->ops),
                   fmt_ms(d, sizeof d, br->time_ns.median), e, br->ns_per_op,
                   br->ops_per_sec / 1e6);
        }
    }

    printf("\n%-*s %-*s %9s %9s %9s %9s %8s %8s\n", name_w, "workload", backend_w, "backend",
           "requested", "reserved", "peak res", "peak RSS", "int frag", "ext frag");
    for (size_t i = 0; i < r->nresults; i++) {
        const struct result *res = &r->results[i];
        if (!has_figures(res))
            continue;
        for (unsigned k = 0; k < r->nalloc; k++) {
            const struct backend_result *br = &res->be[k];
            char f1[16], f2[16];
            if (row_start(r, i, k))
                continue;
            printf(" %9s %9s %9s %9s %8s %8s\n", fmt_bytes(a, sizeof a, br->requested),
                   br->have_reserved ? fmt_bytes(b, sizeof b, br->reserved) : "n/a",
                   br->have_reserved ? fmt_bytes(e, sizeof e, br->peak_reserved) : "n/a",
                   fmt_bytes(c, sizeof c, br->peak_rss),
                   fmt_pct(f1, sizeof f1, br->internal_frag, br->have_memory),
                   fmt_pct(f2, sizeof f2, br->external_frag, br->have_reserved));
        }
    }
    print_mapped(r);
    print_time_split(r);
    if (quiet)
        return;
    print_profiles(r);

    /* The chart: a bar per workload and allocator but the first, linear,
     * '|' at 1.0x; with more than two allocators the bars are narrower to
     * leave room for the allocator's name. */
    int width = r->nalloc > 2 ? BAR_WIDTH - 9 : BAR_WIDTH;
    double top = 2;
    for (size_t i = 0; i < r->nresults; i++)
        for (unsigned k = 1; k < r->nalloc && has_figures(&r->results[i]); k++)
            if (isfinite(r->results[i].be[k].speedup.median) &&
                r->results[i].be[k].speedup.median > top)
                top = r->results[i].be[k].speedup.median;
    if (r->nalloc < 2)
        return;
    int mark = (int)lround(width / top);
    printf("\nspeed-up over %s (median; '|' marks 1.0x, longer is faster)\n", r->alloc[0].name);
    for (size_t i = 0; i < r->nresults; i++) {
        const struct result *res = &r->results[i];
        char bar[BAR_WIDTH + 2];
        if (!has_figures(res))
            continue;
        for (unsigned k = 1; k < r->nalloc; k++) {
            const struct stat3 *sp = &res->be[k].speedup;
            int len = isfinite(sp->median) ? (int)lround(sp->median / top * width) : 0;
            for (int x = 0; x <= width; x++)
                bar[x] = x == mark ? '|' : x < len ? '#' : ' ';
            bar[width + 1] = '\0';
            printf("%-*s ", name_w, k == 1 ? row_label(r, i, lab, sizeof lab) : "");
            if (r->nalloc > 2)
                printf("%-*s ", backend_w, r->alloc[k].name);
            if (isfinite(sp->median))
                printf("%s %6.2fx (%.2f-%.2f)\n", bar, sp->median, sp->min, sp->max);
            else
                printf("%s    n/a\n", bar);
        }
    }
    printf("\nint frag: (used - requested) / used; ext frag: (reserved - used) / reserved;\n"
           "requested, reserved, frag: at the peak of live bytes; peak res, peak RSS:\n"
           "each at its own peak over the run.  mapped: writable anonymous memory the\n"
           "run added, at the peak of live bytes, and the part of it never touched\n"
           "(/proc/self/smaps, alike for every backend; cymem-stat(1)).\n");
    print_claims(r);
}

/* ---- JSON --------------------------------------------------------------------------- */

/* The length of the well-formed UTF-8 sequence at @p, or 0 where none
 * starts (a stray or cut sequence, an overlong form, a surrogate, a code
 * point beyond U+10FFFF). */
static size_t utf8_len(const unsigned char *p)
{
    unsigned char lo = 0x80, hi = 0xbf;
    size_t n;
    if (p[0] < 0x80)
        return 1;
    if (p[0] >= 0xc2 && p[0] <= 0xdf) {
        n = 2;
    } else if (p[0] >= 0xe0 && p[0] <= 0xef) {
        n = 3;
        lo = p[0] == 0xe0 ? 0xa0 : lo;
        hi = p[0] == 0xed ? 0x9f : hi;
    } else if (p[0] >= 0xf0 && p[0] <= 0xf4) {
        n = 4;
        lo = p[0] == 0xf0 ? 0x90 : lo;
        hi = p[0] == 0xf4 ? 0x8f : hi;
    } else {
        return 0;
    }
    if (p[1] < lo || p[1] > hi)
        return 0;
    for (size_t i = 2; i < n; i++)
        if (p[i] < 0x80 || p[i] > 0xbf)
            return 0;
    return n;
}

/* @s as a JSON string.  File names, arguments and call sites are bytes:
 * one that is not part of well-formed UTF-8 is written \udcXX, the lone
 * surrogate Python's "surrogateescape" gives it (os.fsencode() turns the
 * string back into the bytes); no UTF-8 text can produce it. */
static void json_string(const char *s)
{
    if (s == NULL) {
        fputs("null", stdout);
        return;
    }
    putchar('"');
    for (const unsigned char *p = (const unsigned char *)s; *p;) {
        size_t n = utf8_len(p);
        if (n == 0)
            printf("\\udc%02x", *p);
        else if (n > 1)
            fwrite(p, 1, n, stdout);
        else if (*p == '"' || *p == '\\')
            printf("\\%c", *p);
        else if (*p < 0x20)
            printf("\\u%04x", *p);
        else
            putchar(*p);
        p += n ? n : 1;
    }
    putchar('"');
}

static void json_number(double v)
{
    if (isfinite(v))
        printf("%.6g", v);
    else
        fputs("null", stdout);
}

/* The fields speedup, speedup_min and speedup_max of @sp. */
static void json_speedup(const struct stat3 *sp)
{
    fputs("\"speedup\": ", stdout);
    json_number(sp->median);
    fputs(", \"speedup_min\": ", stdout);
    json_number(sp->min);
    fputs(", \"speedup_max\": ", stdout);
    json_number(sp->max);
}

/* A byte count, or null when it was not measured. */
static void json_count(uint64_t v, int have)
{
    if (have)
        printf("%llu", (unsigned long long)v);
    else
        fputs("null", stdout);
}

static void json_backend(const struct backend_result *br)
{
    printf("{\"runs\": %u, \"ops\": %llu, ", br->runs, (unsigned long long)br->ops);
    printf("\"time_ns\": %.0f, \"time_ns_min\": %.0f, \"time_ns_max\": %.0f, ",
           br->time_ns.median, br->time_ns.min, br->time_ns.max);
    fputs("\"ns_per_op\": ", stdout);
    json_number(br->ns_per_op);
    fputs(", \"ops_per_sec\": ", stdout);
    json_number(br->ops_per_sec);
    printf(", \"peak_rss_bytes\": %llu, \"requested_bytes\": %llu, ",
           (unsigned long long)br->peak_rss, (unsigned long long)br->requested);
    printf("\"memory_measured\": %s, \"reserved_measured\": %s",
           br->have_memory ? "true" : "false", br->have_reserved ? "true" : "false");
    fputs(", \"used_bytes\": ", stdout);
    json_count(br->used, br->have_memory);
    fputs(", \"reserved_bytes\": ", stdout);
    json_count(br->reserved, br->have_reserved);
    fputs(", \"peak_reserved_bytes\": ", stdout);
    json_count(br->peak_reserved, br->have_reserved);
    fputs(", \"metadata_bytes\": ", stdout);
    json_count(br->metadata, br->have_memory);
    fputs(", \"mapped_bytes\": ", stdout);
    json_count(br->mapped, br->have_mapped);
    fputs(", \"untouched_bytes\": ", stdout);
    json_count(br->untouched, br->have_mapped);
    fputs(", \"internal_fragmentation\": ", stdout);
    json_number(br->have_memory ? br->internal_frag : NAN);
    fputs(", \"external_fragmentation\": ", stdout);
    json_number(br->have_reserved ? br->external_frag : NAN);
    fputs(", ", stdout);
    json_speedup(&br->speedup);
    printf(", \"minor_faults\": %llu, \"major_faults\": %llu, \"user_ns\": %.0f, "
           "\"system_ns\": %.0f, \"time_split\": {", (unsigned long long)br->usage.minflt,
           (unsigned long long)br->usage.majflt, br->usage.utime_ns, br->usage.stime_ns);
    uint64_t total = prof_total(br);
    for (int c = 0; c < PROF_KINDS; c++) {
        printf("\"%s\": ", prof_names[c]);
        json_number(total ? (double)br->prof[c] / (double)total : NAN);
        fputs(", ", stdout);
    }
    printf("\"samples\": %llu}", (unsigned long long)total);
    putchar('}');
}

static void json_sites(const struct site *v, size_t n)
{
    putchar('[');
    for (size_t k = 0; k < n; k++) {
        fputs(k ? ", {\"site\": " : "{\"site\": ", stdout);
        json_string(v[k].name);
        printf(", \"ops\": %llu, \"bytes\": %llu}", (unsigned long long)v[k].ops,
               (unsigned long long)v[k].bytes);
    }
    putchar(']');
}

/* A replay's call sites and size histogram. */
static void json_profile(const struct trace_profile *p)
{
    printf(",\n   \"call_sites\": %zu, \"call_sites_by_ops\": ", p->nsites);
    json_sites(p->top_ops, p->ntop);
    fputs(",\n   \"call_sites_by_bytes\": ", stdout);
    json_sites(p->top_bytes, p->ntop);
    fputs(",\n   \"size_histogram\": [", stdout);
    int first = 1;
    for (unsigned k = 0; k < PROFILE_BUCKETS; k++) {
        if (p->size_hist[k] == 0)
            continue;
        fputs(first ? "{\"up_to\": " : ", {\"up_to\": ", stdout);
        if (k == PROFILE_BUCKETS - 1)
            fputs("null", stdout);
        else
            printf("%llu", 1ull << k);
        printf(", \"allocs\": %llu}", (unsigned long long)p->size_hist[k]);
        first = 0;
    }
    putchar(']');
}

static double ratio(uint64_t a, uint64_t b)
{
    return b ? (double)a / (double)b : NAN;
}

/* The first line of @path that starts with @key, after its ':' (or the
 * whole line without @key), into @buf; "" if none. */
static void read_line(const char *path, const char *key, char *buf, size_t len)
{
    char line[512];
    FILE *f = fopen(path, "re");
    buf[0] = '\0';
    if (f == NULL)
        return;
    while (fgets(line, sizeof line, f))
        if (strncmp(line, key, strlen(key)) == 0) {
            const char *v = key[0] ? strchr(line, ':') : line;
            v = v ? v + (key[0] ? 1 : 0) : line;
            v += strspn(v, " \t");
            snprintf(buf, len, "%.*s", (int)strcspn(v, "\n"), v);
            break;
        }
    fclose(f);
}

/* What a reader of the JSON needs to compare it with another: the
 * command line, the allocators and which library each was, the C
 * library, the processor and the load of the machine. */
static void print_json_context(const struct report *r)
{
    char cpu[256], load[128];
    fputs(",\n \"command_line\": [", stdout);
    for (int i = 0; i < r->argc; i++) {
        fputs(i ? ", " : "", stdout);
        json_string(r->argv[i]);
    }
    fputs("],\n \"allocators\": [", stdout);
    for (unsigned k = 0; k < r->nalloc; k++) {
        const struct allocator *a = &r->alloc[k];
        printf("%s\n  {\"name\": ", k ? "," : "");
        json_string(a->name);
        fputs(", \"kind\": ", stdout);
        json_string(backend_names[a->kind]);
        fputs(", \"preload\": ", stdout);
        json_string(a->preload[0] ? a->preload : NULL);
        fputs(", \"identity\": ", stdout);
        json_string(backend_is_pool(a->kind) ? "libcymem " CYMEM_VERSION_STRING : a->identity);
        putchar('}');
    }
    fputs("],\n \"allocators_missing\": [", stdout);
    for (unsigned k = 0; k < r->nmissing; k++) {
        fputs(k ? ", " : "", stdout);
        json_string(r->missing[k].name);
    }
    fputs("],\n \"libc\": ", stdout);
    json_string(libc_version());
    read_line("/proc/cpuinfo", "model name", cpu, sizeof cpu);
    if (cpu[0] == '\0')
        read_line("/proc/cpuinfo", "Processor", cpu, sizeof cpu);
    fputs(", \"cpu\": ", stdout);
    json_string(cpu[0] ? cpu : NULL);
    long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
    printf(", \"cpus\": %ld", ncpu > 0 ? ncpu : 0);
    /* The load averages at the end: the 1-minute one covers the runs. */
    read_line("/proc/loadavg", "", load, sizeof load);
    double l1, l5, l15;
    fputs(", \"load\": ", stdout);
    if (sscanf(load, "%lf %lf %lf", &l1, &l5, &l15) == 3)
        printf("[%.2f, %.2f, %.2f]", l1, l5, l15);
    else
        fputs("null", stdout);
}

static void print_json(const struct report *r)
{
    printf("{\"program\": \"cymem-stat\", \"schema_version\": %d, \"version\": \"%s\", "
           "\"library_version\": ", JSON_SCHEMA_VERSION, PACKAGE_VERSION);
    json_string(cymem_version());
    print_json_context(r);
    printf(",\n \"seed\": %llu, \"scale\": ", (unsigned long long)r->params.seed);
    json_number(r->params.scale);
    if (r->params.iterations)
        printf(", \"iterations\": %llu", (unsigned long long)r->params.iterations);
    else
        fputs(", \"iterations\": null", stdout);
    if (r->repeat)
        printf(", \"repeat\": %u", r->repeat);
    else
        fputs(", \"repeat\": null", stdout);
    printf(", \"threads\": %u, \"malloc_zero_fills\": false, "
           "\"pool_zero_fills\": true,\n \"workloads\": [", r->params.threads);
    for (size_t i = 0; i < r->nresults; i++) {
        const struct result *res = &r->results[i];
        const struct backend_result *m = &res->be[0], *p = &res->be[res->target];
        printf("%s\n  {\"name\": ", i ? "," : "");
        json_string(res->name);
        fputs(", \"source\": ", stdout);
        json_string(res->source);
        printf(", \"count\": %llu, \"threads\": %u, \"failed\": %s, \"skipped\": %s, "
               "\"error\": ", (unsigned long long)res->count, res->threads,
               res->failed ? "true" : "false", res->skipped ? "true" : "false");
        json_string(res->failed ? res->error : NULL);
        if (is_total(res))
            printf(", \"processes\": %u", res->processes);
        if (!has_figures(res)) {
            fputs(", \"backends\": null}", stdout);
            continue;
        }
        printf(",\n   \"allocs\": %llu, \"frees\": %llu, \"reallocs\": %llu, ",
               (unsigned long long)res->allocs, (unsigned long long)res->frees,
               (unsigned long long)res->reallocs);
        if (res->source)
            printf("\"trace_runs\": %llu, \"failed_allocs\": %llu, \"cut_lines\": %llu, ",
                   (unsigned long long)res->trace_runs,
                   (unsigned long long)res->failed_allocs,
                   (unsigned long long)res->cut_lines);
        json_speedup(&res->speedup);
        fputs(", \"speedup_q1\": ", stdout);
        json_number(res->speedup_q1);
        fputs(", \"speedup_q3\": ", stdout);
        json_number(res->speedup_q3);
        printf(", \"spread_wide\": %s", res->spread_wide ? "true" : "false");
        fputs(",\n   \"reserved_ratio\": ", stdout);
        json_number(m->have_reserved && p->have_reserved ? ratio(p->reserved, m->reserved)
                                                         : NAN);
        fputs(", \"peak_rss_ratio\": ", stdout);
        json_number(ratio(p->peak_rss, m->peak_rss));
        if (res->profile && res->profile->map == NULL)
            json_profile(res->profile);
        fputs(",\n   \"not_applicable\": {", stdout);
        for (unsigned k = 0, n = 0; k < r->nalloc; k++)
            if (res->be[k].na) {
                fputs(n++ ? ", " : "", stdout);
                json_string(r->alloc[k].name);
                fputs(": ", stdout);
                json_string(res->be[k].na);
            }
        fputs("},\n   \"backends\": {", stdout);
        for (unsigned k = 0; k < r->nalloc; k++) {
            printf("%s\n    ", k ? "," : "");
            json_string(r->alloc[k].name);
            fputs(": ", stdout);
            if (res->be[k].na)
                fputs("null", stdout);
            else
                json_backend(&res->be[k]);
        }
        fputs("}}", stdout);
    }
    fputs("\n ]}\n", stdout);
}

/* ---- CSV ---------------------------------------------------------------------------- */

static void csv_field(const char *s)
{
    if (s == NULL)
        return;
    if (strpbrk(s, ",\"\n") == NULL) {
        fputs(s, stdout);
        return;
    }
    putchar('"');
    for (; *s; s++) {
        if (*s == '"')
            putchar('"');
        putchar(*s);
    }
    putchar('"');
}

/* A byte count and its comma; an empty field when it was not measured. */
static void csv_count(uint64_t v, int have)
{
    if (have)
        printf("%llu", (unsigned long long)v);
    putchar(',');
}

/* A figure with @decimals decimals and its comma; an empty field when it
 * is unknown (not finite). */
static void csv_number(double v, int decimals)
{
    if (isfinite(v))
        printf("%.*f", decimals, v);
    putchar(',');
}

static void print_csv(const struct report *r)
{
    puts("workload,source,backend,runs,ops,time_ns,time_ns_min,time_ns_max,ns_per_op,"
         "ops_per_sec,speedup,peak_rss_bytes,requested_bytes,used_bytes,reserved_bytes,"
         "metadata_bytes,internal_fragmentation,external_fragmentation,peak_reserved_bytes,"
         "mapped_bytes,untouched_bytes");
    for (size_t i = 0; i < r->nresults; i++) {
        const struct result *res = &r->results[i];
        if (!has_figures(res))
            continue;
        for (unsigned k = 0; k < r->nalloc; k++) {
            const struct backend_result *br = &res->be[k];
            if (br->na)
                continue;
            csv_field(res->name);
            putchar(',');
            csv_field(res->source);
            printf(",%s,%u,%llu,%.0f,%.0f,%.0f,%.4f,%.1f,", r->alloc[k].name, br->runs,
                   (unsigned long long)br->ops, br->time_ns.median, br->time_ns.min,
                   br->time_ns.max, br->ns_per_op, br->ops_per_sec);
            csv_number(br->speedup.median, 4);
            printf("%llu,%llu,", (unsigned long long)br->peak_rss,
                   (unsigned long long)br->requested);
            csv_count(br->used, br->have_memory);
            csv_count(br->reserved, br->have_reserved);
            csv_count(br->metadata, br->have_memory);
            csv_number(br->have_memory ? br->internal_frag : NAN, 6);
            csv_number(br->have_reserved ? br->external_frag : NAN, 6);
            csv_count(br->peak_reserved, br->have_reserved);
            csv_count(br->mapped, br->have_mapped);
            if (br->have_mapped)
                printf("%llu", (unsigned long long)br->untouched);
            putchar('\n');
        }
    }
}

void output_report(const struct report *r, enum format f, int quiet)
{
    switch (f) {
    case FORMAT_TABLE: print_table(r, quiet); break;
    case FORMAT_JSON: print_json(r); break;
    case FORMAT_CSV: print_csv(r); break;
    }
}
