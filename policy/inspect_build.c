/*
 * inspect_build.c: POST /build (policy reference §5.1, §5.9), run in the
 * policy process only.  The query is judged first (networkmode=host, a
 * remote context); then, while RUN is restricted, the build context is
 * read as a stream: gzip is inflated with zlib, the tar is walked header
 * by header the way Go's archive/tar (Docker's reader) walks it, the
 * Dockerfile the query names is kept (at most 1 MiB), and once the
 * archive ends the Dockerfile is parsed for RUN, ONBUILD RUN and a
 * "# syntax=" frontend.  Nothing but the Dockerfile is held: the caller
 * feeds the body in chunks (policyd reads the spooled memfd with pread).
 *
 * Limits: 512 MiB on the wire (pol_inspector_cap), 1 GiB once inflated
 * (a gzip bomb is refused, even when the excess comes after the end of
 * the archive), 1 MiB of Dockerfile.
 *
 * Stricter than sockguard, on purpose: an entry at the Dockerfile's path
 * that is not a regular file (a symlink or hard link Docker would
 * follow, a directory), or a symlink or hard link on a directory of
 * that path, is refused; a context compressed with bzip2, xz or zstd,
 * or that is not a tar archive, is refused (it cannot be inspected);
 * the default Dockerfile falls back to "dockerfile" as Docker does, and
 * that file is judged too.
 */
#include "pwbuild.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <zlib.h>

#include "inspect.h"
#include "inspect_int.h"
#include "util.h"

#define KIB		1024ULL
#define MIB		(1024ULL * KIB)
#define BUILD_INFLATED_MAX	(1024ULL * MIB)
#define BUILD_DOCKERFILE_MAX	(1 * MIB)
#define PLUGIN_CONFIG_MAX	(64 * KIB)
#define BUILD_NAME_MAX	4096		/* a path from a GNU or PAX header */
#define BUILD_PAX_MAX	(64 * KIB)	/* one PAX extended header */
#define BLK		512
#define ZOUT		(256 * 1024)	/* inflated per call */

enum bmode { BM_DETECT, BM_PLAIN, BM_GZIP };
enum tstate { TS_HEADER, TS_DATA, TS_LONGNAME, TS_PAX, TS_END };

struct pol_build {
	const struct pol_body	*b;
	struct pol_verdict	*v;
	int			 plugin;	/* plugin create, not build */
	const char		*label;		/* "Dockerfile", "config.json" */
	size_t			 fmax;		/* the judged file's cap */
	int			 done;		/* verdict reached */
	enum bmode		 mode;
	uint8_t			 magic[6];	/* first bytes, for detection */
	size_t			 nmagic;
	z_stream		 z;
	uint8_t			*zout;		/* ZOUT bytes */
	int			 zinit;
	int			 zend;		/* a gzip member ended */
	int			 ztail;		/* past the last member: ignored */
	uint64_t		 inflated;
	/* tar */
	enum tstate		 ts;
	uint8_t			 blk[BLK];
	size_t			 nblk;
	int			 zero1;		/* one zero block seen */
	uint64_t		 left;		/* data bytes of the entry */
	uint64_t		 pad;		/* padding after it */
	int			 keep;		/* 1 want, 2 lower-case fallback */
	char			*gnuname;	/* GNU 'L': the next entry's name */
	char			*paxpath;	/* PAX path= for the next entry */
	int64_t			 paxsize;	/* PAX size=, -1 when absent */
	char			*meta;		/* 'L' or 'x' data being read */
	size_t			 nmeta;
	/* the Dockerfile */
	char			 want[BUILD_NAME_MAX];
	int			 deflt;		/* the default name was asked */
	char			*df[2];		/* want, "dockerfile" */
	size_t			 ndf[2];
	int			 seen[2];
};

/* ---- verdicts ---- */

static int
bdeny(struct pol_build *p, int status, const char *reason)
{
	if (!p->done) {
		p->v->status = status;
		snprintf(p->v->reason, sizeof(p->v->reason), "%s: %s",
		    p->plugin ? "plugin create" : "build", reason);
	}
	p->done = 1;
	return -1;
}

static int
bdenyv(struct pol_build *p, const char *pre, const char *val,
    const char *post)
{
	char	safe[96], r[200];
	size_t	i;

	for (i = 0; val[i] != '\0' && i < sizeof(safe) - 4; i++)
		safe[i] = isprint((unsigned char)val[i]) ? val[i] : '?';
	safe[i] = '\0';
	if (val[i] != '\0')
		pw_strlcat(safe, "...", sizeof(safe));
	snprintf(r, sizeof(r), "%s%s%s", pre, safe, post);
	return bdeny(p, 403, r);
}

/* ---- names ---- */

/*
 * A context path as Docker's Dockerfile lookup sees it: blanks trimmed,
 * a leading '/' dropped, cleaned like Go's path.Clean; "" and "." are
 * the default.  -1 when too long.
 */
static int
build_norm(const char *in, size_t n, char *out, size_t outsz)
{
	char	tmp[BUILD_NAME_MAX + 2], clean[BUILD_NAME_MAX + 4];

	while (n > 0 && isspace((unsigned char)*in)) {
		in++;
		n--;
	}
	while (n > 0 && isspace((unsigned char)in[n - 1]))
		n--;
	if (n + 2 > sizeof(tmp))
		return -1;
	tmp[0] = '/';
	memcpy(tmp + 1, in, n);
	tmp[n + 1] = '\0';
	if (pol_path_clean(tmp, clean, sizeof(clean)) == -1)
		return -1;
	if (strcmp(clean, "/") == 0)
		pw_strlcpy(out, "Dockerfile", outsz);
	else if (pw_strlcpy(out, clean + 1, outsz) >= outsz)
		return -1;
	return 0;
}

/* ---- the Dockerfile ---- */

static int
dir_is(const char *s, size_t n, const char *word)
{
	return n == strlen(word) && strncasecmp(s, word, n) == 0;
}

/* The first word of s (upper-cased into w), and where the rest starts. */
static const char *
first_word(const char *s, char *w, size_t wsz)
{
	size_t	i = 0;

	while (*s == ' ' || *s == '\t')
		s++;
	while (*s != '\0' && !isspace((unsigned char)*s) && *s != '[') {
		if (i + 1 < wsz)
			w[i++] = (char)toupper((unsigned char)*s);
		s++;
	}
	w[i] = '\0';
	return s;
}

static int
line_runs(const char *l)
{
	char	w[16];

	l = first_word(l, w, sizeof(w));
	if (strcmp(w, "RUN") == 0)
		return 1;
	if (strcmp(w, "ONBUILD") != 0)
		return 0;
	(void)first_word(l, w, sizeof(w));
	return strcmp(w, "RUN") == 0;
}

/*
 * A "# syntax=" parser directive (name case-insensitive, blanks around
 * it): looked for on every comment line, not only at the top, so a
 * reader that takes directives more loosely than BuildKit is covered.
 */
static int
syntax_line(const char *l, const char *le)
{
	const char	*name;
	size_t		 nn;

	if (l >= le || *l != '#')
		return 0;
	for (name = l + 1; name < le && isspace((unsigned char)*name); name++)
		;
	for (nn = 0; name + nn < le && isalnum((unsigned char)name[nn]); nn++)
		;
	if (!dir_is(name, nn, "syntax"))
		return 0;
	for (name += nn; name < le && isspace((unsigned char)*name); name++)
		;
	return name < le && *name == '=';
}

/*
 * Walk a Dockerfile as BuildKit's parser (Docker's) does with escape
 * character esc: comments and empty continuation lines skipped, logical
 * lines joined where a line ends with esc.  Each logical line is judged
 * twice, keeping and dropping the leading blanks of its continuation
 * lines, so a keyword split across lines is caught however a reader
 * joins it.  1 when a RUN (or ONBUILD RUN) is found.
 */
static int
df_walk(const char *s, const char *end, int esc, char *keep, char *strip)
{
	const char	*e, *l, *le;
	size_t		 nk = 0, ns = 0, n, lead;
	int		 cont = 0;

	for (; s < end; s = e < end ? e + 1 : end) {
		if ((e = memchr(s, '\n', (size_t)(end - s))) == NULL)
			e = end;
		le = e;
		if (le > s && le[-1] == '\r')
			le--;
		for (l = s; l < le && (*l == ' ' || *l == '\t'); l++)
			;
		if (l == le || *l == '#')
			continue;	/* empty, or a comment */
		for (n = (size_t)(le - s); n > 0 &&
		    isspace((unsigned char)s[n - 1]); n--)
			;
		cont = n > 0 && s[n - 1] == esc;
		if (cont)
			n--;
		lead = (size_t)(l - s) < n ? (size_t)(l - s) : n;
		if (nk == 0) {
			memcpy(keep, s + lead, n - lead);
			nk = n - lead;
		} else {
			memcpy(keep + nk, s, n);
			nk += n;
		}
		memcpy(strip + ns, s + lead, n - lead);
		ns += n - lead;
		if (cont)
			continue;
		keep[nk] = strip[ns] = '\0';
		if (line_runs(keep) || line_runs(strip))
			return 1;
		nk = ns = 0;
	}
	keep[nk] = strip[ns] = '\0';
	return nk > 0 && (line_runs(keep) || line_runs(strip));
}

/*
 * 0 when no RUN can run from this Dockerfile, else the verdict is set.
 * It is walked with both escape characters, whatever its "# escape="
 * says, so no reading of the directive lets a split keyword through.
 */
int
pol_dockerfile_check(const char *df, size_t len, struct pol_verdict *v)
{
	struct pol_build	 p;
	const char		*s = df, *end = df + len, *e, *l, *le;
	char			*keep, *strip;
	int			 run;

	memset(&p, 0, sizeof(p));
	p.v = v;
	if (len >= 3 && memcmp(s, "\xef\xbb\xbf", 3) == 0)
		s += 3;
	if (memchr(s, '\0', (size_t)(end - s)) != NULL)
		return bdeny(&p, 403, "the Dockerfile holds a NUL byte");
	for (l = s; l < end; l = e < end ? e + 1 : end) {
		if ((e = memchr(l, '\n', (size_t)(end - l))) == NULL)
			e = end;
		le = e;
		while (l < le && (*l == ' ' || *l == '\t'))
			l++;
		if (syntax_line(l, le))
			return bdeny(&p, 403, "a \"# syntax=\" frontend cannot "
			    "be inspected while RUN is restricted");
	}
	keep = xmalloc(len + 1);
	strip = xmalloc(len + 1);
	run = df_walk(s, end, '\\', keep, strip) ||
	    df_walk(s, end, '`', keep, strip);
	free(keep);
	free(strip);
	if (run)
		return bdeny(&p, 403, "RUN instructions are not allowed "
		    "(allow_run_instructions is off)");
	return 0;
}

/* ---- the query ---- */

static int
query_val(struct pol_build *p, const char *query, const char *key,
    char *out, size_t outsz)
{
	int	r;

	out[0] = '\0';
	if (query == NULL)
		return 0;
	if ((r = pol_query_get(query, key, out, outsz)) == -1)
		return bdeny(p, 403, "malformed query");
	return r;
}

static int
build_query(struct pol_build *p, const char *query)
{
	char	val[BUILD_NAME_MAX], t[BUILD_NAME_MAX];
	size_t	n;

	if (query_val(p, query, "networkmode", val, sizeof(val)) == -1)
		return -1;
	if (!p->b->build_allow_host_network &&
	    build_norm(val, strlen(val), t, sizeof(t)) == 0 &&
	    strcasecmp(t, "host") == 0)
		return bdeny(p, 403, "host network mode is not allowed");
	if (query_val(p, query, "remote", val, sizeof(val)) == -1)
		return -1;
	for (n = strlen(val); n > 0 && isspace((unsigned char)val[n - 1]); n--)
		;
	if (n > 0) {
		if (!p->b->build_allow_remote_context)
			return bdeny(p, 403, "a remote build context is not "
			    "allowed");
		if (!p->b->build_allow_run_instructions)
			return bdeny(p, 403, "a remote build context cannot be "
			    "inspected while RUN is restricted");
	}
	if (query_val(p, query, "dockerfile", val, sizeof(val)) == -1)
		return -1;
	if (build_norm(val, strlen(val), p->want, sizeof(p->want)) == -1)
		return bdeny(p, 403, "the dockerfile parameter is too long");
	p->deflt = strcmp(p->want, "Dockerfile") == 0;
	return 0;
}

/* ---- tar, as Go's archive/tar reads it ---- */

static int
octal(const uint8_t *f, size_t n, uint64_t *out)
{
	size_t	i = 0;
	uint64_t v = 0;

	if (f[0] & 0x80) {		/* base-256 */
		if (f[0] != 0x80)
			return -1;
		for (i = 1; i < n; i++) {
			if (v >> 56)
				return -1;
			v = (v << 8) | f[i];
		}
		*out = v;
		return 0;
	}
	while (i < n && (f[i] == ' ' || f[i] == '\0'))
		i++;
	for (; i < n && f[i] >= '0' && f[i] <= '7'; i++) {
		if (v >> 60)
			return -1;
		v = v * 8 + (uint64_t)(f[i] - '0');
	}
	for (; i < n; i++)
		if (f[i] != ' ' && f[i] != '\0')
			return -1;
	*out = v;
	return 0;
}

static int
checksum_ok(const uint8_t *h)
{
	uint64_t	want;
	long		s = 0, u = 0;
	size_t		i;

	if (octal(h + 148, 8, &want) == -1)
		return 0;
	for (i = 0; i < BLK; i++) {
		int	c = (i >= 148 && i < 156) ? ' ' : h[i];

		u += (unsigned char)c;
		s += (signed char)c;
	}
	return (uint64_t)u == want || (uint64_t)s == want;
}

/*
 * The name of an entry as Go reads it: a GNU long name wins over a PAX
 * path, which wins over the header; USTAR (and STAR, with its shorter
 * prefix) join the prefix field; GNU and V7 headers have none.
 */
static int
entry_name(struct pol_build *p, const uint8_t *h, char *out, size_t outsz)
{
	char	name[101], prefix[156];
	size_t	plen = 155;

	if (p->gnuname != NULL || p->paxpath != NULL)
		return pw_strlcpy(out, p->gnuname != NULL ? p->gnuname :
		    p->paxpath, outsz) < outsz ? 0 : -1;
	memcpy(name, h, 100);
	name[100] = '\0';
	if (memcmp(h + 257, "ustar\0", 6) == 0 && memcmp(h + 263, "00",
	    2) == 0) {
		if (memcmp(h + 508, "tar\0", 4) == 0)
			plen = 131;
		memcpy(prefix, h + 345, plen);
		prefix[plen] = '\0';
		if (prefix[0] != '\0') {
			snprintf(out, outsz, "%s/%s", prefix, name);
			return 0;
		}
	}
	pw_strlcpy(out, name, outsz);
	return 0;
}

/* A PAX record set: path= and size= of the next entry (the last wins). */
static int
pax_records(struct pol_build *p)
{
	const char	*s = p->meta, *end = p->meta + p->nmeta, *sp, *eq;
	unsigned long	 n;
	uint64_t	 sz;
	char		*ep;

	while (s < end) {
		if (!isdigit((unsigned char)*s))
			return -1;
		n = strtoul(s, &ep, 10);
		if (ep >= end || *ep != ' ' || n <= (size_t)(ep - s) + 1 ||
		    n > (size_t)(end - s) || s[n - 1] != '\n')
			return -1;
		sp = ep + 1;
		if ((eq = memchr(sp, '=', (size_t)(s + n - 1 - sp))) == NULL)
			return -1;
		if ((size_t)(eq - sp) == 4 && memcmp(sp, "path", 4) == 0) {
			free(p->paxpath);
			p->paxpath = xmalloc((size_t)(s + n - 1 - eq));
			memcpy(p->paxpath, eq + 1, (size_t)(s + n - 2 - eq));
			p->paxpath[s + n - 2 - eq] = '\0';
		} else if ((size_t)(eq - sp) == 4 &&
		    memcmp(sp, "size", 4) == 0) {
			for (sz = 0, sp = eq + 1; sp < s + n - 1; sp++) {
				if (!isdigit((unsigned char)*sp) || sz >> 58)
					return -1;
				sz = sz * 10 + (uint64_t)(*sp - '0');
			}
			if (sp == eq + 1)
				return -1;
			p->paxsize = (int64_t)sz;
		} else if ((size_t)(eq - sp) > 11 &&
		    memcmp(sp, "GNU.sparse.", 11) == 0)
			return -1;	/* sparse files: not followed */
		s += n;
	}
	return 0;
}

/* Whether name is the Dockerfile (1 or 2) or a directory on its path. */
static int
entry_role(struct pol_build *p, const char *name, int *on_path)
{
	char	norm[BUILD_NAME_MAX];
	size_t	n;

	*on_path = 0;
	if (build_norm(name, strlen(name), norm, sizeof(norm)) == -1)
		return -1;
	if (strcmp(norm, p->want) == 0)
		return 1;
	if (p->deflt && strcmp(norm, "dockerfile") == 0)
		return 2;
	n = strlen(norm);
	if (strncmp(p->want, norm, n) == 0 && p->want[n] == '/')
		*on_path = 1;
	return 0;
}

static int
tar_header(struct pol_build *p)
{
	static const uint8_t	zero[BLK];
	char			name[BUILD_NAME_MAX];
	uint64_t		size;
	int			role, on_path;
	uint8_t			type;

	if (memcmp(p->blk, zero, BLK) == 0) {
		if (p->zero1) {
			p->ts = TS_END;
			return 0;
		}
		p->zero1 = 1;
		return 0;
	}
	if (p->zero1)
		return bdeny(p, 403, "the build context is not a valid tar "
		    "archive");
	if (!checksum_ok(p->blk) || octal(p->blk + 124, 12, &size) == -1)
		return bdeny(p, 403, "the build context is not a tar archive "
		    "(or is compressed in a way that is not inspected)");
	type = p->blk[156];
	if (type == 'L' || type == 'x') {
		if (size > (type == 'L' ? BUILD_NAME_MAX : BUILD_PAX_MAX))
			return bdeny(p, 403, "a tar header is too long");
		free(p->meta);
		p->meta = xmalloc((size_t)size + 1);
		p->nmeta = 0;
		p->left = size;
		p->pad = (BLK - size % BLK) % BLK;
		p->keep = 0;
		p->ts = type == 'L' ? TS_LONGNAME : TS_PAX;
		return 0;
	}
	if (type == 'S')
		return bdeny(p, 403, "a sparse tar entry is not inspected");
	if (type != 'g' && type != 'K' && p->paxsize >= 0)
		size = (uint64_t)p->paxsize;
	/* Go reads no data for links, devices, directories and FIFOs. */
	if (type >= '1' && type <= '6')
		size = 0;
	p->left = size;
	p->pad = (BLK - size % BLK) % BLK;
	p->keep = 0;
	p->ts = TS_DATA;
	if (type == 'g' || type == 'K')
		return 0;	/* skipped; 'K' names a link target */
	if (entry_name(p, p->blk, name, sizeof(name)) == -1)
		return bdeny(p, 403, "a tar entry name is too long");
	/* Go may read an old-style entry named "x/" as a directory. */
	if (type == '\0' && size > 0 && name[0] != '\0' &&
	    name[strlen(name) - 1] == '/')
		return bdeny(p, 403, "an ambiguous tar entry (a file named "
		    "like a directory)");
	free(p->gnuname);
	free(p->paxpath);
	p->gnuname = p->paxpath = NULL;
	p->paxsize = -1;
	if ((role = entry_role(p, name, &on_path)) == -1)
		return bdeny(p, 403, "a tar entry name is too long");
	if (on_path && (type == '1' || type == '2'))
		return bdenyv(p, "a link on the path of the file judged (",
		    name, ") is not inspected");
	if (role > 0) {
		if (type != '0' && type != '\0' && type != '7')
			return bdenyv(p, "the entry ", name, " to judge is not "
			    "a regular file");
		if (p->seen[role - 1])
			return bdenyv(p, "two tar entries name ",
			    role == 1 ? p->want : "dockerfile", "");
		p->seen[role - 1] = 1;
		if (size > p->fmax)
			return bdenyv(p, "", p->label, " is too large to "
			    "inspect");
		p->df[role - 1] = xmalloc((size_t)size + 1);
		p->ndf[role - 1] = 0;
		p->keep = role;
	}
	return 0;
}

/* Tar bytes, in whatever pieces they come. */
static int
tar_feed(struct pol_build *p, const uint8_t *d, size_t n)
{
	size_t	k;

	while (n > 0 && !p->done) {
		switch (p->ts) {
		case TS_END:
			return 0;	/* Docker reads no further. */
		case TS_HEADER:
			k = BLK - p->nblk;
			if (k > n)
				k = n;
			memcpy(p->blk + p->nblk, d, k);
			p->nblk += k;
			d += k;
			n -= k;
			if (p->nblk < BLK)
				break;
			p->nblk = 0;
			if (tar_header(p) == -1)
				return -1;
			if (p->ts == TS_DATA && p->left == 0 && p->pad == 0)
				p->ts = TS_HEADER;
			if ((p->ts == TS_LONGNAME || p->ts == TS_PAX) &&
			    p->left == 0)
				p->ts = TS_HEADER;
			break;
		case TS_DATA:
		case TS_LONGNAME:
		case TS_PAX:
			if (p->left > 0) {
				k = p->left < n ? (size_t)p->left : n;
				if (p->ts != TS_DATA) {
					memcpy(p->meta + p->nmeta, d, k);
					p->nmeta += k;
				} else if (p->keep) {
					memcpy(p->df[p->keep - 1] +
					    p->ndf[p->keep - 1], d, k);
					p->ndf[p->keep - 1] += k;
				}
				p->left -= k;
				d += k;
				n -= k;
				if (p->left > 0)
					break;
				if (p->ts == TS_LONGNAME) {
					p->meta[p->nmeta] = '\0';
					free(p->gnuname);
					p->gnuname = xstrdup(p->meta);
				} else if (p->ts == TS_PAX &&
				    (p->meta[p->nmeta] = '\0',
				    pax_records(p) == -1))
					return bdeny(p, 403, "a PAX header "
					    "is malformed or describes a sparse "
					    "file");
			}
			k = p->pad < n ? (size_t)p->pad : n;
			p->pad -= k;
			d += k;
			n -= k;
			if (p->pad == 0 && p->left == 0)
				p->ts = TS_HEADER;
			break;
		}
	}
	return p->done ? -1 : 0;
}

/* ---- gzip ---- */

static int
gz_feed(struct pol_build *p, const uint8_t *d, size_t n)
{
	uint8_t	*out = p->zout;
	int	 r;

	/* Bytes after the last member are ignored, however they arrive. */
	if (p->ztail)
		return p->done ? -1 : 0;
	p->z.next_in = (Bytef *)(uintptr_t)d;
	p->z.avail_in = (uInt)n;
	while (p->z.avail_in > 0 && !p->done) {
		if (p->zend) {
			/* Another member (Go reads them all), or the end. */
			if (p->z.next_in[0] != 0x1f) {
				p->ztail = 1;
				p->z.avail_in = 0;
				break;
			}
			if (inflateReset(&p->z) != Z_OK)
				return bdeny(p, 403, "the gzip stream cannot "
				    "be read");
			p->zend = 0;
		}
		p->z.next_out = out;
		p->z.avail_out = ZOUT;
		r = inflate(&p->z, Z_NO_FLUSH);
		if (r != Z_OK && r != Z_STREAM_END && r != Z_BUF_ERROR)
			return bdeny(p, 403, "the gzip stream is corrupt");
		p->inflated += ZOUT - p->z.avail_out;
		if (p->inflated > BUILD_INFLATED_MAX)
			return bdeny(p, 403, "the build context inflates to "
			    "more than 1 GiB");
		if (tar_feed(p, out, ZOUT - p->z.avail_out) == -1)
			return -1;
		if (r == Z_STREAM_END)
			p->zend = 1;
		else if (r == Z_BUF_ERROR && p->z.avail_out != 0)
			break;
	}
	return p->done ? -1 : 0;
}

/* ---- entry points ---- */

struct pol_build *
pol_build_begin(const struct pol_body *b, const char *query,
    struct pol_verdict *v)
{
	struct pol_build	*p;

	memset(v, 0, sizeof(*v));
	p = xcalloc(1, sizeof(*p));
	p->b = b;
	p->v = v;
	p->paxsize = -1;
	p->label = "Dockerfile";
	p->fmax = BUILD_DOCKERFILE_MAX;
	if (build_query(p, query) == -1 || b->build_allow_run_instructions) {
		free(p);
		return NULL;	/* judged by the query alone */
	}
	return p;
}

int
pol_build_feed(struct pol_build *p, const uint8_t *d, size_t n)
{
	size_t	k;

	if (p->done)
		return -1;
	if (p->mode == BM_DETECT) {
		k = sizeof(p->magic) - p->nmagic;
		if (k > n)
			k = n;
		memcpy(p->magic + p->nmagic, d, k);
		p->nmagic += k;
		if (p->nmagic < sizeof(p->magic))
			return 0;
		if (p->plugin)
			p->mode = BM_PLAIN;	/* Docker reads a bare tar */
		else if (p->magic[0] == 0x1f && p->magic[1] == 0x8b &&
		    p->magic[2] == 0x08) {
			if (inflateInit2(&p->z, 16 + MAX_WBITS) != Z_OK)
				return bdeny(p, 403, "cannot inflate");
			p->zinit = 1;
			p->zout = xmalloc(ZOUT);
			p->mode = BM_GZIP;
		} else if (memcmp(p->magic, "BZh", 3) == 0 ||
		    memcmp(p->magic, "\xfd" "7zXZ\0", 6) == 0 ||
		    memcmp(p->magic, "\x28\xb5\x2f\xfd", 4) == 0)
			return bdeny(p, 403, "a bzip2, xz or zstd build context "
			    "is not inspected (send it as a tar or a gzipped "
			    "tar)");
		else
			p->mode = BM_PLAIN;
		/* The held bytes first, then the rest of this chunk. */
		if ((p->mode == BM_GZIP ? gz_feed(p, p->magic, p->nmagic) :
		    tar_feed(p, p->magic, p->nmagic)) == -1)
			return -1;
		d += k;
		n -= k;
	}
	if (n == 0)
		return 0;
	return p->mode == BM_GZIP ? gz_feed(p, d, n) : tar_feed(p, d, n);
}

void
pol_build_end(struct pol_build *p)
{
	int	i;

	if (p == NULL)
		return;
	if (!p->done && p->mode == BM_DETECT && p->nmagic > 0) {
		/* Fewer bytes than a magic number: plain, and short. */
		p->mode = BM_PLAIN;
		(void)tar_feed(p, p->magic, p->nmagic);
	}
	if (!p->done && p->mode == BM_GZIP && !p->zend)
		bdeny(p, 403, "the gzip stream is truncated");
	if (!p->done && p->nmagic > 0 && p->ts != TS_END &&
	    !(p->ts == TS_HEADER && p->nblk == 0))
		bdeny(p, 403, "the build context is a truncated tar archive");
	if (!p->done && p->nmagic > 0) {
		i = p->seen[0] ? 0 : p->seen[1] ? 1 : -1;
		if (i == -1)
			bdenyv(p, "no ", p->want, " in the archive to inspect");
		else if (p->plugin) {
			pol_plugin_config_check(p->b, (const uint8_t *)p->df[i],
			    p->ndf[i], p->v);
			p->done = p->v->status != 0;
		} else if (pol_dockerfile_check(p->df[i], p->ndf[i],
		    p->v) != 0)
			p->done = 1;
	}
	if (p->zinit)
		inflateEnd(&p->z);
	free(p->zout);
	free(p->df[0]);
	free(p->df[1]);
	free(p->meta);
	free(p->gnuname);
	free(p->paxpath);
	free(p);
}

/*
 * POST /plugins/create: Docker reads the body as a bare tar (no
 * decompression) and takes config.json from its root; that file is kept
 * (64 KiB at most) and judged by pol_plugin_config_check.
 */
struct pol_build *
pol_plugin_begin(const struct pol_body *b, struct pol_verdict *v)
{
	struct pol_build	*p;

	memset(v, 0, sizeof(*v));
	p = xcalloc(1, sizeof(*p));
	p->b = b;
	p->v = v;
	p->plugin = 1;
	p->paxsize = -1;
	p->label = "config.json";
	p->fmax = PLUGIN_CONFIG_MAX;
	pw_strlcpy(p->want, "config.json", sizeof(p->want));
	return p;
}

void
pol_inspect_plugin_create(const struct pol_body *b, const uint8_t *body,
    size_t len, struct pol_verdict *v)
{
	struct pol_build	*p = pol_plugin_begin(b, v);

	if (len > 0)
		(void)pol_build_feed(p, body, len);
	pol_build_end(p);
}

/* The whole body at once (unit tests, the fuzz harness, pol_inspect). */
void
pol_inspect_build(const struct pol_body *b, const char *query,
    const uint8_t *body, size_t len, struct pol_verdict *v)
{
	struct pol_build	*p;

	if ((p = pol_build_begin(b, query, v)) == NULL)
		return;
	if (len > 0)
		(void)pol_build_feed(p, body, len);
	pol_build_end(p);
}
