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
  ACCOUNT_LOCKED: 'a crypto officer unlocks it: `inkan user unlock NAME`; a locked-out officer waits for its lockout to end, or the custodians run `inkan officer recover NAME`',
  QUORUM_TOKEN_REQUIRED: 'ask for a token: `inkan quorum request OPERATION NAME=VALUE…`, have it approved (`inkan quorum approve`), then run again with --quorum-token ID',
  QUORUM_UNDER_SIGNED: 'more officers must approve it: `inkan quorum approve TOKEN --key FILE` (`inkan quorum show TOKEN` shows who did)',
  QUORUM_NO_SIGNING_KEY: 'make and register your personal key first: `inkan user keygen --out FILE`, `inkan user register-key --public-key FILE.pub`',
  QUORUM_TOKEN_EXPIRED: 'request a new token: `inkan quorum request …`',
  QUORUM_TOKEN_USED: 'a token authorises one operation once: request a new one',
  KEY_QUORUM_REQUIRED: 'open the key\'s use window: `inkan quorum request key.activate key=KEY`, approvals, then `inkan --quorum-token ID key activate KEY`',
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
