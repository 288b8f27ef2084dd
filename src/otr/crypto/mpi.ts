// OTR's MPI encoding (4-byte big-endian length, then the minimal big-endian value), as needed by the
// crypto layer itself (public keys, SMP TLV payloads, SMP proof hashes). The protocol layer has its own
// wire reader; this one exists so src/otr/crypto depends on nothing but errors.ts.
import { OtrProtocolError } from '../errors.js';
import { bigintToBytes, bytesToBigint } from './group.js';

export function encodeMpi(x: bigint): Uint8Array {
  const v = bigintToBytes(x);
  const out = new Uint8Array(4 + v.length);
  new DataView(out.buffer).setUint32(0, v.length);
  out.set(v, 4);
  return out;
}

export function concatBytes(...parts: Uint8Array[]): Uint8Array {
  let n = 0;
  for (const p of parts) n += p.length;
  const out = new Uint8Array(n);
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

/**
 * Reads one MPI at `offset`. The length is checked against the buffer and against `maxBytes` before
 * anything is copied, and non-minimal encodings (a leading 0x00) are refused as the spec requires.
 */
export function readMpi(buf: Uint8Array, offset: number, maxBytes: number): { value: bigint; next: number } {
  if (offset < 0 || offset + 4 > buf.length) throw new OtrProtocolError('truncated', 'MPI length runs past the end');
  const len = new DataView(buf.buffer, buf.byteOffset + offset, 4).getUint32(0);
  if (len > maxBytes) throw new OtrProtocolError('oversized', `MPI of ${len} bytes exceeds ${maxBytes}`);
  const start = offset + 4;
  if (start + len > buf.length) throw new OtrProtocolError('truncated', 'MPI value runs past the end');
  if (len > 0 && buf[start] === 0) throw new OtrProtocolError('bad-mpi', 'MPI has a leading zero byte');
  return { value: bytesToBigint(buf.subarray(start, start + len)), next: start + len };
}
