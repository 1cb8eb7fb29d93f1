// PKCS#11 2.40 constants only the PKCS#11 face needs: user types (§3.3), session states and
// flags (§5.4), slot and token flags (§3.2 CK_SLOT_INFO, CK_TOKEN_INFO).

export const CKU = { SO: 0, USER: 1, CONTEXT_SPECIFIC: 2 } as const;

/** CK_STATE values (§5.4 table 8). */
export const CKS = { RO_PUBLIC_SESSION: 0, RO_USER_FUNCTIONS: 1, RW_PUBLIC_SESSION: 2, RW_USER_FUNCTIONS: 3, RW_SO_FUNCTIONS: 4 } as const;

export const CKF_SESSION = { RW_SESSION: 0x2, SERIAL_SESSION: 0x4 } as const;
export const CKF_SLOT = { TOKEN_PRESENT: 0x1, REMOVABLE_DEVICE: 0x2, HW_SLOT: 0x4 } as const;
export const CKF_TOKEN = {
  RNG: 0x1, WRITE_PROTECTED: 0x2, LOGIN_REQUIRED: 0x4, USER_PIN_INITIALIZED: 0x8,
  TOKEN_INITIALIZED: 0x400,
  USER_PIN_COUNT_LOW: 0x10000, USER_PIN_FINAL_TRY: 0x20000, USER_PIN_LOCKED: 0x40000,
  SO_PIN_COUNT_LOW: 0x100000, SO_PIN_FINAL_TRY: 0x200000, SO_PIN_LOCKED: 0x400000,
} as const;
/** C_WaitForSlotEvent flag (§5.3). */
export const CKF_DONT_BLOCK = 0x1;

export const CRYPTOKI_VERSION = { major: 2, minor: 40 } as const;
export const LIBRARY_VERSION = { major: 0, minor: 1 } as const;
export const MANUFACTURER = 'Inkan';

/** PIN = "username:password" (as CloudHSM writes it): lengths bound the PIN a client may send. */
export const MIN_PIN_LEN = 10;
export const MAX_PIN_LEN = 64 + 1 + 256;
/** Sessions one connection may hold open at once. */
export const MAX_SESSIONS_PER_CONNECTION = 1024;
