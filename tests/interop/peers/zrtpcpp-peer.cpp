// A ZRTP peer built on GNU ZRTP C++ (ZRTPCPP, Blink's ZRTP engine) with its standard configuration (the Hello
// Blink sends: S384 S256 / 2FS3 AES3 2FS1 AES1 / SK32 SK64 HS32 HS80 / EC25 DH3k EC38 DH2k Mult / B32), driven
// through its C wrapper over one UDP socket on 127.0.0.1. Test harness only (tests/interop/zrtp-zrtpcpp.test.ts).
//
//   zrtpcpp-peer <local port> <remote port> <zid file> <ssrc> <seconds>
//   stdin: a first line starts the engine (media start); `verify` later marks the SAS verified.
//
// Prints one line per fact: `HELLOHASH <a=zrtp-hash value>`, `SECURE <sas> <cipher> <verified>`,
// `KEYS <role> <initiator key> <initiator salt> <responder key> <responder salt>` (hex), `FAILED <sev> <code>`.
// ZRTP packets are framed here (header, sequence number, SSRC, CRC) as the library leaves that to its RTP stack.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <libzrtpcpp/ZrtpCWrapper.h>

static int sock;
static struct sockaddr_in peer;
static uint32_t ssrc;
static uint16_t seq = 1;
static long long timerAt = -1;

static long long nowMs() {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (long long)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

static void hex(const uint8_t* p, int n) {
  for (int i = 0; i < n; i++) printf("%02x", p[i]);
}

static int32_t sendData(ZrtpContext*, const uint8_t* data, int32_t length) {
  // `length` counts the message and the 4 CRC bytes the caller fills in.
  uint8_t buf[3000];
  if (length + 12 > (int32_t)sizeof(buf)) return 0;
  buf[0] = 0x10;
  buf[1] = 0;
  buf[2] = seq >> 8;
  buf[3] = seq & 0xff;
  seq++;
  uint32_t magic = htonl(0x5a525450), s = htonl(ssrc);
  memcpy(buf + 4, &magic, 4);
  memcpy(buf + 8, &s, 4);
  memcpy(buf + 12, data, length - 4);
  uint16_t n = 12 + length - 4;
  uint32_t crc = zrtp_EndCksum(zrtp_GenerateCksum(buf, n));
  crc = htonl(crc);
  memcpy(buf + n, &crc, 4);
  sendto(sock, buf, n + 4, 0, (struct sockaddr*)&peer, sizeof(peer));
  return 1;
}

static int32_t activateTimer(ZrtpContext*, int32_t time) {
  timerAt = nowMs() + time;
  return 1;
}
static int32_t cancelTimer(ZrtpContext*) {
  timerAt = -1;
  return 1;
}
static void sendInfo(ZrtpContext*, int32_t, int32_t) {}
static int32_t secretsReady(ZrtpContext*, C_SrtpSecret_t* s, int32_t part) {
  if (part == ForSender) {
    printf("KEYS %s ", s->role == 1 ? "responder" : "initiator");
    hex(s->keyInitiator, s->initKeyLen / 8);
    printf(" ");
    hex(s->saltInitiator, s->initSaltLen / 8);
    printf(" ");
    hex(s->keyResponder, s->respKeyLen / 8);
    printf(" ");
    hex(s->saltResponder, s->respSaltLen / 8);
    printf(" %d\n", s->srtpAuthTagLen);
  }
  return 1;
}
static void secretsOff(ZrtpContext*, int32_t) {}
static void secretsOn(ZrtpContext*, char* c, char* s, int32_t verified) {
  printf("SECURE %s %s %d\n", s, c, verified);
}
static void goClear(ZrtpContext*) {}
static void negotiationFailed(ZrtpContext*, int32_t severity, int32_t subCode) {
  printf("FAILED %d %d\n", severity, subCode);
}
static void notSupp(ZrtpContext*) { printf("FAILED 0 notsupported\n"); }
static void noop(ZrtpContext*) {}
static void enroll(ZrtpContext*, int32_t) {}
static void signSas(ZrtpContext*, uint8_t*) {}
static int32_t checkSig(ZrtpContext*, uint8_t*) { return 1; }

int main(int argc, char** argv) {
  if (argc < 6) return 2;
  setvbuf(stdout, NULL, _IOLBF, 0);
  int localPort = atoi(argv[1]);
  ssrc = strtoul(argv[4], NULL, 10);
  long long until = nowMs() + atoi(argv[5]) * 1000LL;
  sock = socket(AF_INET, SOCK_DGRAM, 0);
  struct sockaddr_in me;
  memset(&me, 0, sizeof(me));
  me.sin_family = AF_INET;
  me.sin_port = htons(localPort);
  me.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (bind(sock, (struct sockaddr*)&me, sizeof(me)) != 0) return 3;
  memset(&peer, 0, sizeof(peer));
  peer.sin_family = AF_INET;
  peer.sin_port = htons(atoi(argv[2]));
  peer.sin_addr.s_addr = htonl(INADDR_LOOPBACK);

  zrtp_Callbacks cb = {sendData, activateTimer, cancelTimer, sendInfo, secretsReady, secretsOff, secretsOn,
                       goClear, negotiationFailed, notSupp, noop, noop, enroll, enroll, signSas, checkSig};
  ZrtpContext* ctx = zrtp_CreateWrapper();
  zrtp_initializeZrtpEngine(ctx, &cb, "GNU ZRTP test", argv[3], NULL, 0);
  char* hh = zrtp_getHelloHash(ctx, 0);
  printf("HELLOHASH %s\n", hh ? hh : "");
  printf("READY\n");
  // Start when the test says so (a line on stdin), as the RTP stack would at media start.
  char line[64];
  if (!fgets(line, sizeof(line), stdin)) return 4;
  zrtp_startZrtpEngine(ctx);
  uint8_t buf[3000];
  while (nowMs() < until) {
    int wait = 100;
    if (timerAt >= 0) {
      long long d = timerAt - nowMs();
      wait = d < 0 ? 0 : (d < 100 ? (int)d : 100);
    }
    struct pollfd p[2] = {{sock, POLLIN, 0}, {0, POLLIN, 0}};
    int r = poll(p, 2, wait);
    if (r > 0 && (p[1].revents & POLLIN)) {
      // `verify`: the user confirmed the SAS (stored in the ZID cache: the next call's Confirm carries V).
      if (!fgets(line, sizeof(line), stdin)) break;
      if (strncmp(line, "verify", 6) == 0) {
        zrtp_SASVerified(ctx);
        printf("VERIFIED\n");
      }
    }
    if (r > 0 && (p[0].revents & POLLIN)) {
      ssize_t n = recv(sock, buf, sizeof(buf), 0);
      if (n >= 28 && (buf[0] >> 4) == 1) {
        uint32_t crc;
        memcpy(&crc, buf + n - 4, 4);
        if (!zrtp_CheckCksum(buf, (uint16_t)(n - 4), ntohl(crc))) continue;
        uint32_t peerSsrc;
        memcpy(&peerSsrc, buf + 8, 4);
        zrtp_processZrtpMessage(ctx, buf + 12, ntohl(peerSsrc), (size_t)n);
      }
    }
    if (timerAt >= 0 && nowMs() >= timerAt) {
      timerAt = -1;
      zrtp_processTimeout(ctx);
    }
  }
  zrtp_stopZrtpEngine(ctx);
  zrtp_DestroyWrapper(ctx);
  return 0;
}
