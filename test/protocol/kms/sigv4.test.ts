// SigV4 verification against vectors from the AWS SigV4 test suite
// (docs.aws.amazon.com/general/latest/gr/signature-v4-test-suite.html) and the canonical-form rules.
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import {
  KmsError, canonicalHeaders, canonicalQuery, canonicalRequest, canonicalUri, formatAmzDate, parseAmzDate,
  parseAuthorization, verifySigV4, type SignedRequest, type VerifyOptions,
} from '../../../src/protocol/kms';
import { SigningKeyCache, sha256Hex, signingKey } from '../../../src/protocol/kms/sigv4';

// The suite's credentials and clock: AKIDEXAMPLE, region us-east-1, service "service", 20150830T123600Z.
const SUITE_SECRET = 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY';
const SUITE_NOW = Date.UTC(2015, 7, 30, 12, 36, 0);
const SUITE_SCOPE = 'AKIDEXAMPLE/20150830/us-east-1/service/aws4_request';

function suiteRequest(target: string, signature: string, extra: string[] = []): SignedRequest {
  return {
    method: 'GET',
    target,
    rawHeaders: ['Host', 'example.amazonaws.com', 'X-Amz-Date', '20150830T123600Z', ...extra,
      'Authorization', `AWS4-HMAC-SHA256 Credential=${SUITE_SCOPE}, SignedHeaders=host;x-amz-date, Signature=${signature}`],
    body: Buffer.alloc(0),
  };
}

function suiteOptions(over: Partial<VerifyOptions<string>> = {}): VerifyOptions<string> {
  return {
    service: 'service',
    now: () => SUITE_NOW,
    lookupSecret: async (akid) => (akid === 'AKIDEXAMPLE' ? { secretAccessKey: SUITE_SECRET, principal: 'example' } : undefined),
    ...over,
  };
}

async function rejectsWith(p: Promise<unknown>, type: string, message?: RegExp): Promise<void> {
  await assert.rejects(p, (err: unknown) => {
    assert.ok(err instanceof KmsError, String(err));
    assert.equal(err.type, type);
    if (message) assert.match(err.message, message);
    return true;
  });
}

const GET_VANILLA_SIG = '5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31';

test('AWS suite get-vanilla: canonical request hash and signature', async () => {
  const req = suiteRequest('/', GET_VANILLA_SIG);
  const canonical = canonicalRequest({ method: 'GET', target: '/', rawHeaders: req.rawHeaders,
    signedHeaders: ['host', 'x-amz-date'], payloadHash: sha256Hex(Buffer.alloc(0)) });
  assert.equal(canonical, 'GET\n/\n\nhost:example.amazonaws.com\nx-amz-date:20150830T123600Z\n\nhost;x-amz-date\n'
    + 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
  assert.equal(sha256Hex(Buffer.from(canonical)), 'bb579772317eb040ac9ed261061d46c1f17a8133879d6129b6e1c25292927e63');
  const caller = await verifySigV4(req, suiteOptions());
  assert.deepEqual(caller, { accessKeyId: 'AKIDEXAMPLE', principal: 'example', region: 'us-east-1', service: 'service', amzDate: '20150830T123600Z' });
});

test('AWS suite get-vanilla-query-order-key-case: parameters are sorted before signing', async () => {
  const sig = 'b97d918cfa904a5beff61c982a1b6f458b799221646efd99d3219ec94cdf2500';
  await verifySigV4(suiteRequest('/?Param2=value2&Param1=value1', sig), suiteOptions());
});

test('one flipped signature digit, or another secret, fails as InvalidSignatureException', async () => {
  const flipped = GET_VANILLA_SIG.slice(0, -1) + (GET_VANILLA_SIG.endsWith('1') ? '2' : '1');
  await rejectsWith(verifySigV4(suiteRequest('/', flipped), suiteOptions()), 'InvalidSignatureException',
    /^The request signature we calculated does not match the signature you provided/);
  const other = suiteOptions({ lookupSecret: async () => ({ secretAccessKey: 'other', principal: 'x' }) });
  await rejectsWith(verifySigV4(suiteRequest('/', GET_VANILLA_SIG), other), 'InvalidSignatureException');
});

test('unknown access key id → UnrecognizedClientException', async () => {
  await rejectsWith(verifySigV4(suiteRequest('/', GET_VANILLA_SIG), suiteOptions({ lookupSecret: async () => undefined })),
    'UnrecognizedClientException', /^The security token included in the request is invalid\.$/);
});

test('clock skew: ±15 minutes accepted, beyond refused in AWS wording', async () => {
  const req = suiteRequest('/', GET_VANILLA_SIG);
  await verifySigV4(req, suiteOptions({ now: () => SUITE_NOW + 15 * 60 * 1000 }));
  await verifySigV4(req, suiteOptions({ now: () => SUITE_NOW - 15 * 60 * 1000 }));
  await rejectsWith(verifySigV4(req, suiteOptions({ now: () => SUITE_NOW + 16 * 60 * 1000 })), 'InvalidSignatureException',
    /^Signature expired: 20150830T123600Z is now earlier than 20150830T123700Z \(20150830T125200Z - 15 min\.\)$/);
  await rejectsWith(verifySigV4(req, suiteOptions({ now: () => SUITE_NOW - 16 * 60 * 1000 })), 'InvalidSignatureException',
    /^Signature not yet current: 20150830T123600Z is still later than 20150830T123500Z \(20150830T122000Z \+ 15 min\.\)$/);
});

test('scope checks: service must be kms by default, region list, date must match x-amz-date', async () => {
  const req = suiteRequest('/', GET_VANILLA_SIG);
  await rejectsWith(verifySigV4(req, suiteOptions({ service: undefined })), 'InvalidSignatureException',
    /Credential should be scoped to correct service: 'kms'/);
  await rejectsWith(verifySigV4(req, suiteOptions({ regions: ['eu-west-2'] })), 'InvalidSignatureException', /valid region/);
  await verifySigV4(req, suiteOptions({ regions: ['us-east-1'] }));
  const otherDay = { ...req, rawHeaders: req.rawHeaders.map((h) => h.replace('20150830T123600Z', '20150831T000100Z')) };
  await rejectsWith(verifySigV4(otherDay, suiteOptions()), 'InvalidSignatureException', /^Date in Credential scope does not match/);
});

test('host and x-amz-date must be signed; x-amz-date must exist and be well formed', async () => {
  const unsignedHost = suiteRequest('/', GET_VANILLA_SIG);
  unsignedHost.rawHeaders = unsignedHost.rawHeaders.map((h) => h.replace('SignedHeaders=host;x-amz-date', 'SignedHeaders=x-amz-date'));
  await rejectsWith(verifySigV4(unsignedHost, suiteOptions()), 'InvalidSignatureException', /'Host' must be a 'SignedHeader'/);
  await rejectsWith(verifySigV4(suiteRequest('/', GET_VANILLA_SIG), suiteOptions({ requiredSignedHeaders: ['x-amz-target'] })),
    'InvalidSignatureException', /^'X-Amz-Target' must be a 'SignedHeader' in the AWS Authorization\.$/);
  const tooMany = suiteRequest('/', GET_VANILLA_SIG);
  tooMany.rawHeaders = tooMany.rawHeaders.map((h) => h.replace('SignedHeaders=host;x-amz-date',
    `SignedHeaders=${Array.from({ length: 65 }, (_, i) => `h${i}`).join(';')}`));
  await rejectsWith(verifySigV4(tooMany, suiteOptions()), 'IncompleteSignatureException', /at most 64/);
  const noDate = suiteRequest('/', GET_VANILLA_SIG);
  noDate.rawHeaders = noDate.rawHeaders.slice(0, 2).concat(noDate.rawHeaders.slice(4));
  await rejectsWith(verifySigV4(noDate, suiteOptions()), 'IncompleteSignatureException', /X-Amz-Date/);
  const badDate = suiteRequest('/', GET_VANILLA_SIG);
  badDate.rawHeaders = badDate.rawHeaders.map((h) => (h === '20150830T123600Z' ? '20151330T123600Z' : h));
  await rejectsWith(verifySigV4(badDate, suiteOptions()), 'IncompleteSignatureException', /ISO-8601 'basic format'/);
});

test('a duplicated Authorization header is refused; a missing one is MissingAuthenticationToken', async () => {
  const req = suiteRequest('/', GET_VANILLA_SIG);
  const dup = { ...req, rawHeaders: [...req.rawHeaders, 'authorization', req.rawHeaders[req.rawHeaders.length - 1]] };
  await rejectsWith(verifySigV4(dup, suiteOptions()), 'IncompleteSignatureException');
  const none = { ...req, rawHeaders: req.rawHeaders.slice(0, 4) };
  await rejectsWith(verifySigV4(none, suiteOptions()), 'MissingAuthenticationTokenException', /^Missing Authentication Token$/);
});

test('x-amz-content-sha256 must match the body', async () => {
  const req = suiteRequest('/', GET_VANILLA_SIG, ['x-amz-content-sha256', 'UNSIGNED-PAYLOAD']);
  await rejectsWith(verifySigV4(req, suiteOptions()), 'InvalidSignatureException', /x-amz-content-sha256/);
  // The empty body's hash, claimed correctly and left unsigned: the suite signature still holds.
  const ok = suiteRequest('/', GET_VANILLA_SIG, ['x-amz-content-sha256', sha256Hex(Buffer.alloc(0))]);
  await verifySigV4(ok, suiteOptions());
});

test('parseAuthorization: fields, and AWS-style complaints for what is missing', () => {
  const a = parseAuthorization(`AWS4-HMAC-SHA256 Credential=${SUITE_SCOPE}, SignedHeaders=host;x-amz-date, Signature=${GET_VANILLA_SIG.toUpperCase()}`);
  assert.deepEqual(a, { accessKeyId: 'AKIDEXAMPLE', date: '20150830', region: 'us-east-1', service: 'service',
    scope: '20150830/us-east-1/service/aws4_request', signedHeaders: ['host', 'x-amz-date'], signature: GET_VANILLA_SIG });
  const bad = (v: string, re: RegExp): void => assert.throws(() => parseAuthorization(v),
    (e: unknown) => e instanceof KmsError && e.type === 'IncompleteSignatureException' && re.test(e.message));
  bad(`AWS4-HMAC-SHA256 Credential=${SUITE_SCOPE}`,
    /^Authorization header requires 'Signature' parameter\. Authorization header requires 'SignedHeaders' parameter\.$/);
  bad('AWS4-HMAC-SHA512 Credential=x', /only AWS4-HMAC-SHA256/);
  bad('Bearer abc', /only AWS4-HMAC-SHA256/);
  bad(`AWS4-HMAC-SHA256 Credential=AKID/20150830/us-east-1/service/aws5_request, SignedHeaders=host, Signature=${GET_VANILLA_SIG}`, /Credential must have the form/);
  bad(`AWS4-HMAC-SHA256 Credential=${SUITE_SCOPE}, SignedHeaders=Host, Signature=${GET_VANILLA_SIG}`, /lower-case/);
  bad(`AWS4-HMAC-SHA256 Credential=${SUITE_SCOPE}, SignedHeaders=host, Signature=abc`, /64 hexadecimal/);
  bad(`AWS4-HMAC-SHA256 Credential=${SUITE_SCOPE}, Credential=${SUITE_SCOPE}, SignedHeaders=host, Signature=${GET_VANILLA_SIG}`, /once each/);
});

test('canonical URI: dot segments and empty segments removed, the received path encoded again', () => {
  assert.equal(canonicalUri('/'), '/');
  assert.equal(canonicalUri(''), '/');
  assert.equal(canonicalUri('/a/./b/../c//d/'), '/a/c/d/');
  assert.equal(canonicalUri('/example%20space'), '/example%2520space');
  assert.equal(canonicalUri('/a:b*c'), '/a%3Ab%2Ac');
});

test('canonical query: RFC 3986 encoding, sorted by name then value', () => {
  assert.equal(canonicalQuery(''), '');
  assert.equal(canonicalQuery('b=2&a=1&A=0'), 'A=0&a=1&b=2');
  assert.equal(canonicalQuery('k=b&k=a'), 'k=a&k=b');
  assert.equal(canonicalQuery('x=a%20b&y=~-_.&z=%2a&flag'), 'flag=&x=a%20b&y=~-_.&z=%2A');
});

test('canonical headers: values trimmed, runs of spaces collapsed, repeats joined with commas', () => {
  const raw = ['My-Header', '  a   b  c ', 'X-Dup', 'one', 'x-dup', 'two'];
  assert.equal(canonicalHeaders(raw, ['my-header', 'x-dup']), 'my-header:a b c\nx-dup:one,two\n');
});

test('amz dates: only real instants in basic format', () => {
  assert.equal(parseAmzDate('20150830T123600Z'), SUITE_NOW);
  assert.equal(formatAmzDate(SUITE_NOW), '20150830T123600Z');
  for (const bad of ['20150830T123600', '2015-08-30T12:36:00Z', '20150230T123600Z', '20150830T246000Z', '']) {
    assert.equal(parseAmzDate(bad), undefined, bad);
  }
});

test('signing-key cache: a verified request\'s key is reused; a bad signature or a rotated secret is not served from it', async () => {
  const cache = new SigningKeyCache(2);
  let secret = SUITE_SECRET;
  const opts = suiteOptions({ signingKeys: cache, lookupSecret: async (akid) => (akid === 'AKIDEXAMPLE' ? { secretAccessKey: secret, principal: 'example' } : undefined) });
  await rejectsWith(verifySigV4(suiteRequest('/', '0'.repeat(64)), opts), 'InvalidSignatureException');
  assert.equal(cache.size, 0, 'a request that did not verify adds nothing');
  await verifySigV4(suiteRequest('/', GET_VANILLA_SIG), opts);
  assert.equal(cache.size, 1);
  const auth = parseAuthorization(`AWS4-HMAC-SHA256 Credential=${SUITE_SCOPE}, SignedHeaders=host;x-amz-date, Signature=${GET_VANILLA_SIG}`);
  assert.deepEqual(cache.get('AKIDEXAMPLE', auth, SUITE_SECRET), signingKey(SUITE_SECRET, '20150830', 'us-east-1', 'service'));
  await verifySigV4(suiteRequest('/', GET_VANILLA_SIG), opts); // served from the cache, still right
  await rejectsWith(verifySigV4(suiteRequest('/', '1'.repeat(64)), opts), 'InvalidSignatureException');
  secret = 'a-rotated-secret';
  assert.equal(cache.get('AKIDEXAMPLE', auth, secret), undefined, 'another secret misses');
  await rejectsWith(verifySigV4(suiteRequest('/', GET_VANILLA_SIG), opts), 'InvalidSignatureException');
  // Bounded: a third scope evicts the oldest entry, whose key is zeroed.
  const kept = cache.get('AKIDEXAMPLE', auth, SUITE_SECRET)!;
  cache.set('B', auth, 's', Buffer.alloc(32, 1));
  cache.set('C', auth, 's', Buffer.alloc(32, 2));
  assert.equal(cache.size, 2);
  assert.equal(cache.get('AKIDEXAMPLE', auth, SUITE_SECRET), undefined);
  assert.ok(kept.every((b) => b === 0), 'the evicted key was wiped');
});
