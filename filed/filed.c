/*
 * filed.c: the host file writer ("portwingd: filed"), started only when
 * HOST_FILES_ROOT is set.  It holds one directory descriptor, the root
 * the master opened for it, and may only create directories and write
 * regular files beneath it (filed/fwrite.c).  It parses nothing a client
 * wrote: the worker checked dockeragent's JSON, the proxy holds the
 * content in a sealed memfd and asks with the cleaned path, the
 * permission bits and the content's SHA-256; filed checks all of that
 * again, writes, and answers with the size and digest of what it wrote.
 *
 * Two walls keep it beneath the root.  Every path is resolved by
 * openat2 with RESOLVE_BENEATH (in fwrite.c); and since seccomp cannot
 * read openat2's flags, a Landlock ruleset allows file system access
 * only beneath the root's descriptor, so even a filed that called
 * openat2 without that flag could write nothing else.
 */
#include "pwbuild.h"

#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <linux/landlock.h>
#include <linux/openat2.h>

#include <event2/event.h>

#include "child.h"
#include "dagent.h"
#include "filed.h"
#include "fwrite.h"
#include "ipc.h"
#include "log.h"
#include "pwcrypto.h"
#include "sandbox.h"
#include "util.h"

static struct {
	struct event_base	*base;
	struct ipc_chan		*master;
	struct ipc_chan		*proxy;
	int			 root;
	char			*allow;		/* HOST_FILES_ALLOW, cleaned */
	int			 landlock;	/* the ABI applied, 0: none */
} fd_ = { .root = -1 };

static const struct ipc_perm fd_perms_master[] = {
	{ IPC_M_FILED_CHAN, 0, 0, 1 },
	{ IPC_M_SHUTDOWN, 0, 0, 0 },
	{ IPC_M_RELOAD, 4, IPC_MAX_CONFIG, 0 },
	{ IPC_M_PING, 0, 0, 0 },
};

static const struct ipc_perm fd_perms_proxy[] = {
	{ IPC_P_FILE_WRITE, 4 + 1 + 4 + 8 + 32, 4 + DA_PATH_MAX + 4 + 8 + 32,
	    1 },
};

static void
answer(uint32_t id, int status, const char *reason, uint64_t size,
    const uint8_t digest[32])
{
	struct ipc_wr	wr;
	static const uint8_t none[32];

	ipc_wr_init(&wr);
	ipc_wr_u32(&wr, (uint32_t)status);
	ipc_wr_str(&wr, reason);
	ipc_wr_u64(&wr, size);
	ipc_wr_bytes(&wr, digest != NULL ? digest : none, 32);
	if (fd_.proxy != NULL)
		ipc_send(fd_.proxy, IPC_F_WRITTEN, 0, id, wr.buf, wr.len, -1);
	ipc_wr_free(&wr);
}

/* The HTTP status a failed write is answered with. */
static int
status_of(int e)
{
	switch (e) {
	case 0:		/* the target exists and is not a regular file */
	case EXDEV:	/* RESOLVE_BENEATH: a link leads out of the root */
	case ELOOP:
	case ENOTDIR:
	case EISDIR:
	case ENAMETOOLONG:
	case EINVAL:
		return 400;
	case EACCES:
	case EPERM:
	case EROFS:
		return 403;
	default:
		return 500;
	}
}

/* IPC_P_FILE_WRITE: check everything again, then write. */
static void
file_write(struct ipc_msg *m)
{
	const int	 want = F_SEAL_WRITE | F_SEAL_SHRINK | F_SEAL_GROW;
	struct ipc_rd	 rd;
	struct stat	 st;
	char		 path[DA_PATH_MAX], clean[DA_PATH_MAX], err[512];
	uint8_t		 digest[32], got[32];
	uint64_t	 len;
	uint32_t	 mode;
	void		*map = NULL;
	int		 seals, e;

	ipc_rd_init(&rd, m);
	ipc_rd_str(&rd, path, sizeof(path));
	mode = ipc_rd_u32(&rd);
	len = ipc_rd_u64(&rd);
	ipc_rd_bytes(&rd, digest, sizeof(digest));
	if (ipc_rd_end(&rd) == -1 || m->fd == -1 ||
	    dagent_path_clean(path, clean, sizeof(clean)) != DA_PATH_OK ||
	    strcmp(path, clean) != 0 || mode > 0777 || len > DAGENT_BODY_MAX) {
		log_warnx("request %u: a malformed write request", m->hdr.id);
		answer(m->hdr.id, 500, "malformed write request", 0, NULL);
		goto out;
	}
	if (!dagent_path_allowed(path, fd_.allow)) {
		answer(m->hdr.id, 403, "path is outside HOST_FILES_ALLOW", 0,
		    NULL);
		goto out;
	}
	seals = fcntl(m->fd, F_GET_SEALS);
	if (seals == -1 || (seals & want) != want || fstat(m->fd, &st) == -1 ||
	    (uint64_t)st.st_size != len) {
		log_warnx("request %u: the content is not a sealed memfd of "
		    "%llu bytes", m->hdr.id, (unsigned long long)len);
		answer(m->hdr.id, 500, "malformed write request", 0, NULL);
		goto out;
	}
	if (len > 0 && (map = mmap(NULL, (size_t)len, PROT_READ, MAP_PRIVATE,
	    m->fd, 0)) == MAP_FAILED) {
		map = NULL;
		log_warn("request %u: mapping the content", m->hdr.id);
		answer(m->hdr.id, 500, "cannot read the content", 0, NULL);
		goto out;
	}
	pwc_sha256(map != NULL ? map : "", (size_t)len, got);
	if (memcmp(got, digest, sizeof(got)) != 0) {
		log_warnx("request %u: the content does not match its digest",
		    m->hdr.id);
		answer(m->hdr.id, 500, "malformed write request", 0, NULL);
		goto out;
	}
#ifdef PW_TEST_HOOKS
	/*
	 * Test build: a filed that forgets RESOLVE_BENEATH and climbs out of
	 * the root, to show that Landlock stops it (EACCES) where openat2's
	 * flags, which seccomp cannot read, would not.
	 */
	{
		const char *leaf = strrchr(path, '/') + 1;
		if (strncmp(leaf, "portwing-test-escape", 20) == 0) {
			struct open_how how = { .flags = O_WRONLY | O_CREAT |
			    O_CLOEXEC, .mode = 0600 };
			char up[DA_PATH_MAX];
			int xfd;
			snprintf(up, sizeof(up), "../%s", leaf);
			xfd = (int)syscall(SYS_openat2, fd_.root, up, &how,
			    sizeof(how));
			e = errno;
			if (xfd != -1)
				close(xfd);
			snprintf(err, sizeof(err), "test hook: an open above "
			    "the root %s (%s)", xfd != -1 ? "succeeded" :
			    "was refused", xfd != -1 ? "-" : strerror(e));
			answer(m->hdr.id, 403, err, 0, NULL);
			goto out;
		}
	}
#endif
	if (fw_write(fd_.root, path + 1, map != NULL ? map : "", (size_t)len,
	    (mode_t)mode, err, sizeof(err)) == -1) {
		e = errno;
		log_info("request %u: %s", m->hdr.id, err);
		answer(m->hdr.id, status_of(e), e == EXDEV || e == ELOOP ?
		    "path resolves outside the host files root" : err, 0, NULL);
		goto out;
	}
	log_debug("request %u: wrote %s (%llu bytes, mode %04o)", m->hdr.id,
	    path, (unsigned long long)len, mode);
	answer(m->hdr.id, 0, "", len, got);
out:
	if (map != NULL)
		munmap(map, (size_t)len);
	if (m->fd != -1)
		close(m->fd);
}

static void
fd_proxy_msg(struct ipc_chan *ch, struct ipc_msg *m, void *arg)
{
	if (m->hdr.type == IPC_P_FILE_WRITE)
		file_write(m);
	else if (m->fd != -1)
		close(m->fd);
}

static void
fd_proxy_closed(struct ipc_chan *ch, void *arg)
{
	if (fd_.proxy == ch)
		fd_.proxy = NULL;
	ipc_chan_free(ch);
}

static void
fd_master_msg(struct ipc_chan *ch, struct ipc_msg *m, void *arg)
{
	switch (m->hdr.type) {
	case IPC_M_FILED_CHAN:
		if (fd_.proxy != NULL)
			ipc_chan_free(fd_.proxy);
		fd_.proxy = ipc_chan_new(fd_.base, m->fd, "proxy",
		    fd_perms_proxy, nitems(fd_perms_proxy), fd_proxy_msg,
		    fd_proxy_closed, NULL);
		break;
	case IPC_M_SHUTDOWN:
		exit(0);
	case IPC_M_RELOAD:
		break;
	case IPC_M_PING:
		ipc_send(fd_.master, IPC_C_PONG, 0, m->hdr.id, NULL, 0, -1);
		break;
	default:
		fatalx("unexpected message 0x%04x from master", m->hdr.type);
	}
}

static void
fd_master_closed(struct ipc_chan *ch, void *arg)
{
	log_warnx("master went away; exiting");
	exit(0);
}

static void
fd_signal(evutil_socket_t sig, short ev, void *arg)
{
	exit(0);
}

/*
 * Landlock: of the file system, only what lies beneath the root, and
 * there only what writing files takes.  The ABI the kernel offers
 * decides which rights are known; 0 when it offers none (then openat2's
 * RESOLVE_BENEATH is the only wall, and the start says so).
 */
static int
landlock_beneath(int root)
{
	struct landlock_ruleset_attr	ra = { 0 };
	struct landlock_path_beneath_attr pb = { 0 };
	uint64_t			all, beneath;
	int				abi, rs;

	abi = (int)syscall(SYS_landlock_create_ruleset, NULL, 0,
	    LANDLOCK_CREATE_RULESET_VERSION);
	if (abi < 1)
		return 0;
	all = LANDLOCK_ACCESS_FS_EXECUTE | LANDLOCK_ACCESS_FS_WRITE_FILE |
	    LANDLOCK_ACCESS_FS_READ_FILE | LANDLOCK_ACCESS_FS_READ_DIR |
	    LANDLOCK_ACCESS_FS_REMOVE_DIR | LANDLOCK_ACCESS_FS_REMOVE_FILE |
	    LANDLOCK_ACCESS_FS_MAKE_CHAR | LANDLOCK_ACCESS_FS_MAKE_DIR |
	    LANDLOCK_ACCESS_FS_MAKE_REG | LANDLOCK_ACCESS_FS_MAKE_SOCK |
	    LANDLOCK_ACCESS_FS_MAKE_FIFO | LANDLOCK_ACCESS_FS_MAKE_BLOCK |
	    LANDLOCK_ACCESS_FS_MAKE_SYM;
	beneath = LANDLOCK_ACCESS_FS_WRITE_FILE | LANDLOCK_ACCESS_FS_READ_DIR |
	    LANDLOCK_ACCESS_FS_REMOVE_FILE | LANDLOCK_ACCESS_FS_MAKE_DIR |
	    LANDLOCK_ACCESS_FS_MAKE_REG;
#ifdef LANDLOCK_ACCESS_FS_REFER
	if (abi >= 2)
		all |= LANDLOCK_ACCESS_FS_REFER;
#endif
#ifdef LANDLOCK_ACCESS_FS_TRUNCATE
	if (abi >= 3) {
		all |= LANDLOCK_ACCESS_FS_TRUNCATE;
		beneath |= LANDLOCK_ACCESS_FS_TRUNCATE;
	}
#endif
	ra.handled_access_fs = all;
	if ((rs = (int)syscall(SYS_landlock_create_ruleset, &ra, sizeof(ra),
	    0)) == -1)
		fatal("landlock_create_ruleset");
	pb.allowed_access = beneath;
	pb.parent_fd = root;
	if (syscall(SYS_landlock_add_rule, rs, LANDLOCK_RULE_PATH_BENEATH,
	    &pb, 0) == -1)
		fatal("landlock_add_rule");
	if (syscall(SYS_landlock_restrict_self, rs, 0) == -1)
		fatal("landlock_restrict_self");
	close(rs);
	return abi;
}

int
filed_run(struct child_boot *b)
{
	struct ipc_hdr	 hdr;
	struct event	*ev_term;
	uint8_t		 buf[64];
	uint32_t	 v = IPC_PROTOCOL_VERSION;
	int		 root = -1;

	signal(SIGPIPE, SIG_IGN);
	signal(SIGHUP, SIG_IGN);
	signal(SIGINT, SIG_IGN);
	fd_.base = pw_event_base();
	ev_term = evsignal_new(fd_.base, SIGTERM, fd_signal, NULL);
	evsignal_add(ev_term, NULL);
	if (b->cfg.files_allow != NULL) {
		size_t n = 0;
		while (b->cfg.files_allow[n] != '\0')
			n += strlen(b->cfg.files_allow + n) + 1;
		fd_.allow = xmalloc(n + 1);
		memcpy(fd_.allow, b->cfg.files_allow, n + 1);
	}

	/* The root, right after the configuration and before the sandbox. */
	if (ipc_recv_sync(PROC_IPC_FD, &hdr, buf, sizeof(buf), &root) == -1)
		fatal("reading the root directory from master");
	if (hdr.type != IPC_M_FILED_ROOT || root == -1)
		fatalx("expected the root directory, got type 0x%04x",
		    hdr.type);
	fd_.root = root;
	/* Directories are made 0755 and files get exactly their bits. */
	umask(022);
	privdrop_apply(&b->pd);
	if ((fd_.landlock = landlock_beneath(root)) == 0)
		log_warnx("this kernel offers no Landlock: writes are kept "
		    "beneath HOST_FILES_ROOT by openat2 alone");
	sandbox_apply(PROC_FILED);

	fd_.master = ipc_chan_new(fd_.base, PROC_IPC_FD, "master",
	    fd_perms_master, nitems(fd_perms_master), fd_master_msg,
	    fd_master_closed, NULL);
	ipc_send(fd_.master, IPC_C_READY, 0, 0, &v, sizeof(v), -1);
	log_debug("ready (generation %u, Landlock ABI %d)", b->gen,
	    fd_.landlock);
	event_base_dispatch(fd_.base);
	return 0;
}
