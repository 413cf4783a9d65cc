/*
 * util.h: small helpers shared by every portwing process (allocation that
 * dies on exhaustion, bounded string copies, secret wiping, time).
 */
#ifndef PW_UTIL_H
#define PW_UTIL_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define PW_VERSION_STRING	PACKAGE_VERSION

#ifndef __dead
#define __dead	__attribute__((__noreturn__))
#endif
#define nitems(a)	(sizeof(a) / sizeof((a)[0]))

void	*xmalloc(size_t);
void	*xcalloc(size_t, size_t);
void	*xreallocarray(void *, size_t, size_t);
char	*xstrdup(const char *);
char	*xstrndup(const char *, size_t);
int	 xasprintf(char **, const char *, ...)
	    __attribute__((__format__(printf, 2, 3)));
void	 freezero(void *, size_t);
void	 freezero_str(char *);
void	*pw_wipe_malloc(size_t);
void	 pw_wipe_free(void *);
void	*pw_wipe_realloc(void *, size_t);
size_t	 pw_strlcpy(char *, const char *, size_t);
size_t	 pw_strlcat(char *, const char *, size_t);
char	*pw_trim(char *);
int	 pw_strtonum(const char *, long long, long long, long long *);
int	 pw_parse_bool(const char *, int *);
int	 pw_ct_equal(const void *, const void *, size_t);
int	 pw_hex_encode(const uint8_t *, size_t, char *, size_t);
char	*pw_utf8_mend(const unsigned char *, size_t, size_t *);

uint64_t pw_now_ms(void);		/* CLOCK_MONOTONIC, milliseconds */
uint64_t pw_now_us(void);		/* CLOCK_MONOTONIC, microseconds */
double	 pw_wall_time(void);		/* CLOCK_REALTIME, seconds */
void	 pw_rfc3339(char *, size_t, int);	/* now, UTC; arg: 1 = with ns */

ssize_t	 pw_read_file(const char *, char **, size_t, char *, size_t);
int	 pw_set_nonblock(int);
int	 pw_set_cloexec(int, int);
void	 pw_random_bytes(void *, size_t);
void	 pw_uuid4(char *, size_t);
struct event_base *pw_event_base(void);
struct bufferevent;
struct evbuffer;
void	 pw_bev_tune(struct bufferevent *);
#define PW_BEV_FILL_MAX	(128 * 1024)
#define PW_BEV_LIBEVENT_READ	4096	/* libevent 2.1's EVBUFFER_MAX_READ */
size_t	 pw_bev_fill(struct bufferevent *, size_t);
void	 pw_bev_resume(struct bufferevent *);
void	 pw_bev_read_now(struct bufferevent *, size_t);
size_t	 pw_evbuffer_take(struct evbuffer *, struct evbuffer *, uint64_t);
void	 pw_bev_fastwrite(struct bufferevent *);

#endif
