#include "exehash.h"

#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "common/xalloc.h"
#include "u64map.h"

struct entry {
    dev_t dev;
    ino_t ino;
    struct timespec mtime;
    off_t size;
    char hex[65];
};

struct exehash {
    u64map_t *map;
    uint64_t hits, misses;
};

exehash_t *exehash_new(void)
{
    exehash_t *h = xcalloc(1, sizeof(*h));
    h->map = u64map_new();
    return h;
}

void exehash_free(exehash_t *h)
{
    if (!h)
        return;
    u64map_free(h->map, free);
    free(h);
}

void exehash_stats(const exehash_t *h, uint64_t *hits, uint64_t *misses)
{
    *hits = h->hits;
    *misses = h->misses;
}

static uint64_t key_of(const struct stat *st)
{
    uint64_t k = (uint64_t)st->st_dev * 0x9e3779b97f4a7c15ULL;
    k ^= (uint64_t)st->st_ino + 0x632be59bd9b4e019ULL + (k << 6) + (k >> 2);
    k ^= (uint64_t)st->st_mtim.tv_sec * 1000000007ULL + (uint64_t)st->st_mtim.tv_nsec;
    return k ^ (uint64_t)st->st_size;
}

static int sha256_fd(int fd, char hex[65])
{
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    if (!ctx || EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) != 1) {
        EVP_MD_CTX_free(ctx);
        return -1;
    }
    unsigned char buf[65536];
    ssize_t n;
    while ((n = read(fd, buf, sizeof(buf))) > 0)
        EVP_DigestUpdate(ctx, buf, (size_t)n);
    unsigned char md[32];
    unsigned int mdlen = 0;
    int ok = n == 0 && EVP_DigestFinal_ex(ctx, md, &mdlen) == 1 && mdlen == 32;
    EVP_MD_CTX_free(ctx);
    if (!ok)
        return -1;
    static const char digits[] = "0123456789abcdef";
    for (int i = 0; i < 32; i++) {
        hex[2 * i] = digits[md[i] >> 4];
        hex[2 * i + 1] = digits[md[i] & 15];
    }
    hex[64] = '\0';
    return 0;
}

const char *exehash_of(exehash_t *h, const char *path)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return NULL;
    struct stat st;
    if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_size > (off_t)EXEHASH_MAX_SIZE) {
        close(fd);
        return NULL;
    }
    uint64_t k = key_of(&st);
    struct entry *e = u64map_get(h->map, k);
    if (e && e->dev == st.st_dev && e->ino == st.st_ino && e->size == st.st_size &&
        e->mtime.tv_sec == st.st_mtim.tv_sec && e->mtime.tv_nsec == st.st_mtim.tv_nsec) {
        close(fd);
        h->hits++;
        return e->hex;
    }
    h->misses++;
    struct entry *ne = xcalloc(1, sizeof(*ne));
    ne->dev = st.st_dev;
    ne->ino = st.st_ino;
    ne->mtime = st.st_mtim;
    ne->size = st.st_size;
    int rc = sha256_fd(fd, ne->hex);
    close(fd);
    if (rc < 0) {
        free(ne);
        return NULL;
    }
    if (u64map_len(h->map) > 8192) {
        u64map_free(h->map, free);
        h->map = u64map_new();
    }
    free(u64map_put(h->map, k, ne));
    return ne->hex;
}
