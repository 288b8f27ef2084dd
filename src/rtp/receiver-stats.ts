// What we know of one incoming RTP source (RFC 3550 A.1, A.3, A.8): extended highest sequence, packets expected
// and received, loss fraction between reports, cumulative loss, interarrival jitter. Pure: the caller passes the
// arrival time, converted to the media clock.

const MAX_DROPOUT = 3000;
const MAX_MISORDER = 100;
const SEQ_MOD = 0x10000;

export class ReceiverStats {
  private baseSeq = 0;
  private maxSeq = 0;
  private cycles = 0;
  private badSeq = SEQ_MOD + 1;
  private started = false;
  received = 0;
  private expectedPrior = 0;
  private receivedPrior = 0;
  private transit: number | null = null;
  /** Interarrival jitter in timestamp units, as the A.8 estimator (kept as a float; reports round it). */
  jitter = 0;

  /**
   * Counts one packet. `arrival` is the arrival time in timestamp units of the same clock as `timestamp`.
   * Returns false for a packet the A.1 rules treat as a jump not yet confirmed (it is still counted once the
   * source restarts from there). `timing` false: count the packet but keep it out of the jitter estimate.
   */
  update(seq: number, timestamp: number, arrival: number, timing = true): boolean {
    if (!this.started) {
      this.started = true;
      this.baseSeq = seq;
      this.maxSeq = seq;
      this.received = 1;
      this.transit = arrival - timestamp;
      return true;
    }
    const udelta = (seq - this.maxSeq + SEQ_MOD) % SEQ_MOD;
    if (udelta < MAX_DROPOUT) {
      if (seq < this.maxSeq) this.cycles += SEQ_MOD;
      this.maxSeq = seq;
    } else if (udelta <= SEQ_MOD - MAX_MISORDER) {
      if (seq === this.badSeq) {
        // two sequential packets after a big jump: the source restarted
        this.baseSeq = seq;
        this.maxSeq = seq;
        this.cycles = 0;
        this.received = 0;
        this.expectedPrior = 0;
        this.receivedPrior = 0;
      } else {
        this.badSeq = (seq + 1) % SEQ_MOD;
        return false;
      }
    }
    // else: duplicate or reordered packet, counted as received
    this.received++;
    // packets whose timestamp is not their sampling instant (a DTMF event's later packets) leave jitter alone
    if (!timing) return true;
    const transit = arrival - timestamp;
    if (this.transit !== null) {
      // timestamps are 32-bit and wrap: take the difference modulo 2^32 as a signed value
      let d = transit - this.transit;
      d = ((d % 0x100000000) + 0x100000000) % 0x100000000;
      if (d > 0x7fffffff) d = 0x100000000 - d;
      this.jitter += (d - this.jitter) / 16;
    }
    this.transit = transit;
    return true;
  }

  get extendedMax(): number {
    return this.cycles + this.maxSeq;
  }
  get expected(): number {
    return this.started ? this.extendedMax - this.baseSeq + 1 : 0;
  }
  /** Cumulative lost (can be negative with duplicates, as RFC 3550 allows). */
  get lost(): number {
    return this.expected - this.received;
  }
  get hasData(): boolean {
    return this.started;
  }

  /** The fraction lost since the last call (0..255), as an RR carries it; moves the interval on. */
  takeFractionLost(): number {
    const expected = this.expected;
    const expectedInterval = expected - this.expectedPrior;
    this.expectedPrior = expected;
    const receivedInterval = this.received - this.receivedPrior;
    this.receivedPrior = this.received;
    const lostInterval = expectedInterval - receivedInterval;
    if (expectedInterval === 0 || lostInterval <= 0) return 0;
    return Math.min(255, Math.floor((lostInterval << 8) / expectedInterval));
  }
}
