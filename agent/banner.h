/* banner.h: the master's start-up greeting (see banner.c). */
#ifndef PW_BANNER_H
#define PW_BANNER_H

void	banner(const char *, const char *, int, const char *);

#endif
