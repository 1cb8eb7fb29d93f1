// Worker thread for the private-key operations node:crypto offers only synchronously (raw RSA,
// OAEP decryption, PSS over a digest, ECDSA over a digest), so they never block the event loop.
// Receives { id, op, key, args }; answers { id, result } or { id, error } (node's message only).
import { parentPort } from 'node:worker_threads';
import * as nc from 'node:crypto';
import { signDigest } from './raw-ecdsa';
import { pssSignDigest } from './emsa-pss';
import type { PrivateOp } from './off-loop';

function run(msg: PrivateOp): Buffer {
  switch (msg.op) {
    case 'rsa-private-encrypt': return nc.privateEncrypt({ key: msg.key, padding: msg.padding }, msg.data);
    case 'rsa-private-decrypt': return nc.privateDecrypt({ key: msg.key, padding: msg.padding, oaepHash: msg.oaepHash, oaepLabel: msg.oaepLabel }, msg.data);
    case 'ecdsa-sign-digest': return signDigest(msg.curve, msg.key, msg.data);
    case 'pss-sign-digest': return pssSignDigest(msg.key, msg.hash, msg.mgfHash, msg.saltLength, msg.data);
  }
}

const asBuffer = (u: Uint8Array): Buffer => Buffer.from(u.buffer, u.byteOffset, u.byteLength);

parentPort!.on('message', (msg: PrivateOp & { id: number }) => {
  try {
    // Buffers arrive as plain Uint8Arrays after the structured clone; the encoders want Buffers.
    msg.data = asBuffer(msg.data);
    if (msg.op === 'rsa-private-decrypt' && msg.oaepLabel) msg.oaepLabel = asBuffer(msg.oaepLabel);
    parentPort!.postMessage({ id: msg.id, result: run(msg) });
  } catch (err) {
    parentPort!.postMessage({ id: msg.id, error: (err as Error).message });
  }
});
