/*
 * pfiles.c: the proxy's side of host file writes (POST /api/v1/files
 * under ADAPTER=dockeragent with HOST_FILES_ROOT).  The worker checked
 * the request and sent the content as the body; the proxy spooled it
 * into a memfd, which is sealed here and handed to filed with the
 * cleaned path, the permission bits and the content's SHA-256
 * (IPC_P_FILE_WRITE).  filed's answer (IPC_F_WRITTEN) says what it
 * wrote; the request's own code audits it and answers the client.
 */
#include "pwbuild.h"

#include <sys/queue.h>

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dagent.h"
#include "ipc.h"
#include "log.h"
#include "proxy.h"
#include "util.h"

struct pfw {
	TAILQ_ENTRY(pfw)	 entry;
	uint32_t		 id;
	pfw_done		 done;
	void			*arg;
};

static struct {
	struct ipc_chan		*chan;
	uint32_t		 next_id;
	TAILQ_HEAD(, pfw)	 pending;
	int			 inited;
} pf;

static const struct ipc_perm perms_filed[] = {
	{ IPC_F_WRITTEN, 4 + 4 + 8 + 32, 4 + 4 + 512 + 8 + 32, 0 },
};

static void
pf_init(void)
{
	if (!pf.inited) {
		TAILQ_INIT(&pf.pending);
		pf.inited = 1;
	}
}

static void
pf_finish(struct pfw *w, int status, const char *reason, uint64_t size,
    const uint8_t digest[32])
{
	TAILQ_REMOVE(&pf.pending, w, entry);
	w->done(w->arg, status, reason, size, digest);
	free(w);
}

static void
pf_msg(struct ipc_chan *ch, struct ipc_msg *m, void *arg)
{
	struct ipc_rd	 rd;
	struct pfw	*w;
	char		 reason[512];
	uint8_t		 digest[32];
	uint64_t	 size;
	uint32_t	 status;

	ipc_rd_init(&rd, m);
	status = ipc_rd_u32(&rd);
	ipc_rd_str(&rd, reason, sizeof(reason));
	size = ipc_rd_u64(&rd);
	ipc_rd_bytes(&rd, digest, sizeof(digest));
	if (ipc_rd_end(&rd) == -1 || (status != 0 && (status < 400 ||
	    status > 599))) {
		log_warnx("filed sent a malformed answer");
		return;
	}
	TAILQ_FOREACH(w, &pf.pending, entry)
		if (w->id == m->hdr.id)
			break;
	if (w == NULL)
		return;		/* cancelled: the client went away */
	pf_finish(w, (int)status, reason, size, digest);
}

/* filed went away: every write in flight is answered as unavailable. */
static void
pf_closed(struct ipc_chan *ch, void *arg)
{
	if (pf.chan == ch)
		pf.chan = NULL;
	ipc_chan_free(ch);
	while (!TAILQ_EMPTY(&pf.pending))
		pf_finish(TAILQ_FIRST(&pf.pending), 503, "the host file "
		    "writer stopped; the file may or may not have been "
		    "written", 0, NULL);
}

/* IPC_M_FILED_CHAN: filed's channel (again after a restart). */
void
pfiles_chan(struct event_base *base, int fd)
{
	pf_init();
	if (pf.chan != NULL)
		ipc_chan_free(pf.chan);
	pf.chan = ipc_chan_new(base, fd, "filed", perms_filed,
	    nitems(perms_filed), pf_msg, pf_closed, NULL);
}

/*
 * Ask filed to write len bytes held in memfd (sealed here, and closed)
 * to path.  NULL when filed cannot be asked: the caller answers 503.
 */
struct pfw *
pfiles_write(const char *path, unsigned mode, int memfd, uint64_t len,
    const uint8_t *digest, pfw_done done, void *arg)
{
	struct ipc_wr	 wr;
	struct pfw	*w;

	pf_init();
	if (pf.chan == NULL || fcntl(memfd, F_ADD_SEALS, F_SEAL_SHRINK |
	    F_SEAL_GROW | F_SEAL_WRITE | F_SEAL_SEAL) == -1) {
		if (pf.chan != NULL)
			log_warn("sealing a file's content");
		close(memfd);
		return NULL;
	}
	w = xcalloc(1, sizeof(*w));
	w->id = ++pf.next_id;
	w->done = done;
	w->arg = arg;
	ipc_wr_init(&wr);
	ipc_wr_str(&wr, path);
	ipc_wr_u32(&wr, mode);
	ipc_wr_u64(&wr, len);
	ipc_wr_bytes(&wr, digest, 32);
	if (ipc_send(pf.chan, IPC_P_FILE_WRITE, 0, w->id, wr.buf, wr.len,
	    memfd) == -1) {
		ipc_wr_free(&wr);
		free(w);
		return NULL;
	}
	ipc_wr_free(&wr);
	TAILQ_INSERT_TAIL(&pf.pending, w, entry);
	return w;
}

/* The client went away: filed still writes, nobody is told. */
void
pfiles_cancel(struct pfw *w)
{
	TAILQ_REMOVE(&pf.pending, w, entry);
	free(w);
}
