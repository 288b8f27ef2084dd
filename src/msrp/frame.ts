// The shape of one MSRP frame (a request or response, possibly one chunk of a message) and header helpers.
import { MsrpParseError } from './errors.js';

export type EndFlag = '$' | '+' | '#';
export type MsrpHeader = readonly [name: string, value: string];

interface FrameBase {
  readonly transactionId: string;
  /** Headers in wire order, names as sent. Look them up with getHeader(), which ignores case. */
  readonly headers: readonly MsrpHeader[];
  readonly body: Uint8Array;
  readonly endFlag: EndFlag;
}

export interface MsrpRequest extends FrameBase {
  readonly kind: 'request';
  /** SEND, REPORT, AUTH or any other upper-case method. */
  readonly method: string;
}

export interface MsrpResponse extends FrameBase {
  readonly kind: 'response';
  readonly status: number;
  readonly comment: string;
}

export type MsrpFrame = MsrpRequest | MsrpResponse;

export function getHeader(headers: readonly MsrpHeader[], name: string): string | undefined {
  const lower = name.toLowerCase();
  for (const [n, v] of headers) if (n.toLowerCase() === lower) return v;
  return undefined;
}

export function getHeaders(headers: readonly MsrpHeader[], name: string): string[] {
  const lower = name.toLowerCase();
  return headers.filter(([n]) => n.toLowerCase() === lower).map(([, v]) => v);
}

/** Splits a To-Path / From-Path / Use-Path value into its URIs (as strings). */
export function splitPath(value: string | undefined): string[] {
  if (value === undefined) return [];
  return value.split(/[ \t]+/).filter((s) => s.length > 0);
}

export interface ByteRange {
  /** 1-based first byte. */
  readonly start: number;
  /** Last byte, or null for '*'. */
  readonly end: number | null;
  /** Total message size, or null for '*'. */
  readonly total: number | null;
}

const RANGE_RE = /^(\d{1,16})-(\d{1,16}|\*)\/(\d{1,16}|\*)$/;

/** Parses `start-end/total`. Throws MsrpParseError('bad-byte-range') for anything else or inconsistent values. */
export function parseByteRange(value: string): ByteRange {
  const m = RANGE_RE.exec(value.trim());
  if (!m) throw new MsrpParseError('bad-byte-range', `unparsable Byte-Range ${JSON.stringify(value.slice(0, 64))}`);
  const start = Number(m[1]);
  const end = m[2] === '*' ? null : Number(m[2]);
  const total = m[3] === '*' ? null : Number(m[3]);
  const bad = (why: string): never => {
    throw new MsrpParseError('bad-byte-range', `${why} in Byte-Range ${value}`);
  };
  if (
    !Number.isSafeInteger(start) ||
    (end !== null && !Number.isSafeInteger(end)) ||
    (total !== null && !Number.isSafeInteger(total))
  )
    bad('number out of range');
  if (start < 1) bad('start below 1');
  // end == start - 1 is how an empty chunk is written (1-0/0).
  if (end !== null && end < start - 1) bad('end before start');
  if (total !== null && end !== null && end > total) bad('end beyond total');
  if (total !== null && start > total + 1) bad('start beyond total');
  return { start, end, total };
}

export function formatByteRange(r: ByteRange): string {
  return `${r.start}-${r.end === null ? '*' : r.end}/${r.total === null ? '*' : r.total}`;
}

export interface MsrpStatusHeader {
  readonly namespace: string;
  readonly code: number;
  readonly comment: string;
}

/** Parses a REPORT's `Status: 000 200 OK`. Returns null when malformed. */
export function parseStatusHeader(value: string | undefined): MsrpStatusHeader | null {
  if (value === undefined) return null;
  const m = /^(\d{3}) (\d{3})(?: (.*))?$/.exec(value.trim());
  if (!m) return null;
  return { namespace: m[1]!, code: Number(m[2]), comment: m[3] ?? '' };
}

const REASONS: Record<number, string> = {
  200: 'OK',
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  408: 'Request Timeout',
  413: 'Message Too Large',
  415: 'Unsupported Media Type',
  423: 'Interval Out-of-Bounds',
  481: 'No Such Session',
  501: 'Not Implemented',
  506: 'Session Already Bound',
};

export function reasonPhrase(code: number): string {
  return REASONS[code] ?? (code < 300 ? 'OK' : 'Error');
}
