// What to run next after an error from the server or the CLI, where there is one obvious next
// step. Printed under the error line (`  next: ...`) and as `next` in structured output.
const NEXT: Readonly<Record<string, string>> = {
  SEALED: 'unseal it: `inkan unseal`, once per custodian, until the threshold of shares is given (`inkan status` shows how many)',
  NOT_INITIALIZED: 'initialise it: `inkan init --shares 5 --threshold 3 --officer admin` (or run `inkan serve --dev` for a development module)',
  UNREACHABLE: 'start the server (`inkan serve`), or point --server / INKAN_SERVER / the profile at it',
  LOGIN_FAILED: 'check the username and password (INKAN_USER / INKAN_PASSWORD, --user, or `inkan login`)',
  SESSION_EXPIRED: 'log in again: `inkan login` (or set INKAN_PASSWORD)',
  SESSION_REVOKED: 'log in again: `inkan login` (or set INKAN_PASSWORD)',
  AUTH_REQUIRED: 'log in: `inkan login` (or set INKAN_USER and INKAN_PASSWORD)',
  ACCOUNT_LOCKED: 'a crypto officer unlocks it: `inkan user unlock NAME`',
  KEY_AMBIGUOUS: 'name the key by its id: `inkan key list --label LABEL` shows the ids',
  LABEL_EXISTS: 'choose another --label, or pass --allow-duplicate-label',
  SHARE_INVALID: 'the share was mistyped (its checksum does not match); type it again: nobody\'s progress was lost',
  SHARE_UNKNOWN: 'this share is not one of this module\'s; give a share of this module (the others given still count)',
  SHARE_DUPLICATE: 'this share was already given; the next custodian gives theirs',
  SHARES_WRONG: 'progress was reset: give the shares again, `inkan unseal`',
  ALREADY_INITIALIZED: 'the module is initialised already: `inkan status`, then `inkan unseal` if it is sealed',
  NO_TTY: 'set it in the environment (INKAN_PASSWORD, INKAN_NEW_PASSWORD, INKAN_SHARE) or run on a terminal',
  PROFILE_NOT_FOUND: 'add the profile to the config file or drop --profile / INKAN_PROFILE (see docs/cli.md)',
  FORBIDDEN: 'this needs another role: `inkan --user NAME ...` with a user of that role',
};

export function nextStep(code: string): string | undefined {
  return NEXT[code];
}
