// Output helpers of the CLI: aligned tables with a header, label globs, and the one --encoding
// (hex | base64 | raw) every command that takes or prints bytes understands.
import { CliError } from './client';

/** A table: a header row, then rows, columns padded to their widest cell (the last not padded). */
export function table(header: string[], rows: string[][]): string {
  const line = tableLine(header, rows);
  return [line(header), ...rows.map(line)].join('\n');
}

/** The line formatter of `table` with column widths fitted to `rows`: for a table printed in pieces
 *  (later rows keep these widths; a longer cell pushes its line's next columns right). */
export function tableLine(header: string[], rows: string[][]): (cells: string[]) => string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  return (cells: string[]) => cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]))).join('  ').trimEnd();
}

/** A shell-style glob (* any run, ? one character, [abc] a set) as an anchored RegExp. */
export function globRegExp(glob: string): RegExp {
  let re = '';
  for (let i = 0; i < glob.length; i++) {
    const ch = glob[i];
    if (ch === '*') re += '.*';
    else if (ch === '?') re += '.';
    else if (ch === '[') {
      const end = glob.indexOf(']', i + 2);
      if (end < 0) { re += '\\['; continue; }
      const body = glob.slice(i + 1, end).replace(/\\/g, '\\\\');
      re += `[${body.startsWith('!') ? '^' + body.slice(1) : body}]`;
      i = end;
    } else re += ch.replace(/[.+^${}()|\\\]]/g, '\\$&');
  }
  return new RegExp(`^${re}$`, 's');
}

export const ENCODINGS = ['hex', 'base64', 'raw'] as const;
export type Encoding = typeof ENCODINGS[number];

export function encodingOf(value: string | undefined, fallback: Encoding, what = '--encoding'): Encoding {
  const v = value ?? fallback;
  if (!(ENCODINGS as readonly string[]).includes(v)) throw new CliError('BAD_ARGUMENT', `${what} is hex, base64 or raw, not ${v}`);
  return v as Encoding;
}

/** Bytes as they are printed or written: raw as they are, hex or base64 as a text line. */
export function encodeBytes(b: Buffer, e: Encoding): Buffer | string {
  return e === 'raw' ? b : `${b.toString(e)}\n`;
}

/** Bytes as given: a file's content in that encoding (whitespace around text ignored). */
export function decodeBytes(b: Buffer, e: Encoding, what: string): Buffer {
  if (e === 'raw') return b;
  const text = b.toString('utf8').trim();
  const ok = e === 'hex' ? /^([0-9a-fA-F]{2})*$/.test(text) : /^[A-Za-z0-9+/_-]*={0,2}$/.test(text);
  if (!ok) throw new CliError('BAD_ARGUMENT', `${what} is not ${e}`);
  return Buffer.from(text, e);
}

/** A short value on the command line (--iv, --salt): hex by default, or base64 with --encoding base64. */
export function argBytes(v: string, e: Encoding, what: string): Buffer {
  return decodeBytes(Buffer.from(v), e === 'raw' ? 'hex' : e, what);
}
