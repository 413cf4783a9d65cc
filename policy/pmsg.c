/*
 * pmsg.c: resolving POLICY / POLICY_FILE in the master and carrying the
 * result to the proxy and policyd (see pmsg.h).
 */
#include "pwbuild.h"

#include <sys/mman.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "pmsg.h"
#include "util.h"

extern char **environ;

/* §4 of the policy reference: every variable the compatibility mode reads. */
static const char *const compat_names[] = {
	"PING", "VERSION", "EVENTS", "AUTH", "BUILD", "COMMIT", "CONFIGS",
	"CONTAINERS", "DISTRIBUTION", "EXEC", "GRPC", "IMAGES", "INFO",
	"NETWORKS", "NODES", "PLUGINS", "SECRETS", "SERVICES", "SESSION",
	"SWARM", "SYSTEM", "TASKS", "VOLUMES", "POST", "ALLOW_CREATE",
	"ALLOW_DELETE", "ALLOW_EXEC", "ALLOW_KILL", "ALLOW_RESTARTS",
	"ALLOW_RESTART", "ALLOW_PAUSE", "ALLOW_PRUNE", "ALLOW_START",
	"ALLOW_STOP", "ALLOW_UNPAUSE",
	"SOCKGUARD_INSECURE_ALLOW_READ_EXFILTRATION",
	"SOCKGUARD_INSECURE_ALLOW_BODY_BLIND_WRITES",
};

int
policy_compat_name(const char *name)
{
	size_t	i;

	for (i = 0; i < nitems(compat_names); i++)
		if (strcmp(name, compat_names[i]) == 0)
			return 1;
	return 0;
}

/* NAME=value\n for each compatibility variable set (nothing else). */
static char *
compat_env_text(size_t *len)
{
	char	**e, *out = NULL;
	size_t	  n = 0, l;
	FILE	 *f;

	if ((f = open_memstream(&out, &n)) == NULL)
		fatal("open_memstream");
	for (e = environ; e != NULL && *e != NULL; e++) {
		const char *eq = strchr(*e, '=');
		char name[64];
		if (eq == NULL || (l = (size_t)(eq - *e)) >= sizeof(name))
			continue;
		memcpy(name, *e, l);
		name[l] = '\0';
		if (policy_compat_name(name) && strchr(eq, '\n') == NULL)
			fprintf(f, "%s\n", *e);
	}
	fclose(f);
	*len = n;
	return out;
}

/* Split "A=1\nB=2\n" into an envp array (pointers into a copy). */
static char **
env_split(const char *text, size_t len, char **store)
{
	char	**v, *p, *nl;
	size_t	  n = 0, i;

	*store = xmalloc(len + 1);
	memcpy(*store, text, len);
	(*store)[len] = '\0';
	for (i = 0; i < len; i++)
		if (text[i] == '\n')
			n++;
	v = xcalloc(n + 1, sizeof(*v));
	for (i = 0, p = *store; i < n && (nl = strchr(p, '\n')) != NULL;
	    i++, p = nl + 1) {
		*nl = '\0';
		v[i] = p;
	}
	return v;
}

static struct policy *
load_parts(const char *source, const char *yaml, size_t ylen,
    const char *env, size_t elen, char *err, size_t errsz)
{
	struct policy	*p;
	char		**envp, *store;

	if (yaml != NULL)
		return policy_load_text(source, yaml, ylen, err, errsz);
	envp = env_split(env != NULL ? env : "", elen, &store);
	p = policy_from_env(envp, err, errsz);
	if (p == NULL && err[0] == '\0')
		snprintf(err, errsz, "POLICY=environment: none of the "
		    "compatibility variables (CONTAINERS, POST, ALLOW_START, "
		    "...) is set");
	free(envp);
	free(store);
	return p;
}

int
policy_spec_resolve(const struct pw_config *c, struct policy_spec *s,
    struct policy **out, char *err, size_t errsz)
{
	const char	*spec = c->val[CK_POLICY_FILE] != NULL ?
			    c->val[CK_POLICY_FILE] : c->val[CK_POLICY];
	const char	*text;
	size_t		 len;
	char		 e2[512];
	ssize_t		 n;

	memset(s, 0, sizeof(*s));
	*out = NULL;
	err[0] = '\0';
	if (spec == NULL)
		return 0;
	if (c->val[CK_POLICY_FILE] == NULL &&
	    strcmp(spec, "environment") == 0) {
		pw_strlcpy(s->source, "environment", sizeof(s->source));
		s->env = compat_env_text(&s->elen);
	} else if (c->val[CK_POLICY_FILE] == NULL && strchr(spec, '/') == NULL) {
		if ((text = policy_preset_text(spec, &len)) == NULL) {
			const char *const *nm = policy_preset_names();
			size_t used;
			used = (size_t)snprintf(err, errsz, "POLICY=%s: no such "
			    "preset (a file must be given by its path); presets:",
			    spec);
			for (; nm != NULL && *nm != NULL && used < errsz; nm++)
				used += (size_t)snprintf(err + used, errsz - used,
				    " %s", *nm);
			return -1;
		}
		snprintf(s->source, sizeof(s->source), "preset %s", spec);
		s->yaml = xmalloc(len + 1);
		memcpy(s->yaml, text, len);
		s->yaml[len] = '\0';
		s->ylen = len;
	} else {
		if ((n = pw_read_file(spec, &s->yaml, POL_FILE_MAX, e2,
		    sizeof(e2))) < 0) {
			snprintf(err, errsz, "%s: %s", c->val[CK_POLICY_FILE] ?
			    "POLICY_FILE" : "POLICY", e2);
			policy_spec_free(s);
			return -1;
		}
		pw_strlcpy(s->source, spec, sizeof(s->source));
		s->ylen = (size_t)n;
	}
	*out = load_parts(s->source, s->yaml, s->ylen, s->env, s->elen, err,
	    errsz);
	if (*out == NULL) {
		policy_spec_free(s);
		return -1;
	}
	return 1;
}

void
policy_spec_free(struct policy_spec *s)
{
	free(s->yaml);
	free(s->env);
	memset(s, 0, sizeof(*s));
}

int
policy_msg_send(struct ipc_chan *ch, uint32_t gen, const struct policy_spec *s)
{
	struct ipc_wr	 wr;
	int		 fd;

	if (ch == NULL)
		return 0;
	if ((fd = memfd_create("pw-policy", MFD_CLOEXEC |
	    MFD_ALLOW_SEALING)) == -1) {
		log_warn("memfd for the policy");
		return -1;
	}
	if ((s->ylen > 0 && write(fd, s->yaml, s->ylen) != (ssize_t)s->ylen) ||
	    (s->elen > 0 && write(fd, s->env, s->elen) != (ssize_t)s->elen) ||
	    fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW |
	    F_SEAL_WRITE | F_SEAL_SEAL) == -1) {
		log_warn("writing the policy memfd");
		close(fd);
		return -1;
	}
	ipc_wr_init(&wr);
	ipc_wr_u32(&wr, gen);
	ipc_wr_str(&wr, s->source);
	ipc_wr_u32(&wr, s->yaml != NULL ? (uint32_t)s->ylen : UINT32_MAX);
	ipc_wr_u32(&wr, (uint32_t)s->elen);
	ipc_send(ch, IPC_M_POLICY, 0, 0, wr.buf, wr.len, fd);
	ipc_wr_free(&wr);
	return 0;
}

/*
 * All of a memfd another process sealed: it must be sealed against
 * writing, growing and shrinking and hold exactly len bytes, so what is
 * read here is what the sender keeps (and, for a body, sends on).  A
 * NUL is added after the bytes.  NULL when the seals or size are wrong.
 */
char *
pol_memfd_read(int fd, size_t len)
{
	struct stat	 st;
	char		*buf;
	size_t		 got = 0;
	ssize_t		 n;
	int		 seals;
	const int	 want = F_SEAL_WRITE | F_SEAL_SHRINK | F_SEAL_GROW;

	seals = fcntl(fd, F_GET_SEALS);
	if (seals == -1 || (seals & want) != want || fstat(fd, &st) == -1 ||
	    (uint64_t)st.st_size != (uint64_t)len)
		return NULL;
	buf = xmalloc(len + 1);
	while (got < len) {
		if ((n = pread(fd, buf + got, len - got, (off_t)got)) <= 0) {
			free(buf);
			return NULL;
		}
		got += (size_t)n;
	}
	buf[len] = '\0';
	return buf;
}

struct policy *
policy_msg_load(const struct ipc_msg *m, uint32_t *gen, char *err, size_t errsz)
{
	struct ipc_rd	 rd;
	struct policy	*p;
	char		 source[256], *all;
	uint32_t	 ylen, elen;
	int		 has_yaml;

	err[0] = '\0';
	ipc_rd_init(&rd, m);
	*gen = ipc_rd_u32(&rd);
	ipc_rd_str(&rd, source, sizeof(source));
	ylen = ipc_rd_u32(&rd);
	elen = ipc_rd_u32(&rd);
	if (ipc_rd_end(&rd) == -1 || m->fd == -1) {
		snprintf(err, errsz, "malformed policy message");
		return NULL;
	}
	has_yaml = ylen != UINT32_MAX;
	if (!has_yaml)
		ylen = 0;
	if (ylen > POL_FILE_MAX || elen > 64 * 1024) {
		snprintf(err, errsz, "policy message too large");
		return NULL;
	}
	if ((all = pol_memfd_read(m->fd, (size_t)ylen + elen)) == NULL) {
		snprintf(err, errsz, "the policy memfd is not sealed or has "
		    "the wrong size");
		return NULL;
	}
	p = load_parts(source, has_yaml ? all : NULL, ylen, all + ylen, elen,
	    err, errsz);
	free(all);
	return p;
}
