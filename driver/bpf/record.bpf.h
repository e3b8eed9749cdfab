/* record.bpf.h: building one record in the per-CPU scratch buffer and sending it.
 *
 * A record is the fixed struct rs_event followed by strings (__u16 length + bytes). Offsets
 * are masked so that the verifier sees every write inside the scratch buffer; a record that
 * would grow past RS_MAX_RECORD / 2 before a string stops taking strings. */
#ifndef RAMPART_DRIVER_RECORD_BPF_H
#define RAMPART_DRIVER_RECORD_BPF_H

#include "maps.bpf.h"

struct rec {
    struct scratch *s;
    struct rs_event *e;
    __u32 off;
};

static __always_inline void counter_add(__u32 ev, int which)
{
    struct rs_counters *c = bpf_map_lookup_elem(&counters, &ev);
    if (!c)
        return;
    if (which == 0)
        c->events++;
    else if (which == 1)
        c->rb_drops++;
    else if (which == 2)
        c->rl_drops++;
    else
        c->filtered++;
}

/* Starts a record: returns 0 and fills r, or -1 when no scratch buffer. */
static __always_inline int rec_begin(struct rec *r, __u32 ev, __u32 data_type)
{
    __u32 zero = 0;
    r->s = bpf_map_lookup_elem(&scratch_map, &zero);
    if (!r->s)
        return -1;
    r->e = (struct rs_event *)r->s->buf;
    __builtin_memset(r->e, 0, sizeof(*r->e));
    r->e->ev = ev;
    r->e->data_type = data_type;
    r->off = sizeof(struct rs_event);
    return 0;
}

static __always_inline __u8 *rec_slot(struct rec *r)
{
    __u32 off = r->off;
    if (off > SCRATCH_MASK)
        return 0;
    return r->s->buf + (off & SCRATCH_MASK);
}

static __always_inline void rec_commit_str(struct rec *r, __u8 *p, long n)
{
    __u32 len = n > 0 ? (__u32)n : 0;
    len &= 0xfff;
    p[0] = len & 0xff;
    p[1] = len >> 8;
    r->off += 2 + len;
    r->e->nstr++;
}

/* A NUL-terminated string from kernel memory (at most max-1 bytes kept). */
static __always_inline void rec_str_kernel(struct rec *r, const void *src, __u32 max)
{
    __u8 *p = rec_slot(r);
    if (!p)
        return;
    long n = src ? bpf_probe_read_kernel_str(p + 2, max & 0xfff, src) : 0;
    rec_commit_str(r, p, n - 1);
}

/* The same from user memory. */
static __always_inline void rec_str_user(struct rec *r, const void *src, __u32 max)
{
    __u8 *p = rec_slot(r);
    if (!p)
        return;
    long n = src ? bpf_probe_read_user_str(p + 2, max & 0xfff, src) : 0;
    rec_commit_str(r, p, n - 1);
}

/* len raw bytes from user memory (len is clamped to 4095). */
static __always_inline void rec_bytes_user(struct rec *r, const void *src, __u32 len)
{
    __u8 *p = rec_slot(r);
    if (!p)
        return;
    len &= 0xfff;
    if (len == 0xfff)
        len = 0xffe;
    if (bpf_probe_read_user(p + 2, len, src) < 0)
        len = 0;
    rec_commit_str(r, p, len);
}

static __always_inline void rec_empty(struct rec *r)
{
    __u8 *p = rec_slot(r);
    if (p)
        rec_commit_str(r, p, 0);
}

/* Sends the record: counts it as written or as a ring buffer drop. */
static __always_inline void rec_submit(struct rec *r)
{
    __u32 size = r->off;
    if (size > RS_MAX_RECORD)
        size = RS_MAX_RECORD;
    if (size < sizeof(struct rs_event))
        return;
    r->e->size = size;
    /* Wake the consumer only when it is falling behind: a wakeup is an irq_work, a self-IPI
     * (an MSR write that traps to the hypervisor in a VM, microseconds), and the plugin drains
     * the ring on a 50 ms timer anyway. Every wakeup_bytes of its own records a CPU looks at how
     * much is waiting (a read of the consumer's position, a cache line the consumer keeps
     * writing: not on every record) and wakes the consumer when it is more than a quarter of
     * the ring. */
    __u64 flags = BPF_RB_NO_WAKEUP;
    r->s->unwoken += size;
    if (r->s->unwoken >= wakeup_bytes) {
        r->s->unwoken = 0;
        if (bpf_ringbuf_query(&events, BPF_RB_AVAIL_DATA) >=
            bpf_ringbuf_query(&events, BPF_RB_RING_SIZE) / 4)
            flags = BPF_RB_FORCE_WAKEUP;
    }
    if (bpf_ringbuf_output(&events, r->s->buf, size, flags) == 0)
        counter_add(r->e->ev, 0);
    else
        counter_add(r->e->ev, 1);
}

#endif
