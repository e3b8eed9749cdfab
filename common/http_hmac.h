/* http_hmac: verifies an HMAC-signed request (common/hmac.h) received by common/http.h.
 *
 * Every daemon with a signed API (service discovery, AgentCenter's admin API, the hub, the
 * manager's service endpoints) authenticates the same way: the request's method, decoded
 * path, decoded query pairs, body and the four X-Rampart-* headers go to hmac_verify(). This
 * module does that translation once. Use it from an http_auth_fn. */
#ifndef RAMPART_COMMON_HTTP_HMAC_H
#define RAMPART_COMMON_HTTP_HMAC_H

#include "common/hmac.h"
#include "common/http.h"

/* Verifies req at the current wall-clock time. Returns what hmac_verify() returns (0,
 * -EACCES with *reason, or the replay hook's error). *key_out, when not NULL, receives the
 * access key header as sent (or NULL), for logging. */
int http_hmac_verify(http_request_t *req, const hmac_keyring_t *keys, int window_s,
                     hmac_replay_fn replay, void *replay_ud, const char **reason,
                     const char **key_out);

#endif
