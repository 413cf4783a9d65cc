/*
 * splice.h: move a counted run of bytes from one socket to another through
 * a pipe (splice(2)), so that they never pass through user space.
 *
 * A splicer takes exactly `n' bytes from `from' (never one more: what
 * follows them stays in the socket for its owner) and writes them to `to',
 * driven by its own events on the two descriptors; the caller keeps its
 * bufferevents on them from reading (`from') and writing (`to') meanwhile.
 * It reports once, from the event loop: SPLICE_DONE when all n bytes went
 * out, or why it stopped.  Bytes it took but had not written yet are lost
 * when it is freed early; splicer_taken says how many it took.
 */
#ifndef PW_SPLICE_H
#define PW_SPLICE_H

#include <stdint.h>
#include <event2/event.h>

enum splice_end {
	SPLICE_DONE = 0,	/* all n bytes written to `to' */
	SPLICE_EOF,		/* `from' ended before n bytes */
	SPLICE_RDERR,		/* reading `from' failed (errno in err) */
	SPLICE_WRERR,		/* writing `to' failed (errno in err) */
};

struct splicer;
typedef void (*splice_cb)(struct splicer *, enum splice_end, int err,
    void *arg);

/* NULL (errno set) when no pipe could be made: the caller copies instead. */
struct splicer	*splicer_new(struct event_base *, int from, int to, uint64_t n,
		    splice_cb, void *);
uint64_t	 splicer_taken(const struct splicer *);
void		 splicer_free(struct splicer *);

#endif
