#include "event.h"

#include <errno.h>
#include <string.h>

static const struct {
    const char *name;
    int data_type;
} ev_table[RS_EV__COUNT] = {
    [RS_EV_EXECVE] = {"execve", 59},
    [RS_EV_EXIT] = {"exit", 60},
    [RS_EV_CONNECT] = {"connect", 42},
    [RS_EV_ACCEPT] = {"accept", 43},
    [RS_EV_BIND] = {"bind", 49},
    [RS_EV_DNS] = {"dns", 601},
    [RS_EV_CREATE] = {"create", 602},
    [RS_EV_RENAME] = {"rename", 82},
    [RS_EV_LINK] = {"link", 86},
    [RS_EV_UNLINK] = {"unlink", 605},
    [RS_EV_PTRACE] = {"ptrace", 101},
    [RS_EV_MEMFD] = {"memfd_create", 356},
    [RS_EV_MODULE] = {"module_load", 603},
    [RS_EV_PRIV] = {"privilege_change", 604},
    [RS_EV_PRIV_ESC] = {"privilege_escalation", 611},
    [RS_EV_MOUNT] = {"mount", 165},
    [RS_EV_PRCTL] = {"prctl", 157},
    [RS_EV_SETSID] = {"setsid", 112},
    [RS_EV_KILL] = {"kill", 62},
};

int event_data_type(unsigned ev)
{
    return ev < RS_EV__COUNT ? ev_table[ev].data_type : 0;
}

const char *event_name(unsigned ev)
{
    return ev < RS_EV__COUNT ? ev_table[ev].name : NULL;
}

int event_by_name(const char *name)
{
    for (unsigned i = 0; i < RS_EV__COUNT; i++)
        if (strcmp(ev_table[i].name, name) == 0)
            return (int)i;
    return -1;
}

int event_parse(const void *data, size_t len, event_t *ev)
{
    memset(ev, 0, sizeof(*ev));
    if (!data || len < sizeof(struct rs_event) || len > RS_MAX_RECORD)
        return -EINVAL;
    const struct rs_event *h = data;
    if (h->size < sizeof(struct rs_event) || h->size > len)
        return -EINVAL;
    if (h->ev >= RS_EV__COUNT || h->data_type != ev_table[h->ev].data_type)
        return -EINVAL;
    if (h->nstr > EVENT_MAX_STR)
        return -EINVAL;
    const unsigned char *p = (const unsigned char *)data + sizeof(struct rs_event);
    const unsigned char *end = (const unsigned char *)data + h->size;
    for (size_t i = 0; i < h->nstr; i++) {
        if (end - p < 2)
            return -EINVAL;
        size_t n = (size_t)p[0] | ((size_t)p[1] << 8);
        p += 2;
        if ((size_t)(end - p) < n)
            return -EINVAL;
        ev->str[i].p = (const char *)p;
        ev->str[i].len = n;
        p += n;
    }
    ev->h = h;
    ev->nstr = h->nstr;
    return 0;
}

event_str_t event_str(const event_t *ev, size_t i)
{
    event_str_t none = {"", 0};
    if (i >= ev->nstr)
        return none;
    return ev->str[i];
}
