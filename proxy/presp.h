/*
 * presp.h: response filtering in the proxy (proxy/presp.c): a 2xx answer
 * on a filtered route is held, judged by policyd and then forwarded as
 * policyd said (unchanged, rewritten, hidden or rejected).
 */
#ifndef PW_PRESP_H
#define PW_PRESP_H

#include <stddef.h>
#include <stdint.h>

struct evbuffer;
struct event_base;
struct ipc_msg;
struct pgate_req;
struct presp;

/*
 * The outcome: status (Docker's, or 404, 502, 503), Docker's header
 * lines (owned by the presp), the body to send (status 2xx) or the
 * reason (else).
 */
typedef void (*presp_cb)(void *, int, struct evbuffer *, const char *,
    size_t, const char *);

/* 1 when the answer (status, HEAD request, Content-Length) is held. */
int	 presp_want(const struct pgate_req *, int, int, int, uint64_t);
struct presp *presp_new(struct event_base *, int, struct evbuffer *);
/*
 * Append n bytes of src; -1 once the answer passes 8 MiB (the rest is
 * read and dropped; presp_ask then says -2).
 */
int	 presp_add(struct presp *, struct evbuffer *, size_t);
void	 presp_overflow(struct presp *);
/*
 * Ask policyd; cb later, never from here; -1 when it cannot be asked,
 * -2 when the answer was too large.
 */
int	 presp_ask(struct presp *, const struct pgate_req *, const char *,
	    presp_cb, void *);
int	 presp_asked(const struct presp *);
void	 presp_msg(struct ipc_msg *);
void	 presp_fail_all(const char *);
void	 presp_free(struct presp *);

#endif
