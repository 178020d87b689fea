// A yardstick for the proxy benchmark, not part of sess: the least a Node proxy can do (node:http
// server, node:http client with a keep-alive agent, pipes; no routing, no error handling). What it
// reaches is what any Node proxy could reach on this machine. Usage: node bare-proxy.mjs PORT TARGET_PORT
import http from 'node:http';

const [port, targetPort] = process.argv.slice(2).map(Number);
const agent = new http.Agent({ keepAlive: true });
http
  .createServer((req, res) => {
    const out = http.request(
      { host: '127.0.0.1', port: targetPort, path: req.url, method: req.method, headers: req.headers, agent },
      (back) => {
        res.writeHead(back.statusCode, back.headers);
        back.pipe(res);
      },
    );
    out.on('error', () => res.destroy());
    req.pipe(out);
  })
  .listen(port, '127.0.0.1');
