/*
 * composer.c: the compose runner ("portwingd: composer"), started only
 * when STACKS_DIR is set.  It is the one process that creates processes:
 * for each POST /_portwing/compose it checks the request (compose/cwire.c),
 * writes the stack's files beneath STACKS_DIR without following any link,
 * and runs the compose binary with a clean environment, a time limit and
 * its output capped.  It runs as COMPOSE_USER (never root), with no
 * capability, no-new-privs, a seccomp filter that its children inherit
 * and a Landlock ruleset that lets them write only beneath STACKS_DIR,
 * their private run directory and /dev.
 *
 * The compose binary reaches Docker only through the agent: DOCKER_HOST
 * names a unix socket the master opened and handed to the workers as a
 * listener of its own, and the run's DOCKER_CONFIG carries the runner's
 * credential as an Authorization header (HttpHeaders, which both the
 * docker-py client of Compose v1 and the Go client of v2 send), which
 * authd approves as principal "compose".  So every Docker call compose
 * makes is authenticated, judged by the policy when there is one, and
 * audited like any other.  The runner checks at start that it cannot
 * reach Docker's own socket; if it can, it refuses to run anything.
 */
#include "pwbuild.h"

#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/queue.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <linux/landlock.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <jansson.h>
#include <seccomp.h>

#include "child.h"
#include "composer.h"
#include "cwire.h"
#include "fwrite.h"
#include "ipc.h"
#include "log.h"
#include "pwcrypto.h"
#include "util.h"

#define COMPOSER_MAX_RUNS	4	/* at once; more get 503 */
#define KILL_GRACE_S		5	/* SIGTERM, then SIGKILL */
#define PATHS			"/usr/local/sbin:/usr/local/bin:/usr/sbin:" \
				"/usr/bin:/sbin:/bin"

enum phase { PH_LOGIN, PH_OP };

struct run {
	TAILQ_ENTRY(run)	 entry;
	uint32_t		 id;
	enum phase		 phase;
	struct compose_req	 req;
	pid_t			 pid;		/* 0: none running */
	int			 status;	/* waitpid's, once reaped */
	int			 reaped;
	int			 fd[2];		/* stdout, stderr; -1 at EOF */
	struct event		*ev[2];
	struct evbuffer		*buf[2];
	size_t			 dropped;
	struct event		*timer;
	int			 timed_out;
	int			 killed;	/* SIGKILL sent */
	int			 timeout;	/* seconds */
	char			 rundir[PATH_MAX];
	char			 login_out[1024];
};

static struct {
	struct event_base	*base;
	struct ipc_chan		*master;
	struct ipc_chan		*proxy;
	struct pw_config	*cfg;
	int			 stacks;	/* STACKS_DIR */
	char			 privdir[128];	/* socket and runs */
	int			 refuse;	/* Docker's socket is reachable */
	int			 cmd;		/* COMPOSE_CMD_*, once detected */
	uint32_t		 nrun;
	int			 nrunning;
	TAILQ_HEAD(, run)	 runs;
} cp;

static const struct ipc_perm cp_perms_master[] = {
	{ IPC_M_COMPOSE_CHAN, 0, 0, 1 },
	{ IPC_M_SHUTDOWN, 0, 0, 0 },
	{ IPC_M_RELOAD, 4, IPC_MAX_CONFIG, 0 },
	{ IPC_M_PING, 0, 0, 0 },
};

static const struct ipc_perm cp_perms_proxy[] = {
	{ IPC_P_COMPOSE_RUN, 8, 8, 1 },
	{ IPC_P_COMPOSE_CANCEL, 0, 0, 0 },
};

/* ---- answers ---- */

/*
 * The answer to the proxy: HTTP status, the operation and stack for the
 * compose_op record, success, and the JSON body in a sealed memfd.
 */
static void
answer_body(uint32_t id, int status, const struct compose_req *q,
    int success, const char *body, size_t len)
{
	struct ipc_wr	 wr;
	const char	*op, *stack;
	int		 fd;
	size_t		 off;
	ssize_t		 n;

	if ((fd = memfd_create("pw-compose-answer", MFD_CLOEXEC |
	    MFD_ALLOW_SEALING)) == -1) {
		log_warn("memfd for a compose answer");
		return;
	}
	for (off = 0; off < len; off += (size_t)n)
		if ((n = write(fd, body + off, len - off)) <= 0) {
			log_warn("writing a compose answer");
			close(fd);
			return;
		}
	(void)fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW |
	    F_SEAL_WRITE | F_SEAL_SEAL);
	ipc_wr_init(&wr);
	ipc_wr_u32(&wr, (uint32_t)status);
	ipc_wr_u32(&wr, (uint32_t)success);
	/* For the compose_op record: the client's text, cut to size. */
	op = q != NULL && q->operation != NULL ? q->operation : "";
	stack = q != NULL && q->stack_name != NULL ? q->stack_name : "";
	ipc_wr_strn(&wr, op, strnlen(op, COMPOSE_AUDIT_MAX));
	ipc_wr_strn(&wr, stack, strnlen(stack, COMPOSE_AUDIT_MAX));
	ipc_wr_u64(&wr, len);
	if (cp.proxy != NULL)
		ipc_send(cp.proxy, IPC_C_COMPOSE_DONE, 0, id, wr.buf, wr.len,
		    fd);
	else
		close(fd);
	ipc_wr_free(&wr);
}

/* {"success":..., "output":..., "error":...}: error left out when NULL. */
static void
answer(uint32_t id, int status, const struct compose_req *q,
    const char *output, size_t olen, const char *error)
{
	json_t	*o, *t;
	char	*s;

	o = json_object();
	json_object_set_new(o, "success", json_boolean(error == NULL));
	/* Not UTF-8 (a binary log line, say): mended as Go's encoder does. */
	if ((t = json_stringn(output, olen)) == NULL) {
		size_t	 fl;
		char	*fixed = pw_utf8_mend((const unsigned char *)output, olen,
			    &fl);
		t = json_stringn(fixed, fl);
		free(fixed);
	}
	json_object_set_new(o, "output", t);
	if (error != NULL)
		json_object_set_new(o, "error", json_string(error));
	s = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(o);
	if (s == NULL) {
		s = xstrdup("{\"success\":false,\"output\":\"\",\"error\":"
		    "\"internal error building the answer\"}");
		error = "";
	}
	answer_body(id, status, q, error == NULL, s, strlen(s));
	free(s);
}

/* A plain refusal: 400 "invalid request: ...", or 503. */
static void
answer_error(uint32_t id, int status, const char *msg)
{
	json_t	*o = json_pack("{s:s}", "error", msg);
	char	*s = o != NULL ? json_dumps(o, JSON_COMPACT) : NULL;

	json_decref(o);
	if (s == NULL)
		return;
	answer_body(id, status, NULL, 0, s, strlen(s));
	free(s);
}

/* ---- runs ---- */

/* The run directory goes with the run, whatever compose left in it. */
static int
rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	if (flag == FTW_DP)
		(void)rmdir(path);
	else
		(void)unlink(path);
	return 0;
}

static void
run_free(struct run *r)
{
	int	i;

	TAILQ_REMOVE(&cp.runs, r, entry);
	for (i = 0; i < 2; i++) {
		if (r->ev[i] != NULL)
			event_free(r->ev[i]);
		if (r->fd[i] != -1)
			close(r->fd[i]);
		if (r->buf[i] != NULL)
			evbuffer_free(r->buf[i]);
	}
	if (r->timer != NULL)
		event_free(r->timer);
	if (r->pid > 0) {
		/* The group, and the child itself if it has no group yet. */
		kill(-r->pid, SIGKILL);
		kill(r->pid, SIGKILL);
		cp.nrunning--;
	}
	if (r->rundir[0] != '\0')
		(void)nftw(r->rundir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	compose_req_free(&r->req);
	free(r);
}

/*
 * The run's private directory: HOME, TMPDIR and DOCKER_CONFIG of the
 * compose binary, holding config.json with the runner's credential.
 */
static int
run_dir(struct run *r, char *err, size_t errsz)
{
	const char	*tok = cp.cfg->val[CK__COMPOSE_TOKEN];
	char		 p[PATH_MAX + 32];
	json_t		*o;
	char		*s;
	int		 fd, rc = -1;

	snprintf(r->rundir, sizeof(r->rundir), "%s/run-XXXXXX", cp.privdir);
	if (mkdtemp(r->rundir) == NULL) {
		snprintf(err, errsz, "creating the run directory: %s",
		    strerror(errno));
		r->rundir[0] = '\0';
		return -1;
	}
	o = json_pack("{s:{s:s+}}", "HttpHeaders", "Authorization",
	    "Bearer ", tok != NULL ? tok : "");
	s = o != NULL ? json_dumps(o, JSON_COMPACT) : NULL;
	json_decref(o);
	snprintf(p, sizeof(p), "%s/config.json", r->rundir);
	if (s != NULL && (fd = open(p, O_WRONLY | O_CREAT | O_EXCL |
	    O_CLOEXEC | O_NOFOLLOW, 0600)) != -1) {
		if (write(fd, s, strlen(s)) == (ssize_t)strlen(s))
			rc = 0;
		close(fd);
	}
	if (s != NULL)
		freezero_str(s);
	if (rc == -1)
		snprintf(err, errsz, "writing the run's Docker configuration");
	return rc;
}

static void	run_next(struct run *);

static void
run_finish(struct run *r)
{
	char		 why[128];
	struct evbuffer	*out;
	size_t		 n;
	int		 st = r->status;

	/* Whatever it left behind goes with it. */
	kill(-r->pid, SIGKILL);
	r->pid = 0;
	cp.nrunning--;
	if (r->timer != NULL) {
		event_free(r->timer);
		r->timer = NULL;
	}
	if (r->phase == PH_LOGIN) {
		n = evbuffer_get_length(r->buf[1]);
		if (n >= sizeof(r->login_out))
			n = sizeof(r->login_out) - 1;
		evbuffer_remove(r->buf[1], r->login_out, n);
		r->login_out[n] = '\0';
		evbuffer_drain(r->buf[0], evbuffer_get_length(r->buf[0]));
		if (!(WIFEXITED(st) && WEXITSTATUS(st) == 0)) {
			/* Portwing's shape: what docker login said, and how. */
			char *m;
			if (r->timed_out)
				snprintf(why, sizeof(why), "timed out after %d s",
				    r->timeout);
			else if (WIFEXITED(st))
				snprintf(why, sizeof(why), "exit status %d",
				    WEXITSTATUS(st));
			else
				snprintf(why, sizeof(why), "signal: killed");
			xasprintf(&m, "registry login: docker login: %s: %s",
			    r->login_out, why);
			answer(r->id, 200, &r->req, "", 0, m);
			free(m);
			run_free(r);
			return;
		}
		r->phase = PH_OP;
		r->dropped = 0;
		run_next(r);
		return;
	}
	/* stdout, then stderr after a newline (the reference's shape). */
	out = evbuffer_new();
	evbuffer_add_buffer(out, r->buf[0]);
	if (evbuffer_get_length(r->buf[1]) > 0) {
		if (evbuffer_get_length(out) > 0)
			evbuffer_add(out, "\n", 1);
		evbuffer_add_buffer(out, r->buf[1]);
	}
	if (r->dropped > 0)
		evbuffer_add_printf(out, "%s[output truncated: %zu bytes not "
		    "shown]", evbuffer_get_length(out) > 0 ? "\n" : "",
		    r->dropped);
	n = evbuffer_get_length(out);
	if (r->timed_out)
		snprintf(why, sizeof(why), "timed out after %d s", r->timeout);
	else if (WIFEXITED(st) && WEXITSTATUS(st) == 0)
		why[0] = '\0';
	else if (WIFEXITED(st))
		snprintf(why, sizeof(why), "exit status %d", WEXITSTATUS(st));
	else
		snprintf(why, sizeof(why), "signal: %s",
		    WTERMSIG(st) == SIGKILL ? "killed" : strsignal(WTERMSIG(st)));
	answer(r->id, 200, &r->req, n ? (const char *)evbuffer_pullup(out, -1) :
	    "", n, why[0] != '\0' ? why : NULL);
	evbuffer_free(out);
	log_info("compose %s of stack %s: %s", r->req.operation,
	    r->req.stack_name, why[0] != '\0' ? why : "done");
	run_free(r);
}

/* Done when the child is reaped and both pipes are at their end. */
static void
run_check(struct run *r)
{
	if (r->reaped && r->fd[0] == -1 && r->fd[1] == -1)
		run_finish(r);
}

static void
run_read(evutil_socket_t fd, short ev, void *arg)
{
	struct run	*r = arg;
	char		 buf[16384];
	size_t		 have, room;
	ssize_t		 n;
	int		 i = r->fd[0] == fd ? 0 : 1;

	n = read(fd, buf, sizeof(buf));
	if (n == -1 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		event_free(r->ev[i]);
		r->ev[i] = NULL;
		close(r->fd[i]);
		r->fd[i] = -1;
		run_check(r);
		return;
	}
	have = evbuffer_get_length(r->buf[0]) + evbuffer_get_length(r->buf[1]);
	room = have < (size_t)cp.cfg->compose_output ?
	    (size_t)cp.cfg->compose_output - have : 0;
	if ((size_t)n > room) {
		r->dropped += (size_t)n - room;
		n = (ssize_t)room;
	}
	evbuffer_add(r->buf[i], buf, (size_t)n);
}

static void
run_timeout(evutil_socket_t fd, short ev, void *arg)
{
	struct run	*r = arg;
	struct timeval	 tv = { KILL_GRACE_S, 0 };

	if (r->pid <= 0)
		return;
	if (!r->timed_out) {
		r->timed_out = 1;
		log_warnx("compose %s of stack %s: timed out after %d s; "
		    "stopping it", r->req.operation, r->req.stack_name,
		    r->timeout);
		kill(-r->pid, SIGTERM);
		kill(r->pid, SIGTERM);
		evtimer_add(r->timer, &tv);
	} else if (!r->killed) {
		r->killed = 1;
		kill(-r->pid, SIGKILL);
		kill(r->pid, SIGKILL);
	}
}

/*
 * The compose binary's environment: nothing of the agent's, only what
 * compose needs and what keeps it on the agent's path to Docker.
 */
static char **
run_env(struct run *r)
{
	char	**e = xcalloc(16, sizeof(*e));
	int	  n = 0;

	xasprintf(&e[n++], "PATH=%s", PATHS);
	xasprintf(&e[n++], "HOME=%s", r->rundir);
	xasprintf(&e[n++], "TMPDIR=%s", r->rundir);
	xasprintf(&e[n++], "DOCKER_CONFIG=%s", r->rundir);
	xasprintf(&e[n++], "DOCKER_HOST=unix://%s",
	    cp.cfg->val[CK__COMPOSE_SOCKET]);
	e[n++] = xstrdup("LANG=C.UTF-8");
	e[n++] = xstrdup("TZ=UTC0");
	e[n++] = xstrdup("COMPOSE_INTERACTIVE_NO_CLI=1");
	e[n++] = xstrdup("PYTHONDONTWRITEBYTECODE=1");
	e[n++] = xstrdup("DOCKER_CLI_HINTS=false");
	e[n] = NULL;
	return e;
}

static void
strv_free(char **v)
{
	size_t	i;

	for (i = 0; v != NULL && v[i] != NULL; i++)
		free(v[i]);
	free(v);
}

/*
 * fork and exec argv in the stack directory, in a process group of its
 * own (so a timeout stops all of it), stdin from in (or /dev/null).
 */
static pid_t
spawn(char **argv, char **envp, int dirfd, int in, int out[2])
{
	int	o[2], e[2];
	pid_t	pid;

	if (pipe2(o, O_CLOEXEC) == -1)
		return -1;
	if (pipe2(e, O_CLOEXEC) == -1) {
		close(o[0]);
		close(o[1]);
		return -1;
	}
	if ((pid = fork()) == -1) {
		close(o[0]);
		close(o[1]);
		close(e[0]);
		close(e[1]);
		return -1;
	}
	if (pid == 0) {
		sigset_t	none;

		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		signal(SIGPIPE, SIG_DFL);
		signal(SIGTERM, SIG_DFL);
		signal(SIGHUP, SIG_DFL);
		signal(SIGINT, SIG_DFL);
		(void)setsid();
		if (in == -1)
			in = open("/dev/null", O_RDONLY);
		if (in == -1 || dup2(in, 0) == -1 || dup2(o[1], 1) == -1 ||
		    dup2(e[1], 2) == -1 || (dirfd != -1 && fchdir(dirfd) == -1))
			_exit(126);
		closefrom(3);
		execvpe(argv[0], argv, envp);
		dprintf(2, "%s: %s\n", argv[0], strerror(errno));
		_exit(127);
	}
	close(o[1]);
	close(e[1]);
	out[0] = o[0];
	out[1] = e[0];
	return pid;
}

/* "docker compose version" says v2: the reference's detection. */
static int
detect_v2(void)
{
	char	*argv[] = { "docker", "compose", "version", NULL };
	char	**envp, buf[4096];
	int	 fd[2], st, i;
	size_t	 len = 0;
	ssize_t	 n;
	pid_t	 pid;
	struct run tmp;

	memset(&tmp, 0, sizeof(tmp));
	snprintf(tmp.rundir, sizeof(tmp.rundir), "%s", cp.privdir);
	envp = run_env(&tmp);
	pid = spawn(argv, envp, -1, -1, fd);
	strv_free(envp);
	if (pid == -1)
		return 0;
	close(fd[1]);
	while (len < sizeof(buf) - 1 &&
	    (n = read(fd[0], buf + len, sizeof(buf) - 1 - len)) > 0)
		len += (size_t)n;
	buf[len] = '\0';
	close(fd[0]);
	while (waitpid(pid, &st, 0) == -1 && errno == EINTR)
		;
	for (i = 0; buf[i] != '\0'; i++)
		if ((buf[i] == 'v' || buf[i] == 'V') && buf[i + 1] == '2')
			return 1;
	return 0;
}

/* Is docker-compose on PATH? */
static int
have_v1(void)
{
	char	path[] = PATHS, *d, *save = NULL, f[PATH_MAX];

	for (d = strtok_r(path, ":", &save); d != NULL;
	    d = strtok_r(NULL, ":", &save)) {
		snprintf(f, sizeof(f), "%s/docker-compose", d);
		if (access(f, X_OK) == 0)
			return 1;
	}
	return 0;
}

static void
run_start(struct run *r, char **argv, int in)
{
	struct timeval	tv = { r->timeout, 0 };
	char		**envp, err[256];
	int		 dirfd, i;

	dirfd = -1;
	if (r->phase == PH_OP) {
		struct fw_how how = { 0750, 1 };
		if ((dirfd = fw_dir_how(cp.stacks, r->req.stack_dir, &how, err,
		    sizeof(err))) == -1) {
			answer(r->id, 200, &r->req, "", 0, err);
			run_free(r);
			return;
		}
	}
	envp = run_env(r);
	r->pid = spawn(argv, envp, dirfd, in, r->fd);
	strv_free(envp);
	if (dirfd != -1)
		close(dirfd);
	if (r->pid == -1) {
		r->pid = 0;
		r->fd[0] = r->fd[1] = -1;
		snprintf(err, sizeof(err), "starting %s: %s", argv[0],
		    strerror(errno));
		answer(r->id, 200, &r->req, "", 0, err);
		run_free(r);
		return;
	}
	cp.nrunning++;
	r->reaped = 0;
	for (i = 0; i < 2; i++) {
		(void)fcntl(r->fd[i], F_SETFL, O_NONBLOCK);
		if (r->buf[i] == NULL)
			r->buf[i] = evbuffer_new();
		r->ev[i] = event_new(cp.base, r->fd[i], EV_READ | EV_PERSIST,
		    run_read, r);
		event_add(r->ev[i], NULL);
	}
	r->timer = evtimer_new(cp.base, run_timeout, r);
	evtimer_add(r->timer, &tv);
}

/* The registry login, when asked for; then the operation itself. */
static void
run_next(struct run *r)
{
	const char	*bin[2];
	char		**argv, msg[160];
	size_t		 nbin;
	int		 p[2];

	if (r->phase == PH_LOGIN) {
		char *lv[] = { "docker", "login", "--username",
		    r->req.auth_username, "--password-stdin", r->req.auth_server,
		    NULL };
		size_t len = strlen(r->req.auth_password);
		if (pipe2(p, O_CLOEXEC) == -1 || len > 65536) {
			answer(r->id, 200, &r->req, "", 0, "registry login "
			    "failed: cannot pass the password");
			run_free(r);
			return;
		}
		/* A pipe holds 64 KiB: the password is written at once. */
		if (write(p[1], r->req.auth_password, len) != (ssize_t)len) {
			close(p[0]);
			close(p[1]);
			answer(r->id, 200, &r->req, "", 0, "registry login "
			    "failed: cannot pass the password");
			run_free(r);
			return;
		}
		close(p[1]);
		run_start(r, lv, p[0]);
		close(p[0]);
		return;
	}
#ifdef PW_TEST_HOOKS
	/*
	 * Test build: instead of compose, a probe of what a compose process
	 * may do, run the way compose is (tests/regress/t-compose-sandbox.sh).
	 */
	if (strcmp(r->req.operation, "portwing-test-sandbox") == 0) {
		static const char probe[] =
		    "import ctypes, os, socket, sys\n"
		    "def t(name, f):\n"
		    "    try:\n"
		    "        f(); print(name, 'allowed')\n"
		    "    except OSError as e:\n"
		    "        print(name, 'refused', e.errno)\n"
		    "t('write-tmp', lambda: open('/tmp/portwing-probe-%d' %\n"
		    "    os.getpid(), 'w').write('x'))\n"
		    "t('write-stack', lambda: open('probe.txt', 'w').write('x'))\n"
		    "t('inet', lambda: socket.socket(socket.AF_INET))\n"
		    "t('docker', lambda: socket.socket(socket.AF_UNIX).connect(\n"
		    "    sys.argv[1]))\n"
		    "t('agent', lambda: socket.socket(socket.AF_UNIX).connect(\n"
		    "    os.environ['DOCKER_HOST'][7:]))\n"
		    "c = ctypes.CDLL(None, use_errno=True)\n"
		    "print('ptrace', 'allowed' if c.ptrace(0, 0, 0, 0) == 0 else\n"
		    "    'refused', ctypes.get_errno())\n"
		    "print('uid', os.getuid(), 'environ', sorted(os.environ))\n";
		const char *d = cp.cfg->val[CK__DOCKER];
		char *pv[] = { "python3", "-c", (char *)probe,
		    (char *)(d != NULL && strncmp(d, "unix://", 7) == 0 ? d + 7 :
		    "/var/run/docker.sock"), NULL };
		run_start(r, pv, -1);
		return;
	}
#endif
	if (!compose_op_known(r->req.operation)) {
		compose_op_unsupported(r->req.operation, msg, sizeof(msg));
		answer(r->id, 200, &r->req, "", 0, msg);
		run_free(r);
		return;
	}
	if (cp.cmd == COMPOSE_CMD_AUTO)
		cp.cmd = detect_v2() ? COMPOSE_CMD_V2 : have_v1() ?
		    COMPOSE_CMD_V1 : COMPOSE_CMD_V2;
	if (cp.cmd == COMPOSE_CMD_V1) {
		bin[0] = "docker-compose";
		nbin = 1;
	} else {
		bin[0] = "docker";
		bin[1] = "compose";
		nbin = 2;
	}
	{
		char absdir[PATH_MAX * 2], envf[PATH_MAX * 2 + 32];
		char rel[PATH_MAX + 32];
		struct stat st;
		int dot = strcmp(r->req.stack_dir, ".") == 0, has_env;

		snprintf(absdir, sizeof(absdir), "%s%s%s",
		    cp.cfg->val[CK_STACKS_DIR], dot ? "" : "/",
		    dot ? "" : r->req.stack_dir);
		snprintf(envf, sizeof(envf), "%s/%s", absdir,
		    COMPOSE_ENV_FILE);
		snprintf(rel, sizeof(rel), "%s/%s", r->req.stack_dir,
		    COMPOSE_ENV_FILE);
		/* An --env-file only when one is there (and is a file). */
		has_env = fstatat(cp.stacks, rel, &st, AT_SYMLINK_NOFOLLOW) ==
		    0 && S_ISREG(st.st_mode);
		argv = compose_argv(&r->req, bin, nbin, absdir, has_env ?
		    envf : NULL);
	}
	/*
	 * Compose v1 has no "ps --format json" (it prints its usage): it
	 * gets plain "ps", whose table is at least the answer asked for.
	 */
	if (argv != NULL && cp.cmd == COMPOSE_CMD_V1 &&
	    strcmp(r->req.operation, "ps") == 0) {
		size_t i;
		for (i = 0; argv[i] != NULL; i++)
			if (strcmp(argv[i], "--format") == 0 &&
			    argv[i + 1] != NULL && strcmp(argv[i + 1], "json") == 0 &&
			    argv[i + 2] == NULL) {
				free(argv[i]);
				free(argv[i + 1]);
				argv[i] = NULL;
				break;
			}
	}
	if (argv == NULL) {
		answer(r->id, 200, &r->req, "", 0, "internal error building "
		    "the command");
		run_free(r);
		return;
	}
	run_start(r, argv, -1);
	compose_argv_free(argv);
}

/* The stack's files, then .env.drydock, beneath STACKS_DIR. */
static int
write_files(struct run *r, char *err, size_t errsz)
{
	struct fw_how	 how = { 0750, 1 };
	char		 path[FW_PATH_MAX + 64];
	char		*env;
	size_t		 i, n;
	int		 fd;

	if ((fd = fw_dir_how(cp.stacks, r->req.stack_dir, &how, err,
	    errsz)) == -1)
		return -1;
	close(fd);
	for (i = 0; i < r->req.nfiles; i++) {
		if (strcmp(r->req.stack_dir, ".") == 0)
			snprintf(path, sizeof(path), "%s", r->req.files[i].path);
		else
			snprintf(path, sizeof(path), "%s/%s", r->req.stack_dir,
			    r->req.files[i].path);
		if (fw_write_how(cp.stacks, path, r->req.files[i].data,
		    r->req.files[i].len, 0600, &how, err, errsz) == -1)
			return -1;
	}
	if (r->req.nenv > 0) {
		env = compose_env_text(&r->req, &n);
		if (strcmp(r->req.stack_dir, ".") == 0)
			snprintf(path, sizeof(path), "%s", COMPOSE_ENV_FILE);
		else
			snprintf(path, sizeof(path), "%s/%s", r->req.stack_dir,
			    COMPOSE_ENV_FILE);
		i = (size_t)fw_write_how(cp.stacks, path, env, n, 0600, &how,
		    err, errsz);
		freezero(env, n);
		if ((int)i == -1)
			return -1;
	}
	return 0;
}

/* IPC_P_COMPOSE_RUN: a request body in a sealed memfd. */
static void
compose_run(struct ipc_msg *m)
{
	struct ipc_rd	 rd;
	struct stat	 st;
	struct run	*r;
	char		 err[1024], msg[1100];
	uint64_t	 len;
	void		*map = NULL;

	ipc_rd_init(&rd, m);
	len = ipc_rd_u64(&rd);
	if (ipc_rd_end(&rd) == -1 || fstat(m->fd, &st) == -1 ||
	    (uint64_t)st.st_size != len || len > COMPOSE_BODY_MAX) {
		answer_error(m->hdr.id, 500, "malformed compose request");
		goto out;
	}
	if (cp.refuse) {
		answer_error(m->hdr.id, 503, "compose is refused on this agent: "
		    "COMPOSE_USER can reach Docker's socket directly (see the "
		    "agent's log)");
		goto out;
	}
	if (cp.nrunning >= COMPOSER_MAX_RUNS) {
		answer_error(m->hdr.id, 503, "too many compose operations in "
		    "progress; try again");
		goto out;
	}
	if (len > 0 && (map = mmap(NULL, (size_t)len, PROT_READ, MAP_PRIVATE,
	    m->fd, 0)) == MAP_FAILED) {
		map = NULL;
		answer_error(m->hdr.id, 500, "cannot read the request");
		goto out;
	}
	r = xcalloc(1, sizeof(*r));
	r->id = m->hdr.id;
	r->fd[0] = r->fd[1] = -1;
	TAILQ_INSERT_TAIL(&cp.runs, r, entry);
	if (compose_parse(map != NULL ? map : "", (size_t)len, &r->req, err,
	    sizeof(err)) == -1) {
		snprintf(msg, sizeof(msg), "invalid request: %s", err);
		answer_error(r->id, 400, msg);
		run_free(r);
		goto out;
	}
	if (compose_validate(&r->req, err, sizeof(err)) == -1) {
		answer(r->id, 200, &r->req, "", 0, err);
		run_free(r);
		goto out;
	}
	r->timeout = r->req.timeout > 0 ? r->req.timeout :
	    cp.cfg->compose_timeout;
	if (r->req.has_files && write_files(r, err, sizeof(err)) == -1) {
		snprintf(msg, sizeof(msg), "writing stack files: %s", err);
		answer(r->id, 200, &r->req, "", 0, msg);
		run_free(r);
		goto out;
	}
	if (run_dir(r, err, sizeof(err)) == -1) {
		answer(r->id, 200, &r->req, "", 0, err);
		run_free(r);
		goto out;
	}
	r->phase = r->req.has_auth ? PH_LOGIN : PH_OP;
	run_next(r);
out:
	if (map != NULL)
		munmap(map, (size_t)len);
	close(m->fd);
}

static struct run *
run_find(uint32_t id)
{
	struct run	*r;

	TAILQ_FOREACH(r, &cp.runs, entry)
		if (r->id == id)
			return r;
	return NULL;
}

static void
cp_proxy_msg(struct ipc_chan *ch, struct ipc_msg *m, void *arg)
{
	struct run	*r;

	if (m->hdr.type == IPC_P_COMPOSE_RUN)
		compose_run(m);
	else if (m->hdr.type == IPC_P_COMPOSE_CANCEL &&
	    (r = run_find(m->hdr.id)) != NULL) {
		/* The client went away: so does its compose (the reference). */
		log_info("compose %s of stack %s: the client went away; "
		    "stopping it", r->req.operation, r->req.stack_name);
		run_free(r);
	}
}

static void
cp_proxy_closed(struct ipc_chan *ch, void *arg)
{
	if (cp.proxy == ch)
		cp.proxy = NULL;
	ipc_chan_free(ch);
	while (!TAILQ_EMPTY(&cp.runs))
		run_free(TAILQ_FIRST(&cp.runs));
}

static void
cp_master_msg(struct ipc_chan *ch, struct ipc_msg *m, void *arg)
{
	switch (m->hdr.type) {
	case IPC_M_COMPOSE_CHAN:
		if (cp.proxy != NULL)
			cp_proxy_closed(cp.proxy, NULL);
		cp.proxy = ipc_chan_new(cp.base, m->fd, "proxy",
		    cp_perms_proxy, nitems(cp_perms_proxy), cp_proxy_msg,
		    cp_proxy_closed, NULL);
		break;
	case IPC_M_SHUTDOWN:
		while (!TAILQ_EMPTY(&cp.runs))
			run_free(TAILQ_FIRST(&cp.runs));
		exit(0);
	case IPC_M_RELOAD:
		break;
	case IPC_M_PING:
		ipc_send(cp.master, IPC_C_PONG, 0, m->hdr.id, NULL, 0, -1);
		break;
	default:
		fatalx("unexpected message 0x%04x from master", m->hdr.type);
	}
}

static void
cp_master_closed(struct ipc_chan *ch, void *arg)
{
	log_warnx("master went away; exiting");
	while (!TAILQ_EMPTY(&cp.runs))
		run_free(TAILQ_FIRST(&cp.runs));
	exit(0);
}

static void
cp_signal(evutil_socket_t sig, short ev, void *arg)
{
	struct run	*r;
	pid_t		 pid;
	int		 st;

	if (sig == SIGTERM) {
		while (!TAILQ_EMPTY(&cp.runs))
			run_free(TAILQ_FIRST(&cp.runs));
		exit(0);
	}
	while ((pid = waitpid(-1, &st, WNOHANG)) > 0)
		TAILQ_FOREACH(r, &cp.runs, entry)
			if (r->pid == pid) {
				r->status = st;
				r->reaped = 1;
				run_check(r);
				break;
			}
}

/*
 * Run directories a composer that died left behind, removed as the
 * compose user (never by the master: root must not walk a directory
 * that user controls).
 */
static void
stale_runs(void)
{
	DIR		*d;
	struct dirent	*e;
	char		 p[PATH_MAX];

	if ((d = opendir(cp.privdir)) == NULL)
		return;
	while ((e = readdir(d)) != NULL)
		if (strncmp(e->d_name, "run-", 4) == 0) {
			snprintf(p, sizeof(p), "%s/%s", cp.privdir, e->d_name);
			(void)nftw(p, rm_one, 16, FTW_DEPTH | FTW_PHYS);
		}
	closedir(d);
}

/* ---- the sandbox ---- */

/*
 * Can this process reach Docker's own socket?  Then so could compose,
 * around the agent: nothing is run (COMPOSE_USER must not be in the
 * socket's group).
 */
static int
docker_reachable(void)
{
	const char		*d = cp.cfg->val[CK__DOCKER];
	struct sockaddr_un	 sun;
	int			 s, rc;

	if (d == NULL || strncmp(d, "unix://", 7) != 0)
		return 0;
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (strlen(d + 7) >= sizeof(sun.sun_path))
		return 0;
	memcpy(sun.sun_path, d + 7, strlen(d + 7));
	if ((s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1)
		return 0;
	rc = connect(s, (struct sockaddr *)&sun, sizeof(sun)) == 0;
	close(s);
	return rc;
}

/*
 * Landlock: writing anywhere but beneath STACKS_DIR, the private
 * directory (runs) and /dev is refused to the runner and everything it
 * starts.  Reading and executing are left alone: compose needs the
 * system's files.
 */
static int
landlock_writes(int privfd, int devfd)
{
	struct landlock_ruleset_attr	 ra = { 0 };
	struct landlock_path_beneath_attr pb = { 0 };
	uint64_t			 w;
	int				 abi, rs, i;
	int				 fds[3] = { cp.stacks, privfd, devfd };

	abi = (int)syscall(SYS_landlock_create_ruleset, NULL, 0,
	    LANDLOCK_CREATE_RULESET_VERSION);
	if (abi < 1)
		return 0;
	w = LANDLOCK_ACCESS_FS_WRITE_FILE | LANDLOCK_ACCESS_FS_REMOVE_DIR |
	    LANDLOCK_ACCESS_FS_REMOVE_FILE | LANDLOCK_ACCESS_FS_MAKE_CHAR |
	    LANDLOCK_ACCESS_FS_MAKE_DIR | LANDLOCK_ACCESS_FS_MAKE_REG |
	    LANDLOCK_ACCESS_FS_MAKE_SOCK | LANDLOCK_ACCESS_FS_MAKE_FIFO |
	    LANDLOCK_ACCESS_FS_MAKE_BLOCK | LANDLOCK_ACCESS_FS_MAKE_SYM;
#ifdef LANDLOCK_ACCESS_FS_REFER
	if (abi >= 2)
		w |= LANDLOCK_ACCESS_FS_REFER;
#endif
#ifdef LANDLOCK_ACCESS_FS_TRUNCATE
	if (abi >= 3)
		w |= LANDLOCK_ACCESS_FS_TRUNCATE;
#endif
	ra.handled_access_fs = w;
	if ((rs = (int)syscall(SYS_landlock_create_ruleset, &ra, sizeof(ra),
	    0)) == -1)
		fatal("landlock_create_ruleset");
	for (i = 0; i < 3; i++) {
		if (fds[i] == -1)
			continue;
		pb.parent_fd = fds[i];
		pb.allowed_access = w & ~(uint64_t)(LANDLOCK_ACCESS_FS_MAKE_CHAR |
		    LANDLOCK_ACCESS_FS_MAKE_BLOCK | LANDLOCK_ACCESS_FS_MAKE_SOCK |
		    LANDLOCK_ACCESS_FS_MAKE_FIFO);
		if (i == 2)	/* /dev: only writing to what is there */
			pb.allowed_access = w & (LANDLOCK_ACCESS_FS_WRITE_FILE
#ifdef LANDLOCK_ACCESS_FS_TRUNCATE
			    | (abi >= 3 ? LANDLOCK_ACCESS_FS_TRUNCATE : 0)
#endif
			    );
		if (syscall(SYS_landlock_add_rule, rs,
		    LANDLOCK_RULE_PATH_BENEATH, &pb, 0) == -1)
			fatal("landlock_add_rule");
	}
	if (syscall(SYS_landlock_restrict_self, rs, 0) == -1)
		fatal("landlock_restrict_self");
	close(rs);
	return abi;
}

/*
 * seccomp, inherited by compose and everything it runs: the runner
 * must create processes and compose must run an interpreter, so this is
 * a list of what is refused (EPERM), not of what is allowed: debugging
 * other processes, namespaces, mounts, kernel modules and keyrings, BPF,
 * and sockets other than unix ones (compose's only peer is the agent's
 * socket; Docker does the pulling and building).
 */
static void
seccomp_compose(void)
{
	static const char *const deny[] = {
		"ptrace", "process_vm_readv", "process_vm_writev",
		"mount", "umount2", "pivot_root", "chroot", "unshare", "setns",
		"move_mount", "open_tree", "fsopen", "fsmount", "fspick",
		"mount_setattr", "bpf", "perf_event_open", "keyctl", "add_key",
		"request_key", "init_module", "finit_module", "delete_module",
		"kexec_load", "kexec_file_load", "reboot", "swapon", "swapoff",
		"open_by_handle_at", "name_to_handle_at", "userfaultfd",
		"iopl", "ioperm", "acct", "quotactl", "settimeofday",
		"clock_settime", "clock_adjtime", "adjtimex", "syslog",
		"lookup_dcookie", "vhangup", "personality",
	};
	scmp_filter_ctx	ctx;
	size_t		i;
	int		nr;

	if ((ctx = seccomp_init(SCMP_ACT_ALLOW)) == NULL)
		fatalx("seccomp_init failed");
	for (i = 0; i < nitems(deny); i++) {
		if ((nr = seccomp_syscall_resolve_name(deny[i])) == __NR_SCMP_ERROR)
			continue;
		if (seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), nr, 0) < 0)
			fatalx("seccomp: %s rule", deny[i]);
	}
	if (seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EAFNOSUPPORT), SCMP_SYS(socket),
	    1, SCMP_A0(SCMP_CMP_NE, AF_UNIX)) < 0)
		fatalx("seccomp: socket rule");
	if (seccomp_load(ctx) < 0)
		fatalx("seccomp_load failed");
	seccomp_release(ctx);
}

int
composer_run(struct child_boot *b)
{
	struct ipc_hdr	 hdr;
	struct event	*ev_term, *ev_chld;
	uint8_t		 buf[64];
	uint32_t	 v = IPC_PROTOCOL_VERSION;
	char		*slash;
	int		 root = -1, privfd, devfd, abi;

	signal(SIGPIPE, SIG_IGN);
	signal(SIGHUP, SIG_IGN);
	signal(SIGINT, SIG_IGN);
	TAILQ_INIT(&cp.runs);
	cp.cfg = &b->cfg;
	cp.cmd = b->cfg.compose_cmd;
	cp.base = pw_event_base();
	ev_term = evsignal_new(cp.base, SIGTERM, cp_signal, NULL);
	evsignal_add(ev_term, NULL);
	ev_chld = evsignal_new(cp.base, SIGCHLD, cp_signal, NULL);
	evsignal_add(ev_chld, NULL);

	if (ipc_recv_sync(PROC_IPC_FD, &hdr, buf, sizeof(buf), &root) == -1)
		fatal("reading STACKS_DIR from master");
	if (hdr.type != IPC_M_COMPOSE_ROOT || root == -1)
		fatalx("expected STACKS_DIR, got type 0x%04x", hdr.type);
	cp.stacks = root;
	if (b->cfg.val[CK__COMPOSE_SOCKET] == NULL ||
	    b->cfg.val[CK__COMPOSE_TOKEN] == NULL)
		fatalx("no compose socket or credential from master");
	pw_strlcpy(cp.privdir, b->cfg.val[CK__COMPOSE_SOCKET],
	    sizeof(cp.privdir));
	if ((slash = strrchr(cp.privdir, '/')) == NULL)
		fatalx("compose socket path %s", cp.privdir);
	*slash = '\0';
	privfd = open(cp.privdir, O_PATH | O_DIRECTORY | O_CLOEXEC);
	devfd = open("/dev", O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (privfd == -1)
		fatal("%s", cp.privdir);
	umask(027);
	/* No chroot: compose needs the system's files.  The rest applies. */
	privdrop_apply(&b->pd);
	stale_runs();
	if ((cp.refuse = docker_reachable()))
		log_error("COMPOSE_USER (uid %u) can connect to Docker's socket "
		    "itself, so compose could act around the agent: compose "
		    "requests are refused. Run compose as a user outside the "
		    "socket's group", (unsigned)getuid());
	if ((abi = landlock_writes(privfd, devfd)) == 0)
		log_warnx("this kernel offers no Landlock: compose may write "
		    "wherever COMPOSE_USER may");
	close(privfd);
	if (devfd != -1)
		close(devfd);
	seccomp_compose();

	cp.master = ipc_chan_new(cp.base, PROC_IPC_FD, "master",
	    cp_perms_master, nitems(cp_perms_master), cp_master_msg,
	    cp_master_closed, NULL);
	ipc_send(cp.master, IPC_C_READY, 0, 0, &v, sizeof(v), -1);
	log_debug("ready (generation %u, uid %u, Landlock ABI %d)", b->gen,
	    (unsigned)getuid(), abi);
	event_base_dispatch(cp.base);
	return 0;
}
