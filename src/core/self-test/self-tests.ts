// Power-up self-tests (FIPS 140-3 style): a known-answer test for every mechanism family,
// run through the same registry code that serves requests. Any failure puts the module in
// the error state. Expected values come from the cited standards or from the openssl CLI.
import * as c from '../../crypto/node-crypto';
import { CKG, CKK, CKM } from '../../pkcs11/constants';
import { mechanism } from '../../mechanisms/registry';
import { describe } from '../../mechanisms/key-types';
import { derToRaw } from '../../crypto/raw-ecdsa';
import type { KeyMaterial } from '../../mechanisms/types';
import * as V from './vectors';

export interface SelfTestResult { name: string; passed: boolean }

const hex = (s: string) => Buffer.from(s.replace(/\s+/g, ''), 'hex');
const b64 = (s: string) => Buffer.from(s, 'base64');
const abc = Buffer.from('abc');
const secret = (keyType: number, value: Buffer): KeyMaterial => ({ keyType, secret: c.secretKey(value), size: value.length });

/** `fault` names a test whose expected answer is flipped: the only way to prove the error state for real. */
function expectEqual(name: string, fault: string | undefined, got: Buffer, want: Buffer): boolean {
  const expected = Buffer.from(want);
  if (fault === name) expected[0] ^= 1;
  return got.equals(expected);
}

type Kat = [string, (fault?: string) => Promise<boolean>];

const KATS: Kat[] = [
  // FIPS 180-4 examples
  ['SHA-1', async (f) => expectEqual('SHA-1', f, mechanism(CKM.SHA_1).digest!(abc), hex('a9993e364706816aba3e25717850c26c9cd0d89d'))],
  ['SHA-256', async (f) => expectEqual('SHA-256', f, mechanism(CKM.SHA256).digest!(abc), hex('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad'))],
  ['SHA-512', async (f) => expectEqual('SHA-512', f, mechanism(CKM.SHA512).digest!(abc),
    hex('ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f'))],
  // RFC 4231 test case 2
  ['HMAC-SHA256', async (f) => expectEqual('HMAC-SHA256', f,
    await mechanism(CKM.SHA256_HMAC).sign!(secret(CKK.GENERIC_SECRET, Buffer.from('Jefe')), Buffer.from('what do ya want for nothing?'), {}),
    hex('5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843'))],
  // FIPS 197 appendix C.3
  ['AES-256-ECB', async (f) => expectEqual('AES-256-ECB', f,
    await mechanism(CKM.AES_ECB).encrypt!(secret(CKK.AES, hex('000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f')), hex('00112233445566778899aabbccddeeff'), {}),
    hex('8ea2b7ca516745bfeafc49904b496089'))],
  // McGrew & Viega GCM test case 3
  ['AES-GCM', async (f) => expectEqual('AES-GCM', f,
    await mechanism(CKM.AES_GCM).encrypt!(secret(CKK.AES, hex('feffe9928665731c6d6a8f9467308308')),
      hex('d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a721c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b391aafd255'),
      { iv: hex('cafebabefacedbaddecaf888'), tagBits: 128 }),
    hex(`42831ec2217774244b7221b784d0d49ce3aa212f2c02a4e035c17e2329aca12e21d514b25466931c7d8f6a5aac84aa051ba30b396a0aac973d58e091473f5985
      4d5c2af327cd64a62cf35abd2ba6fab4`))],
  // RFC 3394 §4.1
  ['AES-KW', async (f) => expectEqual('AES-KW', f,
    await mechanism(CKM.AES_KEY_WRAP).wrap!(secret(CKK.AES, hex('000102030405060708090a0b0c0d0e0f')), hex('00112233445566778899aabbccddeeff'), {}),
    hex('1fa68b0a8112b447aef34bd8fb5a7b829d3e862371d2cfe5'))],
  // RFC 5869 test case 1
  ['HKDF-SHA256', async (f) => expectEqual('HKDF-SHA256', f,
    await mechanism(CKM.HKDF_DERIVE).derive!(secret(CKK.GENERIC_SECRET, Buffer.alloc(22, 0x0b)),
      { hashAlg: CKM.SHA256, salt: hex('000102030405060708090a0b0c'), info: hex('f0f1f2f3f4f5f6f7f8f9') }, 42),
    hex('3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf34007208d5b887185865'))],
  // RFC 8032 §7.1 test 1
  ['Ed25519', async (f) => expectEqual('Ed25519', f,
    await mechanism(CKM.EDDSA).sign!(describe(CKK.EC_EDWARDS, c.ed25519PrivateFromSeed(hex('9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60'))), Buffer.alloc(0), {}),
    hex('e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b'))],
  // RSA: deterministic PKCS#1 v1.5 signature and an OAEP decryption, answers from openssl
  ['RSA-PKCS1-SHA256', async (f) => expectEqual('RSA-PKCS1-SHA256', f,
    await mechanism(CKM.SHA256_RSA_PKCS).sign!(rsaKey(), abc, {}), b64(V.RSA_SHA256_SIG_B64))],
  ['RSA-OAEP', async (f) => expectEqual('RSA-OAEP', f,
    await mechanism(CKM.RSA_PKCS_OAEP).decrypt!(rsaKey(), b64(V.RSA_OAEP_SHA256_CT_B64), { hashAlg: CKM.SHA256 }), abc)],
  // RSA-PSS over a caller's digest (CKM_RSA_PKCS_PSS) is randomised: verify openssl's signature, then sign and verify
  ['RSA-PSS-DIGEST', async (f) => {
    const pss = mechanism(CKM.RSA_PKCS_PSS);
    const params = { hashAlg: CKM.SHA256, mgf: CKG.MGF1_SHA256, saltLength: 32 };
    const digest = mechanism(CKM.SHA256).digest!(abc);
    const known = b64(V.RSA_PSS_SHA256_SIG_B64);
    if (f === 'RSA-PSS-DIGEST') known[0] ^= 1;
    const mine = await pss.sign!(rsaKey(), digest, params);
    return await pss.verify!(rsaKey(), digest, known, params) && await pss.verify!(rsaKey(), digest, mine, params);
  }],
  // ECDSA is randomised: verify openssl's signature, then a pairwise sign/verify (raw and hashed)
  ['ECDSA-P256', async (f) => {
    const key = describe(CKK.EC, c.privateKeyFromDer(b64(V.EC_P256_PKCS8_B64)));
    const known = derToRaw('prime256v1', b64(V.EC_P256_SHA256_DER_SIG_B64));
    if (f === 'ECDSA-P256') known[0] ^= 1;
    const digest = mechanism(CKM.SHA256).digest!(abc);
    const mine = await mechanism(CKM.ECDSA).sign!(key, digest, {});
    // Each raw-digest result is checked by the other implementation: OpenSSL's hashed verify
    // (node:crypto) checks CKM_ECDSA's signature, CKM_ECDSA's verify checks openssl's.
    return await mechanism(CKM.ECDSA_SHA256).verify!(key, abc, known, {})
      && await mechanism(CKM.ECDSA).verify!(key, digest, known, {})
      && await mechanism(CKM.ECDSA_SHA256).verify!(key, abc, mine, {});
  }],
  ['ECDH-P256', async (f) => {
    const a = describe(CKK.EC, c.privateKeyFromDer(b64(V.EC_P256_PKCS8_B64)));
    const b = describe(CKK.EC, (await c.generateEc('prime256v1')).privateKey);
    const pointOf = (m: KeyMaterial) => c.ecPublicPoint('prime256v1', Buffer.from(c.exportJwk(m.privateKey!).d!, 'base64url'));
    const ab = await mechanism(CKM.ECDH1_DERIVE).derive!(a, { publicData: pointOf(b) }, 32);
    const ba = await mechanism(CKM.ECDH1_DERIVE).derive!(b, { publicData: pointOf(a) }, 32);
    return expectEqual('ECDH-P256', f, ab, ba);
  }],
  // SP 800-90B style health check of the DRBG output: two draws differ and are not constant
  ['DRBG', async (f) => {
    const a = await c.randomBytesAsync(32);
    const b = f === 'DRBG' ? Buffer.from(a) : await c.randomBytesAsync(32);
    return !a.equals(b) && a.some((x) => x !== a[0]);
  }],
];

let rsaCache: KeyMaterial | undefined;
function rsaKey(): KeyMaterial {
  rsaCache ??= describe(CKK.RSA, c.privateKeyFromDer(b64(V.RSA_PKCS8_B64)));
  return rsaCache;
}

export async function runSelfTests(fault?: string): Promise<SelfTestResult[]> {
  const results: SelfTestResult[] = [];
  for (const [name, run] of KATS) {
    let passed = false;
    try { passed = await run(fault); } catch { passed = false; }
    results.push({ name, passed });
  }
  return results;
}
