// Builds MSRP frames as bytes (RFC 4975 section 7).
import { formatByteRange, reasonPhrase, type ByteRange, type EndFlag, type MsrpHeader } from './frame.js';
import { newTransactionId } from './ids.js';

export interface RequestSpec {
  readonly method: string;
  /** Omit to get a fresh random one. */
  readonly transactionId?: string;
  readonly toPath: readonly string[];
  readonly fromPath: readonly string[];
  /** Headers after To-Path/From-Path, in order (Message-ID, Byte-Range, Status...). */
  readonly headers?: readonly MsrpHeader[];
  /** Emitted last among the headers, as MIME requires; only with a body. */
  readonly contentType?: string;
  readonly body?: Uint8Array;
  readonly endFlag?: EndFlag;
}

export interface ResponseSpec {
  readonly transactionId: string;
  readonly status: number;
  readonly comment?: string;
  readonly toPath: readonly string[];
  readonly fromPath: readonly string[];
  readonly headers?: readonly MsrpHeader[];
}

const enc = new TextEncoder();

function assertHeader(name: string, value: string): void {
  // A CR or LF in a header value would let a caller inject headers or an end-line.
  if (/[\r\n]/.test(name) || /[\r\n]/.test(value) || !/^[A-Za-z][!#-'*+\-.0-9A-Z^-~]*$/.test(name))
    throw new TypeError(`invalid MSRP header ${JSON.stringify(name)}`);
}

function headerBlock(
  first: string,
  toPath: readonly string[],
  fromPath: readonly string[],
  headers: readonly MsrpHeader[],
): string {
  let s = `${first}\r\nTo-Path: ${toPath.join(' ')}\r\nFrom-Path: ${fromPath.join(' ')}\r\n`;
  for (const [n, v] of headers) {
    assertHeader(n, v);
    s += `${n}: ${v}\r\n`;
  }
  return s;
}

/** Bodies from this size on, sent with a fresh transaction id, are not searched for their end-line. */
const UNSEARCHED_BODY = 64 * 1024;

function containsEndLine(body: Uint8Array, tid: string): boolean {
  return Buffer.from(body.buffer, body.byteOffset, body.byteLength).includes('-------' + tid, 0, 'latin1');
}

/** Serialises a request. Returns the bytes and the transaction id used (fresh if the body happened to contain it). */
export function serializeRequest(spec: RequestSpec): { bytes: Uint8Array; transactionId: string } {
  const { parts, transactionId } = serializeRequestParts(spec);
  if (parts.length === 1) return { bytes: parts[0]!, transactionId };
  return { bytes: Buffer.concat(parts), transactionId };
}

/**
 * The same as pieces: the head, the body itself (not copied) and the end-line, for a vectored write (a 1 MiB file
 * chunk copied into a fresh frame cost the sender a tenth of its time, and the garbage collector more).
 */
export function serializeRequestParts(spec: RequestSpec): { parts: Uint8Array[]; transactionId: string } {
  if (!/^[A-Z][A-Z_]*$/.test(spec.method)) throw new TypeError(`invalid MSRP method ${spec.method}`);
  if (spec.toPath.length === 0 || spec.fromPath.length === 0)
    throw new TypeError('To-Path and From-Path must not be empty');
  const body = spec.body ?? new Uint8Array(0);
  let tid = spec.transactionId ?? newTransactionId();
  // A fresh random id (12 characters of 62, drawn after the body was made) is in a body only by chance, ~2^-41 for
  // a whole GiB: a large body (a file chunk) is not searched for it, which cost a file's sender a quarter of a
  // second per GiB. Were it there, the peer would cut the chunk short and fail the transfer, not take wrong bytes.
  const mustSearch = spec.transactionId !== undefined || body.length < UNSEARCHED_BODY;
  while (body.length > 0 && mustSearch && containsEndLine(body, tid)) {
    if (spec.transactionId !== undefined) throw new TypeError('body contains the end-line of the given transaction id');
    tid = newTransactionId();
  }
  const headers = [...(spec.headers ?? [])];
  const hasBody = body.length > 0 || spec.contentType !== undefined;
  if (hasBody && spec.contentType !== undefined) headers.push(['Content-Type', spec.contentType]);
  let head = headerBlock(`MSRP ${tid} ${spec.method}`, spec.toPath, spec.fromPath, headers);
  const tail = `-------${tid}${spec.endFlag ?? '$'}\r\n`;
  if (!hasBody) return { parts: [enc.encode(head + tail)], transactionId: tid };
  head += '\r\n';
  return { parts: [enc.encode(head), body, enc.encode('\r\n' + tail)], transactionId: tid };
}

export function serializeResponse(spec: ResponseSpec): Uint8Array {
  const comment = spec.comment ?? reasonPhrase(spec.status);
  if (!Number.isInteger(spec.status) || spec.status < 100 || spec.status > 999)
    throw new TypeError(`invalid status ${spec.status}`);
  if (/[\r\n]/.test(comment)) throw new TypeError('invalid status comment');
  const first = `MSRP ${spec.transactionId} ${spec.status}${comment ? ' ' + comment : ''}`;
  return enc.encode(
    headerBlock(first, spec.toPath, spec.fromPath, spec.headers ?? []) + `-------${spec.transactionId}$\r\n`,
  );
}

export interface SendChunkSpec {
  readonly toPath: readonly string[];
  readonly fromPath: readonly string[];
  readonly messageId: string;
  readonly range: ByteRange;
  readonly contentType?: string;
  readonly body: Uint8Array;
  readonly endFlag: EndFlag;
  readonly successReport?: boolean;
  readonly failureReport?: 'yes' | 'no' | 'partial';
  readonly extraHeaders?: readonly MsrpHeader[];
}

export function serializeSend(spec: SendChunkSpec): { bytes: Uint8Array; transactionId: string } {
  const { parts, transactionId } = serializeSendParts(spec);
  return { bytes: parts.length === 1 ? parts[0]! : Buffer.concat(parts), transactionId };
}

/** serializeSend as pieces (head, body, end-line): see serializeRequestParts. */
export function serializeSendParts(spec: SendChunkSpec): { parts: Uint8Array[]; transactionId: string } {
  const headers: MsrpHeader[] = [['Message-ID', spec.messageId]];
  if (spec.successReport) headers.push(['Success-Report', 'yes']);
  if (spec.failureReport && spec.failureReport !== 'yes') headers.push(['Failure-Report', spec.failureReport]);
  headers.push(['Byte-Range', formatByteRange(spec.range)]);
  headers.push(...(spec.extraHeaders ?? []));
  return serializeRequestParts({
    method: 'SEND',
    toPath: spec.toPath,
    fromPath: spec.fromPath,
    headers,
    ...(spec.contentType !== undefined ? { contentType: spec.contentType } : {}),
    body: spec.body,
    endFlag: spec.endFlag,
  });
}

export interface ReportSpec {
  readonly toPath: readonly string[];
  readonly fromPath: readonly string[];
  readonly messageId: string;
  readonly range: ByteRange;
  readonly status: number;
  readonly comment?: string;
}

export function serializeReport(spec: ReportSpec): { bytes: Uint8Array; transactionId: string } {
  const comment = spec.comment ?? reasonPhrase(spec.status);
  return serializeRequest({
    method: 'REPORT',
    toPath: spec.toPath,
    fromPath: spec.fromPath,
    headers: [
      ['Message-ID', spec.messageId],
      ['Byte-Range', formatByteRange(spec.range)],
      ['Status', `000 ${spec.status}${comment ? ' ' + comment : ''}`],
    ],
  });
}
