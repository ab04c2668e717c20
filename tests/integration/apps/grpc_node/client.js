// A gRPC client in Node (@grpc/grpc-js) with no tracing of its own: the plan of
// ../grpc_go/main.go and ../grpc_py.py against zt.test.Echo, messages google.protobuf.StringValue
// encoded by hand (field 1, a string), so no code generation.
//   node client.js client ADDR CONCURRENT STREAM_MESSAGES   → JSON counts of the statuses it saw
'use strict';
const grpc = require('@grpc/grpc-js');

function encode(s) {
  const body = Buffer.from(s, 'utf8');
  const len = [];
  for (let n = body.length; ; n >>= 7) {
    if (n < 0x80) { len.push(n); break; }
    len.push((n & 0x7f) | 0x80);
  }
  return Buffer.concat([Buffer.from([0x0a, ...len]), body]);
}

function decode(buf) {
  let i = 1, n = 0, shift = 0;
  if (!buf.length) return '';
  for (; buf[i] & 0x80; i++, shift += 7) n |= (buf[i] & 0x7f) << shift;
  n |= buf[i] << shift;
  return buf.subarray(i + 1, i + 1 + n).toString('utf8');
}

const Echo = grpc.makeGenericClientConstructor({
  Unary: {
    path: '/zt.test.Echo/Unary', requestStream: false, responseStream: false,
    requestSerialize: encode, requestDeserialize: decode,
    responseSerialize: encode, responseDeserialize: decode,
  },
  ServerStream: {
    path: '/zt.test.Echo/ServerStream', requestStream: false, responseStream: true,
    requestSerialize: encode, requestDeserialize: decode,
    responseSerialize: encode, responseDeserialize: decode,
  },
}, 'Echo');

// the same spelling as grpc-go's codes.Code.String()
const names = Object.fromEntries(Object.entries(grpc.status).map(([k, v]) =>
  [v, k.split('_').map((w) => w[0] + w.slice(1).toLowerCase()).join('')]));
names[0] = 'OK';

async function main() {
  if (process.argv[2] !== 'client' || process.argv.length < 6) {
    process.stderr.write('usage: client.js client ADDR CONCURRENT STREAM_MESSAGES\n');
    process.exit(2);
  }
  const [addr, concurrent, messages] = [process.argv[3], +process.argv[4], +process.argv[5]];
  const client = new Echo(addr, grpc.credentials.createInsecure());
  const counts = {};
  const record = (k) => { counts[k] = (counts[k] || 0) + 1; };
  const deadline = () => Date.now() + 30000;
  const unary = (v) => new Promise((resolve) => {
    client.Unary(v, { deadline: deadline() }, (err) => {
      record('unary:' + names[err ? err.code : 0]);
      resolve();
    });
  });
  const stream = (v) => new Promise((resolve) => {
    let n = 0;
    const call = client.ServerStream(v, { deadline: deadline() });
    call.on('data', () => { n++; });
    call.on('error', () => {}); // the status says it all
    call.on('status', (st) => { record(`stream:${names[st.code]}:${n}`); resolve(); });
  });

  await unary('warmup'); // opens the connection the rest share
  await Promise.all(Array.from({ length: concurrent }, (_, i) => unary(`hello-${i}`)));
  await unary('fail');
  await unary('crash');
  await stream(`ok:${messages}`);
  await stream('fail:2');
  client.close();
  process.stdout.write(JSON.stringify(counts) + '\n');
}

main();
