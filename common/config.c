#include "common/config.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>
#include <yaml.h>

#include "common/xalloc.h"

/* A config file larger than this is a mistake (a log or a binary passed by accident). */
#define CONFIG_FILE_MAX (16u << 20)
/* Bad values are echoed in error messages up to this many bytes. */
#define ECHO_MAX 64

/* State of one config_load() call. */
struct loader {
    const config_option_t *opts;
    size_t nopts;
    void *dst;
    char *err;
    size_t errlen;
    bool *have;        /* per option: a value was set (default, file or env) */
    size_t *file_line; /* per option: line that set it in the file, 0 if none */
    const char *path;  /* the file being read */
    yaml_document_t *doc;
};

static const char *const type_names[] = {
    [CONFIG_STRING] = "string",     [CONFIG_INT] = "int",   [CONFIG_BOOL] = "bool",
    [CONFIG_DURATION] = "duration", [CONFIG_SIZE] = "size", [CONFIG_LIST] = "list",
};

static const char *type_name(config_type_t t)
{
    if ((unsigned)t < sizeof(type_names) / sizeof(type_names[0]) && type_names[t])
        return type_names[t];
    return "unknown";
}

static void set_err(struct loader *l, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void set_err(struct loader *l, const char *fmt, ...)
{
    if (!l->err || !l->errlen)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(l->err, l->errlen, fmt, ap);
    va_end(ap);
}

#define ECHO_BUF (ECHO_MAX * 4 + 16)

/* Writes s as a double-quoted, escaped string of at most ECHO_MAX source bytes into buf. */
static const char *echo(char *buf, size_t size, const char *s, size_t len)
{
    size_t o = 0;
    buf[o++] = '"';
    for (size_t i = 0; i < len && o + 8 < size; i++) {
        unsigned char c = (unsigned char)s[i];
        if (i == ECHO_MAX) {
            memcpy(buf + o, "...", 3);
            o += 3;
            break;
        }
        if (c == '"' || c == '\\') {
            buf[o++] = '\\';
            buf[o++] = (char)c;
        } else if (c < 0x20 || c == 0x7f) {
            o += (size_t)snprintf(buf + o, size - o, "\\x%02x", c);
        } else {
            buf[o++] = (char)c;
        }
    }
    buf[o++] = '"';
    buf[o] = '\0';
    return buf;
}

/* ---- value parsing -------------------------------------------------------------------- */

static int parse_int(const char *s, int64_t *out)
{
    if (!*s || isspace((unsigned char)*s))
        return -EINVAL;
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (end == s || *end)
        return -EINVAL;
    if (errno == ERANGE)
        return -ERANGE;
    *out = (int64_t)v;
    return 0;
}

struct unit {
    const char *name;
    int64_t mult;
};

static const struct unit duration_units[] = {
    {"", 1}, {"ms", 1}, {"s", 1000}, {"m", 60 * 1000}, {"h", 60 * 60 * 1000}, {NULL, 0},
};

static const struct unit size_units[] = {
    {"", 1},
    {"b", 1},
    {"k", INT64_C(1) << 10},
    {"kb", INT64_C(1) << 10},
    {"kib", INT64_C(1) << 10},
    {"m", INT64_C(1) << 20},
    {"mb", INT64_C(1) << 20},
    {"mib", INT64_C(1) << 20},
    {"g", INT64_C(1) << 30},
    {"gb", INT64_C(1) << 30},
    {"gib", INT64_C(1) << 30},
    {"t", INT64_C(1) << 40},
    {"tb", INT64_C(1) << 40},
    {"tib", INT64_C(1) << 40},
    {NULL, 0},
};

/* Parses <digits><unit>, a non-negative number and one of units (nocase: any case). -EINVAL on
 * syntax, -ERANGE on overflow. */
static int parse_with_unit(const char *s, const struct unit *units, bool nocase, int64_t *out)
{
    int64_t v = 0;
    const char *p = s;
    if (!isdigit((unsigned char)*p))
        return -EINVAL;
    bool overflow = false;
    for (; isdigit((unsigned char)*p); p++) {
        if (__builtin_mul_overflow(v, 10, &v) || __builtin_add_overflow(v, *p - '0', &v))
            overflow = true;
    }
    for (const struct unit *u = units; u->name; u++) {
        if (nocase ? strcasecmp(p, u->name) == 0 : strcmp(p, u->name) == 0) {
            if (overflow || __builtin_mul_overflow(v, u->mult, &v))
                return -ERANGE;
            *out = v;
            return 0;
        }
    }
    return -EINVAL;
}

static void format_duration(char *buf, size_t size, int64_t ms)
{
    if (ms != 0 && ms % (60 * 60 * 1000) == 0)
        snprintf(buf, size, "%" PRId64 "h", ms / (60 * 60 * 1000));
    else if (ms != 0 && ms % (60 * 1000) == 0)
        snprintf(buf, size, "%" PRId64 "m", ms / (60 * 1000));
    else if (ms != 0 && ms % 1000 == 0)
        snprintf(buf, size, "%" PRId64 "s", ms / 1000);
    else
        snprintf(buf, size, "%" PRId64 "ms", ms);
}

static void format_size(char *buf, size_t size, int64_t b)
{
    static const char *const names[] = {"TiB", "GiB", "MiB", "KiB"};
    for (int i = 0; i < 4; i++) {
        int64_t mult = INT64_C(1) << (10 * (4 - i));
        if (b != 0 && b % mult == 0) {
            snprintf(buf, size, "%" PRId64 "%s", b / mult, names[i]);
            return;
        }
    }
    snprintf(buf, size, "%" PRId64, b);
}

static void format_number(char *buf, size_t size, config_type_t type, int64_t v)
{
    if (type == CONFIG_DURATION)
        format_duration(buf, size, v);
    else if (type == CONFIG_SIZE)
        format_size(buf, size, v);
    else
        snprintf(buf, size, "%" PRId64, v);
}

static bool has_bounds(const config_option_t *o)
{
    return (o->type == CONFIG_INT || o->type == CONFIG_DURATION || o->type == CONFIG_SIZE) &&
           !(o->min == 0 && o->max == 0);
}

/* ---- storing values in dst ------------------------------------------------------------ */

static void *field(const struct loader *l, size_t i)
{
    return (char *)l->dst + l->opts[i].offset;
}

static void free_list(char **list)
{
    if (!list)
        return;
    for (char **p = list; *p; p++)
        free(*p);
    free(list);
}

/* Resets one field to zero, freeing what it holds if owned (else dst may hold garbage). */
static void clear_field(const config_option_t *o, void *dst, bool owned)
{
    void *f = (char *)dst + o->offset;
    switch (o->type) {
    case CONFIG_STRING: {
        char **sp = f;
        if (owned)
            free(*sp);
        *sp = NULL;
        break;
    }
    case CONFIG_LIST: {
        char ***lp = f;
        if (owned)
            free_list(*lp);
        *lp = NULL;
        break;
    }
    case CONFIG_BOOL:
        *(bool *)f = false;
        break;
    case CONFIG_INT:
    case CONFIG_DURATION:
    case CONFIG_SIZE:
        *(int64_t *)f = 0;
        break;
    }
}

/* Parses text (len bytes, may hold a NUL from a YAML escape) as option i's scalar type and
 * stores it. where names the source ("sd.yaml:12", "env X", "default"). */
static int set_scalar(struct loader *l, size_t i, const char *where, const char *text, size_t len)
{
    const config_option_t *o = &l->opts[i];
    char shown[ECHO_BUF];
    if (strlen(text) != len) {
        set_err(l, "%s: %s: value contains a NUL byte", where, o->key);
        return -EINVAL;
    }
    void *f = field(l, i);
    int64_t v = 0;
    int rc = 0;
    switch (o->type) {
    case CONFIG_STRING: {
        char **sp = f;
        free(*sp);
        *sp = xstrndup(text, len);
        l->have[i] = true;
        return 0;
    }
    case CONFIG_BOOL: {
        static const char *const yes[] = {"true", "yes", "on", "1"};
        static const char *const no[] = {"false", "no", "off", "0"};
        for (size_t k = 0; k < 4; k++) {
            if (strcasecmp(text, yes[k]) == 0 || strcasecmp(text, no[k]) == 0) {
                *(bool *)f = strcasecmp(text, yes[k]) == 0;
                l->have[i] = true;
                return 0;
            }
        }
        set_err(l, "%s: %s: expected true or false (also yes/no, on/off, 1/0), got %s", where,
                o->key, echo(shown, sizeof(shown), text, len));
        return -EINVAL;
    }
    case CONFIG_INT:
        rc = parse_int(text, &v);
        if (rc == -EINVAL) {
            set_err(l, "%s: %s: expected an integer, got %s", where, o->key,
                    echo(shown, sizeof(shown), text, len));
            return rc;
        }
        break;
    case CONFIG_DURATION:
        rc = parse_with_unit(text, duration_units, false, &v);
        if (rc == -EINVAL) {
            set_err(l, "%s: %s: expected a duration such as 30s or 500ms, got %s", where, o->key,
                    echo(shown, sizeof(shown), text, len));
            return rc;
        }
        break;
    case CONFIG_SIZE:
        rc = parse_with_unit(text, size_units, true, &v);
        if (rc == -EINVAL) {
            set_err(l, "%s: %s: expected a size such as 512, 64KiB or 1MiB, got %s", where, o->key,
                    echo(shown, sizeof(shown), text, len));
            return rc;
        }
        break;
    default: /* lists never get here (set_text, set_from_node) */
        set_err(l, "%s: %s: option has an unknown type %d", where, o->key, (int)o->type);
        return -EINVAL;
    }
    if (rc == -ERANGE) {
        set_err(l, "%s: %s: %s is out of range", where, o->key,
                echo(shown, sizeof(shown), text, len));
        return -EINVAL;
    }
    if (has_bounds(o) && (v < o->min || v > o->max)) {
        char val[32], bound[32];
        format_number(val, sizeof(val), o->type, v);
        format_number(bound, sizeof(bound), o->type, v < o->min ? o->min : o->max);
        set_err(l, "%s: %s: %s is %s the %s %s", where, o->key, val, v < o->min ? "below" : "above",
                v < o->min ? "minimum" : "maximum", bound);
        return -EINVAL;
    }
    *(int64_t *)f = v;
    l->have[i] = true;
    return 0;
}

static void set_list(struct loader *l, size_t i, char **list)
{
    char ***lp = field(l, i);
    free_list(*lp);
    *lp = list;
    l->have[i] = true;
}

/* A comma-separated list (defaults and env): items are trimmed, empty items dropped. */
static void set_list_text(struct loader *l, size_t i, const char *text)
{
    size_t cap = 1;
    for (const char *p = text; *p; p++)
        cap += *p == ',';
    char **list = xcalloc(cap + 1, sizeof(*list));
    size_t n = 0;
    const char *p = text;
    for (;;) {
        const char *end = strchr(p, ',');
        if (!end)
            end = p + strlen(p);
        const char *a = p, *b = end;
        while (a < b && isspace((unsigned char)*a))
            a++;
        while (b > a && isspace((unsigned char)b[-1]))
            b--;
        if (b > a)
            list[n++] = xstrndup(a, (size_t)(b - a));
        if (!*end)
            break;
        p = end + 1;
    }
    list[n] = NULL;
    set_list(l, i, list);
}

/* Sets option i from text, the way defaults and env values are given. */
static int set_text(struct loader *l, size_t i, const char *where, const char *text)
{
    if (l->opts[i].type == CONFIG_LIST) {
        set_list_text(l, i, text);
        return 0;
    }
    return set_scalar(l, i, where, text, strlen(text));
}

/* ---- the YAML file ---------------------------------------------------------------------- */

static size_t line_of(const yaml_node_t *n)
{
    return n->start_mark.line + 1;
}

static bool is_null(const yaml_node_t *n)
{
    if (n->type != YAML_SCALAR_NODE || n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
        return false;
    const char *v = (const char *)n->data.scalar.value;
    return !*v || strcmp(v, "~") == 0 || strcmp(v, "null") == 0 || strcmp(v, "Null") == 0 ||
           strcmp(v, "NULL") == 0;
}

static const char *shape(const yaml_node_t *n, char *buf, size_t size)
{
    if (n->type == YAML_MAPPING_NODE)
        return "a mapping";
    if (n->type == YAML_SEQUENCE_NODE)
        return "a list";
    if (is_null(n))
        return "nothing";
    return echo(buf, size, (const char *)n->data.scalar.value, n->data.scalar.length);
}

static ssize_t find_option(const struct loader *l, const char *key)
{
    for (size_t i = 0; i < l->nopts; i++) {
        if (strcmp(l->opts[i].key, key) == 0)
            return (ssize_t)i;
    }
    return -1;
}

/* True if key names a section: some option is key + "." + something. */
static bool is_section(const struct loader *l, const char *key)
{
    size_t len = strlen(key);
    for (size_t i = 0; i < l->nopts; i++) {
        if (strncmp(l->opts[i].key, key, len) == 0 && l->opts[i].key[len] == '.')
            return true;
    }
    return false;
}

static int set_from_sequence(struct loader *l, size_t i, yaml_node_t *seq)
{
    size_t n = (size_t)(seq->data.sequence.items.top - seq->data.sequence.items.start);
    char **list = xcalloc(n + 1, sizeof(*list));
    char shown[ECHO_BUF];
    size_t k = 0;
    for (yaml_node_item_t *it = seq->data.sequence.items.start; it < seq->data.sequence.items.top;
         it++) {
        yaml_node_t *item = yaml_document_get_node(l->doc, *it);
        if (item->type != YAML_SCALAR_NODE || is_null(item)) {
            set_err(l, "%s:%zu: %s: list items must be values, got %s", l->path, line_of(item),
                    l->opts[i].key, shape(item, shown, sizeof(shown)));
            goto fail;
        }
        const char *v = (const char *)item->data.scalar.value;
        if (strlen(v) != item->data.scalar.length) {
            set_err(l, "%s:%zu: %s: value contains a NUL byte", l->path, line_of(item),
                    l->opts[i].key);
            goto fail;
        }
        list[k++] = xstrdup(v);
    }
    set_list(l, i, list);
    return 0;
fail:
    free_list(list);
    return -EINVAL;
}

static int set_from_node(struct loader *l, size_t i, size_t key_line, yaml_node_t *v)
{
    const config_option_t *o = &l->opts[i];
    char shown[ECHO_BUF];

    if (l->file_line[i]) {
        set_err(l, "%s:%zu: %s: duplicate key (first set at line %zu)", l->path, key_line, o->key,
                l->file_line[i]);
        return -EINVAL;
    }
    l->file_line[i] = key_line;

    if (v->type == YAML_MAPPING_NODE || is_null(v) ||
        (v->type == YAML_SEQUENCE_NODE) != (o->type == CONFIG_LIST)) {
        set_err(l, "%s:%zu: %s: expected %s, got %s", l->path, line_of(v), o->key,
                o->type == CONFIG_LIST ? "a list" : "a value", shape(v, shown, sizeof(shown)));
        return -EINVAL;
    }
    if (v->type == YAML_SEQUENCE_NODE)
        return set_from_sequence(l, i, v);

    char *loc = xasprintf("%s:%zu", l->path, line_of(v));
    int rc = set_scalar(l, i, loc, (const char *)v->data.scalar.value, v->data.scalar.length);
    free(loc);
    return rc;
}

static int walk_mapping(struct loader *l, yaml_node_t *map, const char *prefix)
{
    char shown[ECHO_BUF];
    for (yaml_node_pair_t *p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top;
         p++) {
        yaml_node_t *k = yaml_document_get_node(l->doc, p->key);
        yaml_node_t *v = yaml_document_get_node(l->doc, p->value);
        if (k->type != YAML_SCALAR_NODE) {
            set_err(l, "%s:%zu: %s: keys must be plain names, got %s", l->path, line_of(k),
                    prefix ? prefix : "(top level)", shape(k, shown, sizeof(shown)));
            return -EINVAL;
        }
        const char *name = (const char *)k->data.scalar.value;
        char *key = prefix ? xasprintf("%s.%s", prefix, name) : xstrdup(name);
        int rc = 0;

        /* Duplicate names in one mapping (YAML says keys are unique; libyaml does not check). */
        for (yaml_node_pair_t *q = map->data.mapping.pairs.start; q < p; q++) {
            yaml_node_t *qk = yaml_document_get_node(l->doc, q->key);
            if (qk->type == YAML_SCALAR_NODE && qk->data.scalar.length == k->data.scalar.length &&
                memcmp(qk->data.scalar.value, k->data.scalar.value, k->data.scalar.length) == 0) {
                set_err(l, "%s:%zu: %s: duplicate key (first set at line %zu)", l->path, line_of(k),
                        key, line_of(qk));
                rc = -EINVAL;
                goto next;
            }
        }
        if (strlen(name) != k->data.scalar.length) {
            set_err(l, "%s:%zu: %s: unknown key", l->path, line_of(k), key);
            rc = -EINVAL;
            goto next;
        }

        ssize_t idx = find_option(l, key);
        bool section = is_section(l, key);
        if (section && (v->type == YAML_MAPPING_NODE || (idx < 0 && is_null(v)))) {
            if (v->type == YAML_MAPPING_NODE)
                rc = walk_mapping(l, v, key);
        } else if (idx >= 0) {
            rc = set_from_node(l, (size_t)idx, line_of(k), v);
        } else if (section) {
            set_err(l, "%s:%zu: %s: expected a mapping, got %s", l->path, line_of(v), key,
                    shape(v, shown, sizeof(shown)));
            rc = -EINVAL;
        } else {
            set_err(l, "%s:%zu: %s: unknown key", l->path, line_of(k), key);
            rc = -EINVAL;
        }
    next:
        free(key);
        if (rc)
            return rc;
    }
    return 0;
}

/* Reports a libyaml error; text/len is the input, for reader errors that only give an offset. */
static void yaml_error(struct loader *l, const yaml_parser_t *parser, const char *text, size_t len)
{
    const char *problem = parser->problem ? parser->problem : "cannot parse";
    size_t line = parser->problem_mark.line + 1;
    if (parser->error == YAML_READER_ERROR) {
        line = 1;
        for (size_t i = 0; i < parser->problem_offset && i < len; i++)
            line += text[i] == '\n';
    }
    if (parser->context)
        set_err(l, "%s:%zu: invalid YAML: %s %s", l->path, line, problem, parser->context);
    else
        set_err(l, "%s:%zu: invalid YAML: %s", l->path, line, problem);
}

/* Reads the whole file: config files are small, and this gives read errors their errno. */
static int read_file(struct loader *l, const char *path, char **out, size_t *outlen)
{
    int rc = 0;
    char *buf = NULL;
    size_t len = 0, cap = 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        rc = -errno;
        goto cleanup;
    }
    struct stat st;
    if (fstat(fd, &st) < 0) {
        rc = -errno;
        goto cleanup;
    }
    if (S_ISDIR(st.st_mode)) {
        rc = -EISDIR;
        goto cleanup;
    }
    for (;;) {
        if (len == cap) {
            if (cap >= CONFIG_FILE_MAX) {
                rc = -EFBIG;
                goto cleanup;
            }
            cap = cap ? cap * 2 : 4096;
            buf = xrealloc(buf, cap);
        }
        ssize_t n = read(fd, buf + len, cap - len);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            rc = -errno;
            goto cleanup;
        }
        if (n == 0)
            break;
        len += (size_t)n;
    }
    *out = buf;
    *outlen = len;
    buf = NULL;
cleanup:
    if (rc)
        set_err(l, "%s: %s", path, strerror(-rc));
    if (fd >= 0)
        close(fd);
    free(buf);
    return rc;
}

static int load_file(struct loader *l, const char *path)
{
    char *text = NULL;
    size_t len = 0;
    int rc = read_file(l, path, &text, &len);
    if (rc)
        return rc;

    yaml_parser_t parser;
    yaml_document_t doc, extra;
    bool have_doc = false, have_extra = false;
    l->path = path;
    yaml_parser_initialize(&parser);
    yaml_parser_set_input_string(&parser, (const unsigned char *)text, len);
    if (!yaml_parser_load(&parser, &doc)) {
        yaml_error(l, &parser, text, len);
        rc = -EINVAL;
        goto cleanup;
    }
    have_doc = true;
    l->doc = &doc;

    yaml_node_t *root = yaml_document_get_root_node(&doc);
    if (root && root->type == YAML_MAPPING_NODE) {
        rc = walk_mapping(l, root, NULL);
        if (rc)
            goto cleanup;
    } else if (root && !is_null(root)) {
        char shown[ECHO_BUF];
        set_err(l, "%s:%zu: (top level): expected a mapping of keys, got %s", path, line_of(root),
                shape(root, shown, sizeof(shown)));
        rc = -EINVAL;
        goto cleanup;
    }

    if (!yaml_parser_load(&parser, &extra)) {
        yaml_error(l, &parser, text, len);
        rc = -EINVAL;
        goto cleanup;
    }
    have_extra = true;
    yaml_node_t *second = yaml_document_get_root_node(&extra);
    if (second) {
        set_err(l, "%s:%zu: (top level): only one YAML document is allowed", path, line_of(second));
        rc = -EINVAL;
        goto cleanup;
    }
cleanup:
    if (have_extra)
        yaml_document_delete(&extra);
    if (have_doc)
        yaml_document_delete(&doc);
    yaml_parser_delete(&parser);
    l->doc = NULL;
    free(text);
    return rc;
}

/* ---- environment -------------------------------------------------------------------- */

static char *env_name(const char *prefix, const char *key)
{
    char *name = xasprintf("%s%s", prefix, key);
    for (char *p = name + strlen(prefix); *p; p++) {
        unsigned char c = (unsigned char)*p;
        *p = isalnum(c) ? (char)toupper(c) : '_';
    }
    return name;
}

static int load_env(struct loader *l, const char *prefix)
{
    for (size_t i = 0; i < l->nopts; i++) {
        char *name = env_name(prefix, l->opts[i].key);
        const char *v = getenv(name);
        int rc = 0;
        if (v) {
            char *where = xasprintf("env %s", name);
            rc = set_text(l, i, where, v);
            free(where);
        }
        free(name);
        if (rc)
            return rc;
    }
    return 0;
}

/* ---- public ---------------------------------------------------------------------------- */

int config_load(const config_option_t *opts, size_t nopts, void *dst, const char *path,
                const char *env_prefix, char *err, size_t errlen)
{
    struct loader l = {
        .opts = opts,
        .nopts = nopts,
        .dst = dst,
        .err = err,
        .errlen = errlen,
        .have = xcalloc(nopts, sizeof(bool)),
        .file_line = xcalloc(nopts, sizeof(size_t)),
    };
    int rc = 0;
    if (err && errlen)
        err[0] = '\0';

    for (size_t i = 0; i < nopts; i++)
        clear_field(&opts[i], dst, false);
    for (size_t i = 0; i < nopts; i++) {
        if (opts[i].def) {
            rc = set_text(&l, i, "default", opts[i].def);
            if (rc)
                goto cleanup;
        }
    }
    if (path) {
        rc = load_file(&l, path);
        if (rc)
            goto cleanup;
    }
    if (env_prefix) {
        rc = load_env(&l, env_prefix);
        if (rc)
            goto cleanup;
    }
    for (size_t i = 0; i < nopts; i++) {
        if (!l.have[i]) {
            char *name = env_name(env_prefix ? env_prefix : "", opts[i].key);
            if (env_prefix)
                set_err(&l, "%s: required (set it in the config file or with env %s)", opts[i].key,
                        name);
            else
                set_err(&l, "%s: required (set it in the config file)", opts[i].key);
            free(name);
            rc = -EINVAL;
            goto cleanup;
        }
    }
cleanup:
    if (rc)
        config_dispose(opts, nopts, dst);
    free(l.have);
    free(l.file_line);
    return rc;
}

void config_dispose(const config_option_t *opts, size_t nopts, void *dst)
{
    if (!opts || !dst)
        return;
    for (size_t i = 0; i < nopts; i++) {
        if (opts[i].type == CONFIG_STRING || opts[i].type == CONFIG_LIST)
            clear_field(&opts[i], dst, true);
    }
}

void config_print_reference(const config_option_t *opts, size_t nopts, const char *env_prefix,
                            FILE *out)
{
    for (size_t i = 0; i < nopts; i++) {
        const config_option_t *o = &opts[i];
        fprintf(out, "%s (%s)\n", o->key, type_name(o->type));
        if (env_prefix) {
            char *name = env_name(env_prefix, o->key);
            fprintf(out, "    env:     %s\n", name);
            free(name);
        }
        if (!o->def)
            fprintf(out, "    default: none, required\n");
        else if (!*o->def)
            fprintf(out, "    default: \"\"\n");
        else
            fprintf(out, "    default: %s\n", o->def);
        if (has_bounds(o)) {
            char lo[32], hi[32];
            format_number(lo, sizeof(lo), o->type, o->min);
            format_number(hi, sizeof(hi), o->type, o->max);
            fprintf(out, "    range:   %s .. %s\n", lo, hi);
        }
        if (o->help && *o->help)
            fprintf(out, "    %s\n", o->help);
        fprintf(out, "\n");
    }
}
