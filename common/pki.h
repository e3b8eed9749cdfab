/* pki: the small certificate authority behind Rampart's mutual TLS (OpenSSL 3).
 *
 * Agents and AgentCenters authenticate each other with certificates issued by one CA made
 * at install time (never committed): `rampart-pki` (tools/pki) writes them to disk, the
 * test harness and the agent simulator make them in memory with the same functions.
 *
 * Keys are EC P-256, signatures ECDSA with SHA-256. A CA certificate carries
 * basicConstraints CA:TRUE (critical), keyUsage keyCertSign+cRLSign (critical) and a subject
 * key identifier. A leaf carries CA:FALSE (critical), keyUsage digitalSignature (critical),
 * extendedKeyUsage serverAuth or clientAuth, subject/authority key identifiers, optional
 * subjectAltNames and a random 128-bit serial number. Validity starts one hour in the past
 * (clock skew between hosts).
 *
 * Every function returns 0 or a negative errno: -EINVAL for bad arguments or unparsable
 * PEM, -EIO when OpenSSL fails. Output PEM strings are NUL-terminated and malloc'd: free()
 * them. Keys are written as unencrypted PKCS#8 ("BEGIN PRIVATE KEY").
 *
 * Thread-safe: no shared state; a pki_issuer_t may be used by one thread at a time. */
#ifndef RAMPART_COMMON_PKI_H
#define RAMPART_COMMON_PKI_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

typedef enum {
    PKI_SERVER = 1, /* extendedKeyUsage serverAuth */
    PKI_CLIENT = 2, /* extendedKeyUsage clientAuth */
} pki_kind_t;

/* Longest common name accepted (RFC 5280 ub-common-name). */
#define PKI_CN_MAX 64
/* Most subjectAltName entries accepted by pki_issue. */
#define PKI_SANS_MAX 32

/* A self-signed CA named cn, valid for days (1..36500). */
int pki_ca_new(const char *cn, int days, char **cert_pem, char **key_pem);

/* A leaf certificate for cn signed by the CA. sans: NULL or a NULL-terminated list of
 * "DNS:name" or "IP:address" (IPv4 or IPv6) entries. */
int pki_issue(const char *ca_cert_pem, const char *ca_key_pem, const char *cn,
              const char *const *sans, pki_kind_t kind, int days, char **cert_pem, char **key_pem);

/* The same with the CA parsed once, for minting many certificates (the agent simulator
 * mints one per simulated agent). pki_issuer_new returns NULL when the PEMs do not parse or
 * the key does not belong to the certificate. */
typedef struct pki_issuer pki_issuer_t;
pki_issuer_t *pki_issuer_new(const char *ca_cert_pem, const char *ca_key_pem);
void pki_issuer_free(pki_issuer_t *iss);
int pki_issuer_issue(pki_issuer_t *iss, const char *cn, const char *const *sans, pki_kind_t kind,
                     int days, char **cert_pem, char **key_pem);

/* Copies the subject CN of the first certificate in cert_pem into buf. -ENOENT when the
 * subject has no CN, -ENOSPC when buf is too small. */
int pki_cert_cn(const char *cert_pem, char *buf, size_t len);

/* Reads a PEM file (at most 1 MiB) into a malloc'd NUL-terminated string. -errno. */
int pki_load_file(const char *path, char **out);
/* Writes content to path with the given mode (0600 for keys), through a temporary file and
 * rename(2) so readers never see half a file. With overwrite false an existing path is left
 * alone and -EEXIST returned. */
int pki_save_file(const char *path, const char *content, mode_t mode, bool overwrite);

#endif
