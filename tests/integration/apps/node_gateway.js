// A single-threaded event-loop gateway (Node's http): every request fans out to an upstream
// over a small keep-alive pool, so requests interleave on one thread and share connections.
// usage: node node_gateway.js PORT UPSTREAM_PORT PREFIX
'use strict';
const http = require('http');

const [port, upstreamPort, prefix] = process.argv.slice(2);
const agent = new http.Agent({ keepAlive: true });

http.createServer((req, res) => {
  const id = req.url.split('/').pop();
  const up = http.get({ host: '127.0.0.1', port: upstreamPort, path: `${prefix}/py/${id}`, agent },
    (upRes) => {
      const chunks = [];
      upRes.on('data', (d) => chunks.push(d));
      upRes.on('end', () => {
        res.writeHead(upRes.statusCode, { 'Content-Type': 'application/json' });
        res.end(Buffer.concat(chunks));
      });
    });
  up.on('error', () => { res.writeHead(502); res.end(); });
}).listen(port, '127.0.0.1', () => console.log('listening'));
