/*
 * frame.h: the stream between a worker and the proxy.
 *
 * For a client connection's first proxied request the worker creates an
 * AF_UNIX stream socketpair and hands one end to the proxy with
 * IPC_W_STREAM; the stream then serves that connection's requests one
 * after the other.  Until an upgrade, both directions carry frames: an
 * 8-byte header (type, length) then the payload.
 *
 *   worker -> proxy: REQ (the request head, see proxy/proxy.h), DATA*
 *                    (request body, transfer coding removed), END; or,
 *                    for a large Content-Length body (PXF_RAWBODY), REQ,
 *                    exactly that many raw bytes, END.
 *   proxy -> worker: HEAD (struct frame_head + header lines), DATA*, END;
 *                    or ABORT when the response cannot be completed (the
 *                    worker then closes the client connection so a
 *                    truncated body is never mistaken for a whole one).
 *
 * An exchange is over when both sides have sent END; the stream is then
 * ready for the next REQ.  After a HEAD with status 101 both sides switch
 * to raw bytes in both directions; shutdown(SHUT_WR) carries a half-close
 * across, and close ends the session (an upgraded stream is never
 * reused, nor is one that carried ABORT).  Closing the stream at any time
 * cancels the request: the proxy drops the Docker connection rather than
 * reusing it.
 *
 * The worker declares the body in its REQ; the proxy frames what Docker
 * gets from what it counts.  A body longer or shorter than declared, an
 * empty DATA frame, DATA on a request without a body, or any byte after
 * the worker's END before the answer has ended aborts the exchange and
 * closes that Docker connection (proxy/proxy.c, frame_misfit).
 */
#ifndef PW_FRAME_H
#define PW_FRAME_H

#include <stddef.h>
#include <stdint.h>

#define FRAME_DATA	1
#define FRAME_END	2
#define FRAME_ABORT	3
#define FRAME_HEAD	4
#define FRAME_REQ	5
#define FRAME_CANCEL	6	/* worker -> proxy, u32 authd spawn generation,
				   u32 request id: that authd went away after
				   the worker asked it to pass that request
				   on; has it come? */
#define FRAME_NOREQ	7	/* proxy -> worker: it has not and will not (the
				   worker answers 503); when it has, the
				   answer to it is the reply */

/*
 * As large as one read of a body leg (PW_BEV_FILL_MAX), so that a frame
 * usually carries whole evbuffer chains and moves without a copy; and
 * well under the 256 KiB high-water marks, which must hold a whole frame.
 */
#define FRAME_MAX_DATA	(128 * 1024)
#define FRAME_MAX_HEAD	(72 * 1024)

struct frame_hdr {
	uint32_t	type;
	uint32_t	len;
};

/* Payload of FRAME_HEAD, followed by "Name: value\r\n" lines. */
struct frame_head {
	uint32_t	status;
	uint32_t	flags;
#define FH_LENGTH	0x01	/* content_length is the exact body size */
#define FH_NOBODY	0x02	/* no body follows (HEAD, 204, 304) */
#define FH_UPGRADE	0x04	/* raw bytes both ways after this head */
#define FH_CLOSE	0x08	/* upstream asked to close the connection */
#define FH_KEEPALIVE	0x10	/* say "Connection: keep-alive" even on 1.1
				   (SSE clients expect it spelled out) */
	uint64_t	content_length;
};

/* Flags of a REQ frame. */
#define PXF_PING	0x01	/* fixed GET /_ping for readiness; no approval */
#define PXF_UPGRADE	0x02	/* client asked for Connection: Upgrade */
#define PXF_DD		0x04	/* a Drydock /api route, served by the proxy */
#define PXF_RAWBODY	0x08	/* REQ_BODY_LENGTH only: the declared number of
				   body bytes follow the REQ unframed (no DATA
				   headers), then END.  Lets both sides splice
				   a large body instead of copying it */

/* Request framing announced by the worker in a REQ frame. */
#define REQ_BODY_NONE		0
#define REQ_BODY_LENGTH		1
#define REQ_BODY_CHUNKED	2

/* frame.c: a REQ's payload after its flags and approval. */
struct ipc_wr;
void	frame_req_rest(struct ipc_wr *, const char *, const char *, int,
	    uint64_t, const char *, const char *);
void	frame_req_header(struct ipc_wr *, const char *, size_t, const char *,
	    size_t);
void	frame_req_end(struct ipc_wr *);

#endif
