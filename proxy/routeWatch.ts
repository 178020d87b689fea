// The proxy's view of routes.json: loaded at start, reloaded on every change. fs.watch (inotify)
// says at once that the folder changed, so a change is served within milliseconds. Where there is
// no watch (it failed, or the filesystem has none), a stat every 50 ms does the job: within 100 ms.
// With a watch, a look every second is the safety net, and re-arms the watch if the folder was
// replaced (a watch on a deleted folder goes deaf). Polling at 50 ms all the time cost the idle
// proxy about 1% of a core, for weeks.
// Each reload swaps one reference: a request is routed by the old table or the new, never a mix, and
// nothing already open (keep-alive connections, WebSockets, long responses) is touched.
import { readFileSync, statSync, watch, type FSWatcher } from 'node:fs';
import { basename, dirname } from 'node:path';
import { emptyTable, hostRoutes, parseTable, type HostRoute, type RouteFile } from './table.js';

export interface LoadedRoutes {
  table: RouteFile;
  hosts: Map<string, HostRoute>;
  /** why the file on disk is not what is served (unreadable, not a table); undefined when it is */
  error?: string;
}

const POLL_MS = 50;
const SAFETY_MS = 1000;

export class RouteWatch {
  private loaded: LoadedRoutes = { table: emptyTable(), hosts: new Map() };
  private signature = '';
  private watcher: FSWatcher | undefined;
  private timer: NodeJS.Timeout | undefined;
  private folder = '';
  private watchBroken = false;

  constructor(
    private readonly file: string,
    private readonly log: (line: string) => void,
  ) {}

  get current(): LoadedRoutes {
    return this.loaded;
  }

  start(): void {
    this.reload();
    this.arm();
  }

  stop(): void {
    this.watcher?.close();
    if (this.timer) clearInterval(this.timer);
  }

  /**
   * Watch the table's folder (or, without a watch, look every 50 ms), and every so often check that
   * the folder is still the one watched: removed and made again, it is watched anew.
   */
  private arm(): void {
    this.watcher?.close();
    this.watcher = undefined;
    if (this.timer) clearInterval(this.timer);
    this.folder = folderIdentity(this.file);
    if (!this.watchBroken && this.folder !== 'none') {
      try {
        // the folder, not the file: every write renames a new file over the old one
        this.watcher = watch(dirname(this.file), (_event, name) => {
          // an event naming the folder itself: it was removed or renamed, and the watch is deaf now
          if (name === basename(dirname(this.file)) || folderIdentity(this.file) !== this.folder) return this.rearm();
          if (name === null || name === basename(this.file)) this.reload();
        });
        this.watcher.on('error', (error) => {
          this.log(`watching ${dirname(this.file)} failed (${error.message}): looking every ${POLL_MS} ms instead`);
          this.watchBroken = true;
          this.rearm();
        });
      } catch {
        this.watcher = undefined;
      }
    }
    this.timer = setInterval(
      () => {
        if (folderIdentity(this.file) !== this.folder) return this.rearm();
        this.reload();
      },
      this.watcher ? SAFETY_MS : POLL_MS,
    );
    this.timer.unref();
  }

  private rearm(): void {
    this.arm();
    this.reload();
  }

  /**
   * Synchronous on purpose: a stat costs microseconds (the promise API's trip through the thread
   * pool cost the idle proxy about 1% of a core at 20 looks a second), and a table is read whole
   * and parsed at once either way. A request never waits on a half-loaded table.
   */
  reload(): void {
    let signature: string;
    try {
      const s = statSync(this.file, { bigint: true });
      // a rename gives a new inode (numbers are reused, so the nanosecond times too); mtime and
      // size catch an editor writing in place
      signature = `${s.ino}:${s.mtimeNs}:${s.ctimeNs}:${s.size}`;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') return this.keep(`cannot stat ${this.file}: ${(error as Error).message}`);
      signature = 'none';
    }
    if (signature === this.signature) return;
    let table: RouteFile;
    try {
      table = signature === 'none' ? emptyTable() : parseTable(readFileSync(this.file, 'utf8'));
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      // gone between the stat and the read: the next look sees what replaced it
      if (code === 'ENOENT') return;
      this.signature = signature;
      return this.keep(`${this.file} is not a route table (${(error as Error).message})`);
    }
    this.signature = signature;
    const hosts = hostRoutes(table);
    this.loaded = { table, hosts };
    this.log(`routes: generation ${table.generation}, ${hosts.size} host(s)`);
  }

  /** The file cannot be used: keep serving the last good table, and say so once per change. */
  private keep(error: string): void {
    if (this.loaded.error !== error) this.log(`${error}; still serving generation ${this.loaded.table.generation}`);
    this.loaded = { ...this.loaded, error };
  }
}

function folderIdentity(file: string): string {
  try {
    const s = statSync(dirname(file), { bigint: true });
    // the inode alone is not enough: a folder removed and made again often gets the same number
    return `${s.dev}:${s.ino}:${s.birthtimeNs}`;
  } catch {
    return 'none';
  }
}
