// Development TLS (`npm start`): the Key Vault face's token authority must be https (MSAL refuses
// anything else) and XKS is https by specification, while the dev admin listener is plain HTTP.
// So on first start a throw-away CA and a server certificate for localhost / 127.0.0.1 / ::1 are
// made (node-forge builds and signs the X.509; node:crypto, through src/crypto, makes the RSA keys)
// and kept in <data>/dev-tls/ (0600 files in a 0700 directory). Clients trust the CA file
// (NODE_EXTRA_CA_CERTS=<caFile>). The server certificate is renewed when it nears its end.
import * as fs from 'node:fs';
import * as path from 'node:path';
import forge from 'node-forge';
import { exportPkcs8, generateRsa, randomBytes } from '../crypto/node-crypto';
import { privateDir, writeFileAtomic } from './files';

export const DEV_TLS_DIR = 'dev-tls';
const CA_DAYS = 3650;
const SERVER_DAYS = 397;
const RENEW_BEFORE_MS = 30 * 86_400_000;

export interface DevTls { caFile: string; ca: string; cert: string; key: string }

const pemOf = (der: Buffer) => `-----BEGIN PRIVATE KEY-----\n${der.toString('base64').replace(/(.{64})/g, '$1\n').replace(/\n?$/, '\n')}-----END PRIVATE KEY-----\n`;

async function newKey(): Promise<{ pem: string; forge: forge.pki.rsa.PrivateKey; pub: forge.pki.rsa.PublicKey }> {
  const { privateKey } = await generateRsa(2048, 65537);
  const der = exportPkcs8(privateKey);
  const pem = pemOf(der);
  der.fill(0);
  const priv = forge.pki.privateKeyFromPem(pem) as forge.pki.rsa.PrivateKey;
  return { pem, forge: priv, pub: forge.pki.setRsaPublicKey(priv.n, priv.e) };
}

function certificate(subject: string, pub: forge.pki.PublicKey, days: number, extensions: object[], issuer?: forge.pki.Certificate): forge.pki.Certificate {
  const cert = forge.pki.createCertificate();
  cert.publicKey = pub;
  cert.serialNumber = '01' + randomBytes(15).toString('hex'); // positive, 128 bits of randomness
  cert.validity.notBefore = new Date(Date.now() - 60_000);
  cert.validity.notAfter = new Date(Date.now() + days * 86_400_000);
  cert.setSubject([{ name: 'commonName', value: subject }, { name: 'organizationName', value: 'Inkan development' }]);
  cert.setIssuer(issuer ? issuer.subject.attributes : cert.subject.attributes);
  cert.setExtensions(extensions);
  return cert;
}

async function makeCa(dir: string): Promise<{ cert: forge.pki.Certificate; key: forge.pki.rsa.PrivateKey }> {
  const k = await newKey();
  const cert = certificate('Inkan development CA (this machine only)', k.pub, CA_DAYS, [
    { name: 'basicConstraints', cA: true, critical: true }, { name: 'keyUsage', keyCertSign: true, cRLSign: true, critical: true },
    { name: 'subjectKeyIdentifier' },
  ]);
  cert.sign(k.forge, forge.md.sha256.create());
  writeFileAtomic(path.join(dir, 'ca.key'), k.pem);
  writeFileAtomic(path.join(dir, 'ca.pem'), forge.pki.certificateToPem(cert));
  return { cert, key: k.forge };
}

async function makeServer(dir: string, ca: { cert: forge.pki.Certificate; key: forge.pki.rsa.PrivateKey }): Promise<void> {
  const k = await newKey();
  const cert = certificate('localhost', k.pub, SERVER_DAYS, [
    { name: 'basicConstraints', cA: false, critical: true }, { name: 'keyUsage', digitalSignature: true, keyEncipherment: true, critical: true },
    { name: 'extKeyUsage', serverAuth: true },
    { name: 'subjectAltName', altNames: [{ type: 2, value: 'localhost' }, { type: 7, ip: '127.0.0.1' }, { type: 7, ip: '::1' }] },
  ], ca.cert);
  cert.sign(ca.key, forge.md.sha256.create());
  writeFileAtomic(path.join(dir, 'server.key'), k.pem);
  writeFileAtomic(path.join(dir, 'server.pem'), forge.pki.certificateToPem(cert));
}

/** The dev CA and server certificate, made on first use and renewed when the certificate nears its end. */
export async function devTls(dataDir: string): Promise<DevTls> {
  const dir = path.join(dataDir, DEV_TLS_DIR);
  privateDir(dir);
  const file = (n: string) => path.join(dir, n);
  let ca: { cert: forge.pki.Certificate; key: forge.pki.rsa.PrivateKey } | undefined;
  if (fs.existsSync(file('ca.pem')) && fs.existsSync(file('ca.key'))) {
    ca = { cert: forge.pki.certificateFromPem(fs.readFileSync(file('ca.pem'), 'utf8')), key: forge.pki.privateKeyFromPem(fs.readFileSync(file('ca.key'), 'utf8')) as forge.pki.rsa.PrivateKey };
    if (ca.cert.validity.notAfter.getTime() - Date.now() < RENEW_BEFORE_MS) ca = undefined;
  }
  let renewServer = !ca;
  ca ??= await makeCa(dir);
  if (!renewServer && fs.existsSync(file('server.pem')) && fs.existsSync(file('server.key'))) {
    const cert = forge.pki.certificateFromPem(fs.readFileSync(file('server.pem'), 'utf8'));
    renewServer = cert.validity.notAfter.getTime() - Date.now() < RENEW_BEFORE_MS || !ca.cert.verify(cert);
  } else renewServer = true;
  if (renewServer) await makeServer(dir, ca);
  return { caFile: file('ca.pem'), ca: fs.readFileSync(file('ca.pem'), 'utf8'), cert: fs.readFileSync(file('server.pem'), 'utf8'), key: fs.readFileSync(file('server.key'), 'utf8') };
}
