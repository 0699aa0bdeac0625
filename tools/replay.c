/*
 * replay.c - turn a glibc mtrace log into a plan.
 *
 * The log is what glibc's tracer writes (MALLOC_TRACE=FILE with
 * libc_malloc_debug.so.0 preloaded and mtrace() called), one event a line,
 * each optionally after the caller ("@ prog:[0x1234] ", the last "] " of the
 * line closing it, since a file name may hold one):
 *
 *   = Start                 tracing began
 *   = End                   tracing ended
 *   + 0xADDR 0xSIZE         malloc, calloc, memalign, realloc(NULL, n)
 *   - 0xADDR                free, realloc(p, 0)
 *   < 0xADDR                realloc of ADDR; the next event line is
 *   > 0xADDR 0xSIZE         its result
 *   ! 0xADDR 0xSIZE         a realloc that failed (nothing changed)
 *
 * glibc prints addresses with %p and sizes with %#lx, so a null address
 * is "(nil)" (a failed allocation: "+ (nil) 0x1000") and a zero size is
 * "0" (malloc(0): "+ 0xADDR 0"); sizes may exceed 4 GiB.
 *
 * Addresses become slots: a block keeps its slot while it lives, and a
 * freed slot is used again.  A free of an address the log never allocated
 * (memory obtained before tracing began) is skipped; blocks still live at
 * the end are freed by a final free-all, as a pool's destroy would.
 * "= Start" and "= End" bound a run: a log holding two runs (two programs,
 * or one program that traced twice) replays as two runs one after the
 * other, the blocks of the first freed before the second starts, since its
 * addresses mean nothing to the second.
 *
 * A process that dies while its tracer writes leaves a line cut short:
 * the last line of its log, without its newline; a line that "= Start"
 * or "= End" follows on the same line; the '<' of a realloc without its
 * '>'.  Such lines are not replayed (parsing what is left of them could
 * give a wrong size), only counted: the log is incomplete.
 */
#include "config.h"

#include "cymem-stat.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- address -> (slot, size), linear probing with tombstones ------------------- */

/* Any address but 0 may name a block (a trace written by hand may count
 * them from 0x1): an entry without an address is empty, or with the slot
 * TOMB a tombstone, which a search goes past. */
#define TOMB UINT32_MAX

struct entry {
    uint64_t addr;           /* 0: empty, or a tombstone */
    uint64_t size;
    uint32_t slot;
};

static int entry_empty(const struct entry *e)
{
    return e->addr == 0 && e->slot != TOMB;
}

static void entry_bury(struct entry *e)
{
    e->addr = 0;
    e->slot = TOMB;
}

#define AMAP_MIN 1024

struct amap {
    struct entry *tab;
    size_t cap, used;        /* used counts tombstones too */
    size_t live;             /* entries that are not tombstones */
    uint32_t *free_slots;    /* slots of freed blocks, for reuse */
    size_t nfree, free_cap;
    uint32_t next_slot;
};

static size_t amap_hash(uint64_t addr, size_t cap)
{
    return (size_t)((addr * 0x9E3779B97F4A7C15ull) >> 17) & (cap - 1);
}

static struct entry *amap_find(const struct amap *m, uint64_t addr)
{
    if (addr == 0)   /* (nil): no block, and a tombstone's address */
        return NULL;
    for (size_t i = amap_hash(addr, m->cap);; i = (i + 1) & (m->cap - 1)) {
        if (m->tab[i].addr == addr)
            return &m->tab[i];
        if (entry_empty(&m->tab[i]))
            return NULL;
    }
}

/* A table with room for the live entries and as many again, without the
 * tombstones: its size follows the live blocks, not every address the
 * trace has named.  At the same size the table is cleared in place, the
 * live entries kept aside meanwhile. */
static int amap_rehash(struct amap *m)
{
    size_t cap = AMAP_MIN, n = 0;
    while (cap < 4 * (m->live + 1))
        cap *= 2;
    struct entry *keep = malloc((m->live + 1) * sizeof *keep);
    struct entry *tab = cap == m->cap ? m->tab : calloc(cap, sizeof *tab);
    if (keep == NULL || tab == NULL) {
        free(keep);
        if (tab != m->tab)
            free(tab);
        return -1;
    }
    for (size_t i = 0; i < m->cap; i++)
        if (m->tab[i].addr != 0)
            keep[n++] = m->tab[i];
    if (tab == m->tab)
        memset(tab, 0, cap * sizeof *tab);
    else
        free(m->tab);
    for (size_t k = 0; k < n; k++) {
        size_t j = amap_hash(keep[k].addr, cap);
        while (tab[j].addr)
            j = (j + 1) & (cap - 1);
        tab[j] = keep[k];
    }
    free(keep);
    m->tab = tab;
    m->cap = cap;
    m->used = n;
    return 0;
}

/* Enter @addr with @slot. */
static struct entry *amap_put(struct amap *m, uint64_t addr, uint32_t slot)
{
    if ((m->used + 1) * 2 > m->cap && amap_rehash(m) != 0)
        return NULL;
    size_t i = amap_hash(addr, m->cap);
    while (m->tab[i].addr != 0)
        i = (i + 1) & (m->cap - 1);
    if (entry_empty(&m->tab[i]))
        m->used++;
    m->live++;
    m->tab[i].addr = addr;
    m->tab[i].slot = slot;
    return &m->tab[i];
}

/* Enter a new block at @addr, in a free slot. */
static struct entry *amap_insert(struct amap *m, uint64_t addr)
{
    uint32_t slot = m->nfree ? m->free_slots[m->nfree - 1] : m->next_slot;
    if (slot == TOMB)
        return NULL;
    struct entry *e = amap_put(m, addr, slot);
    if (e != NULL) {
        if (m->nfree)
            m->nfree--;
        else
            m->next_slot++;
    }
    return e;
}

static int amap_remove(struct amap *m, struct entry *e)
{
    if (m->nfree == m->free_cap) {
        size_t cap = m->free_cap ? m->free_cap * 2 : 1024;
        uint32_t *v = realloc(m->free_slots, cap * sizeof *v);
        if (v == NULL)
            return -1;
        m->free_slots = v;
        m->free_cap = cap;
    }
    m->free_slots[m->nfree++] = e->slot;
    entry_bury(e);
    m->live--;
    return 0;
}

/* Forget every address (the blocks are gone); slots start again at 0.  A
 * table a large run grew goes back to its first size, so that the runs
 * after it do not each clear it whole. */
static void amap_clear(struct amap *m)
{
    struct entry *small;
    if (m->cap > AMAP_MIN && (small = calloc(AMAP_MIN, sizeof *small)) != NULL) {
        free(m->tab);
        m->tab = small;
        m->cap = AMAP_MIN;
    } else {
        memset(m->tab, 0, m->cap * sizeof *m->tab);
    }
    m->used = 0;
    m->live = 0;
    m->nfree = 0;
    m->next_slot = 0;
}

/* A new block of @size at @addr, in a free slot. */
static int block_new(struct amap *m, struct plan *plan, uint64_t addr, uint64_t size)
{
    struct entry *e = amap_insert(m, addr);
    if (e == NULL)
        return -1;
    e->size = size;
    return plan_alloc(plan, 0, e->slot, e->size);
}

/* The block @e is freed. */
static int block_drop(struct amap *m, struct plan *plan, struct entry *e)
{
    if (plan_free_block(plan, 0, e->slot, e->size) != 0)
        return -1;
    return amap_remove(m, e);
}

/* ---- parsing ---------------------------------------------------------------------- */

struct parser {
    const char *path;
    unsigned long lineno;
    char *err;
    size_t errlen;
    const char *site;        /* the caller of the current line, or NULL */
    size_t site_len;
};

static int malformed(struct parser *ps, const char *why, const char *line)
{
    size_t n = strcspn(line, "\r\n");
    snprintf(ps->err, ps->errlen, "%s:%lu: malformed mtrace line (%s): '%.*s'",
             ps->path, ps->lineno, why, (int)(n > 60 ? 60 : n), line);
    return -1;
}

/* Parse a number as glibc's tracer prints it at *s and move past it:
 * "0x..." (hexadecimal), "0" (%#lx of zero) or, where @nil_ok,
 * "(nil)" (%p of a null pointer), which gives 0 and returns 1. */
static int parse_num(const char **s, uint64_t *out, int nil_ok)
{
    const char *p = *s;
    char *end;
    while (*p == ' ' || *p == '\t')
        p++;
    if (nil_ok && strncmp(p, "(nil)", 5) == 0) {
        *out = 0;
        *s = p + 5;
        return 1;
    }
    if (p[0] == '0' && (p[1] == ' ' || p[1] == '\t' || p[1] == '\r' || p[1] == '\n' ||
                        p[1] == '\0')) {
        *out = 0;
        *s = p + 1;
        return 0;
    }
    if (p[0] != '0' || (p[1] != 'x' && p[1] != 'X') || p[2] == '\0' ||
        !strchr("0123456789abcdefABCDEF", p[2]))
        return -1;
    errno = 0;
    *out = strtoull(p, &end, 16);
    if (errno)
        return -1;
    *s = end;
    return 0;
}

static int at_end(const char *s)
{
    while (*s == ' ' || *s == '\t' || *s == '\r' || *s == '\n')
        s++;
    return *s == '\0';
}

/* Split a line into its event character and its arguments; 0 for a blank
 * line, '=' for a run boundary ("= Start", "= End"). */
static int event_of(struct parser *ps, const char *line, const char **args)
{
    const char *s = line;
    ps->site = NULL;
    if (s[0] == '@' && s[1] == ' ') {
        /* The caller's file name may hold "] " itself: the address is
         * closed by the last "] " of the line, since no event has one. */
        const char *close = NULL;
        for (const char *c = strstr(s, "] "); c; c = strstr(c + 1, "] "))
            close = c;
        if (close == NULL)
            return malformed(ps, "caller without ']'", line), -1;
        ps->site = s + 2;
        ps->site_len = (size_t)(close + 1 - ps->site);
        s = close + 2;
    }
    if (at_end(s))
        return s == line ? 0 : (malformed(ps, "caller without an event", line), -1);
    if (s[0] == '=' && s == line) {
        if ((strncmp(s, "= Start", 7) == 0 && at_end(s + 7)) ||
            (strncmp(s, "= End", 5) == 0 && at_end(s + 5)))
            return '=';
        return malformed(ps, "unknown boundary", line), -1;
    }
    if (strchr("+-<>!", s[0]) == NULL || s[1] != ' ')
        return malformed(ps, "unknown event", line), -1;
    *args = s + 2;
    return s[0];
}

/* One line: its event (as event_of() gives it, or LAST_LINE), address
 * and size. */
struct event {
    int kind;
    int cut;                 /* cut short: counted, not replayed */
    uint64_t addr, size;
};

/* The kind of the last line of a trace when it has no newline: cut short
 * where the process died, not replayed. */
#define LAST_LINE 256

/* Parse @line into @e; its kind, or -1 with a message for a malformed
 * line. */
static int parse_event(struct parser *ps, const char *line, struct event *e)
{
    const char *args = NULL;
    e->addr = e->size = 0;
    e->kind = event_of(ps, line, &args);
    if (e->kind <= 0 || e->kind == '=')
        return e->kind;
    /* "(nil)" is what glibc prints for a null pointer: a failed
     * allocation, the old block of a failed realloc(NULL, n). */
    int nil = parse_num(&args, &e->addr, e->kind != '>');
    if (nil < 0)
        return malformed(ps, "bad address", line);
    if (e->addr == 0 && !nil)
        return malformed(ps, "null address not written as (nil)", line);
    if (strchr("+>!", e->kind) && parse_num(&args, &e->size, 0) != 0)
        return malformed(ps, "bad size", line);
    if (!at_end(args))
        return malformed(ps, "trailing text", line);
    return e->kind;
}

/* Whether @line is a line cut short with "= Start" or "= End" written
 * right after it: the tracer of a process that died while writing the
 * line started again in its next program, or ended in a signal handler
 * that interrupted it. */
static int cut_before_boundary(const char *line)
{
    static const char *const marks[] = { "= Start", "= End" };
    size_t n = strcspn(line, "\r\n");
    for (size_t i = 0; i < sizeof marks / sizeof marks[0]; i++) {
        size_t k = strlen(marks[i]);
        if (n > k && memcmp(line + n - k, marks[i], k) == 0)
            return 1;
    }
    return 0;
}

/* Read a line of @f into *@line (a buffer as getline()'s, *@cap bytes),
 * with its newline: its length, 0 at the end of the file, -1 for a read
 * error (ferror()) or no memory, or LINE_TOO_LONG when REPLAY_LINE_MAX bytes came without a
 * newline and more follow (*@line then holds REPLAY_LINE_MAX + 1 bytes):
 * the rest of such a line is not read, so that a stream without a
 * newline (/dev/zero) takes no more memory than that. */
#define LINE_TOO_LONG (-2)
static ssize_t read_line(FILE *f, char **line, size_t *cap)
{
    size_t n = 0;
    int c;
    for (;;) {
        /* Room for a byte and the NUL after the line. */
        if (n + 2 > *cap) {
            size_t want = *cap ? *cap * 2 : 256;
            if (want > REPLAY_LINE_MAX + 2)
                want = REPLAY_LINE_MAX + 2;
            char *p = realloc(*line, want);
            if (p == NULL)
                return -1;
            *line = p;
            *cap = want;
        }
        char *buf = *line;
        for (size_t room = *cap - 1; n < room;) {
            if ((c = getc_unlocked(f)) == EOF)
                goto end;
            buf[n++] = (char)c;
            if (c == '\n')
                goto end;
        }
        if (n > REPLAY_LINE_MAX) {
            buf[n] = '\0';
            return LINE_TOO_LONG;
        }
    }
end:
    if (ferror(f))
        return -1;
    (*line)[n] = '\0';
    return (ssize_t)n;
}

/* Read the next line of @ps's trace from @f into *@line and parse it into
 * @e: its length, 0 at the end of the trace, or -1 with a message.  Only
 * the line itself is checked: whether it may follow the lines before it
 * is replay_build()'s to say. */
static ssize_t next_line(struct parser *ps, FILE *f, char **line, size_t *cap,
                         struct event *e)
{
    ssize_t len = read_line(f, line, cap);
    e->kind = e->cut = 0;
    if (len == 0)
        return 0;
    if (len == -1) {
        if (ferror(f))
            snprintf(ps->err, ps->errlen, "%s: read error: %s", ps->path, strerror(errno));
        else
            snprintf(ps->err, ps->errlen, "%s: out of memory", ps->path);
        return -1;
    }
    ps->lineno++;
    if (len == LINE_TOO_LONG) {
        /* No tracer writes such a line (nor a NUL byte, the likelier
         * reason, as in /dev/zero). */
        char why[48];
        snprintf(why, sizeof why, "longer than %d bytes", REPLAY_LINE_MAX);
        return malformed(ps, memchr(*line, '\0', REPLAY_LINE_MAX + 1) ? "NUL byte" : why,
                         *line);
    }
    if ((*line)[len - 1] != '\n') {
        /* The last line, without its newline: cut short where the
         * process died, not recorded. */
        e->kind = LAST_LINE;
        e->cut = !at_end(*line);
        return len;
    }
    if (memchr(*line, '\0', (size_t)len) != NULL) {
        /* Text functions would stop at it and take the rest for
         * blank: no tracer writes one. */
        return malformed(ps, "NUL byte", *line);
    }
    if (parse_event(ps, *line, e) < 0) {
        if (!cut_before_boundary(*line))
            return -1;
        e->kind = '=';   /* the boundary stands, the cut line goes */
        e->cut = 1;
    }
    return len;
}

ssize_t replay_read_line(FILE *f, const char *path, unsigned long *lineno, char **line,
                         size_t *cap, char *err, size_t errlen)
{
    struct parser ps = { path, *lineno, err, errlen, NULL, 0 };
    struct event e;
    ssize_t len = next_line(&ps, f, line, cap, &e);
    *lineno = ps.lineno;
    return len;
}

int replay_build(const char *path, FILE *copy, struct plan *plan,
                 struct trace_profile *prof, char *err, size_t errlen)
{
    struct parser ps = { path, 0, err, errlen, NULL, 0 };
    struct amap m;
    FILE *f = copy ? copy : fopen(path, "re");
    if (copy)
        rewind(copy);
    char *line = NULL;
    size_t cap = 0;
    int rc = -1;

    if (f == NULL) {
        snprintf(err, errlen, "cannot open '%s': %s", path, strerror(errno));
        return -1;
    }
    memset(&m, 0, sizeof m);
    m.cap = AMAP_MIN;
    m.tab = calloc(m.cap, sizeof *m.tab);
    if (m.tab == NULL)
        goto nomem;

    /* The old address of a realloc whose '>' line is still to come. */
    int want_result = 0;
    uint64_t realloc_old = 0;
    /* Events since the last boundary: a run that holds some. */
    uint64_t run_events = 0;

    ssize_t len;
    struct event event;
    while ((len = next_line(&ps, f, &line, &cap, &event)) > 0) {
        int ev = event.kind;
        plan->cut_lines += event.cut;
        if (ev == LAST_LINE)
            break;
        if (ev == 0)
            continue;
        if (want_result && ev == '=') {
            /* The realloc's '>' line was never written. */
            plan->cut_lines++;
            want_result = 0;
        }
        if (want_result != (ev == '>')) {
            malformed(&ps, ev == '>' ? "'>' without '<' before it"
                                     : "'<' not followed by '>'", line);
            goto out;
        }
        if (ev == '=') {
            /* A run ends: its live blocks die with it.  They are in the
             * slots it used, below m.next_slot: a free-all over every
             * slot of the trace would go through the largest run's at
             * each boundary, in the time of every backend. */
            if (run_events) {
                plan->trace_runs++;
                if (plan_free_rest(plan, 0, 0, m.next_slot) != 0)
                    goto nomem;
                amap_clear(&m);
            }
            run_events = 0;
            continue;
        }
        run_events++;
        uint64_t addr = event.addr, size = event.size;

        /* The '<' of a realloc counts nothing: its '>' does. */
        if (prof && ev != '<' &&
            profile_note(prof, ps.site, ps.site_len, ev == '+' && addr != 0,
                         ev == '+' || ev == '>' ? size : 0) != 0)
            goto nomem;

        struct entry *e;
        switch (ev) {
        case '+':
            if (addr == 0) {
                plan->failed_allocs++;  /* the program got NULL */
                break;
            }
            /* A live address again: freed behind the tracer's back (or a
             * line was lost), so the old block is gone now. */
            if ((e = amap_find(&m, addr)) != NULL && block_drop(&m, plan, e) != 0)
                goto nomem;
            if (block_new(&m, plan, addr, size) != 0)
                goto nomem;
            break;
        case '-':
            /* An unknown address was allocated before tracing began. */
            if (addr != 0 && (e = amap_find(&m, addr)) != NULL && block_drop(&m, plan, e) != 0)
                goto nomem;
            break;
        case '<':
            want_result = 1;
            realloc_old = addr;
            break;
        case '>': {
            want_result = 0;
            struct entry *old = realloc_old ? amap_find(&m, realloc_old) : NULL;
            if (old == NULL) {
                /* Resizing a block from before tracing: a new block here. */
                if ((e = amap_find(&m, addr)) != NULL && block_drop(&m, plan, e) != 0)
                    goto nomem;
                if (block_new(&m, plan, addr, size) != 0)
                    goto nomem;
                break;
            }
            uint32_t slot = old->slot;
            uint64_t old_size = old->size;
            if (addr != realloc_old) {
                struct entry *clash = amap_find(&m, addr);
                if (clash != NULL) {
                    malformed(&ps, "realloc result is another live block", line);
                    goto out;
                }
                /* The block moved: same slot, new address. */
                entry_bury(old);
                m.live--;
                if ((e = amap_put(&m, addr, slot)) == NULL)
                    goto nomem;
            } else {
                e = old;
            }
            e->size = size;
            if (plan_realloc(plan, 0, slot, old_size, size) != 0)
                goto nomem;
            break;
        }
        case '!':
            plan->failed_allocs++;  /* a failed realloc changes nothing */
            break;
        }
    }
    if (len < 0)
        goto out;
    plan->cut_lines += want_result;   /* a realloc without its '>' line */
    if (run_events)
        plan->trace_runs++;
    if (plan->allocs == 0) {
        /* Nothing to measure: a report would show timer noise. */
        snprintf(err, errlen, "%s: no allocation to replay (%lu line%s, no successful "
                 "'+' or '>' event)", path, ps.lineno, ps.lineno == 1 ? "" : "s");
        rc = REPLAY_EMPTY;
        goto out;
    }
    /* The last run's blocks, unless a boundary freed them already. */
    if ((run_events && plan_free_rest(plan, 0, 0, m.next_slot) != 0) ||
        plan_finish(plan) != 0 || (prof && profile_finish(prof) != 0))
        goto nomem;
    rc = 0;
    goto out;
nomem:
    snprintf(err, errlen, "%s: out of memory", path);
out:
    free(line);
    free(m.tab);
    free(m.free_slots);
    if (copy)
        rewind(copy);
    else
        fclose(f);
    return rc;
}
