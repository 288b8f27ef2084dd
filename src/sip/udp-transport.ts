// SIP over UDP. sip.js sets timers D, I, J, K to zero and never retransmits (it assumes a reliable
// transport), so this transport carries the unreliable-transport half of RFC 3261 17:
//  - client: timers A/E (retransmit requests, T1 doubling; non-INVITE capped at T2 and kept at T2 once a
//    provisional arrived), B/F (give up after 64*T1), D (re-send the ACK for a retransmitted non-2xx final);
//  - server: absorb retransmitted requests and repeat the last response (J/I), retransmit a non-2xx final
//    INVITE response until the ACK arrives (G/H).
// The 2xx/ACK exchange of INVITE is end-to-end and sip.js handles it (RFC 6026).
import { createSocket } from 'node:dgram';
import type { RemoteInfo, Socket } from 'node:dgram';
import { SipTransportError } from './errors.js';
import { SipTransportBase, errorText } from './transport.js';
import type { Destination, SipTransportOptions, TransportLogger } from './transport.js';
import { firstHeader, parseCSeq, topVia } from './wire.js';
import type { SipHead } from './wire.js';

interface ClientTransaction {
  readonly key: string;
  readonly text: string;
  readonly dest: Destination;
  readonly invite: boolean;
  started: number;
  interval: number;
  /** Planned offset (from `started`) of the next retransmission: kept nominal so timer drift cannot eat one. */
  offset: number;
  proceeding: boolean;
  timer: NodeJS.Timeout | undefined;
}

interface CompletedInvite {
  ack: { text: string; dest: Destination } | undefined;
  expire: NodeJS.Timeout;
}

interface ServerTransaction {
  readonly invite: boolean;
  lastResponse: { text: string; dest: Destination } | undefined;
  finalStatus: number;
  acked: boolean;
  expire: NodeJS.Timeout | undefined;
  timerG: NodeJS.Timeout | undefined;
}

/** How long a server transaction may stay unanswered before its state is forgotten. */
const UNANSWERED_LIMIT_MS = 10 * 60 * 1000;

export class UdpTransport extends SipTransportBase {
  readonly protocol = 'UDP' as const;
  readonly kind = 'udp' as const;

  private socket: Socket | undefined;
  private boundPort = 0;
  private readonly clientTx = new Map<string, ClientTransaction>();
  private readonly completedInvites = new Map<string, CompletedInvite>();
  private readonly serverTx = new Map<string, ServerTransaction>();

  constructor(logger: TransportLogger | undefined, options: SipTransportOptions | undefined) {
    super(logger, options);
  }

  get localPort(): number {
    return this.boundPort;
  }

  /** Number of client transactions still being retransmitted (for tests and diagnostics). */
  get pendingClientTransactions(): number {
    return this.clientTx.size;
  }

  protected listen(): Promise<void> {
    return new Promise((resolve, reject) => {
      const socket = createSocket({ type: this.family === 6 ? 'udp6' : 'udp4' });
      const onError = (err: Error): void => {
        socket.close();
        reject(err);
      };
      socket.once('error', onError);
      socket.bind(this.options.port ?? 0, this.bindHost, () => {
        socket.off('error', onError);
        socket.on('error', (err) => this.logger.error(`UDP socket error: ${err.message}`));
        socket.on('message', (buf: Buffer, rinfo: RemoteInfo) => this.onDatagram(buf, rinfo));
        this.socket = socket;
        this.boundPort = socket.address().port;
        resolve();
      });
    });
  }

  protected close(): Promise<void> {
    for (const tx of this.clientTx.values()) clearTimeout(tx.timer);
    this.clientTx.clear();
    for (const c of this.completedInvites.values()) clearTimeout(c.expire);
    this.completedInvites.clear();
    for (const s of this.serverTx.values()) {
      clearTimeout(s.expire);
      clearTimeout(s.timerG);
    }
    this.serverTx.clear();
    const socket = this.socket;
    this.socket = undefined;
    if (!socket) return Promise.resolve();
    return new Promise((resolve) => socket.close(() => resolve()));
  }

  private onDatagram(buf: Buffer, rinfo: RemoteInfo): void {
    // keep-alive datagrams (CRLF, or anything blank) carry no message
    if (buf.every((b) => b === 0x0d || b === 0x0a || b === 0x20 || b === 0x00)) return;
    this.receive(new TextDecoder('utf-8').decode(buf), { address: rinfo.address, port: rinfo.port });
  }

  private write(text: string, dest: Destination): Promise<void> {
    const socket = this.socket;
    if (!socket) return Promise.reject(new SipTransportError('UDP transport is closed'));
    const data = Buffer.from(text, 'utf8');
    return new Promise((resolve, reject) => {
      socket.send(data, dest.port, dest.address, (err) => {
        if (err)
          reject(
            new SipTransportError(`UDP send to ${dest.address}:${dest.port} failed: ${err.message}`, { cause: err }),
          );
        else resolve();
      });
    });
  }

  protected async sendRequest(dest: Destination, text: string, head: SipHead): Promise<void> {
    if (head.start.kind !== 'request') return;
    const method = head.start.method;
    const branch = topVia(head).params.get('branch') ?? '';
    if (method === 'ACK') {
      // An ACK for a non-2xx final shares the INVITE's branch; keep it to answer retransmitted finals.
      const completed = this.completedInvites.get(branch);
      if (completed) completed.ack = { text, dest };
      await this.write(text, dest);
      return;
    }
    const key = `${branch} ${method}`;
    this.stopClientTx(key);
    const tx: ClientTransaction = {
      key,
      text,
      dest,
      invite: method === 'INVITE',
      started: Date.now(),
      interval: this.t1,
      offset: 0,
      proceeding: false,
      timer: undefined,
    };
    this.clientTx.set(key, tx);
    try {
      await this.write(text, dest);
    } catch (err) {
      this.stopClientTx(key);
      throw err;
    }
    if (this.clientTx.get(key) !== tx) return; // answered (or closed) while the first copy was going out
    tx.started = Date.now();
    this.scheduleRetransmit(tx);
  }

  private scheduleRetransmit(tx: ClientTransaction): void {
    const limit = 64 * this.t1;
    tx.offset += tx.interval;
    if (tx.offset >= limit) {
      // timer B/F: sip.js raises the 408 itself; we only stop retransmitting
      tx.timer = setTimeout(() => this.stopClientTx(tx.key), Math.max(0, tx.started + limit - Date.now()));
      return;
    }
    tx.timer = setTimeout(
      () => {
        if (this.clientTx.get(tx.key) !== tx) return;
        this.logger.debug(`UDP retransmission of ${tx.key.split(' ')[1] ?? ''} to ${tx.dest.address}:${tx.dest.port}`);
        this.write(tx.text, tx.dest).catch((err: unknown) =>
          this.logger.warn(`UDP retransmission failed: ${errorText(err)}`),
        );
        tx.interval = tx.invite ? tx.interval * 2 : tx.proceeding ? this.t2 : Math.min(tx.interval * 2, this.t2);
        this.scheduleRetransmit(tx);
      },
      Math.max(0, tx.started + tx.offset - Date.now()),
    );
  }

  private stopClientTx(key: string): void {
    const tx = this.clientTx.get(key);
    if (!tx) return;
    clearTimeout(tx.timer);
    this.clientTx.delete(key);
  }

  protected override acceptIncomingResponse(head: SipHead): boolean {
    if (head.start.kind !== 'response') return true;
    const status = head.start.status;
    const branch = topVia(head).params.get('branch') ?? '';
    const method = parseCSeq(head).method;
    const key = `${branch} ${method}`;
    const tx = this.clientTx.get(key);
    if (tx) {
      if (tx.invite) {
        this.stopClientTx(key);
        if (status >= 300) {
          const expire = setTimeout(() => this.completedInvites.delete(branch), 64 * this.t1);
          this.completedInvites.set(branch, { ack: undefined, expire });
        }
      } else if (status < 200) {
        if (!tx.proceeding) {
          tx.proceeding = true;
          // RFC 3261 17.1.2.2: in Proceeding, retransmit every T2
          clearTimeout(tx.timer);
          tx.interval = this.t2;
          tx.offset = Date.now() - tx.started;
          this.scheduleRetransmit(tx);
        }
      } else {
        this.stopClientTx(key);
      }
      return true;
    }
    if (method === 'INVITE' && status >= 300) {
      const completed = this.completedInvites.get(branch);
      if (completed) {
        // Our ACK was lost: repeat it (timer D) instead of bothering sip.js, whose transaction is gone.
        if (completed.ack) {
          this.write(completed.ack.text, completed.ack.dest).catch((err: unknown) =>
            this.logger.warn(`ACK retransmission failed: ${errorText(err)}`),
          );
        }
        return false;
      }
    }
    return true;
  }

  protected override acceptIncomingRequest(head: SipHead, remote: Destination): boolean {
    if (head.start.kind !== 'request') return true;
    const method = head.start.method;
    const id = serverTransactionId(head);
    if (method === 'ACK') {
      const tx = this.serverTx.get(`${id} INVITE`);
      if (tx && tx.finalStatus >= 300) {
        if (tx.acked) return false;
        tx.acked = true;
        clearTimeout(tx.timerG);
        tx.timerG = undefined;
      }
      return true;
    }
    const key = `${id} ${method}`;
    const existing = this.serverTx.get(key);
    if (existing) {
      if (existing.lastResponse) {
        this.logger.debug(`retransmitted ${method} from ${remote.address}:${remote.port}: repeating the last response`);
        this.write(existing.lastResponse.text, existing.lastResponse.dest).catch((err: unknown) =>
          this.logger.warn(`response retransmission failed: ${errorText(err)}`),
        );
      }
      return false;
    }
    const tx: ServerTransaction = {
      invite: method === 'INVITE',
      lastResponse: undefined,
      finalStatus: 0,
      acked: false,
      expire: undefined,
      timerG: undefined,
    };
    tx.expire = setTimeout(() => this.forgetServerTx(key), UNANSWERED_LIMIT_MS);
    this.serverTx.set(key, tx);
    return true;
  }

  private forgetServerTx(key: string): void {
    const tx = this.serverTx.get(key);
    if (!tx) return;
    clearTimeout(tx.expire);
    clearTimeout(tx.timerG);
    this.serverTx.delete(key);
  }

  protected async sendResponse(dest: Destination, text: string, head: SipHead): Promise<void> {
    if (head.start.kind === 'response') {
      const status = head.start.status;
      const key = `${serverTransactionId(head)} ${parseCSeq(head).method}`;
      const tx = this.serverTx.get(key);
      if (tx) {
        tx.lastResponse = { text, dest };
        if (status >= 200 && tx.finalStatus === 0) {
          tx.finalStatus = status;
          clearTimeout(tx.expire);
          tx.expire = setTimeout(() => this.forgetServerTx(key), 64 * this.t1);
          if (tx.invite && status >= 300) this.startTimerG(tx, this.t1);
        }
      }
    }
    await this.write(text, dest);
  }

  private startTimerG(tx: ServerTransaction, interval: number): void {
    tx.timerG = setTimeout(() => {
      if (tx.acked || !tx.lastResponse) return;
      this.write(tx.lastResponse.text, tx.lastResponse.dest).catch((err: unknown) =>
        this.logger.warn(`response retransmission failed: ${errorText(err)}`),
      );
      this.startTimerG(tx, Math.min(interval * 2, this.t2));
    }, interval);
  }
}

/** RFC 3261 17.2.3: branch (with sent-by); RFC 2543 peers without a magic-cookie branch fall back to Call-ID/CSeq. */
function serverTransactionId(head: SipHead): string {
  const via = topVia(head);
  const branch = via.params.get('branch') ?? '';
  const sentBy = `${via.host}:${via.port ?? ''}`;
  if (branch.startsWith('z9hG4bK')) return `${branch}|${sentBy}`;
  return `${firstHeader(head, 'call-id') ?? ''}|${parseCSeq(head).seq}|${sentBy}`;
}
