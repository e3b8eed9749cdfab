#include "pki.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "common/strbuf.h"
#include "common/xalloc.h"

#define PEM_FILE_MAX (1024 * 1024)

struct pki_issuer {
    X509 *cert;
    EVP_PKEY *key;
};

static bool valid_days(int days)
{
    return days >= 1 && days <= 36500;
}

/* A CN is printable text without control characters, 1..PKI_CN_MAX bytes. */
static bool valid_cn(const char *cn)
{
    size_t n = cn ? strlen(cn) : 0;
    if (n == 0 || n > PKI_CN_MAX)
        return false;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)cn[i];
        if (c < 0x20 || c == 0x7f)
            return false;
    }
    return true;
}

static EVP_PKEY *new_ec_key(void)
{
    return EVP_EC_gen("P-256");
}

static X509 *parse_cert(const char *pem)
{
    if (!pem)
        return NULL;
    BIO *b = BIO_new_mem_buf(pem, -1);
    X509 *x = b ? PEM_read_bio_X509(b, NULL, NULL, NULL) : NULL;
    BIO_free(b);
    return x;
}

static EVP_PKEY *parse_key(const char *pem)
{
    if (!pem)
        return NULL;
    BIO *b = BIO_new_mem_buf(pem, -1);
    EVP_PKEY *k = b ? PEM_read_bio_PrivateKey(b, NULL, NULL, NULL) : NULL;
    BIO_free(b);
    return k;
}

/* Copies a memory BIO's contents into a malloc'd string. */
static char *bio_to_string(BIO *b)
{
    char *p = NULL;
    long n = BIO_get_mem_data(b, &p);
    if (n <= 0)
        return NULL;
    return xstrndup(p, (size_t)n);
}

static int to_pem(X509 *x, EVP_PKEY *k, char **cert_pem, char **key_pem)
{
    int rc = -EIO;
    BIO *cb = BIO_new(BIO_s_mem()), *kb = BIO_new(BIO_s_mem());
    if (!cb || !kb || !PEM_write_bio_X509(cb, x) ||
        !PEM_write_bio_PrivateKey(kb, k, NULL, NULL, 0, NULL, NULL))
        goto cleanup;
    char *c = bio_to_string(cb), *s = bio_to_string(kb);
    if (!c || !s) {
        free(c);
        free(s);
        goto cleanup;
    }
    *cert_pem = c;
    *key_pem = s;
    rc = 0;
cleanup:
    BIO_free(cb);
    BIO_free(kb);
    return rc;
}

static int add_ext(X509 *x, X509V3_CTX *ctx, int nid, const char *value)
{
    X509_EXTENSION *e = X509V3_EXT_nconf_nid(NULL, ctx, nid, value);
    if (!e)
        return -EIO;
    int ok = X509_add_ext(x, e, -1);
    X509_EXTENSION_free(e);
    return ok ? 0 : -EIO;
}

/* A certificate for key named cn, without extensions or signature. */
static X509 *new_cert(const char *cn, EVP_PKEY *key, int days)
{
    X509 *x = X509_new();
    if (!x)
        return NULL;
    unsigned char serial[16];
    BIGNUM *bn = NULL;
    if (RAND_bytes(serial, sizeof(serial)) != 1)
        goto fail;
    serial[0] &= 0x7f; /* positive ... */
    serial[0] |= 0x40; /* ... and never zero, always 16 bytes long */
    bn = BN_bin2bn(serial, sizeof(serial), NULL);
    if (!bn || !X509_set_version(x, X509_VERSION_3) ||
        !BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x)) ||
        !X509_gmtime_adj(X509_getm_notBefore(x), -3600) ||
        !X509_gmtime_adj(X509_getm_notAfter(x), (long)days * 86400) || !X509_set_pubkey(x, key))
        goto fail;
    X509_NAME *name = X509_get_subject_name(x);
    if (!X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8, (const unsigned char *)cn, -1, -1,
                                    0))
        goto fail;
    BN_free(bn);
    return x;
fail:
    BN_free(bn);
    X509_free(x);
    return NULL;
}

int pki_ca_new(const char *cn, int days, char **cert_pem, char **key_pem)
{
    if (!valid_cn(cn) || !valid_days(days) || !cert_pem || !key_pem)
        return -EINVAL;
    int rc = -EIO;
    X509 *x = NULL;
    EVP_PKEY *key = new_ec_key();
    if (!key || !(x = new_cert(cn, key, days)) ||
        !X509_set_issuer_name(x, X509_get_subject_name(x)))
        goto cleanup;
    X509V3_CTX ctx;
    X509V3_set_ctx(&ctx, x, x, NULL, NULL, 0);
    if (add_ext(x, &ctx, NID_basic_constraints, "critical,CA:TRUE") < 0 ||
        add_ext(x, &ctx, NID_key_usage, "critical,keyCertSign,cRLSign") < 0 ||
        add_ext(x, &ctx, NID_subject_key_identifier, "hash") < 0)
        goto cleanup;
    if (!X509_sign(x, key, EVP_sha256()))
        goto cleanup;
    rc = to_pem(x, key, cert_pem, key_pem);
cleanup:
    X509_free(x);
    EVP_PKEY_free(key);
    return rc;
}

pki_issuer_t *pki_issuer_new(const char *ca_cert_pem, const char *ca_key_pem)
{
    X509 *cert = parse_cert(ca_cert_pem);
    EVP_PKEY *key = parse_key(ca_key_pem);
    if (!cert || !key || X509_check_private_key(cert, key) != 1) {
        X509_free(cert);
        EVP_PKEY_free(key);
        return NULL;
    }
    pki_issuer_t *iss = xcalloc(1, sizeof(*iss));
    iss->cert = cert;
    iss->key = key;
    return iss;
}

void pki_issuer_free(pki_issuer_t *iss)
{
    if (!iss)
        return;
    X509_free(iss->cert);
    EVP_PKEY_free(iss->key);
    free(iss);
}

/* Joins sans into OpenSSL's "DNS:a,IP:b" syntax after checking each entry, so that a name
 * can neither smuggle another GeneralName type nor a second entry. */
static int join_sans(const char *const *sans, strbuf_t *out)
{
    size_t n = 0;
    for (const char *const *s = sans; s && *s; s++, n++) {
        const char *v = NULL;
        if (strncmp(*s, "DNS:", 4) == 0 || strncmp(*s, "IP:", 3) == 0)
            v = strchr(*s, ':') + 1;
        if (n >= PKI_SANS_MAX || !v || !*v || strlen(v) > 253 || strpbrk(v, ", \t\r\n"))
            return -EINVAL;
        if (n)
            strbuf_appends(out, ",");
        strbuf_appends(out, *s);
    }
    return 0;
}

int pki_issuer_issue(pki_issuer_t *iss, const char *cn, const char *const *sans, pki_kind_t kind,
                     int days, char **cert_pem, char **key_pem)
{
    if (!iss || !valid_cn(cn) || !valid_days(days) || !cert_pem || !key_pem ||
        (kind != PKI_SERVER && kind != PKI_CLIENT))
        return -EINVAL;
    strbuf_t san = STRBUF_INIT;
    if (join_sans(sans, &san) < 0) {
        strbuf_dispose(&san);
        return -EINVAL;
    }
    int rc = -EIO;
    X509 *x = NULL;
    EVP_PKEY *key = new_ec_key();
    if (!key || !(x = new_cert(cn, key, days)) ||
        !X509_set_issuer_name(x, X509_get_subject_name(iss->cert)))
        goto cleanup;
    X509V3_CTX ctx;
    X509V3_set_ctx(&ctx, iss->cert, x, NULL, NULL, 0);
    if (add_ext(x, &ctx, NID_basic_constraints, "critical,CA:FALSE") < 0 ||
        add_ext(x, &ctx, NID_key_usage, "critical,digitalSignature") < 0 ||
        add_ext(x, &ctx, NID_ext_key_usage, kind == PKI_SERVER ? "serverAuth" : "clientAuth") < 0 ||
        add_ext(x, &ctx, NID_subject_key_identifier, "hash") < 0 ||
        add_ext(x, &ctx, NID_authority_key_identifier, "keyid:always") < 0)
        goto cleanup;
    if (san.len && add_ext(x, &ctx, NID_subject_alt_name, san.data) < 0) {
        rc = -EINVAL; /* e.g. "IP:" with something that is not an address */
        goto cleanup;
    }
    if (!X509_sign(x, iss->key, EVP_sha256()))
        goto cleanup;
    rc = to_pem(x, key, cert_pem, key_pem);
cleanup:
    strbuf_dispose(&san);
    X509_free(x);
    EVP_PKEY_free(key);
    return rc;
}

int pki_issue(const char *ca_cert_pem, const char *ca_key_pem, const char *cn,
              const char *const *sans, pki_kind_t kind, int days, char **cert_pem, char **key_pem)
{
    pki_issuer_t *iss = pki_issuer_new(ca_cert_pem, ca_key_pem);
    if (!iss)
        return -EINVAL;
    int rc = pki_issuer_issue(iss, cn, sans, kind, days, cert_pem, key_pem);
    pki_issuer_free(iss);
    return rc;
}

int pki_cert_cn(const char *cert_pem, char *buf, size_t len)
{
    X509 *x = parse_cert(cert_pem);
    if (!x || !buf || len == 0) {
        X509_free(x);
        return -EINVAL;
    }
    int rc = -ENOENT;
    X509_NAME *name = X509_get_subject_name(x);
    int idx = X509_NAME_get_index_by_NID(name, NID_commonName, -1);
    if (idx >= 0) {
        ASN1_STRING *s = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(name, idx));
        unsigned char *utf8 = NULL;
        int n = ASN1_STRING_to_UTF8(&utf8, s);
        if (n < 0) {
            rc = -EIO;
        } else if ((size_t)n >= len || memchr(utf8, '\0', (size_t)n)) {
            rc = (size_t)n >= len ? -ENOSPC : -EINVAL;
        } else {
            memcpy(buf, utf8, (size_t)n);
            buf[n] = '\0';
            rc = 0;
        }
        OPENSSL_free(utf8);
    }
    X509_free(x);
    return rc;
}

int pki_load_file(const char *path, char **out)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    strbuf_t sb = STRBUF_INIT;
    char buf[8192];
    int rc = 0;
    for (;;) {
        ssize_t n = read(fd, buf, sizeof(buf));
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            rc = -errno;
            break;
        }
        if (n == 0)
            break;
        if (sb.len + (size_t)n > PEM_FILE_MAX) {
            rc = -EFBIG;
            break;
        }
        strbuf_append(&sb, buf, (size_t)n);
    }
    close(fd);
    if (rc == 0 && (sb.len == 0 || memchr(sb.data, '\0', sb.len)))
        rc = -EINVAL;
    if (rc < 0) {
        strbuf_dispose(&sb);
        return rc;
    }
    *out = strbuf_steal(&sb, NULL);
    return 0;
}

int pki_save_file(const char *path, const char *content, mode_t mode, bool overwrite)
{
    char tmp[4096];
    if (snprintf(tmp, sizeof(tmp), "%s.tmp.%d", path, (int)getpid()) >= (int)sizeof(tmp))
        return -ENAMETOOLONG;
    int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
    if (fd < 0)
        return -errno;
    int rc = 0;
    size_t n = strlen(content), off = 0;
    if (fchmod(fd, mode) < 0)
        rc = -errno;
    while (rc == 0 && off < n) {
        ssize_t w = write(fd, content + off, n - off);
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0)
            rc = -errno;
        else
            off += (size_t)w;
    }
    if (rc == 0 && fsync(fd) < 0)
        rc = -errno;
    if (close(fd) < 0 && rc == 0)
        rc = -errno;
    if (rc == 0) {
        /* link(2) fails with EEXIST instead of replacing: no check-then-write race. */
        if (overwrite ? rename(tmp, path) < 0 : link(tmp, path) < 0)
            rc = -errno;
    }
    if (rc < 0 || !overwrite)
        unlink(tmp);
    return rc;
}
