/* http_hmac: see http_hmac.h. */
#include <errno.h>
#include <stdlib.h>
#include <time.h>

#include "common/http_hmac.h"
#include "common/xalloc.h"

int http_hmac_verify(http_request_t *req, const hmac_keyring_t *keys, int window_s,
                     hmac_replay_fn replay, void *replay_ud, const char **reason,
                     const char **key_out)
{
    size_t nq = 0;
    const http_kv_t *q = http_request_query_all(req, &nq);
    hmac_kv_t *query = nq ? xmalloc(nq * sizeof(*query)) : NULL;
    for (size_t i = 0; i < nq; i++) {
        query[i].key = q[i].key;
        query[i].value = q[i].value;
    }
    size_t blen = 0;
    const void *body = http_request_body(req, &blen);
    hmac_request_t r = {
        .method = http_request_method(req),
        .path = http_request_path(req),
        .query = query,
        .nquery = nq,
        .body = body,
        .body_len = blen,
        .key = http_request_header(req, HMAC_HDR_KEY),
        .timestamp = http_request_header(req, HMAC_HDR_TIMESTAMP),
        .nonce = http_request_header(req, HMAC_HDR_NONCE),
        .signature = http_request_header(req, HMAC_HDR_SIGNATURE),
    };
    if (key_out)
        *key_out = r.key;
    int rc = hmac_verify(keys, &r, (int64_t)time(NULL), window_s, replay, replay_ud, reason);
    free(query);
    return rc;
}
