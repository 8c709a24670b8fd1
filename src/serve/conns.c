/* The service's connections, counted by client address, for its accept policy: a
 * thread per connection waits on the socket, so every idle connection holds one of a
 * bounded number of places, and nothing but the policy (and the idle timeout) stops a
 * few clients from taking them all. The listening thread calls serve_conns_accept and
 * then, for a connection it keeps, the notice "started", one after the other: the
 * counts it reads are exact; "closed" comes from the connection's own thread. */
#include "conns.h"

#include <netinet/in.h>
#include <pthread.h>
#include <stdlib.h>

typedef struct {
  uint32_t addr; /* IPv4, network order (the service listens on IPv4 only) */
  unsigned n;    /* connections it holds */
} client;

struct serve_conns {
  pthread_mutex_t mu;
  unsigned open;
  uint64_t refused;
  client by[SERVE_CONN_MAX + 64]; /* one per address that holds any (no more than open) */
  unsigned clients;
};

static uint32_t addr_of(const struct sockaddr *a, socklen_t len)
{
  if (a && a->sa_family == AF_INET && len >= (socklen_t)sizeof(struct sockaddr_in))
    return ((const struct sockaddr_in *)a)->sin_addr.s_addr;
  return 0; /* (another family: all of them count as one client) */
}

/* The entry of addr (a new one with n = 0 if add); NULL if none. Caller holds mu. */
static client *find(serve_conns *c, uint32_t addr, int add)
{
  for (unsigned i = 0; i < c->clients; i++)
    if (c->by[i].addr == addr) return &c->by[i];
  if (!add || c->clients == sizeof c->by / sizeof c->by[0]) return NULL;
  c->by[c->clients] = (client){addr, 0};
  return &c->by[c->clients++];
}

sprec_err serve_conns_create(serve_conns **out)
{
  serve_conns *c = calloc(1, sizeof *c);
  *out = c;
  SPREC_CHECK(c, SPREC_ERR_MEM, "out of memory");
  pthread_mutex_init(&c->mu, NULL);
  return SPREC_OK;
}

void serve_conns_destroy(serve_conns **c)
{
  if (!c || !*c) return;
  pthread_mutex_destroy(&(*c)->mu);
  free(*c);
  *c = NULL;
}

enum MHD_Result serve_conns_accept(void *cls, const struct sockaddr *addr, socklen_t len)
{
  serve_conns *c = cls;
  pthread_mutex_lock(&c->mu);
  const client *k = find(c, addr_of(addr, len), 0);
  unsigned held = k ? k->n : 0;
  int ok = c->open < SERVE_CONN_MAX && held < SERVE_CONN_PER_CLIENT &&
           (c->open < SERVE_CONN_MAX - SERVE_CONN_RESERVED || held < SERVE_CONN_LIGHT);
  if (!ok) c->refused++;
  pthread_mutex_unlock(&c->mu);
  return ok ? MHD_YES : MHD_NO;
}

void serve_conns_notify(void *cls, struct MHD_Connection *mc, void **ctx, enum MHD_ConnectionNotificationCode what)
{
  (void)ctx;
  serve_conns *c = cls;
  const union MHD_ConnectionInfo *i = MHD_get_connection_info(mc, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
  uint32_t addr = addr_of(i ? i->client_addr : NULL, sizeof(struct sockaddr_in));
  pthread_mutex_lock(&c->mu);
  client *k = find(c, addr, what == MHD_CONNECTION_NOTIFY_STARTED);
  if (what == MHD_CONNECTION_NOTIFY_STARTED) {
    c->open++;
    if (k) k->n++;
  } else if (c->open > 0) {
    c->open--;
    if (k && k->n > 0 && --k->n == 0) *k = c->by[--c->clients]; /* (the last entry takes its place) */
  }
  pthread_mutex_unlock(&c->mu);
}

void serve_conns_counts(serve_conns *c, uint64_t *open, uint64_t *refused)
{
  pthread_mutex_lock(&c->mu);
  *open = c->open;
  *refused = c->refused;
  pthread_mutex_unlock(&c->mu);
}
