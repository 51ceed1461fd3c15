// SPDX-License-Identifier: GPL-2.0 OR Apache-2.0
/* casa collector: bearer tokens in plaintext HTTP/1.x, seen at TCX ingress and
 * egress, and the process that opened each sending socket (sock_ops).
 *
 * A packet whose TCP payload starts with an HTTP method is copied (up to
 * scan_limit bytes) into a per-CPU buffer and scanned by a bpf_loop state
 * machine: request line, Host, Authorization: Bearer <token>, start of body.
 * The state survives the end of a packet in a per-flow map, so headers split
 * over several writes are still found; every request slot becomes one
 * variable-size ring-buffer record. User space joins records flagged MORE
 * with the flow's next one. Nothing here drops or changes a packet. */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/tcp.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>
#include <linux/ptrace.h>
#include <bpf/bpf_tracing.h>
#include "collector.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

/* Set by the loader before load. */
const volatile __u32 scan_limit = 16384;

#define MAX_SLOTS 4
#define TCX_NEXT_ACT (-1) /* TC_ACT_UNSPEC: let the next program decide */

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 8 << 20);
} records SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, CASA_C_MAX);
	__type(key, __u32);
	__type(value, __u64);
} counters SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 65536);
	__type(key, __u64); /* socket cookie */
	__type(value, struct casa_sender);
} senders SEC(".maps");



/* scanner states */
enum {
	ST_REQLINE = 0,
	ST_LINE,    /* at some position in a header line, matching names */
	ST_AUTH_SP, /* after "authorization:" */
	ST_SCHEME,  /* matching "bearer" */
	ST_TOKEN_SP,
	ST_TOKEN,
	ST_HOST_SP,
	ST_HOST,
	ST_SKIP,  /* rest of an uninteresting line */
	ST_AFTER, /* first byte after the blank line */
	ST_DONE,
};

#define M_AUTH 1
#define M_HOST 2

struct slot {
	__u16 line_off, line_len, host_off, host_len, tok_off, tok_len, body_off;
	__u8 flags, open_field; /* open_field: 1 line, 2 host, 3 token */
};

/* What survives the end of a packet. */
struct carry {
	__u8 st, m, k, flags;
	__u16 lp, _pad;
};

struct flow_key {
	__u8 saddr[16];
	__u8 daddr[16];
	__u16 sport, dport;
	__u32 ifindex_dir;
};

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 65536);
	__type(key, struct flow_key);
	__type(value, struct carry);
} carries SEC(".maps");

struct scan {
	__u32 n;
	/* the next byte to scan: a step may take eight at once */
	__u32 pos;
	struct carry c;
	__u32 nslots;
	struct slot s[MAX_SLOTS];
};

/* Lower-case keywords packed little-endian into two words each: constant
 * arrays would land in .rodata.str1.1, whose BTF clang 14 gets wrong. */
#define AUTH_LEN 14 /* "authorization:" */
#define AUTH_LO 0x7a69726f68747561ULL
#define AUTH_HI 0x3a6e6f697461ULL
#define HOST_LEN 5 /* "host:" */
#define HOST_LO 0x3a74736f68ULL
#define BEARER_LEN 6 /* "bearer" */
#define BEARER_LO 0x726572616562ULL

static __always_inline __u8 kw(__u64 lo, __u64 hi, __u32 k)
{
	return k < 8 ? (lo >> (k * 8)) & 0xff : (hi >> ((k - 8) * 8)) & 0xff;
}

struct scratch {
	__u8 buf[CASA_SCAN_MAX];
	struct casa_record rec;
	/* The scanner's state lives here, not on the stack: the verifier does
	 * not track map contents, so the bpf_loop callback converges at once. */
	struct scan s;
	/* Where the payload is, re-read from here before emitting: the verifier
	 * does not track map contents, so the IPv4/IPv6, L2 and clipped paths
	 * meet in one state instead of each being verified to the end. */
	__u32 off, plen, clipped, n;
};

/* bpf_loop's context must be on the stack; it only points at the scratch. */
struct loopctx {
	struct scan *s;
	__u8 *buf;
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct scratch);
} scratch_map SEC(".maps");

/* Wake the reader only once a backlog builds up: it polls the ring every
 * 1.5 ms anyway, and a wakeup per record cost more CPU than the judging
 * at moderate rates (every request woke a thread). Past the mark, the
 * kernel's own rule (wake a reader that had caught up) applies; forcing a
 * wakeup per record there doubled the programs' run time at saturation. */
#define WAKE_BYTES (64 * 1024)

static __always_inline __u64 wakeup(void)
{
	return bpf_ringbuf_query(&records, BPF_RB_AVAIL_DATA) >= WAKE_BYTES ? 0 : BPF_RB_NO_WAKEUP;
}

static __always_inline void count(__u32 idx)
{
	__u64 *v = bpf_map_lookup_elem(&counters, &idx);
	if (v)
		*v += 1;
}

static __always_inline __u8 lower(__u8 c)
{
	return (c >= 'A' && c <= 'Z') ? c | 0x20 : c;
}

static __always_inline struct slot *cur(struct scan *s)
{
	__u32 i = s->nslots;
	if (i >= MAX_SLOTS)
		return 0;
	return &s->s[i];
}

static __always_inline void end_field(struct slot *sl, __u16 i)
{
	switch (sl->open_field) {
	case 1:
		sl->line_len = i - sl->line_off;
		break;
	case 2:
		sl->host_len = i - sl->host_off;
		break;
	case 3:
		sl->tok_len = i - sl->tok_off;
		sl->flags |= CASA_F_AUTH;
		break;
	}
	sl->open_field = 0;
}

/* The bytes of v equal to b, as bit 7 of each byte (the classic
 * has-zero-byte test). Bits above the first match may be false positives;
 * the lowest set bit is always exact. */
static __always_inline __u64 bytes_eq(__u64 v, __u8 b)
{
	__u64 x = v ^ (0x0101010101010101ULL * b);
	return (x - 0x0101010101010101ULL) & ~x & 0x8080808080808080ULL;
}

/* The bytes of v below b (b <= 0x80), same form and exactness. */
static __always_inline __u64 bytes_below(__u64 v, __u8 b)
{
	return (v - 0x0101010101010101ULL * b) & ~v & 0x8080808080808080ULL;
}

/* Index of the lowest set bit of x, 64 when x is 0: a branch-free
 * population count of the bits below it (BPF has neither ctz nor popcnt). */
static __always_inline __u32 lowest_bit(__u64 x)
{
	__u64 b = (x & -x) - 1;
	b = b - ((b >> 1) & 0x5555555555555555ULL);
	b = (b & 0x3333333333333333ULL) + ((b >> 2) & 0x3333333333333333ULL);
	b = (b + (b >> 4)) & 0x0f0f0f0f0f0f0f0fULL;
	return (b * 0x0101010101010101ULL) >> 56;
}

/* Index of the lowest flagged byte of a non-zero mask from bytes_eq or
 * bytes_below: its lowest set bit is bit 7 of that byte. (Branch-free; the
 * three-branch search it replaced was no faster in bpftool prog run.) */
static __always_inline __u32 first_flagged(__u64 m)
{
	return lowest_bit(m) / 8;
}

static __always_inline __u64 word_at(const struct loopctx *lc, __u32 i)
{
	return *(const __u64 *)(lc->buf + (i & (CASA_SCAN_MAX - 1)));
}

/* ASCII letters to lower case, when every byte of v is a letter */
#define LETTERS_LOWER 0x2020202020202020ULL

static __always_inline long one(struct loopctx *lc, __u32 i);

/* How many words a step may skip at once: more in a token, the longest
 * field, whose test is the simplest (branch-free there). */
#define SKIP_WORDS 4
#ifndef TOKEN_WORDS
#define TOKEN_WORDS 16
#endif

/* One bpf_loop iteration: a word-wise step where the state allows one, else
 * one byte of the state machine. In a token, the request line, a Host value or
 * a skipped line only one byte class changes the state (in a token anything
 * below '!', elsewhere '\n'): up to 32 bytes are searched for it at once, 128
 * in a token, and the step lands on it. At the start of a header line the name
 * is compared with "authorization:" and "host:" a word at a time, and
 * "bearer " likewise. Near the end of what was copied the byte-wise machine
 * runs, so a header split over packets is still followed. (A callback per
 * byte cost ~10 us/packet; sixteen-byte steps ~2 us. Steps of 128 bytes in a
 * token save ~110 ns on a 600-byte token, for ~15 ms more verifying; 256
 * save 25 ns more.) */
static long step(__u64 idx, struct loopctx *lc)
{
	struct scan *s = lc->s;
	__u32 i = s->pos;
	__u32 n = s->n;
	if (i >= n || i >= CASA_SCAN_MAX)
		return 1;
	struct carry *k = &s->c;
	__u8 st = k->st;
	if (st == ST_TOKEN && i + 8 * TOKEN_WORDS <= n && i <= CASA_SCAN_MAX - 8 * TOKEN_WORDS) {
		/* Branch-free, so the verifier walks one path: which of the
		 * words hold a byte that ends the token, then where the first is. */
		__u64 hit = 0;
		__u32 w;
#pragma unroll
		for (w = 0; w < TOKEN_WORDS; w++) {
			__u64 m = bytes_below(word_at(lc, i + 8 * w), '!');
			__u64 neg = -m;
			/* hidden from clang, which would make m != 0 a branch */
			asm volatile("" : "+r"(neg));
			hit |= ((m | neg) >> 63) << w;
		}
		__u32 first = lowest_bit(hit); /* 64 when none */
		if (first >= TOKEN_WORDS) {
			s->pos = i + 8 * TOKEN_WORDS;
			return 0;
		}
		__u32 at = 8 * first + first_flagged(bytes_below(word_at(lc, i + 8 * first), '!'));
		if (at > 0) {
			s->pos = i + at;
			return 0;
		}
		/* the byte itself ends the token */
	} else if ((st == ST_TOKEN || st == ST_SKIP || st == ST_REQLINE || st == ST_HOST) && i + 8 <= n &&
		   i <= CASA_SCAN_MAX - 8 * SKIP_WORDS) {
		__u32 w;
		for (w = 0; w < SKIP_WORDS; w++) {
			if (i + 8 * (w + 1) > n)
				break;
			__u64 v = word_at(lc, i + 8 * w);
			__u64 m = st == ST_TOKEN ? bytes_below(v, '!') : bytes_eq(v, '\n');
			if (m) {
				__u32 at = 8 * w + first_flagged(m);
				if (at == 0)
					break; /* the byte itself changes the state */
				s->pos = i + at;
				return 0;
			}
		}
		if (w > 0) {
			s->pos = i + 8 * w;
			return 0;
		}
	} else if (st == ST_LINE && k->lp == 0 && i + 16 <= n && i <= CASA_SCAN_MAX - 16) {
		__u8 c = lc->buf[i & (CASA_SCAN_MAX - 1)];
		if (c != '\r' && c != '\n') {
			__u64 w0 = word_at(lc, i), w1 = word_at(lc, i + 8);
			/* "authorization:": thirteen letters and a colon */
			if ((w0 | LETTERS_LOWER) == AUTH_LO &&
			    ((w1 | 0x2020202020ULL) & 0xffffffffffffULL) == AUTH_HI) {
				k->st = ST_AUTH_SP;
				s->pos = i + AUTH_LEN;
				return 0;
			}
			if (((w0 | 0x20202020ULL) & 0xffffffffffULL) == HOST_LO) {
				k->st = ST_HOST_SP;
				s->pos = i + HOST_LEN;
				return 0;
			}
			/* neither: the rest of the line is skipped */
			k->st = ST_SKIP;
			return 0;
		}
	} else if (st == ST_AUTH_SP && i + 8 <= n && i <= CASA_SCAN_MAX - 8) {
		__u8 c = lc->buf[i & (CASA_SCAN_MAX - 1)];
		__u64 v = word_at(lc, i);
		__u8 after = (v >> 48) & 0xff;
		if (c != ' ' && c != '\t' && ((v | 0x202020202020ULL) & 0xffffffffffffULL) == BEARER_LO &&
		    (after == ' ' || after == '\t')) {
			k->st = ST_TOKEN_SP;
			s->pos = i + BEARER_LEN + 1;
			return 0;
		}
	}
	s->pos = i + 1;
	return one(lc, i);
}

/* The state machine, one byte. */
static __always_inline long one(struct loopctx *lc, __u32 i)
{
	struct scan *s = lc->s;
	struct slot *sl = cur(s);
	if (!sl)
		return 1;
	__u8 c = lc->buf[i & (CASA_SCAN_MAX - 1)];
	__u8 l = lower(c);
	struct carry *k = &s->c;

	if (k->st == ST_AFTER) {
		/* Pipelined request or a body? Requests start with a method. */
		if (c < 'A' || c > 'Z') {
			k->st = ST_DONE;
			return 1;
		}
		s->nslots++;
		sl = cur(s);
		if (!sl) {
			/* more pipelined requests than slots: say so */
			s->s[MAX_SLOTS - 1].flags |= CASA_F_TRUNCATED;
			return 1;
		}
		sl->line_off = i;
		sl->open_field = 1;
		k->st = ST_REQLINE;
	}
	if (c == '\r')
		return 0;
	if (c == '\n') {
		end_field(sl, i > 0 && lc->buf[(i - 1) & (CASA_SCAN_MAX - 1)] == '\r' ? i - 1 : i);
		if (k->st == ST_LINE && k->lp == 0) {
			sl->flags |= CASA_F_HEADERS_END;
			sl->body_off = i + 1;
			k->st = ST_AFTER;
			return 0;
		}
		k->st = ST_LINE;
		k->lp = 0;
		k->m = M_AUTH | M_HOST;
		return 0;
	}
	switch (k->st) {
	case ST_REQLINE:
		return 0;
	case ST_LINE: {
		__u16 lp = k->lp;
		if ((k->m & M_AUTH) && lp < AUTH_LEN && l == kw(AUTH_LO, AUTH_HI, lp)) {
			if (lp == AUTH_LEN - 1) {
				k->st = ST_AUTH_SP;
				return 0;
			}
		} else {
			k->m &= ~M_AUTH;
		}
		if ((k->m & M_HOST) && lp < HOST_LEN && l == kw(HOST_LO, 0, lp)) {
			if (lp == HOST_LEN - 1) {
				k->st = ST_HOST_SP;
				return 0;
			}
		} else {
			k->m &= ~M_HOST;
		}
		if (!k->m)
			k->st = ST_SKIP;
		k->lp = lp + 1;
		return 0;
	}
	case ST_AUTH_SP:
		if (c == ' ' || c == '\t')
			return 0;
		k->st = ST_SCHEME;
		k->k = 0;
		/* fall through */
	case ST_SCHEME:
		if (k->k < BEARER_LEN) {
			if (l == kw(BEARER_LO, 0, k->k)) {
				k->k++;
				return 0;
			}
		} else if (c == ' ' || c == '\t') {
			k->st = ST_TOKEN_SP;
			return 0;
		}
		sl->flags |= CASA_F_NON_BEARER;
		k->st = ST_SKIP;
		return 0;
	case ST_TOKEN_SP:
		if (c == ' ' || c == '\t')
			return 0;
		sl->tok_off = i;
		sl->open_field = 3;
		k->st = ST_TOKEN;
		return 0;
	case ST_TOKEN:
		if (c == ' ' || c == '\t') {
			end_field(sl, i);
			k->st = ST_SKIP;
		}
		return 0;
	case ST_HOST_SP:
		if (c == ' ' || c == '\t')
			return 0;
		sl->host_off = i;
		sl->open_field = 2;
		k->st = ST_HOST;
		return 0;
	default:
		return 0;
	}
}

/* Whether the 16 bytes at data + at, read in place, are the network
 * header's first 16 (hdr). */
static __always_inline int net_header_at(void *data, void *end, __u32 at, const __u64 *hdr)
{
	const __u64 *p = data + at;
	if ((void *)(p + 2) > end)
		return 0;
	return p[0] == hdr[0] && p[1] == hdr[1];
}

static __always_inline int load_tuple(struct __sk_buff *skb, struct casa_record *r, __u32 *payload_off,
				      __u32 *payload_len)
{
	__u32 l4;
	__u32 total;
	/* The network header's first 16 bytes: where it starts is found below */
	__u64 hdr[2];
	if (skb->protocol == bpf_htons(ETH_P_IP)) {
		struct iphdr ip;
		if (bpf_skb_load_bytes_relative(skb, 0, &ip, sizeof(ip), BPF_HDR_START_NET))
			return -1;
		if (ip.protocol != IPPROTO_TCP || (ip.frag_off & bpf_htons(0x3fff)))
			return -1;
		l4 = ip.ihl * 4;
		total = bpf_ntohs(ip.tot_len);
		r->family = 4;
		__builtin_memset(r->saddr, 0, 16);
		__builtin_memset(r->daddr, 0, 16);
		__builtin_memcpy(r->saddr, &ip.saddr, 4);
		__builtin_memcpy(r->daddr, &ip.daddr, 4);
		__builtin_memcpy(hdr, &ip, sizeof(hdr));
	} else if (skb->protocol == bpf_htons(ETH_P_IPV6)) {
		struct ipv6hdr ip6;
		if (bpf_skb_load_bytes_relative(skb, 0, &ip6, sizeof(ip6), BPF_HDR_START_NET))
			return -1;
		/* extension headers are not followed: TCP must come next */
		if (ip6.nexthdr != IPPROTO_TCP)
			return -1;
		l4 = sizeof(ip6);
		total = sizeof(ip6) + bpf_ntohs(ip6.payload_len);
		r->family = 6;
		__builtin_memcpy(r->saddr, &ip6.saddr, 16);
		__builtin_memcpy(r->daddr, &ip6.daddr, 16);
		__builtin_memcpy(hdr, &ip6, sizeof(hdr));
	} else {
		return -1;
	}
	/* The programs run on every packet (twice per request on lo, where
	 * only egress is hooked), so what sits in the linear part, as headers
	 * do on lo and Ethernet devices, is read in place rather than by a
	 * helper call each. The payload may sit in page fragments, which only
	 * bpf_skb_load_bytes reads, relative to the MAC header: find where the
	 * network header is (14 bytes in for Ethernet and lo, 0 for L3
	 * devices). */
	void *data = (void *)(long)skb->data;
	void *end = (void *)(long)skb->data_end;
	__u64 at[2];
	__u32 l2;
	if (net_header_at(data, end, ETH_HLEN, hdr))
		l2 = ETH_HLEN;
	else if (net_header_at(data, end, 0, hdr))
		l2 = 0;
	else if (!bpf_skb_load_bytes(skb, ETH_HLEN, at, sizeof(at)) && hdr[0] == at[0] && hdr[1] == at[1])
		l2 = ETH_HLEN;
	else if (!bpf_skb_load_bytes(skb, 0, at, sizeof(at)) && hdr[0] == at[0] && hdr[1] == at[1])
		l2 = 0;
	else
		return -1;
	struct tcphdr tcp;
	struct tcphdr *th = data + ((l2 + l4) & 127);
	if ((void *)(th + 1) <= end)
		tcp = *th;
	else if (bpf_skb_load_bytes_relative(skb, l4, &tcp, sizeof(tcp), BPF_HDR_START_NET))
		return -1;
	__u32 off = l2 + l4 + tcp.doff * 4;
	/* big GSO packets may carry tot_len 0: bound by the skb then */
	total = total == 0 ? skb->len : total + l2;
	if (total > skb->len)
		total = skb->len;
	if (total <= off)
		return -1;
	r->sport = tcp.source;
	r->dport = tcp.dest;
	r->seq = bpf_ntohl(tcp.seq);
	*payload_off = off;
	*payload_len = total - off;
	return 0;
}

static __always_inline int is_method(const __u8 *b)
{
	switch (b[0]) {
	case 'G':
		return b[1] == 'E' && b[2] == 'T' && b[3] == ' ';
	case 'P':
		return (b[1] == 'O' && b[2] == 'S' && b[3] == 'T' && b[4] == ' ') ||
		       (b[1] == 'U' && b[2] == 'T' && b[3] == ' ') ||
		       (b[1] == 'A' && b[2] == 'T' && b[3] == 'C' && b[4] == 'H' && b[5] == ' ');
	case 'D':
		return b[1] == 'E' && b[2] == 'L' && b[3] == 'E' && b[4] == 'T' && b[5] == 'E' && b[6] == ' ';
	case 'H':
		return b[1] == 'E' && b[2] == 'A' && b[3] == 'D' && b[4] == ' ';
	case 'O':
		return b[1] == 'P' && b[2] == 'T' && b[3] == 'I' && b[4] == 'O' && b[5] == 'N' && b[6] == 'S';
	}
	return 0;
}

/* v bounded to [0, max] in a way the verifier can follow (max a power of 2) */
#define BOUND(v, max)                                                                           \
	({                                                                                      \
		__u64 __v = (v);                                                                \
		asm volatile("%[x] &= %[m]" : [x] "+r"(__v) : [m] "i"(2 * (max) + 1));          \
		if (__v > (max))                                                                \
			__v = (max);                                                            \
		asm volatile("" : "+r"(__v));                                                  \
		__v;                                                                            \
	})

/* v in [1, max] for v >= 1: helpers refuse a size the verifier thinks may be 0 */
#define BOUND1(v, max) (BOUND((v) - 1, (max) - 1) + 1)

/* Copy [off, off+len) of the payload into dst, len bounded by max. */
#define COPY(skb, base, off, len, dst, max)                                                     \
	do {                                                                                    \
		__u32 __n = (len);                                                              \
		if (__n > 0)                                                                    \
			bpf_skb_load_bytes(skb, (base) + (off), dst, BOUND1(__n, max));         \
	} while (0)

/* Copy [off, off+len) of the plaintext an SSL_write was given into dst. */
#define COPY_USER(ubuf, off, len, dst, max)                                                     \
	do {                                                                                    \
		__u32 __n = (len);                                                              \
		if (__n > 0)                                                                    \
			bpf_probe_read_user(dst, BOUND1(__n, max), (ubuf) + (off));             \
	} while (0)

/* A field from the packet (skb) or, for the TLS uprobes, from user memory (ubuf). */
#define FIELD(skb, ubuf, base, off, len, dst, max)                                              \
	do {                                                                                    \
		if (ubuf)                                                                       \
			COPY_USER(ubuf, off, len, dst, max);                                    \
		else                                                                            \
			COPY(skb, base, off, len, dst, max);                                    \
	} while (0)

/* The record's fields are packed in data[]: line, Host, body, token, each
 * its own length, so only the bytes seen are copied and sent. */
static __always_inline void emit(struct __sk_buff *skb, const __u8 *ubuf, struct casa_record *r, __u32 base,
				 struct slot *sl, __u32 body_len, int more)
{
	r->flags = (r->flags & (CASA_F_EGRESS | CASA_F_ATTRIBUTED | CASA_F_CONTINUED)) | sl->flags;
	if (more)
		r->flags |= CASA_F_MORE;
	r->line_len = sl->line_len > CASA_LINE_MAX ? CASA_LINE_MAX : sl->line_len;
	r->host_len = sl->host_len > CASA_HOST_MAX ? CASA_HOST_MAX : sl->host_len;
	r->body_len = body_len > CASA_BODY_MAX ? CASA_BODY_MAX : body_len;
	r->token_len = sl->tok_len > CASA_TOKEN_MAX ? CASA_TOKEN_MAX : sl->tok_len;
	if (sl->tok_len > CASA_TOKEN_MAX || sl->line_len > CASA_LINE_MAX)
		r->flags |= CASA_F_TRUNCATED;
	/* where each field starts, bounded (by 2^k - 1) so the verifier sees
	 * that it fits; the real values are far below the bounds */
	__u32 host_at = BOUND(r->line_len, 511);
	__u32 body_at = BOUND(host_at + r->host_len, 511);
	__u32 token_at = BOUND(body_at + r->body_len, CASA_FIELDS_MAX - 1);
	FIELD(skb, ubuf, base, sl->line_off, r->line_len, r->data, CASA_LINE_MAX);
	FIELD(skb, ubuf, base, sl->host_off, r->host_len, r->data + host_at, CASA_HOST_MAX);
	FIELD(skb, ubuf, base, sl->body_off, r->body_len, r->data + body_at, CASA_BODY_MAX);
	FIELD(skb, ubuf, base, sl->tok_off, r->token_len, r->data + token_at, CASA_TOKEN_MAX);
	if ((r->flags & CASA_F_AUTH) && !more)
		count(CASA_C_MATCHED);
	if (r->flags & CASA_F_TRUNCATED)
		count(CASA_C_TRUNCATED);
	__u64 size = offsetof(struct casa_record, data) + token_at + r->token_len;
	if (size > sizeof(*r))
		size = sizeof(*r);
	if (bpf_ringbuf_output(&records, r, size, wakeup()))
		count(CASA_C_RESERVE_FAIL);
}

/* The scan ended inside a request's headers. */
static __always_inline int headers_open(const struct scan *sp)
{
	return sp->c.st != ST_AFTER && sp->c.st != ST_DONE;
}

/* The scan window: scan_limit, never past the scratch buffer. */
static __always_inline __u32 scan_window(void)
{
	__u32 lim = scan_limit;
	return lim > CASA_SCAN_MAX ? CASA_SCAN_MAX : lim;
}

/* Runs the state machine over the first n bytes of the scratch buffer. */
static __always_inline void scan_buffer(struct scratch *sc, __u32 n)
{
	sc->s.n = n;
	sc->s.pos = 0;
	struct loopctx lc = {.s = &sc->s, .buf = sc->buf};
	bpf_loop(n, step, &lc, 0);
}

/* bpf_loop's context for emitting: where the fields come from, the packet
 * (skb) or the write (ubuf), and what the scan found. */
struct emitctx {
	struct __sk_buff *skb;
	const __u8 *ubuf;
	struct scratch *sc;
	__u32 base, n, avail, nslots;
	int open, clipped;
};

/* One request slot becomes one record. A bpf_loop callback rather than an
 * unrolled loop: the verifier checks it once, not once per slot. */
static long emit_slot(__u64 i, struct emitctx *ec)
{
	struct scratch *sc = ec->sc;
	if (i >= MAX_SLOTS || i >= ec->nslots)
		return 1;
	struct slot *sl = &sc->s.s[i];
	struct casa_record *r = &sc->rec;
	int more = i + 1 == ec->nslots && ec->open && !ec->clipped;
	if (sl->open_field)
		end_field(sl, ec->n); /* the field runs to the end of what was seen */
	__u32 body_len = 0;
	if ((sl->flags & CASA_F_HEADERS_END) && ec->avail > sl->body_off)
		body_len = ec->avail - sl->body_off;
	emit(ec->skb, ec->ubuf, r, ec->base, sl, body_len, more);
	return 0;
}

/* A record per request the scan found. avail: bytes of the request there
 * are to copy from; clipped: the headers cannot go on later, so an open
 * request is flagged truncated instead of continued (MORE) in the flow's
 * next packet. */
static __always_inline void emit_requests(struct __sk_buff *skb, const __u8 *ubuf, struct scratch *sc,
					  __u32 base, __u32 n, __u32 avail, int clipped)
{
	struct scan *sp = &sc->s;
	int open = headers_open(sp);
	if (clipped && open) {
		__u32 last = sp->nslots < MAX_SLOTS ? sp->nslots : MAX_SLOTS - 1;
		sp->s[last].flags |= CASA_F_TRUNCATED;
	}
	struct emitctx ec = {
		.skb = skb,
		.ubuf = ubuf,
		.sc = sc,
		.base = base,
		.n = n,
		.avail = avail,
		.nslots = sp->nslots + 1,
		.open = open,
		.clipped = clipped,
	};
	bpf_loop(MAX_SLOTS, emit_slot, &ec, 0);
}

static __always_inline int handle(struct __sk_buff *skb, int egress)
{
	__u32 zero = 0;
	struct scratch *sc = bpf_map_lookup_elem(&scratch_map, &zero);
	if (!sc)
		return TCX_NEXT_ACT;
	struct casa_record *r = &sc->rec;
	__u32 off, plen;
	count(CASA_C_PACKETS);
	if (load_tuple(skb, r, &off, &plen))
		return TCX_NEXT_ACT;
	count(CASA_C_PAYLOADS);

	/* enough for a method, or a status line up to its code */
	__u8 head[12] = {};
	if (bpf_skb_load_bytes(skb, off, head, plen >= 12 ? 12 : plen >= 8 ? 8 : 1))
		return TCX_NEXT_ACT;

	struct flow_key fk = {};
	__builtin_memcpy(fk.saddr, r->saddr, 16);
	__builtin_memcpy(fk.daddr, r->daddr, 16);
	fk.sport = r->sport;
	fk.dport = r->dport;
	fk.ifindex_dir = (skb->ifindex << 1) | egress;

	struct scan *sp = &sc->s;
	__builtin_memset(sp, 0, sizeof(*sp));
	r->flags = egress ? CASA_F_EGRESS : 0;
	r->kind = CASA_REC_REQUEST;
	r->status = 0;
	if (plen >= 8 && is_method(head)) {
		sp->c.st = ST_REQLINE;
		sp->s[0].open_field = 1;
	} else if (plen >= 12 && head[0] == 'H' && head[1] == 'T' && head[2] == 'T' && head[3] == 'P' &&
		   head[4] == '/') {
		/* a response: status code only, for "was an invalid token accepted" */
		r->kind = CASA_REC_RESPONSE;
		r->status = (head[9] - '0') * 100 + (head[10] - '0') * 10 + (head[11] - '0');
		r->ts_ns = bpf_ktime_get_ns();
		r->ifindex = skb->ifindex;
		r->cookie = 0;
		r->pid = 0;
		r->line_len = r->host_len = r->body_len = r->token_len = 0;
		count(CASA_C_RESPONSES);
		if (bpf_ringbuf_output(&records, r, offsetof(struct casa_record, data), wakeup()))
			count(CASA_C_RESERVE_FAIL);
		return TCX_NEXT_ACT;
	} else {
		struct carry *c = bpf_map_lookup_elem(&carries, &fk);
		if (!c)
			return TCX_NEXT_ACT;
		sp->c = *c;
		r->flags |= CASA_F_CONTINUED;
		count(CASA_C_CONTINUED);
		/* a field open at the end of the last packet continues at 0 */
		if (sp->c.st == ST_REQLINE)
			sp->s[0].open_field = 1;
		else if (sp->c.st == ST_HOST)
			sp->s[0].open_field = 2;
		else if (sp->c.st == ST_TOKEN)
			sp->s[0].open_field = 3;
	}
	count(CASA_C_SCANNED);

	__u32 n = plen;
	__u32 lim = scan_window();
	int clipped = 0;
	if (n > lim) {
		n = lim;
		clipped = 1;
	}
	if (n == 0)
		return TCX_NEXT_ACT;
	n = BOUND1(n, CASA_SCAN_MAX);
	if (bpf_skb_load_bytes(skb, off, sc->buf, n))
		return TCX_NEXT_ACT;
	scan_buffer(sc, n);

	/* still inside the headers: carry the state to the flow's next packet */
	int open = headers_open(sp);
	if (open && !clipped)
		bpf_map_update_elem(&carries, &fk, &sp->c, BPF_ANY);
	else if (r->flags & CASA_F_CONTINUED)
		bpf_map_delete_elem(&carries, &fk);

	r->ts_ns = bpf_ktime_get_ns();
	r->ifindex = skb->ifindex;
	r->cookie = bpf_get_socket_cookie(skb);
	r->cgroup_id = 0;
	r->pid = 0;
	__builtin_memset(r->comm, 0, sizeof(r->comm));
	if (r->cookie) {
		struct casa_sender *snd = bpf_map_lookup_elem(&senders, &r->cookie);
		if (snd) {
			r->pid = snd->pid;
			r->cgroup_id = snd->cgroup_id;
			__builtin_memcpy(r->comm, snd->comm, sizeof(r->comm));
			r->flags |= CASA_F_ATTRIBUTED;
		}
	}

	sc->off = off;
	sc->plen = plen;
	sc->clipped = clipped;
	sc->n = n;
	emit_requests(skb, 0, sc, *(volatile __u32 *)&sc->off, *(volatile __u32 *)&sc->n,
		      *(volatile __u32 *)&sc->plen, *(volatile __u32 *)&sc->clipped);
	return TCX_NEXT_ACT;
}

/* One program for both directions, so the verifier checks it once (it was
 * a third of the load and attach time per program). At ingress the kernel
 * has set skb_iif to this device before TCX runs; a packet leaving was made
 * here (skb_iif 0) or routed in from another device. Only a packet routed
 * back out of the device it came in on (a hairpin) reads as ingress. */
SEC("classifier")
int casa_tcx(struct __sk_buff *skb)
{
	return handle(skb, skb->ingress_ifindex != skb->ifindex);
}

/* Opt-in TLS: entry uprobes on libssl's SSL_write and SSL_write_ex see the
 * plaintext before it is encrypted, in the writing process, so the sender is
 * exact (current task). There is no socket here: the destination is the
 * request's Host. Each write is scanned on its own; headers that go on in a
 * later write are flagged truncated (no state is carried between writes). */
static __always_inline int handle_tls(const __u8 *ubuf, __s64 len)
{
	__u32 zero = 0;
	struct scratch *sc = bpf_map_lookup_elem(&scratch_map, &zero);
	if (!sc || !ubuf || len < 8)
		return 0;
	count(CASA_C_TLS_WRITES);
	__u8 head[8] = {};
	if (bpf_probe_read_user(head, sizeof(head), ubuf) || !is_method(head))
		return 0;
	struct casa_record *r = &sc->rec;
	struct scan *sp = &sc->s;
	__builtin_memset(sp, 0, sizeof(*sp));
	sp->c.st = ST_REQLINE;
	sp->s[0].open_field = 1;
	count(CASA_C_SCANNED);
	__u32 lim = scan_window();
	__u32 n = len > lim ? lim : (__u32)len;
	n = BOUND1(n, CASA_SCAN_MAX);
	if (bpf_probe_read_user(sc->buf, n, ubuf))
		return 0;
	scan_buffer(sc, n);

	__builtin_memset(r, 0, offsetof(struct casa_record, data));
	r->kind = CASA_REC_TLS;
	r->flags = CASA_F_EGRESS | CASA_F_ATTRIBUTED;
	r->ts_ns = bpf_ktime_get_ns();
	r->pid = bpf_get_current_pid_tgid() >> 32;
	r->cgroup_id = bpf_get_current_cgroup_id();
	bpf_get_current_comm(r->comm, sizeof(r->comm));
	/* no state is carried between writes: headers that go on are truncated */
	emit_requests(0, ubuf, sc, 0, n, n, 1);
	return 0;
}

/* int SSL_write(SSL *ssl, const void *buf, int num) */
SEC("uprobe")
int casa_ssl_write(struct pt_regs *ctx)
{
	return handle_tls((const __u8 *)PT_REGS_PARM2(ctx), (int)PT_REGS_PARM3(ctx));
}

/* int SSL_write_ex(SSL *s, const void *buf, size_t num, size_t *written) */
SEC("uprobe")
int casa_ssl_write_ex(struct pt_regs *ctx)
{
	__u64 num = PT_REGS_PARM3(ctx);
	return handle_tls((const __u8 *)PT_REGS_PARM2(ctx), num > 0x7fffffff ? 0x7fffffff : (__s64)num);
}

/* Sender attribution: connect() runs in the connecting process, so the
 * current task is the socket's owner. */
SEC("sockops")
int casa_sockops(struct bpf_sock_ops *ops)
{
	if (ops->op != BPF_SOCK_OPS_TCP_CONNECT_CB)
		return 1;
	struct casa_sender snd = {};
	__u64 cookie = bpf_get_socket_cookie(ops);
	snd.pid = bpf_get_current_pid_tgid() >> 32;
	snd.cgroup_id = bpf_get_current_cgroup_id();
	bpf_get_current_comm(snd.comm, sizeof(snd.comm));
	bpf_map_update_elem(&senders, &cookie, &snd, BPF_ANY);
	return 1;
}
