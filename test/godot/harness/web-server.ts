/**
 * The loopback HTTP server behind the engine harness: one per process, serving the page, the
 * engine files and one `mainPack` per running instance.
 */
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * The page: loads the engine with the pack and arguments given in the URL fragment (JSON) and
 * forwards prints and the exit code to the functions the harness exposes.
 */
const PAGE = `<!doctype html>
<html><head><meta charset="utf-8"><title>pkarr-godot test</title>
<style>html,body{margin:0;height:100%;overflow:hidden;background:#000}
canvas{display:block;width:100%;height:100%}</style></head>
<body><canvas id="canvas"></canvas>
<script src="index.js"></script>
<script>
const cfg = JSON.parse(decodeURIComponent(location.hash.slice(1)));
const join = (args) => args.map(String).join(' ');
// Headless display: a 0x0 canvas the engine never resizes (policy 0), so no size change is ever
// reported (usesHeadlessDisplay in run-engine.ts: on a size change the web main loop calls a
// callback read from past the end of the headless display server).
if (cfg.freezeCanvas) {
  const canvas = document.getElementById('canvas');
  canvas.width = 0;
  canvas.height = 0;
}
const engine = new Engine({
  executable: 'index', mainPack: cfg.pack, args: cfg.args, canvasResizePolicy: cfg.freezeCanvas ? 0 : 2,
  focusCanvas: false, persistentPaths: cfg.persistent ? ['/userfs'] : [],
  onPrint: (...a) => window.__godotOut('stdout', join(a)),
  onPrintError: (...a) => window.__godotOut('stderr', join(a)),
  onExit: (code) => window.__godotExit(code),
});
engine.startGame().catch((e) => window.__godotOut('page', 'startGame failed: ' + (e && e.stack || e)));
</script></body></html>`;

/** The shared server: its base URL and the packs it serves, by instance id. */
export interface EngineServer {
  server: Server;
  url: string;
  packs: Map<string, Buffer>;
}

let sharedPromise: Promise<EngineServer> | undefined;

/**
 * The process-wide loopback server: `/` (the page), `/index.js`, `/index.wasm` and
 * `/pack/<id>.zip` per instance. (Godot's loader wraps the wasm response in its own stream for
 * progress tracking, so Chromium cannot code-cache the module: every page compiles it again.)
 */
export function getEngineServer(engineDir: string): Promise<EngineServer> {
  sharedPromise ??= (async () => {
    const packs = new Map<string, Buffer>();
    const server = createServer((req, res) => {
      const path = (req.url ?? '/').split(/[?#]/)[0] ?? '/';
      if (path === '/') {
        res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' });
        res.end(PAGE);
        return;
      }
      const pack = /^\/pack\/([\w-]+)\.zip$/.exec(path);
      const zip = pack?.[1] === undefined ? undefined : packs.get(pack[1]);
      if (zip) {
        res.writeHead(200, { 'content-type': 'application/zip', 'cache-control': 'no-store' });
        res.end(zip);
        return;
      }
      const file = path === '/index.js' ? 'index.js' : path === '/index.wasm' ? 'index.wasm' : null;
      if (file === null) {
        res.writeHead(404).end();
        return;
      }
      stat(`${engineDir}/${file}`).then(
        (st) => {
          res.writeHead(200, {
            'content-type': file.endsWith('.wasm') ? 'application/wasm' : 'text/javascript; charset=utf-8',
            'content-length': st.size,
            'cache-control': 'public, max-age=3600',
          });
          createReadStream(`${engineDir}/${file}`).pipe(res);
        },
        () => res.writeHead(500).end(),
      );
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => resolve());
    });
    server.unref();
    const { port } = server.address() as AddressInfo;
    return { server, url: `http://127.0.0.1:${port}/`, packs };
  })();
  sharedPromise.catch(() => {
    sharedPromise = undefined;
  });
  return sharedPromise;
}
