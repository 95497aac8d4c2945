// Closed-loop load generator and canned-response server for length-prefixed RPC protocols.
//
// Both sides frame messages the same way: a message is `hdr` bytes of header holding a big-endian
// length field of `lsize` bytes at offset `loff`; the whole message is `hdr + length + ladj` bytes
// (Dubbo: hdr 16, loff 12, lsize 4, ladj 0; framed Thrift: hdr 4, loff 0, lsize 4, ladj 0).
//
//   loadgen client HOST PORT CONNS SECONDS REQUEST_FILE hdr loff lsize ladj
//     Each connection writes the request, waits for one whole response, repeats. Prints one JSON line:
//     {"requests":N,"rps":R,"p50_us":X,"p99_us":Y,"errors":E}
//   loadgen server PORT RESPONSE_FILE hdr loff lsize ladj idoff idsize
//     Answers every request with the canned response, copying `idsize` request-id bytes at `idoff`
//     from the request into the response (so multiplexing proxies can correlate).
//   loadgen server PORT RESPONSE_FILE hdr loff lsize ladj theader-compact
//     Same, for Thrift THeader + compact (hdr 4 loff 0 lsize 4 ladj 0): the id is the compact seqid, a
//     varint whose offset depends on the THeader length and whose size changes as a proxy rewrites ids, so
//     it is spliced into the response (and the frame length fixed); the THeader seqid word is copied too.
//
// Written for the bench scripts in this folder: a native peer keeps the "direct" baseline honest on a
// 2-core machine (a scripted peer would be the bottleneck). Build: cc -O2 -o loadgen loadgen.c
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define BUF_CAP (1 << 20)
#define BUCKETS 100000 // 10 µs buckets up to 1 s

typedef struct {
  int fd;
  uint8_t *buf;
  size_t len;
  uint64_t sent_ns;
} conn_t;

static int hdr, loff, lsize, ladj, idoff, idsize, theader_compact;
static uint8_t *canned;
static size_t canned_len, canned_id_at, canned_id_len;

static uint64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

static uint8_t *read_file(const char *path, size_t *len) {
  FILE *f = fopen(path, "rb");
  if (!f) { perror(path); exit(2); }
  fseek(f, 0, SEEK_END);
  *len = ftell(f);
  fseek(f, 0, SEEK_SET);
  uint8_t *data = malloc(*len);
  if (fread(data, 1, *len, f) != *len) { perror("read"); exit(2); }
  fclose(f);
  return data;
}

// Whole message length at the start of buf, or 0 when more bytes are needed.
static size_t frame_len(const uint8_t *buf, size_t len) {
  if (len < (size_t)hdr) return 0;
  uint64_t n = 0;
  for (int i = 0; i < lsize; i++) n = (n << 8) | buf[loff + i];
  size_t total = hdr + n + ladj;
  if (total > BUF_CAP) { fprintf(stderr, "frame too large: %zu\n", total); exit(3); }
  return len >= total ? total : 0;
}

// THeader frame: u32 length, u16 magic, u16 flags, u32 seqid, u16 header words, header, payload. A compact
// payload starts 0x82, type|version, then the seqid varint. Returns the varint's size (0: malformed).
static size_t theader_compact_seqid(const uint8_t *m, size_t len, size_t *at) {
  if (len < 14) return 0;
  size_t p = 14 + 4 * (size_t)((m[12] << 8) | m[13]) + 2;
  for (size_t n = 0; n < 5 && p + n < len; n++) {
    if (!(m[p + n] & 0x80)) {
      *at = p;
      return n + 1;
    }
  }
  return 0;
}

// Writes the canned response with the request's ids into out; returns its size.
static size_t reply(uint8_t *out, const uint8_t *req, size_t req_len) {
  size_t at;
  size_t n = theader_compact ? theader_compact_seqid(req, req_len, &at) : 0;
  if (!n) {
    memcpy(out, canned, canned_len);
    if (idsize > 0) memcpy(out + idoff, req + idoff, idsize);
    return canned_len;
  }
  size_t ta = canned_id_at, tn = canned_id_len, total = canned_len - tn + n;
  memcpy(out, canned, ta);
  memcpy(out + ta, req + at, n);
  memcpy(out + ta + n, canned + ta + tn, canned_len - ta - tn);
  uint32_t frame = (uint32_t)(total - 4);
  out[0] = frame >> 24, out[1] = frame >> 16, out[2] = frame >> 8, out[3] = frame;
  memcpy(out + 8, req + 8, 4);
  return total;
}

static void nodelay(int fd) {
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

static void write_all(int fd, const uint8_t *p, size_t n) {
  while (n > 0) {
    ssize_t w = write(fd, p, n);
    if (w < 0) {
      if (errno == EAGAIN || errno == EINTR) continue;
      return;
    }
    p += w;
    n -= w;
  }
}

static int run_client(const char *host, int port, int conns, int secs, const char *reqfile) {
  size_t req_len;
  uint8_t *req = read_file(reqfile, &req_len);
  int ep = epoll_create1(0);
  conn_t *cs = calloc(conns, sizeof(conn_t));
  static uint64_t hist[BUCKETS + 1];
  struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons(port)};
  inet_pton(AF_INET, host, &addr.sin_addr);
  for (int i = 0; i < conns; i++) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (connect(fd, (struct sockaddr *)&addr, sizeof addr) < 0) { perror("connect"); return 1; }
    nodelay(fd);
    fcntl(fd, F_SETFL, O_NONBLOCK);
    cs[i] = (conn_t){.fd = fd, .buf = malloc(BUF_CAP), .len = 0};
    struct epoll_event ev = {.events = EPOLLIN, .data.ptr = &cs[i]};
    epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
  }
  uint64_t start = now_ns(), end = start + (uint64_t)secs * 1000000000ull, done = 0, errors = 0;
  for (int i = 0; i < conns; i++) {
    cs[i].sent_ns = now_ns();
    write_all(cs[i].fd, req, req_len);
  }
  struct epoll_event events[256];
  while (now_ns() < end) {
    int n = epoll_wait(ep, events, 256, 100);
    for (int e = 0; e < n; e++) {
      conn_t *c = events[e].data.ptr;
      ssize_t r = read(c->fd, c->buf + c->len, BUF_CAP - c->len);
      if (r <= 0) {
        if (r < 0 && (errno == EAGAIN || errno == EINTR)) continue;
        errors++;
        epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
        continue;
      }
      c->len += r;
      size_t total;
      while ((total = frame_len(c->buf, c->len)) > 0) {
        uint64_t us = (now_ns() - c->sent_ns) / 1000;
        hist[us / 10 < BUCKETS ? us / 10 : BUCKETS]++;
        done++;
        memmove(c->buf, c->buf + total, c->len - total);
        c->len -= total;
        c->sent_ns = now_ns();
        write_all(c->fd, req, req_len);
      }
    }
  }
  double elapsed = (now_ns() - start) / 1e9;
  uint64_t seen = 0, p50 = 0, p99 = 0;
  for (int b = 0; b <= BUCKETS; b++) {
    seen += hist[b];
    if (!p50 && seen * 2 >= done) p50 = b * 10 + 5;
    if (!p99 && seen * 100 >= done * 99) { p99 = b * 10 + 5; break; }
  }
  printf("{\"requests\":%llu,\"rps\":%.0f,\"p50_us\":%llu,\"p99_us\":%llu,\"errors\":%llu}\n",
         (unsigned long long)done, done / elapsed, (unsigned long long)p50, (unsigned long long)p99,
         (unsigned long long)errors);
  return 0;
}

static int run_server(int port, const char *respfile) {
  canned = read_file(respfile, &canned_len);
  if (theader_compact && !(canned_id_len = theader_compact_seqid(canned, canned_len, &canned_id_at))) {
    fprintf(stderr, "%s: not a THeader compact message\n", respfile);
    return 2;
  }
  int lfd = socket(AF_INET, SOCK_STREAM, 0), one = 1;
  setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons(port)};
  inet_pton(AF_INET, "127.0.0.1", &addr.sin_addr);
  if (bind(lfd, (struct sockaddr *)&addr, sizeof addr) < 0) { perror("bind"); return 1; }
  listen(lfd, 1024);
  int ep = epoll_create1(0);
  struct epoll_event lev = {.events = EPOLLIN, .data.ptr = NULL};
  epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &lev);
  uint8_t *out = malloc(BUF_CAP);
  struct epoll_event events[256];
  for (;;) {
    int n = epoll_wait(ep, events, 256, -1);
    for (int e = 0; e < n; e++) {
      conn_t *c = events[e].data.ptr;
      if (!c) {
        int fd = accept(lfd, NULL, NULL);
        if (fd < 0) continue;
        nodelay(fd);
        fcntl(fd, F_SETFL, O_NONBLOCK);
        c = calloc(1, sizeof(conn_t));
        c->fd = fd;
        c->buf = malloc(BUF_CAP);
        struct epoll_event ev = {.events = EPOLLIN, .data.ptr = c};
        epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
        continue;
      }
      ssize_t r = read(c->fd, c->buf + c->len, BUF_CAP - c->len);
      if (r <= 0) {
        if (r < 0 && (errno == EAGAIN || errno == EINTR)) continue;
        close(c->fd);
        free(c->buf);
        free(c);
        continue;
      }
      c->len += r;
      size_t total, out_len = 0;
      while ((total = frame_len(c->buf, c->len)) > 0) {
        if (out_len + canned_len + 5 > BUF_CAP) break;
        out_len += reply(out + out_len, c->buf, total);
        memmove(c->buf, c->buf + total, c->len - total);
        c->len -= total;
      }
      write_all(c->fd, out, out_len);
    }
  }
}

int main(int argc, char **argv) {
  if (argc == 11 && strcmp(argv[1], "client") == 0) {
    hdr = atoi(argv[7]), loff = atoi(argv[8]), lsize = atoi(argv[9]), ladj = atoi(argv[10]);
    return run_client(argv[2], atoi(argv[3]), atoi(argv[4]), atoi(argv[5]), argv[6]);
  }
  if (argc == 10 && strcmp(argv[1], "server") == 0) {
    hdr = atoi(argv[4]), loff = atoi(argv[5]), lsize = atoi(argv[6]), ladj = atoi(argv[7]);
    idoff = atoi(argv[8]), idsize = atoi(argv[9]);
    return run_server(atoi(argv[2]), argv[3]);
  }
  if (argc == 9 && strcmp(argv[1], "server") == 0 && strcmp(argv[8], "theader-compact") == 0) {
    hdr = atoi(argv[4]), loff = atoi(argv[5]), lsize = atoi(argv[6]), ladj = atoi(argv[7]);
    theader_compact = 1;
    return run_server(atoi(argv[2]), argv[3]);
  }
  fprintf(stderr, "usage: loadgen client HOST PORT CONNS SECONDS REQUEST_FILE hdr loff lsize ladj\n"
                  "       loadgen server PORT RESPONSE_FILE hdr loff lsize ladj idoff idsize\n"
                  "       loadgen server PORT RESPONSE_FILE hdr loff lsize ladj theader-compact\n");
  return 2;
}
