/*
 * options.h - the CYMEM_* environment, read once (options.c).
 */
#ifndef CYMEM_OPTIONS_H
#define CYMEM_OPTIONS_H

/* Read the environment, once per process; every setting below is 0 until
 * then.  The name is historical: it sets more than the debug mode. */
void cymem__debug_init(void);

/* CYMEM_DEBUG: the debug mode (debug.c) is on; abort on damage found. */
extern int cymem__debug;
extern int cymem__debug_abort;

/* CYMEM_HUGE_PAGES=1: every pool behaves as if made with
 * CYMEM_POOL_HUGE_PAGES. */
extern int cymem__huge_pages;

/* The program runs under valgrind (and CYMEM_VALGRIND is not 0): the
 * client requests of track.h run. */
extern int cymem__valgrind;

/* Set when the debug mode or valgrind is on: the one test the hooks of
 * track.h make on the fast paths. */
extern int cymem__track;

#endif /* CYMEM_OPTIONS_H */
