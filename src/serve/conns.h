/* Who may hold a connection to the service (conns.c): libmicrohttpd's accept policy and
 * its connection notices, and the limits they keep. Only http.c and conns.c see it (it
 * needs microhttpd.h; serve.h does not). */
#ifndef SPREC_SERVE_CONNS_H
#define SPREC_SERVE_CONNS_H

#include <microhttpd.h>
#include <sprec.h>
#include <stdint.h>

/* The limits (README, "Errors and limits"). A thread per connection and select(): the
 * process has 1024 descriptors for everything, so 512 connections in all. One client
 * address holds at most 64; the last 64 are kept for addresses that hold fewer than 4
 * (a health check, a client from another machine), so that a few addresses flooding
 * the service with idle connections cannot lock everyone out. A connection on which
 * nothing has moved for 15 s (no request, half its headers, a body that stopped) is
 * closed: it cannot hold its place for longer. */
enum {
  SERVE_CONN_MAX = 512,
  SERVE_CONN_PER_CLIENT = 64,
  SERVE_CONN_RESERVED = 64,
  SERVE_CONN_LIGHT = 4,
  SERVE_CONN_IDLE_S = 15
};

typedef struct serve_conns serve_conns;
sprec_err serve_conns_create(serve_conns **c);
void serve_conns_destroy(serve_conns **c);
/* For MHD_start_daemon (its cls: the serve_conns): the accept policy, and the notice of
 * connections started and closed (MHD_OPTION_NOTIFY_CONNECTION), which keeps count. */
enum MHD_Result serve_conns_accept(void *cls, const struct sockaddr *addr, socklen_t len);
void serve_conns_notify(void *cls, struct MHD_Connection *c, void **ctx, enum MHD_ConnectionNotificationCode what);
/* Connections open now, and refused since the start (for the metrics). */
void serve_conns_counts(serve_conns *c, uint64_t *open, uint64_t *refused);

#endif
