// A throw-away PKI made with the openssl CLI for TLS tests: a CA, a server certificate for the
// given DNS names (and 127.0.0.1), client certificates by common name, and optionally a second,
// unrelated CA to show that certificates from elsewhere are refused. Removed by cleanup().
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

export interface Issued { cert: string; key: string; certFile: string; keyFile: string }
export interface TestPki {
  dir: string;
  ca: string;
  caFile: string;
  server: Issued;
  client(commonName: string, opts?: { foreign?: boolean }): Issued;
  cleanup(): void;
}

const openssl = (args: string[], cwd: string): void => { execFileSync('openssl', args, { cwd, stdio: ['ignore', 'ignore', 'pipe'] }); };

function newKey(dir: string, name: string): string {
  openssl(['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', `${name}.key`], dir);
  return path.join(dir, `${name}.key`);
}

function selfSignedCa(dir: string, name: string, cn: string): void {
  newKey(dir, name);
  openssl(['req', '-x509', '-new', '-key', `${name}.key`, '-sha256', '-days', '2', '-subj', `/CN=${cn}`,
    '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign', '-out', `${name}.pem`], dir);
}

function issue(dir: string, ca: string, name: string, cn: string, ext: string): Issued {
  const keyFile = newKey(dir, name);
  fs.writeFileSync(path.join(dir, `${name}.ext`), ext);
  openssl(['req', '-new', '-key', `${name}.key`, '-subj', `/CN=${cn}`, '-out', `${name}.csr`], dir);
  const args = ['x509', '-req', '-in', `${name}.csr`, '-CA', `${ca}.pem`, '-CAkey', `${ca}.key`, '-CAcreateserial',
    '-sha256', '-extfile', `${name}.ext`, '-out', `${name}.pem`];
  openssl([...args, '-days', '2'], dir);
  const certFile = path.join(dir, `${name}.pem`);
  return { cert: fs.readFileSync(certFile, 'utf8'), key: fs.readFileSync(keyFile, 'utf8'), certFile, keyFile };
}

export function makeTestPki(dnsNames: readonly string[]): TestPki {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'inkan-pki-'));
  selfSignedCa(dir, 'ca', 'Inkan test CA');
  selfSignedCa(dir, 'foreign-ca', 'Some other CA');
  const san = [...dnsNames.map((n) => `DNS:${n}`), 'IP:127.0.0.1'].join(',');
  const server = issue(dir, 'ca', 'server', dnsNames[0] ?? 'localhost',
    `subjectAltName=${san}\nextendedKeyUsage=serverAuth\nkeyUsage=critical,digitalSignature\n`);
  let n = 0;
  return {
    dir, ca: fs.readFileSync(path.join(dir, 'ca.pem'), 'utf8'), caFile: path.join(dir, 'ca.pem'), server,
    client(commonName, opts = {}) {
      n += 1;
      return issue(dir, opts.foreign ? 'foreign-ca' : 'ca', `client${n}`, commonName,
        'extendedKeyUsage=clientAuth\nkeyUsage=critical,digitalSignature\n');
    },
    cleanup: () => fs.rmSync(dir, { recursive: true, force: true }),
  };
}
