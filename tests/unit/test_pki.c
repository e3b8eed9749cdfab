/* Unit tests for common/pki: a chain verifies against its CA and not against another CA, the
 * CN reads back, extensions are what TLS peers check (CA flag, EKU, SANs), serials are random,
 * bad input is refused, and the file helpers keep keys private and never overwrite by
 * accident. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/bio.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>
#include <openssl/x509v3.h>

#include "common/pki.h"

typedef struct {
    char *ca_cert, *ca_key;
} ca_t;

static X509 *load(const char *pem)
{
    BIO *b = BIO_new_mem_buf(pem, -1);
    X509 *x = PEM_read_bio_X509(b, NULL, NULL, NULL);
    BIO_free(b);
    assert_non_null(x);
    return x;
}

/* X509_verify_cert of leaf against ca as the only trust anchor, for the given purpose. */
static int verify(const char *ca_pem, const char *leaf_pem, int purpose)
{
    X509 *ca = load(ca_pem), *leaf = load(leaf_pem);
    X509_STORE *store = X509_STORE_new();
    assert_int_equal(X509_STORE_add_cert(store, ca), 1);
    X509_STORE_CTX *ctx = X509_STORE_CTX_new();
    assert_int_equal(X509_STORE_CTX_init(ctx, store, leaf, NULL), 1);
    if (purpose)
        X509_STORE_CTX_set_purpose(ctx, purpose);
    int ok = X509_verify_cert(ctx);
    X509_STORE_CTX_free(ctx);
    X509_STORE_free(store);
    X509_free(ca);
    X509_free(leaf);
    return ok;
}

static int setup_ca(void **state)
{
    ca_t *ca = calloc(1, sizeof(*ca));
    assert_int_equal(pki_ca_new("Rampart test CA", 30, &ca->ca_cert, &ca->ca_key), 0);
    *state = ca;
    return 0;
}

static int teardown_ca(void **state)
{
    ca_t *ca = *state;
    free(ca->ca_cert);
    free(ca->ca_key);
    free(ca);
    return 0;
}

static void test_ca_is_a_ca(void **state)
{
    ca_t *ca = *state;
    X509 *x = load(ca->ca_cert);
    assert_int_equal(X509_check_ca(x), 1);
    assert_true(X509_get_extension_flags(x) & EXFLAG_CA);
    assert_true(X509_get_key_usage(x) & KU_KEY_CERT_SIGN);
    assert_true(X509_get_key_usage(x) & KU_CRL_SIGN);
    assert_non_null(X509_get0_subject_key_id(x));
    /* Self-signed: it verifies against itself. */
    assert_int_equal(verify(ca->ca_cert, ca->ca_cert, 0), 1);
    X509_free(x);
    assert_non_null(strstr(ca->ca_key, "-----BEGIN PRIVATE KEY-----"));
}

static void test_chain_verifies(void **state)
{
    ca_t *ca = *state;
    const char *sans[] = {"DNS:localhost", "IP:127.0.0.1", "IP:::1", NULL};
    char *cert = NULL, *key = NULL;
    assert_int_equal(
        pki_issue(ca->ca_cert, ca->ca_key, "agent-center", sans, PKI_SERVER, 10, &cert, &key), 0);
    assert_int_equal(verify(ca->ca_cert, cert, X509_PURPOSE_SSL_SERVER), 1);
    /* A server certificate is not good for a client. */
    assert_int_not_equal(verify(ca->ca_cert, cert, X509_PURPOSE_SSL_CLIENT), 1);

    X509 *x = load(cert);
    assert_int_equal(X509_check_ca(x), 0);
    assert_true(X509_get_extended_key_usage(x) & XKU_SSL_SERVER);
    assert_false(X509_get_extended_key_usage(x) & XKU_SSL_CLIENT);
    assert_int_equal(X509_check_host(x, "localhost", 0, 0, NULL), 1);
    assert_int_equal(X509_check_host(x, "example.org", 0, 0, NULL), 0);
    assert_int_equal(X509_check_ip_asc(x, "127.0.0.1", 0), 1);
    assert_int_equal(X509_check_ip_asc(x, "::1", 0), 1);
    assert_int_equal(X509_check_ip_asc(x, "127.0.0.2", 0), 0);
    assert_non_null(X509_get0_authority_key_id(x));
    /* The leaf key belongs to the leaf certificate. */
    BIO *b = BIO_new_mem_buf(key, -1);
    EVP_PKEY *k = PEM_read_bio_PrivateKey(b, NULL, NULL, NULL);
    assert_non_null(k);
    assert_int_equal(X509_check_private_key(x, k), 1);
    EVP_PKEY_free(k);
    BIO_free(b);
    X509_free(x);
    free(cert);
    free(key);
}

static void test_client_eku(void **state)
{
    ca_t *ca = *state;
    char *cert = NULL, *key = NULL;
    assert_int_equal(
        pki_issue(ca->ca_cert, ca->ca_key, "sim-00042", NULL, PKI_CLIENT, 1, &cert, &key), 0);
    X509 *x = load(cert);
    assert_true(X509_get_extended_key_usage(x) & XKU_SSL_CLIENT);
    assert_false(X509_get_extended_key_usage(x) & XKU_SSL_SERVER);
    assert_null(X509_get_ext_d2i(x, NID_subject_alt_name, NULL, NULL));
    assert_int_equal(verify(ca->ca_cert, cert, X509_PURPOSE_SSL_CLIENT), 1);
    assert_int_not_equal(verify(ca->ca_cert, cert, X509_PURPOSE_SSL_SERVER), 1);
    X509_free(x);
    free(cert);
    free(key);
}

static void test_foreign_ca_does_not_verify(void **state)
{
    ca_t *ca = *state;
    char *other_cert = NULL, *other_key = NULL, *cert = NULL, *key = NULL;
    /* Same CN as the real CA: only the key makes the difference. */
    assert_int_equal(pki_ca_new("Rampart test CA", 30, &other_cert, &other_key), 0);
    assert_int_equal(
        pki_issue(other_cert, other_key, "sim-00001", NULL, PKI_CLIENT, 1, &cert, &key), 0);
    assert_int_equal(verify(other_cert, cert, X509_PURPOSE_SSL_CLIENT), 1);
    assert_int_not_equal(verify(ca->ca_cert, cert, X509_PURPOSE_SSL_CLIENT), 1);
    /* A CA key that does not match the CA certificate is refused. */
    char *c2 = NULL, *k2 = NULL;
    assert_int_equal(pki_issue(ca->ca_cert, other_key, "x", NULL, PKI_CLIENT, 1, &c2, &k2),
                     -EINVAL);
    assert_null(c2);
    free(other_cert);
    free(other_key);
    free(cert);
    free(key);
}

static void test_cn_round_trip(void **state)
{
    ca_t *ca = *state;
    const char *cns[] = {"sim-00042", "agent center ü", "a", NULL};
    for (const char *const *cn = cns; *cn; cn++) {
        char *cert = NULL, *key = NULL, buf[PKI_CN_MAX + 1];
        assert_int_equal(pki_issue(ca->ca_cert, ca->ca_key, *cn, NULL, PKI_CLIENT, 1, &cert, &key),
                         0);
        assert_int_equal(pki_cert_cn(cert, buf, sizeof(buf)), 0);
        assert_string_equal(buf, *cn);
        char small[4];
        if (strlen(*cn) >= sizeof(small))
            assert_int_equal(pki_cert_cn(cert, small, sizeof(small)), -ENOSPC);
        free(cert);
        free(key);
    }
    char buf[80];
    assert_int_equal(pki_cert_cn(ca->ca_cert, buf, sizeof(buf)), 0);
    assert_string_equal(buf, "Rampart test CA");
    assert_int_equal(pki_cert_cn("not a pem", buf, sizeof(buf)), -EINVAL);
}

static void test_serials_differ(void **state)
{
    ca_t *ca = *state;
    pki_issuer_t *iss = pki_issuer_new(ca->ca_cert, ca->ca_key);
    assert_non_null(iss);
    char *c1, *k1, *c2, *k2;
    assert_int_equal(pki_issuer_issue(iss, "same", NULL, PKI_CLIENT, 1, &c1, &k1), 0);
    assert_int_equal(pki_issuer_issue(iss, "same", NULL, PKI_CLIENT, 1, &c2, &k2), 0);
    X509 *x1 = load(c1), *x2 = load(c2);
    const ASN1_INTEGER *s1 = X509_get0_serialNumber(x1), *s2 = X509_get0_serialNumber(x2);
    assert_int_not_equal(ASN1_INTEGER_cmp(s1, s2), 0);
    BIGNUM *bn = ASN1_INTEGER_to_BN(s1, NULL);
    assert_int_equal(BN_num_bytes(bn), 16);
    assert_false(BN_is_negative(bn));
    assert_string_not_equal(k1, k2);
    BN_free(bn);
    X509_free(x1);
    X509_free(x2);
    free(c1);
    free(k1);
    free(c2);
    free(k2);
    pki_issuer_free(iss);
    pki_issuer_free(NULL);
}

static void test_bad_input(void **state)
{
    ca_t *ca = *state;
    char *c = NULL, *k = NULL;
    char longcn[PKI_CN_MAX + 2];
    memset(longcn, 'a', sizeof(longcn) - 1);
    longcn[sizeof(longcn) - 1] = '\0';
    assert_int_equal(pki_ca_new("", 1, &c, &k), -EINVAL);
    assert_int_equal(pki_ca_new(longcn, 1, &c, &k), -EINVAL);
    assert_int_equal(pki_ca_new("ca", 0, &c, &k), -EINVAL);
    assert_int_equal(pki_ca_new("bad\nname", 1, &c, &k), -EINVAL);
    const char *bad_sans[][2] = {{"URI:http://x", NULL},
                                 {"DNS:a,IP:1.2.3.4", NULL},
                                 {"IP:not-an-ip", NULL},
                                 {"DNS:", NULL},
                                 {"email:a@example.org", NULL}};
    for (size_t i = 0; i < sizeof(bad_sans) / sizeof(bad_sans[0]); i++)
        assert_int_equal(
            pki_issue(ca->ca_cert, ca->ca_key, "x", bad_sans[i], PKI_SERVER, 1, &c, &k), -EINVAL);
    assert_int_equal(pki_issue(ca->ca_cert, ca->ca_key, "x", NULL, 3, 1, &c, &k), -EINVAL);
    assert_int_equal(pki_issue("garbage", ca->ca_key, "x", NULL, PKI_CLIENT, 1, &c, &k), -EINVAL);
    assert_null(c);
    assert_null(k);
}

static void test_files(void **state)
{
    (void)state;
    char dir[] = "/tmp/test_pki.XXXXXX";
    assert_non_null(mkdtemp(dir));
    char path[256];
    snprintf(path, sizeof(path), "%s/k.key", dir);
    assert_int_equal(pki_save_file(path, "secret\n", 0600, false), 0);
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    assert_int_equal(pki_save_file(path, "other\n", 0600, false), -EEXIST);
    char *s = NULL;
    assert_int_equal(pki_load_file(path, &s), 0);
    assert_string_equal(s, "secret\n");
    free(s);
    assert_int_equal(pki_save_file(path, "other\n", 0644, true), 0);
    assert_int_equal(pki_load_file(path, &s), 0);
    assert_string_equal(s, "other\n");
    free(s);
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0644);
    char missing[280];
    snprintf(missing, sizeof(missing), "%s/none", dir);
    assert_int_equal(pki_load_file(missing, &s), -ENOENT);
    unlink(path);
    assert_int_equal(rmdir(dir), 0); /* no temporary file left behind */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ca_is_a_ca),    cmocka_unit_test(test_chain_verifies),
        cmocka_unit_test(test_client_eku),    cmocka_unit_test(test_foreign_ca_does_not_verify),
        cmocka_unit_test(test_cn_round_trip), cmocka_unit_test(test_serials_differ),
        cmocka_unit_test(test_bad_input),     cmocka_unit_test(test_files),
    };
    return cmocka_run_group_tests(tests, setup_ca, teardown_ca);
}
