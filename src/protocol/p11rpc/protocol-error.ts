// ProtocolError: the one error this codec throws. Anything a client sends that does not follow
// docs/p11kit-rpc.md becomes a ProtocolError, never a RangeError or a huge allocation.
//
// How the server should answer each kind (docs/p11kit-rpc.md §11):
//   'frame'              framing broken or over the size cap: drop the connection (§4, §11.2)
//   'unknown-call'       ERROR(CKR_FUNCTION_NOT_SUPPORTED), keep the connection (§5.1, §13)
//   everything else      ERROR(CKR_DEVICE_ERROR), keep the connection: the body was
//                        length-delimited by its frame, so the stream stays in sync (§5.5)
//   'encode'             raised while *encoding* a response: a server bug, not the client's

export type ProtocolErrorKind =
  | 'frame'               // frame header/handshake problem, frame too large, EOF inside a frame
  | 'truncated'           // a field runs past the end of the body
  | 'limit'               // a length or count exceeds a configured cap
  | 'malformed'           // a value that the encoding rules forbid
  | 'unknown-call'        // call id 0 or not in the table
  | 'signature-mismatch'  // the body's signature differs from the call table
  | 'trailing-bytes'      // bytes left after the last argument
  | 'encode';             // the server asked to encode something the wire cannot carry

export class ProtocolError extends Error {
  readonly kind: ProtocolErrorKind;
  /** Short, client-caused description; never contains key material or PINs. */
  readonly reason: string;

  constructor(kind: ProtocolErrorKind, reason: string) {
    super(`p11-kit RPC ${kind}: ${reason}`);
    this.name = 'ProtocolError';
    this.kind = kind;
    this.reason = reason;
  }
}
