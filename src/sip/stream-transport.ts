// SIP over TCP and TLS: one listening server per UA plus a pool of flows (accepted or opened by us),
// keyed by the remote address:port. Requests reuse a flow to the same destination; responses go back on
// the flow the request came in on (its address:port is stamped into the Via as received/rport).
import { createServer as createTcpServer, connect as tcpConnect, isIP } from 'node:net';
import type { Server, Socket } from 'node:net';
import { createServer as createTlsServer, connect as tlsConnect } from 'node:tls';
import type { ConnectionOptions, TLSSocket } from 'node:tls';
import { SipFramingError, SipTransportError } from './errors.js';
import { SipStreamFramer } from './framer.js';
import { SipTransportBase, errorText } from './transport.js';
import type { Destination } from './transport.js';
import type { SipHead, SipUri, ViaValue } from './wire.js';

const CONNECT_TIMEOUT_MS = 10000;
/** RFC 5626 4.4.1: a flow whose pong has not come 10 s after the ping has failed. */
const DEFAULT_PONG_TIMEOUT_MS = 10000;

interface Flow {
  readonly key: string;
  readonly socket: Socket;
  readonly framer: SipStreamFramer;
  /** Why we closed it ourselves, or the socket's last error: what onFlowLost reports. */
  why?: string;
  keepAlive?: NodeJS.Timeout;
  pongWait?: NodeJS.Timeout;
}

abstract class StreamTransport extends SipTransportBase {
  private server: Server | undefined;
  private boundPort = 0;
  private readonly flows = new Map<string, Flow>();
  private readonly opening = new Map<string, Promise<Flow>>();
  private readonly sockets = new Set<Socket>();
  private closing = false;
  private registrationKey: string | undefined;

  get localPort(): number {
    return this.boundPort;
  }

  /** Open flows (accepted and outgoing), for tests and diagnostics. */
  get flowCount(): number {
    return this.flows.size;
  }

  protected abstract makeServer(onSocket: (socket: Socket) => void): Server;
  protected abstract openSocket(dest: Destination, target: SipUri | undefined): Socket;
  /** Event that says an outgoing socket is ready to carry data. */
  protected abstract readonly readyEvent: 'connect' | 'secureConnect';

  protected listen(): Promise<void> {
    return new Promise((resolve, reject) => {
      const server = this.makeServer((socket) => this.adopt(socket));
      const onError = (err: Error): void => {
        server.close();
        reject(err);
      };
      server.once('error', onError);
      server.listen(this.options.port ?? 0, this.bindHost, () => {
        server.off('error', onError);
        server.on('error', (err) => this.logger.error(`${this.protocol} server error: ${err.message}`));
        this.server = server;
        const addr = server.address();
        this.boundPort = typeof addr === 'object' && addr !== null ? addr.port : 0;
        resolve();
      });
    });
  }

  /** The flow the last REGISTER went out on (address:port), which carries keep-alives. */
  override get registrationFlow(): string | undefined {
    return this.registrationKey;
  }

  protected close(): Promise<void> {
    this.closing = true;
    for (const flow of this.flows.values()) stopKeepAlive(flow);
    for (const socket of this.sockets) socket.destroy();
    this.sockets.clear();
    this.flows.clear();
    this.opening.clear();
    const server = this.server;
    this.server = undefined;
    if (!server) return Promise.resolve();
    return new Promise((resolve) => server.close(() => resolve()));
  }

  /** Wires framing and bookkeeping onto a connected socket (accepted or ours). */
  private adopt(socket: Socket): Flow | undefined {
    const address = socket.remoteAddress;
    const port = socket.remotePort;
    if (address === undefined || port === undefined) {
      socket.destroy();
      return undefined;
    }
    const key = flowKey(address, port);
    const framer = new SipStreamFramer(this.limits);
    const flow: Flow = { key, socket, framer };
    // SIP messages are small request/response exchanges: Nagle + delayed ACK would add ~40 ms per exchange.
    socket.setNoDelay(true);
    this.sockets.add(socket);
    this.flows.set(key, flow);
    const remote: Destination = { address, port };
    socket.on('data', (chunk: Buffer) => {
      let events;
      try {
        events = framer.push(chunk);
      } catch (err) {
        const why = err instanceof SipFramingError ? err.message : errorText(err);
        this.logger.warn(`closing ${this.protocol} flow ${key}: ${why}`);
        flow.why = `closed by us: ${why}`;
        socket.destroy();
        return;
      }
      for (const ev of events) {
        if (ev.type === 'message') this.receive(ev.text, remote);
        else if (ev.type === 'ping')
          socket.write('\r\n'); // RFC 5626 3.5.1 pong
        else if (flow.pongWait !== undefined) this.pongArrived(flow);
      }
    });
    socket.on('error', (err) => {
      flow.why ??= `connection error: ${err.message}`;
      this.logger.debug(`${this.protocol} flow ${key} error: ${err.message}`);
    });
    socket.on('close', () => {
      stopKeepAlive(flow);
      this.sockets.delete(socket);
      if (this.flows.get(key) === flow) this.flows.delete(key);
      if (this.closing) return;
      const why = flow.why ?? 'connection closed by the other side';
      this.logger.log(`${this.protocol} flow ${key} lost: ${why}`);
      this.onFlowLost?.(key, why);
    });
    return flow;
  }

  /** RFC 5626 4.4.1 on the registration flow: a CRLFCRLF ping now and then; a pong must follow within 10 s. */
  private startKeepAlive(flow: Flow): void {
    const interval = this.options.keepAlive?.intervalMs ?? 0;
    if (interval <= 0 || flow.keepAlive !== undefined || flow.pongWait !== undefined || flow.socket.destroyed) return;
    // 80-100 % of the interval (RFC 5626 4.4.1), so that many clients do not ping in step
    const wait = interval * (0.8 + 0.2 * Math.random());
    flow.keepAlive = setTimeout(() => {
      flow.keepAlive = undefined;
      if (flow.socket.destroyed || this.registrationKey !== flow.key) return;
      flow.framer.expectingPong = true;
      flow.socket.write('\r\n\r\n');
      const pongMs = this.options.keepAlive?.pongTimeoutMs ?? DEFAULT_PONG_TIMEOUT_MS;
      flow.pongWait = setTimeout(() => {
        flow.pongWait = undefined;
        flow.why = `no answer to a keep-alive within ${Math.round(pongMs / 100) / 10} s`;
        this.logger.warn(`${this.protocol} flow ${flow.key}: ${flow.why}; closing it`);
        flow.socket.destroy();
      }, pongMs);
      flow.pongWait.unref();
    }, wait);
    flow.keepAlive.unref();
  }

  private pongArrived(flow: Flow): void {
    clearTimeout(flow.pongWait);
    flow.pongWait = undefined;
    this.startKeepAlive(flow);
  }

  private async flowTo(dest: Destination, target: SipUri | undefined): Promise<Flow> {
    const key = flowKey(dest.address, dest.port);
    const existing = this.flows.get(key);
    if (existing && !existing.socket.destroyed) return existing;
    const pending = this.opening.get(key);
    if (pending) return pending;
    const opening = new Promise<Flow>((resolve, reject) => {
      const socket = this.openSocket(dest, target);
      this.sockets.add(socket);
      const timer = setTimeout(() => {
        socket.destroy();
        reject(new SipTransportError(`${this.protocol} connection to ${key} timed out`));
      }, CONNECT_TIMEOUT_MS);
      socket.once(this.readyEvent, () => {
        clearTimeout(timer);
        socket.off('error', onError);
        const flow = this.adopt(socket);
        if (flow) resolve(flow);
        else reject(new SipTransportError(`${this.protocol} connection to ${key} closed at once`));
      });
      const onError = (err: Error): void => {
        clearTimeout(timer);
        this.sockets.delete(socket);
        socket.destroy();
        reject(new SipTransportError(`${this.protocol} connection to ${key} failed: ${err.message}`, { cause: err }));
      };
      socket.once('error', onError);
    }).finally(() => this.opening.delete(key));
    this.opening.set(key, opening);
    return opening;
  }

  private async write(flow: Flow, text: string): Promise<void> {
    const data = Buffer.from(text, 'utf8');
    await new Promise<void>((resolve, reject) => {
      flow.socket.write(data, (err) => {
        if (err)
          reject(new SipTransportError(`${this.protocol} write to ${flow.key} failed: ${err.message}`, { cause: err }));
        else resolve();
      });
    });
  }

  protected async sendRequest(dest: Destination, text: string, head: SipHead, target: SipUri): Promise<void> {
    const flow = await this.flowTo(dest, target);
    if (head.start.kind === 'request' && head.start.method === 'REGISTER') {
      if (this.registrationKey !== flow.key) {
        const old = this.registrationKey === undefined ? undefined : this.flows.get(this.registrationKey);
        if (old) stopKeepAlive(old);
        this.registrationKey = flow.key;
      }
      this.startKeepAlive(flow);
    }
    await this.write(flow, text);
  }

  protected async sendResponse(dest: Destination, text: string, _head: SipHead, via: ViaValue): Promise<void> {
    const existing = this.flows.get(flowKey(dest.address, dest.port));
    if (existing && !existing.socket.destroyed) {
      await this.write(existing, text);
      return;
    }
    // RFC 3261 18.2.2: the flow is gone, so open a connection to the sent-by
    const port = via.port ?? (this.kind === 'tls' ? 5061 : 5060);
    await this.write(await this.flowTo({ address: dest.address, port }, undefined), text);
  }
}

function stopKeepAlive(flow: Flow): void {
  clearTimeout(flow.keepAlive);
  clearTimeout(flow.pongWait);
  flow.keepAlive = undefined;
  flow.pongWait = undefined;
  flow.framer.expectingPong = false;
}

function flowKey(address: string, port: number): string {
  return `${address.replace(/^::ffff:/, '')}:${port}`;
}

export class TcpTransport extends StreamTransport {
  readonly protocol = 'TCP' as const;
  readonly kind = 'tcp' as const;
  protected readonly readyEvent = 'connect' as const;

  protected makeServer(onSocket: (socket: Socket) => void): Server {
    return createTcpServer(onSocket);
  }

  protected openSocket(dest: Destination): Socket {
    return tcpConnect({ host: dest.address, port: dest.port, localAddress: this.bindHost });
  }
}

export class TlsTransport extends StreamTransport {
  readonly protocol = 'TLS' as const;
  readonly kind = 'tls' as const;
  protected readonly readyEvent = 'secureConnect' as const;

  protected makeServer(onSocket: (socket: Socket) => void): Server {
    const tls = this.options.tls;
    if (tls?.key === undefined || tls.cert === undefined) {
      throw new SipTransportError('a TLS transport needs tls.key and tls.cert to listen');
    }
    const server = createTlsServer({ key: toPem(tls.key), cert: toPem(tls.cert) }, (socket: TLSSocket) =>
      onSocket(socket),
    );
    server.on('tlsClientError', (err) => this.logger.warn(`TLS handshake with a client failed: ${err.message}`));
    return server;
  }

  protected openSocket(dest: Destination, target: SipUri | undefined): Socket {
    const tls = this.options.tls;
    // localAddress is honoured by tls.connect (it passes it to net.connect) though the typings omit it
    const opts: ConnectionOptions & { localAddress?: string } = {
      host: dest.address,
      port: dest.port,
      localAddress: this.bindHost,
      rejectUnauthorized: tls?.rejectUnauthorized ?? true,
    };
    // SNI and certificate checks go against the SIP domain, not the resolved address (RFC 5922)
    if (target !== undefined && isIP(target.host.replace(/^\[|\]$/g, '')) === 0) opts.servername = target.host;
    if (tls?.ca !== undefined)
      opts.ca = Array.isArray(tls.ca) ? tls.ca.map(toPem) : toPem(tls.ca as string | Uint8Array);
    else if (tls?.secureContext !== undefined) opts.secureContext = tls.secureContext();
    if (tls?.key !== undefined && tls.cert !== undefined) {
      opts.key = toPem(tls.key);
      opts.cert = toPem(tls.cert);
    }
    return tlsConnect(opts);
  }
}

function toPem(v: string | Uint8Array): string {
  return typeof v === 'string' ? v : Buffer.from(v).toString('utf8');
}
