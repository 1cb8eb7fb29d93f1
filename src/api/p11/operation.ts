// The life of a cryptographic operation in a session (PKCS#11 2.40 §5.8-§5.13): *Init checks
// and records it, single-part calls and *Final end it, *Update gathers input. A result that
// does not fit the application's buffer is kept, and the operation stays active, so the
// follow-up call with a big enough buffer gets the same bytes without redoing the work (§5.2).
import { HsmError } from '../../errors/hsm-error';
import type { KeyUse } from '../../core/attributes';
import { fitBytes, isLengthOnly, type BytesOutput, type Mechanism, type OutputBufferHint } from '../../protocol/p11rpc';
import { mechFromWire } from './mechanism';
import { releaseParts, reservePart } from './multipart-budget';
import { MAX_MULTIPART, type Operation, type OpKind, type P11Context, type Session } from './state';

/** *Init: one operation of a kind per session; the key is checked by the policy gate now, for early errors, and again on use. */
export async function beginKeyed(ctx: P11Context, s: Session, kind: OpKind, use: KeyUse, m: Mechanism | null, keyHandle: number): Promise<void> {
  if (s.ops.has(kind)) throw new HsmError('OPERATION_ACTIVE');
  s.keyAuth = undefined;
  const caller = ctx.conn.userCaller(s);
  const mech = mechFromWire(m);
  const key = await ctx.conn.key(s, keyHandle);
  try {
    await ctx.hsm.crypto.checkUse(caller, key, use, mech.type, mech.params);
  } catch (err) {
    // A key the caller may see but not use is, for an *Init, no key at all (§5.8: CKR_KEY_HANDLE_INVALID).
    throw err instanceof HsmError && err.code === 'KEY_NOT_FOUND' ? new HsmError('KEY_HANDLE_INVALID') : err;
  }
  s.ops.set(kind, { kind, mech, key, parts: [], partsLength: 0 });
}

export function active(s: Session, kind: OpKind): Operation {
  const op = s.ops.get(kind);
  if (!op) throw new HsmError('OPERATION_NOT_INITIALIZED');
  return op;
}

/** §5.2: an operation is single-part or multi-part from its first call on; C_Digest after C_DigestUpdate,
 *  or C_DigestFinal after a C_Digest size query, is CKR_OPERATION_ACTIVE and, like any failed call
 *  other than a too-small buffer, ends the operation. */
export function enterMode(s: Session, op: Operation, mode: 'single' | 'multi'): void {
  if (op.mode !== undefined && op.mode !== mode) {
    s.ops.delete(op.kind);
    releaseParts(op);
    throw new HsmError('OPERATION_ACTIVE', `a ${op.mode}-part operation is active in this session`);
  }
  op.mode = mode;
}

/**
 * *Update: input is copied (request bodies are zeroed after each call) and gathered up to a cap
 * per operation and a budget over all sessions (CKR_DEVICE_MEMORY); either ends the operation.
 */
export function addPart(s: Session, op: Operation, part: Buffer | null): void {
  enterMode(s, op, 'multi');
  const data = part ?? Buffer.alloc(0);
  try {
    if (op.partsLength + data.length > MAX_MULTIPART) throw new HsmError('DATA_LEN_RANGE', 'multi-part input too large');
    reservePart(s, op, data.length);
  } catch (err) {
    s.ops.delete(op.kind);
    releaseParts(op);
    throw err;
  }
  op.parts.push(Buffer.from(data));
  op.partsLength += data.length;
}

export function takeParts(op: Operation): Buffer {
  const all = Buffer.concat(op.parts, op.partsLength);
  op.parts = [];
  op.partsLength = 0;
  releaseParts(op);
  return all;
}

/**
 * Runs the operation's step that produces output: reuses a held result for the same input,
 * answers a size query or too-small buffer with the length only (§7.1, operation stays active),
 * ends the operation when the bytes go out or anything fails.
 */
export async function produce(s: Session, op: Operation, input: Buffer | 'final', hint: OutputBufferHint,
  compute: (data: Buffer) => Promise<Buffer>): Promise<BytesOutput> {
  enterMode(s, op, input === 'final' ? 'multi' : 'single');
  try {
    const held = op.held;
    const same = held !== undefined && (held.input === 'final' ? input === 'final' : input !== 'final' && held.input.equals(input));
    const output = same ? held!.output : await compute(input === 'final' ? takeParts(op) : input);
    // An empty result fits any buffer: answering "length 0" would keep the operation alive forever (§7.1).
    const out = output.length === 0 ? output : fitBytes(hint, output);
    if (isLengthOnly(out)) op.held = { input: input === 'final' ? 'final' : Buffer.from(input), output };
    else { s.ops.delete(op.kind); releaseParts(op); }
    return out;
  } catch (err) {
    s.ops.delete(op.kind);
    releaseParts(op);
    throw err;
  }
}

/**
 * *Update of a mechanism whose blocks stand alone (ECB, `MechanismDef.blockwise`): the whole blocks
 * gathered so far are processed now and returned, the rest waits for the next part (§5.8: output
 * as it becomes available). Each processed run is one core operation, checked and recorded like any.
 * A result too big for the buffer is held for the same part, as single-part results are.
 */
export async function produceBlocks(s: Session, op: Operation, part: Buffer, block: number, hint: OutputBufferHint,
  compute: (data: Buffer) => Promise<Buffer>): Promise<BytesOutput> {
  enterMode(s, op, 'multi');
  const held = op.held;
  if (held && held.input !== 'final' && held.input.equals(part)) return deliver(s, op, part, held.output, hint);
  addPart(s, op, part);
  const ready = op.partsLength - (op.partsLength % block);
  if (ready === 0) return Buffer.alloc(0);
  const all = takeParts(op);
  let output: Buffer;
  try {
    const rest = all.subarray(ready);
    if (rest.length) addPart(s, op, rest);
    output = await compute(all.subarray(0, ready));
  } catch (err) {
    s.ops.delete(op.kind);
    releaseParts(op);
    throw err;
  } finally { all.fill(0); }
  return deliver(s, op, part, output, hint);
}

function deliver(s: Session, op: Operation, part: Buffer, output: Buffer, hint: OutputBufferHint): BytesOutput {
  const out = output.length === 0 ? output : fitBytes(hint, output);
  op.held = isLengthOnly(out) ? { input: Buffer.from(part), output } : undefined;
  return out;
}
