/* See LICENSE file for copyright and license details. */
#ifndef SM_API_H
#define SM_API_H

/*
 * The HTTP front end of sm (SPEC §5.7), lib/api/libsmapi.a: what
 * bin/sm-serve.c uses of it.  Unlike the core (sm.h), the front end words
 * its own messages and the server logs to stderr.  Include after sm.h.
 */

#include <signal.h>

struct addrinfo;

/* route.c: the API, free of any HTTP library */

struct sm_api;

/*
 * Makes the API of cfg (which must outlive it), reading the admin key
 * from serve.admin_key_file when set.  Returns 0, or SM_ECONFIG (the key
 * file is unreadable or empty) with *api NULL.
 */
int sm_api_new(struct sm_api **api, const struct sm_config *cfg);
void sm_api_free(struct sm_api *api);
/* Prints "METHOD PATH" of every route, one a line; 0 or SM_EIO. */
int sm_api_routes(FILE *f);

/*
 * serve.c: the server around the API (libmicrohttpd), one a process.
 * Call sm_serve_limits, then sm_serve_start with SIGINT and SIGTERM
 * blocked in every thread, and sm_serve_stop once one of them came.
 */

/*
 * Takes the limits of cfg's serve section (which must outlive the
 * server) for threads workers: raises the soft limit of open files as
 * far as they need, lowering serve.max_connections with a warning on
 * stderr where even the hard limit is short.  quiet: no request log.
 */
void sm_serve_limits(const struct sm_config *cfg, unsigned int threads,
    int quiet);
/*
 * Listens on ai and serves api there: the acceptor, the watchdog and
 * the workers start.  Returns 0, SM_EIO (cannot listen) or SM_EINTERNAL
 * (cannot start a thread), the message in sm_errmsg().
 */
int sm_serve_start(struct sm_api *api, const struct addrinfo *ai);
/* The port the server listens on. */
unsigned int sm_serve_port(void);
/*
 * Stops on signal sig: stops accepting, answers the requests still
 * waiting 503, and lets those in progress finish for up to
 * serve.timeout_s; then those running are interrupted (rolled back, 503)
 * and those still sending a body cut off.  A second signal of set exits
 * the process at once (130).  Returns the exit status: 0, or 130 when
 * requests were interrupted.
 */
int sm_serve_stop(int sig, const sigset_t *set);

#endif
