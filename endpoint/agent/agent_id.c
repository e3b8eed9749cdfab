#include "endpoint/agent/agent_id.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/rand.h>

#include "common/log.h"
#include "common/pki.h"
#include "common/xalloc.h"

int agent_id_valid(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > AGENT_ID_MAX)
        return 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (!isalnum(c) && c != '.' && c != '_' && c != ':' && c != '-')
            return 0;
    }
    return 1;
}

/* First line of a small file, trimmed, into buf. 0 or -errno. */
static int read_line(const char *path, char *buf, size_t len)
{
    if (!path)
        return -ENOENT;
    FILE *f = fopen(path, "r");
    if (!f)
        return -errno;
    char *s = fgets(buf, (int)len, f);
    fclose(f);
    if (!s)
        return -ENODATA;
    size_t n = strlen(buf);
    while (n && isspace((unsigned char)buf[n - 1]))
        buf[--n] = '\0';
    return n ? 0 : -ENODATA;
}

/* Placeholder UUIDs some firmware reports for every machine. */
static int dmi_bogus(const char *u)
{
    static const char *const bad[] = {
        "00000000-0000-0000-0000-000000000000", "ffffffff-ffff-ffff-ffff-ffffffffffff",
        "03000200-0400-0500-0006-000700080009", "00020003-0004-0005-0006-000700080009"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        if (strcasecmp(u, bad[i]) == 0)
            return 1;
    return strlen(u) < 16;
}

static void format_uuid(const unsigned char *b, char *out, size_t len)
{
    unsigned char u[16];
    memcpy(u, b, 16);
    u[6] = (unsigned char)((u[6] & 0x0f) | 0x80); /* version 8: custom */
    u[8] = (unsigned char)((u[8] & 0x3f) | 0x80); /* RFC 9562 variant */
    snprintf(out, len, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", u[0],
             u[1], u[2], u[3], u[4], u[5], u[6], u[7], u[8], u[9], u[10], u[11], u[12], u[13],
             u[14], u[15]);
}

static void uuid_of(const char *src, char *out, size_t len)
{
    unsigned char md[32];
    unsigned int mdlen = 0;
    char *text = xasprintf("rampart-agent-id:%s", src);
    EVP_Digest(text, strlen(text), md, &mdlen, EVP_sha256(), NULL);
    free(text);
    format_uuid(md, out, len);
}

int agent_id_derive(const char *machine_id_path, const char *dmi_path, char *out, size_t len,
                    const char **source)
{
    char buf[256];
    if (read_line(machine_id_path, buf, sizeof(buf)) == 0 && strlen(buf) >= 16) {
        uuid_of(buf, out, len);
        *source = "machine-id";
        return 0;
    }
    if (read_line(dmi_path, buf, sizeof(buf)) == 0 && !dmi_bogus(buf)) {
        for (char *p = buf; *p; p++)
            *p = (char)tolower((unsigned char)*p);
        uuid_of(buf, out, len);
        *source = "dmi";
        return 0;
    }
    return -ENOENT;
}

int agent_id_load(const char *configured, const char *state_dir, char *out, size_t len, char *err,
                  size_t errlen)
{
    if (configured && configured[0]) {
        if (!agent_id_valid(configured) || strlen(configured) >= len) {
            snprintf(err, errlen,
                     "agent.id \"%.64s\" is not a valid id (1-128 of A-Z a-z 0-9 . _ : -)",
                     configured);
            return -EINVAL;
        }
        snprintf(out, len, "%s", configured);
        return 0;
    }
    char path[4096];
    snprintf(path, sizeof(path), "%s/agent_id", state_dir);
    char buf[AGENT_ID_MAX + 2];
    if (read_line(path, buf, sizeof(buf)) == 0) {
        if (!agent_id_valid(buf) || strlen(buf) >= len) {
            snprintf(err, errlen, "%s holds an invalid agent id; fix or remove it", path);
            return -EINVAL;
        }
        snprintf(out, len, "%s", buf);
        return 0;
    }
    const char *source = "random";
    if (agent_id_derive("/etc/machine-id", "/sys/class/dmi/id/product_uuid", out, len, &source) <
        0) {
        unsigned char r[16];
        if (RAND_bytes(r, sizeof(r)) != 1) {
            snprintf(err, errlen, "no machine id, no DMI UUID and no random bytes for an id");
            return -EIO;
        }
        format_uuid(r, out, len);
    }
    if (mkdir(state_dir, 0750) < 0 && errno != EEXIST) {
        int e = errno;
        snprintf(err, errlen, "agent.state_dir %s: %s", state_dir, strerror(e));
        return -e;
    }
    char *content = xasprintf("%s\n", out);
    int rc = pki_save_file(path, content, 0644, false);
    free(content);
    if (rc == -EEXIST) /* another instance wrote it first: that one wins */
        return agent_id_load(NULL, state_dir, out, len, err, errlen);
    if (rc < 0) {
        snprintf(err, errlen, "cannot keep the agent id in %s: %s", path, strerror(-rc));
        return rc;
    }
    LOG_INFO("agent_id_created", "agent_id=%s source=%s path=%s", out, source, path);
    return 0;
}

int agent_id_check_cert(const char *id, const char *cert_path, char *err, size_t errlen)
{
    char *pem = NULL;
    int rc = pki_load_file(cert_path, &pem);
    if (rc < 0) {
        snprintf(err, errlen, "tls.cert_file %s: %s", cert_path, strerror(-rc));
        return rc;
    }
    char cn[PKI_CN_MAX + 1];
    rc = pki_cert_cn(pem, cn, sizeof(cn));
    free(pem);
    if (rc < 0) {
        snprintf(err, errlen, "tls.cert_file %s: no usable subject CN (%s)", cert_path,
                 strerror(-rc));
        return rc;
    }
    if (strcmp(cn, id) != 0) {
        snprintf(err, errlen,
                 "the certificate %s is for \"%s\" but this agent's id is \"%s\": issue a "
                 "certificate with CN=%s (rampart-pki issue --client --cn %s) or set agent.id",
                 cert_path, cn, id, id, id);
        return -EPERM;
    }
    return 0;
}

int agent_sha256_file(const char *path, char hex[65])
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    EVP_DigestInit_ex(ctx, EVP_sha256(), NULL);
    unsigned char buf[65536];
    ssize_t n;
    int rc = 0;
    while ((n = read(fd, buf, sizeof(buf))) != 0) {
        if (n < 0) {
            if (errno == EINTR)
                continue;
            rc = -errno;
            break;
        }
        EVP_DigestUpdate(ctx, buf, (size_t)n);
    }
    close(fd);
    unsigned char md[32];
    unsigned int mdlen = 0;
    EVP_DigestFinal_ex(ctx, md, &mdlen);
    EVP_MD_CTX_free(ctx);
    if (rc == 0)
        for (int i = 0; i < 32; i++)
            snprintf(hex + 2 * i, 3, "%02x", md[i]);
    return rc;
}
