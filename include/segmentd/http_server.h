/* The HTTP server: libmicrohttpd with an epoll thread pool for I/O, and request workers for the
 * handlers that touch the database. */
#ifndef SEGMENTD_HTTP_SERVER_H
#define SEGMENTD_HTTP_SERVER_H

#include <stdbool.h>
#include <stdint.h>

#include "segmentd/app.h"
#include "segmentd/rc.h"

struct sd_http_server;

/* Binds [http] bind:port and starts serving `app->routes`. */
enum sd_rc sd_http_start(struct sd_app *app, struct sd_http_server **out) SD_MUST_CHECK;
/* The port actually bound (useful with port 0). */
uint16_t sd_http_port(const struct sd_http_server *srv);
/* Graceful stop: stop accepting, let in-flight requests finish (up to `timeout_ms`), stop. */
void sd_http_stop(struct sd_http_server *srv, int64_t timeout_ms);

#endif
