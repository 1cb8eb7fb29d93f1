// ECDSA over a caller-supplied digest (CKM_ECDSA) through the OpenSSL that node is linked with:
// node:crypto only signs what it hashes itself. Nothing cryptographic is implemented here; this
// file moves bytes between node-api and OpenSSL 3's EVP_PKEY_sign / EVP_PKEY_verify, on libuv's
// thread pool. Keys live as EVP_PKEY in node-api externals, freed by the garbage collector.
// Signatures cross as PKCS#11's raw r||s (each half the order's length). docs/performance.md.
#include <node_api.h>
#include <openssl/bn.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <stdlib.h>
#include <string.h>

#define MAX_DIGEST 64
#define MAX_HALF 66 /* P-521 */

typedef struct { EVP_PKEY *pkey; int half; int priv; } inkan_key;

typedef struct {
  napi_async_work work;
  napi_deferred deferred;
  napi_ref keep; /* the key external: alive until the work is done */
  inkan_key *key;
  unsigned char digest[MAX_DIGEST];
  size_t digest_len;
  unsigned char sig[2 * MAX_HALF];
  int ok;         /* sign: 1 on success; verify: 1 valid, 0 invalid, -1 error */
  const char *err;
} job_t;

static void throw_msg(napi_env env, const char *msg) { napi_throw_error(env, "INKAN_NATIVE_ECDSA", msg); }

static void free_key(napi_env env, void *data, void *hint) {
  (void)env; (void)hint;
  inkan_key *k = data;
  EVP_PKEY_free(k->pkey); /* EC_KEY_free clears the private scalar (BN_clear_free) */
  free(k);
}

/* loadKey(der: Buffer, isPrivate: boolean) -> external. PKCS#8 for a private key, SPKI for a public one. */
static napi_value load_key(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2], out;
  void *data;
  size_t len;
  bool is_priv;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc != 2 ||
      napi_get_buffer_info(env, argv[0], &data, &len) != napi_ok || napi_get_value_bool(env, argv[1], &is_priv) != napi_ok) {
    throw_msg(env, "loadKey(der: Buffer, isPrivate: boolean)");
    return NULL;
  }
  const unsigned char *p = data;
  EVP_PKEY *pkey = is_priv ? d2i_AutoPrivateKey(NULL, &p, (long)len) : d2i_PUBKEY(NULL, &p, (long)len);
  if (!pkey || EVP_PKEY_get_base_id(pkey) != EVP_PKEY_EC || (const unsigned char *)data + len != p) {
    EVP_PKEY_free(pkey);
    ERR_clear_error();
    throw_msg(env, "not an EC key");
    return NULL;
  }
  int half = (EVP_PKEY_get_bits(pkey) + 7) / 8;
  inkan_key *k = malloc(sizeof *k);
  if (!k || half <= 0 || half > MAX_HALF) { free(k); EVP_PKEY_free(pkey); throw_msg(env, "unsupported EC key"); return NULL; }
  k->pkey = pkey; k->half = half; k->priv = is_priv;
  if (napi_create_external(env, k, free_key, NULL, &out) != napi_ok) { free_key(env, k, NULL); throw_msg(env, "napi_create_external failed"); return NULL; }
  return out;
}

/* DER ECDSA-Sig-Value <-> r||s through OpenSSL's own codec. */
static int der_to_raw(const unsigned char *der, size_t der_len, unsigned char *raw, int half) {
  const unsigned char *p = der;
  ECDSA_SIG *s = d2i_ECDSA_SIG(NULL, &p, (long)der_len);
  const BIGNUM *r, *sv;
  int ok = 0;
  if (s) {
    ECDSA_SIG_get0(s, &r, &sv);
    ok = BN_bn2binpad(r, raw, half) == half && BN_bn2binpad(sv, raw + half, half) == half;
    ECDSA_SIG_free(s);
  }
  return ok;
}

static int raw_to_der(const unsigned char *raw, int half, unsigned char **der) {
  ECDSA_SIG *s = ECDSA_SIG_new();
  BIGNUM *r = BN_bin2bn(raw, half, NULL), *sv = BN_bin2bn(raw + half, half, NULL);
  int len = -1;
  if (s && r && sv && ECDSA_SIG_set0(s, r, sv) == 1) { r = sv = NULL; len = i2d_ECDSA_SIG(s, der); }
  BN_free(r); BN_free(sv); ECDSA_SIG_free(s);
  return len;
}

static void exec_sign(napi_env env, void *data) {
  (void)env;
  job_t *j = data;
  unsigned char der[2 * MAX_HALF + 16];
  size_t der_len = sizeof der;
  EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new(j->key->pkey, NULL);
  j->ok = ctx && EVP_PKEY_sign_init(ctx) == 1 && EVP_PKEY_sign(ctx, der, &der_len, j->digest, j->digest_len) == 1 &&
          der_to_raw(der, der_len, j->sig, j->key->half);
  if (!j->ok) { j->err = "EVP_PKEY_sign failed"; ERR_clear_error(); }
  EVP_PKEY_CTX_free(ctx);
  OPENSSL_cleanse(der, sizeof der);
}

static void exec_verify(napi_env env, void *data) {
  (void)env;
  job_t *j = data;
  unsigned char *der = NULL;
  int der_len = raw_to_der(j->sig, j->key->half, &der);
  EVP_PKEY_CTX *ctx = der_len > 0 ? EVP_PKEY_CTX_new(j->key->pkey, NULL) : NULL;
  if (!ctx || EVP_PKEY_verify_init(ctx) != 1) { j->ok = -1; j->err = "EVP_PKEY_verify_init failed"; }
  else j->ok = EVP_PKEY_verify(ctx, der, (size_t)der_len, j->digest, j->digest_len) == 1 ? 1 : 0;
  ERR_clear_error(); /* an invalid signature leaves an error on this thread's queue */
  EVP_PKEY_CTX_free(ctx);
  OPENSSL_free(der);
}

static void complete(napi_env env, napi_status status, void *data, int is_sign) {
  job_t *j = data;
  napi_value v, msg;
  if (status == napi_ok && (is_sign ? j->ok == 1 : j->ok >= 0)) {
    void *copy;
    if (is_sign) napi_create_buffer_copy(env, 2 * (size_t)j->key->half, j->sig, &copy, &v);
    else napi_get_boolean(env, j->ok == 1, &v);
    napi_resolve_deferred(env, j->deferred, v);
  } else {
    napi_create_string_utf8(env, status == napi_ok ? j->err : "cancelled", NAPI_AUTO_LENGTH, &msg);
    napi_create_error(env, NULL, msg, &v);
    napi_reject_deferred(env, j->deferred, v);
  }
  napi_delete_reference(env, j->keep);
  napi_delete_async_work(env, j->work);
  OPENSSL_cleanse(j, sizeof *j);
  free(j);
}
static void complete_sign(napi_env env, napi_status status, void *data) { complete(env, status, data, 1); }
static void complete_verify(napi_env env, napi_status status, void *data) { complete(env, status, data, 0); }

/* sign(key, digest) -> Promise<Buffer r||s>; verify(key, digest, rs) -> Promise<boolean>. */
static napi_value start(napi_env env, napi_callback_info info, int is_sign) {
  size_t argc = 3;
  napi_value argv[3], promise, name;
  void *digest, *sig = NULL;
  size_t digest_len, sig_len = 0;
  inkan_key *key;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc != (is_sign ? 2u : 3u) ||
      napi_get_value_external(env, argv[0], (void **)&key) != napi_ok ||
      napi_get_buffer_info(env, argv[1], &digest, &digest_len) != napi_ok ||
      (!is_sign && napi_get_buffer_info(env, argv[2], &sig, &sig_len) != napi_ok)) {
    throw_msg(env, is_sign ? "sign(key, digest: Buffer)" : "verify(key, digest: Buffer, rs: Buffer)");
    return NULL;
  }
  if (digest_len == 0 || digest_len > MAX_DIGEST) { throw_msg(env, "digest length out of range"); return NULL; }
  if (is_sign && !key->priv) { throw_msg(env, "a private key is needed"); return NULL; }
  if (!is_sign && sig_len != 2 * (size_t)key->half) { throw_msg(env, "signature length out of range"); return NULL; }
  job_t *j = calloc(1, sizeof *j);
  if (!j) { throw_msg(env, "out of memory"); return NULL; }
  j->key = key;
  memcpy(j->digest, digest, digest_len);
  j->digest_len = digest_len;
  if (!is_sign) memcpy(j->sig, sig, sig_len);
  napi_create_reference(env, argv[0], 1, &j->keep);
  napi_create_promise(env, &j->deferred, &promise);
  napi_create_string_utf8(env, is_sign ? "inkan.ecdsaSign" : "inkan.ecdsaVerify", NAPI_AUTO_LENGTH, &name);
  if (napi_create_async_work(env, NULL, name, is_sign ? exec_sign : exec_verify, is_sign ? complete_sign : complete_verify, j, &j->work) != napi_ok ||
      napi_queue_async_work(env, j->work) != napi_ok) {
    napi_delete_reference(env, j->keep);
    free(j);
    throw_msg(env, "cannot queue the work");
    return NULL;
  }
  return promise;
}
static napi_value sign(napi_env env, napi_callback_info info) { return start(env, info, 1); }
static napi_value verify(napi_env env, napi_callback_info info) { return start(env, info, 0); }

static napi_value version(napi_env env, napi_callback_info info) {
  (void)info;
  napi_value v;
  napi_create_string_utf8(env, OpenSSL_version(OPENSSL_VERSION), NAPI_AUTO_LENGTH, &v);
  return v;
}

NAPI_MODULE_INIT() {
  const napi_property_descriptor props[] = {
    { "loadKey", NULL, load_key, NULL, NULL, NULL, napi_enumerable, NULL },
    { "sign", NULL, sign, NULL, NULL, NULL, napi_enumerable, NULL },
    { "verify", NULL, verify, NULL, NULL, NULL, napi_enumerable, NULL },
    { "openssl", NULL, version, NULL, NULL, NULL, napi_enumerable, NULL },
  };
  if (OpenSSL_version_num() < 0x30000000L) { throw_msg(env, "OpenSSL 3 is needed"); return NULL; }
  napi_define_properties(env, exports, sizeof props / sizeof props[0], props);
  return exports;
}
