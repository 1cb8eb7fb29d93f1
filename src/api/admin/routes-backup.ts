// Admin routes for backups, restores and zeroisation. A restore onto this module's domain needs an
// HSM officer's login; onto an empty module the backup's custodians first: the header is offered
// (small), their shares given one by one, and only then — with the one-time token the last share
// returned — is the body accepted. Either way the login or token is checked before the body is
// read, and the body is spooled to a private temporary file within MAX_BACKUP, one restore at a time.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { HsmError } from '../../errors/hsm-error';
import { MAX_BACKUP, MAX_BACKUP_HEADER } from '../../core/backup';
import { readRaw, spoolBody, str } from './http-util';
import type { Route, RouteContext } from './router';
import { digest } from '../../crypto/node-crypto';
import { requireQuorum } from './routes-quorum';

export const ZEROIZE_WORD = 'ZEROIZE';
export const RESTORE_TOKEN_HEADER = 'x-inkan-restore-token';
let spooling = false;

/** Reads a restore body into a private temporary file (bounded), then into memory for opening. */
async function spooled<T>(ctx: RouteContext, use: (blob: Buffer) => Promise<T>): Promise<T> {
  if (spooling) throw new HsmError('BUSY', 'another restore is being uploaded');
  spooling = true;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'inkan-restore-'));
  try {
    const file = path.join(dir, 'backup.ikb');
    await spoolBody(ctx.req, file, MAX_BACKUP, { proceed: ctx.reading.proceed });
    return await use(fs.readFileSync(file));
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
    spooling = false;
  }
}

export const BACKUP_ROUTES: Route[] = [
  {
    method: 'GET', path: '/v1/backup', auth: true,
    async handler(ctx) {
      return { body: undefined, binary: await ctx.hsm.backups.backup(ctx.caller()) };
    },
  },
  {
    method: 'POST', path: '/v1/backup/restore', auth: false, raw: true,
    async handler(ctx) {
      if (ctx.principal) {
        return {
          body: await spooled(ctx, async (blob) => {
            await requireQuorum(ctx, 'module.restore', { backup: digest('sha256', blob).toString('hex') });
            return ctx.hsm.backups.restore(ctx.caller(), blob);
          }),
        };
      }
      const token = ctx.req.headers[RESTORE_TOKEN_HEADER];
      if (!ctx.hsm.backups.tokenValid(token)) {
        // Refused unread: the answer closes the connection, nothing of the upload is taken in.
        throw new HsmError('AUTH_REQUIRED', 'log in as an officer, or give the backup\'s unseal shares first (inkan backup restore does both)');
      }
      return { body: await spooled(ctx, (blob) => ctx.hsm.backups.restoreWithToken(String(token), blob)) };
    },
  },
  {
    // An empty module: which custodians does this backup need? The body is the backup's first bytes (its header).
    method: 'POST', path: '/v1/restore/offer', auth: false, raw: true,
    async handler(ctx) {
      const head = await readRaw(ctx.req, MAX_BACKUP_HEADER, ctx.reading);
      return { body: await ctx.hsm.backups.offer(head) };
    },
  },
  {
    method: 'POST', path: '/v1/restore/share', auth: false,
    handler: async (ctx) => ({ body: await ctx.hsm.backups.share(str(ctx.body, 'share')!) }),
  },
  {
    method: 'POST', path: '/v1/zeroize', auth: true,
    async handler(ctx) {
      if (str(ctx.body, 'confirm', false) !== ZEROIZE_WORD || str(ctx.body, 'confirmAgain', false) !== ZEROIZE_WORD) {
        throw new HsmError('CONFIRMATION_REQUIRED', `send confirm and confirmAgain, both "${ZEROIZE_WORD}"`);
      }
      await requireQuorum(ctx, 'module.zeroize', {});
      await ctx.hsm.backups.zeroize(ctx.caller());
      ctx.sessions.closeAll();
      return { body: { zeroized: true } };
    },
  },
];
