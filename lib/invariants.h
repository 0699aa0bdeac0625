/*
 * invariants.h - the engine's invariant checker (invariants.c), for the
 * library's own tests and debug builds; not part of the installed API.
 */
#ifndef CYMEM_INVARIANTS_H
#define CYMEM_INVARIANTS_H

#include <cymem.h>

/*
 * cymem__pool_check - walk @pool and its child pools and verify every
 * invariant of doc/design.md.
 *
 * Returns 0 when all hold; otherwise prints each broken one (at most ten)
 * on stderr and returns -1.  No other thread may use the pool meanwhile.
 * The cost is O(blocks + slab memory): a test or debug tool, not a hot
 * path.
 */
int cymem__pool_check(const cymem_pool *pool);

#endif /* CYMEM_INVARIANTS_H */
