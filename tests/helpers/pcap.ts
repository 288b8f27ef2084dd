// Reads the UDP datagrams out of a classic pcap file (what LoopbackCapture returns): enough to find SDP bodies,
// RTP payloads and ZRTP messages in a capture. IPv4 over Ethernet (tcpdump -i lo), Linux cooked (v1, v2) or raw.
export class PcapError extends Error {
  override readonly name = 'PcapError';
}

export interface UdpPacket {
  /** Capture time, seconds. */
  readonly time: number;
  readonly src: string;
  readonly srcPort: number;
  readonly dst: string;
  readonly dstPort: number;
  readonly payload: Uint8Array;
}

export function udpPackets(pcap: Uint8Array): UdpPacket[] {
  if (pcap.length < 24) throw new PcapError('no pcap header');
  const v = new DataView(pcap.buffer, pcap.byteOffset, pcap.byteLength);
  const magic = v.getUint32(0, false);
  let le: boolean;
  let nano = false;
  if (magic === 0xa1b2c3d4 || magic === 0xa1b23c4d) le = false;
  else if (magic === 0xd4c3b2a1 || magic === 0x4d3cb2a1) le = true;
  else throw new PcapError('not a pcap file');
  if (magic === 0xa1b23c4d || magic === 0x4d3cb2a1) nano = true;
  const link = v.getUint32(20, le);
  const linkHeader = link === 1 ? 14 : link === 113 ? 16 : link === 276 ? 20 : link === 101 || link === 228 ? 0 : -1;
  if (linkHeader < 0) throw new PcapError(`unsupported link type ${link}`);
  const out: UdpPacket[] = [];
  let off = 24;
  while (off + 16 <= pcap.length) {
    const sec = v.getUint32(off, le);
    const frac = v.getUint32(off + 4, le);
    const incl = v.getUint32(off + 8, le);
    const start = off + 16;
    if (incl > pcap.length - start) break; // truncated last record (capture stopped mid-write)
    off = start + incl;
    if (incl < linkHeader + 28) continue;
    // Ethernet / cooked headers end in the EtherType: IPv4 only
    if (link === 1 && v.getUint16(start + 12, false) !== 0x0800) continue;
    if (link === 113 && v.getUint16(start + 14, false) !== 0x0800) continue;
    if (link === 276 && v.getUint16(start, false) !== 0x0800) continue;
    const ip = start + linkHeader;
    if (pcap[ip]! >> 4 !== 4) continue;
    const ihl = (pcap[ip]! & 0x0f) * 4;
    if (pcap[ip + 9] !== 17 || ihl < 20) continue;
    const totalLen = v.getUint16(ip + 2, false);
    const udp = ip + ihl;
    const end = Math.min(ip + totalLen, start + incl);
    if (udp + 8 > end) continue;
    const udpLen = v.getUint16(udp + 4, false);
    const payloadEnd = Math.min(end, udp + Math.max(8, udpLen));
    const addr = (o: number): string => `${pcap[o]}.${pcap[o + 1]}.${pcap[o + 2]}.${pcap[o + 3]}`;
    out.push({
      time: sec + frac / (nano ? 1e9 : 1e6),
      src: addr(ip + 12),
      dst: addr(ip + 16),
      srcPort: v.getUint16(udp, false),
      dstPort: v.getUint16(udp + 2, false),
      payload: pcap.slice(udp + 8, payloadEnd),
    });
  }
  return out;
}

/** The SIP messages among the packets whose body is SDP: start line and body. */
export function sdpBodies(packets: readonly UdpPacket[]): Array<{ startLine: string; sdp: string; time: number }> {
  const out: Array<{ startLine: string; sdp: string; time: number }> = [];
  for (const p of packets) {
    const text = Buffer.from(p.payload).toString('latin1');
    if (!/^(SIP\/2\.0 \d{3}|[A-Z]+ sip:)/.test(text)) continue;
    const split = text.indexOf('\r\n\r\n');
    if (split < 0 || !/^content-type:\s*application\/sdp/im.test(text.slice(0, split))) continue;
    out.push({ startLine: text.slice(0, text.indexOf('\r\n')), sdp: text.slice(split + 4), time: p.time });
  }
  return out;
}

/** RTP packets (version 2, not RTCP's payload types 200-204 and not ZRTP) with the given payload type. */
export function rtpPayloads(packets: readonly UdpPacket[], payloadType: number): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (const p of packets) {
    const b = p.payload;
    if (b.length < 12 || b[0]! >> 6 !== 2) continue;
    if ((b[1]! & 0x7f) !== payloadType) continue;
    const cc = b[0]! & 0x0f;
    let hdr = 12 + cc * 4;
    if (b[0]! & 0x10 && b.length >= hdr + 4) hdr += 4 + 4 * ((b[hdr + 2]! << 8) | b[hdr + 3]!);
    if (hdr < b.length) out.push(b.subarray(hdr));
  }
  return out;
}

/** ZRTP messages (RFC 6189: first byte 0x10, magic cookie 'ZRTP' at offset 4): type and message body. */
export function zrtpMessages(
  packets: readonly UdpPacket[],
): Array<{ type: string; msg: Uint8Array; time: number; srcPort: number }> {
  const out: Array<{ type: string; msg: Uint8Array; time: number; srcPort: number }> = [];
  for (const p of packets) {
    const b = p.payload;
    if (b.length < 24 || b[0] !== 0x10) continue;
    if (Buffer.from(b.subarray(4, 8)).toString('latin1') !== 'ZRTP') continue;
    const msg = b.subarray(12);
    if (msg[0] !== 0x50 || msg[1] !== 0x5a) continue;
    out.push({
      type: Buffer.from(msg.subarray(4, 12)).toString('latin1').trim(),
      msg,
      time: p.time,
      srcPort: p.srcPort,
    });
  }
  return out;
}

/** The algorithms a ZRTP Commit chose (RFC 6189 5.4: hash, cipher, auth tag, key agreement, SAS type). */
export function zrtpCommitAlgorithms(commit: Uint8Array): {
  hash: string;
  cipher: string;
  auth: string;
  keyAgreement: string;
  sas: string;
} {
  if (commit.length < 76) throw new PcapError('ZRTP Commit too short');
  const at = (o: number): string =>
    Buffer.from(commit.subarray(o, o + 4))
      .toString('latin1')
      .trim();
  return { hash: at(56), cipher: at(60), auth: at(64), keyAgreement: at(68), sas: at(72) };
}

/**
 * Only the packets of the calls between the given SIP ports: their SIP messages and the media on the ports their
 * SDPs name (RTP and the next port, RTCP). A loopback capture also holds whatever else runs on the machine.
 */
export function callPackets(packets: readonly UdpPacket[], sipPorts: readonly number[]): UdpPacket[] {
  const sip = new Set(sipPorts);
  const isSip = (p: UdpPacket): boolean => sip.has(p.srcPort) || sip.has(p.dstPort);
  const media = new Set<number>();
  for (const s of sdpBodies(packets.filter(isSip))) {
    for (const m of s.sdp.matchAll(/^m=\w+ (\d+) /gm)) {
      const port = Number(m[1]);
      if (port > 0) media.add(port).add(port + 1);
    }
  }
  return packets.filter((p) => isSip(p) || media.has(p.srcPort) || media.has(p.dstPort));
}

/** The version, client id and algorithm lists a ZRTP Hello offers (RFC 6189 5.2), in its order of preference. */
export function zrtpHelloOffer(hello: Uint8Array): {
  version: string;
  clientId: string;
  hash: string[];
  cipher: string[];
  auth: string[];
  keyAgreement: string[];
  sas: string[];
} {
  if (hello.length < 80) throw new PcapError('ZRTP Hello too short');
  // fields are space- or NUL-padded ASCII
  const text = (o: number, n: number): string =>
    Buffer.from(hello.subarray(o, o + n))
      .toString('latin1')
      .replace(/[\0 ]+$/, '');
  // after preamble, length, type (12), version (4), client id (16), H3 (32), ZID (12): the flags/counts word
  const w = new DataView(hello.buffer, hello.byteOffset, hello.byteLength).getUint32(76, false);
  const counts = [(w >>> 16) & 0xf, (w >>> 12) & 0xf, (w >>> 8) & 0xf, (w >>> 4) & 0xf, w & 0xf];
  const lists: string[][] = [];
  let off = 80;
  for (const n of counts) {
    if (off + 4 * n > hello.length) throw new PcapError('ZRTP Hello lists run past its end');
    lists.push(Array.from({ length: n }, (_, i) => text(off + 4 * i, 4)));
    off += 4 * n;
  }
  return {
    version: text(12, 4),
    clientId: text(16, 16),
    hash: lists[0]!,
    cipher: lists[1]!,
    auth: lists[2]!,
    keyAgreement: lists[3]!,
    sas: lists[4]!,
  };
}
