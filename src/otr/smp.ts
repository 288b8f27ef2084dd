// The Socialist Millionaires' Protocol as OTR v2/v3 run it inside TLVs 2-7 (otr-v3-spec.txt, "Socialist
// Millionaires' Protocol" and "The SMP state machine"). Pure: no I/O; randomness from the CSPRNG
// unless the caller injects a source.
// Every received group element is range-checked, every exponent checked against q, every
// zero-knowledge proof verified; a failed check resets to EXPECT1 and answers with an abort TLV.
import { bytesToBigint, concatBytes, encodeMpi, readMpi } from '../bytes/bytes.js';
import { OtrProtocolError, asOtrError } from './errors.js';
import {
  G,
  P,
  P_BYTES,
  Q,
  isValidGroupElement,
  modInv,
  modPow,
  randomBelow,
  randomBytes,
  type RandomSource,
} from './crypto/group.js';
import { sha256 } from './crypto/primitives.js';
import { TLV_SMP1, TLV_SMP1Q, TLV_SMP2, TLV_SMP3, TLV_SMP4, TLV_SMP_ABORT, type Tlv } from './tlv.js';

export type { Tlv };
export { TLV_SMP1, TLV_SMP2, TLV_SMP3, TLV_SMP4, TLV_SMP_ABORT, TLV_SMP1Q };

export type SmpEvent =
  | { type: 'asked'; question?: string }
  | { type: 'success' }
  | { type: 'failure' }
  | { type: 'aborted' }
  | { type: 'cheated'; reason: string };

/** Thrown for API misuse (responding when nothing was asked, starting while a run is under way). */
export class SmpStateError extends Error {
  override readonly name = 'SmpStateError';
}

/** A received proof or value failed a check: the peer is cheating or broken. */
class SmpCheckFailed extends Error {}

export type SmpStateName = 'expect1' | 'expect2' | 'expect3' | 'expect4';

/** x = SHA256(0x01 || initiator fingerprint || responder fingerprint || ssid || user secret). */
export function smpSecret(
  initiatorFp: Uint8Array,
  responderFp: Uint8Array,
  ssid: Uint8Array,
  userSecret: Uint8Array,
): Uint8Array {
  return sha256(concatBytes(Uint8Array.of(1), initiatorFp, responderFp, ssid, userSecret));
}

/** The spec's SMP hash: SHA256(version byte || MPI(a) [|| MPI(b)]), read as a big-endian integer. */
export function smpHash(version: number, a: bigint, b?: bigint): bigint {
  const parts = [Uint8Array.of(version), encodeMpi(a)];
  if (b !== undefined) parts.push(encodeMpi(b));
  return bytesToBigint(sha256(concatBytes(...parts)));
}

/** Checks a proof of knowledge of log_g(X): c == H(version, g^D * X^c). Only the hash equation. */
export function verifyLogProof(version: number, c: bigint, d: bigint, x: bigint): boolean {
  return c === smpHash(version, mulP(modPow(G, d), modPow(x, c)));
}

/** Proof of knowledge of a = log_g(g^a), with the random exponent r: [c, D] = [H(version, g^r), r - a*c mod q]. */
function proveLog(version: number, a: bigint, r: bigint): [bigint, bigint] {
  const c = smpHash(version, modPow(G, r));
  return [c, subQ(r, a, c)];
}

/**
 * Proof that P = g3^r and Q = g^r * g2^x were made with the same r and the secret x (Pa/Qa, Pb/Qb), with random
 * exponents r5, r6: [cP, D5, D6].
 */
function proveCoords(
  version: number,
  g2: bigint,
  g3: bigint,
  r: bigint,
  x: bigint,
  r5: bigint,
  r6: bigint,
): [bigint, bigint, bigint] {
  const c = smpHash(version, modPow(g3, r5), mulP(modPow(G, r5), modPow(g2, r6)));
  return [c, subQ(r5, r, c), subQ(r6, x, c)];
}

/** Checks proveCoords' proof for P and Q: c == H(version, g3^D5 * P^c, g^D5 * g2^D6 * Q^c). */
function verifyCoordsProof(
  version: number,
  g2: bigint,
  g3: bigint,
  p: bigint,
  q: bigint,
  c: bigint,
  d5: bigint,
  d6: bigint,
): boolean {
  return (
    c === smpHash(version, mulP(modPow(g3, d5), modPow(p, c)), mulP(mulP(modPow(G, d5), modPow(g2, d6)), modPow(q, c)))
  );
}

/** Proof that R = base^a with the same a as g3a = g^a (Ra, Rb), with the random exponent r7: [cR, D7]. */
function proveEqualLogs(version: number, base: bigint, a: bigint, r7: bigint): [bigint, bigint] {
  const c = smpHash(version, modPow(G, r7), modPow(base, r7));
  return [c, subQ(r7, a, c)];
}

/** Checks proveEqualLogs' proof for R against g3a: c == H(version, g^D7 * g3a^c, base^D7 * R^c). */
function verifyEqualLogsProof(version: number, base: bigint, g3a: bigint, r: bigint, c: bigint, d7: bigint): boolean {
  return c === smpHash(version, mulP(modPow(G, d7), modPow(g3a, c)), mulP(modPow(base, d7), modPow(r, c)));
}

/** SMP TLV payload: INT count, then that many MPIs. */
export function encodeSmpPayload(values: bigint[]): Uint8Array {
  const count = new Uint8Array(4);
  new DataView(count.buffer).setUint32(0, values.length);
  return concatBytes(count, ...values.map(encodeMpi));
}

/**
 * Parses an SMP payload that must hold exactly `expected` MPIs of at most 192 bytes each, nothing after.
 * Throws OtrProtocolError ('truncated', 'oversized', 'bad-mpi', 'bad-tlv', 'trailing').
 */
/** N bigints, as a tuple type (so a payload destructures without casts). */
type Mpis<N extends number, R extends bigint[] = []> = number extends N
  ? bigint[]
  : R['length'] extends N
    ? R
    : Mpis<N, [...R, bigint]>;

export function decodeSmpPayload<N extends number>(buf: Uint8Array, expected: N): Mpis<N> {
  if (buf.length < 4) throw new OtrProtocolError('truncated', 'SMP payload shorter than its MPI count');
  const count = new DataView(buf.buffer, buf.byteOffset, 4).getUint32(0);
  if (count !== expected) throw new OtrProtocolError('bad-tlv', `SMP message has ${count} MPIs, expected ${expected}`);
  const out: bigint[] = [];
  let off = 4;
  for (let i = 0; i < count; i++) {
    const m = asOtrError(() => readMpi(buf, off, P_BYTES));
    out.push(m.value);
    off = m.next;
  }
  if (off !== buf.length) throw new OtrProtocolError('trailing', 'bytes after the last SMP MPI');
  return out as Mpis<N>;
}

function mulP(a: bigint, b: bigint): bigint {
  return (a * b) % P;
}

function subQ(r: bigint, a: bigint, c: bigint): bigint {
  const v = (r - a * c) % Q;
  return v < 0n ? v + Q : v;
}

/** libotr's check_expon: 1 <= D < q. */
function isValidExponent(x: bigint): boolean {
  return x >= 1n && x < Q;
}

function requireElements(names: string, ...xs: bigint[]): void {
  if (!xs.every(isValidGroupElement)) throw new SmpCheckFailed(`${names}: group element out of range`);
}

function requireExponents(names: string, ...xs: bigint[]): void {
  if (!xs.every(isValidExponent)) throw new SmpCheckFailed(`${names}: exponent out of range`);
}

function requireProof(ok: boolean, what: string): void {
  if (!ok) throw new SmpCheckFailed(`zero-knowledge proof for ${what} does not verify`);
}

type State =
  | { kind: 'expect1' }
  | { kind: 'asked'; g2a: bigint; g3a: bigint; question: string | undefined }
  | { kind: 'expect2'; x: bigint; a2: bigint; a3: bigint }
  | { kind: 'expect3'; g3a: bigint; g2: bigint; g3: bigint; b3: bigint; pb: bigint; qb: bigint }
  | { kind: 'expect4'; g3b: bigint; paPb: bigint; qaQb: bigint; a3: bigint };

const tlv = (type: number, values: bigint[]): Tlv => ({ type, value: encodeSmpPayload(values) });
const abortTlv = (): Tlv => ({ type: TLV_SMP_ABORT, value: new Uint8Array(0) });

export class Smp {
  private st: State = { kind: 'expect1' };

  /** `random`: the source of every secret exponent (the CSPRNG unless a test fixes it). */
  constructor(private readonly random: RandomSource = randomBytes) {}

  private rnd(): bigint {
    return randomBelow(Q, this.random);
  }

  /** True from start() or a received SMP1 until success, failure or abort. */
  get inProgress(): boolean {
    return this.st.kind !== 'expect1';
  }

  /** The spec's smpstate. While a received question waits for respond(), this is still 'expect1'. */
  get state(): SmpStateName {
    return this.st.kind === 'asked' ? 'expect1' : this.st.kind;
  }

  /** True after an 'asked' event until respond() or abort(). */
  get awaitingSecret(): boolean {
    return this.st.kind === 'asked';
  }

  /**
   * Begins SMP (TLV 2, or TLV 7 with a question). Throws SmpStateError while a run is in progress:
   * use restart(), which prepends the abort TLV the spec requires, so the peer resets before our SMP1.
   */
  start(x: Uint8Array, question?: string): Tlv {
    if (this.inProgress) throw new SmpStateError('SMP already in progress: abort() or restart() first');
    let q: Uint8Array | undefined;
    if (question !== undefined) {
      q = new TextEncoder().encode(question);
      if (q.includes(0)) throw new RangeError('SMP question must not contain NUL');
    }
    const a2 = this.rnd();
    const a3 = this.rnd();
    const r2 = this.rnd();
    const r3 = this.rnd();
    const g2a = modPow(G, a2);
    const g3a = modPow(G, a3);
    const [c2, d2] = proveLog(1, a2, r2);
    const [c3, d3] = proveLog(2, a3, r3);
    this.st = { kind: 'expect2', x: bytesToBigint(x), a2, a3 };
    const payload = encodeSmpPayload([g2a, c2, d2, g3a, c3, d3]);
    if (q === undefined) return { type: TLV_SMP1, value: payload };
    return { type: TLV_SMP1Q, value: concatBytes(q, Uint8Array.of(0), payload) };
  }

  /** start(), preceded by an abort TLV when a run was in progress. Send the TLVs in order, in one message. */
  restart(x: Uint8Array, question?: string): Tlv[] {
    const out: Tlv[] = [];
    if (this.inProgress) out.push(this.abort());
    out.push(this.start(x, question));
    return out;
  }

  /** Answers a received SMP1/SMP1Q with our secret (TLV 3). Throws SmpStateError if nothing was asked. */
  respond(y: Uint8Array): Tlv {
    const st = this.st;
    if (st.kind !== 'asked') throw new SmpStateError('no SMP question is waiting for an answer');
    const secret = bytesToBigint(y);
    const [b2, b3, r2, r3, r4, r5, r6] = [
      this.rnd(),
      this.rnd(),
      this.rnd(),
      this.rnd(),
      this.rnd(),
      this.rnd(),
      this.rnd(),
    ] as const;
    const g2b = modPow(G, b2);
    const g3b = modPow(G, b3);
    const [c2, d2] = proveLog(3, b2, r2);
    const [c3, d3] = proveLog(4, b3, r3);
    const g2 = modPow(st.g2a, b2);
    const g3 = modPow(st.g3a, b3);
    const pb = modPow(g3, r4);
    const qb = mulP(modPow(G, r4), modPow(g2, secret));
    const [cp, d5, d6] = proveCoords(5, g2, g3, r4, secret, r5, r6);
    this.st = { kind: 'expect3', g3a: st.g3a, g2, g3, b3, pb, qb };
    return tlv(TLV_SMP2, [g2b, c2, d2, g3b, c3, d3, pb, qb, cp, d5, d6]);
  }

  /** User abort: TLV 6 to send, state back to EXPECT1. */
  abort(): Tlv {
    this.st = { kind: 'expect1' };
    return abortTlv();
  }

  /** Drops all SMP state without a TLV (the session left MSGSTATE_ENCRYPTED). */
  reset(): void {
    this.st = { kind: 'expect1' };
  }

  /**
   * Handles one received TLV. Types other than 2-7 are ignored. Never throws: malformed payloads and
   * failed checks give a 'cheated' event plus an abort TLV to send; an SMP message that does not fit the
   * current state gives an abort TLV (and 'aborted' if a run was in progress), as the spec says.
   */
  receive(t: Tlv): { reply?: Tlv; event?: SmpEvent } {
    const wasInProgress = this.inProgress;
    try {
      switch (t.type) {
        case TLV_SMP_ABORT:
          this.st = { kind: 'expect1' };
          return wasInProgress ? { event: { type: 'aborted' } } : {};
        case TLV_SMP1:
        case TLV_SMP1Q:
          // A new SMP1 while we wait for the user's answer replaces the pending one: nothing was sent yet.
          if (this.st.kind !== 'expect1' && this.st.kind !== 'asked') return this.outOfOrder(wasInProgress);
          return this.onSmp1(t);
        case TLV_SMP2:
          if (this.st.kind !== 'expect2') return this.outOfOrder(wasInProgress);
          return this.onSmp2(this.st, t.value);
        case TLV_SMP3:
          if (this.st.kind !== 'expect3') return this.outOfOrder(wasInProgress);
          return this.onSmp3(this.st, t.value);
        case TLV_SMP4:
          if (this.st.kind !== 'expect4') return this.outOfOrder(wasInProgress);
          return this.onSmp4(this.st, t.value);
        default:
          return {};
      }
    } catch (e) {
      this.st = { kind: 'expect1' };
      const reason =
        e instanceof SmpCheckFailed
          ? e.message
          : e instanceof OtrProtocolError
            ? `malformed SMP message (${e.code}): ${e.message}`
            : 'malformed SMP message';
      return { reply: abortTlv(), event: { type: 'cheated', reason } };
    }
  }

  private outOfOrder(wasInProgress: boolean): { reply?: Tlv; event?: SmpEvent } {
    this.st = { kind: 'expect1' };
    return wasInProgress ? { reply: abortTlv(), event: { type: 'aborted' } } : { reply: abortTlv() };
  }

  private onSmp1(t: Tlv): { event: SmpEvent } {
    let payload = t.value;
    let question: string | undefined;
    if (t.type === TLV_SMP1Q) {
      const nul = payload.indexOf(0);
      if (nul < 0) throw new OtrProtocolError('bad-tlv', 'SMP1Q question has no NUL terminator');
      question = new TextDecoder('utf-8').decode(payload.subarray(0, nul));
      payload = payload.subarray(nul + 1);
    }
    const [g2a, c2, d2, g3a, c3, d3] = decodeSmpPayload(payload, 6);
    requireElements('SMP1 g2a/g3a', g2a, g3a);
    requireExponents('SMP1 D2/D3', d2, d3);
    requireProof(verifyLogProof(1, c2, d2, g2a), 'g2a');
    requireProof(verifyLogProof(2, c3, d3, g3a), 'g3a');
    this.st = { kind: 'asked', g2a, g3a, question };
    return { event: question === undefined ? { type: 'asked' } : { type: 'asked', question } };
  }

  private onSmp2(st: Extract<State, { kind: 'expect2' }>, value: Uint8Array): { reply: Tlv } {
    const [g2b, c2, d2, g3b, c3, d3, pb, qb, cp, d5, d6] = decodeSmpPayload(value, 11);
    requireElements('SMP2 g2b/g3b/Pb/Qb', g2b, g3b, pb, qb);
    requireExponents('SMP2 D2/D3/D5/D6', d2, d3, d5, d6);
    requireProof(verifyLogProof(3, c2, d2, g2b), 'g2b');
    requireProof(verifyLogProof(4, c3, d3, g3b), 'g3b');
    const g2 = modPow(g2b, st.a2);
    const g3 = modPow(g3b, st.a3);
    requireProof(verifyCoordsProof(5, g2, g3, pb, qb, cp, d5, d6), 'Pb/Qb');
    const [r4, r5, r6, r7] = [this.rnd(), this.rnd(), this.rnd(), this.rnd()] as const;
    const pa = modPow(g3, r4);
    const qa = mulP(modPow(G, r4), modPow(g2, st.x));
    const [cpA, d5A, d6A] = proveCoords(6, g2, g3, r4, st.x, r5, r6);
    const qaQb = mulP(qa, modInv(qb, P));
    const ra = modPow(qaQb, st.a3);
    const [cr, d7] = proveEqualLogs(7, qaQb, st.a3, r7);
    this.st = { kind: 'expect4', g3b, paPb: mulP(pa, modInv(pb, P)), qaQb, a3: st.a3 };
    return { reply: tlv(TLV_SMP3, [pa, qa, cpA, d5A, d6A, ra, cr, d7]) };
  }

  private onSmp3(st: Extract<State, { kind: 'expect3' }>, value: Uint8Array): { reply: Tlv; event: SmpEvent } {
    const [pa, qa, cp, d5, d6, ra, cr, d7] = decodeSmpPayload(value, 8);
    requireElements('SMP3 Pa/Qa/Ra', pa, qa, ra);
    requireExponents('SMP3 D5/D6/D7', d5, d6, d7);
    requireProof(verifyCoordsProof(6, st.g2, st.g3, pa, qa, cp, d5, d6), 'Pa/Qa');
    const qaQb = mulP(qa, modInv(st.qb, P));
    requireProof(verifyEqualLogsProof(7, qaQb, st.g3a, ra, cr, d7), 'Ra');
    const r7 = this.rnd();
    const rb = modPow(qaQb, st.b3);
    const [crB, d7B] = proveEqualLogs(8, qaQb, st.b3, r7);
    const rab = modPow(ra, st.b3);
    const same = mulP(pa, modInv(st.pb, P)) === rab;
    this.st = { kind: 'expect1' };
    return { reply: tlv(TLV_SMP4, [rb, crB, d7B]), event: { type: same ? 'success' : 'failure' } };
  }

  private onSmp4(st: Extract<State, { kind: 'expect4' }>, value: Uint8Array): { event: SmpEvent } {
    const [rb, cr, d7] = decodeSmpPayload(value, 3);
    requireElements('SMP4 Rb', rb);
    requireExponents('SMP4 D7', d7);
    requireProof(verifyEqualLogsProof(8, st.qaQb, st.g3b, rb, cr, d7), 'Rb');
    const same = st.paPb === modPow(rb, st.a3);
    this.st = { kind: 'expect1' };
    return { event: { type: same ? 'success' : 'failure' } };
  }
}
