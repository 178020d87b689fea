// The proxy's view of routes.json: loaded at start, reloaded on every change. fs.watch says at once
// that the folder changed; a stat every 50 ms catches what it misses (some filesystems never say,
// and a watch on a folder that is replaced goes deaf), so a change is served within 100 ms.
// Each reload swaps one reference: a request is routed by the old table or the new, never a mix, and
// nothing already open (keep-alive connections, WebSockets, long responses) is touched.
import { watch, type FSWatcher } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { basename, dirname } from 'node:path';
import { emptyTable, hostRoutes, parseTable, type HostRoute, type RouteFile } from '../core/proxy/table.js';

export interface LoadedRoutes {
  table: RouteFile;
  hosts: Map<string, HostRoute>;
  /** why the file on disk is not what is served (unreadable, not a table); undefined when it is */
  error?: string;
}

const POLL_MS = 50;

export class RouteWatch {
  private loaded: LoadedRoutes = { table: emptyTable(), hosts: new Map() };
  private signature = '';
  private watcher: FSWatcher | undefined;
  private timer: NodeJS.Timeout | undefined;
  private loading: Promise<void> | undefined;
  private again = false;

  constructor(
    private readonly file: string,
    private readonly log: (line: string) => void,
  ) {}

  get current(): LoadedRoutes {
    return this.loaded;
  }

  async start(): Promise<void> {
    await this.reload();
    try {
      // the folder, not the file: every write renames a new file over the old one
      this.watcher = watch(dirname(this.file), (_event, name) => {
        if (name === null || name === basename(this.file)) void this.reload();
      });
      this.watcher.on('error', () => this.watcher?.close());
    } catch {
      /* no watch here: the poll does the job alone */
    }
    this.timer = setInterval(() => void this.reload(), POLL_MS);
    this.timer.unref();
  }

  stop(): void {
    this.watcher?.close();
    if (this.timer) clearInterval(this.timer);
  }

  /** One reload at a time; a change seen meanwhile makes one more when it ends. */
  reload(): Promise<void> {
    if (this.loading) {
      this.again = true;
      return this.loading;
    }
    this.loading = this.load().finally(() => {
      this.loading = undefined;
      if (this.again) {
        this.again = false;
        void this.reload();
      }
    });
    return this.loading;
  }

  private async load(): Promise<void> {
    let signature: string;
    try {
      const s = await stat(this.file, { bigint: true });
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
      table = signature === 'none' ? emptyTable() : parseTable(await readFile(this.file, 'utf8'));
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
