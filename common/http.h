/*
 * http.h: strict HTTP/1.1 message-head parsing and chunked decoding.
 *
 * Workers use it on client requests, the proxy on the request heads workers
 * hand it and on Docker's responses.  Parsing is in two steps: http_scan
 * finds the end of a head incrementally (rejecting bare CR/LF, NUL and
 * over-long lines as the bytes arrive), then http_parse_request or
 * http_parse_response validates the complete head.  Errors are HTTP status
 * codes with a short reason for the error body.
 */
#ifndef PW_HTTP_H
#define PW_HTTP_H

#include <stddef.h>
#include <stdint.h>

#include <event2/buffer.h>

#define HTTP_MAX_HEADERS	100
#define HTTP_MAX_REQLINE	8192
#define HTTP_MAX_HEAD		(64 * 1024)
#define HTTP_MAX_METHOD		32
#define HTTP_METHOD_BUF		(HTTP_MAX_METHOD + 1)
#define HTTP_MAX_TRAILER	8192
#define HTTP_MAX_CHUNK_EXT	1024

struct http_limits {
	size_t	max_line;		/* first line */
	size_t	max_head;		/* whole head */
	int	max_headers;
};

struct http_scan {
	size_t	pos;
	size_t	line_start;
	int	lines;
};

struct http_hdr {
	const char	*name;
	const char	*value;
	size_t		 nlen;
	size_t		 vlen;
};

struct http_head {
	char		*buf;		/* owned copy of the head */
	size_t		 len;
	/* request line */
	const char	*method;
	const char	*target;	/* path[?query], exactly as received */
	const char	*path;		/* escaped path, NUL-terminated copy */
	char		*pathbuf;	/* owns path */
	const char	*query;		/* raw query without '?', or NULL */
	int		 bare_qmark;	/* target ended in a lone '?' */
	/* status line */
	int		 status;
	int		 minor;		/* HTTP/1.<minor> */
	struct http_hdr	 hdrs[HTTP_MAX_HEADERS];
	int		 nhdrs;
	/* framing and connection semantics */
	int		 has_cl;
	uint64_t	 content_length;
	int		 chunked;
	int		 conn_close;
	int		 conn_keepalive;
	int		 conn_upgrade;
	const char	*upgrade;
	int		 expect_continue;
	int		 keepalive;	/* derived: connection may be reused */
	const char	*error;		/* reason, when parsing failed */
};

void	 http_limits_default(struct http_limits *);
void	 http_scan_init(struct http_scan *);
int	 http_scan(struct http_scan *, const struct http_limits *,
	    const uint8_t *, size_t, int, const char **);
int	 http_parse_request(struct http_head *, const char *, size_t);
int	 http_parse_response(struct http_head *, const char *, size_t);
int	 http_parse_fields(struct http_head *, char *, size_t);
void	 http_head_free(struct http_head *);
const struct http_hdr *http_header(const struct http_head *, const char *);
int	 http_token_list_has(const char *, size_t, const char *);
int	 http_is_tchar(int);
int	 http_valid_method(const char *);
int	 http_valid_target(const char *, size_t);
size_t	 http_percent_decode(const char *, size_t, char *, size_t);
const char *http_reason(int);
int	 http_header_forwardable(const char *);
void	 http_path_alias(char *, size_t);

/* Chunked transfer-coding decoder, resumable across reads. */
struct http_chunked {
	int		state;
	uint64_t	remaining;
	size_t		linelen;
	int		ndigits;
	size_t		trailer;
};
void	http_chunked_init(struct http_chunked *);
int	http_chunked_step(struct http_chunked *, struct evbuffer *,
	    struct evbuffer *, size_t, const char **);

#endif
