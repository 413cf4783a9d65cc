/*
 * cli_audit.c: "portwing audit-verify FILE", an offline check of the
 * agent's hash-chained audit log.  Run by an operator, never by the
 * daemon.
 *
 * One record per line, a compact JSON object whose last member is the
 * hash of everything before it:
 *
 *	{"time":...,"event":...,...,"seq":7,["dropped":N,]"prev":P,"hash":H}
 *
 *	H = hex(SHA-256(line bytes up to, not including, ,"hash":"))
 *	P = H of the line before (64 zeros: the chain starts fresh here)
 *	seq = previous seq + 1, or + N + 1 after a declared gap of N
 *
 * A line whose prev is 64 zeros after the first line is a restart: the
 * agent could not continue the chain, so the link and the seq rule are
 * both reset there.  The file is streamed line by line; only the first
 * break is reported, with the 1-based number of the line where it shows:
 * an edited line fails its own hash, a deleted one is noticed by the line
 * after it.
 *
 * Exit status: 0 intact, 1 broken, 2 usage or I/O error.
 */
#include "pwbuild.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "cli.h"
#include "pwcrypto.h"
#include "util.h"

#define AUDIT_LINE_MAX	(1024 * 1024)	/* bytes, without the newline */
#define AUDIT_READ_SZ	(64 * 1024)

#define HASH_INTRO	",\"hash\":\""
#define HASH_INTRO_LEN	(sizeof(HASH_INTRO) - 1)
#define HASH_TAIL	"\"}"
#define HASH_TAIL_LEN	(sizeof(HASH_TAIL) - 1)
#define HASH_MEMBER_LEN	(HASH_INTRO_LEN + PWC_SHA256_HEX_LEN + HASH_TAIL_LEN)

static const char zero_hash[PWC_SHA256_HEX_LEN + 1] =
    "0000000000000000000000000000000000000000000000000000000000000000";

/* ---- reading lines ---- */

enum rl_result {
	RL_LINE,		/* a complete line, newline stripped */
	RL_EOF,			/* nothing left */
	RL_TRUNCATED,		/* bytes at the end with no newline */
	RL_TOOLONG,		/* more than AUDIT_LINE_MAX bytes */
	RL_ERROR,		/* read(2) failed; errno is set */
};

struct reader {
	int	 fd;
	int	 eof;
	char	 buf[AUDIT_READ_SZ];
	size_t	 off, len;
	char	*line;
	size_t	 linelen, linecap;
};

static enum rl_result
read_line(struct reader *r)
{
	const char	*nl;
	ssize_t		 n;
	size_t		 take, cap;

	r->linelen = 0;
	for (;;) {
		if (r->off == r->len) {
			if (r->eof)
				return r->linelen > 0 ? RL_TRUNCATED : RL_EOF;
			n = read(r->fd, r->buf, sizeof(r->buf));
			if (n == -1) {
				if (errno == EINTR)
					continue;
				return RL_ERROR;
			}
			if (n == 0)
				r->eof = 1;
			r->off = 0;
			r->len = (size_t)n;
			continue;
		}
		nl = memchr(r->buf + r->off, '\n', r->len - r->off);
		take = nl != NULL ? (size_t)(nl - (r->buf + r->off)) :
		    r->len - r->off;
		if (take > AUDIT_LINE_MAX - r->linelen)
			return RL_TOOLONG;
		if (r->linelen + take + 1 > r->linecap) {
			cap = r->linecap > 0 ? r->linecap : 4096;
			while (cap < r->linelen + take + 1)
				cap *= 2;
			if (cap > AUDIT_LINE_MAX + 1)
				cap = AUDIT_LINE_MAX + 1;
			r->line = xreallocarray(r->line, cap, 1);
			r->linecap = cap;
		}
		memcpy(r->line + r->linelen, r->buf + r->off, take);
		r->linelen += take;
		r->line[r->linelen] = '\0';
		r->off += take;
		if (nl != NULL) {
			r->off++;
			return RL_LINE;
		}
	}
}

/* ---- checking one record ---- */

/* What the summary reports after the fact, in line order. */
struct audit_note {
	unsigned long long	 lineno;
	long long		 seq;
	long long		 dropped;	/* 0: a restart */
};

struct audit_state {
	const char		*name;
	unsigned long long	 lineno;	/* of the line being checked */
	unsigned long long	 records;
	long long		 first_seq, last_seq;
	char			 last_hash[PWC_SHA256_HEX_LEN + 1];
	char			 first_prev[PWC_SHA256_HEX_LEN + 1];
	struct audit_note	*notes;
	size_t			 nnotes;
};

static void
add_note(struct audit_state *st, long long seq, long long dropped)
{
	struct audit_note	*n;

	st->notes = xreallocarray(st->notes, st->nnotes + 1,
	    sizeof(*st->notes));
	n = &st->notes[st->nnotes++];
	n->lineno = st->lineno;
	n->seq = seq;
	n->dropped = dropped;
}

/* "FILE:LINE: chain broken: <reason>" on stdout; returns 1 (the status). */
static int
broken(const struct audit_state *st, const char *fmt, ...)
    __attribute__((__format__(printf, 2, 3)));

static int
broken(const struct audit_state *st, const char *fmt, ...)
{
	va_list	ap;

	printf("%s:%llu: chain broken: ", st->name, st->lineno);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	return 1;
}

static int
is_lower_hex(const char *s, size_t n)
{
	size_t	i;

	for (i = 0; i < n; i++)
		if (!((s[i] >= '0' && s[i] <= '9') ||
		    (s[i] >= 'a' && s[i] <= 'f')))
			return 0;
	return 1;
}

/* A member that must be a 64-character lower-case hex string. */
static const char *
hash_member(json_t *obj, const char *key)
{
	json_t		*v;
	const char	*s;

	if ((v = json_object_get(obj, key)) == NULL || !json_is_string(v))
		return NULL;
	s = json_string_value(v);
	if (json_string_length(v) != PWC_SHA256_HEX_LEN ||
	    !is_lower_hex(s, PWC_SHA256_HEX_LEN))
		return NULL;
	return s;
}

/* A member that must be an integer >= 1; 0 if absent, -1 if malformed. */
static int
count_member(json_t *obj, const char *key, long long *out)
{
	json_t	*v;

	if ((v = json_object_get(obj, key)) == NULL)
		return 0;
	if (!json_is_integer(v) || json_integer_value(v) < 1)
		return -1;
	*out = (long long)json_integer_value(v);
	return 1;
}

/*
 * Check the line st->lineno against the chain so far and take it in.
 * Returns 0 or, after printing why, 1.
 */
static int
check_record(struct audit_state *st, const char *line, size_t len)
{
	json_t		*obj;
	json_error_t	 jerr;
	const char	*claimed, *hash, *prev;
	char		 computed[PWC_SHA256_HEX_LEN + 1];
	long long	 seq, dropped = 0;
	size_t		 body;
	int		 rc;

	if (len == 0)
		return broken(st, "empty line");
	obj = json_loadb(line, len, JSON_REJECT_DUPLICATES, &jerr);
	if (obj == NULL)
		return broken(st, "not a JSON object: invalid JSON at "
		    "byte %d: %s", jerr.position, jerr.text);
	if (!json_is_object(obj)) {
		json_decref(obj);
		return broken(st, "not a JSON object");
	}

	/*
	 * The hash member is found by its bytes, as the writer put them.
	 * In a valid JSON text these unescaped quotes can only be a key
	 * "hash" and its string value closing the top-level object, so it
	 * is the last member; the parsed value must agree all the same.
	 */
	rc = 1;
	if (len < HASH_MEMBER_LEN || memcmp(line + len - HASH_MEMBER_LEN,
	    HASH_INTRO, HASH_INTRO_LEN) != 0 ||
	    memcmp(line + len - HASH_TAIL_LEN, HASH_TAIL, HASH_TAIL_LEN) != 0 ||
	    !is_lower_hex(line + len - HASH_TAIL_LEN - PWC_SHA256_HEX_LEN,
	    PWC_SHA256_HEX_LEN) || (hash = hash_member(obj, "hash")) == NULL ||
	    memcmp(hash, line + len - HASH_TAIL_LEN - PWC_SHA256_HEX_LEN,
	    PWC_SHA256_HEX_LEN) != 0) {
		if (line[len - 1] == '\r')
			broken(st, "line ends with a carriage return "
			    "(CRLF line endings?)");
		else
			broken(st, "missing or malformed \"hash\" (the last "
			    "member must be \"hash\", 64 lower-case hex "
			    "digits)");
		goto out;
	}
	claimed = line + len - HASH_TAIL_LEN - PWC_SHA256_HEX_LEN;
	body = len - HASH_MEMBER_LEN;
	pwc_sha256_hex(line, body, computed);
	if (memcmp(computed, claimed, PWC_SHA256_HEX_LEN) != 0) {
		broken(st, "hash does not match the line's content (edited?)");
		goto out;
	}

	if ((prev = hash_member(obj, "prev")) == NULL) {
		broken(st, "missing or malformed \"prev\" (64 lower-case hex "
		    "digits)");
		goto out;
	}
	if (count_member(obj, "seq", &seq) != 1) {
		broken(st, "missing or malformed \"seq\" (an integer >= 1)");
		goto out;
	}
	if (count_member(obj, "dropped", &dropped) == -1) {
		broken(st, "malformed \"dropped\" (an integer >= 1)");
		goto out;
	}

	if (st->records == 0) {
		/* Whatever came before is not in this file. */
		memcpy(st->first_prev, prev, sizeof(st->first_prev));
		st->first_seq = seq;
	} else if (strcmp(prev, zero_hash) == 0) {
		add_note(st, seq, 0);
	} else {
		/* seq >= 1 and dropped >= 0: neither side overflows. */
		if (dropped > 0 && seq - 1 - dropped != st->last_seq) {
			broken(st, "seq %lld does not match the declared gap "
			    "(seq %lld + %lld dropped + 1)", seq,
			    st->last_seq, dropped);
			goto out;
		}
		if (dropped == 0 && seq - 1 != st->last_seq) {
			if (seq > st->last_seq)
				broken(st, "seq %lld follows %lld without a "
				    "declared gap (a record deleted?)", seq,
				    st->last_seq);
			else
				broken(st, "seq %lld follows %lld (records "
				    "reordered or repeated?)", seq,
				    st->last_seq);
			goto out;
		}
		if (strcmp(prev, st->last_hash) != 0) {
			broken(st, "prev does not match the hash of line %llu",
			    st->lineno - 1);
			goto out;
		}
	}
	if (dropped > 0)
		add_note(st, seq, dropped);

	memcpy(st->last_hash, claimed, PWC_SHA256_HEX_LEN);
	st->last_hash[PWC_SHA256_HEX_LEN] = '\0';
	st->last_seq = seq;
	st->records++;
	rc = 0;
out:
	json_decref(obj);
	return rc;
}

/* ---- the command ---- */

static void
audit_usage(FILE *fp)
{
	fprintf(fp, "usage: portwing audit-verify file\n");
}

static void
print_summary(const struct audit_state *st)
{
	size_t	i, restarts = 0;

	for (i = 0; i < st->nnotes; i++)
		if (st->notes[i].dropped == 0)
			restarts++;
	if (st->records == 0)
		printf("%s: 0 records, nothing to verify\n", st->name);
	else if (st->records == 1)
		printf("%s: 1 record, seq %lld, chain intact; last hash %s\n",
		    st->name, st->last_seq, st->last_hash);
	else if (restarts == 0)
		printf("%s: %llu records, seq %lld..%lld, chain intact; last "
		    "hash %s\n", st->name, st->records, st->first_seq,
		    st->last_seq, st->last_hash);
	else
		printf("%s: %llu records, seq %lld..%lld (%zu restart%s), "
		    "chain intact; last hash %s\n", st->name, st->records,
		    st->first_seq, st->last_seq, restarts,
		    restarts == 1 ? "" : "s", st->last_hash);
	if (st->records > 0 && strcmp(st->first_prev, zero_hash) != 0)
		printf("%s:1: chain continues from prev %s (earlier records "
		    "are not in this file)\n", st->name, st->first_prev);
	for (i = 0; i < st->nnotes; i++) {
		if (st->notes[i].dropped > 0)
			printf("%s:%llu: declared gap: %lld record(s) dropped "
			    "before seq %lld\n", st->name,
			    st->notes[i].lineno, st->notes[i].dropped,
			    st->notes[i].seq);
		else
			printf("%s:%llu: chain restarts at seq %lld\n",
			    st->name, st->notes[i].lineno, st->notes[i].seq);
	}
}

int
cli_audit_verify(int argc, char **argv)
{
	static const struct cli_opt	 opts[] = { { NULL, 0, NULL } };
	struct reader			*r;
	struct audit_state		 st;
	const char			*path;
	int				 next, rc, status = 2;

	switch (cli_parse_opts("audit-verify", argc, argv, opts, &next)) {
	case 1:
		audit_usage(stdout);
		return 0;
	case -1:
		audit_usage(stderr);
		return 2;
	}
	if (argc - next != 1) {
		audit_usage(stderr);
		return 2;
	}
	path = argv[next];

	r = xcalloc(1, sizeof(*r));
	memset(&st, 0, sizeof(st));
	if (strcmp(path, "-") == 0) {
		r->fd = STDIN_FILENO;
		st.name = "(stdin)";
	} else {
		st.name = path;
		if ((r->fd = open(path, O_RDONLY | O_CLOEXEC)) == -1) {
			fprintf(stderr, "portwing audit-verify: %s: %s\n",
			    path, strerror(errno));
			goto done;
		}
	}

	for (;;) {
		st.lineno++;
		switch (read_line(r)) {
		case RL_LINE:
			rc = check_record(&st, r->line, r->linelen);
			break;
		case RL_EOF:
			print_summary(&st);
			status = 0;
			goto done;
		case RL_TRUNCATED:
			rc = broken(&st, "truncated last line (no newline)");
			break;
		case RL_TOOLONG:
			rc = broken(&st, "line longer than %d bytes",
			    AUDIT_LINE_MAX);
			break;
		case RL_ERROR:
		default:
			fprintf(stderr, "portwing audit-verify: %s: %s\n",
			    st.name, strerror(errno));
			goto done;
		}
		if (rc != 0) {
			status = 1;
			goto done;
		}
	}
done:
	if (r->fd > STDIN_FILENO)
		close(r->fd);
	free(r->line);
	free(r);
	free(st.notes);
	if (fflush(stdout) == EOF || ferror(stdout)) {
		fprintf(stderr, "portwing audit-verify: stdout: %s\n",
		    strerror(errno));
		return 2;
	}
	return status;
}
