// The XKS port (backend.ts) over the core. A key store is a URI prefix whose SigV4 credentials
// (the core's 'sigv4-xks' credentials) belong to one crypto user of a partition; its external key
// ids are that user's key names (names kind 'akv-key', shared with the Key Vault face), so one
// key serves every face under one policy. The caller is minted only when first used — after the
// transport verified the signature — and every call carries the request's metadata into the
// audit record (kmsOperation, kmsRequestId, awsPrincipalArn, kmsKeyArn, kmsViaService).
import type { Hsm } from '../../core/hsm';
import type { Caller } from '../../core/principal';
import type { CallContext, CipherAlgorithm, DecryptInput, DecryptOutput, EncryptInput, EncryptOutput, KeyRef, KeyVersion } from '../key-port';
import { CoreKeyPort, guarded, type CorePortOptions } from '../core-key-port';
import type { XksBackend } from './backend';

/** A verified request's caller, minted on first use (the port hands it out before verification). */
export class XksCaller {
  #caller?: Caller;
  constructor(private readonly mint: () => Caller) {}
  get(): Caller { return (this.#caller ??= this.mint()); }
}

export class XksCoreBackend implements XksBackend<XksCaller> {
  private readonly keys: CoreKeyPort;

  constructor(private readonly hsm: Hsm, opts: CorePortOptions) { this.keys = new CoreKeyPort(hsm, opts); }

  private core(ctx: CallContext<XksCaller>): CallContext<Caller> { return { ...ctx, caller: ctx.caller.get() }; }

  lookupCredential(storePath: string, accessKeyId: string): Promise<{ secretAccessKey: string; caller: XksCaller } | undefined> {
    return guarded(async () => {
      this.hsm.requireUnsealed();
      const found = await this.hsm.credentials.clients.lookupXks(storePath, accessKeyId);
      return found && { secretAccessKey: found.secret, caller: new XksCaller(() => this.hsm.callerOf(found.principal(), 'xks')) };
    });
  }

  /** Whether a URI prefix is a key store of this module (the transport answers InvalidUriPath otherwise). */
  storeExists(storePath: string): Promise<boolean> {
    return guarded(async () => { this.hsm.requireUnsealed(); return this.hsm.credentials.clients.xksStoreExists(storePath); });
  }

  getKey(ctx: CallContext<XksCaller>, ref: KeyRef): Promise<KeyVersion> { return this.keys.getKey(this.core(ctx), ref); }

  encrypt(ctx: CallContext<XksCaller>, ref: KeyRef, purpose: 'encrypt' | 'wrap', alg: CipherAlgorithm, input: EncryptInput): Promise<EncryptOutput> {
    return this.keys.encrypt(this.core(ctx), ref, purpose, alg, input);
  }

  decrypt(ctx: CallContext<XksCaller>, ref: KeyRef, purpose: 'decrypt' | 'unwrap', alg: CipherAlgorithm, input: DecryptInput): Promise<DecryptOutput> {
    return this.keys.decrypt(this.core(ctx), ref, purpose, alg, input);
  }

  /** The module's own round trip (no customer key); one entry for this node. */
  health(ctx: CallContext<XksCaller>): Promise<{ nodes: { id: string; model: string; status: 'active' | 'degraded' | 'unavailable' }[] }> {
    return guarded(async () => {
      let status: 'active' | 'degraded' = 'active';
      try { await this.hsm.crypto.selfCheck(this.core(ctx).caller); } catch { status = 'degraded'; }
      return { nodes: [{ id: this.hsm.node, model: 'Inkan HSM', status }] };
    });
  }
}
