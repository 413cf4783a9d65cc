/*
 * limiter.c (authd): the failed-attempt limiter and the client address.
 *
 * One table for all workers, keyed by client address (reference 6.7):
 * an address with 10 failures in a 60-second window (fixed, starting at
 * its first failure) is refused with 429 before any credential is looked
 * at; at most 2 verifications per address run at once; enrollment keeps a
 * second counter for malformed attempts.  At most 10,000 addresses are
 * tracked; idle entries whose window ended are dropped every 5 minutes.
 */
#include "pwbuild.h"

#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "authd.h"
#include "log.h"
#include "util.h"

#define LIM_FAILS	10
#define LIM_WINDOW_MS	60000
#define LIM_INFLIGHT	2
#define LIM_MAX		10000
#define LIM_BUCKETS	4099
#define LIM_CLEAN_S	300

struct lim {
	struct lim	*next;
	char		 ip[64];
	int		 fails;
	uint64_t	 start;
	int		 abuse;
	uint64_t	 abuse_start;
	int		 inflight;
};

static struct lim	*lim_tab[LIM_BUCKETS];
static int		 lim_count;
static struct event	*lim_timer;

static size_t
lim_hash(const char *ip)
{
	uint32_t	h = 2166136261u;

	for (; *ip; ip++)
		h = (h ^ (uint8_t)*ip) * 16777619u;
	return h % LIM_BUCKETS;
}

/* Find (and with create, make) the entry; NULL when untracked. */
static struct lim *
lim_get(const char *ip, int create)
{
	struct lim	*l;
	size_t		 b = lim_hash(ip);

	for (l = lim_tab[b]; l != NULL; l = l->next)
		if (strcmp(l->ip, ip) == 0)
			return l;
	if (!create || lim_count >= LIM_MAX)
		return NULL;
	l = xcalloc(1, sizeof(*l));
	pw_strlcpy(l->ip, ip, sizeof(l->ip));
	l->next = lim_tab[b];
	lim_tab[b] = l;
	lim_count++;
	return l;
}

static void
lim_window(struct lim *l, uint64_t now)
{
	if (l->fails && now - l->start > LIM_WINDOW_MS)
		l->fails = 0;
	if (l->abuse && now - l->abuse_start > LIM_WINDOW_MS)
		l->abuse = 0;
}

int
limiter_blocked(const char *ip)
{
	struct lim	*l = lim_get(ip, 0);

	if (l == NULL)
		return 0;
	lim_window(l, pw_now_ms());
	return l->fails >= LIM_FAILS;
}

int
limiter_abuse_blocked(const char *ip)
{
	struct lim	*l = lim_get(ip, 0);

	if (l == NULL)
		return 0;
	lim_window(l, pw_now_ms());
	return l->fails >= LIM_FAILS || l->abuse >= LIM_FAILS;
}

void
limiter_fail(const char *ip)
{
	struct lim	*l = lim_get(ip, 1);
	uint64_t	 now = pw_now_ms();

	if (l == NULL)
		return;
	lim_window(l, now);
	if (l->fails++ == 0)
		l->start = now;
}

void
limiter_abuse(const char *ip)
{
	struct lim	*l = lim_get(ip, 1);
	uint64_t	 now = pw_now_ms();

	if (l == NULL)
		return;
	lim_window(l, now);
	if (l->abuse++ == 0)
		l->abuse_start = now;
}

/* A verification slot for ip; 0 when it already has LIM_INFLIGHT. */
int
limiter_acquire(const char *ip)
{
	struct lim	*l = lim_get(ip, 1);

	if (l == NULL)
		return 1;		/* untracked: never throttled */
	if (l->inflight >= LIM_INFLIGHT)
		return 0;
	l->inflight++;
	return 1;
}

void
limiter_release(const char *ip)
{
	struct lim	*l = lim_get(ip, 0);

	if (l != NULL && l->inflight > 0)
		l->inflight--;
}

static void
limiter_clean(evutil_socket_t fd, short ev, void *arg)
{
	struct lim	**pp, *l;
	uint64_t	 now = pw_now_ms();
	size_t		 b;

	for (b = 0; b < LIM_BUCKETS; b++) {
		for (pp = &lim_tab[b]; (l = *pp) != NULL; ) {
			lim_window(l, now);
			if (l->inflight == 0 && l->fails == 0 && l->abuse == 0) {
				*pp = l->next;
				free(l);
				lim_count--;
			} else
				pp = &l->next;
		}
	}
}

void
limiter_init(struct event_base *base)
{
	struct timeval	tv = { LIM_CLEAN_S, 0 };

	lim_timer = event_new(base, -1, EV_PERSIST, limiter_clean, NULL);
	event_add(lim_timer, &tv);
}

/*
 * The client's address: the TCP peer, unless the peer is a trusted proxy;
 * then the right-most X-Forwarded-For hop that is an address and not
 * trusted, else X-Real-IP if it is such an address, else the peer.
 */
void
client_address(const char *peer, const char *xff, const char *xri,
    const struct cidr *trusted, int ntrusted, char *out, size_t outsz)
{
	char	*copy, *hop;
	int	 fam;
	uint8_t	 a[16];

	pw_strlcpy(out, peer, outsz);
	if (ntrusted == 0 || !cidr_match(trusted, ntrusted, peer))
		return;
	copy = xstrdup(xff);
	while (*copy != '\0') {
		char *comma = strrchr(copy, ',');
		hop = pw_trim(comma ? comma + 1 : copy);
		if (cidr_addr(hop, &fam, a) == 0 &&
		    !cidr_match(trusted, ntrusted, hop)) {
			pw_strlcpy(out, hop, outsz);
			free(copy);
			return;
		}
		if (comma == NULL)
			break;
		*comma = '\0';
	}
	free(copy);
	copy = xstrdup(xri);
	hop = pw_trim(copy);
	if (cidr_addr(hop, &fam, a) == 0 && !cidr_match(trusted, ntrusted, hop))
		pw_strlcpy(out, hop, outsz);
	free(copy);
}
