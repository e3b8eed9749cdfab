#include "manager/services.h"

#include <curl/curl.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/hmac.h"
#include "common/log.h"
#include "common/strbuf.h"
#include "common/xalloc.h"

#define ANSWER_MAX      (1 << 20)
#define CALL_TIMEOUT_MS 15000L

struct services {
    char **addrs;
    size_t naddrs;
    char *key, *secret;
    int timeout_ms;
};

services_t *services_new(char *const *sd_addrs, const char *access_key, const char *secret,
                         int timeout_ms)
{
    services_t *s = xcalloc(1, sizeof(*s));
    for (size_t i = 0; sd_addrs && sd_addrs[i]; i++)
        s->naddrs++;
    s->addrs = xcalloc(s->naddrs + 1, sizeof(char *));
    for (size_t i = 0; i < s->naddrs; i++) {
        const char *a = sd_addrs[i];
        if (strncmp(a, "http://", 7) == 0)
            a += 7;
        s->addrs[i] = xstrdup(a);
    }
    s->key = access_key && *access_key ? xstrdup(access_key) : NULL;
    s->secret = secret ? xstrdup(secret) : NULL;
    s->timeout_ms = timeout_ms > 0 ? timeout_ms : 2000;
    return s;
}

void services_free(services_t *s)
{
    if (!s)
        return;
    for (size_t i = 0; i < s->naddrs; i++)
        free(s->addrs[i]);
    free(s->addrs);
    free(s->key);
    free(s->secret);
    free(s);
}

typedef struct {
    strbuf_t sb;
    bool too_big;
} sink_t;

static size_t on_data(char *p, size_t size, size_t n, void *ud)
{
    sink_t *k = ud;
    if (k->sb.len + size * n > ANSWER_MAX) {
        k->too_big = true;
        return 0;
    }
    strbuf_append(&k->sb, p, size * n);
    return size * n;
}

/* One HTTP exchange. headers may be NULL. */
static int http_do(services_t *s, const char *method, const char *url, struct curl_slist *headers,
                   const void *body, size_t len, long total_ms, long *status, json_t **resp)
{
    CURL *h = curl_easy_init();
    if (!h)
        return -EIO;
    sink_t k = {STRBUF_INIT, false};
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, total_ms);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, (long)s->timeout_ms);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_data);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &k);
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
    if (headers)
        curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers);
    if (body) {
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE, (long)len);
    }
    CURLcode cc = curl_easy_perform(h);
    *status = 0;
    if (cc == CURLE_OK)
        curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, status);
    curl_easy_cleanup(h);
    if (resp)
        *resp = cc == CURLE_OK && k.sb.len ? json_loadb(k.sb.data, k.sb.len, 0, NULL) : NULL;
    strbuf_dispose(&k.sb);
    if (cc != CURLE_OK) {
        LOG_DEBUG("http_call_failed", "url=%s error=\"%s\"", url, curl_easy_strerror(cc));
        return -EIO;
    }
    return 0;
}

static json_t *sd_get(services_t *s, const char *path)
{
    for (size_t i = 0; i < s->naddrs; i++) {
        char url[512];
        snprintf(url, sizeof(url), "http://%s%s", s->addrs[i], path);
        long st = 0;
        json_t *j = NULL;
        if (http_do(s, "GET", url, NULL, NULL, 0, s->timeout_ms, &st, &j) == 0 && st == 200 && j)
            return j;
        json_decref(j);
    }
    return NULL;
}

int services_lookup(services_t *s, const char *name, svc_instance_t *out, size_t max, size_t *n)
{
    *n = 0;
    if (s->naddrs == 0)
        return 0;
    char *esc = curl_easy_escape(NULL, name, 0);
    char path[300];
    snprintf(path, sizeof(path), "/api/v1/services/%s", esc ? esc : "");
    curl_free(esc);
    json_t *j = sd_get(s, path);
    if (!j)
        return -EIO;
    size_t i;
    json_t *it;
    json_array_foreach(json_object_get(j, "instances"), i, it)
    {
        if (*n >= max)
            break;
        const char *ip = json_string_value(json_object_get(it, "ip"));
        json_int_t port = json_integer_value(json_object_get(it, "port"));
        if (!ip || port <= 0 || port > 65535)
            continue;
        svc_instance_t *o = &out[(*n)++];
        memset(o, 0, sizeof(*o));
        snprintf(o->ip, sizeof(o->ip), "%s", ip);
        o->port = (uint16_t)port;
        o->weight = (int)json_integer_value(json_object_get(it, "weight"));
        json_t *meta = json_object_get(it, "metadata");
        json_int_t ap = json_integer_value(json_object_get(meta, "admin_port"));
        o->admin_port = ap > 0 && ap <= 65535 ? (uint16_t)ap : o->port;
        const char *inst = json_string_value(json_object_get(meta, "instance"));
        snprintf(o->instance, sizeof(o->instance), "%s", inst ? inst : "");
    }
    json_decref(j);
    return 0;
}

json_t *services_list(services_t *s)
{
    return s->naddrs ? sd_get(s, "/api/v1/services") : NULL;
}

int services_call(services_t *s, const char *method, const char *hostport, const char *path,
                  const char *content_type, const void *body, size_t len, long *status,
                  json_t **resp)
{
    *status = 0;
    if (resp)
        *resp = NULL;
    if (!s->key || !s->secret)
        return -EPERM;
    const char *q = strchr(path, '?');
    char *p = q ? xstrndup(path, (size_t)(q - path)) : xstrdup(path);
    hmac_kv_t *kv = NULL;
    size_t nkv = 0;
    if (q && hmac_query_parse(q + 1, &kv, &nkv) < 0) {
        free(p);
        return -EINVAL;
    }
    hmac_headers_t hh;
    int rc = hmac_sign(s->key, s->secret, method, p, kv, nkv, body, body ? len : 0,
                       (int64_t)time(NULL), &hh);
    free(kv);
    free(p);
    if (rc < 0)
        return rc;
    struct curl_slist *hdr = NULL;
    char line[200];
    snprintf(line, sizeof(line), "%s: %s", HMAC_HDR_KEY, hh.key);
    hdr = curl_slist_append(hdr, line);
    snprintf(line, sizeof(line), "%s: %s", HMAC_HDR_TIMESTAMP, hh.timestamp);
    hdr = curl_slist_append(hdr, line);
    snprintf(line, sizeof(line), "%s: %s", HMAC_HDR_NONCE, hh.nonce);
    hdr = curl_slist_append(hdr, line);
    snprintf(line, sizeof(line), "%s: %s", HMAC_HDR_SIGNATURE, hh.signature);
    hdr = curl_slist_append(hdr, line);
    snprintf(line, sizeof(line), "Content-Type: %s",
             content_type ? content_type : "application/json");
    hdr = curl_slist_append(hdr, line);
    hdr = curl_slist_append(hdr, "Expect:");
    char url[1024];
    snprintf(url, sizeof(url), "http://%s%s", hostport, path);
    /* A hub compiles its whole ruleset before it answers a push: allow for it. */
    rc = http_do(s, method, url, hdr, body ? body : "", body ? len : 0, CALL_TIMEOUT_MS, status,
                 resp);
    curl_slist_free_all(hdr);
    return rc;
}

long services_health(services_t *s, const char *hostport, json_t **resp)
{
    char url[300];
    snprintf(url, sizeof(url), "http://%s/health", hostport);
    long st = 0;
    if (http_do(s, "GET", url, NULL, NULL, 0, s->timeout_ms, &st, resp) < 0)
        return 0;
    return st;
}
