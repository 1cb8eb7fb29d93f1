// `inkan login` / `inkan logout` / `inkan whoami`: one login kept for later commands, as a
// session token in <config dir>/sessions/<profile>.json (mode 0600, see config.ts), until the
// server's lifetime for it ends (12 h at most, 15 minutes idle) or `inkan logout`.
import { Command } from 'commander';
import { AdminClient, CliError } from './client';
import { credentials } from './io';
import { deleteSession, readSessionLoose, saveSession, SESSION_MAX_MS } from './config';
import type { Ctx } from './context';

export function registerSessionCommands(program: Command, ctx: Ctx): void {
  program.command('login')
    .description('log in once; later commands of this profile use the session until it expires or `inkan logout`')
    .action(async () => {
      const s = ctx.settings();
      const c = ctx.client();
      const r = await c.login(await credentials(s.user, s.server), s.partition);
      const expiresAt = Date.now() + SESSION_MAX_MS;
      try {
        saveSession(s.profile, { server: s.server, username: r.username, role: r.role, partition: r.partition, token: c.sessionToken!, expiresAt });
      } catch (err) {
        await c.logout();
        throw new CliError('CANNOT_WRITE', `cannot keep the session: ${(err as Error).message}`);
      }
      c.detach();
      const idle = Math.round(r.expiresInSeconds / 60);
      ctx.print(`Logged in to ${s.server} as ${r.username} (${r.role}) for profile ${s.profile}; the session ends after ${idle} minutes unused, `
        + `at ${new Date(expiresAt).toISOString()} at the latest, or with \`inkan logout\`.`,
      { server: s.server, username: r.username, role: r.role, partition: r.partition, profile: s.profile, expiresAt: new Date(expiresAt).toISOString(), idleSeconds: r.expiresInSeconds });
    });
  program.command('logout').description('end the saved session on the server and delete it').action(async () => {
    const s = ctx.settings();
    const saved = readSessionLoose(s.profile);
    if (saved?.token && typeof saved.server === 'string') await new AdminClient(saved.server, saved.token).logout();
    const had = deleteSession(s.profile);
    ctx.print(had ? `Logged out (profile ${s.profile}).` : `No saved session for profile ${s.profile}.`, { loggedOut: had, profile: s.profile });
  });
  program.command('whoami').description('who the CLI acts as (the saved session, or a login)').action(async () => {
    const r = await ctx.withLogin((c) => c.request<{ username: string; role: string; partition: string }>('GET', '/v1/whoami'));
    ctx.print(`${r.username} (${r.role}, partition ${r.partition}) on ${ctx.settings().server}`, r);
  });
}
