// Local servers for the end-to-end attacks (loopback only): a TCP listener that plays the
// attacker's side of a reverse shell (it sends "exit" to the shell that connects), and an HTTP
// server that serves the script of the download-and-execute step.
// Usage: node servers.js SHELL_PORT HTTP_PORT   (prints READY once both listen)
'use strict';
const net = require('net');
const http = require('http');

const [shellPort, httpPort] = process.argv.slice(2).map(Number);
let ready = 0;
const up = () => {
  if (++ready === 2) console.log('READY');
};

net
  .createServer((c) => {
    console.log(`shell_connected from=${c.remoteAddress}:${c.remotePort}`);
    c.on('data', () => {});
    c.on('error', () => {});
    c.write('echo rampart-e2e-shell; exit\n');
  })
  .listen(shellPort, '127.0.0.1', up);

http
  .createServer((req, res) => {
    console.log(`http ${req.method} ${req.url}`);
    if (req.url !== '/payload.sh') {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { 'Content-Type': 'text/x-shellscript' });
    res.end('echo rampart-e2e-payload\n');
  })
  .listen(httpPort, '127.0.0.1', up);

process.on('SIGTERM', () => process.exit(0));
