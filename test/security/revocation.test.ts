// Revocation that revokes (issue #8, items 7 and 10), attacked through the real clients: a user
// holds an admin token, a PKCS#11 login (pkcs11js through p11-kit-client.so) and a KMS access key
// (@aws-sdk/client-kms) when an officer deletes it, locks it or resets its password; every face
// must refuse its next request at once, and a user re-created under the same name must not
// inherit the old sessions. A user a key is shared with may use it but never read its value,
// on PKCS#11 as on the admin API. The server runs in a child process (pkcs11js blocks its thread).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as nc from 'node:crypto';
import * as pkcs11js from 'pkcs11js';
import { GenerateRandomCommand, KMSClient, ListKeysCommand } from '@aws-sdk/client-kms';
import { childServer, ChildServer, P11_KIT_CLIENT } from '../interop/p11-helpers';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

const RW = pkcs11js.CKF_SERIAL_SESSION | pkcs11js.CKF_RW_SESSION;
const PASSWORD = 'victim-password-1';

function ckr(fn: () => unknown): string {
  try { fn(); } catch (err) { return /CKR_\w+/.exec((err as Error).message)?.[0] ?? (err as Error).message; }
  return 'CKR_OK';
}

describe('revocation on every face', { timeout: 180_000 }, () => {
  let srv: ChildServer;
  let officer: string;
  const instances: pkcs11js.PKCS11[] = [];
  const clients: KMSClient[] = [];

  async function login(username: string, password: string): Promise<string> {
    const res = await fetch(`${srv.url}/v1/login`, { method: 'POST', body: JSON.stringify({ username, password }) });
    assert.equal(res.status, 200, `${username} logs in`);
    return ((await res.json()) as { token: string }).token;
  }
  async function call(token: string, method: string, p: string, body?: unknown): Promise<{ status: number; body: any }> {
    const res = await fetch(`${srv.url}${p}`, { method, headers: { authorization: `Bearer ${token}` }, body: body === undefined ? undefined : JSON.stringify(body) });
    return { status: res.status, body: await res.json().catch(() => undefined) };
  }

  /** A user with a live session on each face. */
  async function victim(name: string) {
    assert.equal((await call(officer, 'POST', '/v1/users', { username: name, role: 'user', password: PASSWORD })).status, 201);
    const token = await login(name, PASSWORD);
    const key = (await call(token, 'POST', '/v1/access-keys', {})).body;
    const kms = new KMSClient({
      endpoint: srv.credentials.kms.endpoint, region: srv.credentials.kms.region, maxAttempts: 1,
      credentials: { accessKeyId: key.accessKeyId, secretAccessKey: key.secretAccessKey },
    });
    clients.push(kms);
    process.env.P11_KIT_SERVER_ADDRESS = srv.p11Address;
    const p = new pkcs11js.PKCS11();
    p.load(P11_KIT_CLIENT);
    p.C_Initialize({ flags: pkcs11js.CKF_OS_LOCKING_OK });
    instances.push(p);
    const session = p.C_OpenSession(p.C_GetSlotList(true)[0], RW);
    p.C_Login(session, pkcs11js.CKU_USER, `${name}:${PASSWORD}`);
    const tokenKey = (label: string) => () => p.C_GenerateKey(session, { mechanism: pkcs11js.CKM_AES_KEY_GEN }, [
      { type: pkcs11js.CKA_VALUE_LEN, value: 32 }, { type: pkcs11js.CKA_TOKEN, value: true }, { type: pkcs11js.CKA_LABEL, value: label },
    ]);
    // Every face works before the officer acts.
    assert.equal((await call(token, 'GET', '/v1/keys')).status, 200);
    assert.equal(ckr(tokenKey(`${name}-before`)), 'CKR_OK');
    assert.equal((await kms.send(new GenerateRandomCommand({ NumberOfBytes: 16 }))).Plaintext?.length, 16);
    return { name, token, kms, p, session, tokenKey };
  }

  /** The labels of the keys a user sees, in a fresh admin session of its own. */
  async function labelsOf(username: string, password = PASSWORD): Promise<string[]> {
    const keys = (await call(await login(username, password), 'GET', '/v1/keys')).body.keys as { label: string }[];
    return keys.map((k) => k.label).sort();
  }
  const kmsRefusal = (kms: KMSClient) => kms.send(new ListKeysCommand({})).then(() => 'accepted', (e: Error) => e.name);

  before(async () => {
    srv = await childServer();
    officer = await login(srv.accounts.officer.username, srv.accounts.officer.password);
  });
  after(async () => {
    for (const p of instances) { try { p.C_Finalize(); } catch { /* already */ } }
    for (const c of clients) c.destroy();
    await srv.close();
  });

  test('a deleted user: its admin token, PKCS#11 login and access key all stop, and a namesake inherits nothing', async () => {
    const v = await victim('gone');
    assert.equal((await call(officer, 'DELETE', '/v1/users/gone')).status, 200);
    assert.equal((await call(v.token, 'GET', '/v1/keys')).status, 401);
    assert.equal(ckr(v.tokenKey('gone-after')), 'CKR_USER_NOT_LOGGED_IN', 'the open PKCS#11 login creates no token key');
    assert.match(await kmsRefusal(v.kms), /UnrecognizedClient|AccessDenied/);
    // The same name and password again: a new user, and the old sessions stay dead.
    assert.equal((await call(officer, 'POST', '/v1/users', { username: 'gone', role: 'user', password: PASSWORD })).status, 201);
    assert.equal((await call(v.token, 'GET', '/v1/keys')).status, 401);
    assert.equal(ckr(v.tokenKey('gone-namesake')), 'CKR_USER_NOT_LOGGED_IN');
    assert.match(await kmsRefusal(v.kms), /UnrecognizedClient|AccessDenied/);
    assert.deepEqual(await labelsOf('gone'), [], 'the namesake sees none of the old user\'s keys, and nothing was made in its name');
  });

  test('a locked user: every face refuses at once; unlocking does not bring the old sessions back', async () => {
    const v = await victim('locked');
    assert.equal((await call(officer, 'POST', '/v1/users/locked/lock')).status, 200);
    assert.equal((await call(v.token, 'GET', '/v1/keys')).status, 401);
    assert.equal(ckr(v.tokenKey('locked-after')), 'CKR_USER_NOT_LOGGED_IN');
    assert.match(await kmsRefusal(v.kms), /UnrecognizedClient|AccessDenied/);
    assert.equal(ckr(() => v.p.C_Login(v.session, pkcs11js.CKU_USER, `locked:${PASSWORD}`)), 'CKR_PIN_LOCKED');
    assert.equal((await call(officer, 'POST', '/v1/users/locked/unlock')).status, 200);
    assert.equal((await call(v.token, 'GET', '/v1/keys')).status, 401, 'the old token ended; it was not suspended');
    assert.equal(ckr(v.tokenKey('locked-unlocked')), 'CKR_USER_NOT_LOGGED_IN');
    // A fresh login works again, on both session faces (nothing was made while locked); the
    // access key (a credential, not a session) too.
    assert.deepEqual(await labelsOf('locked'), ['locked-before']);
    assert.equal(ckr(() => v.p.C_Login(v.session, pkcs11js.CKU_USER, `locked:${PASSWORD}`)), 'CKR_OK');
    assert.equal(ckr(v.tokenKey('locked-again')), 'CKR_OK');
    assert.equal(await kmsRefusal(v.kms), 'accepted');
  });

  test('a password reset by the officer ends the sessions on every face; the old password is dead', async () => {
    const v = await victim('reset');
    assert.equal((await call(officer, 'POST', '/v1/users/reset/password', { password: 'fresh-password-2' })).status, 200);
    assert.equal((await call(v.token, 'GET', '/v1/keys')).status, 401);
    assert.equal(ckr(v.tokenKey('reset-after')), 'CKR_USER_NOT_LOGGED_IN');
    const old = await fetch(`${srv.url}/v1/login`, { method: 'POST', body: JSON.stringify({ username: 'reset', password: PASSWORD }) });
    assert.equal(old.status, 401);
    assert.equal(ckr(() => v.p.C_Login(v.session, pkcs11js.CKU_USER, `reset:${PASSWORD}`)), 'CKR_PIN_INCORRECT');
    assert.equal(ckr(() => v.p.C_Login(v.session, pkcs11js.CKU_USER, 'reset:fresh-password-2')), 'CKR_OK');
    assert.equal(ckr(v.tokenKey('reset-new')), 'CKR_OK');
    assert.deepEqual(await labelsOf('reset', 'fresh-password-2'), ['reset-before', 'reset-new']);
    // Access keys are credentials of their own (as in AWS IAM): a password change does not
    // touch them; deleting them (or the user) does.
    assert.equal(await kmsRefusal(v.kms), 'accepted');
  });

  test('a user changing its own password ends its other sessions (PKCS#11 included) and keeps working with the new one', async () => {
    const v = await victim('self');
    assert.equal((await call(v.token, 'POST', '/v1/users/self/password', { password: 'own-new-password-3', oldPassword: PASSWORD })).status, 200);
    assert.equal(ckr(v.tokenKey('self-after')), 'CKR_USER_NOT_LOGGED_IN');
    assert.equal((await call(v.token, 'GET', '/v1/keys')).status, 401, 'the token that changed the password ended too: log in again');
    assert.deepEqual(await labelsOf('self', 'own-new-password-3'), ['self-before']);
    assert.equal(ckr(() => v.p.C_Login(v.session, pkcs11js.CKU_USER, 'self:own-new-password-3')), 'CKR_OK');
  });

  test("a key shared with another user: the sharee uses it but reads no CKA_VALUE, on PKCS#11 as on the admin API", async () => {
    const owner = await victim('owner');
    const sharee = await victim('sharee');
    const key = owner.p.C_GenerateKey(owner.session, { mechanism: pkcs11js.CKM_AES_KEY_GEN }, [
      { type: pkcs11js.CKA_VALUE_LEN, value: 32 }, { type: pkcs11js.CKA_TOKEN, value: true }, { type: pkcs11js.CKA_LABEL, value: 'open-aes' },
      { type: pkcs11js.CKA_SENSITIVE, value: false }, { type: pkcs11js.CKA_EXTRACTABLE, value: true },
      { type: pkcs11js.CKA_ENCRYPT, value: true }, { type: pkcs11js.CKA_DECRYPT, value: true },
    ]);
    const [ownerValue] = owner.p.C_GetAttributeValue(owner.session, key, [{ type: pkcs11js.CKA_VALUE }]);
    assert.equal((ownerValue.value as Buffer).length, 32, 'the owner reads its own non-sensitive key');
    assert.equal((await call(owner.token, 'POST', '/v1/keys/open-aes/share', { user: 'sharee' })).status, 200);

    const p = sharee.p;
    p.C_FindObjectsInit(sharee.session, [{ type: pkcs11js.CKA_LABEL, value: 'open-aes' }]);
    const [shared] = p.C_FindObjects(sharee.session, 2);
    p.C_FindObjectsFinal(sharee.session);
    assert.ok(shared, 'the sharee sees the key');
    assert.equal(ckr(() => p.C_GetAttributeValue(sharee.session, shared, [{ type: pkcs11js.CKA_VALUE }])), 'CKR_ATTRIBUTE_SENSITIVE');
    // What the sharee is told about the key agrees: it is sensitive to it.
    const [label, sensitive] = p.C_GetAttributeValue(sharee.session, shared, [{ type: pkcs11js.CKA_LABEL }, { type: pkcs11js.CKA_SENSITIVE }]);
    assert.equal((label.value as Buffer).toString(), 'open-aes');
    assert.ok(sensitive.value !== undefined);
    // Wrapping it out under a key of one's own: the owner may, the sharee may not (the same
    // rule, not a side door).
    // (RSA-OAEP: the one wrapping mechanism Debian's p11-kit-client passes on.)
    const oaep = { mechanism: pkcs11js.CKM_RSA_PKCS_OAEP, parameter: { type: pkcs11js.CK_PARAMS_RSA_OAEP, hashAlg: pkcs11js.CKM_SHA256, mgf: pkcs11js.CKG_MGF1_SHA256, source: 1 } } as pkcs11js.Mechanism;
    const wrapOut = (u: typeof owner, target: Buffer) => {
      const { publicKey } = u.p.C_GenerateKeyPair(u.session, { mechanism: pkcs11js.CKM_RSA_PKCS_KEY_PAIR_GEN },
        [{ type: pkcs11js.CKA_TOKEN, value: false }, { type: pkcs11js.CKA_MODULUS_BITS, value: 2048 }, { type: pkcs11js.CKA_WRAP, value: true }],
        [{ type: pkcs11js.CKA_TOKEN, value: false }]);
      return ckr(() => u.p.C_WrapKey(u.session, oaep, publicKey, target, Buffer.alloc(512)));
    };
    assert.equal(wrapOut(owner, key), 'CKR_OK');
    assert.equal(wrapOut(sharee, shared), 'CKR_KEY_UNEXTRACTABLE');
    // It may use it: encrypt with the shared key (ECB: Debian's p11-kit-client passes no
    // mechanism parameters but PSS and OAEP); node:crypto decrypts with the value the owner read.
    const block = Buffer.from('for the owner!!!');
    p.C_EncryptInit(sharee.session, { mechanism: pkcs11js.CKM_AES_ECB }, shared);
    const sealed = p.C_Encrypt(sharee.session, block, Buffer.alloc(16));
    assert.notDeepEqual(sealed, block);
    const d = nc.createDecipheriv('aes-256-ecb', ownerValue.value as Buffer, null).setAutoPadding(false);
    assert.deepEqual(Buffer.concat([d.update(sealed), d.final()]), block, 'node:crypto with the value the owner read agrees');
    // The admin API says the same: export is the owner's alone.
    assert.equal((await call(sharee.token, 'POST', '/v1/keys/open-aes/export')).status, 403);
    assert.equal((await call(owner.token, 'POST', '/v1/keys/open-aes/export')).status, 200);
  });
});
