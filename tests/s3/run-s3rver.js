// run-s3rver.js: start the SigV4-verifying S3 test server (@20minutes/s3rver,
// pinned in package-lock.json) on 127.0.0.1 with one access key pair, and
// print "READY <port>" once it listens. Its package ships no bin script, so
// tests start it through this wrapper (see tests/blackbox/lib/s3rver.sh).
//
//   node --openssl-legacy-provider run-s3rver.js DIR KEY SECRET [PORT [BUCKET...]]
// PORT 0 (the default) lets the kernel pick a free port: no race with others.
'use strict'
const S3rver = require('@20minutes/s3rver')
const { DUMMY_ACCOUNT } = require('@20minutes/s3rver/lib/models/account')

const [dir, key, secret, port, ...buckets] = process.argv.slice(2)
if (!dir || !key || !secret) {
  console.error('usage: run-s3rver.js DIR KEY SECRET [PORT [BUCKET...]]')
  process.exit(2)
}
// Requests signed with this pair are verified; a wrong secret gets
// SignatureDoesNotMatch like real S3.
DUMMY_ACCOUNT.createKeyPair(key, secret)
const server = new S3rver({
  address: '127.0.0.1',
  port: Number(port || 0),
  directory: dir,
  silent: process.env.S3RVER_VERBOSE !== '1',
  vhostBuckets: false,
  allowMismatchedSignatures: false,
  configureBuckets: buckets.map((name) => ({ name, configs: [] })),
})
server.run().then(
  (addr) => { process.stdout.write(`READY ${addr.port}\n`) },
  (err) => { console.error(`s3rver: ${err.stack || err}`); process.exit(1) }
)
const stop = () => { server.close().finally(() => process.exit(0)) }
process.on('SIGTERM', stop)
process.on('SIGINT', stop)
