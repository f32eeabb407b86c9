/**
 * Runs a Godot project in the official Godot 4.6 web build inside headless Chromium.
 *
 * One loopback HTTP server and one Chromium per process serve all instances; each instance is a
 * page with its own `mainPack` (and `user://` in memory, so instances share nothing).
 * Every line the engine prints is collected (stdout and stderr apart) and passed to `onLine`
 * as it arrives; the run ends at the completion marker, when the engine exits, or on timeout.
 */
import { writeFile } from 'node:fs/promises';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { ensureGodotWeb } from './engine-cache.ts';
import { buildPack, type BuiltPack, type PackOptions } from './pack.ts';
import { getEngineServer } from './web-server.ts';

/** One line printed by the engine. */
export interface GodotLine {
  /** `stdout` for `print()`, `stderr` for errors and warnings (`push_error`, engine messages). */
  stream: 'stdout' | 'stderr';
  text: string;
  /** Milliseconds since the instance was started. */
  ms: number;
}

/** Matches a line: a string matches lines that start with it, a RegExp is tested. */
export type LinePattern = string | RegExp;

/** Take a PNG of the page once a line matches `after` (and `delayMs` more have passed). */
export interface ScreenshotSpec {
  after: LinePattern;
  delayMs?: number;
  /** Also write the PNG to this host path. */
  path?: string;
}

/** Options for {@link startGodot} / {@link runGodot}. Pack options describe the game. */
export interface GodotRunOptions extends PackOptions {
  /** A prebuilt pack instead of building one from the pack options. */
  pack?: BuiltPack;
  /** Extra engine command-line arguments (e.g. `['--scene', 'res://x.tscn']`, or `--` + user args). */
  args?: string[];
  /**
   * Start the engine with `--headless` (dummy renderer, no WebGL; default true). Set false to
   * render through WebGL2 (SwiftShader), e.g. for screenshots: that costs ~2 CPU-seconds more
   * to boot and about one core while running, unless the project sets
   * `application/run/low_processor_mode=true`. Headless pages get a frozen 0x0 canvas
   * ({@link usesHeadlessDisplay}).
   */
  headless?: boolean;
  /**
   * Let the engine resize the page's canvas in a headless run, as a normal page does (default
   * false). Only for proving {@link usesHeadlessDisplay}: with it, some pack layouts trap in
   * the first frame.
   */
  resizableHeadlessCanvas?: boolean;
  /** Give up after this long, counted from the start (default 60 s). */
  timeoutMs?: number;
  /** The run is complete when a line matches (default `# pkarr-tests done:`); null: wait for exit. */
  doneMarker?: LinePattern | null;
  /** After the done marker, wait this long for the engine to exit and report its code (default 3 s). */
  exitGraceMs?: number;
  /** Called for every line as it arrives. */
  onLine?: (line: GodotLine, instance: GodotInstance) => void;
  /** Screenshots to take after given lines. */
  screenshots?: ScreenshotSpec[];
  /** Page size in CSS pixels (default 1152x648, Godot's default window). */
  viewport?: { width: number; height: number };
  /**
   * Run in a browser context of its own, with `user://` persisted to IndexedDB for the life of
   * the page (default false: pages share one context, `user://` lives in memory per page).
   */
  isolated?: boolean;
  /** Label used in results and errors (default `godot-<n>`). */
  name?: string;
}

/** What a run produced. */
export interface GodotRunResult {
  name: string;
  /** Whether the engine ran with `--headless`. */
  headless: boolean;
  /** All lines in arrival order. */
  lines: GodotLine[];
  stdout: string[];
  stderr: string[];
  /** A line matched the done marker. */
  completed: boolean;
  /** The engine quit by itself (`get_tree().quit(code)`). */
  exited: boolean;
  exitCode: number | null;
  timedOut: boolean;
  durationMs: number;
  /** PNGs in the order of `options.screenshots` (undefined where the line never came). */
  screenshots: (Buffer | undefined)[];
  /** JavaScript errors from the page (engine load failures, WebGL problems, aborts). */
  pageErrors: string[];
  /** The pack that ran (its file list and generated classes). */
  pack: BuiltPack;
}

/** A running engine. */
export interface GodotInstance {
  readonly name: string;
  /** Lines so far (live array). */
  readonly lines: readonly GodotLine[];
  /** The Playwright page running the engine. */
  readonly page: Page;
  /** Resolves with the first line (already seen or future) matching `pattern`. */
  waitForLine(pattern: LinePattern, timeoutMs?: number): Promise<GodotLine>;
  /** Takes a PNG of the page now (optionally written to `path`). */
  screenshot(path?: string): Promise<Buffer>;
  /** Resolves when the run ends (marker, exit, timeout or stop) and the page is closed. */
  readonly result: Promise<GodotRunResult>;
  /** Ends the run now (the result has `completed: false` unless the marker came). */
  stop(): Promise<GodotRunResult>;
}

/** Arguments for Chromium that work in this container (software WebGL2 through SwiftShader). */
export const CHROMIUM_ARGS: readonly string[] = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--use-angle=swiftshader',
  '--enable-unsafe-swiftshader',
  '--disable-background-timer-throttling',
  '--disable-renderer-backgrounding',
  '--disable-backgrounding-occluded-windows',
  '--autoplay-policy=no-user-gesture-required',
];

/**
 * True when the engine arguments select the headless display server: such a page gets a frozen
 * canvas, because of an engine fault (Godot 4.6 web, found 2026-12-05). The web main loop
 * calls `DisplayServerWeb::get_singleton()->check_size_force_redraw()` every frame, and that
 * getter is a plain cast of `DisplayServer::get_singleton()`: with `--headless` the object is a
 * (smaller) `DisplayServerHeadless`. When the JS side reports a canvas size change (always in the
 * first frame with a resizing canvas), the method calls its `rect_changed_callback` member, which
 * lies past the end of the headless object: whatever heap bytes follow it, so the outcome depends
 * on the allocation history, i.e. on the pack's layout (file count, config), not file contents.
 * Observed: `RuntimeError: null function` / `table index is out of bounds` thrown out of
 * `callMain` (the first frame runs inside `main()`; the engine then goes on from the second
 * frame, so the run completes and looked like an exit crash), or `ERROR: Condition "slot >=
 * slot_max" is true` from `ObjectDB::get_instance` on a garbage id. A headless page therefore
 * gives the engine a 0x0 canvas with resize policy 0 (never resized): no size change is ever
 * reported and the method returns before touching the member. WebGL pages have a real
 * `DisplayServerWeb` and are unaffected.
 */
export function usesHeadlessDisplay(args: readonly string[]): boolean {
  return args.some((a, i) => a === '--headless' || (a === '--display-driver' && args[i + 1] === 'headless'));
}

/** Default completion marker printed by `test_main.gd`. */
export const DONE_MARKER = '# pkarr-tests done:';

let browserPromise: Promise<Browser> | undefined;
let counter = 0;

/**
 * The shared Chromium of this process (launched on first use). Environment: `PKARR_CHROMIUM`
 * overrides the executable, `PKARR_CHROMIUM_ARGS` adds arguments (space-separated).
 */
export function getBrowser(): Promise<Browser> {
  browserPromise ??= chromium.launch({
    executablePath: process.env.PKARR_CHROMIUM ?? '/usr/bin/chromium',
    headless: true,
    args: [...CHROMIUM_ARGS, ...(process.env.PKARR_CHROMIUM_ARGS?.split(/\s+/).filter(Boolean) ?? [])],
    timeout: 60_000,
  });
  browserPromise.catch(() => {
    browserPromise = undefined;
  });
  return browserPromise;
}

/** Closes the shared browser (call from `afterAll`). Safe to call when none is running. */
export async function closeBrowser(): Promise<void> {
  const p = browserPromise;
  browserPromise = undefined;
  contextPromise = undefined;
  if (p) await (await p.catch(() => null))?.close();
}

/** Tests a line against a pattern (string = prefix, RegExp = test). */
export function matchLine(pattern: LinePattern, text: string): boolean {
  return typeof pattern === 'string' ? text.startsWith(pattern) : pattern.test(text);
}

let contextPromise: Promise<BrowserContext> | undefined;

/** The browser context shared by non-isolated instances. */
function getSharedContext(browser: Browser): Promise<BrowserContext> {
  contextPromise ??= browser.newContext();
  contextPromise.catch(() => {
    contextPromise = undefined;
  });
  return contextPromise;
}

/**
 * Starts one engine instance and returns at once (the engine boots in the background).
 * Several instances may run side by side, each in its own page.
 */
export async function startGodot(options: GodotRunOptions): Promise<GodotInstance> {
  const seq = ++counter;
  const name = options.name ?? `godot-${seq}`;
  const started = Date.now();
  const [engine, pack, browser] = await Promise.all([
    ensureGodotWeb(),
    options.pack ? Promise.resolve(options.pack) : buildPack(options),
    getBrowser(),
  ]);
  const shared = await getEngineServer(engine.dir);
  const id = `${process.pid}-${seq}`;
  shared.packs.set(id, pack.zip);
  const viewport = options.viewport ?? { width: 1152, height: 648 };
  const isolated = options.isolated ?? false;
  const context = isolated ? await browser.newContext({ viewport }) : await getSharedContext(browser);
  const page = await context.newPage();
  if (!isolated) await page.setViewportSize(viewport);

  const lines: GodotLine[] = [];
  const pageErrors: string[] = [];
  const waiters: { pattern: LinePattern; resolve: (l: GodotLine) => void; reject: (e: Error) => void }[] = [];
  const shots: (Buffer | undefined)[] = (options.screenshots ?? []).map(() => undefined);
  const shotJobs: Promise<void>[] = [];
  const doneMarker = options.doneMarker === undefined ? DONE_MARKER : options.doneMarker;
  let completed = false;
  let exited = false;
  let exitCode: number | null = null;
  let timedOut = false;
  let finish: () => void = () => {};
  let resultPromise: Promise<GodotRunResult> = new Promise(() => {});
  const finished = new Promise<void>((resolve) => (finish = resolve));

  const instance: GodotInstance = {
    name,
    lines,
    page,
    waitForLine(pattern, timeoutMs = options.timeoutMs ?? 60_000) {
      const seen = lines.find((l) => matchLine(pattern, l.text));
      if (seen) return Promise.resolve(seen);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(
          () => reject(new Error(`${name}: no line matching ${String(pattern)} in ${timeoutMs} ms`)),
          timeoutMs,
        );
        waiters.push({
          pattern,
          resolve: (l) => (clearTimeout(timer), resolve(l)),
          reject: (e) => (clearTimeout(timer), reject(e)),
        });
      });
    },
    async screenshot(path) {
      const png = await page.screenshot({ type: 'png' });
      if (path !== undefined) await writeFile(path, png);
      return png;
    },
    get result() {
      return resultPromise;
    },
    async stop() {
      finish();
      return resultPromise;
    },
  };

  // When a page error came matters: a trap in the first frame is not one at exit.
  const pageError = (text: string): string =>
    `${text}\n    (at ${Date.now() - started} ms, after ${lines.length} engine line(s)${completed ? ', after the done marker' : ''})`;
  const onText = (stream: string, text: string): void => {
    if (stream === 'page') {
      pageErrors.push(pageError(text));
      return;
    }
    for (const part of text.split('\n')) {
      const line: GodotLine = { stream: stream === 'stderr' ? 'stderr' : 'stdout', text: part, ms: Date.now() - started };
      lines.push(line);
      try {
        options.onLine?.(line, instance);
      } catch (err) {
        pageErrors.push(`onLine callback threw: ${(err as Error).stack ?? String(err)}`);
      }
      for (let i = waiters.length - 1; i >= 0; i--) {
        const w = waiters[i];
        if (w && matchLine(w.pattern, part)) {
          waiters.splice(i, 1);
          w.resolve(line);
        }
      }
      (options.screenshots ?? []).forEach((spec, i) => {
        if (shots[i] !== undefined || !matchLine(spec.after, part)) return;
        shots[i] = Buffer.alloc(0); // claimed
        shotJobs.push(
          new Promise((r) => setTimeout(r, spec.delayMs ?? 0))
            .then(() => instance.screenshot(spec.path))
            .then((png) => void (shots[i] = png)),
        );
      });
      if (doneMarker !== null && matchLine(doneMarker, part) && !completed) {
        completed = true;
        setTimeout(finish, options.exitGraceMs ?? 3000);
      }
    }
  };

  await page.exposeFunction('__godotOut', onText);
  await page.exposeFunction('__godotExit', (code: number) => {
    exited = true;
    exitCode = code;
    // Let the last prints (same task) arrive before finishing.
    setTimeout(finish, 50);
  });
  page.on('pageerror', (err) => pageErrors.push(pageError(err.stack ?? err.message)));
  page.on('crash', () => {
    pageErrors.push(pageError('page crashed'));
    finish();
  });

  const timer = setTimeout(() => {
    timedOut = !completed && !exited;
    finish();
  }, options.timeoutMs ?? 60_000);

  const headless = options.headless ?? true;
  const args = [...(headless ? ['--headless'] : []), '--audio-driver', 'Dummy', ...(options.args ?? [])];
  const freezeCanvas = usesHeadlessDisplay(args) && !(options.resizableHeadlessCanvas ?? false);
  resultPromise = (async (): Promise<GodotRunResult> => {
    try {
      const cfg = { args, pack: `pack/${id}.zip`, persistent: isolated, freezeCanvas };
      await page.goto(`${shared.url}#${encodeURIComponent(JSON.stringify(cfg))}`);
    } catch (err) {
      pageErrors.push(`page.goto failed: ${(err as Error).message}`);
      finish();
    }
    await finished;
    clearTimeout(timer);
    for (const w of waiters.splice(0)) w.reject(new Error(`${name}: run ended before a line matched ${String(w.pattern)}`));
    await Promise.allSettled(shotJobs);
    await (isolated ? context.close() : page.close()).catch(() => {});
    shared.packs.delete(id);
    return {
      name,
      headless,
      lines,
      stdout: lines.filter((l) => l.stream === 'stdout').map((l) => l.text),
      stderr: lines.filter((l) => l.stream === 'stderr').map((l) => l.text),
      completed,
      exited,
      exitCode,
      timedOut,
      durationMs: Date.now() - started,
      screenshots: shots.map((s) => (s && s.length > 0 ? s : undefined)),
      pageErrors,
      pack,
    };
  })();
  resultPromise.catch(() => {});
  return instance;
}

/** Starts an engine and waits for the run to end. */
export async function runGodot(options: GodotRunOptions): Promise<GodotRunResult> {
  return (await startGodot(options)).result;
}
