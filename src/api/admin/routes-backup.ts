// Admin routes for backups and zeroisation (crypto officer).
import { HsmError } from '../../errors/hsm-error';
import { MAX_BACKUP } from '../../core/backup';
import { readRaw, str } from './http-util';
import type { Route } from './router';

export const ZEROIZE_WORD = 'ZEROIZE';

export const BACKUP_ROUTES: Route[] = [
  {
    method: 'GET', path: '/v1/backup', auth: true,
    async handler({ hsm, principal }) {
      const blob = await hsm.backup(principal!);
      return { body: undefined, binary: blob };
    },
  },
  {
    // On an uninitialised module no one can log in: the backup then waits for its own unseal shares.
    method: 'POST', path: '/v1/backup/restore', auth: false, raw: true,
    async handler({ hsm, principal, req }) {
      const blob = await readRaw(req, MAX_BACKUP);
      return { body: await hsm.restore(principal, blob) };
    },
  },
  {
    method: 'POST', path: '/v1/zeroize', auth: true,
    async handler({ hsm, principal, body, sessions }) {
      if (str(body, 'confirm', false) !== ZEROIZE_WORD || str(body, 'confirmAgain', false) !== ZEROIZE_WORD) {
        throw new HsmError('CONFIRMATION_REQUIRED', `send confirm and confirmAgain, both "${ZEROIZE_WORD}"`);
      }
      await hsm.zeroize(principal);
      sessions.closeAll();
      return { body: { zeroized: true } };
    },
  },
];
