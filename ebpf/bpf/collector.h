/* Shared layout between the kernel programs and casa-ebpf (src/record.rs).
 * Every field is little-endian host order except addresses and ports, which
 * stay in network order as they were on the wire. */
#ifndef CASA_COLLECTOR_H
#define CASA_COLLECTOR_H

#define CASA_LINE_MAX 256   /* first request line */
#define CASA_HOST_MAX 128   /* Host header value */
#define CASA_BODY_MAX 512   /* start of the body, for JSON-RPC tools/call */
#define CASA_TOKEN_MAX 8192 /* casa tokens exceed 200 bytes; 8 KiB is the cap */
#define CASA_SCAN_MAX 16384 /* upper bound of the configurable scan window */
#define CASA_COMM_LEN 16
/* line + Host + body, rounded up to a power of two for the verifier's bounds */
#define CASA_FIELDS_MAX 1024

/* record kinds */
#define CASA_REC_REQUEST 1
#define CASA_REC_RESPONSE 2
#define CASA_REC_TLS 3 /* a request from an SSL_write uprobe: no addresses */

/* flags */
#define CASA_F_AUTH 0x01        /* an authorization: bearer header was found */
#define CASA_F_TRUNCATED 0x02   /* token or headers ran past what was seen */
#define CASA_F_CONTINUED 0x04   /* headers began in an earlier packet */
#define CASA_F_HEADERS_END 0x08 /* the blank line ending the headers was seen */
#define CASA_F_EGRESS 0x10
#define CASA_F_ATTRIBUTED 0x20 /* pid/comm/cgroup came from sock_ops */
#define CASA_F_NON_BEARER 0x40 /* authorization header with another scheme */
#define CASA_F_MORE 0x80       /* the request continues in the flow's next packet */

/* per-CPU counters (array indices) */
#define CASA_C_SCANNED 0
#define CASA_C_MATCHED 1
#define CASA_C_RESERVE_FAIL 2
#define CASA_C_TRUNCATED 3
#define CASA_C_CONTINUED 4
#define CASA_C_RESPONSES 5
#define CASA_C_PACKETS 6 /* packets the classifiers ran on */
#define CASA_C_PAYLOADS 7 /* TCP segments with a payload */
#define CASA_C_TLS_WRITES 8 /* SSL_write calls the uprobes ran on */
#define CASA_C_MAX 9

struct casa_record {
	__u64 ts_ns;
	__u64 cookie;
	__u64 cgroup_id;
	__u32 pid;
	__u32 ifindex;
	__u8 kind;
	__u8 family; /* 4 or 6 */
	__u8 flags;
	__u8 _pad0;
	__u16 sport;
	__u16 dport;
	__u8 saddr[16];
	__u8 daddr[16];
	__u32 seq;      /* TCP sequence of this segment */
	__u16 line_len;
	__u16 host_len;
	__u16 body_len;
	__u16 token_len;
	__u16 status;   /* responses: HTTP status code */
	__u16 _pad1;
	char comm[CASA_COMM_LEN];
	/* line_len bytes of the request line, then host_len of Host, body_len of
	 * the body and token_len of the token; only those bytes are sent */
	char data[CASA_FIELDS_MAX + CASA_TOKEN_MAX];
};

struct casa_sender {
	__u64 cgroup_id;
	__u32 pid;
	__u32 _pad;
	char comm[CASA_COMM_LEN];
};

#endif
