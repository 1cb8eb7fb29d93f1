// XksBackend: the contract the core implements for the AWS KMS External Key Store proxy face.
// It reuses the shared KeyPort (read a key, AES-GCM encrypt/decrypt with an explicit version)
// and adds the two things XKS needs beyond it: SigV4 credentials per key store and a deep
// health check. Face-neutral: the face owns the XKS JSON, the ciphertext metadata and errors.
import type { CallContext, KeyPort } from '../key-port';

export interface XksBackend<C> extends Pick<KeyPort<C>, 'getKey' | 'encrypt' | 'decrypt'> {
  /**
   * The secret half of a SigV4 access key of the key store served at `storePath` (the URI
   * prefix before /kms/xks/v1), and the caller it authenticates; undefined for an unknown id.
   * The secret is sealed in the module like any other; two may be live at once (rotation, spec
   * "SigV4 credentials rotation").
   */
  lookupCredential(storePath: string, accessKeyId: string): Promise<{ secretAccessKey: string; caller: C } | undefined>;
  /**
   * A deep health check (spec "GetHealthStatus": it SHOULD show the module can do crypto now,
   * e.g. a GCM round trip with a health-check key that is not a customer key). One entry per
   * node of the cluster; a result at most one minute old may be cached.
   */
  health(ctx: CallContext<C>): Promise<{ nodes: { id: string; model: string; status: 'active' | 'degraded' | 'unavailable' }[] }>;
}
