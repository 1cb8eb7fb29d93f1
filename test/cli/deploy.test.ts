// deploy/: the systemd unit passes `systemd-analyze verify` with no warning (skipped where systemd
// is absent); the Dockerfile parses (dockerfile-ast), copies only what exists, runs as a non-root
// user, and its ENTRYPOINT/CMD and the sample configuration use only options `inkan serve` has;
// the sample configuration starts a real server; the image's health check reaches /healthz.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vm from 'node:vm';
import { DockerfileParser } from 'dockerfile-ast';
import { REPO_ROOT, tempDir } from '../helpers/harness';
import { inkan, serve } from './cli-helpers';

const DEPLOY = path.join(REPO_ROOT, 'deploy');
const HAVE_SYSTEMD = spawnSync('systemd-analyze', ['--version']).status === 0;

async function serveOptions(): Promise<Set<string>> {
  const help = (await inkan(['serve', '--help'], {})).out;
  return new Set([...help.matchAll(/^ {2}(?:-\w, )?(--[a-z0-9-]+)/gm)].map((m) => m[1]));
}

/** key=value lines of the sample environment file (comments skipped). */
function envFile(): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of fs.readFileSync(path.join(DEPLOY, 'inkan.env'), 'utf8').split('\n')) {
    const m = /^([A-Z_][A-Z0-9_]*)=(.*)$/.exec(line);
    if (m) out[m[1]] = m[2];
  }
  return out;
}

test('the systemd unit passes systemd-analyze verify without a warning', { skip: !HAVE_SYSTEMD && 'systemd-analyze is not installed' }, () => {
  const dir = tempDir('inkan-unit-');
  try {
    const unit = fs.readFileSync(path.join(DEPLOY, 'inkan.service'), 'utf8');
    assert.match(unit, /^ExecStart=\/usr\/local\/bin\/inkan serve /m);
    // verify checks that ExecStart's program exists: point it at this node.
    fs.writeFileSync(path.join(dir, 'inkan.service'), unit.replaceAll('/usr/local/bin/inkan', process.execPath));
    const r = spawnSync('systemd-analyze', ['verify', path.join(dir, 'inkan.service')], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stderr.trim(), '', 'no warning (unknown keys, bad values)');
    // And the check can fail: a misspelt key is reported.
    fs.writeFileSync(path.join(dir, 'inkan.service'), unit.replaceAll('/usr/local/bin/inkan', process.execPath).replace('ProtectSystem=', 'ProtectSytem='));
    assert.match(spawnSync('systemd-analyze', ['verify', path.join(dir, 'inkan.service')], { encoding: 'utf8' }).stderr, /Unknown key 'ProtectSytem'/);
  } finally { fs.rmSync(dir, { recursive: true, force: true }); }
});

test('the unit and the sample configuration name only variables and options that exist', async () => {
  const unit = fs.readFileSync(path.join(DEPLOY, 'inkan.service'), 'utf8');
  const env = envFile();
  for (const m of unit.matchAll(/\$\{?([A-Z_]+)\}?/g)) assert.ok(env[m[1]] !== undefined, `inkan.env defines ${m[1]}`);
  const opts = await serveOptions();
  for (const flag of env.INKAN_SERVE_ARGS.split(/\s+/).filter((a) => a.startsWith('--'))) assert.ok(opts.has(flag), `inkan serve has ${flag}`);
});

test('the sample configuration starts a real server (its paths moved to a temp dir)', async () => {
  const dir = tempDir('inkan-sample-');
  const env = envFile();
  const moved = (s: string) => s.replace(/\/var\/lib\/inkan-anchor/g, path.join(dir, 'anchor')).replace(/\/var\/lib\/inkan/g, path.join(dir, 'data')).replace(/\/run\/inkan/g, path.join(dir, 'run'));
  fs.mkdirSync(path.join(dir, 'run'));
  fs.mkdirSync(path.join(dir, 'anchor'));
  const srv = await serve(['--data', moved(env.INKAN_HOME), '--http', '127.0.0.1:0', ...moved(env.INKAN_SERVE_ARGS).split(/\s+/)]);
  try {
    assert.match(srv.stdout(), /Inkan uninitialized/);
    assert.match(srv.stdout(), /next: `INKAN_SERVER=http:\/\/127\.0\.0\.1:\d+ inkan init /);
    assert.ok(fs.existsSync(path.join(dir, 'run', 'p11.sock')));
    assert.equal(fs.statSync(path.join(dir, 'run', 'p11.sock')).mode & 0o777, 0o660);
    // The image's health check, run as written against this server.
    const df = DockerfileParser.parse(fs.readFileSync(path.join(DEPLOY, 'Dockerfile'), 'utf8'));
    const hc = df.getInstructions().find((i) => i.getKeyword() === 'HEALTHCHECK')!;
    const argv = JSON.parse(/CMD\s+(\[.*\])\s*$/s.exec(hc.getArgumentsContent()!)![1]) as string[];
    assert.deepEqual(argv.slice(0, 2), ['node', '-e']);
    const ok = spawnSync(process.execPath, ['-e', argv[2]], { env: { ...process.env, INKAN_HEALTH_URL: `${srv.url}/healthz` } });
    assert.equal(ok.status, 0, String(ok.stderr));
    const down = spawnSync(process.execPath, ['-e', argv[2]], { env: { ...process.env, INKAN_HEALTH_URL: 'http://127.0.0.1:9/healthz' } });
    assert.equal(down.status, 1);
  } finally {
    await srv.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('the Dockerfile parses, copies what exists, runs unprivileged, and starts inkan serve with real options', async () => {
  const text = fs.readFileSync(path.join(DEPLOY, 'Dockerfile'), 'utf8');
  const df = DockerfileParser.parse(text);
  const ins = df.getInstructions();
  const KNOWN = new Set(['FROM', 'RUN', 'CMD', 'LABEL', 'EXPOSE', 'ENV', 'ADD', 'COPY', 'ENTRYPOINT', 'VOLUME', 'USER', 'WORKDIR', 'ARG', 'ONBUILD', 'STOPSIGNAL', 'HEALTHCHECK', 'SHELL']);
  for (const i of ins) assert.ok(KNOWN.has(i.getKeyword()), `known instruction ${i.getKeyword()}`);
  assert.equal(ins[0].getKeyword(), 'FROM');
  assert.equal(df.getFROMs().length, 2, 'a build stage and a runtime stage');
  for (const i of ins.filter((x) => x.getKeyword() === 'COPY')) {
    const args = i.getArguments().map((a) => a.getValue());
    if (/--from=/.test(text.split('\n')[i.getRange().start.line])) continue;
    for (const src of args.slice(0, -1)) assert.ok(fs.existsSync(path.join(REPO_ROOT, src)), `COPY ${src} exists in the repository`);
  }
  const last = ins.slice(ins.lastIndexOf(ins.filter((x) => x.getKeyword() === 'FROM').pop()!));
  const user = last.filter((x) => x.getKeyword() === 'USER').map((x) => x.getArgumentsContent());
  assert.deepEqual(user, ['inkan'], 'the runtime stage runs as user inkan');
  const json = (kw: string) => JSON.parse(last.find((x) => x.getKeyword() === kw)!.getArgumentsContent()!) as string[];
  const argv = [...json('ENTRYPOINT'), ...json('CMD')];
  assert.deepEqual(argv.slice(0, 2), ['inkan', 'serve']);
  const opts = await serveOptions();
  for (const a of argv.filter((x) => x.startsWith('--'))) assert.ok(opts.has(a), `inkan serve has ${a}`);
  // The health check's program is valid JavaScript.
  const hc = last.find((x) => x.getKeyword() === 'HEALTHCHECK')!.getArgumentsContent()!;
  const code = (JSON.parse(/CMD\s+(\[.*\])\s*$/s.exec(hc)![1]) as string[])[2];
  assert.doesNotThrow(() => new vm.Script(code));
});
