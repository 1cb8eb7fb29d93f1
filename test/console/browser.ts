// The real browser the console tests drive: Debian's Chromium (`.ci/run` installs the chromium
// package) through playwright-core, headless. Browser downloads are impossible here, so the system
// binary is named; CI runs as root, where Chromium's sandbox cannot start, hence --no-sandbox.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';

export const CHROMIUM = process.env.INKAN_CHROMIUM ?? '/usr/bin/chromium';

export async function launch(): Promise<Browser> {
  if (!fs.existsSync(CHROMIUM)) throw new Error(`no Chromium at ${CHROMIUM}: install Debian's chromium package (or set INKAN_CHROMIUM)`);
  return chromium.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'] });
}

/** Signs in through the console's own form; resolves once the page says who is signed in. */
export async function signIn(page: Page, username: string, password: string, partition?: string): Promise<void> {
  const form = page.locator('#sign-in');
  await form.getByLabel('Username').fill(username);
  await form.getByLabel('Password').fill(password);
  if (partition) await form.getByLabel('Partition').fill(partition);
  await form.getByRole('button', { name: 'Sign in' }).click();
  await page.locator('#sign-out').waitFor();
}

/** Screenshots for the README (docs/img/), written only when INKAN_CONSOLE_SCREENSHOTS names a folder. */
export async function screenshot(page: Page, name: string): Promise<void> {
  const dir = process.env.INKAN_CONSOLE_SCREENSHOTS;
  if (!dir) return;
  fs.mkdirSync(dir, { recursive: true });
  await page.setViewportSize({ width: 1280, height: 800 });
  await page.screenshot({ path: path.join(dir, `console-${name}.png`) });
}
