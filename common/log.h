/*
 * log.h: one line per event on stderr, level-filtered, text or JSON.
 * Children send their events to the master (log_to_channel), which writes
 * them (log_relay).
 * log_warn appends strerror(errno); fatal/fatalx exit and are reserved for
 * broken invariants and misbehaving trusted peers, never for bad network
 * input.
 */
#ifndef PW_LOG_H
#define PW_LOG_H

#include <stdarg.h>
#include <stddef.h>

enum log_level {
	LOG_LVL_ERROR = 0,
	LOG_LVL_WARN,
	LOG_LVL_INFO,
	LOG_LVL_DEBUG,
};

void	log_init(const char *, int, int);
void	log_procname(const char *);
void	log_to_channel(int);
void	log_relay(const char *, long, int, const char *, size_t);
void	log_setlevel(int);
int	log_getlevel(void);
int	log_parse_level(const char *);
const char *log_level_name(int);
void	log_warn(const char *, ...) __attribute__((__format__(printf, 1, 2)));
void	log_warnx(const char *, ...) __attribute__((__format__(printf, 1, 2)));
void	log_error(const char *, ...) __attribute__((__format__(printf, 1, 2)));
void	log_info(const char *, ...) __attribute__((__format__(printf, 1, 2)));
void	log_debug(const char *, ...) __attribute__((__format__(printf, 1, 2)));
void	fatal(const char *, ...) __attribute__((__format__(printf, 1, 2)))
	    __attribute__((__noreturn__));
void	fatalx(const char *, ...) __attribute__((__format__(printf, 1, 2)))
	    __attribute__((__noreturn__));
const char *log_vis(char *, size_t, const char *, size_t);

#define LOG_VIS_MAX	256
#define LOG_MSG_MAX	2047	/* longest message text a child sends */

#endif
