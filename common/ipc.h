/*
 * ipc.h: framed, typed messages between portwing processes.
 *
 * Every channel is an AF_UNIX SOCK_SEQPACKET socketpair, so one message is
 * one record: the kernel keeps boundaries and ties a passed descriptor to
 * the record it came with.  Each record is a fixed header (struct ipc_hdr)
 * and a payload of hdr.len bytes.  Receivers check every record against
 * the channel's permission table (type, payload size bounds, whether a
 * descriptor is expected) before the handler sees it; anything else ends
 * the peer.  Payloads are read with the ipc_rd_* helpers, which refuse to
 * read past the end and make the handler check that nothing is left over.
 */
#ifndef PW_IPC_H
#define PW_IPC_H

#include <sys/queue.h>
#include <stddef.h>
#include <stdint.h>

#include <event2/event.h>

#include "ipc_msg.h"

struct ipc_hdr {
	uint16_t	type;
	uint16_t	flags;
#define IPC_F_FD	0x0001		/* a descriptor travels with this record */
	uint32_t	len;		/* payload bytes after the header */
	uint32_t	peer;		/* sender's peer id (worker slot) */
	uint32_t	id;		/* request id, echoed in answers */
};

struct ipc_msg {
	struct ipc_hdr	 hdr;
	const uint8_t	*data;
	int		 fd;		/* -1, or owned by the handler */
};

/* What a channel accepts: one row per message type it may receive. */
struct ipc_perm {
	uint16_t	type;
	uint32_t	minlen;
	uint32_t	maxlen;
	int		fd;		/* 1: required, 0: refused, 2: optional */
};
#define IPC_FD_OPTIONAL	2

struct ipc_chan;
typedef void (*ipc_handler)(struct ipc_chan *, struct ipc_msg *, void *);
typedef void (*ipc_closed)(struct ipc_chan *, void *);

struct ipc_chan *ipc_chan_new(struct event_base *, int, const char *,
	    const struct ipc_perm *, size_t, ipc_handler, ipc_closed, void *);
struct ipc_chan *ipc_chan_new_polled(int, const char *,
	    const struct ipc_perm *, size_t, ipc_handler, ipc_closed, void *,
	    void (*)(void *), void *);
void	 ipc_chan_readable(struct ipc_chan *);
void	 ipc_chan_writable(struct ipc_chan *);
void	 ipc_chan_free(struct ipc_chan *);
int	 ipc_send(struct ipc_chan *, uint16_t, uint32_t, uint32_t,
	    const void *, size_t, int);
int	 ipc_send_sync(int, uint16_t, uint32_t, uint32_t, const void *,
	    size_t, int);
int	 ipc_recv_sync(int, struct ipc_hdr *, uint8_t *, size_t, int *);
void	 ipc_set_peer(struct ipc_chan *, uint32_t);
void	 ipc_set_batch(struct ipc_chan *, int);
uint32_t ipc_peer(struct ipc_chan *);
int	 ipc_fd(struct ipc_chan *);
const char *ipc_name(struct ipc_chan *);
size_t	 ipc_queued(struct ipc_chan *);
int	 ipc_socketpair(int[2]);
const char *ipc_type_name(uint16_t);

/* Payload builder. */
struct ipc_wr {
	uint8_t	*buf;
	size_t	 len;
	size_t	 cap;
};
void	ipc_wr_init(struct ipc_wr *);
void	ipc_wr_free(struct ipc_wr *);
void	ipc_wr_u8(struct ipc_wr *, uint8_t);
void	ipc_wr_u32(struct ipc_wr *, uint32_t);
void	ipc_wr_u64(struct ipc_wr *, uint64_t);
void	ipc_wr_bytes(struct ipc_wr *, const void *, size_t);
void	ipc_wr_str(struct ipc_wr *, const char *);
void	ipc_wr_strn(struct ipc_wr *, const char *, size_t);

/* Payload reader: the first error sticks, ipc_rd_end reports it. */
struct ipc_rd {
	const uint8_t	*p;
	size_t		 left;
	int		 err;
};
void	 ipc_rd_init(struct ipc_rd *, const struct ipc_msg *);
uint8_t	 ipc_rd_u8(struct ipc_rd *);
uint32_t ipc_rd_u32(struct ipc_rd *);
uint64_t ipc_rd_u64(struct ipc_rd *);
void	 ipc_rd_bytes(struct ipc_rd *, void *, size_t);
const char *ipc_rd_strp(struct ipc_rd *, size_t *, size_t);
void	 ipc_rd_str(struct ipc_rd *, char *, size_t);
char	*ipc_rd_strdup(struct ipc_rd *, size_t);
const uint8_t *ipc_rd_rest(struct ipc_rd *, size_t *);
int	 ipc_rd_end(struct ipc_rd *);

#endif
