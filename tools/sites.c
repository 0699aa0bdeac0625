/*
 * sites.c - what a replayed trace says about its program: the call sites
 * with the most operations and with the most bytes, and the sizes asked
 * for.
 *
 * glibc's tracer writes the caller of an event before it ("@ prog:[0x1234]
 * + ..."); the sites are those callers as written, so that a reader can
 * resolve them with addr2line.  Events without a caller count under
 * "(unknown)".
 */
#include "config.h"

#include "cymem-stat.h"

#include <stdlib.h>
#include <string.h>

struct site_map {
    struct site *tab;        /* name NULL: empty */
    size_t cap, used;
};

static uint64_t hash(const char *s, size_t n)
{
    uint64_t h = 1469598103934665603ull;
    for (size_t i = 0; i < n; i++)
        h = (h ^ (unsigned char)s[i]) * 1099511628211ull;
    return h;
}

struct trace_profile *profile_new(void)
{
    struct trace_profile *p = calloc(1, sizeof *p);
    if (p == NULL)
        return NULL;
    p->map = calloc(1, sizeof *p->map);
    if (p->map == NULL || (p->map->tab = calloc(256, sizeof *p->map->tab)) == NULL) {
        free(p->map);
        free(p);
        return NULL;
    }
    p->map->cap = 256;
    return p;
}

static int grow(struct site_map *m)
{
    size_t cap = m->cap * 2;
    struct site *tab = calloc(cap, sizeof *tab);
    if (tab == NULL)
        return -1;
    for (size_t i = 0; i < m->cap; i++) {
        if (m->tab[i].name == NULL)
            continue;
        size_t j = hash(m->tab[i].name, strlen(m->tab[i].name)) & (cap - 1);
        while (tab[j].name)
            j = (j + 1) & (cap - 1);
        tab[j] = m->tab[i];
    }
    free(m->tab);
    m->tab = tab;
    m->cap = cap;
    return 0;
}

int profile_note(struct trace_profile *p, const char *site, size_t len, int alloc,
                 uint64_t bytes)
{
    struct site_map *m = p->map;
    if (site == NULL) {
        site = "(unknown)";
        len = strlen(site);
    }
    if ((m->used + 1) * 2 > m->cap && grow(m) != 0)
        return -1;
    size_t i = hash(site, len) & (m->cap - 1);
    while (m->tab[i].name && !(strncmp(m->tab[i].name, site, len) == 0 &&
                               m->tab[i].name[len] == '\0'))
        i = (i + 1) & (m->cap - 1);
    if (m->tab[i].name == NULL) {
        if ((m->tab[i].name = strndup(site, len)) == NULL)
            return -1;
        m->used++;
    }
    m->tab[i].ops++;
    m->tab[i].bytes += bytes;
    if (alloc) {
        unsigned b = 0;
        while (b < PROFILE_BUCKETS - 1 && ((uint64_t)1 << b) < bytes)
            b++;
        p->size_hist[b]++;
    }
    return 0;
}

static int by_ops(const void *a, const void *b)
{
    const struct site *x = a, *y = b;
    return (x->ops < y->ops) - (x->ops > y->ops);
}

static int by_bytes(const void *a, const void *b)
{
    const struct site *x = a, *y = b;
    return (x->bytes < y->bytes) - (x->bytes > y->bytes);
}

int profile_finish(struct trace_profile *p)
{
    struct site_map *m = p->map;
    struct site *all = calloc(m->used ? m->used : 1, sizeof *all);
    size_t n = 0;
    if (all == NULL)
        return -1;
    for (size_t i = 0; i < m->cap; i++)
        if (m->tab[i].name)
            all[n++] = m->tab[i];
    p->nsites = n;
    p->ntop = n < PROFILE_TOP ? n : PROFILE_TOP;
    qsort(all, n, sizeof *all, by_ops);
    memcpy(p->top_ops, all, p->ntop * sizeof *all);
    qsort(all, n, sizeof *all, by_bytes);
    memcpy(p->top_bytes, all, p->ntop * sizeof *all);
    /* Keep the names of the tops, free the rest with the map. */
    for (size_t i = 0; i < p->ntop; i++) {
        p->top_ops[i].name = strdup(p->top_ops[i].name);
        p->top_bytes[i].name = strdup(p->top_bytes[i].name);
    }
    free(all);
    for (size_t i = 0; i < m->cap; i++)
        free(m->tab[i].name);
    free(m->tab);
    free(m);
    p->map = NULL;
    return 0;
}

void profile_free(struct trace_profile *p)
{
    if (p == NULL)
        return;
    if (p->map) {
        for (size_t i = 0; i < p->map->cap; i++)
            free(p->map->tab[i].name);
        free(p->map->tab);
        free(p->map);
    }
    for (size_t i = 0; i < p->ntop; i++) {
        free(p->top_ops[i].name);
        free(p->top_bytes[i].name);
    }
    free(p);
}
