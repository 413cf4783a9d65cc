/*
 * limiter.c (authd): the failed-attempt limiter and the client address.
 *
 * One table for all workers, keyed by client address (reference 6.7):
 * an address with 10 failures in a 60-second window (fixed, starting at
 * its first failure) is refused with 429 before any credential is looked
 * at; at most 2 verifications per address run at once; enrollment keeps a
 * second counter for malformed attempts.  A second, smaller table counts
 * failures per authorized key ID, so a signed request need not be judged
 * by its address alone (authd.c decides how the two combine).
 *
 * Memory is bounded: at most LIM_MAX addresses (LIM_KEYS keys).  A full
 * table makes room by dropping the entry with the fewest failures in its
 * window, the least recently changed among equals, and never one with a
 * verification in flight; an address that reached the limit therefore
 * outlives everyone below it, and a flood of fresh addresses cannot push
 * it out to reset its count.  Failures forgotten that way go to a global
 * budget for the window (LIM_OVERFLOW): once it is spent, addresses the
 * table does not know are refused like a blocked one until the window
 * ends, so rotating through more addresses than the table holds buys no
 * more guesses than a full table allows.  Idle entries whose window ended
 * are dropped every 5 minutes, and at most once a second when full.
 */
#include "pwbuild.h"

#include <sys/random.h>

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
#define LIM_KEYS	4096
#define LIM_OVERFLOW	LIM_MAX
#define LIM_BUCKETS	4099
#define LIM_CLEAN_S	300
#define LIM_SWEEP_MS	1000
#define LIM_WARN_MS	60000
#define LIM_LEVELS	(LIM_FAILS + 1)

struct lim {
	struct lim	*next;		/* hash chain */
	struct lim	*lprev, *lnext;	/* its level's list, oldest first */
	int		 level;		/* min(LIM_FAILS, max(fails, abuse)) */
	char		 name[64];
	int		 fails;
	uint64_t	 start;
	int		 abuse;
	uint64_t	 abuse_start;
	int		 inflight;
};

struct limtab {
	int		 cap;
	int		 count;
	int		 overflow;	/* forgotten failures count globally */
	uint64_t	 swept_ms;
	struct lim	*tab[LIM_BUCKETS];
	struct lim	*head[LIM_LEVELS], *tail[LIM_LEVELS];
};

static struct limtab	lim_addrs = { .cap = LIM_MAX, .overflow = 1 };
static struct limtab	lim_keys = { .cap = LIM_KEYS };
static struct limtab	lim_rate = { .cap = LIM_MAX };	/* requests */
static struct event	*lim_timer;
static uint32_t		 lim_seed;	/* addresses can be chosen: no
					   precomputed bucket collisions */

/* The global budget: failures forgotten in the current window. */
static struct {
	int		fails;
	uint64_t	start;
	uint64_t	warned_ms;
	int		spent_logged;
} lim_over;

static size_t
lim_hash(const char *s)
{
	uint32_t	h = 2166136261u ^ lim_seed;

	for (; *s; s++)
		h = (h ^ (uint8_t)*s) * 16777619u;
	return h % LIM_BUCKETS;
}

static void
lim_unlink(struct limtab *t, struct lim *l)
{
	if (l->lprev != NULL)
		l->lprev->lnext = l->lnext;
	else
		t->head[l->level] = l->lnext;
	if (l->lnext != NULL)
		l->lnext->lprev = l->lprev;
	else
		t->tail[l->level] = l->lprev;
	l->lprev = l->lnext = NULL;
}

/* (Re)file l at the young end of the list for its failure level. */
static void
lim_file(struct limtab *t, struct lim *l)
{
	int	lv = l->fails > l->abuse ? l->fails : l->abuse;

	l->level = lv > LIM_FAILS ? LIM_FAILS : lv;
	l->lprev = t->tail[l->level];
	l->lnext = NULL;
	if (t->tail[l->level] != NULL)
		t->tail[l->level]->lnext = l;
	else
		t->head[l->level] = l;
	t->tail[l->level] = l;
}

static void
lim_touch(struct limtab *t, struct lim *l)
{
	lim_unlink(t, l);
	lim_file(t, l);
}

/* Counters of an ended window start again; 1 when anything changed. */
static int
lim_window(struct lim *l, uint64_t now)
{
	int	changed = 0;

	if (l->fails && now - l->start > LIM_WINDOW_MS) {
		l->fails = 0;
		changed = 1;
	}
	if (l->abuse && now - l->abuse_start > LIM_WINDOW_MS) {
		l->abuse = 0;
		changed = 1;
	}
	return changed;
}

static void
lim_remove(struct limtab *t, struct lim *l)
{
	struct lim	**pp = &t->tab[lim_hash(l->name)];

	while (*pp != NULL && *pp != l)
		pp = &(*pp)->next;
	if (*pp != NULL)
		*pp = l->next;
	lim_unlink(t, l);
	free(l);
	t->count--;
}

static int
lim_idle(const struct lim *l)
{
	return l->inflight == 0 && l->fails == 0 && l->abuse == 0;
}

static void
lim_sweep(struct limtab *t, uint64_t now)
{
	struct lim	*l, *next;
	size_t		 b;

	t->swept_ms = now;
	for (b = 0; b < LIM_BUCKETS; b++)
		for (l = t->tab[b]; l != NULL; l = next) {
			next = l->next;
			if (lim_window(l, now))
				lim_touch(t, l);
			if (lim_idle(l))
				lim_remove(t, l);
		}
}

static void
over_window(uint64_t now)
{
	if (lim_over.fails && now - lim_over.start > LIM_WINDOW_MS) {
		lim_over.fails = 0;
		lim_over.spent_logged = 0;
	}
}

static int
over_spent(uint64_t now)
{
	over_window(now);
	return lim_over.fails >= LIM_OVERFLOW;
}

/* Failures the table could not keep: they count against everyone new. */
static void
over_add(int n, uint64_t now)
{
	over_window(now);
	if (lim_over.fails == 0)
		lim_over.start = now;
	lim_over.fails += n;
	if (lim_over.warned_ms == 0 || now - lim_over.warned_ms >= LIM_WARN_MS) {
		lim_over.warned_ms = now;
		log_warnx("failed-attempt limiter: %d addresses tracked and "
		    "more failing; forgetting the least active (%d failure(s) "
		    "forgotten in this window)", LIM_MAX, lim_over.fails);
	}
	if (lim_over.fails >= LIM_OVERFLOW && !lim_over.spent_logged) {
		lim_over.spent_logged = 1;
		log_warnx("failed-attempt limiter: %d failures forgotten "
		    "within a minute; addresses not already tracked get 429 "
		    "until the window ends", lim_over.fails);
	}
}

/*
 * Room for one more entry: expired ones first (a sweep at most once a
 * second), else the entry with the fewest failures, oldest first, that
 * has no verification in flight.  -1 when every entry is busy.
 */
static int
lim_evict(struct limtab *t, uint64_t now)
{
	struct lim	*l;
	int		 lv;

	if (now - t->swept_ms >= LIM_SWEEP_MS)
		lim_sweep(t, now);
	if (t->count < t->cap)
		return 0;
	for (lv = 0; lv < LIM_LEVELS; lv++)
		for (l = t->head[lv]; l != NULL; l = l->lnext) {
			if (l->inflight > 0)
				continue;
			lim_window(l, now);
			if (t->overflow && l->fails > 0)
				over_add(l->fails, now);
			lim_remove(t, l);
			return 0;
		}
	return -1;
}

/* Find (and with create, make) the entry; NULL when there is no room. */
static struct lim *
lim_get(struct limtab *t, const char *name, int create)
{
	struct lim	*l;
	size_t		 b = lim_hash(name);
	uint64_t	 now = pw_now_ms();

	for (l = t->tab[b]; l != NULL; l = l->next)
		if (strcmp(l->name, name) == 0) {
			if (lim_window(l, now))
				lim_touch(t, l);
			return l;
		}
	if (!create || (t->count >= t->cap && lim_evict(t, now) == -1))
		return NULL;
	l = xcalloc(1, sizeof(*l));
	pw_strlcpy(l->name, name, sizeof(l->name));
	l->next = t->tab[b];
	t->tab[b] = l;
	lim_file(t, l);
	t->count++;
	return l;
}

static void
lim_fail(struct limtab *t, const char *name, int abuse)
{
	struct lim	*l = lim_get(t, name, 1);
	uint64_t	 now = pw_now_ms();

	if (l == NULL) {
		/* No room at all: the failure still counts, globally. */
		if (t->overflow)
			over_add(1, now);
		return;
	}
	if (abuse) {
		if (l->abuse++ == 0)
			l->abuse_start = now;
	} else if (l->fails++ == 0)
		l->start = now;
	lim_touch(t, l);
}

/*
 * LIM_ADDRESS when the address used up its failures, LIM_GLOBAL when the
 * table does not know it and the global budget is spent, else 0.
 */
int
limiter_blocked(const char *ip)
{
	struct lim	*l = lim_get(&lim_addrs, ip, 0);

	if (l == NULL)
		return over_spent(pw_now_ms()) ? LIM_GLOBAL : 0;
	return l->fails >= LIM_FAILS ? LIM_ADDRESS : 0;
}

int
limiter_abuse_blocked(const char *ip)
{
	struct lim	*l = lim_get(&lim_addrs, ip, 0);

	if (l == NULL)
		return over_spent(pw_now_ms());
	return l->fails >= LIM_FAILS || l->abuse >= LIM_FAILS;
}

void
limiter_fail(const char *ip)
{
	lim_fail(&lim_addrs, ip, 0);
}

void
limiter_abuse(const char *ip)
{
	lim_fail(&lim_addrs, ip, 1);
}

/* An authorized key ID (only ever a known one: the table stays small). */
int
limiter_key_blocked(const char *keyid)
{
	struct lim	*l = lim_get(&lim_keys, keyid, 0);

	return l != NULL && l->fails >= LIM_FAILS;
}

void
limiter_key_fail(const char *keyid)
{
	lim_fail(&lim_keys, keyid, 0);
}

/*
 * dockeragent's request rate (ADAPTER=dockeragent): 1 when ip already
 * made max requests in its current minute, and this one is refused;
 * else it is counted.  A separate table of the same kind, where the
 * busiest addresses are the last to be forgotten when it is full.
 */
int
limiter_rate(const char *ip, int max)
{
	struct lim	*l = lim_get(&lim_rate, ip, 1);
	uint64_t	 now = pw_now_ms();

	if (l == NULL)
		return 0;
	if (l->fails >= max)
		return 1;
	if (l->fails++ == 0)
		l->start = now;
	lim_touch(&lim_rate, l);
	return 0;
}

/* A verification slot for ip; 0 when it already has LIM_INFLIGHT. */
int
limiter_acquire(const char *ip)
{
	struct lim	*l = lim_get(&lim_addrs, ip, 1);

	if (l == NULL)
		return 0;		/* every entry busy: wait */
	if (l->inflight >= LIM_INFLIGHT)
		return 0;
	l->inflight++;
	return 1;
}

void
limiter_release(const char *ip)
{
	struct lim	*l = lim_get(&lim_addrs, ip, 0);

	if (l == NULL)
		return;
	if (l->inflight > 0)
		l->inflight--;
	if (lim_idle(l))
		lim_remove(&lim_addrs, l);	/* a success leaves nothing */
}

static void
limiter_clean(evutil_socket_t fd, short ev, void *arg)
{
	uint64_t	now = pw_now_ms();

	lim_sweep(&lim_addrs, now);
	lim_sweep(&lim_keys, now);
	lim_sweep(&lim_rate, now);
}

void
limiter_init(struct event_base *base)
{
	struct timeval	tv = { LIM_CLEAN_S, 0 };

	if (getrandom(&lim_seed, sizeof(lim_seed), 0) != sizeof(lim_seed))
		lim_seed = (uint32_t)pw_now_ms();
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
