// CRC-32C (Castagnoli, reflected polynomial 0x82F63B78), the ZRTP packet trailer (RFC 6189 §5, via RFC 4960
// appendix B). On the wire the 32-bit value goes least significant byte first, as SCTP sends it: that is what a
// capture of two linphonec (bzrtp) instances shows (tests/unit/zrtp-capture.test.ts).

const TABLE = (() => {
  const t = new Uint32Array(256);
  for (let i = 0; i < 256; i++) {
    let c = i;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0x82f63b78 : c >>> 1;
    t[i] = c >>> 0;
  }
  return t;
})();

/** CRC-32C of `data` as an unsigned 32-bit number (initial value all ones, final complement). */
export function crc32c(data: Uint8Array): number {
  let c = 0xffffffff;
  for (let i = 0; i < data.length; i++) c = (c >>> 8) ^ (TABLE[(c ^ data[i]!) & 0xff] as number);
  return (c ^ 0xffffffff) >>> 0;
}
